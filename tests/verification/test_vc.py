"""W3C VC 1.1/2.0 verification (vc.py): securing (LD proof, VC-JWT, VC-JOSE), structure, dates.

Every credential here is signed in the test with a real key; did:web issuers and their documents
are served by a real HTTP server on 127.0.0.1 behind the guarded fetcher. The helpers at the top
are shared with test_ob3, test_status and test_clr.
"""
from __future__ import annotations

import base64
import copy
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from jwcrypto.jwk import JWK

from tests.support.servers import DocumentServer, Response
from wallet.services.http import GuardedFetcher
from wallet.services.verification import make_context, status, verify_bytes, verify_presented
from wallet.services.verification.dataintegrity import ED25519_SIGNATURE_2020, did_key_for, sign_document
from wallet.services.verification.dates import parse_datetime
from wallet.services.verification.extract import Presented
from wallet.services.verification.fetching import Fetch
from wallet.services.verification.jose import sign_compact
from wallet.services.verification.multibase import encode_multikey
from wallet.services.verification.result import CheckStatus, Status, VerificationResult

VC_V1 = "https://www.w3.org/2018/credentials/v1"
VC_V2 = "https://www.w3.org/ns/credentials/v2"
# VCDM 2.0 §5.2: issuer-defined terms without a context of their own.
UNDEFINED_TERMS = "https://www.w3.org/ns/credentials/undefined-terms/v2"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
WEB_HOST = "https://issuer.example"
WEB_DID = "did:web:issuer.example"
LEARNER_DID = "did:example:learner-7"


def stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass
class Signer:
    """An issuer with an Ed25519 key: a did:key by default, or any DID/URL whose document lists the key."""

    private: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    did: str | None = None
    fragment: str | None = None

    def __post_init__(self) -> None:
        raw = self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.multikey = encode_multikey("Ed25519", raw)
        if self.did is None:
            self.did = did_key_for(self.private.public_key())
            self.fragment = self.multikey
        self.fragment = self.fragment or "key-1"

    @property
    def vm(self) -> str:
        return f"{self.did}#{self.fragment}"

    @property
    def jwk(self) -> JWK:
        return JWK.from_pyca(self.private)

    def sign_ld(self, document: dict[str, Any], cryptosuite: str = "eddsa-rdfc-2022",
                vm: str | None = None) -> dict[str, Any]:
        """Return the document with a Data Integrity proof by this key."""
        return sign_document(document, private_key=self.private, verification_method=vm or self.vm,
                             cryptosuite=cryptosuite, created=NOW - timedelta(days=40))

    def did_document(self) -> dict[str, Any]:
        """Return the DID document that lists this key for issuing (assertionMethod)."""
        return {"@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
                "id": self.did,
                "verificationMethod": [{"id": self.vm, "type": "Multikey", "controller": self.did,
                                        "publicKeyMultibase": self.multikey}],
                "assertionMethod": [self.vm]}


def jwt_claims(credential: dict[str, Any]) -> dict[str, Any]:
    """Return the OB 3.0 VC-JWT claims mirroring `credential` (OB 3.0 §8.2.4.1)."""
    issuer = credential["issuer"]
    claims: dict[str, Any] = {"vc": credential, "iss": issuer["id"] if isinstance(issuer, dict) else issuer,
                              "jti": credential["id"], "sub": credential["credentialSubject"].get("id")}
    start = credential.get("validFrom") or credential.get("issuanceDate")
    claims["nbf"] = int(datetime.fromisoformat(start).timestamp())
    end = credential.get("validUntil") or credential.get("expirationDate")
    if end:
        claims["exp"] = int(datetime.fromisoformat(end).timestamp())
    return {k: v for k, v in claims.items() if v is not None}


def generic_vc(issuer: str, **overrides: Any) -> dict[str, Any]:
    """Return an unsigned VC 2.0 credential that is neither an Open Badge nor a CLR."""
    return {
        "@context": [VC_V2, UNDEFINED_TERMS],
        "id": "urn:uuid:6d9c7a3e-1b2f-4d4a-9a57-0c2e5f0f8a11",
        "type": ["VerifiableCredential", "ExampleMembershipCredential"],
        "issuer": {"id": issuer, "name": "Example Guild"},
        "name": "Guild membership",
        "validFrom": stamp(NOW - timedelta(days=30)),
        "credentialSubject": {"id": LEARNER_DID, "memberOf": "Example Guild"},
        **overrides,
    }


