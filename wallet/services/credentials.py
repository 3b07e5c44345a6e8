"""The learner's credentials: list, filter, show, edit, delete and re-verify (always owner-scoped).

Every query filters by `owner_id`; another learner's id is indistinguishable from a missing one
(NotFoundError -> 404, docs/security.md F3).
"""
from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, selectinload

from wallet.db import utcnow
from wallet.models.credential import (
    TAG_LEARNER,
    Credential,
    CredentialTag,
    CredentialVersion,
)
from wallet.models.portfolio import LearnerKey
from wallet.models.user import User
from wallet.services.blobs import BlobStore
from wallet.services.errors import NotFoundError, ValidationError
from wallet.services.images import PNG, SVG
from wallet.services.results import RecordingFetch, apply_metadata, recipient_state, record_for
from wallet.services.sanitize import clean_text
from wallet.services.verification import make_context, typemetadata, verify_bytes
from wallet.services.verification.extract import OB2_KEYWORD, OB3_KEYWORD, bake_png, bake_svg
from wallet.services.verification.fetching import Fetch
from wallet.services.verification.result import Status, VerificationResult

SORTS = {
    "recent": "Recently added",
    "issued": "Date issued",
    "name": "Name",
    "issuer": "Issuer",
}
STATUSES = tuple(status.value for status in (Status.VALID, Status.REVOKED, Status.INVALID, Status.EXPIRED,
                                             Status.NOT_YET_VALID, Status.UNVERIFIABLE))
MAX_LEARNER_TAGS = 30
MAX_LEARNER_TEXT = 20_000


@dataclass(frozen=True)
class Filters:
    """What the wallet view is narrowed to; empty strings mean "any"."""

    q: str = ""
    issuer: str = ""
    tag: str = ""
    status: str = ""
    sort: str = "recent"

    @classmethod
    def from_query(cls, args: Mapping[str, str]) -> Filters:
        """Read filters from query parameters (q, issuer, tag, status, sort); unknown sorts mean "recent"."""
        sort = args.get("sort", "recent")
        return cls(q=args.get("q", "").strip()[:200], issuer=args.get("issuer", ""), tag=args.get("tag", ""),
                   status=args.get("status", ""), sort=sort if sort in SORTS else "recent")

    @property
    def active(self) -> bool:
        return bool(self.q or self.issuer or self.tag or self.status)


def list_credentials(session: Session, owner_id: int, filters: Filters = Filters()) -> list[Credential]:
    """Return the learner's credentials matching `filters`, sorted as asked."""
    query = select(Credential).where(Credential.owner_id == owner_id).options(selectinload(Credential.tags))
    query = _filtered(query, filters)
    order = {
        "issued": (Credential.issued_at.desc(), Credential.id.desc()),
        "name": (func.lower(Credential.name), Credential.id),
        "issuer": (func.lower(func.coalesce(Credential.issuer_name, Credential.issuer_id, "")), Credential.id),
    }.get(filters.sort, (Credential.imported_at.desc(), Credential.id.desc()))
    return list(session.scalars(query.order_by(*order)))


def _filtered(query: Select, filters: Filters) -> Select:
    if filters.status:
        query = query.where(Credential.status == filters.status)
    if filters.issuer:
        query = query.where(or_(Credential.issuer_id == filters.issuer, Credential.verified_issuer == filters.issuer))
    if filters.tag:
        tagged = select(CredentialTag.credential_id).where(func.lower(CredentialTag.name) == filters.tag.lower())
        query = query.where(Credential.id.in_(tagged))
    if filters.q:
        # Free text over the learner-visible fields; LIKE wildcards in the input are literal.
        pattern = "%" + filters.q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        tag_match = select(CredentialTag.credential_id).where(func.lower(CredentialTag.name).like(pattern, escape="\\"))
        query = query.where(or_(
            func.lower(Credential.name).like(pattern, escape="\\"),
            func.lower(func.coalesce(Credential.description, "")).like(pattern, escape="\\"),
            func.lower(func.coalesce(Credential.issuer_name, "")).like(pattern, escape="\\"),
            func.lower(func.coalesce(Credential.learner_description, "")).like(pattern, escape="\\"),
            Credential.id.in_(tag_match),
        ))
    return query


