"""SD-JWT VCs (sdjwt.py): issuer key, disclosures, key binding, validity and Token Status List.

Every SD-JWT is signed with a real ES256 key; the issuer's JWT VC Issuer Metadata and status lists
are served as https://issuer.example/... by a real HTTP server on 127.0.0.1 through the guarded fetcher.
"""
from __future__ import annotations

import base64
import json
import time

import pytest
from jwcrypto.jwk import JWK

from tests.support.sdjwt import SdJwtIssuer, b64url, digest, key_binding, make_disclosure, sign
from tests.support.servers import DocumentServer
from tests.verification.test_vc import WEB_HOST, Site, check, report
from wallet.services.verification import issuerkeys, make_context, sdjwt, typemetadata, verify_bytes
from wallet.services.verification.result import CheckStatus, Status, VerificationResult

STATUS_URL = f"{WEB_HOST}/statuslists/1"


@pytest.fixture
def site(document_server: DocumentServer) -> Site:
    return Site(document_server)


@pytest.fixture
def issuer(site: Site) -> SdJwtIssuer:
    issuer = SdJwtIssuer(iss=WEB_HOST)
    site.publish("/.well-known/jwt-vc-issuer", issuer.metadata())
    return issuer


def verify(text: str, site: Site | None = None) -> VerificationResult:
    return verify_bytes(text.encode(), context=make_context(site.fetch if site else None))


def degree(issuer: SdJwtIssuer, **options) -> str:
    return issuer.issue({"degree_level": "Bachelor"},
                        disclosable={"given_name": "Ada", "family_name": "Lovelace", "grade": "First"}, **options)


def test_sdjwt_issued_by_metadata_key_is_valid_with_every_claim_disclosed(site: Site, issuer: SdJwtIssuer) -> None:
    result = verify(degree(issuer), site)
    assert result.status is Status.VALID, report(result)
    assert result.format == "sdjwt"
    assert result.credential["given_name"] == "Ada" and result.credential["grade"] == "First"
    assert "_sd" not in result.credential and "_sd_alg" not in result.credential
    assert check(result, "issuer-key").detail["source"] == "jwt-vc-issuer"
    assert result.metadata.verified_issuer == "issuer.example"
    assert result.metadata.name == "Degree"
    assert any(d["role"] == "issuer-metadata" for d in result.documents)


def test_sdjwt_array_element_disclosures_are_put_in_place(site: Site, issuer: SdJwtIssuer) -> None:
    token = issuer.issue({}, disclosable_elements={"nationalities": ["FR", "DE"]})
    undisclosed = sdjwt.present(token, set(sdjwt.split(token).disclosures[:1]))
    assert verify(token, site).credential["nationalities"] == ["FR", "DE"]
    result = verify(undisclosed, site)
    assert result.status is Status.VALID, report(result)
    assert result.credential["nationalities"] == ["FR"]


def test_sdjwt_tampered_disclosure_is_invalid(site: Site, issuer: SdJwtIssuer) -> None:
    token = degree(issuer)
    parts = sdjwt.split(token)
    forged = make_disclosure("grade", "First with distinction")
    # The forged claim replaces the genuine one: its digest is not among those the issuer signed.
    tampered = "~".join([parts.issuer_jwt, parts.disclosures[0], parts.disclosures[1], forged]) + "~"
    result = verify(tampered, site)
    assert result.status is Status.INVALID
    assert check(result, "disclosures").status is CheckStatus.FAILED
    assert "not referenced" in check(result, "disclosures").message


def test_sdjwt_disclosure_with_one_changed_character_is_invalid(site: Site, issuer: SdJwtIssuer) -> None:
    token = degree(issuer)
    parts = sdjwt.split(token)
    claim = json.loads(base64.urlsafe_b64decode(parts.disclosures[0] + "=="))
    claim[2] = "Eve"
    changed = b64url(json.dumps(claim).encode())
    result = verify("~".join([parts.issuer_jwt, changed, *parts.disclosures[1:]]) + "~", site)
    assert result.status is Status.INVALID
    assert result.credential.get("given_name") is None


