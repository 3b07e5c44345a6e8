// Sign an OB 3.0 credential with Digital Bazaar's libraries, for the interoperability fixtures in
// tests/fixtures/digitalbazaar/ (see the README there).
//
// Usage: node sign.mjs CONTEXTS_DIR UNSIGNED.json > SIGNED.json
//
// A fresh Ed25519 key (@digitalbazaar/ed25519-multikey) becomes the issuer, as a did:key: its DID
// replaces the credential's issuer id (an object's "id", or the issuer string). The credential is
// signed by @digitalbazaar/vc's issue() with a DataIntegrityProof of
// @digitalbazaar/eddsa-rdfc-2022-cryptosuite; contexts come only from Wallet's pinned copies.
import {randomBytes} from 'node:crypto';
import {readFileSync} from 'node:fs';
import {join} from 'node:path';

import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022CryptoSuite} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';

const [contextsDir, unsignedPath] = process.argv.slice(2);

const index = JSON.parse(readFileSync(join(contextsDir, 'index.json'), 'utf8'));
const contexts = new Map(Object.entries(index).map(
  ([url, file]) => [url, JSON.parse(readFileSync(join(contextsDir, file), 'utf8'))]));

async function documentLoader(url) {
  if(contexts.has(url)) {
    return {contextUrl: null, documentUrl: url, document: contexts.get(url)};
  }
  throw new Error(`refused to load ${url}: not a pinned context`);
}

// The key's id is its DID URL (did:key:z6Mk...#z6Mk...), known once its public key is.
const seed = randomBytes(32);
const {publicKeyMultibase} = await Ed25519Multikey.generate({seed});
const did = `did:key:${publicKeyMultibase}`;
const key = await Ed25519Multikey.generate({seed, controller: did});

const credential = JSON.parse(readFileSync(unsignedPath, 'utf8'));
if(typeof credential.issuer === 'string') {
  credential.issuer = did;
} else {
  credential.issuer.id = did;
}
const suite = new DataIntegrityProof({signer: key.signer(), cryptosuite: eddsaRdfc2022CryptoSuite});
const signed = await vc.issue({credential, suite, documentLoader});
process.stdout.write(JSON.stringify(signed, null, 2) + '\n');