@dataclass(frozen=True)
class Facets:
    """The choices the wallet's filters offer: issuers, tags and statuses the learner actually has."""

    issuers: list[tuple[str, str]]  # (issuer id, label)
    tags: list[str]
    statuses: list[str]
    total: int


def facets(session: Session, owner_id: int) -> Facets:
    """Return the issuers, tags and statuses present in the learner's wallet."""
    rows = session.execute(
        select(Credential.issuer_id, Credential.issuer_name, Credential.status).where(Credential.owner_id == owner_id)
    ).all()
    issuers = {issuer_id: (name or issuer_id) for issuer_id, name, _ in rows if issuer_id}
    tags = session.scalars(
        select(CredentialTag.name).join(Credential).where(Credential.owner_id == owner_id).distinct()
    ).all()
    present = {status for _, _, status in rows}
    return Facets(
        issuers=sorted(issuers.items(), key=lambda item: item[1].lower()),
        tags=sorted(set(tags), key=str.lower),
        statuses=[s for s in STATUSES if s in present],
        total=len(rows),
    )


def get_credential(session: Session, owner_id: int, credential_id: int) -> Credential:
    """Return the learner's credential `credential_id`; NotFoundError if it is not theirs."""
    credential = session.scalar(
        select(Credential).where(Credential.id == credential_id, Credential.owner_id == owner_id)
    )
    if credential is None:
        raise NotFoundError("There is no such credential in your wallet.")
    return credential


def get_version(session: Session, owner_id: int, credential_id: int, version_id: int) -> CredentialVersion:
    """Return a version from the history of the learner's credential; NotFoundError if it is not theirs."""
    version = session.scalar(select(CredentialVersion).where(
        CredentialVersion.id == version_id, CredentialVersion.credential_id == credential_id,
        CredentialVersion.owner_id == owner_id))
    if version is None:
        raise NotFoundError("There is no such copy of this credential in your wallet.")
    return version


def update_learner_text(
    session: Session,
    owner_id: int,
    credential_id: int,
    *,
    description: str | None = None,
    reflection: str | None = None,
    tags: Sequence[str] | str | None = None,
) -> Credential:
    """Set the learner's own description, reflection and tags; None leaves a field unchanged."""
    credential = get_credential(session, owner_id, credential_id)
    if description is not None:
        credential.learner_description = _learner_text(description, "description")
    if reflection is not None:
        credential.reflection = _learner_text(reflection, "reflection")
    if tags is not None:
        names = parse_tags(tags)
        kept = [t for t in credential.tags if t.kind != TAG_LEARNER or t.name in names]
        have = {t.name for t in kept if t.kind == TAG_LEARNER}
        credential.tags = kept + [CredentialTag(kind=TAG_LEARNER, name=n) for n in names if n not in have]
    credential.updated_at = utcnow()
    session.flush()
    return credential


def _learner_text(value: str, what: str) -> str | None:
    if len(value) > MAX_LEARNER_TEXT:
        raise ValidationError(f"The {what} is too long (at most {MAX_LEARNER_TEXT:,} characters).")
    return value.strip() or None


def parse_tags(tags: Sequence[str] | str) -> list[str]:
    """Return clean, distinct tags from a comma-separated string or a list."""
    items = tags.split(",") if isinstance(tags, str) else list(tags)
    names: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise ValidationError("Tags must be text.")
        name = clean_text(item, limit=60).strip().lstrip("#")
        if name and name.lower() not in {n.lower() for n in names}:
            names.append(name)
    if len(names) > MAX_LEARNER_TAGS:
        raise ValidationError(f"Use at most {MAX_LEARNER_TAGS} tags.")
    return names