def test_sdjwt_disclosure_not_referenced_by_any_digest_is_invalid(site: Site, issuer: SdJwtIssuer) -> None:
    extra = make_disclosure("honours", True)
    result = verify(degree(issuer) + extra + "~", site)
    assert result.status is Status.INVALID
    assert "1 disclosure(s) are not referenced" in check(result, "disclosures").message


def test_sdjwt_digest_used_twice_is_invalid(site: Site, issuer: SdJwtIssuer) -> None:
    disclosure = make_disclosure("given_name", "Ada")
    payload = {"iss": WEB_HOST, "vct": "https://issuer.example/types/degree", "iat": int(time.time()),
               "_sd": [digest(disclosure)], "address": {"_sd": [digest(disclosure)]}}
    token = sign(payload, issuer.key, {"typ": "dc+sd-jwt", "kid": issuer.key.get("kid")})
    result = verify(f"{token}~{disclosure}~", site)
    assert result.status is Status.INVALID
    assert "more than once" in check(result, "disclosures").message


def test_sdjwt_signed_by_another_key_is_invalid(site: Site, issuer: SdJwtIssuer) -> None:
    other = JWK.generate(kty="EC", crv="P-256", kid="issuer-key-1")
    result = verify(degree(issuer, key=other), site)
    assert result.status is Status.INVALID
    assert check(result, "proof").status is CheckStatus.FAILED


def test_sdjwt_key_missing_from_metadata_is_invalid(site: Site, issuer: SdJwtIssuer) -> None:
    other = JWK.generate(kty="EC", crv="P-256", kid="someone-else")
    result = verify(degree(issuer, key=other), site)
    assert result.status is Status.INVALID
    assert check(result, "issuer-key").status is CheckStatus.FAILED


def test_sdjwt_metadata_naming_another_issuer_is_invalid(site: Site, issuer: SdJwtIssuer) -> None:
    site.publish("/.well-known/jwt-vc-issuer", {**issuer.metadata(), "issuer": "https://attacker.example"})
    result = verify(degree(issuer), site)
    assert result.status is Status.INVALID
    assert "names another issuer" in check(result, "issuer-key").message


def test_sdjwt_metadata_unreachable_is_unverifiable_not_invalid(site: Site, issuer: SdJwtIssuer) -> None:
    del site.server.routes["/.well-known/jwt-vc-issuer"]
    result = verify(degree(issuer), site)
    assert result.status is Status.UNVERIFIABLE
    assert check(result, "proof").status is CheckStatus.SKIPPED


def test_sdjwt_metadata_jwks_uri_is_followed(site: Site, issuer: SdJwtIssuer) -> None:
    jwks_uri = site.publish("/jwks.json", {"keys": [issuer.key.export_public(as_dict=True)]})
    site.publish("/.well-known/jwt-vc-issuer", {"issuer": WEB_HOST, "jwks_uri": jwks_uri})
    assert verify(degree(issuer), site).status is Status.VALID


def test_sdjwt_issuer_metadata_path_goes_after_the_well_known_name(site: Site) -> None:
    assert issuerkeys.metadata_url("https://issuer.example/tenant/7") == \
        "https://issuer.example/.well-known/jwt-vc-issuer/tenant/7"
    issuer = SdJwtIssuer(iss=f"{WEB_HOST}/tenant/7")
    site.publish("/.well-known/jwt-vc-issuer/tenant/7", issuer.metadata())
    assert verify(degree(issuer), site).status is Status.VALID


def test_sdjwt_did_jwk_issuer_is_valid_offline() -> None:
    key = JWK.generate(kty="EC", crv="P-256")
    did = "did:jwk:" + b64url(json.dumps(key.export_public(as_dict=True)).encode())
    issuer = SdJwtIssuer(iss=did, key=key)
    result = verify(issuer.issue({}, disclosable={"given_name": "Ada"}, header={"kid": f"{did}#0"}))
    assert result.status is Status.VALID, report(result)
    assert result.metadata.verified_issuer == did


