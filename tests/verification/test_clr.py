"""CLR 2.0 verification (clr.py): the record's own proof and each credential it carries."""
from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

from tests.verification.test_ob3 import as_jwt, endorsement, jwt_claims, ob3_credential
from tests.verification.test_vc import LEARNER_DID, NOW, Signer, check, report, stamp, verify
from wallet.services.verification import clr, vc
from wallet.services.verification import context as context_module
from wallet.services.verification.jose import sign_compact
from wallet.services.verification.result import CheckStatus, Status

CLR_CONTEXTS = [
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
]


def clr_credential(issuer: str, members: list[Any], **overrides: Any) -> dict[str, Any]:
    """Return an unsigned ClrCredential carrying `members`."""
    return {
        "@context": CLR_CONTEXTS,
        "id": "urn:uuid:4e5f6a7b-8c9d-4e0f-a1b2-c3d4e5f6a7b8",
        "type": ["VerifiableCredential", "ClrCredential"],
        "issuer": {"id": issuer, "type": ["Profile"], "name": "Riverside Registrar"},
        "validFrom": stamp(NOW - timedelta(days=5)),
        "name": "Transcript of Ada Lovelace",
        "credentialSubject": {"id": LEARNER_DID, "type": ["ClrSubject"], "verifiableCredential": members},
        **overrides,
    }


def member(signer: Signer, name: str, **overrides: Any) -> dict[str, Any]:
    credential = ob3_credential(signer.did, name=name, **overrides)
    credential["id"] = f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, name)}"
    return credential


def test_clr_with_signed_members_is_valid() -> None:
    registrar, school = Signer(), Signer()
    members = [school.sign_ld(member(school, "Robotics Level 1")), school.sign_ld(member(school, "Algebra II"))]
    result = verify(registrar.sign_ld(clr_credential(registrar.did, members)))
    assert result.status is Status.VALID, report(result)
    assert result.format == "clr2"
    assert [(n.format, n.status, n.metadata.name) for n in result.nested] == [
        ("ob3", Status.VALID, "Robotics Level 1"), ("ob3", Status.VALID, "Algebra II")]
    assert check(result, "nested").message == "All 2 credentials in this record are verified."
    assert result.metadata.name == "Transcript of Ada Lovelace"


def test_clr_vc_jwt_with_json_and_jwt_members_is_valid() -> None:
    registrar, school = Signer(), Signer()
    members = [school.sign_ld(member(school, "Robotics Level 1")), as_jwt(school, member(school, "Algebra II"))]
    result = verify(as_jwt(registrar, clr_credential(registrar.did, members)))
    assert result.status is Status.VALID, report(result)
    assert [(n.securing, n.container) for n in result.nested] == [("eddsa-rdfc-2022", "json"), ("vc-jwt", "jwt")]


def test_clr_with_a_tampered_member_is_invalid() -> None:
    registrar, school = Signer(), Signer()
    forged = school.sign_ld(member(school, "Robotics Level 1"))
    forged["credentialSubject"]["achievement"]["name"] = "Robotics Level 9"
    members = [forged, school.sign_ld(member(school, "Algebra II"))]
    result = verify(registrar.sign_ld(clr_credential(registrar.did, members)))
    assert result.status is Status.INVALID
    assert check(result, "proof").status is CheckStatus.PASSED
    nested = check(result, "nested")
    assert (nested.status, nested.outcome) == (CheckStatus.FAILED, Status.INVALID)
    assert nested.message == "1 of the 2 credentials in this record is not genuine."
    assert [n.status for n in result.nested] == [Status.INVALID, Status.VALID]


def test_clr_with_an_expired_member_keeps_its_own_status() -> None:
    registrar, school = Signer(), Signer()
    expired = school.sign_ld(member(school, "First Aid", validUntil=stamp(NOW - timedelta(days=1))))
    result = verify(registrar.sign_ld(clr_credential(registrar.did, [expired])))
    assert result.status is Status.VALID, report(result)
    nested = check(result, "nested")
    assert (nested.status, nested.outcome) == (CheckStatus.FAILED, None)
    assert result.nested[0].status is Status.EXPIRED


