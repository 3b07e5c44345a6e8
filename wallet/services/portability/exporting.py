"""Write a learner's whole wallet as one ZIP (docs/export-format.md).

The archive holds `manifest.json` and every file under `blobs/<sha256>`, each once. Nothing is
held in memory for the whole wallet: credentials are read in batches from one database snapshot,
blobs are copied in chunks, and the manifest's entries are spooled to a temporary file on disk
and copied into the archive last.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from wallet.db import utcnow
from wallet.models.credential import TAG_LEARNER, Credential, CredentialVersion, Evidence
from wallet.models.pathway import Pathway
from wallet.models.portfolio import CredentialShare, Portfolio, PublicProfile
from wallet.models.user import User
from wallet.services import pathways as pathway_service
from wallet.services.blobs import BlobStore, sha256_hex
from wallet.services.errors import NotFoundError
from wallet.services.portability.manifest import BLOB_PREFIX, FORMAT_NAME, FORMAT_VERSION, MANIFEST_NAME

BATCH = 100
CHUNK = 1024 * 1024
# Blobs are compressed only when they are text-like; pictures and PDFs are already compressed.
_STORED_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf")

Progress = Callable[[int, int], None]


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _software() -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return {"name": "wallet", "version": version("wallet")}
    except PackageNotFoundError:
        return {"name": "wallet", "version": None}


@contextmanager
def snapshot(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Yield a read-only session on one consistent snapshot (PostgreSQL REPEATABLE READ; SQLite WAL read)."""
    session = factory()
    try:
        if session.get_bind().dialect.name == "postgresql":
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        yield session
    finally:
        session.rollback()
        session.close()


def count_items(session: Session, owner_id: int) -> int:
    """Return how many entries (credentials, pathways, portfolios) an export of the wallet has."""
    return sum(session.scalar(select(func.count()).select_from(model).where(model.owner_id == owner_id)) or 0
               for model in (Credential, Pathway, Portfolio))


class _Archive:
    """The ZIP being written: each blob once, its name the sha256 of its bytes."""

    def __init__(self, out: IO[bytes], blobs: BlobStore) -> None:
        self.zip = zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True)
        self.store = blobs
        self.sizes: dict[str, int] = {}
        self.missing: set[str] = set()

    def add_blob(self, digest: str | None, content_type: str | None = None) -> bool:
        """Copy a stored blob into the archive (once); False if the store does not have it."""
        if not digest:
            return False
        if digest in self.sizes:
            return True
        try:
            path = self.store.path(digest)
            size = path.stat().st_size
        except (NotFoundError, OSError):
            self.missing.add(digest)
            return False
        stored = content_type in _STORED_TYPES
        info = zipfile.ZipInfo(BLOB_PREFIX + digest, date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        with open(path, "rb") as source, self.zip.open(info, "w", force_zip64=size > 2**31) as target:
            shutil.copyfileobj(source, target, CHUNK)
        self.sizes[digest] = size
        return True

    def add_generated(self, data: bytes) -> str:
        """Put bytes made for the export (a verification history) into the archive, named by their sha256."""
        digest = sha256_hex(data)
        if digest not in self.sizes:
            self.zip.writestr(BLOB_PREFIX + digest, data, compress_type=zipfile.ZIP_DEFLATED)
            self.sizes[digest] = len(data)
        return digest


def write_export(session: Session, owner_id: int, blobs: BlobStore, out: IO[bytes], *,
                 progress: Progress | None = None, scratch_dir: str | os.PathLike[str] | None = None) -> None:
    """Write the learner's wallet as a ZIP to `out` (a file open for binary writing).

    `progress(done, total)` is called after each entry. Raises NotFoundError for an unknown owner.
    """
    user = session.get(User, owner_id)
    if user is None:
        raise NotFoundError("There is no such account.")
    total = count_items(session, owner_id)
    done = 0
    archive = _Archive(out, blobs)
    with tempfile.TemporaryFile(dir=scratch_dir) as spool:
        def emit(text: str) -> None:
            spool.write(text.encode("utf-8"))

        def step() -> None:
            nonlocal done
            done += 1
            if progress is not None:
                progress(done, total)

        header = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "exported_at": utcnow().isoformat(),
                  "software": _software(), "account": _account(session, user)}
        emit(json.dumps(header, ensure_ascii=False)[:-1])
        emit(', "credentials": [')
        for index, (credential, share) in enumerate(_credentials(session, owner_id)):
            emit(("," if index else "") + json.dumps(_credential_entry(credential, share, archive), ensure_ascii=False))
            step()
        emit('], "pathways": [')
        query = select(Pathway).where(Pathway.owner_id == owner_id).order_by(Pathway.id)
        for index, pathway in enumerate(session.scalars(query)):
            emit(("," if index else "") + json.dumps(_pathway_entry(pathway), ensure_ascii=False))
            step()
        emit('], "portfolios": [')
        query = (select(Portfolio).where(Portfolio.owner_id == owner_id).order_by(Portfolio.id)
                 .options(selectinload(Portfolio.items)))
        for index, portfolio in enumerate(session.scalars(query)):
            emit(("," if index else "") + json.dumps(_portfolio_entry(portfolio, archive), ensure_ascii=False))
            step()
        blob_list = [{"sha256": digest, "size": size} for digest, size in sorted(archive.sizes.items())]
        emit('], "blobs": ' + json.dumps(blob_list))
        emit(', "missing_blobs": ' + json.dumps(sorted(archive.missing)) + "}")
        spool.seek(0)
        info = zipfile.ZipInfo(MANIFEST_NAME, date_time=utcnow().timetuple()[:6])
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        with archive.zip.open(info, "w", force_zip64=True) as target:
            shutil.copyfileobj(spool, target, CHUNK)
    archive.zip.close()


