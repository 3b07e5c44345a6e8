// Verify OB 3.0 credentials with Digital Bazaar's verifier, for bench/rdfc_node.py.
//
// Usage: node verify.mjs CONTEXTS_DIR CREDENTIALS.jsonl TAMPERED.jsonl
//
// CONTEXTS_DIR is Wallet's pinned contexts folder (index.json maps URL -> file): the document
// loader serves those, resolves did:key locally, and refuses every other URL, so nothing is
// fetched. Verification is @digitalbazaar/vc's verifyCredential with a DataIntegrityProof suite
// of @digitalbazaar/eddsa-rdfc-2022-cryptosuite, as its README documents. One credential (the
// first line) warms the loader and jsonld's context cache; the rest are timed, one after another.
// Prints one JSON object: {"count", "seconds", "cpu_seconds", "accepted", "rejected_tampered", "tampered", "errors"}.
import {readFileSync} from 'node:fs';
import {join} from 'node:path';

import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022CryptoSuite} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import {driver as didKeyDriver} from '@digitalbazaar/did-method-key';

const [contextsDir, credentialsPath, tamperedPath] = process.argv.slice(2);

const index = JSON.parse(readFileSync(join(contextsDir, 'index.json'), 'utf8'));
const contexts = new Map(Object.entries(index).map(
  ([url, file]) => [url, JSON.parse(readFileSync(join(contextsDir, file), 'utf8'))]));

const didKey = didKeyDriver();
didKey.use({multibaseMultikeyHeader: 'z6Mk', fromMultibase: Ed25519Multikey.from});

async function documentLoader(url) {
  if(contexts.has(url)) {
    // "static" lets jsonld.js keep the processed context across calls (as pyld's "static" tag).
    return {contextUrl: null, documentUrl: url, document: contexts.get(url), tag: 'static'};
  }
  if(url.startsWith('did:key:')) {
    return {contextUrl: null, documentUrl: url, document: await didKey.get({url})};
  }
  throw new Error(`refused to load ${url}: not a pinned context or a did:key`);
}

const suite = new DataIntegrityProof({cryptosuite: eddsaRdfc2022CryptoSuite});

function readLines(path) {
  return readFileSync(path, 'utf8').split('\n').filter(line => line.length > 0);
}

async function verify(text) {
  // Parsing is part of a verification, as for Wallet (which is given bytes).
  const credential = JSON.parse(text);
  const result = await vc.verifyCredential({credential, suite, documentLoader});
  return result;
}

const lines = readLines(credentialsPath);
const tampered = readLines(tamperedPath);
const errors = [];

const warm = await verify(lines[0]);
if(!warm.verified) {
  errors.push(JSON.stringify(warm.error ?? warm).slice(0, 500));
}
const timed = lines.slice(1);
let accepted = 0;
const cpuStart = process.cpuUsage();
const start = process.hrtime.bigint();
for(const line of timed) {
  const result = await verify(line);
  if(result.verified) {
    accepted++;
  } else if(errors.length < 3) {
    errors.push(JSON.stringify(result.error ?? result).slice(0, 500));
  }
}
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
// CPU time of the whole process (all its threads: V8 compiles and collects garbage on helper threads).
const cpu = process.cpuUsage(cpuStart);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;

let rejected = 0;
for(const line of tampered) {
  const result = await verify(line);
  if(!result.verified) {
    rejected++;
  }
}

process.stdout.write(JSON.stringify({
  count: timed.length, seconds, cpu_seconds: cpuSeconds, accepted, tampered: tampered.length,
  rejected_tampered: rejected, errors
}) + '\n');