def delete_credential(session: Session, owner_id: int, credential_id: int) -> None:
    """Delete the learner's credential with its evidence and history (the blobs stay: they are shared)."""
    session.delete(get_credential(session, owner_id, credential_id))
    session.flush()


# The image a credential without a badge image of its own is baked into.
PLACEHOLDER_PNG = Path(__file__).resolve().parent.parent / "static" / "img" / "badge-placeholder.png"


def baked_image(credential: Credential, blobs: BlobStore) -> tuple[bytes, str]:
    """Return the badge image with the credential baked in (Open Badges baking), and its type.

    A credential that came baked is returned as it came; otherwise the stored badge image (or a
    plain placeholder) gets the original credential text: the JSON as received, or the compact JWS.
    """
    original = blobs.get(credential.original_sha256)
    if credential.container in ("png", "svg"):
        return original, credential.original_type
    keyword = OB2_KEYWORD if credential.format_id == "ob2" else OB3_KEYWORD
    text = original.decode("utf-8")
    image = blobs.get(credential.image_sha256) if credential.image_sha256 else None
    if image is not None and credential.image_type == SVG:
        return bake_svg(image, text, keyword), SVG
    return bake_png(image if image is not None else PLACEHOLDER_PNG.read_bytes(), text, keyword), PNG


def learner_identities(session: Session, owner_id: int) -> list[str]:
    """Return the identities the learner has proved they own: verified email addresses (F13) and
    the did:key of their wallet key, whose private half only this wallet holds."""
    user = session.get(User, owner_id)
    if user is None:
        return []
    wallet_did = session.scalar(select(LearnerKey.did).where(LearnerKey.owner_id == owner_id))
    return [*user.verified_addresses, *([wallet_did] if wallet_did else [])]


# ---------------------------------------------------------------------------------------------
# Re-verification


@dataclass
class Recheck:
    """The outcome of one re-verification."""

    credential: Credential
    result: VerificationResult
    conclusive: bool  # False: a remote resource was unreachable and the last state was kept
    previous_status: str


@dataclass(frozen=True)
class Reverified:
    """A fresh verification of a stored original, not yet recorded on its credential."""

    result: VerificationResult
    bodies: dict[str, bytes]  # every document it fetched, by sha256, to store verbatim
    unreachable: bool  # a remote resource could not be fetched


def verify_stored(original: bytes, *, content_type: str | None, filename: str | None, source_url: str | None,
                  fetch: Fetch, recipients: Sequence[str]) -> Reverified:
    """Verify a stored original again; touches no database (re-check sweeps run it on worker threads)."""
    recorder = RecordingFetch(fetch)
    context = make_context(recorder, recipients=recipients)
    result = verify_bytes(original, content_type=content_type, filename=filename, context=context,
                          source_url=source_url)
    return Reverified(result, dict(recorder.bodies), bool(recorder.unreachable))


def record_recheck(session: Session, credential: Credential, reverified: Reverified, *, blobs: BlobStore,
                   trigger: str) -> Recheck:
    """Record a re-verification on its credential: the new state, or the last one kept if unreachable.

    docs/reliability.md §5 / ASVS 16.5.2: when an issuer resource cannot be reached and the new result is
    only "couldn't verify", the last state stays and is marked "could not re-check at TIME";
    revocation, expiry and signature failures do change it. The caller flushes and commits.
    """
    result = reverified.result
    previous_status = credential.status
    for body in reverified.bodies.values():
        blobs.put(body)
    unreachable = reverified.unreachable and result.status in (Status.UNVERIFIABLE, Status.ERROR)
    keep_last = unreachable and credential.status != str(result.status)
    # Added beside the history, not appended to it: a loaded history takes the record in memory too,
    # and one not loaded is not read from the database only to be added to.
    record = record_for(result, trigger=trigger, conclusive=not keep_last)
    record.credential = credential
    session.add(record)
    if keep_last:
        credential.recheck_failed_at = result.checked_at
    else:
        credential.status = str(result.status)
        credential.checked_at = result.checked_at
        credential.recheck_failed_at = None
        credential.recipient_state = recipient_state(result)
        if result.format is not None and result.status not in (Status.ERROR, Status.NO_CREDENTIAL):
            apply_metadata(credential, result)
        # The history shows each version with the state it had when it was last checked as the current one.
        current = credential.current_version
        if current is not None:
            current.status = credential.status
    return Recheck(credential, result, conclusive=not keep_last, previous_status=previous_status)


