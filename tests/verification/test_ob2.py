"""Open Badges 2.0 verification against real issuers served over HTTP on 127.0.0.1.

The issuer lives at https://issuer.example/; the guarded fetcher rewrites that prefix to the local
document server, so every rule (scope, origin, ids) sees the issuer's real-looking URLs.
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
from datetime import datetime, timezone
from typing import Any

import pytest
from jwcrypto.jwk import JWK
from PIL import Image

from tests.support.servers import DocumentServer, Response
from wallet.services.http import GuardedFetcher
from wallet.services.verification import make_context, ob2, verify_bytes
from wallet.services.verification.extract import Presented, bake_png, bake_svg
from wallet.services.verification.jose import sign_compact
from wallet.services.verification.result import CheckStatus, Status, VerificationResult

ISSUER = "https://issuer.example"
OTHER = "https://other.example"
PROFILE_URL = f"{ISSUER}/issuer.json"
BADGE_URL = f"{ISSUER}/badges/robotics.json"
ASSERTION_URL = f"{ISSUER}/assertions/1.json"
KEY_URL = f"{ISSUER}/keys/1.json"
LIST_URL = f"{ISSUER}/revocations.json"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8" height="8"/></svg>'
EMAIL = "learner@example.com"
SALT = "pepper"
NOW = datetime(2024, 3, 1, tzinfo=timezone.utc)
CONTEXT = "https://w3id.org/openbadges/v2"


def png_image() -> bytes:
    output = io.BytesIO()
    Image.new("RGB", (8, 8), "teal").save(output, "PNG")
    return output.getvalue()


def hashed(identity: str, salt: str | None = SALT, algorithm: str = "sha256") -> str:
    return f"{algorithm}$" + hashlib.new(algorithm, (identity + (salt or "")).encode()).hexdigest()


def profile(**overrides: Any) -> dict[str, Any]:
    return {"@context": CONTEXT, "type": "Issuer", "id": PROFILE_URL, "name": "Example Robotics Academy",
            "url": ISSUER, "email": "badges@issuer.example", "image": f"{ISSUER}/logo.png", **overrides}


def badge_class(**overrides: Any) -> dict[str, Any]:
    return {
        "@context": CONTEXT, "type": "BadgeClass", "id": BADGE_URL, "name": "Robot Builder",
        "description": "Built a working robot.", "image": f"{ISSUER}/badges/robotics.png",
        "criteria": {"narrative": "Build a robot that walks."}, "issuer": PROFILE_URL,
        "tags": ["robotics", "engineering"],
        "alignment": [{"targetName": "Mechatronics", "targetUrl": "https://framework.example/mech",
                       "targetFramework": "Example Skills", "targetCode": "M1"}],
        **overrides,
    }


def assertion(**overrides: Any) -> dict[str, Any]:
    return {
        "@context": CONTEXT, "type": "Assertion", "id": ASSERTION_URL,
        "recipient": {"type": "email", "hashed": True, "salt": SALT, "identity": hashed(EMAIL)},
        "badge": BADGE_URL, "verification": {"type": "hosted"}, "issuedOn": "2023-06-01T12:00:00Z",
        "evidence": [{"id": f"{ISSUER}/work/1", "narrative": "The robot walked 10 m."}],
        **overrides,
    }


def key_document(key: JWK, **overrides: Any) -> dict[str, Any]:
    return {"@context": CONTEXT, "type": "CryptographicKey", "id": KEY_URL, "owner": PROFILE_URL,
            "publicKeyPem": key.export_to_pem(private_key=False, password=None).decode(), **overrides}


class Issuer:
    """The issuer's website: documents served from a real HTTP server under https://issuer.example/."""

    def __init__(self, server: DocumentServer) -> None:
        self.server = server
        self.fetch = GuardedFetcher(allow_private_network=True, url_rewrite={
            f"{ISSUER}/": server.url("/issuer/"), f"{OTHER}/": server.url("/other/")})

    def publish(self, url: str, document: dict[str, Any] | bytes, status: int = 200) -> None:
        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        for origin, prefix in ((ISSUER, "/issuer"), (OTHER, "/other")):
            if url.startswith(origin + "/"):
                self.server.routes[prefix + url[len(origin):]] = Response(body, status)
                return
        raise AssertionError(f"not an issuer URL: {url}")

    def publish_badge(self, document: dict[str, Any] | None = None, **profile_overrides: Any) -> dict[str, Any]:
        """Publish the profile and badge class, then the hosted assertion; return the assertion."""
        self.publish(PROFILE_URL, profile(**profile_overrides))
        self.publish(BADGE_URL, badge_class())
        document = document or assertion()
        if isinstance(document.get("id"), str) and document["id"].startswith(("https://issuer.", "https://other.")):
            self.publish(document["id"], document)
        return document

    def paths(self) -> list[str]:
        return [path for _method, path, _headers in self.server.requests]

    def verify(self, document: dict[str, Any] | str, *, recipients: tuple[str, ...] = (EMAIL,),
               now: datetime = NOW) -> VerificationResult:
        data = document.encode() if isinstance(document, str) else json.dumps(document).encode()
        return verify_bytes(data, context=make_context(self.fetch, recipients=recipients, now=now))