class Site:
    """https://issuer.example/ served by a real HTTP server on 127.0.0.1, fetched through the guard."""

    def __init__(self, server: DocumentServer) -> None:
        self.server = server
        self.fetch: Fetch = GuardedFetcher(allow_private_network=True,
                                           url_rewrite={f"{WEB_HOST}/": server.url("/")})

    def publish(self, path: str, body: dict[str, Any] | bytes | str, *, status: int = 200,
                content_type: str = "application/json") -> str:
        data = body if isinstance(body, bytes) else body.encode() if isinstance(body, str) else json.dumps(body).encode()
        # no-store: each verification in a test must reach the server, never the fetcher's cache.
        self.server.routes[path] = Response(data, status, content_type, {"Cache-Control": "no-store"})
        return WEB_HOST + path

    def requested(self) -> list[str]:
        return [path for _method, path, _headers in self.server.requests]


@pytest.fixture
def site(document_server: DocumentServer) -> Site:
    return Site(document_server)


@pytest.fixture(autouse=True)
def _fresh_status_cache() -> None:
    status.clear_cache()


def verify(document: dict[str, Any] | str, fetch: Fetch | None = None, *, now: datetime = NOW,
           recipients: tuple[str, ...] = ()) -> VerificationResult:
    """Verify a credential (JSON or compact JWS) through the whole pipeline."""
    data = document.encode() if isinstance(document, str) else json.dumps(document).encode()
    return verify_bytes(data, context=make_context(fetch, recipients=recipients, now=now))


def check(result: VerificationResult, check_id: str) -> Any:
    found = [c for c in result.checks if c.id == check_id]
    assert found, report(result)
    return found[-1]


def report(result: VerificationResult) -> list[tuple[str, str, str]]:
    return [(c.id, str(c.status), c.message) for c in result.checks]


# --- Data Integrity -----------------------------------------------------------------------------


def test_vc_v2_eddsa_rdfc_2022_did_key_is_valid() -> None:
    signer = Signer()
    result = verify(signer.sign_ld(generic_vc(signer.did)))
    assert result.status is Status.VALID, report(result)
    assert (result.format, result.securing) == ("vc", "eddsa-rdfc-2022")
    assert result.metadata.verified_issuer == signer.did
    assert result.metadata.issuer_name == "Example Guild"
    assert result.metadata.issued == datetime(2026, 5, 2, 12, 0, tzinfo=timezone.utc)
    assert result.metadata.recipient == {"type": "did", "identity": LEARNER_DID, "hashed": False, "salt": None}
    assert check(result, "status").status is CheckStatus.SKIPPED


def test_vc_v1_ed25519signature2020_is_valid() -> None:
    signer = Signer()
    credential = {"@context": [VC_V1], "id": "urn:uuid:0b9f8a55-6c1d-4d7e-8f21-9a0e3c5b7d42",
                  "type": ["VerifiableCredential"], "issuer": signer.did,
                  "issuanceDate": stamp(NOW - timedelta(days=3)), "expirationDate": stamp(NOW + timedelta(days=3)),
                  "credentialSubject": {"id": LEARNER_DID}}
    result = verify(signer.sign_ld(credential, ED25519_SIGNATURE_2020))
    assert result.status is Status.VALID, report(result)
    assert result.securing == ED25519_SIGNATURE_2020
    assert result.metadata.expires == NOW + timedelta(days=3)


def test_vc_changed_after_signing_is_invalid() -> None:
    signer = Signer()
    signed = signer.sign_ld(generic_vc(signer.did))
    signed["credentialSubject"]["memberOf"] = "Another Guild"
    result = verify(signed)
    assert result.status is Status.INVALID
    assert check(result, "proof").status is CheckStatus.FAILED
    assert result.metadata.verified_issuer is None