def test_clr_changed_after_signing_is_invalid_even_with_good_members() -> None:
    registrar, school = Signer(), Signer()
    signed = registrar.sign_ld(clr_credential(registrar.did, [school.sign_ld(member(school, "Algebra II"))]))
    signed["name"] = "Transcript of someone else"
    result = verify(signed)
    assert result.status is Status.INVALID
    assert result.nested[0].status is Status.VALID


def test_clr_member_that_is_not_a_credential_is_invalid() -> None:
    registrar = Signer()
    result = verify(as_jwt(registrar, clr_credential(registrar.did, ["this is not a credential"])))
    assert result.status is Status.INVALID
    assert result.nested[0].status is Status.INVALID
    assert result.nested[0].checks[0].message == "This entry is neither a credential nor a signed token."


def test_clr_without_members_is_invalid() -> None:
    registrar = Signer()
    result = verify(as_jwt(registrar, clr_credential(registrar.did, [])))
    assert result.status is Status.INVALID
    assert "verifiableCredential must hold at least one credential" in check(result, "structure").message


def test_clr_subject_of_the_wrong_type_is_invalid() -> None:
    registrar, school = Signer(), Signer()
    credential = clr_credential(registrar.did, [as_jwt(school, member(school, "Algebra II"))])
    credential["credentialSubject"]["type"] = ["AchievementSubject"]
    result = verify(as_jwt(registrar, credential))
    assert result.status is Status.INVALID
    assert 'credentialSubject.type must include "ClrSubject"' in check(result, "structure").message


def test_clr_member_endorsements_are_verified_one_level_deeper() -> None:
    registrar, school, guild = Signer(), Signer(), Signer()
    badge = member(school, "Robotics Level 1")
    badge["credentialSubject"]["achievement"]["endorsement"] = [endorsement(guild)]
    result = verify(registrar.sign_ld(clr_credential(registrar.did, [school.sign_ld(badge)])))
    assert result.status is Status.VALID, report(result)
    assert result.nested[0].metadata.endorsements_count == 1
    assert result.nested[0].nested[0].status is Status.VALID


def test_clr_with_more_members_than_the_limit_is_refused_unchecked_as_couldnt_verify(monkeypatch) -> None:
    walked: list[Any] = []
    original = vc.verify_embedded
    monkeypatch.setattr(vc, "verify_embedded", lambda item, *args: walked.append(item) or original(item, *args))
    registrar = Signer()
    # Small entries, so the signed token stays under its size cap: the count is what matters here.
    result = verify(as_jwt(registrar, clr_credential(registrar.did, [{}] * (clr.MAX_MEMBERS + 1))))
    assert result.status is Status.UNVERIFIABLE, report(result)
    assert walked == [] and result.nested == []
    limit = check(result, "nested")
    assert (limit.status, limit.outcome) == (CheckStatus.FAILED, Status.UNVERIFIABLE)
    assert f"{clr.MAX_MEMBERS + 1:,} credentials" in limit.message


def test_clr_embedded_credentials_past_the_run_budget_are_not_verified(monkeypatch) -> None:
    monkeypatch.setattr(context_module, "MAX_EMBEDDED", 3)
    registrar, school = Signer(), Signer()
    tokens = [as_jwt(school, member(school, f"Course {n}")) for n in range(5)]
    result = verify(as_jwt(registrar, clr_credential(registrar.did, tokens)))
    assert [n.status for n in result.nested] == [Status.VALID] * 3 + [Status.UNVERIFIABLE] * 2
    assert result.status is Status.VALID  # members that could not be checked are shown, as expired ones are
    assert "not currently verified" in check(result, "nested").message
def test_clr_with_a_member_token_holding_duplicate_keys_is_refused_whole() -> None:
    # docs/importing.md: two parsers could read the member differently, so the record is not read at all.
    registrar, school = Signer(), Signer()
    payload = json.dumps(jwt_claims(member(school, "Algebra II")), separators=(",", ":"))
    payload = payload.replace('"name":', '"name":"Calculus","name":', 1)
    token = sign_compact(payload.encode(), school.jwk, "EdDSA", header={"typ": "JWT", "kid": school.vm})
    result = verify(registrar.sign_ld(clr_credential(registrar.did, [token])))
    assert result.status is Status.ERROR, report(result)
    assert '"name" twice' in check(result, "verify").message