@pytest.fixture
def issuer(document_server: DocumentServer) -> Issuer:
    return Issuer(document_server)


@pytest.fixture(scope="module")
def rsa_key() -> JWK:
    return JWK.generate(kty="RSA", size=2048)


@pytest.fixture(scope="module")
def other_rsa_key() -> JWK:
    return JWK.generate(kty="RSA", size=2048)


def check(result: VerificationResult, check_id: str) -> Any:
    found = [c for c in result.checks if c.id == check_id]
    assert found, [(c.id, c.status, c.message) for c in result.checks]
    return found[-1]


def report(result: VerificationResult) -> list[tuple[str, str, str]]:
    return [(c.id, str(c.status), c.message) for c in result.checks]


# --- Hosted badges ---------------------------------------------------------------------------


def test_verify_hosted_badge_served_by_issuer_is_valid_with_metadata(issuer: Issuer) -> None:
    document = issuer.publish_badge()
    result = issuer.verify(document)
    assert result.status is Status.VALID, report(result)
    assert (result.format, result.securing, result.container) == ("ob2", "hosted", "json")
    assert result.credential == document
    metadata = result.metadata
    assert metadata.verified_issuer == "issuer.example"
    assert (metadata.name, metadata.issuer_name, metadata.issuer_id) == (
        "Robot Builder", "Example Robotics Academy", PROFILE_URL)
    assert (metadata.credential_id, metadata.achievement_id) == (ASSERTION_URL, BADGE_URL)
    assert metadata.issued == datetime(2023, 6, 1, 12, tzinfo=timezone.utc)
    assert metadata.criteria_narrative == "Build a robot that walks."
    assert metadata.tags == ["robotics", "engineering"]
    assert metadata.alignments[0]["name"] == "Mechatronics" and metadata.alignments[0]["code"] == "M1"
    assert metadata.evidence[0]["narrative"] == "The robot walked 10 m."
    assert metadata.recipient == {"type": "email", "identity": hashed(EMAIL), "hashed": True, "salt": SALT}
    assert check(result, "recipient").status is CheckStatus.PASSED
    assert [d["role"] for d in result.documents] == ["assertion", "badgeclass", "issuer"]
    assert not any("robotics.png" in path for path in issuer.paths())  # images are never fetched


@pytest.mark.parametrize("bake", ["png", "svg"])
def test_verify_hosted_badge_baked_in_image_is_valid_from_issuer_copy(issuer: Issuer, bake: str) -> None:
    document = issuer.publish_badge()
    text = json.dumps(document)
    image = bake_png(png_image(), text, "openbadges") if bake == "png" else bake_svg(SVG, text, "openbadges")
    result = verify_bytes(image, context=make_context(issuer.fetch, recipients=(EMAIL,), now=NOW))
    assert result.status is Status.VALID, report(result)
    assert result.container == bake and result.credential == document
    assert issuer.paths().count("/issuer/assertions/1.json") == 1


def test_verify_hosted_badge_baked_as_url_is_valid(issuer: Issuer) -> None:
    issuer.publish_badge()
    image = bake_png(png_image(), ASSERTION_URL, "openbadges")
    result = verify_bytes(image, context=make_context(issuer.fetch, recipients=(EMAIL,), now=NOW))
    assert result.status is Status.VALID, report(result)
    assert result.metadata.credential_id == ASSERTION_URL


