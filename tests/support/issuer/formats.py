"""The credentials the test issuer signs, bound to the holder's key: OB 3.0 as `jwt_vc_json` (a VC-JWT by a
did:jwk) and `ldp_vc` (eddsa-rdfc-2022 by a did:key), a learning credential as an SD-JWT VC (ES256, the key
published as JWT VC Issuer Metadata), and the Token Status List it may point at."""
from __future__ import annotations

import base64
import json
import time
import uuid
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from jwcrypto.jwk import JWK
from sd_jwt.common import SDObj
from sd_jwt.issuer import SDJWTIssuer

from tests.support.credentials import JwtIssuer, LdIssuer
from tests.support.issuer.specs import STATUS_LIST_TYP
from wallet.services.demo import achievement_credential
from wallet.services.verification.dataintegrity import sign_document
from wallet.services.verification.jose import sign_compact


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def did_jwk(key: JWK) -> str:
    """Return the did:jwk of a public key (did:jwk method specification)."""
    public = key.export_public(as_dict=True)
    return "did:jwk:" + b64url(json.dumps(public, separators=(",", ":")).encode())


@dataclass(frozen=True)
class Holder:
    """The key a credential is bound to: the one a `jwt` key proof was signed with, and the DID naming it."""

    did: str  # the kid's DID (did:key, did:jwk), or the did:jwk of a bare `jwk` header
    jwk: JWK  # public key

    @classmethod
    def fresh(cls) -> Holder:
        """Return a holder nobody asked for: a new Ed25519 key (the `bind_to_other_key` fault)."""
        key = JWK.generate(kty="OKP", crv="Ed25519")
        public = JWK.from_json(key.export_public())
        return cls(did_jwk(public), public)


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def ob3_credential(issuer_did: str, issuer_name: str, holder: Holder, *, email: str, name: str) -> dict[str, Any]:
    """Return an unsigned OB 3.0 OpenBadgeCredential whose subject is the holder's DID (OB 3.0 §B.1.2: the
    AchievementSubject `id` identifies the recipient) and the learner's email address."""
    credential = achievement_credential(
        issuer_id=issuer_did, issuer_name=issuer_name, credential_id=f"urn:uuid:{uuid.uuid4()}", name=name,
        description=f"Awarded for completing {name}.", email=email,
        valid_from=_iso(datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=5)))
    credential["credentialSubject"] = {"id": holder.did, **credential["credentialSubject"]}
    return credential


def jwt_vc_json(issuer: JwtIssuer, holder: Holder, *, email: str, name: str) -> str:
    """Return a VC-JWT (VC-JOSE-COSE / VC Data Model 1.1 JWT encoding, as OB 3.0 uses it) with `sub` the holder."""
    credential = ob3_credential(issuer.did, issuer.name, holder, email=email, name=name)
    claims = {"vc": credential, "iss": issuer.did, "sub": holder.did, "jti": credential["id"],
              "nbf": int(datetime.fromisoformat(credential["validFrom"]).timestamp())}
    return sign_compact(claims, issuer.key, "EdDSA", header={"typ": "JWT", "kid": issuer.did + "#0"})


def ldp_vc(issuer: LdIssuer, holder: Holder, *, email: str, name: str) -> dict[str, Any]:
    """Return the credential secured with an eddsa-rdfc-2022 Data Integrity proof by the issuer's did:key."""
    credential = ob3_credential(issuer.did, issuer.name, holder, email=email, name=name)
    method = issuer.did + "#" + issuer.did.removeprefix("did:key:")
    return sign_document(credential, private_key=issuer.key, verification_method=method)


def sd_jwt_vc(*, iss: str, key: JWK, kid: str, typ: str, vct: str, holder: Holder, learner: dict[str, Any],
              status: dict[str, Any] | None = None) -> str:
    """Return an SD-JWT VC `<issuer-jwt>~<disclosure>~...~` (SD-JWT §4, SD-JWT VC §3): the learner's
    names, email, the title, credits and each learning outcome selectively disclosable; `iss`, `vct`,
    `iat`, `exp`, `cnf` (the holder's key, RFC 7800) and `status` in the clear."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": iss, "iat": now, "exp": now + 365 * 24 * 3600, "vct": vct,
        SDObj("given_name"): learner["given_name"], SDObj("family_name"): learner["family_name"],
        SDObj("email"): learner["email"], SDObj("title"): learner.get("title", "Introduction to Data Science"),
        SDObj("credits"): learner.get("credits", 5),
        "learning_outcomes": [SDObj(outcome) for outcome in learner.get(
            "learning_outcomes", ("Cleans and explores a data set", "Builds a regression model"))],
    }
    if status is not None:
        claims["status"] = status
    issued = SDJWTIssuer(claims, key, holder_key=holder.jwk, sign_alg="ES256",
                         extra_header_parameters={"typ": typ, "kid": kid})
    return issued.sd_jwt_issuance


def tamper_disclosure(issuance: str, index: int = 0) -> str:
    """Return the SD-JWT with one disclosure's value changed, its digest in the signed JWT left as it was."""
    parts = issuance.split("~")
    salt, *rest = json.loads(b64url_decode(parts[1 + index]))
    rest[-1] = "Tampered" if isinstance(rest[-1], str) else 99
    parts[1 + index] = b64url(json.dumps([salt, *rest]).encode())
    return "~".join(parts)


def disclosures(issuance: str) -> list[list[Any]]:
    """Return the decoded disclosures of an SD-JWT: [salt, name, value] or [salt, value] each."""
    return [json.loads(b64url_decode(part)) for part in issuance.split("~")[1:] if part and "." not in part]


class StatusList:
    """A Token Status List (draft-ietf-oauth-status-list §4) with 1-bit statuses: 0 VALID, 1 INVALID."""

    def __init__(self, uri: str, size: int = 1024) -> None:
        self.uri = uri
        self.bits = bytearray(size // 8)
        self.next_index = 0

    def allocate(self) -> int:
        index = self.next_index
        self.next_index += 1
        return index

    def set(self, index: int, invalid: bool) -> None:
        # §4.1: index 0 is the least significant bit of the first byte.
        if invalid:
            self.bits[index // 8] |= 1 << (index % 8)
        else:
            self.bits[index // 8] &= ~(1 << (index % 8)) & 0xFF

    def token(self, *, iss: str, key: JWK, kid: str, ttl: int = 300) -> str:
        """Return the Status List Token (§5.1): a JWT with typ statuslist+jwt; `lst` is ZLIB (RFC 1950) then
        base64url."""
        claims = {"iss": iss, "sub": self.uri, "iat": int(time.time()), "ttl": ttl,
                  "status_list": {"bits": 1, "lst": b64url(zlib.compress(bytes(self.bits), 9))}}
        return sign_compact(claims, key, "ES256", header={"typ": STATUS_LIST_TYP, "kid": kid})