def test_sdjwt_x5c_key_without_trusted_chain_is_unverifiable(site: Site, issuer: SdJwtIssuer) -> None:
    from datetime import datetime, timedelta, timezone

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    private = serialization.load_pem_private_key(issuer.key.export_to_pem(private_key=True, password=None), None)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "issuer.example")])
    now = datetime.now(timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(private.public_key()).serial_number(1)
                   .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=1))
                   .sign(private, hashes.SHA256()))
    x5c = [base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()]
    result = verify(degree(issuer, header={"x5c": x5c}), site)
    assert check(result, "proof").status is CheckStatus.PASSED
    assert result.status is Status.UNVERIFIABLE
    assert check(result, "issuer-key").detail["source"] == "x5c"


def test_sdjwt_expired_is_expired(site: Site, issuer: SdJwtIssuer) -> None:
    result = verify(degree(issuer, exp=int(time.time()) - 86400), site)
    assert result.status is Status.EXPIRED
    assert result.metadata.expires is not None


def test_sdjwt_plain_jwt_type_is_not_an_sd_jwt_vc(site: Site, issuer: SdJwtIssuer) -> None:
    result = verify(degree(issuer, header={"typ": "JWT"}), site)
    assert result.status is Status.INVALID
    assert "SD-JWT VC" in check(result, "structure").message


# --- key binding -------------------------------------------------------------------------------


def holder_key() -> JWK:
    return JWK.generate(kty="EC", crv="P-256")


def test_sdjwt_key_binding_matching_audience_and_nonce_is_valid(site: Site, issuer: SdJwtIssuer) -> None:
    holder = holder_key()
    presented = key_binding(degree(issuer, holder=holder), holder, aud="https://verifier.example", nonce="n-1")
    result = sdjwt.verify_sd_jwt(presented, make_context(site.fetch), audience="https://verifier.example",
                                 nonce="n-1")
    assert result.status is Status.VALID, report(result)
    assert check(result, "key-binding").status is CheckStatus.PASSED


@pytest.mark.parametrize("change", ["sd_hash", "aud", "nonce", "signer"])
def test_sdjwt_key_binding_mismatch_is_invalid(site: Site, issuer: SdJwtIssuer, change: str) -> None:
    holder = holder_key()
    token = degree(issuer, holder=holder)
    presented = key_binding(
        token, holder_key() if change == "signer" else holder,
        aud="https://other.example" if change == "aud" else "https://verifier.example",
        nonce="replayed" if change == "nonce" else "n-1",
        sd_hash=b64url(b"\0" * 32) if change == "sd_hash" else None)
    result = sdjwt.verify_sd_jwt(presented, make_context(site.fetch), audience="https://verifier.example",
                                 nonce="n-1")
    assert result.status is Status.INVALID
    assert check(result, "key-binding").status is CheckStatus.FAILED


def test_sdjwt_key_binding_over_fewer_disclosures_than_presented_is_invalid(site: Site, issuer: SdJwtIssuer) -> None:
    holder = holder_key()
    token = degree(issuer, holder=holder)
    parts = sdjwt.split(token)
    fewer = sdjwt.present(token, {parts.disclosures[0]})
    kb = key_binding(fewer, holder, aud="a", nonce="n")[len(fewer):]
    result = sdjwt.verify_sd_jwt(token + kb, make_context(site.fetch), audience="a", nonce="n")
    assert "sd_hash" in check(result, "key-binding").message
    assert result.status is Status.INVALID


# --- Token Status List -------------------------------------------------------------------------


def with_status(issuer: SdJwtIssuer, index: int) -> str:
    return degree(issuer, status={"status_list": {"idx": index, "uri": STATUS_URL}})


def publish_list(site: Site, token: str) -> None:
    site.publish("/statuslists/1", token, content_type="application/statuslist+jwt")


def test_sdjwt_status_list_revoked_is_revoked(site: Site, issuer: SdJwtIssuer) -> None:
    publish_list(site, issuer.status_list(STATUS_URL, [0, 0, 0, 1, 0, 0, 0, 0, 0]))
    result = verify(with_status(issuer, 3), site)
    assert result.status is Status.REVOKED, report(result)
    assert check(result, "status").detail["value"] == 1