def test_verify_baked_url_with_issuer_down_is_unverifiable(issuer: Issuer) -> None:
    image = bake_png(png_image(), ASSERTION_URL, "openbadges")
    issuer.server.close()
    result = verify_bytes(image, context=make_context(issuer.fetch, now=NOW))
    assert result.status is Status.UNVERIFIABLE
    assert "Could not fetch" in check(result, "fetch").message


def test_verify_hosted_badge_differing_from_issuer_copy_is_invalid_listing_fields(issuer: Issuer) -> None:
    hosted = issuer.publish_badge()
    presented = dict(hosted, issuedOn="2020-01-01T00:00:00Z",
                     recipient={"type": "email", "hashed": False, "identity": "mallory@example.com"})
    result = issuer.verify(presented)
    assert result.status is Status.INVALID
    differs = check(result, "hosted")
    assert differs.detail["fields"] == ["recipient", "issuedOn"]
    assert "recipient, issuedOn" in differs.message
    assert result.credential == hosted  # only the issuer's copy is trusted
    assert result.metadata.issued == datetime(2023, 6, 1, 12, tzinfo=timezone.utc)


def test_verify_hosted_badge_with_other_date_spelling_is_valid(issuer: Issuer) -> None:
    hosted = issuer.publish_badge()
    result = issuer.verify(dict(hosted, issuedOn="2023-06-01T12:00:00+00:00"))
    assert result.status is Status.VALID, report(result)


def test_verify_hosted_badge_gone_410_is_revoked(issuer: Issuer) -> None:
    document = issuer.publish_badge()
    issuer.publish(ASSERTION_URL, {"error": "gone"}, status=410)
    result = issuer.verify(document)
    assert result.status is Status.REVOKED, report(result)
    assert "410" in check(result, "hosted").message
    assert result.metadata.name == "Robot Builder"


def test_verify_hosted_badge_marked_revoked_is_revoked_with_reason(issuer: Issuer) -> None:
    document = assertion()
    issuer.publish_badge(dict(document, revoked=True, revocationReason="Issued by mistake"))
    result = issuer.verify(document)
    assert result.status is Status.REVOKED, report(result)
    revocation = check(result, "revocation")
    assert "Issued by mistake" in revocation.message and revocation.detail["reason"] == "Issued by mistake"


def test_verify_hosted_badge_issuer_server_down_is_unverifiable(issuer: Issuer) -> None:
    document = assertion()
    issuer.server.close()
    result = issuer.verify(document)
    assert result.status is Status.UNVERIFIABLE, report(result)
    assert "Could not reach the issuer" in check(result, "hosted").message
    assert not any(c.outcome is Status.INVALID for c in result.checks)
    assert result.metadata.verified_issuer is None


def test_verify_hosted_badge_issuer_error_status_is_unverifiable(issuer: Issuer) -> None:
    document = issuer.publish_badge()
    issuer.publish(ASSERTION_URL, b"Service Unavailable", status=503)
    assert issuer.verify(document).status is Status.UNVERIFIABLE


def test_verify_hosted_badge_on_another_host_is_invalid(issuer: Issuer) -> None:
    # docs/security.md D15 (backpack#1003): a badge hosted off the issuer's origin is not the issuer's.
    document = issuer.publish_badge(assertion(id=f"{OTHER}/assertions/1.json"))
    result = issuer.verify(document)
    assert result.status is Status.INVALID, report(result)
    assert "other.example" in check(result, "hosted-scope").message
    assert result.metadata.verified_issuer is None


def test_verify_hosted_badge_on_allowed_origin_is_valid(issuer: Issuer) -> None:
    document = issuer.publish_badge(assertion(id=f"{OTHER}/assertions/1.json"),
                                    verification={"allowedOrigins": ["other.example"]})
    result = issuer.verify(document)
    assert result.status is Status.VALID, report(result)
    assert result.metadata.verified_issuer == "issuer.example"


