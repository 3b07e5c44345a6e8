"""Open Badges 3.0 verification (ob3.py): required structure, metadata, recipient, endorsements."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from tests.verification.test_vc import (
    NOW, VC_V1, Signer, check, jwt_claims, report, stamp, verify,
)
from wallet.services.verification import ob3, vc
from wallet.services.verification.jose import sign_compact
from wallet.services.verification.result import CheckStatus, Status

OB3_CONTEXTS = ["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]
OB3_V1_CONTEXTS = [VC_V1, "https://purl.imsglobal.org/spec/ob/v3p0/context.json"]
EMAIL = "learner@example.org"
ACHIEVEMENT_ID = "https://riverside.example/achievements/robotics-1"


def ob3_credential(issuer: str, **overrides: Any) -> dict[str, Any]:
    """Return an unsigned OB 3.0 OpenBadgeCredential with every part Wallet reads."""
    return {
        "@context": OB3_CONTEXTS,
        "id": "urn:uuid:2c8f3a1e-5b7d-4e9f-8a6c-1d2e3f4a5b6c",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": issuer, "type": ["Profile"], "name": "Riverside Academy", "url": "https://riverside.example/",
                   "email": "badges@riverside.example",
                   "image": {"id": "https://riverside.example/logo.png", "type": "Image"}},
        "validFrom": stamp(NOW - timedelta(days=10)),
        "name": "Robotics Level 1",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [{"type": "IdentityObject", "identityHash": EMAIL, "identityType": "emailAddress",
                            "hashed": False}],
            "achievement": {
                "id": ACHIEVEMENT_ID,
                "type": ["Achievement"],
                "achievementType": "Badge",
                "name": "Robotics Level 1",
                "description": "Designs, builds and programs a small robot.",
                "criteria": {"id": "https://riverside.example/criteria/robotics-1",
                             "narrative": "Build a robot that follows a line for 10 m."},
                "image": {"id": "https://riverside.example/robotics.png", "type": "Image"},
                "tag": ["robotics", "engineering"],
                "alignment": [{"type": ["Alignment"], "targetName": "Mechatronics",
                               "targetUrl": "https://framework.example/mech", "targetFramework": "Example Skills",
                               "targetCode": "M1", "targetDescription": "Combines mechanics and electronics."}],
            },
        },
        "evidence": [{"id": "https://riverside.example/evidence/77", "type": ["Evidence"], "name": "Robot video",
                      "narrative": "The robot follows the line.", "genre": "Video"}],
        **overrides,
    }


def endorsement(endorser: Signer, **overrides: Any) -> dict[str, Any]:
    """Return an EndorsementCredential of the achievement, signed by `endorser`."""
    return endorser.sign_ld({
        "@context": OB3_CONTEXTS,
        "id": "urn:uuid:9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
        "type": ["VerifiableCredential", "EndorsementCredential"],
        "issuer": {"id": endorser.did, "type": ["Profile"], "name": "Guild of Engineers"},
        "validFrom": stamp(NOW - timedelta(days=20)),
        "name": "Guild endorsement of Robotics Level 1",
        "credentialSubject": {"id": ACHIEVEMENT_ID, "type": ["EndorsementSubject"],
                              "endorsementComment": "A demanding, well-assessed programme."},
        **overrides,
    })


def as_jwt(signer: Signer, credential: dict[str, Any]) -> str:
    return sign_compact(jwt_claims(credential), signer.jwk, "EdDSA", header={"typ": "JWT", "kid": signer.vm})


def test_ob3_signed_with_eddsa_rdfc_2022_is_valid_with_its_metadata() -> None:
    signer = Signer()
    result = verify(signer.sign_ld(ob3_credential(signer.did)), recipients=(EMAIL,))
    assert result.status is Status.VALID, report(result)
    assert (result.format, result.securing) == ("ob3", "eddsa-rdfc-2022")
    metadata = result.metadata
    # The credential has no description or image of its own: the achievement's are shown.
    assert (metadata.name, metadata.description) == ("Robotics Level 1", "Designs, builds and programs a small robot.")
    assert metadata.image == "https://riverside.example/robotics.png"
    assert metadata.achievement_id == ACHIEVEMENT_ID
    assert metadata.achievement_type == "Badge"
    assert metadata.criteria_narrative == "Build a robot that follows a line for 10 m."
    assert metadata.criteria_url == "https://riverside.example/criteria/robotics-1"
    assert metadata.tags == ["robotics", "engineering"]
    assert metadata.alignments == [{"name": "Mechatronics", "url": "https://framework.example/mech",
                                    "framework": "Example Skills", "code": "M1",
                                    "description": "Combines mechanics and electronics."}]
    assert (metadata.issuer_id, metadata.issuer_name, metadata.verified_issuer) == (
        signer.did, "Riverside Academy", signer.did)
    assert metadata.issuer_image == "https://riverside.example/logo.png"
    assert metadata.recipient == {"type": "emailAddress", "identity": EMAIL, "hashed": False, "salt": None}
    assert metadata.evidence[0]["name"] == "Robot video"
    assert check(result, "recipient").status is CheckStatus.PASSED


def test_ob3_credential_name_and_image_come_before_the_achievements() -> None:
    signer = Signer()
    credential = ob3_credential(signer.did, name="Robotics Level 1 (2026 cohort)", description="Spring cohort.",
                                image={"id": "https://riverside.example/cohort.png", "type": "Image"})
    result = verify(signer.sign_ld(credential))
    assert result.status is Status.VALID, report(result)
    assert (result.metadata.name, result.metadata.description, result.metadata.image) == (
        "Robotics Level 1 (2026 cohort)", "Spring cohort.", "https://riverside.example/cohort.png")


def test_ob3_vc_1_1_form_with_ed25519signature2020_is_valid() -> None:
    signer = Signer()
    credential = ob3_credential(signer.did, **{"@context": OB3_V1_CONTEXTS})
    credential["issuanceDate"] = credential.pop("validFrom")
    credential["expirationDate"] = stamp(NOW + timedelta(days=365))
    result = verify(signer.sign_ld(credential, "Ed25519Signature2020"))
    assert result.status is Status.VALID, report(result)
    assert result.metadata.issued == NOW - timedelta(days=10)
    assert result.metadata.expires == NOW + timedelta(days=365)


def test_ob3_vc_jwt_is_valid() -> None:
    signer = Signer()
    result = verify(as_jwt(signer, ob3_credential(signer.did)))
    assert result.status is Status.VALID, report(result)
    assert (result.format, result.securing) == ("ob3", "vc-jwt")


def test_ob3_expired_is_expired() -> None:
    signer = Signer()
    result = verify(signer.sign_ld(ob3_credential(signer.did, validUntil=stamp(NOW - timedelta(days=1)))))
    assert result.status is Status.EXPIRED
    assert result.metadata.expires == NOW - timedelta(days=1)


def test_ob3_recipient_mismatch_is_flagged_without_changing_the_status() -> None:
    signer = Signer()
    result = verify(signer.sign_ld(ob3_credential(signer.did)), recipients=("someone@else.example",))
    assert result.status is Status.VALID
    recipient = check(result, "recipient")
    assert (recipient.status, recipient.outcome) == (CheckStatus.FAILED, None)


def _drop(path: str) -> Any:
    def change(credential: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = credential
        for name in parents:
            target = target[name]
        del target[last]
    return change


def _set(path: str, value: Any) -> Any:
    def change(credential: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = credential
        for name in parents:
            target = target[int(name)] if isinstance(target, list) else target[name]
        target[last] = value
    return change


@pytest.mark.parametrize(("change", "words"), [
    (_drop("credentialSubject.achievement"), "credentialSubject.achievement is required"),
    (_set("credentialSubject.type", ["InvalidAchievementSubject"]),
     'credentialSubject.type must include "AchievementSubject"'),
    (_set("credentialSubject.achievement.type", "Badge"), 'credentialSubject.achievement.type must include "Achievement"'),
    (_drop("credentialSubject.achievement.criteria"), "credentialSubject.achievement.criteria needs an id or a narrative"),
    (_drop("credentialSubject.achievement.name"), "credentialSubject.achievement.name is required"),
    (_drop("credentialSubject.identifier"), "credentialSubject needs an id or an identifier"),
    (_set("credentialSubject.identifier", [{"type": "InvalidIdentityObject", "identityHash": EMAIL,
                                            "identityType": "emailAddress", "hashed": False}]),
     'credentialSubject.identifier[0].type must include "IdentityObject"'),
    (_set("credentialSubject.result", [{"type": ["Result"]}, {"type": ["InvalidResult"]}]),
     'credentialSubject.result[1].type must include "Result"'),
    (_set("credentialSubject.achievement.resultDescription", [{"type": "Rubric"}]),
     'credentialSubject.achievement.resultDescription[0].type must include "ResultDescription"'),
    (_set("credentialSubject.achievement.alignment", [{"targetName": "x"}]),
     'credentialSubject.achievement.alignment[0].type must include "Alignment"'),
    (_set("credentialSubject.source", {"id": "https://school.example/1", "type": "InvalidProfile"}),
     'credentialSubject.source.type must include "Profile"'),
    (_set("evidence", [{"id": "https://riverside.example/e/1", "type": "InvalidEvidence"}]),
     'evidence[0].type must include "Evidence"'),
    (_set("issuer.type", ["Organization"]), 'issuer.type must include "Profile"'),
    (_set("issuer.parentOrg", {"id": "https://parent.example/", "type": ["InvalidProfile"]}),
     'issuer.parentOrg.type must include "Profile"'),
    (_set("issuer.otherIdentifier", [{"type": "InvalidIdentifierEntry", "identifier": "1",
                                      "identifierType": "sourcedId"}]),
     'issuer.otherIdentifier[0].type must include "IdentifierEntry"'),
    (_set("type", ["VerifiableCredential"]), 'type must include "OpenBadgeCredential"'),
    (_set("type", ["OpenBadgeCredential"]), 'type must include "VerifiableCredential"'),
])
def test_ob3_missing_or_mistyped_part_is_invalid_naming_its_path(change: Any, words: str) -> None:
    # Signed as a VC-JWT after the change, so the signature is good and only the structure is wrong.
    signer = Signer()
    credential = ob3_credential(signer.did)
    change(credential)
    result = verify(as_jwt(signer, credential))
    assert result.format == "ob3"
    assert result.status is Status.INVALID, report(result)
    assert check(result, "proof").status is CheckStatus.PASSED
    assert words in check(result, "structure").message
    assert check(result, "status").status is CheckStatus.SKIPPED


def test_ob3_issuer_given_only_as_a_url_is_invalid() -> None:
    signer = Signer()
    credential = ob3_credential(signer.did)
    credential["issuer"] = signer.did
    result = verify(signer.sign_ld(credential))
    assert result.status is Status.INVALID
    assert 'issuer must be a Profile object' in check(result, "structure").message


def test_ob3_embedded_endorsement_is_verified_and_counted() -> None:
    signer, endorser = Signer(), Signer()
    credential = ob3_credential(signer.did)
    credential["credentialSubject"]["achievement"]["endorsement"] = [endorsement(endorser)]
    result = verify(signer.sign_ld(credential))
    assert result.status is Status.VALID, report(result)
    assert result.metadata.endorsements_count == 1
    assert [(n.format, n.status) for n in result.nested] == [("ob3", Status.VALID)]
    assert result.nested[0].metadata.verified_issuer == endorser.did
    assert check(result, "endorsements").message == "1 endorsement verified."


def test_ob3_tampered_endorsement_is_reported_without_changing_the_credential() -> None:
    signer, endorser = Signer(), Signer()
    forged = endorsement(endorser)
    forged["credentialSubject"]["endorsementComment"] = "The best programme in the world."
    credential = ob3_credential(signer.did, endorsement=[forged, endorsement(endorser)])
    result = verify(signer.sign_ld(credential))
    assert result.status is Status.VALID, report(result)
    assert result.metadata.endorsements_count == 2
    assert [n.status for n in result.nested] == [Status.INVALID, Status.VALID]
    endorsements = check(result, "endorsements")
    assert (endorsements.status, endorsements.message) == (CheckStatus.WARNING, "1 of 2 endorsements could not be verified.")


def test_ob3_endorsement_jwt_is_verified_and_counted() -> None:
    signer, endorser = Signer(), Signer()
    endorsement_token = as_jwt(endorser, {k: v for k, v in endorsement(endorser).items() if k != "proof"})
    credential = ob3_credential(signer.did)
    credential["issuer"]["endorsementJwt"] = [endorsement_token]
    result = verify(as_jwt(signer, credential))
    assert result.status is Status.VALID, report(result)
    assert result.metadata.endorsements_count == 1
    assert (result.nested[0].securing, result.nested[0].container) == ("vc-jwt", "jwt")


def test_ob3_endorsement_that_is_not_a_credential_is_counted_as_not_verified() -> None:
    signer = Signer()
    credential = ob3_credential(signer.did)
    credential["issuer"]["endorsementJwt"] = ["not-a-token"]
    result = verify(as_jwt(signer, credential))
    assert result.status is Status.VALID
    assert result.nested[0].status is Status.INVALID
    assert check(result, "endorsements").status is CheckStatus.WARNING


def test_ob3_endorsement_credential_on_its_own_is_verified() -> None:
    endorser = Signer()
    result = verify(endorsement(endorser))
    assert result.status is Status.VALID, report(result)
    assert (result.format, result.metadata.name) == ("ob3", "Guild endorsement of Robotics Level 1")


def test_ob3_endorsement_without_subject_id_is_invalid() -> None:
    endorser = Signer()
    unsigned = {k: v for k, v in endorsement(endorser).items() if k != "proof"}
    del unsigned["credentialSubject"]["id"]
    result = verify(as_jwt(endorser, unsigned))
    assert result.status is Status.INVALID
    assert "credentialSubject.id must name what is endorsed" in check(result, "structure").message


def test_ob3_issue_date_prefers_valid_from_then_awarded_date() -> None:
    signer = Signer()
    with_both = verify(signer.sign_ld(ob3_credential(signer.did, awardedDate="2026-01-01T00:00:00Z")))
    assert with_both.metadata.issued == NOW - timedelta(days=10)
    awarded_only = ob3_credential(signer.did, awardedDate="2026-01-01T00:00:00Z")
    del awarded_only["validFrom"]
    result = verify(signer.sign_ld(awarded_only))
    assert result.status is Status.VALID, report(result)
    assert result.metadata.issued == datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert result.metadata.valid_from is None


def test_ob3_ten_thousand_endorsements_are_refused_unchecked_as_couldnt_verify(
        monkeypatch: pytest.MonkeyPatch) -> None:
    walked: list[Any] = []
    original = vc.verify_embedded
    monkeypatch.setattr(vc, "verify_embedded", lambda item, *args: walked.append(item) or original(item, *args))
    signer = Signer()
    credential = ob3_credential(signer.did)
    # Small entries, so the signed token stays under its size cap: the count is what matters here.
    credential["credentialSubject"]["achievement"]["endorsement"] = [{}] * 10_000
    result = verify(as_jwt(signer, credential))
    assert result.status is Status.UNVERIFIABLE, report(result)
    assert walked == [] and result.nested == []
    limit = check(result, "endorsements")
    assert (limit.status, limit.outcome) == (CheckStatus.FAILED, Status.UNVERIFIABLE)
    assert "10,000 endorsements" in limit.message and f"{ob3.MAX_ENDORSEMENTS}" in limit.message
    # The credential's own checks still ran and passed.
    assert check(result, "proof").status is CheckStatus.PASSED


def test_ob3_endorsements_up_to_the_limit_are_all_verified() -> None:
    signer, endorser = Signer(), Signer()
    token = as_jwt(endorser, {k: v for k, v in endorsement(endorser).items() if k != "proof"})
    credential = ob3_credential(signer.did)
    credential["issuer"]["endorsementJwt"] = [token] * ob3.MAX_ENDORSEMENTS
    result = verify(as_jwt(signer, credential))
    assert result.status is Status.VALID, report(result)
    assert len(result.nested) == result.metadata.endorsements_count == ob3.MAX_ENDORSEMENTS