def test_sdjwt_status_list_valid_entry_is_valid(site: Site, issuer: SdJwtIssuer) -> None:
    publish_list(site, issuer.status_list(STATUS_URL, [1, 1, 0, 1, 2, 0, 0, 0, 1], bits=2))
    result = verify(with_status(issuer, 2), site)
    assert result.status is Status.VALID, report(result)
    assert check(result, "status").status is CheckStatus.PASSED
    suspended = verify(with_status(issuer, 4), site)
    assert suspended.status is Status.REVOKED
    assert "Suspended" in check(suspended, "status").message


def test_sdjwt_status_list_unfetchable_is_unverifiable_never_not_revoked(site: Site, issuer: SdJwtIssuer) -> None:
    result = verify(with_status(issuer, 3), site)
    assert result.status is Status.UNVERIFIABLE
    status_check = check(result, "status")
    assert status_check.status is CheckStatus.FAILED and status_check.outcome is Status.UNVERIFIABLE
    assert "not revoked" not in status_check.message.lower()


def test_sdjwt_status_list_signed_by_another_key_is_unverifiable(site: Site, issuer: SdJwtIssuer) -> None:
    other = JWK.generate(kty="EC", crv="P-256", kid="issuer-key-1")
    publish_list(site, issuer.status_list(STATUS_URL, [0, 0, 0, 0], key=other))
    result = verify(with_status(issuer, 1), site)
    assert result.status is Status.UNVERIFIABLE
    assert "not signed by the issuer" in check(result, "status").message


def test_sdjwt_status_list_for_another_address_is_unverifiable(site: Site, issuer: SdJwtIssuer) -> None:
    publish_list(site, issuer.status_list(f"{WEB_HOST}/statuslists/2", [0, 0, 0, 0]))
    assert verify(with_status(issuer, 1), site).status is Status.UNVERIFIABLE


def test_sdjwt_status_list_not_fetched_when_signature_fails(site: Site, issuer: SdJwtIssuer) -> None:
    publish_list(site, issuer.status_list(STATUS_URL, [0, 0, 0, 0]))
    other = JWK.generate(kty="EC", crv="P-256", kid="issuer-key-1")
    verify(degree(issuer, key=other, status={"status_list": {"idx": 1, "uri": STATUS_URL}}), site)
    assert not any(path.startswith("/statuslists/") for _, path, _ in site.server.requests)


# --- shape and size ----------------------------------------------------------------------------


def test_sdjwt_detection_tells_sd_jwts_from_plain_jwts(issuer: SdJwtIssuer) -> None:
    token = degree(issuer)
    assert sdjwt.is_sd_jwt(token)
    assert sdjwt.is_sd_jwt(token.split("~")[0] + "~")
    assert not sdjwt.is_sd_jwt(token.split("~")[0])
    assert not sdjwt.is_sd_jwt("hello~world~")
    assert not sdjwt.is_sd_jwt('{"a": "~"}')


def test_sdjwt_too_large_input_is_refused_before_decoding(issuer: SdJwtIssuer) -> None:
    token = degree(issuer) + "~".join([make_disclosure("x", "y" * 1000)] * 300) + "~"
    assert len(token) > sdjwt.MAX_LENGTH
    assert not sdjwt.is_sd_jwt(token)
    result = sdjwt.verify_sd_jwt(token, make_context())
    assert result.status is Status.INVALID
    assert "too large" in check(result, "proof").message


def test_sdjwt_readable_names() -> None:
    assert typemetadata.readable_name("family_name") == "Family name"
    assert typemetadata.readable_name("dateOfBirth") == "Date of birth"
    assert typemetadata.readable_name("ECTS-credits") == "ECTS credits"


# --- recipient ---------------------------------------------------------------------------------


def learner_did_key() -> tuple[str, JWK]:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from wallet.services.verification.dataintegrity import did_key_for

    private = Ed25519PrivateKey.generate()
    return did_key_for(private.public_key()), JWK.from_pyca(private)


