"""Compact JWS: strict parsing, signature checks with a key the caller chose, and signing.

The header only ever *describes* the token: the key that verifies it is picked by the caller
(keys.py decides whether it belongs to the issuer). Refusals follow docs/security.md D5-D12.
"""
from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

from jwcrypto.common import JWException
from jwcrypto.jwk import JWK
from jwcrypto.jws import JWS

from wallet.services.verification.errors import (
    DuplicateKeyError,
    JoseError,
    MalformedJSONError,
    UnsupportedAlgorithmError,
)
from wallet.services.verification.jsonutil import loads_strict

# D12: refuse before decoding anything, so a 500 MB token costs nothing.
MAX_TOKEN_LENGTH = 256 * 1024
# D5, D6: asymmetric algorithms only; "none" and HMAC (the public key used as a secret) never.
ALLOWED_ALGS = frozenset({
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
    "ES256", "ES384", "ES512", "EdDSA", "Ed25519",
})
_RSA_ALGS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
_EC_ALGS = {"P-256": frozenset({"ES256"}), "P-384": frozenset({"ES384"}), "P-521": frozenset({"ES512"})}
_OKP_ALGS = {"Ed25519": frozenset({"EdDSA", "Ed25519"})}
_SEGMENT = r"[A-Za-z0-9_-]"
_COMPACT = re.compile(rf"{_SEGMENT}+\.{_SEGMENT}*\.{_SEGMENT}*")
# A header is a JSON object, so its base64url encoding starts with '{' + a quote or whitespace.
_LOOKS_LIKE = re.compile(rf"\s*eyJ{_SEGMENT}*\.{_SEGMENT}*\.{_SEGMENT}*\s*")
_HEADER_MAX_DEPTH = 8


@dataclass(frozen=True)
class ParsedJws:
    header: dict[str, Any]
    payload: bytes
    signing_input: bytes
    signature: bytes
    compact: str


def looks_like_compact_jws(text: str) -> bool:
    """Tell whether `text` has the shape of a compact JWS (three base64url parts, JSON header)."""
    return bool(_LOOKS_LIKE.fullmatch(text))


def parse_compact(token: str) -> ParsedJws:
    """Parse a compact JWS, refusing anything Wallet will not verify (JoseError).

    A header with a key twice raises DuplicateKeyError instead: the token is ambiguous, not forged.
    """
    if len(token) > MAX_TOKEN_LENGTH:
        raise JoseError(f"The token is too large (over {MAX_TOKEN_LENGTH // 1024} KB).")
    compact = token.strip()
    parts = compact.split(".")
    if len(parts) == 5:
        raise JoseError("This is an encrypted token (JWE); Wallet reads only signed tokens (JWS).")
    if len(parts) != 3 or not _COMPACT.fullmatch(compact):
        raise JoseError("This is not a compact signed token: it needs three base64url parts.")
    header_b64, payload_b64, signature_b64 = parts
    try:
        header = loads_strict(_b64url_decode(header_b64), max_depth=_HEADER_MAX_DEPTH)
    except DuplicateKeyError:
        raise  # D4: ambiguous, not forged; the caller refuses the whole input
    except MalformedJSONError as error:
        raise JoseError(f"The token header is not valid JSON: {error}") from error
    if not isinstance(header, dict):
        raise JoseError("The token header is not a JSON object.")
    _check_header(header)
    signature = _b64url_decode(signature_b64)
    if not signature:
        raise JoseError("The token has no signature.")
    return ParsedJws(
        header=header,
        payload=_b64url_decode(payload_b64),
        signing_input=f"{header_b64}.{payload_b64}".encode("ascii"),
        signature=signature,
        compact=compact,
    )


def verify_signature(parsed: ParsedJws, key: JWK) -> None:
    """Check the token's signature with `key`; raise JoseError if it does not match or cannot apply."""
    alg = parsed.header["alg"]
    allowed = _algs_for(key)
    if alg not in allowed:
        raise JoseError(
            f"The token says it is signed with {alg}, which does not fit the key "
            f"({_describe(key)}; expected {' or '.join(sorted(allowed)) or 'a supported key'})."
        )
    jws = JWS()
    jws.allowed_algs = [alg]
    try:
        jws.deserialize(parsed.compact)
        jws.verify(key, alg=alg)
    except JWException as error:
        raise JoseError(
            "The signature does not match: the credential was changed after it was signed, "
            "or was signed with another key."
        ) from error