def test_vc_signed_with_another_did_key_is_invalid() -> None:
    issuer, intruder = Signer(), Signer()
    result = verify(intruder.sign_ld(generic_vc(issuer.did)))
    assert result.status is Status.INVALID
    assert check(result, "issuer-key").outcome is Status.INVALID


def test_vc_without_proof_is_invalid() -> None:
    result = verify(generic_vc(Signer().did))
    assert result.status is Status.INVALID
    assert "no proof" in check(result, "proof").message


def test_vc_did_web_issuer_served_is_valid(site: Site) -> None:
    signer = Signer(did=WEB_DID)
    site.publish("/.well-known/did.json", signer.did_document())
    result = verify(signer.sign_ld(generic_vc(WEB_DID)), site.fetch)
    assert result.status is Status.VALID, report(result)
    assert result.metadata.verified_issuer == WEB_DID
    assert "/.well-known/did.json" in site.requested()


def test_vc_key_no_longer_published_by_the_issuer_is_unverifiable(site: Site) -> None:
    # docs/security.md D21: a rotated-away key is "cannot check any more", never "forged".
    signer, successor = Signer(did=WEB_DID), Signer(did=WEB_DID, fragment="key-2")
    site.publish("/.well-known/did.json", successor.did_document())
    result = verify(signer.sign_ld(generic_vc(WEB_DID)), site.fetch)
    assert result.status is Status.UNVERIFIABLE
    assert "no longer publishes" in check(result, "issuer-key").message


def test_vc_did_web_document_unreachable_is_unverifiable(site: Site) -> None:
    signer = Signer(did=WEB_DID)
    site.publish("/.well-known/did.json", {"error": "gone"}, status=404)
    result = verify(signer.sign_ld(generic_vc(WEB_DID)), site.fetch)
    assert result.status is Status.UNVERIFIABLE
    assert check(result, "issuer-key").outcome is Status.UNVERIFIABLE


# --- VC-JWT (OB 3.0 / VC 1.1 mapping) and VC-JOSE-COSE ---------------------------------------------


def test_vc_jwt_ob_mapping_eddsa_did_key_is_valid() -> None:
    signer = Signer()
    credential = generic_vc(signer.did)
    token = sign_compact(jwt_claims(credential), signer.jwk, "EdDSA", header={"typ": "JWT", "kid": signer.vm})
    result = verify(token)
    assert result.status is Status.VALID, report(result)
    assert (result.securing, result.compact, result.container) == ("vc-jwt", token, "jwt")
    assert result.credential == credential
    assert check(result, "jwt-claims").status is CheckStatus.PASSED
    assert result.metadata.verified_issuer == signer.did


def test_vc_jose_es256_did_jwk_payload_is_the_credential_is_valid() -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    key = JWK.from_pyca(private)
    did = "did:jwk:" + b64url(json.dumps(key.export_public(as_dict=True), separators=(",", ":")).encode())
    credential = generic_vc(did)
    token = sign_compact(credential, key, "ES256", header={"typ": "vc+jwt", "kid": f"{did}#0"})
    result = verify(token)
    assert result.status is Status.VALID, report(result)
    assert result.securing == "vc-jose"
    assert result.metadata.name == "Guild membership"


def test_vc_jose_iss_claim_disagreeing_with_the_issuer_is_invalid() -> None:
    signer = Signer()
    credential = {**generic_vc(signer.did), "iss": "https://www.harvard.edu/"}
    token = sign_compact(credential, signer.jwk, "EdDSA", header={"typ": "vc+jwt", "kid": signer.vm})
    result = verify(token)
    assert result.status is Status.INVALID
    assert '"iss" is "https://www.harvard.edu/"' in check(result, "jwt-claims").message