def test_verify_hosted_badge_outside_starts_with_is_invalid(issuer: Issuer) -> None:
    document = issuer.publish_badge(verification={"startsWith": f"{ISSUER}/official/"})
    result = issuer.verify(document)
    assert result.status is Status.INVALID
    assert check(result, "hosted-scope").status is CheckStatus.FAILED


def test_verify_hosted_badge_issuer_profile_claiming_another_site_is_invalid(issuer: Issuer) -> None:
    # A profile on other.example that claims an issuer id on issuer.example speaks for nobody.
    issuer.publish(f"{OTHER}/fake-issuer.json", profile(id="https://university.example/issuer",
                                                        verification={"allowedOrigins": ["other.example"]}))
    issuer.publish(f"{OTHER}/badge.json", badge_class(id=f"{OTHER}/badge.json", issuer=f"{OTHER}/fake-issuer.json"))
    document = assertion(id=f"{OTHER}/a.json", badge=f"{OTHER}/badge.json")
    issuer.publish(document["id"], document)
    result = issuer.verify(document)
    assert result.status is Status.INVALID, report(result)
    assert "another website" in check(result, "issuer").message
    assert result.metadata.verified_issuer is None


def test_verify_hosted_badge_non_http_issuer_is_unverifiable(issuer: Issuer) -> None:
    document = issuer.publish_badge(id="urn:uuid:2d391246-6e0d-4dab-906c-b29770bd7aa6")
    result = issuer.verify(document)
    assert result.status is Status.UNVERIFIABLE, report(result)
    assert "not a web address" in check(result, "issuer").message


def test_verify_hosted_badge_expired_is_expired(issuer: Issuer) -> None:
    document = issuer.publish_badge(assertion(expires="2024-01-01T00:00:00Z"))
    result = issuer.verify(document)
    assert result.status is Status.EXPIRED, report(result)
    assert result.metadata.expires == datetime(2024, 1, 1, tzinfo=timezone.utc)


def test_verify_hosted_badge_issued_in_future_is_not_yet_valid(issuer: Issuer) -> None:
    document = issuer.publish_badge(assertion(issuedOn="2024-06-01T00:00:00Z"))
    assert issuer.verify(document).status is Status.NOT_YET_VALID


def test_verify_hosted_badge_expiring_before_issued_is_invalid(issuer: Issuer) -> None:
    document = issuer.publish_badge(assertion(expires="2023-01-01T00:00:00Z"))
    result = issuer.verify(document)
    assert result.status is Status.INVALID
    assert "before it was issued" in check(result, "dates").message


def test_verify_hosted_badge_date_without_time_zone_is_invalid(issuer: Issuer) -> None:
    document = issuer.publish_badge(assertion(issuedOn="2023-06-01T12:00:00"))
    result = issuer.verify(document)
    assert result.status is Status.INVALID
    assert "time zone" in check(result, "structure").message


def test_verify_hosted_badge_with_endorsements_counts_them(issuer: Issuer) -> None:
    endorsement = {"@context": CONTEXT, "type": "Endorsement", "id": f"{ISSUER}/endorsements/1.json",
                   "claim": {"id": BADGE_URL, "endorsementComment": "Great"}, "issuer": PROFILE_URL,
                   "issuedOn": "2023-01-01T00:00:00Z", "verification": {"type": "hosted"}}
    issuer.publish(endorsement["id"], endorsement)
    document = issuer.publish_badge(assertion(endorsement=[endorsement["id"], f"{ISSUER}/endorsements/missing"]))
    result = issuer.verify(document)
    assert result.status is Status.VALID, report(result)
    assert result.metadata.endorsements_count == 1
    assert check(result, "endorsements").status is CheckStatus.WARNING


# --- Recipient -------------------------------------------------------------------------------


@pytest.mark.parametrize("recipient", [
    {"type": "email", "hashed": True, "identity": hashed(EMAIL, salt=None)},
    {"type": "email", "hashed": True, "salt": SALT, "identity": hashed(EMAIL, algorithm="md5")},
    {"type": "email", "hashed": False, "identity": EMAIL.upper()},
])
def test_verify_hosted_badge_recipient_forms_match_learner(issuer: Issuer, recipient: dict[str, Any]) -> None:
    document = issuer.publish_badge(assertion(recipient=recipient))
    result = issuer.verify(document)
    assert result.status is Status.VALID, report(result)
    assert check(result, "recipient").status is CheckStatus.PASSED