def decode_payload_json(parsed: ParsedJws) -> dict[str, Any]:
    """Return the payload as a JSON object, read strictly (no NaN, duplicate keys or deep nesting).

    Raises JoseError, or DuplicateKeyError for a key twice in one object (docs/importing.md).
    """
    try:
        payload = loads_strict(parsed.payload)
    except DuplicateKeyError:
        raise  # D4: ambiguous, not forged; the caller refuses the whole input
    except MalformedJSONError as error:
        raise JoseError(f"The token's content is not valid JSON: {error}") from error
    if not isinstance(payload, dict):
        raise JoseError("The token's content is not a JSON object.")
    return payload


def sign_compact(payload: dict[str, Any] | bytes, key: JWK, alg: str, header: dict[str, Any] | None = None) -> str:
    """Sign `payload` into a compact JWS with the private `key` (for tests, demo data, presentations)."""
    if alg not in ALLOWED_ALGS:
        raise JoseError(f"Wallet does not sign with {alg}.")
    body = payload if isinstance(payload, bytes) else json.dumps(
        payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    protected = {**(header or {}), "alg": alg}
    jws = JWS(body)
    jws.allowed_algs = [alg]
    jws.add_signature(key, alg=alg, protected=json.dumps(protected, separators=(",", ":")))
    return jws.serialize(compact=True)


def _check_header(header: dict[str, Any]) -> None:
    alg = header.get("alg")
    if not isinstance(alg, str) or not alg:
        raise JoseError("The token header names no signature algorithm.")
    if alg.lower() == "none":
        raise JoseError("The token is not signed (algorithm \"none\").")
    if alg.upper().startswith("HS"):
        # D6: an HMAC "signature" can be made by anyone holding the issuer's public key.
        raise JoseError(f"The token uses {alg}, a shared-secret algorithm that cannot prove who signed it.")
    if alg not in ALLOWED_ALGS:
        # Unlike "none" and HMAC above, the signature may well be genuine: Wallet just cannot check it.
        raise UnsupportedAlgorithmError(f"The token uses the algorithm {alg[:40]}, which Wallet does not support.")
    if "zip" in header:
        raise JoseError("The token is compressed, which signed tokens must not be.")
    crit = header.get("crit")
    if crit is not None:
        # RFC 7515 §4.1.11: an extension we do not understand must make the token unusable.
        # RFC 7797: the only one Wallet knows is "b64", and only in its default (encoded) form.
        if not isinstance(crit, list) or not crit or any(not isinstance(name, str) for name in crit):
            raise JoseError('The token header has a malformed "crit" list.')
        unknown = [name for name in crit if name != "b64"]
        if unknown:
            raise JoseError(f"The token requires extensions Wallet does not understand: {', '.join(unknown)[:120]}.")
    if "b64" in header and (header["b64"] is not True or "b64" not in (crit or [])):
        raise JoseError("The token uses an unencoded payload (b64), which Wallet does not support.")
    # D9: jku, x5u and x5c are never followed or trusted; the key comes from the issuer binding.


def _algs_for(key: JWK) -> frozenset[str]:
    kty = key.get("kty")
    if kty == "RSA":
        return _RSA_ALGS
    if kty == "EC":
        return _EC_ALGS.get(key.get("crv", ""), frozenset())
    if kty == "OKP":
        return _OKP_ALGS.get(key.get("crv", ""), frozenset())
    return frozenset()


def _describe(key: JWK) -> str:
    crv = key.get("crv")
    return f"{key.get('kty')} {crv}" if crv else str(key.get("kty"))


def _b64url_decode(segment: str) -> bytes:
    if len(segment) % 4 == 1:
        raise JoseError("The token is not valid base64url.")
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as error:
        raise JoseError("The token is not valid base64url.") from error
