"""Comprehensive Learner Record 2.0: a ClrCredential and every credential it carries.

The CLR's own signature, validity and status are checked like any VC (vc.py). Each member of
`credentialSubject.verifiableCredential` (JSON, or a compact JWS string) is then verified on its
own, one level deeper, and reported in `result.nested` [CLR 2.0 §8, docs/verification.md §3.4].
"""
from __future__ import annotations

from typing import Any

from wallet.services.verification import ob3, values, vc
from wallet.services.verification.context import Context
from wallet.services.verification.extract import Presented
from wallet.services.verification.result import Check, CheckStatus, Status, VerificationResult

FORMAT_ID = "clr2"

CLR_TYPE = "ClrCredential"
# docs/security.md A13: a record carrying more credentials than this is not walked at all; it cannot be
# checked fully, so it is "Couldn't verify". A whole transcript is a few hundred at most.
MAX_MEMBERS = 500


def detect(presented: Presented) -> bool:
    """Tell whether the document is a CLR 2.0 ClrCredential."""
    return CLR_TYPE in values.types_of(vc.credential_of(presented).get("type"))


def verify(presented: Presented, context: Context) -> VerificationResult:
    """Verify a CLR and each credential in it."""
    verified = vc.verify_credential(presented, context, format_id=FORMAT_ID, structure=structure_problems)
    subject = values.first_subject(verified.credential) or {}
    items = values.as_list(subject.get("verifiableCredential"))
    if len(items) > MAX_MEMBERS:
        verified.result.add(ob3.too_many_check("nested", len(items), "credentials", MAX_MEMBERS))
        return vc.finish(verified)
    members = [vc.verify_embedded(item, context, _verify_member) for item in items]
    verified.result.nested += members
    if members:
        verified.result.add(nested_check(members))
    return vc.finish(verified)


def structure_problems(credential: dict[str, Any]) -> list[str]:
    """List what CLR 2.0 requires of the ClrCredential and finds missing or mistyped, by path."""
    problems: list[str] = []
    issuer = credential.get("issuer")
    if isinstance(issuer, dict):
        problems += ob3.profile_problems(issuer, "issuer")
    elif issuer is not None:
        problems.append('issuer must be a Profile object with an id and the type "Profile"')
    subject = credential.get("credentialSubject")
    if not isinstance(subject, dict):
        return [*problems, "credentialSubject must be one object"]
    if "ClrSubject" not in values.types_of(subject.get("type")):
        problems.append('credentialSubject.type must include "ClrSubject"')
    if not values.as_list(subject.get("verifiableCredential")):
        problems.append("credentialSubject.verifiableCredential must hold at least one credential")
    return problems


def nested_check(members: list[VerificationResult]) -> Check:
    """Summarise the members' results: a forged member makes the record invalid, others only show."""
    total = len(members)
    invalid = sum(1 for m in members if m.status in (Status.INVALID, Status.ERROR, Status.NO_CREDENTIAL))
    other = sum(1 for m in members if m.status is not Status.VALID) - invalid
    if invalid:
        return Check.failed("nested", f"{invalid} of the {total} credentials in this record "
                            f"{'is' if invalid == 1 else 'are'} not genuine.", total=total, invalid=invalid)
    if other:
        # A member that is expired, revoked or unverifiable is shown as such on its own line; the
        # record itself keeps the status of its own checks.
        return Check("nested", CheckStatus.FAILED, f"{other} of the {total} credentials in this record "
                     f"{'is' if other == 1 else 'are'} not currently verified.", None,
                     {"total": total, "not_verified": other})
    return Check.passed("nested", f"All {total} credentials in this record are verified.", total=total)


def _verify_member(presented: Presented, context: Context) -> VerificationResult:
    module = ob3 if ob3.detect(presented) else vc
    return module.verify(presented, context)
