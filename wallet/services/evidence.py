"""The learner's evidence for a credential: text, links and files, in the order the learner chooses.

docs/security.md A18, C9-C11, E3: links must be http(s) and are never fetched by the server; files are
checked by their bytes against an allowlist, stored content-addressed, and served with the type
that was detected (never HTML), `nosniff` and a sandboxing CSP. The bytes of a learner's files
are capped, each distinct file counted once, inside the transaction that adds one.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wallet.formatting import describe_size
from wallet.models.credential import EVIDENCE_FILE, EVIDENCE_LINK, EVIDENCE_TEXT, Evidence
from wallet.services.accounts import lock_owner
from wallet.services.blobs import BlobStore, sha256_hex
from wallet.services.credentials import get_credential
from wallet.services.errors import NotFoundError, QuotaExceededError, TooLargeError, ValidationError
from wallet.services.images import sniff_image_type
from wallet.services.sanitize import clean_text, safe_filename, safe_url

MAX_ITEMS_PER_CREDENTIAL = 50
MAX_TEXT = 20_000
DEFAULT_MAX_FILE_BYTES = 10 * 1024 * 1024
# What an evidence file may be, by its bytes: documents and pictures that browsers show safely.
FILE_TYPES = {
    "application/pdf": "PDF document",
    "image/png": "PNG image",
    "image/jpeg": "JPEG image",
    "image/gif": "GIF image",
    "image/webp": "WebP image",
    "text/plain": "text file",
}
_BINARY_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
# C10: whatever a file holds, it cannot run script or load anything when opened from Wallet.
FILE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
    "X-Content-Type-Options": "nosniff",
}


@dataclass(frozen=True)
class EvidenceFile:
    """An evidence file ready to send: its bytes, type and a safe download name."""

    data: bytes
    content_type: str
    filename: str
    inline: bool


def sniff_file_type(data: bytes) -> str | None:
    """Return the allowed evidence type that `data` is, judged by its bytes, or None."""
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    image = sniff_image_type(data)
    if image in FILE_TYPES:
        return image
    if image is not None:
        return None  # SVG can carry script: not accepted as evidence
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    head = text[:1024].lstrip().lower()
    if _BINARY_CONTROL.search(text) or head.startswith(("<!doctype", "<html", "<?xml", "<svg", "<script")):
        return None  # control bytes mean a binary format (an archive, an executable) that decodes by chance
    return "text/plain"


def add_text(session: Session, owner_id: int, credential_id: int, *, title: str, text: str) -> Evidence:
    """Add a piece of the learner's own writing (Markdown) as evidence."""
    if not text or not text.strip():
        raise ValidationError("Write something for this evidence.")
    if len(text) > MAX_TEXT:
        raise ValidationError(f"The text is too long (at most {MAX_TEXT:,} characters).")
    return _add(session, owner_id, credential_id, Evidence(kind=EVIDENCE_TEXT, title=_title(title, "Notes"),
                                                           text=text.strip()))


def add_link(session: Session, owner_id: int, credential_id: int, *, url: str, title: str = "") -> Evidence:
    """Add a link to the learner's work; only http(s) links are accepted, and they are never fetched."""
    href = safe_url(url)
    if href is None:
        raise ValidationError("Enter a web address that starts with https:// or http://.")
    return _add(session, owner_id, credential_id, Evidence(kind=EVIDENCE_LINK, title=_title(title, href), url=href))


def add_file(
    session: Session,
    owner_id: int,
    credential_id: int,
    *,
    filename: str,
    data: bytes,
    blobs: BlobStore,
    title: str = "",
    max_bytes: int = DEFAULT_MAX_FILE_BYTES,
    max_total_bytes: int | None = None,
) -> Evidence:
    """Add a file (PDF, picture or plain text, judged by its bytes) as evidence.

    `max_total_bytes` caps the learner's evidence files together (C11): QuotaExceededError when
    this file does not fit. The caller commits, which ends the lock the check takes.
    """
    if not data:
        raise ValidationError("Choose a file to upload.")
    if len(data) > max_bytes:
        raise TooLargeError(f"The file is larger than {describe_size(max_bytes)}.")
    content_type = sniff_file_type(data)
    if content_type is None:
        allowed = ", ".join(sorted(set(FILE_TYPES.values())))
        raise ValidationError(f"That kind of file can't be added as evidence. Allowed: {allowed}.")
    get_credential(session, owner_id, credential_id)  # refuse before writing anything
    if max_total_bytes is not None:
        lock_owner(session, owner_id)
        _ensure_room(session, owner_id, sha256_hex(data), len(data), max_total_bytes)
    name = safe_filename(filename, default="evidence")
    evidence = Evidence(kind=EVIDENCE_FILE, title=_title(title, name), filename=name, content_type=content_type,
                        size=len(data), file_sha256=blobs.put(data))
    return _add(session, owner_id, credential_id, evidence)


