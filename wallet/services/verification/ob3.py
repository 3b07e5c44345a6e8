"""Open Badges 3.0: OpenBadgeCredential (AchievementCredential) and EndorsementCredential.

The W3C VC checks (securing, validity, status) come from vc.py. This module adds what OB 3.0
requires of the document [OB 3.0 §8 data model, docformat; docs/verification.md §3.4], the achievement's
metadata, the recipient check and the embedded endorsements, verified by the same rules.
"""
from __future__ import annotations

from typing import Any

from wallet.services.verification import values, vc
from wallet.services.verification.context import Context
from wallet.services.verification.extract import Presented
from wallet.services.verification.result import Check, Metadata, Status, VerificationResult

FORMAT_ID = "ob3"

ACHIEVEMENT_TYPES = ("OpenBadgeCredential", "AchievementCredential")
ENDORSEMENT_TYPE = "EndorsementCredential"
OB3_CONTEXT_PREFIX = "https://purl.imsglobal.org/spec/ob/v3p0/context"
# docs/security.md A13: a credential carrying more endorsements than this is not walked at all; it
# cannot be checked fully, so it is "Couldn't verify". Real badges carry a handful.
MAX_ENDORSEMENTS = 100


def detect(presented: Presented) -> bool:
    """Tell whether the document is an OB 3.0 credential (by its type, or by the OB 3.0 context)."""
    credential = vc.credential_of(presented)
    types = values.types_of(credential.get("type"))
    if any(t in types for t in (*ACHIEVEMENT_TYPES, ENDORSEMENT_TYPE)):
        return True
    # A credential that uses the OB 3.0 vocabulary but lacks its type is an OB 3.0 credential with
    # an error, and is best reported as one.
    contexts = values.as_list(credential.get("@context"))
    return "VerifiableCredential" in types and any(
        isinstance(c, str) and c.startswith(OB3_CONTEXT_PREFIX) for c in contexts)


def verify(presented: Presented, context: Context) -> VerificationResult:
    """Verify an Open Badges 3.0 credential and its embedded endorsements."""
    verified = vc.verify_credential(presented, context, format_id=FORMAT_ID, structure=structure_problems)
    credential = verified.credential
    _fill_achievement_metadata(verified.result.metadata, credential)
    items = endorsement_items(credential)
    if len(items) > MAX_ENDORSEMENTS:
        verified.result.add(too_many_check("endorsements", len(items), "endorsements", MAX_ENDORSEMENTS))
        return vc.finish(verified)
    endorsements = [vc.verify_embedded(item, context, _verify_endorsement) for item in items]
    verified.result.nested += endorsements
    verified.result.metadata.endorsements_count = len(endorsements)
    if endorsements:
        verified.result.add(_endorsements_check(endorsements))
    return vc.finish(verified)


def too_many_check(check_id: str, count: int, noun: str, limit: int) -> Check:
    """Report a credential that carries more `noun` than Wallet checks (docs/security.md A13): Couldn't verify."""
    return Check.failed(check_id, f"This credential carries {count:,} {noun}, more than the {limit:,} Wallet "
                        "checks, so it was not checked fully.", outcome=Status.UNVERIFIABLE, count=count, limit=limit)


def structure_problems(credential: dict[str, Any]) -> list[str]:
    """List what OB 3.0 requires of the credential and finds missing or mistyped, by path."""
    problems: list[str] = []
    types = values.types_of(credential.get("type"))
    is_endorsement = ENDORSEMENT_TYPE in types
    if not is_endorsement and not any(t in types for t in ACHIEVEMENT_TYPES):
        problems.append('type must include "OpenBadgeCredential" (or "AchievementCredential")')
    issuer = credential.get("issuer")
    if isinstance(issuer, dict):
        problems += profile_problems(issuer, "issuer")
    elif issuer is not None:
        problems.append('issuer must be a Profile object with an id and the type "Profile"')
    subject = credential.get("credentialSubject")
    if not isinstance(subject, dict):
        problems.append("credentialSubject must be one object")
    elif is_endorsement:
        problems += _require_type(subject, "EndorsementSubject", "credentialSubject")
        if not isinstance(subject.get("id"), str):
            problems.append("credentialSubject.id must name what is endorsed")
    else:
        problems += _achievement_subject_problems(subject)
    for i, evidence in enumerate(values.as_list(credential.get("evidence"))):
        problems += _require_type(evidence, "Evidence", f"evidence[{i}]")
    return problems


def profile_problems(profile: Any, path: str) -> list[str]:
    """List what is wrong with an OB 3.0 Profile (issuer, creator, source, parentOrg)."""
    if not isinstance(profile, dict):
        return [f'{path} must be a Profile object with an id and the type "Profile"']
    problems = _require_type(profile, "Profile", path)
    if not isinstance(profile.get("id"), str):
        problems.append(f"{path}.id is required")
    if "parentOrg" in profile:
        problems += profile_problems(profile["parentOrg"], f"{path}.parentOrg")
    for i, entry in enumerate(values.as_list(profile.get("otherIdentifier"))):
        problems += _require_type(entry, "IdentifierEntry", f"{path}.otherIdentifier[{i}]")
    if "address" in profile:
        problems += _require_type(profile["address"], "Address", f"{path}.address")
    return problems