def test_sdjwt_bound_to_the_learners_did_key_is_issued_to_them(site: Site, issuer: SdJwtIssuer) -> None:
    did, key = learner_did_key()
    result = verify_bytes(degree(issuer, holder=key).encode(), context=make_context(site.fetch, recipients=[did]))
    assert check(result, "recipient").status is CheckStatus.PASSED
    assert result.status is Status.VALID


def test_sdjwt_bound_to_another_key_is_issued_to_someone_else(site: Site, issuer: SdJwtIssuer) -> None:
    did, _ = learner_did_key()
    result = verify_bytes(degree(issuer, holder=holder_key()).encode(),
                          context=make_context(site.fetch, recipients=[did, "learner@example.org"]))
    recipient_check = check(result, "recipient")
    assert recipient_check.status is CheckStatus.FAILED and recipient_check.outcome is None
    assert result.status is Status.VALID  # genuine, just not the learner's (docs/security.md D18)


# --- type metadata and labels ------------------------------------------------------------------


TYPE_URL = f"{WEB_HOST}/types/degree"


def type_metadata() -> dict:
    return {
        "vct": TYPE_URL,
        "display": [{"locale": "en-US", "name": "Bachelor's degree", "description": "A first degree."},
                    {"lang": "de-DE", "name": "Bachelorabschluss"}],
        "claims": [
            {"path": ["given_name"], "display": [{"locale": "de-DE", "label": "Vorname"},
                                                 {"locale": "en-US", "label": "Given name"}]},
            {"path": ["address", "locality"], "display": [{"lang": "en", "label": "Town"}]},
        ],
    }


def labels(result: VerificationResult, languages: list[str]) -> dict[str, object]:
    return {typemetadata.label_for(entry, languages): entry["value"] for entry in result.metadata.claims}


def test_sdjwt_claims_are_labelled_from_type_metadata_in_the_readers_language(site: Site,
                                                                               issuer: SdJwtIssuer) -> None:
    site.publish("/types/degree", type_metadata())
    token = issuer.issue({"address": {"locality": "London", "postal_code": "N1"}},
                         disclosable={"given_name": "Ada", "family_name": "Lovelace"})
    result = verify(token, site)
    assert result.status is Status.VALID, report(result)
    assert result.metadata.name == "Bachelor's degree"
    assert result.metadata.type_display["de-DE"]["name"] == "Bachelorabschluss"
    german = labels(result, ["de-AT", "en"])
    assert german["Vorname"] == "Ada" and german["Family name"] == "Lovelace"
    assert german["Town"] == "London" and german["Address › Postal code"] == "N1"
    assert labels(result, ["fr"])["Given name"] == "Ada"  # no French: English
    assert "Iss" not in german and "Vct" not in german  # how it works is not what it says
    disclosed = {tuple(e["path"]): e["disclosed"] for e in result.metadata.claims}
    assert disclosed[("given_name",)] and not disclosed[("address", "locality")]


def test_sdjwt_type_metadata_not_matching_its_integrity_is_not_used(site: Site, issuer: SdJwtIssuer) -> None:
    site.publish("/types/degree", type_metadata())
    token = issuer.issue({"vct#integrity": "sha256-" + base64.b64encode(b"\0" * 32).decode()},
                         disclosable={"given_name": "Ada"})
    result = verify(token, site)
    assert result.status is Status.VALID
    assert check(result, "type-metadata").status is CheckStatus.WARNING
    assert result.metadata.name == "Degree"
    assert labels(result, ["de"]) == {"Given name": "Ada"}


def test_sdjwt_type_metadata_with_matching_integrity_is_used(site: Site, issuer: SdJwtIssuer) -> None:
    import hashlib

    body = json.dumps(type_metadata()).encode()
    site.publish("/types/degree", body)
    integrity = "sha256-" + base64.b64encode(hashlib.sha256(body).digest()).decode()
    result = verify(issuer.issue({"vct#integrity": integrity}, disclosable={"given_name": "Ada"}), site)
    assert check(result, "type-metadata").status is CheckStatus.PASSED
    assert labels(result, ["de"]) == {"Vorname": "Ada"}