def test_verify_hosted_badge_for_someone_else_is_flagged_but_valid(issuer: Issuer) -> None:
    document = issuer.publish_badge()
    result = issuer.verify(document, recipients=("someone@else.example",))
    assert result.status is Status.VALID
    recipient = check(result, "recipient")
    assert recipient.status is CheckStatus.FAILED and recipient.outcome is None
    assert recipient.message.startswith("Issued to someone else")


# --- Signed badges ---------------------------------------------------------------------------


def signed_assertion(**overrides: Any) -> dict[str, Any]:
    return assertion(**{"id": "urn:uuid:7c3a2c1e-0c47-4a38-9f1c-2a0d1f0b9e11",
                        "verification": {"type": "SignedBadge", "creator": KEY_URL}, **overrides})


def publish_signer(issuer: Issuer, key: JWK, *, revocation: dict[str, Any] | None = None,
                   **key_overrides: Any) -> None:
    extra = {"revocationList": LIST_URL} if revocation is not None else {}
    issuer.publish_badge(publicKey=KEY_URL, **extra)
    issuer.publish(KEY_URL, key_document(key, **key_overrides))
    if revocation is not None:
        issuer.publish(LIST_URL, revocation)


def test_verify_signed_badge_with_issuer_key_is_valid(issuer: Issuer, rsa_key: JWK) -> None:
    publish_signer(issuer, rsa_key)
    payload = signed_assertion()
    token = sign_compact(payload, rsa_key, "RS256")
    result = issuer.verify(token)
    assert result.status is Status.VALID, report(result)
    assert (result.securing, result.container, result.compact) == ("jws", "jwt", token)
    assert result.credential == payload
    assert check(result, "signature").detail["key"] == KEY_URL
    assert result.metadata.verified_issuer == "issuer.example"
    assert "/issuer/assertions/1.json" not in issuer.paths()  # a signed badge is not re-fetched


def test_verify_signed_badge_es256_embedded_key_is_valid(issuer: Issuer) -> None:
    key = JWK.generate(kty="EC", crv="P-256")
    embedded = {"id": f"{PROFILE_URL}#key-1", "type": "CryptographicKey",
                "publicKeyPem": key.export_to_pem(private_key=False, password=None).decode()}
    issuer.publish_badge(publicKey=[embedded])
    token = sign_compact(signed_assertion(verification={"type": "signed", "creator": embedded["id"]}), key, "ES256")
    result = issuer.verify(token)
    assert result.status is Status.VALID, report(result)


def test_verify_signed_badge_baked_in_png_is_valid(issuer: Issuer, rsa_key: JWK) -> None:
    publish_signer(issuer, rsa_key)
    token = sign_compact(signed_assertion(), rsa_key, "RS256")
    image = bake_png(png_image(), token, "openbadges")
    result = verify_bytes(image, context=make_context(issuer.fetch, recipients=(EMAIL,), now=NOW))
    assert result.status is Status.VALID, report(result)
    assert (result.container, result.compact) == ("png", token)


def test_verify_signed_badge_tampered_payload_is_invalid(issuer: Issuer, rsa_key: JWK) -> None:
    publish_signer(issuer, rsa_key)
    header, _payload, signature = sign_compact(signed_assertion(), rsa_key, "RS256").split(".")
    forged = signed_assertion(recipient={"type": "email", "hashed": False, "identity": "mallory@example.com"})
    body = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
    result = issuer.verify(f"{header}.{body}.{signature}")
    assert result.status is Status.INVALID, report(result)
    assert "does not match" in check(result, "signature").message
    assert result.credential is None and result.metadata.verified_issuer is None


def test_verify_signed_badge_wrong_key_is_invalid(issuer: Issuer, rsa_key: JWK, other_rsa_key: JWK) -> None:
    publish_signer(issuer, rsa_key)
    result = issuer.verify(sign_compact(signed_assertion(), other_rsa_key, "RS256"))
    assert result.status is Status.INVALID
    assert check(result, "signature").status is CheckStatus.FAILED