def reverify_credential(
    session: Session,
    owner_id: int,
    credential_id: int,
    *,
    fetch: Fetch,
    blobs: BlobStore,
    trigger: str = "manual",
    recipients: Sequence[str] | None = None,
) -> Recheck:
    """Verify the stored original of the current version again and record the result (see record_recheck)."""
    credential = get_credential(session, owner_id, credential_id)
    if recipients is None:
        recipients = learner_identities(session, owner_id)
    reverified = verify_stored(blobs.get(credential.original_sha256), content_type=credential.original_type,
                               filename=credential.original_filename, source_url=credential.source_url,
                               fetch=fetch, recipients=recipients)
    recheck = record_recheck(session, credential, reverified, blobs=blobs, trigger=trigger)
    session.flush()
    return recheck


def stale_credentials(session: Session, stale_after: timedelta, now: datetime | None = None) -> list[tuple[int, int]]:
    """Return (owner id, credential id) of every credential last checked more than `stale_after` ago."""
    cutoff = (now or datetime.now(timezone.utc)) - stale_after
    last_attempt = func.coalesce(Credential.recheck_failed_at, Credential.checked_at)
    rows = session.execute(
        select(Credential.owner_id, Credential.id).where(last_attempt <= cutoff).order_by(Credential.checked_at)
    ).all()
    return [(owner_id, credential_id) for owner_id, credential_id in rows]


def reverify_stale(
    session: Session, *, stale_after: timedelta, fetch: Fetch, blobs: BlobStore, now: datetime | None = None
) -> Iterator[Recheck]:
    """Re-verify every stale credential, yielding each outcome (the caller commits as it goes)."""
    identities: dict[int, list[str]] = {}
    for owner_id, credential_id in stale_credentials(session, stale_after, now):
        if owner_id not in identities:
            identities[owner_id] = learner_identities(session, owner_id)
        yield reverify_credential(session, owner_id, credential_id, fetch=fetch, blobs=blobs,
                                  trigger="scheduled", recipients=identities[owner_id])


# ---------------------------------------------------------------------------------------------
# Claims of an SD-JWT VC


@dataclass(frozen=True)
class ClaimRow:
    """One claim as shown: its label in the reader's language, its value as text, and whether it was disclosed."""

    label: str
    value: str
    disclosed: bool


def claim_rows(credential: Credential, languages: Sequence[str]) -> list[ClaimRow]:
    """Return the claims an SD-JWT VC states, labelled in the first of `languages` the issuer describes."""
    rows: list[ClaimRow] = []
    for entry in (credential.details or {}).get("claims") or []:
        if not isinstance(entry, dict):
            continue
        value = entry.get("value")
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        rows.append(ClaimRow(clean_text(typemetadata.label_for(entry, languages), limit=200) or "Claim",
                             clean_text(text, limit=2000) or "", bool(entry.get("disclosed"))))
    return rows


def type_name(credential: Credential, languages: Sequence[str]) -> str | None:
    """Return the credential type's name from its type metadata in the first of `languages` it has."""
    display = typemetadata.pick_language((credential.details or {}).get("type_display") or {}, languages)
    name = display.get("name") if isinstance(display, dict) else None
    return clean_text(name, limit=300) or None if isinstance(name, str) else None