def test_vc_jose_signature_times_differing_from_the_validity_period_are_valid() -> None:
    # VC-JOSE-COSE, "JWT Claims": iat/exp give the signature's own lifetime, not validFrom/validUntil.
    signer = Signer()
    credential = generic_vc(signer.did, validUntil=stamp(NOW + timedelta(days=365)))
    token = sign_compact({**credential, "iat": int((NOW - timedelta(days=1)).timestamp()),
                          "nbf": int((NOW - timedelta(days=1)).timestamp()),
                          "exp": int((NOW + timedelta(days=30)).timestamp())},
                         signer.jwk, "EdDSA", header={"typ": "vc+jwt", "kid": signer.vm})
    result = verify(token)
    assert result.status is Status.VALID, report(result)
    assert check(result, "jwt-claims").status is CheckStatus.PASSED


def test_vc_jose_signature_past_its_exp_is_expired() -> None:
    signer = Signer()
    credential = generic_vc(signer.did, validUntil=stamp(NOW + timedelta(days=365)))
    token = sign_compact({**credential, "exp": int((NOW - timedelta(days=1)).timestamp())},
                         signer.jwk, "EdDSA", header={"typ": "vc+jwt", "kid": signer.vm})
    assert verify(token).status is Status.EXPIRED


def test_vc_jwt_rs256_did_web_relative_kid_is_valid(site: Site) -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key = JWK.from_pyca(private)
    site.publish("/.well-known/did.json", {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/suites/jws-2020/v1"],
        "id": WEB_DID,
        "verificationMethod": [{"id": f"{WEB_DID}#rsa-1", "type": "JsonWebKey2020", "controller": WEB_DID,
                                "publicKeyJwk": key.export_public(as_dict=True)}],
        "assertionMethod": ["#rsa-1"]})
    credential = generic_vc(WEB_DID)
    token = sign_compact(jwt_claims(credential), key, "RS256", header={"kid": "#rsa-1"})
    result = verify(token, site.fetch)
    assert result.status is Status.VALID, report(result)
    assert check(result, "proof").detail["alg"] == "RS256"


def test_vc_jwt_without_kid_uses_the_issuer_did_assertion_keys(site: Site) -> None:
    signer = Signer(did=WEB_DID)
    site.publish("/.well-known/did.json", signer.did_document())
    token = sign_compact(jwt_claims(generic_vc(WEB_DID)), signer.jwk, "EdDSA")
    result = verify(token, site.fetch)
    assert result.status is Status.VALID, report(result)
    assert check(result, "issuer-key").detail["key"] == signer.vm


def test_vc_jwt_header_jwk_with_famous_https_issuer_is_unverifiable() -> None:
    # docs/security.md D7: a self-signed token that claims a well-known issuer proves nothing about it.
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key = JWK.from_pyca(private)
    credential = generic_vc("https://www.harvard.edu/issuers/1")
    token = sign_compact(jwt_claims(credential), key, "RS256", header={"jwk": key.export_public(as_dict=True)})
    result = verify(token)
    assert result.status is Status.UNVERIFIABLE, report(result)
    assert check(result, "proof").status is CheckStatus.PASSED
    assert check(result, "issuer-key").outcome is Status.UNVERIFIABLE
    assert result.metadata.verified_issuer is None


def test_vc_jwt_header_jwk_of_the_issuers_own_did_jwk_is_valid() -> None:
    key = JWK.generate(kty="OKP", crv="Ed25519")
    public = key.export_public(as_dict=True)
    did = "did:jwk:" + b64url(json.dumps(public, separators=(",", ":")).encode())
    token = sign_compact(jwt_claims(generic_vc(did)), key, "EdDSA", header={"jwk": public})
    result = verify(token)
    assert result.status is Status.VALID, report(result)


def test_vc_jwt_alg_none_is_invalid() -> None:
    # The pipeline's extractor already refuses such a token; the VC module must refuse it on its own too.
    signer = Signer()
    header = b64url(json.dumps({"alg": "none", "kid": signer.vm}).encode())
    claims = jwt_claims(generic_vc(signer.did))
    token = f"{header}.{b64url(json.dumps(claims).encode())}.{b64url(b'x')}"
    presented = Presented(claims, token, "jwt", token.encode())
    result = verify_presented(presented, make_context(now=NOW))
    assert result.status is Status.INVALID
    assert 'algorithm "none"' in check(result, "proof").message


