"""Is this credential the learner's? Compare its recipient with the learner's verified identities.

A mismatch is reported, never fatal: the check FAILS with no outcome, so the credential's status
is unchanged and the importer flags it as issued to someone else (docs/security.md D18).
"""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from typing import Any

from wallet.services.verification import values
from wallet.services.verification.result import Check, CheckStatus

CHECK_ID = "recipient"
# OB 2.0 IdentityObject / OB 3.0 IdentityHash: "<algorithm>$<hex digest of identity + salt>".
_HASHES = {"sha256": hashlib.sha256, "md5": hashlib.md5}
_EMAIL_TYPES = frozenset({"email", "emailaddress"})

_MATCH = "Issued to you: the recipient matches one of your verified identities."
_MISMATCH = "Issued to someone else: the recipient does not match any of your verified addresses."
_NOTHING_TO_COMPARE = "No identities to compare: add and verify your email address to check the recipient."


def check_recipient(
    *,
    identity: str,
    hashed: bool,
    salt: str | None,
    identity_type: str | None,
    recipients: Sequence[str],
) -> Check:
    """Compare an OB 2.0 recipient (plain or `sha256$`/`md5$` hashed) with the learner's identities."""
    if not recipients:
        return Check.skipped(CHECK_ID, _NOTHING_TO_COMPARE)
    detail = {"type": identity_type, "hashed": hashed}
    matched = _matches(identity, hashed=hashed, salt=salt, identity_type=identity_type, recipients=recipients)
    if matched is None:
        return Check.warning(CHECK_ID, _unknown_hash_message(identity), **detail)
    if matched:
        return Check.passed(CHECK_ID, _MATCH, **detail)
    return _mismatch(**detail)


def match_ob3_identifiers(subject: dict[str, Any], recipients: Sequence[str]) -> Check:
    """Compare an OB 3.0 credentialSubject (`id` DID/URL, `identifier` entries) with the learner's identities."""
    if not recipients:
        return Check.skipped(CHECK_ID, _NOTHING_TO_COMPARE)
    subject_id = subject.get("id")
    identifiers = [i for i in values.as_list(subject.get("identifier")) if isinstance(i, dict)]
    if not isinstance(subject_id, str) and not identifiers:
        return Check.skipped(CHECK_ID, "The credential does not say who it was issued to.")
    # OB 3.0 §verification "Recipient": the subject id (a DID or URL) is compared as it is.
    if isinstance(subject_id, str) and subject_id.strip() in {r.strip() for r in recipients}:
        return Check.passed(CHECK_ID, _MATCH, type="id", hashed=False)
    unknown_hash = False
    for identifier in identifiers:
        identity = identifier.get("identityHash")
        if not isinstance(identity, str):
            continue
        salt = identifier.get("salt")
        identity_type = identifier.get("identityType")
        matched = _matches(
            identity,
            hashed=identifier.get("hashed") is True,
            salt=salt if isinstance(salt, str) else None,
            identity_type=identity_type if isinstance(identity_type, str) else None,
            recipients=recipients,
        )
        if matched:
            return Check.passed(CHECK_ID, _MATCH, type=identity_type, hashed=identifier.get("hashed") is True)
        unknown_hash = unknown_hash or matched is None
    if unknown_hash:
        return Check.warning(CHECK_ID, "The recipient is hashed in a way Wallet cannot compare.")
    return _mismatch(type="identifier")


def _matches(
    identity: str, *, hashed: bool, salt: str | None, identity_type: str | None, recipients: Iterable[str]
) -> bool | None:
    """Return whether any recipient matches; None if the hash algorithm is one Wallet does not know."""
    is_email = (identity_type or "").lower() in _EMAIL_TYPES
    if not hashed:
        wanted = identity.strip()
        for candidate in recipients:
            candidate = candidate.strip()
            # Email addresses are compared without case: issuers differ in how they write them.
            if candidate == wanted or ((is_email or "@" in wanted) and candidate.lower() == wanted.lower()):
                return True
        return False
    algorithm, separator, digest = identity.strip().partition("$")
    hash_function = _HASHES.get(algorithm.lower())
    if not separator or hash_function is None:
        return None
    digest = digest.lower()
    for candidate in recipients:
        for variant in _variants(candidate.strip()):
            computed = hash_function((variant + (salt or "")).encode("utf-8")).hexdigest()
            if hmac.compare_digest(computed, digest):
                return True
    return False


def _variants(candidate: str) -> list[str]:
    # Issuers usually hash the address as the learner typed it, or lower-cased.
    lowered = candidate.lower()
    return [candidate] if lowered == candidate or "@" not in candidate else [candidate, lowered]


def _mismatch(**detail: Any) -> Check:
    # Not an outcome: being issued to another address does not make the credential less genuine.
    return Check(CHECK_ID, CheckStatus.FAILED, _MISMATCH, None, detail)


def _unknown_hash_message(identity: str) -> str:
    algorithm = identity.partition("$")[0][:20]
    return f"The recipient is hashed with {algorithm or 'an unnamed method'}, which Wallet cannot compare."
