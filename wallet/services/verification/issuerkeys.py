"""The key of an SD-JWT VC's issuer: JWT VC Issuer Metadata, a DID, or an x5c chain (SD-JWT VC §3.5).

- `iss` an https URL: the JWT VC Issuer Metadata at `/.well-known/jwt-vc-issuer` + the issuer's
  path (SD-JWT VC §5.1), whose `issuer` must be `iss` (§5.3) and whose `jwks` or `jwks_uri` lists
  the key (picked by the header's `kid` when there is one).
- `iss` a DID: the header's `kid`, or the DID's `assertionMethod` keys (keys.py).
- an `x5c` header: the first certificate's key; with no X.509 trust anchors configured, it does not
  tie the key to the issuer (docs/verification.md §3.12).
"""
from __future__ import annotations

import base64
import binascii
import dataclasses
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from jwcrypto.common import JWException
from jwcrypto.jwk import JWK

from wallet.services.verification import keys
from wallet.services.verification.context import Context
from wallet.services.verification.errors import FetchError, KeyResolutionError, MalformedJSONError
from wallet.services.verification.jsonutil import loads_strict
from wallet.services.verification.result import Check, Status


def issuer_keys(header: dict[str, Any], issuer_id: str,
                 context: Context) -> tuple[list[keys.ResolvedKey], Check | None]:
    """Find the keys that may have signed: from an x5c chain, a DID, or JWT VC Issuer Metadata (SD-JWT VC §3.5)."""
    try:
        if "x5c" in header:
            return [_x5c_key(header["x5c"], issuer_id)], None
        if issuer_id.startswith("did:"):
            kid = header.get("kid")
            if isinstance(kid, str) and kid:
                vm = issuer_id + kid if kid.startswith("#") else kid
                return [keys.resolve_verification_method(vm, issuer_id=issuer_id, context=context)], None
            return keys.assertion_keys(issuer_id, issuer_id=issuer_id, context=context), None
        if urlsplit(issuer_id).scheme in ("https", "http"):
            return _metadata_keys(issuer_id, header.get("kid"), context), None
    except KeyResolutionError as error:
        return [], Check.failed("issuer-key", str(error), outcome=error.outcome, issuer=issuer_id)
    return [], Check.failed("issuer-key", "The issuer is neither a web address nor a DID, so its key cannot be "
                            "found.", outcome=Status.UNVERIFIABLE, issuer=issuer_id)


def metadata_url(issuer_id: str) -> str:
    """Return the JWT VC Issuer Metadata address of `issuer_id` (SD-JWT VC §5.1: well-known before the path)."""
    parts = urlsplit(issuer_id)
    path = parts.path.rstrip("/")
    return f"{parts.scheme}://{parts.netloc}/.well-known/jwt-vc-issuer{path}"


def _metadata_keys(issuer_id: str, kid: Any, context: Context) -> list[keys.ResolvedKey]:
    url = metadata_url(issuer_id)
    try:
        metadata = _fetch_json(url, context, role="issuer-metadata")
    except FetchError as error:
        raise KeyResolutionError(f"The issuer's metadata ({url}) could not be fetched: {error}") from error
    if metadata.get("issuer") != issuer_id:
        # SD-JWT VC §5.3: the metadata's issuer must be identical to the iss it was fetched for.
        raise KeyResolutionError("The issuer's metadata names another issuer, so its keys are not this issuer's.",
                                 Status.INVALID)
    jwks = metadata.get("jwks")
    if jwks is None and isinstance(metadata.get("jwks_uri"), str):
        jwks_uri = metadata["jwks_uri"]
        try:
            jwks = _fetch_json(jwks_uri, context, role="issuer-keys")
        except FetchError as error:
            raise KeyResolutionError(f"The issuer's keys ({jwks_uri[:200]}) could not be fetched: {error}") from error
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise KeyResolutionError("The issuer's metadata publishes no keys (jwks or jwks_uri).")
    found: list[keys.ResolvedKey] = []
    for jwk in jwks["keys"]:
        if not isinstance(jwk, dict) or (isinstance(kid, str) and jwk.get("kid") != kid):
            continue
        try:
            key = keys.key_from_jwk(jwk, issuer_id=issuer_id)
        except KeyResolutionError:
            continue
        found.append(dataclasses.replace(
            key, vm_id=f"{url}#{jwk.get('kid') or key.vm_id}", controller=issuer_id, binding=keys.KeyBinding.ISSUER,
            source="jwt-vc-issuer", explanation=f"The key is published in the issuer's metadata at {url}."))
    if not found:
        raise KeyResolutionError("The issuer's metadata has no key " + (f'"{kid[:60]}"' if isinstance(kid, str)
                                                                      else "Wallet can use") + ".", Status.INVALID)
    return found


def _x5c_key(chain: Any, issuer_id: str) -> keys.ResolvedKey:
    """Take the signing key from an x5c chain's first certificate (RFC 7515 §4.1.6).

    Wallet configures no X.509 trust anchors, so the chain cannot tie the key to the issuer: the
    signature is checked and the issuer key is reported as not established (docs/verification.md).
    """
    if not isinstance(chain, list) or not chain or not isinstance(chain[0], str):
        raise KeyResolutionError('The "x5c" certificate chain is malformed.', Status.INVALID)
    try:
        certificate = x509.load_der_x509_certificate(base64.b64decode(chain[0], validate=True))
        pem = certificate.public_key().public_bytes(serialization.Encoding.PEM,
                                                    serialization.PublicFormat.SubjectPublicKeyInfo)
        jwk = JWK.from_pem(pem)
    except (ValueError, binascii.Error, JWException, TypeError) as error:
        raise KeyResolutionError('The "x5c" certificate cannot be read.', Status.INVALID) from error
    subject = certificate.subject.rfc4514_string()[:200]
    return keys.ResolvedKey(
        vm_id=f"x5c:{subject}", controller=None, material=jwk, key_type=str(jwk.get("kty")),
        binding=keys.KeyBinding.SELF_ASSERTED, source="x5c", purposes=frozenset(),
        explanation=f"The key comes from a certificate ({subject}) that the credential carries; Wallet trusts "
                    "no certificate authority for issuers, so the certificate does not show the issuer made it.")


def _fetch_json(url: str, context: Context, *, role: str) -> dict[str, Any]:
    fetched = context.fetch(url, kind="json", role=role)
    try:
        document = loads_strict(fetched.body)
    except MalformedJSONError as error:
        raise FetchError("it is not valid JSON") from error
    if not isinstance(document, dict):
        raise FetchError("it is not a JSON object")
    return document