def test_vc_jwt_signed_with_a_key_other_than_its_kid_is_invalid() -> None:
    signer, other = Signer(), Signer()
    token = sign_compact(jwt_claims(generic_vc(signer.did)), other.jwk, "EdDSA", header={"kid": signer.vm})
    result = verify(token)
    assert result.status is Status.INVALID
    assert check(result, "proof").status is CheckStatus.FAILED


def test_vc_jwt_payload_changed_after_signing_is_invalid() -> None:
    signer = Signer()
    token = sign_compact(jwt_claims(generic_vc(signer.did)), signer.jwk, "EdDSA", header={"kid": signer.vm})
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["vc"]["name"] = "Forged membership"
    result = verify(".".join([header, b64url(json.dumps(claims).encode()), signature]))
    assert result.status is Status.INVALID
    assert check(result, "proof").status is CheckStatus.FAILED


@pytest.mark.parametrize(("claim", "value", "words"), [
    ("iss", "did:example:someone-else", '"iss"'),
    ("sub", "did:example:another-learner", '"sub"'),
    ("jti", "urn:uuid:00000000-0000-4000-8000-000000000000", '"jti"'),
    ("nbf", int((NOW - timedelta(days=400)).timestamp()), '"nbf"'),
    ("exp", int((NOW + timedelta(days=400)).timestamp()), '"exp"'),
])
def test_vc_jwt_claim_disagreeing_with_the_credential_is_invalid(claim: str, value: Any, words: str) -> None:
    signer = Signer()
    credential = generic_vc(signer.did, validUntil=stamp(NOW + timedelta(days=10)))
    claims = {**jwt_claims(credential), claim: value}
    result = verify(sign_compact(claims, signer.jwk, "EdDSA", header={"kid": signer.vm}))
    assert result.status is Status.INVALID, report(result)
    assert words in check(result, "jwt-claims").message


def test_vc_jwt_sub_naming_any_of_several_subjects_is_valid() -> None:
    # VCDM 1.1 §6.3.1: "sub" stands for the id of a credentialSubject; with several, it may name any one.
    signer = Signer()
    credential = generic_vc(signer.did, credentialSubject=[{"id": "did:example:mentor"}, {"id": LEARNER_DID}])
    claims = {**jwt_claims({**credential, "credentialSubject": {"id": LEARNER_DID}}), "vc": credential}
    result = verify(sign_compact(claims, signer.jwk, "EdDSA", header={"kid": signer.vm}))
    assert result.status is Status.VALID, report(result)
    assert check(result, "jwt-claims").status is CheckStatus.PASSED


def test_vc_jwt_sub_naming_none_of_several_subjects_is_invalid() -> None:
    signer = Signer()
    credential = generic_vc(signer.did, credentialSubject=[{"id": "did:example:mentor"}, {"id": LEARNER_DID}])
    claims = {**jwt_claims({**credential, "credentialSubject": {"id": LEARNER_DID}}), "vc": credential,
              "sub": "did:example:someone-else"}
    result = verify(sign_compact(claims, signer.jwk, "EdDSA", header={"kid": signer.vm}))
    assert result.status is Status.INVALID, report(result)
    assert '"sub" is "did:example:someone-else"' in check(result, "jwt-claims").message


def v1_jwt_claims(signer: Signer, *, exp: datetime | None = None) -> dict[str, Any]:
    """Return VC 1.1 JWT claims whose "vc" leaves issuer, id, dates and subject id to iss, jti, nbf, exp, sub.

    VCDM 1.1 §6.3.1 lets the encoder move these properties into the registered claims (did-jwt-vc
    does so by default); the decoder puts them back.
    """
    claims: dict[str, Any] = {
        "vc": {"@context": [VC_V1], "type": ["VerifiableCredential"], "credentialSubject": {"memberOf": "Guild"}},
        "iss": signer.did, "sub": LEARNER_DID, "jti": "urn:uuid:4c0d6a56-93a5-4cf0-8d3b-0f43c1a3b7de",
        "nbf": int((NOW - timedelta(days=3)).timestamp())}
    if exp is not None:
        claims["exp"] = int(exp.timestamp())
    return claims