def _account(session: Session, user: User) -> dict[str, Any]:
    # For the learner's record only: an import never changes the account it goes into.
    handle = session.scalar(select(PublicProfile.handle).where(PublicProfile.owner_id == user.id))
    return {"display_name": user.display_name, "created_at": _iso(user.created_at), "public_handle": handle,
            "emails": [{"address": e.address, "verified": e.is_verified, "primary": e.is_primary} for e in user.emails]}


def _credentials(session: Session, owner_id: int) -> Iterator[tuple[Credential, CredentialShare | None]]:
    """Yield the learner's credentials (with their share link) in id order, a batch at a time."""
    last = 0
    while True:
        batch = list(session.scalars(
            select(Credential).where(Credential.owner_id == owner_id, Credential.id > last)
            .order_by(Credential.id).limit(BATCH)
            .options(selectinload(Credential.tags), selectinload(Credential.evidence),
                     selectinload(Credential.verifications), selectinload(Credential.versions))))
        if not batch:
            return
        shares = {s.credential_id: s for s in session.scalars(
            select(CredentialShare).where(CredentialShare.credential_id.in_([c.id for c in batch])))}
        for credential in batch:
            yield credential, shares.get(credential.id)
        last = batch[-1].id
        # Done with this batch: forget it, so memory does not grow with the wallet.
        session.expunge_all()
        del batch, shares


