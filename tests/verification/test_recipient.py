"""The recipient check: OB 2.0 identities (plain, sha256$, md5$) and OB 3.0 subjects (docs/security.md D18)."""
from __future__ import annotations

import hashlib

from wallet.services.verification.recipient import check_recipient, match_ob3_identifiers
from wallet.services.verification.result import CheckStatus, Status, VerificationResult

EMAIL = "learner@example.com"
SALT = "s4lt"
DID = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"


def sha256(text: str) -> str:
    return "sha256$" + hashlib.sha256(text.encode()).hexdigest()


def test_check_recipient_sha256_with_salt_matches() -> None:
    check = check_recipient(identity=sha256(EMAIL + SALT), hashed=True, salt=SALT, identity_type="email",
                            recipients=["other@example.com", EMAIL])
    assert check.id == "recipient" and check.status is CheckStatus.PASSED


def test_check_recipient_sha256_without_salt_matches() -> None:
    check = check_recipient(identity=sha256(EMAIL), hashed=True, salt=None, identity_type="email",
                            recipients=[EMAIL])
    assert check.status is CheckStatus.PASSED


def test_check_recipient_md5_and_upper_case_digest_match() -> None:
    identity = "MD5$" + hashlib.md5((EMAIL + SALT).encode()).hexdigest().upper()
    check = check_recipient(identity=identity, hashed=True, salt=SALT, identity_type="email", recipients=[EMAIL])
    assert check.status is CheckStatus.PASSED


def test_check_recipient_hash_of_lower_cased_email_matches_mixed_case_address() -> None:
    check = check_recipient(identity=sha256(EMAIL + SALT), hashed=True, salt=SALT, identity_type="email",
                            recipients=["Learner@Example.COM"])
    assert check.status is CheckStatus.PASSED


def test_check_recipient_corpus_hash_matches_its_address() -> None:
    # The 1EdTech corpus hashes nobody@example.org with the salt "deadsea".
    check = check_recipient(
        identity="sha256$ecf5409f3f4b91ab60cc5ef4c02aef7032354375e70cf4d8e43f6a1d29891942",
        hashed=True, salt="deadsea", identity_type="email", recipients=["nobody@example.org"])
    assert check.status is CheckStatus.PASSED


def test_check_recipient_plain_email_compares_without_case() -> None:
    check = check_recipient(identity="LEARNER@example.com", hashed=False, salt=None, identity_type="email",
                            recipients=[EMAIL])
    assert check.status is CheckStatus.PASSED


def test_check_recipient_plain_url_compares_exactly() -> None:
    assert check_recipient(identity="https://learner.example/me", hashed=False, salt=None, identity_type="url",
                           recipients=["https://learner.example/me"]).status is CheckStatus.PASSED
    assert check_recipient(identity="https://learner.example/ME", hashed=False, salt=None, identity_type="url",
                           recipients=["https://learner.example/me"]).status is CheckStatus.FAILED


def test_check_recipient_mismatch_fails_without_changing_status() -> None:
    check = check_recipient(identity=sha256("someone@else.example" + SALT), hashed=True, salt=SALT,
                            identity_type="email", recipients=[EMAIL])
    assert check.status is CheckStatus.FAILED
    assert check.outcome is None
    assert check.message.startswith("Issued to someone else")
    result = VerificationResult(format="ob2", status=Status.VALID, checks=[check]).finish()
    assert result.status is Status.VALID


def test_check_recipient_wrong_salt_is_a_mismatch() -> None:
    check = check_recipient(identity=sha256(EMAIL + SALT), hashed=True, salt="other", identity_type="email",
                            recipients=[EMAIL])
    assert check.status is CheckStatus.FAILED


def test_check_recipient_no_identities_is_skipped() -> None:
    check = check_recipient(identity=sha256(EMAIL), hashed=True, salt=None, identity_type="email", recipients=[])
    assert check.status is CheckStatus.SKIPPED and "No identities to compare" in check.message


def test_check_recipient_unknown_hash_algorithm_is_a_warning() -> None:
    check = check_recipient(identity="sha512$abcdef", hashed=True, salt=None, identity_type="email",
                            recipients=[EMAIL])
    assert check.status is CheckStatus.WARNING and "sha512" in check.message


def test_match_ob3_identifiers_subject_did_matches() -> None:
    check = match_ob3_identifiers({"id": DID, "type": ["AchievementSubject"]}, [EMAIL, DID])
    assert check.status is CheckStatus.PASSED


def test_match_ob3_identifiers_hashed_identifier_matches() -> None:
    subject = {"type": ["AchievementSubject"], "identifier": [
        {"type": "IdentityObject", "identityType": "emailAddress", "hashed": True, "salt": SALT,
         "identityHash": sha256(EMAIL + SALT)},
    ]}
    assert match_ob3_identifiers(subject, [EMAIL]).status is CheckStatus.PASSED


def test_match_ob3_identifiers_plain_identifier_matches() -> None:
    subject = {"identifier": {"type": "IdentityObject", "identityType": "emailAddress", "hashed": False,
                              "identityHash": EMAIL.upper()}}
    assert match_ob3_identifiers(subject, [EMAIL]).status is CheckStatus.PASSED


def test_match_ob3_identifiers_mismatch_fails_with_no_outcome() -> None:
    subject = {"id": "did:example:someone-else", "identifier": [
        {"type": "IdentityObject", "identityType": "emailAddress", "hashed": True, "identityHash": sha256("x@y.z")}]}
    check = match_ob3_identifiers(subject, [EMAIL, DID])
    assert check.status is CheckStatus.FAILED and check.outcome is None


def test_match_ob3_identifiers_without_subject_identity_or_recipients_is_skipped() -> None:
    assert match_ob3_identifiers({"type": ["AchievementSubject"]}, [EMAIL]).status is CheckStatus.SKIPPED
    assert match_ob3_identifiers({"id": DID}, []).status is CheckStatus.SKIPPED