def test_vc_v1_jwt_with_properties_carried_by_the_registered_claims_is_valid() -> None:
    signer = Signer()
    claims = v1_jwt_claims(signer, exp=NOW + timedelta(days=30))
    result = verify(sign_compact(claims, signer.jwk, "EdDSA", header={"kid": signer.vm}), recipients=(LEARNER_DID,))
    assert result.status is Status.VALID, report(result)
    assert result.credential == {**claims["vc"], "issuer": signer.did, "id": claims["jti"],
                                 "issuanceDate": stamp(NOW - timedelta(days=3)),
                                 "expirationDate": stamp(NOW + timedelta(days=30)),
                                 "credentialSubject": {"memberOf": "Guild", "id": LEARNER_DID}}
    assert (result.metadata.issuer_id, result.metadata.verified_issuer) == (signer.did, signer.did)
    assert result.metadata.expires == NOW + timedelta(days=30)
    assert check(result, "recipient").status is CheckStatus.PASSED


def test_vc_v1_jwt_with_properties_carried_by_the_claims_and_another_signer_is_invalid() -> None:
    issuer, intruder = Signer(), Signer()
    claims = v1_jwt_claims(issuer)
    result = verify(sign_compact(claims, intruder.jwk, "EdDSA", header={"kid": intruder.vm}))
    assert result.status is Status.INVALID, report(result)
    assert check(result, "issuer-key").outcome is Status.INVALID


def test_vc_v1_jwt_vc_claim_property_disagreeing_with_its_claim_is_invalid() -> None:
    signer = Signer()
    claims = v1_jwt_claims(signer)
    claims["vc"]["issuer"] = "did:example:someone-else"
    result = verify(sign_compact(claims, signer.jwk, "EdDSA", header={"kid": signer.vm}))
    assert result.status is Status.INVALID, report(result)
    assert '"iss"' in check(result, "jwt-claims").message


def test_vc_jwt_exp_in_the_past_is_expired() -> None:
    signer = Signer()
    credential = generic_vc(signer.did, validUntil=stamp(NOW - timedelta(days=1)))
    result = verify(sign_compact(jwt_claims(credential), signer.jwk, "EdDSA", header={"kid": signer.vm}))
    assert result.status is Status.EXPIRED, report(result)


# --- validity period and structure -------------------------------------------------------------------


def test_vc_valid_until_in_the_past_is_expired() -> None:
    signer = Signer()
    result = verify(signer.sign_ld(generic_vc(signer.did, validUntil=stamp(NOW - timedelta(hours=2)))))
    assert result.status is Status.EXPIRED
    assert check(result, "validity").message.startswith("Expired on 1 June 2026")


def test_vc_valid_from_in_the_future_is_not_yet_valid() -> None:
    signer = Signer()
    result = verify(signer.sign_ld(generic_vc(signer.did, validFrom=stamp(NOW + timedelta(days=2)))))
    assert result.status is Status.NOT_YET_VALID


def test_vc_expiry_within_the_clock_leeway_is_still_valid() -> None:
    signer = Signer()
    signed = signer.sign_ld(generic_vc(signer.did, validUntil=stamp(NOW - timedelta(seconds=30))))
    assert verify(signed).status is Status.VALID
    assert verify(signed, now=NOW + timedelta(seconds=60)).status is Status.EXPIRED


def test_vc_date_without_time_zone_is_invalid() -> None:
    signer = Signer()
    result = verify(signer.sign_ld(generic_vc(signer.did, validUntil="2027-01-01T00:00:00")))
    assert result.status is Status.INVALID
    assert "validUntil must be a date and time with a time zone" in check(result, "structure").message


@pytest.mark.parametrize(("change", "words"), [
    ({"@context": [UNDEFINED_TERMS, VC_V2]}, "the first @context must be"),
    ({"issuer": {"name": "No id"}}, "issuer must be a URL, DID or URN"),
    ({"credentialSubject": "did:example:learner-7"}, "credentialSubject must be an object"),
])
def test_vc_malformed_credential_is_invalid_with_a_clear_message(change: dict[str, Any], words: str) -> None:
    credential = {**generic_vc(Signer().did), **change}
    result = verify(credential)
    assert result.status is Status.INVALID
    assert words in check(result, "structure").message