def endorsement_items(credential: dict[str, Any]) -> list[Any]:
    """Return the embedded endorsements: of the credential, its issuer and its achievement (JSON or JWS)."""
    holders: list[Any] = [credential, credential.get("issuer")]
    subject = values.first_subject(credential)
    if subject is not None:
        achievement = subject.get("achievement")
        holders += [achievement, achievement.get("creator") if isinstance(achievement, dict) else None]
    items: list[Any] = []
    for holder in holders:
        if isinstance(holder, dict):
            items += values.as_list(holder.get("endorsement")) + values.as_list(holder.get("endorsementJwt"))
    return items


def _achievement_subject_problems(subject: dict[str, Any]) -> list[str]:
    problems = _require_type(subject, "AchievementSubject", "credentialSubject")
    # OB 3.0 §B.1.1: the subject is identified by an id, an identifier, or both.
    if not isinstance(subject.get("id"), str) and not subject.get("identifier"):
        problems.append("credentialSubject needs an id or an identifier")
    for i, identifier in enumerate(values.as_list(subject.get("identifier"))):
        path = f"credentialSubject.identifier[{i}]"
        problems += _require_type(identifier, "IdentityObject", path)
        if isinstance(identifier, dict):
            if not isinstance(identifier.get("identityHash"), str) or not isinstance(
                    identifier.get("identityType"), str):
                problems.append(f"{path} needs identityHash and identityType")
            if not isinstance(identifier.get("hashed"), bool):
                problems.append(f"{path}.hashed must be true or false")
    achievement = subject.get("achievement")
    if achievement is None:
        problems.append("credentialSubject.achievement is required")
    else:
        problems += _achievement_problems(achievement, "credentialSubject.achievement")
    for i, result in enumerate(values.as_list(subject.get("result"))):
        problems += _require_type(result, "Result", f"credentialSubject.result[{i}]")
    if "source" in subject:
        problems += profile_problems(subject["source"], "credentialSubject.source")
    return problems


def _achievement_problems(achievement: Any, path: str) -> list[str]:
    if not isinstance(achievement, dict):
        return [f'{path} must be an Achievement object']
    problems = _require_type(achievement, "Achievement", path)
    for name in ("id", "name", "description"):
        if not isinstance(achievement.get(name), str):
            problems.append(f"{path}.{name} is required")
    criteria = achievement.get("criteria")
    if not isinstance(criteria, dict) or not (criteria.get("id") or criteria.get("narrative")):
        problems.append(f"{path}.criteria needs an id or a narrative")
    for i, description in enumerate(values.as_list(achievement.get("resultDescription"))):
        problems += _require_type(description, "ResultDescription", f"{path}.resultDescription[{i}]")
    for i, alignment in enumerate(values.as_list(achievement.get("alignment"))):
        problems += _require_type(alignment, "Alignment", f"{path}.alignment[{i}]")
    if "creator" in achievement:
        problems += profile_problems(achievement["creator"], f"{path}.creator")
    return problems


def _require_type(value: Any, expected: str, path: str) -> list[str]:
    if not isinstance(value, dict):
        return [f'{path} must be an object of type "{expected}"']
    if expected not in values.types_of(value.get("type")):
        return [f'{path}.type must include "{expected}"']
    return []


def _fill_achievement_metadata(metadata: Metadata, credential: dict[str, Any]) -> None:
    subject = values.first_subject(credential) or {}
    achievement = subject.get("achievement")
    if not isinstance(achievement, dict):
        return
    # Badges often name and picture the achievement rather than the credential.
    metadata.name = metadata.name or values.text(achievement.get("name"))
    metadata.description = metadata.description or values.text(achievement.get("description"))
    metadata.image = metadata.image or values.image_url(achievement.get("image"))
    metadata.achievement_id = values.text(achievement.get("id"))
    metadata.achievement_type = values.text(achievement.get("achievementType"))
    criteria = achievement.get("criteria")
    if isinstance(criteria, dict):
        metadata.criteria_narrative = values.text(criteria.get("narrative"))
        metadata.criteria_url = values.text(criteria.get("id"))
    metadata.tags = [t for t in values.as_list(achievement.get("tag")) if isinstance(t, str)]
    alignments = values.as_list(achievement.get("alignment"))
    for description in values.as_list(achievement.get("resultDescription")):
        if isinstance(description, dict):
            alignments += values.as_list(description.get("alignment"))
    seen: set[tuple[Any, ...]] = set()
    for alignment in alignments:
        if not isinstance(alignment, dict):
            continue
        entry = {
            "name": values.text(alignment.get("targetName")),
            "url": values.text(alignment.get("targetUrl")),
            "framework": values.text(alignment.get("targetFramework")),
            "code": values.text(alignment.get("targetCode")),
            "description": values.text(alignment.get("targetDescription")),
        }
        key = tuple(entry.values())
        if key not in seen:
            seen.add(key)
            metadata.alignments.append(entry)


def _endorsements_check(endorsements: list[VerificationResult]) -> Check:
    good = sum(1 for e in endorsements if e.status is Status.VALID)
    total = len(endorsements)
    noun = "endorsement" if total == 1 else "endorsements"
    if good == total:
        return Check.passed("endorsements", f"{total} {noun} verified.", count=total)
    # An endorsement is a third party's statement: it does not change this credential's status.
    return Check.warning("endorsements", f"{total - good} of {total} {noun} could not be verified.",
                         count=total, verified=good)


def _verify_endorsement(presented: Presented, context: Context) -> VerificationResult:
    return verify(presented, context) if detect(presented) else vc.verify(presented, context)