def evidence_bytes(session: Session, owner_id: int) -> int:
    """Return the bytes the learner's evidence files take, each distinct file counted once."""
    files = (select(Evidence.file_sha256, func.max(Evidence.size).label("size"))
             .where(Evidence.owner_id == owner_id, Evidence.kind == EVIDENCE_FILE)
             .group_by(Evidence.file_sha256).subquery())
    return int(session.scalar(select(func.coalesce(func.sum(files.c.size), 0))) or 0)


def _ensure_room(session: Session, owner_id: int, digest: str, size: int, limit: int) -> None:
    # The store keeps a file once, so one the learner already has takes no more room (C11 dedupe).
    held = session.scalar(select(Evidence.id).where(
        Evidence.owner_id == owner_id, Evidence.kind == EVIDENCE_FILE, Evidence.file_sha256 == digest).limit(1))
    if held is not None:
        return
    used = evidence_bytes(session, owner_id)
    if used + size <= limit:
        return
    if used >= limit:
        situation = f"Your evidence files fill the {describe_size(limit)} your wallet has for them."
    else:
        situation = (f"This file is {describe_size(size)}, but only {describe_size(limit - used)} of the "
                     f"{describe_size(limit)} your wallet has for evidence files is left.")
    raise QuotaExceededError(f"{situation} Remove evidence files you no longer need to make room.")


def _add(session: Session, owner_id: int, credential_id: int, evidence: Evidence) -> Evidence:
    credential = get_credential(session, owner_id, credential_id)
    if len(credential.evidence) >= MAX_ITEMS_PER_CREDENTIAL:
        raise ValidationError(f"A credential can have at most {MAX_ITEMS_PER_CREDENTIAL} evidence items.")
    last = session.scalar(select(func.max(Evidence.position)).where(Evidence.credential_id == credential.id))
    evidence.owner_id = owner_id
    evidence.position = (last or 0) + 1
    credential.evidence.append(evidence)
    session.flush()
    return evidence


def _title(title: str | None, fallback: str) -> str:
    return clean_text(title, limit=200) or clean_text(fallback, limit=200)


def get_evidence(session: Session, owner_id: int, credential_id: int, evidence_id: int) -> Evidence:
    """Return the learner's evidence item; NotFoundError if it is not theirs or not on that credential."""
    evidence = session.scalar(select(Evidence).where(
        Evidence.id == evidence_id, Evidence.credential_id == credential_id, Evidence.owner_id == owner_id))
    if evidence is None:
        raise NotFoundError("There is no such evidence.")
    return evidence


def remove_evidence(session: Session, owner_id: int, credential_id: int, evidence_id: int) -> None:
    """Remove an evidence item (its file stays in the store, which may share it)."""
    evidence = get_evidence(session, owner_id, credential_id, evidence_id)
    evidence.credential.evidence.remove(evidence)  # delete-orphan: the row goes at flush
    session.flush()


def reorder_evidence(session: Session, owner_id: int, credential_id: int, order: Sequence[int]) -> list[Evidence]:
    """Put the credential's evidence in the given order of ids (which must be exactly its items)."""
    credential = get_credential(session, owner_id, credential_id)
    items = {e.id: e for e in credential.evidence}
    try:
        wanted = [int(i) for i in order]
    except (TypeError, ValueError):
        raise ValidationError("The new order must list evidence ids.") from None
    if sorted(wanted) != sorted(items):
        raise ValidationError("The new order must list each evidence item of this credential once.")
    for position, evidence_id in enumerate(wanted, start=1):
        items[evidence_id].position = position
    session.flush()
    session.refresh(credential, ["evidence"])
    return list(credential.evidence)


def move_evidence(session: Session, owner_id: int, credential_id: int, evidence_id: int, direction: str) -> None:
    """Move an evidence item one place "up" or "down"."""
    credential = get_credential(session, owner_id, credential_id)
    ids = [e.id for e in credential.evidence]
    if evidence_id not in ids:
        raise NotFoundError("There is no such evidence.")
    if direction not in ("up", "down"):
        raise ValidationError('Move evidence "up" or "down".')
    index = ids.index(evidence_id)
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(ids):
        ids[index], ids[other] = ids[other], ids[index]
    reorder_evidence(session, owner_id, credential_id, ids)


def evidence_file(session: Session, owner_id: int, credential_id: int, evidence_id: int,
                  blobs: BlobStore) -> EvidenceFile:
    """Return the stored file of an evidence item, with its detected type and a safe name."""
    evidence = get_evidence(session, owner_id, credential_id, evidence_id)
    if evidence.kind != EVIDENCE_FILE or not evidence.file_sha256:
        raise NotFoundError("This evidence has no file.")
    content_type = evidence.content_type or "application/octet-stream"
    return EvidenceFile(blobs.get(evidence.file_sha256), content_type, evidence.filename or "evidence",
                        inline=content_type in INLINE_TYPES)