def test_vc_relative_context_reference_is_invalid_not_an_error() -> None:
    signer = Signer()
    signed = signer.sign_ld(generic_vc(signer.did))
    signed["@context"].append("contexts/extra.json")
    result = verify(signed)
    assert result.status is Status.INVALID, report(result)
    assert "contexts/extra.json" in check(result, "contexts").message


def test_vc_document_without_the_verifiable_credential_type_is_not_recognised() -> None:
    result = verify({**generic_vc(Signer().did), "type": ["ExampleMembershipCredential"]})
    assert result.status is Status.NO_CREDENTIAL


def test_vc_v1_without_issuance_date_is_invalid() -> None:
    signer = Signer()
    credential = {"@context": [VC_V1], "type": ["VerifiableCredential"], "issuer": signer.did,
                  "credentialSubject": {"id": LEARNER_DID}}
    result = verify(signer.sign_ld(credential, ED25519_SIGNATURE_2020))
    assert result.status is Status.INVALID
    assert "issuanceDate is required" in check(result, "structure").message


def test_vc_schema_and_refresh_service_are_reported_not_followed(site: Site) -> None:
    signer = Signer()
    credential = generic_vc(signer.did, credentialSchema=[{
        "id": f"{WEB_HOST}/schema.json", "type": "1EdTechJsonSchemaValidator2019"}],
        refreshService={"id": f"{WEB_HOST}/refresh", "type": "1EdTechCredentialRefresh"})
    result = verify(signer.sign_ld(credential), site.fetch)
    assert result.status is Status.VALID, report(result)
    assert check(result, "schema").status is CheckStatus.SKIPPED
    assert check(result, "refresh").detail["service"] == f"{WEB_HOST}/refresh"
    assert site.requested() == []


def test_vc_status_list_is_not_fetched_before_the_signature_is_confirmed(site: Site) -> None:
    # docs/security.md A17: an unverified credential must not make Wallet fetch the URLs it names.
    signer = Signer()
    credential = generic_vc(signer.did, credentialStatus={
        "id": f"{WEB_HOST}/status/1#5", "type": "BitstringStatusListEntry", "statusPurpose": "revocation",
        "statusListIndex": "5", "statusListCredential": f"{WEB_HOST}/status/1"})
    signed = signer.sign_ld(credential)
    signed["name"] = "Changed"
    result = verify(signed, site.fetch)
    assert result.status is Status.INVALID
    assert check(result, "status").status is CheckStatus.SKIPPED
    assert site.requested() == []


def test_parse_datetime_accepts_only_dates_with_an_offset() -> None:
    assert parse_datetime("2026-06-01T12:00:00Z") == NOW
    assert parse_datetime("2026-06-01T14:00:00.250+02:00") == NOW + timedelta(milliseconds=250)
    for bad in ("2026-06-01T12:00:00", "2026-06-01", "1 June 2026", 1780315200, None, "2026-13-01T00:00:00Z"):
        assert parse_datetime(bad) is None, bad


def test_vc_metadata_comes_from_the_credential() -> None:
    signer = Signer()
    credential = generic_vc(signer.did, description="Member in good standing.",
                            image={"id": "https://guild.example/badge.png", "type": "Image"},
                            evidence=[{"id": "https://guild.example/work/1", "name": "Project", "genre": "Code"}])
    credential["issuer"].update(url="https://guild.example/", email="hello@guild.example")
    result = verify(signer.sign_ld(copy.deepcopy(credential)))
    metadata = result.metadata
    assert result.status is Status.VALID, report(result)
    assert (metadata.description, metadata.image) == ("Member in good standing.", "https://guild.example/badge.png")
    assert (metadata.issuer_url, metadata.issuer_email) == ("https://guild.example/", "hello@guild.example")
    assert metadata.credential_id == credential["id"]
    assert metadata.evidence == [{"id": "https://guild.example/work/1", "name": "Project", "description": None,
                                  "narrative": None, "genre": "Code"}]