def test_verify_signed_badge_key_of_another_issuer_is_invalid(issuer: Issuer, rsa_key: JWK) -> None:
    publish_signer(issuer, rsa_key, owner=f"{OTHER}/issuer.json")
    result = issuer.verify(sign_compact(signed_assertion(), rsa_key, "RS256"))
    assert result.status is Status.INVALID, report(result)
    assert "someone other than" in check(result, "signature").message


def test_verify_signed_badge_key_with_malformed_owner_is_invalid(issuer: Issuer, rsa_key: JWK) -> None:
    publish_signer(issuer, rsa_key, owner={"id": PROFILE_URL})
    result = issuer.verify(sign_compact(signed_assertion(), rsa_key, "RS256"))
    assert result.status is Status.INVALID, report(result)
    assert "someone other than" in check(result, "signature").message


def test_verify_signed_badge_key_not_listed_by_issuer_is_unverifiable(issuer: Issuer, rsa_key: JWK) -> None:
    issuer.publish_badge()  # the profile lists no key
    issuer.publish(f"{OTHER}/key.json", key_document(rsa_key, id=f"{OTHER}/key.json"))
    token = sign_compact(signed_assertion(verification={"type": "signed", "creator": f"{OTHER}/key.json"}),
                         rsa_key, "RS256")
    result = issuer.verify(token)
    assert result.status is Status.UNVERIFIABLE, report(result)
    assert "/other/key.json" not in issuer.paths()


def test_verify_signed_badge_creator_not_in_profile_keys_is_unverifiable(issuer: Issuer, rsa_key: JWK) -> None:
    publish_signer(issuer, rsa_key)
    token = sign_compact(signed_assertion(verification={"type": "signed", "creator": f"{ISSUER}/keys/2.json"}),
                         rsa_key, "RS256")
    result = issuer.verify(token)
    assert result.status is Status.UNVERIFIABLE
    assert "does not list" in check(result, "signature").message


def test_verify_signed_badge_revoked_by_list_is_revoked(issuer: Issuer, rsa_key: JWK) -> None:
    payload = signed_assertion()
    publish_signer(issuer, rsa_key, revocation={
        "@context": CONTEXT, "type": "RevocationList", "id": LIST_URL,
        "revokedAssertions": ["urn:uuid:00000000-0000-0000-0000-000000000000",
                              {"id": payload["id"], "revocationReason": "Cheating"}]})
    result = issuer.verify(sign_compact(payload, rsa_key, "RS256"))
    assert result.status is Status.REVOKED, report(result)
    assert "Cheating" in check(result, "revocation").message


def test_verify_signed_badge_not_on_list_is_valid(issuer: Issuer, rsa_key: JWK) -> None:
    publish_signer(issuer, rsa_key, revocation={"@context": CONTEXT, "type": "RevocationList", "id": LIST_URL,
                                                "revokedAssertions": ["urn:uuid:someone-else"]})
    result = issuer.verify(sign_compact(signed_assertion(), rsa_key, "RS256"))
    assert result.status is Status.VALID, report(result)
    assert check(result, "revocation").status is CheckStatus.PASSED


def test_verify_signed_badge_listed_with_revoked_false_is_valid(issuer: Issuer, rsa_key: JWK) -> None:
    # OB 2.0 RevocationList: "revoked" defaults to true when an entry is listed; false says it is not.
    payload = signed_assertion()
    publish_signer(issuer, rsa_key, revocation={"@context": CONTEXT, "type": "RevocationList", "id": LIST_URL,
                                                "revokedAssertions": [{"id": payload["id"], "revoked": False}]})
    result = issuer.verify(sign_compact(payload, rsa_key, "RS256"))
    assert result.status is Status.VALID, report(result)
    assert check(result, "revocation").status is CheckStatus.PASSED


def test_verify_signed_badge_listed_by_uid_is_revoked(issuer: Issuer, rsa_key: JWK) -> None:
    payload = signed_assertion(uid="abc123")
    publish_signer(issuer, rsa_key, revocation={"@context": CONTEXT, "type": "RevocationList", "id": LIST_URL,
                                                "revokedAssertions": [{"uid": "abc123", "revoked": True}]})
    result = issuer.verify(sign_compact(payload, rsa_key, "RS256"))
    assert result.status is Status.REVOKED, report(result)


