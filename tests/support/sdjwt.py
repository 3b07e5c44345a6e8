"""Issue SD-JWT VCs and Token Status Lists with real keys, for tests (RFC 9901, SD-JWT VC, Token Status List).

Written from the specifications independently of wallet/services/verification/sdjwt.py, so a test
that passes shows the two agree on the wire format: disclosures are base64url(JSON [salt, name, value])
and their digests base64url(sha-256(ASCII of the disclosure)).
"""
from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
import zlib
from dataclasses import dataclass, field
from typing import Any

from jwcrypto.jwk import JWK
from jwcrypto.jws import JWS


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def sign(payload: dict[str, Any], key: JWK, header: dict[str, Any]) -> str:
    jws = JWS(json.dumps(payload, separators=(",", ":")).encode())
    alg = "ES256" if key.get("kty") == "EC" else "EdDSA"
    jws.add_signature(key, alg=alg, protected=json.dumps({"alg": alg, **header}))
    return jws.serialize(compact=True)


def make_disclosure(name: str | None, value: Any) -> str:
    item = [secrets.token_urlsafe(16), value] if name is None else [secrets.token_urlsafe(16), name, value]
    return b64url(json.dumps(item).encode())


def digest(disclosure: str) -> str:
    return b64url(hashlib.sha256(disclosure.encode("ascii")).digest())


@dataclass
class SdJwtIssuer:
    """An issuer with an ES256 key, known as `iss` (an https URL whose metadata lists `key`, or a DID)."""

    iss: str = "https://issuer.example"
    key: JWK = field(default_factory=lambda: JWK.generate(kty="EC", crv="P-256", kid="issuer-key-1"))

    def metadata(self) -> dict[str, Any]:
        """JWT VC Issuer Metadata (SD-JWT VC §5.2) listing the public key."""
        return {"issuer": self.iss, "jwks": {"keys": [self.key.export_public(as_dict=True)]}}

    def issue(self, claims: dict[str, Any], *, disclosable: dict[str, Any] | None = None,
              disclosable_elements: dict[str, list[Any]] | None = None, holder: JWK | None = None,
              header: dict[str, Any] | None = None, key: JWK | None = None, **registered: Any) -> str:
        """Return `<JWT>~<disclosure>~...~`: `disclosable` claims each in a disclosure, plus decoys."""
        disclosures: list[str] = []
        payload: dict[str, Any] = {"iss": self.iss, "iat": int(time.time()) - 60,
                                   "vct": "https://issuer.example/types/degree", **registered, **claims}
        digests: list[str] = []
        for name, value in (disclosable or {}).items():
            disclosure = make_disclosure(name, value)
            disclosures.append(disclosure)
            digests.append(digest(disclosure))
        for name, elements in (disclosable_elements or {}).items():
            array = []
            for element in elements:
                disclosure = make_disclosure(None, element)
                disclosures.append(disclosure)
                array.append({"...": digest(disclosure)})
            payload[name] = array
        digests.append(b64url(secrets.token_bytes(32)))  # RFC 9901 §4.2.5: a decoy digest
        payload["_sd"] = sorted(digests)
        payload["_sd_alg"] = "sha-256"
        if holder is not None:
            payload["cnf"] = {"jwk": holder.export_public(as_dict=True)}
        signing_key = key or self.key
        token = sign(payload, signing_key, {"typ": "dc+sd-jwt", "kid": signing_key.get("kid"), **(header or {})})
        return "~".join([token, *disclosures]) + "~"

    def status_list(self, uri: str, statuses: list[int], *, bits: int = 1, key: JWK | None = None,
                    **claims: Any) -> str:
        """A status list token (Token Status List §5): bits packed least significant first, then zlib."""
        packed = bytearray((len(statuses) * bits + 7) // 8)
        for index, value in enumerate(statuses):
            packed[index * bits // 8] |= value << (index * bits % 8)
        payload = {"sub": uri, "iat": int(time.time()) - 60, "iss": self.iss,
                   "status_list": {"bits": bits, "lst": b64url(zlib.compress(bytes(packed)))}, **claims}
        signing_key = key or self.key
        return sign(payload, signing_key, {"typ": "statuslist+jwt", "kid": signing_key.get("kid")})


def key_binding(sd_jwt: str, holder: JWK, *, aud: str, nonce: str, sd_hash: str | None = None,
                iat: int | None = None) -> str:
    """Append a key binding JWT (RFC 9901 §4.3) signed by `holder` to an SD-JWT ending in "~"."""
    claims = {"iat": iat if iat is not None else int(time.time()), "aud": aud, "nonce": nonce,
              "sd_hash": sd_hash or b64url(hashlib.sha256(sd_jwt.encode("ascii")).digest())}
    return sd_jwt + sign(claims, holder, {"typ": "kb+jwt"})