def _credential_entry(credential: Credential, share: CredentialShare | None, archive: _Archive) -> dict[str, Any]:
    archive.add_blob(credential.original_sha256, credential.original_type)
    image = None
    if credential.image_sha256 and archive.add_blob(credential.image_sha256, credential.image_type):
        image = {"sha256": credential.image_sha256, "type": credential.image_type}
    documents: dict[str, dict[str, Any]] = {}
    history = []
    for record in sorted(credential.verifications, key=lambda r: (r.checked_at, r.id)):
        history.append({"checked_at": _iso(record.checked_at), "status": record.status,
                        "conclusive": record.conclusive, "trigger": record.trigger, "report": record.report})
        for document in (record.report or {}).get("documents") or []:
            digest = document.get("sha256") if isinstance(document, dict) else None
            if isinstance(digest, str) and digest not in documents \
                    and archive.add_blob(digest, document.get("content_type")):
                documents[digest] = {key: document.get(key) for key in ("url", "sha256", "content_type", "role")}
    history_sha = archive.add_generated(json.dumps(history, sort_keys=True, ensure_ascii=False).encode("utf-8"))
    return {
        "id": credential.id,
        "original": {"sha256": credential.original_sha256, "type": credential.original_type,
                     "filename": credential.original_filename},
        "source_url": credential.source_url,
        "format": credential.format_id,
        "name": credential.name,
        "issuer_id": credential.issuer_id,
        "status": credential.status,
        "checked_at": _iso(credential.checked_at),
        "imported_at": _iso(credential.imported_at),
        "image": image,
        "documents": list(documents.values()),
        "verification_history": {"sha256": history_sha, "type": "application/json"},
        "learner": {"description": credential.learner_description, "reflection": credential.reflection,
                    "tags": [t.name for t in credential.tags if t.kind == TAG_LEARNER]},
        "evidence": [_evidence_entry(e, archive) for e in credential.evidence],
        "earlier_copies": [_earlier_copy(v, archive) for v in sorted(credential.versions, key=lambda v: v.id)
                           if v.replaced_at is not None],
        "share": None if share is None else {
            "include_evidence": share.include_evidence, "show_originals": share.show_originals,
            "expires_at": _iso(share.expires_at), "active": share.revoked_at is None},
    }


def _earlier_copy(version: CredentialVersion, archive: _Archive) -> dict[str, Any]:
    # A copy a later one replaced (docs/importing.md): kept byte for byte like the current original.
    archive.add_blob(version.original_sha256, version.original_type)
    return {"original": {"sha256": version.original_sha256, "type": version.original_type,
                         "filename": version.original_filename},
            "source_url": version.source_url, "status": version.status,
            "imported_at": _iso(version.imported_at), "replaced_at": _iso(version.replaced_at)}


def _evidence_entry(evidence: Evidence, archive: _Archive) -> dict[str, Any]:
    file = None
    if evidence.file_sha256 and archive.add_blob(evidence.file_sha256, evidence.content_type):
        file = {"sha256": evidence.file_sha256, "filename": evidence.filename, "type": evidence.content_type,
                "size": evidence.size}
    return {"kind": evidence.kind, "title": evidence.title, "text": evidence.text, "url": evidence.url,
            "file": file, "created_at": _iso(evidence.created_at)}


def _pathway_entry(pathway: Pathway) -> dict[str, Any]:
    return {"id": pathway.id, "source_template": pathway.source_template, "created_at": _iso(pathway.created_at),
            "template": pathway_service.export_document(pathway)}


# Copied as they are; a new portfolio setting is exported by naming it here (and read in importing.py).
PORTFOLIO_FIELDS = ("title", "headline", "about", "visibility", "show_contact", "contact_email", "contact_url",
                    "show_originals")


def _portfolio_entry(portfolio: Portfolio, archive: _Archive) -> dict[str, Any]:
    entry: dict[str, Any] = {name: getattr(portfolio, name) for name in PORTFOLIO_FIELDS}
    photo = None
    if portfolio.photo_sha256 and archive.add_blob(portfolio.photo_sha256, "image/png"):
        photo = {"sha256": portfolio.photo_sha256, "type": "image/png"}
    entry.update(photo=photo, created_at=_iso(portfolio.created_at), items=[
        {"credential": item.credential_id, "include_evidence": item.include_evidence}
        if item.credential_id is not None else {"pathway": item.pathway_id}
        for item in portfolio.items])
    return entry


def export_filename(when: datetime | None = None) -> str:
    """Return the download name of an export: wallet-export-YYYY-MM-DD.zip."""
    return f"wallet-export-{(when or utcnow()).strftime('%Y-%m-%d')}.zip"


def write_export_file(factory: sessionmaker[Session], owner_id: int, blobs: BlobStore, target: Path, *,
                      progress: Progress | None = None) -> None:
    """Write the export to `target` atomically (a temporary file beside it, renamed when whole)."""
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        with snapshot(factory) as session, open(tmp, "wb") as out:
            write_export(session, owner_id, blobs, out, progress=progress, scratch_dir=target.parent)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