def test_verify_signed_badge_revocation_list_down_is_unverifiable(issuer: Issuer, rsa_key: JWK) -> None:
    publish_signer(issuer, rsa_key, revocation={})
    issuer.publish(LIST_URL, b"oops", status=500)
    result = issuer.verify(sign_compact(signed_assertion(), rsa_key, "RS256"))
    # docs/security.md D20: a list that cannot be read means "revocation unknown", never "not revoked".
    assert result.status is Status.UNVERIFIABLE, report(result)
    assert check(result, "revocation").outcome is Status.UNVERIFIABLE


def test_verify_signed_badge_given_as_plain_json_is_unverifiable(issuer: Issuer, rsa_key: JWK) -> None:
    # docs/security.md D13: the signature was stripped; the claims alone prove nothing.
    publish_signer(issuer, rsa_key)
    result = issuer.verify(signed_assertion())
    assert result.status is Status.UNVERIFIABLE, report(result)
    assert "without its signature" in check(result, "signature").message


# --- Data validation and detection -----------------------------------------------------------


def test_verify_unknown_context_is_invalid_without_fetching(issuer: Issuer) -> None:
    document = issuer.publish_badge(assertion(**{"@context": "https://evil.example/context.json"}))
    result = issuer.verify(document)
    assert result.status is Status.INVALID
    assert "not the Open Badges 2.0 context" in check(result, "structure").message
    assert issuer.paths() == []


def test_verify_inline_context_redefining_a_term_is_invalid(issuer: Issuer) -> None:
    document = issuer.publish_badge(assertion(**{"@context": [CONTEXT, {"badge": "https://evil.example/badge"}]}))
    result = issuer.verify(document)
    assert result.status is Status.INVALID
    assert 'redefines the term "badge"' in check(result, "structure").message


def test_verify_assertion_missing_recipient_is_invalid(issuer: Issuer) -> None:
    document = assertion()
    del document["recipient"]
    result = issuer.verify(issuer.publish_badge(document))
    assert result.status is Status.INVALID
    assert "recipient" in check(result, "structure").message


def test_verify_badge_class_alone_is_no_credential(issuer: Issuer) -> None:
    issuer.publish(PROFILE_URL, profile())
    result = issuer.verify(badge_class())
    assert result.status is Status.NO_CREDENTIAL, report(result)
    assert "BadgeClass" in check(result, "format").message
    assert result.metadata.name == "Robot Builder"


def test_verify_open_badges_1_assertion_is_unverifiable(issuer: Issuer) -> None:
    result = issuer.verify(assertion(**{"@context": "https://w3id.org/openbadges/v1"}))
    assert result.status is Status.UNVERIFIABLE
    assert "1.x" in check(result, "format").message


def presented(document: dict[str, Any], jws: str | None = None) -> Presented:
    return Presented(document=document, jws=jws, container="jwt" if jws else "json", raw=b"")


def test_detect_ob2_assertion_and_payload_but_not_ob3() -> None:
    assert ob2.detect(presented(assertion()))
    assert ob2.detect(presented(assertion(), jws="a.b.c"))
    assert ob2.detect(presented({"type": "Assertion", "badge": BADGE_URL, "recipient": {}}))
    assert not ob2.detect(presented({"@context": ["https://www.w3.org/ns/credentials/v2"],
                                     "type": ["VerifiableCredential", "OpenBadgeCredential"]}))


def test_verify_hosted_badge_with_too_many_endorsements_is_unverifiable_without_fetching_them(issuer: Issuer) -> None:
    references = [f"{ISSUER}/endorsements/{n}.json" for n in range(ob2.MAX_ENDORSEMENTS + 1)]
    document = issuer.publish_badge(assertion(endorsement=references))
    result = issuer.verify(document)
    assert result.status is Status.UNVERIFIABLE, report(result)
    limit = check(result, "endorsements")
    assert (limit.status, limit.outcome) == (CheckStatus.FAILED, Status.UNVERIFIABLE)
    assert f"{ob2.MAX_ENDORSEMENTS + 1:,} endorsements" in limit.message
    assert not any("/endorsements/" in path for path in issuer.paths())
