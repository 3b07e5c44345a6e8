"""Import a wallet export (docs/export-format.md) into an account: the ZIP is untrusted input.

docs/security.md C12: the archive's size and entry count are checked before anything is read; only
`manifest.json` and `blobs/<sha256>` entries are read (every other path is ignored, never used
to name a file); links, encrypted entries and suspicious compression refuse the whole archive;
each blob is read up to a cap and must hash to its name. The manifest is validated (manifest.py).

Every credential goes through the normal import (services/importing.py) with its original bytes,
so it is verified again here and now, fetching live through the guarded fetcher; the documents
the export kept stay the export's record. Importing into an account that already holds things
merges: what is already there (the same credential, evidence, pathway or portfolio) is left as it
is, so importing the same export twice adds nothing.
"""
from __future__ import annotations

import stat
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from wallet.db import utcnow
from wallet.formatting import describe_size
from wallet.models.credential import RECIPIENT_MISMATCH, Credential, CredentialVersion
from wallet.models.pathway import Pathway
from wallet.models.portfolio import CredentialShare, Portfolio
from wallet.services import credentials as credential_service
from wallet.services import evidence as evidence_service
from wallet.services import images, importing
from wallet.services import pathway_rules as rules
from wallet.services import pathways as pathway_service
from wallet.services import portfolios as portfolio_service
from wallet.services.blobs import sha256_hex
from wallet.services.errors import ImportRejectedError, QuotaExceededError, TooLargeError, WalletError
from wallet.services.portability.manifest import BLOB_PREFIX, MANIFEST_NAME, SHA256, parse_manifest
from wallet.services.sanitize import safe_url
from wallet.services.verification.result import Status

# C12: what an export may hold before it is opened at all.
MAX_ENTRIES = 200_000
MAX_MANIFEST_BYTES = 64 * 1024 * 1024
DEFAULT_MAX_TOTAL_BYTES = 4 * 1024 * 1024 * 1024
MAX_RATIO = 200  # uncompressed / compressed, for entries over 1 MB


@dataclass(frozen=True)
class Limits:
    """What the receiving wallet allows (from its config)."""

    max_credentials: int | None = None
    max_evidence_bytes: int | None = None
    max_file_bytes: int = importing.DEFAULT_MAX_FILE_BYTES
    max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES


@dataclass
class Refusal:
    """One item of the export that was not restored, and why."""

    item: str  # a JSON path into the manifest, e.g. "$.credentials[3]"
    name: str
    error: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"item": self.item, "name": self.name, "error": self.error, "message": self.message}


_KINDS = ("credentials", "evidence", "pathways", "portfolios", "share_links")


@dataclass
class ImportReport:
    """What an import restored, what was already in the wallet, and every item refused."""

    restored: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_KINDS, 0))
    unchanged: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_KINDS, 0))
    refused: list[Refusal] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    ignored_entries: int = 0

    def refuse(self, item: str, name: str | None, error: WalletError | str, message: str | None = None) -> None:
        code = error if isinstance(error, str) else type(error).__name__.removesuffix("Error") or "Error"
        self.refused.append(Refusal(item, (name or "")[:200], code, message or str(error)))

    def to_dict(self) -> dict[str, Any]:
        return {"restored": dict(self.restored), "unchanged": dict(self.unchanged),
                "refused": [r.to_dict() for r in self.refused], "notes": list(self.notes),
                "ignored_entries": self.ignored_entries}


class ExportArchive:
    """An export ZIP opened within bounds (C12); blobs are read by sha256 only."""

    def __init__(self, file: IO[bytes], limits: Limits) -> None:
        self.limits = limits
        try:
            self.zip = zipfile.ZipFile(file)
            members = self.zip.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError):
            raise ImportRejectedError("This is not a Wallet export: the file is not a readable ZIP file.") from None
        if len(members) > MAX_ENTRIES:
            raise ImportRejectedError(f"The export holds more than {MAX_ENTRIES:,} files; it was not opened.")
        self.members: dict[str, zipfile.ZipInfo] = {}
        total = 0
        self.ignored = 0
        for member in members:
            name = member.filename
            wanted = name == MANIFEST_NAME or (name.startswith(BLOB_PREFIX)
                                               and SHA256.fullmatch(name[len(BLOB_PREFIX):]) is not None)
            if not wanted:
                self.ignored += 1  # paths are never used: an entry not named by a sha256 is not read
                continue
            if name in self.members:
                raise ImportRejectedError(f"The export holds {name} twice; it was not opened.")
            if stat.S_ISLNK(member.external_attr >> 16):
                raise ImportRejectedError("The export holds a link (symlink); it was not opened.")
            if member.flag_bits & 0x1:
                raise ImportRejectedError("The export holds encrypted files; it was not opened.")
            if member.file_size > 1024 * 1024 and member.file_size > MAX_RATIO * max(member.compress_size, 1):
                raise ImportRejectedError("The export holds a file that is compressed suspiciously well "
                                          "(a ZIP bomb?); it was not opened.")
            total += member.file_size
            self.members[name] = member
        if total > limits.max_total_bytes:
            raise TooLargeError(f"The export unpacks to more than {describe_size(limits.max_total_bytes)}.")
        if MANIFEST_NAME not in self.members:
            raise ImportRejectedError("This is not a Wallet export: it has no manifest.json.")
        self.manifest = parse_manifest(self._read(self.members[MANIFEST_NAME], MAX_MANIFEST_BYTES, "manifest.json"))

    def _read(self, member: zipfile.ZipInfo, limit: int, label: str) -> bytes:
        if member.file_size > limit:
            raise TooLargeError(f"{label} is larger than {describe_size(limit)}.")
        try:
            with self.zip.open(member) as handle:
                data = handle.read(limit + 1)  # the header's size may lie (zip bomb)
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError):
            raise ImportRejectedError(f"{label} is damaged in the export.") from None
        if len(data) > limit:
            raise TooLargeError(f"{label} is larger than {describe_size(limit)}.")
        return data

    def blob(self, digest: str, limit: int | None = None) -> bytes:
        """Return the bytes of blobs/<digest>, checked against their name; raise ImportRejectedError."""
        member = self.members.get(BLOB_PREFIX + digest)
        if member is None:
            raise ImportRejectedError(f"The file {digest[:12]}… is missing from the export.")
        data = self._read(member, limit or self.limits.max_file_bytes, f"The file {digest[:12]}…")
        if sha256_hex(data) != digest:
            raise ImportRejectedError(f"The file {digest[:12]}… does not match its sha256 name: it was altered.")
        return data

    def close(self) -> None:
        self.zip.close()


Progress = Callable[[int, int], None]


@dataclass
class _Run:
    session: Session
    importer: importing.Importer
    archive: ExportArchive
    limits: Limits
    report: ImportReport
    checkpoint: Callable[[], None]
    credentials: dict[int, int] = field(default_factory=dict)  # export id -> new id
    credential_names: dict[int, str] = field(default_factory=dict)
    pathways: dict[int, int] = field(default_factory=dict)

    @property
    def owner_id(self) -> int:
        return self.importer.owner_id


def import_export(session: Session, importer: importing.Importer, file: IO[bytes], *, limits: Limits,
                  checkpoint: Callable[[], None] | None = None, progress: Progress | None = None) -> ImportReport:
    """Restore a wallet export into the importer's account and report what happened to each item.

    The archive as a whole is refused (ImportRejectedError, QuotaExceededError, RateLimitedError)
    before anything is written; after that, one bad item is refused in the report and the rest go
    on. `checkpoint()` is called whenever what was written so far is whole: the caller commits
    there. The whole import counts as one import against the learner's rate; its credentials do not.
    """
    importing.check_import_rate(importer)
    archive = ExportArchive(file, limits)
    try:
        manifest = archive.manifest
        count = len(manifest["credentials"])
        if limits.max_credentials is not None and count > limits.max_credentials:
            raise QuotaExceededError(f"The export holds {count:,} credentials; a wallet here may hold at most "
                                     f"{limits.max_credentials:,}.")
        if importer.rate is not None:
            importer.rate.take(str(importer.owner_id))  # the whole export is one import (A19)
        run = _Run(session, _without_rate(importer), archive, limits, ImportReport(), checkpoint or (lambda: None))
        run.report.ignored_entries = archive.ignored
        total = count + len(manifest["pathways"]) + len(manifest["portfolios"])
        done = 0
        # In this order: pathway rules and portfolio items name credentials by their new ids.
        for kind, restore in (("credentials", _restore_credential), ("pathways", _restore_pathway),
                              ("portfolios", _restore_portfolio)):
            for index, entry in enumerate(manifest[kind]):
                restore(run, f"$.{kind}[{index}]", entry)
                run.checkpoint()
                done += 1
                if progress:
                    progress(done, total)
        return run.report
    finally:
        archive.close()


def _without_rate(importer: importing.Importer) -> importing.Importer:
    return importing.Importer(fetch=importer.fetch, blobs=importer.blobs, owner_id=importer.owner_id,
                              recipients=importer.recipients, max_file_bytes=importer.max_file_bytes,
                              rate=None, max_credentials=importer.max_credentials)


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


# ---------------------------------------------------------------------------------------------
# Credentials, with the learner's words, evidence and share link


def _restore_credential(run: _Run, path: str, entry: dict[str, Any]) -> None:
    name = entry.get("name") or entry["original"].get("filename") or "credential"
    run.credential_names[entry["id"]] = name
    original = entry["original"]
    try:
        data = run.archive.blob(original["sha256"], run.importer.max_file_bytes)
        upload = importing.Upload(original.get("filename") or "credential", data, original.get("type"))
        item = importing.import_upload(run.session, run.importer, upload)
    except WalletError as error:
        run.report.refuse(path, name, error)
        return
    credential = item.credential
    assert credential is not None
    run.credentials[entry["id"]] = credential.id
    if item.created:
        run.report.restored["credentials"] += 1
        credential.original_filename = original.get("filename")
        credential.source_url = credential.source_url or entry.get("source_url")
        credential.imported_at = _parse_time(entry.get("imported_at")) or credential.imported_at
        _restore_image(run, path, credential, entry.get("image"))
        for position, copy in enumerate(entry.get("earlier_copies") or []):
            _restore_earlier_copy(run, f"{path}.earlier_copies[{position}]", credential, copy)
    else:
        run.report.unchanged["credentials"] += 1
    _restore_learner_text(run, path, name, credential, entry.get("learner") or {})
    for position, evidence in enumerate(entry.get("evidence") or []):
        _restore_evidence(run, f"{path}.evidence[{position}]", name, credential, evidence)
    _restore_share(run, credential, entry.get("share"))


def _restore_earlier_copy(run: _Run, path: str, credential: Credential, copy: dict[str, Any]) -> None:
    # A copy that a later one replaced goes back into the credential's history as it was recorded
    # (docs/importing.md); it is never made current again.
    original = copy["original"]
    try:
        data = run.archive.blob(original["sha256"], run.importer.max_file_bytes)
    except WalletError as error:
        run.report.notes.append(f"{path}: an earlier copy of “{credential.name}” was not restored ({error})")
        return
    status = copy.get("status") if copy.get("status") in _STATUSES else Status.UNVERIFIABLE.value
    run.session.add(CredentialVersion(
        credential_id=credential.id, owner_id=run.owner_id, original_sha256=run.importer.blobs.put(data),
        original_type=original.get("type") or "application/octet-stream", original_filename=original.get("filename"),
        source_url=copy.get("source_url"), status=status,
        imported_at=_parse_time(copy.get("imported_at")) or utcnow(),
        replaced_at=_parse_time(copy.get("replaced_at")) or utcnow()))


_STATUSES = frozenset(status.value for status in Status)


def _restore_image(run: _Run, path: str, credential: Credential, image: dict[str, Any] | None) -> None:
    # The live import found no image (the issuer's server may be gone): keep the one the export has.
    if credential.image_sha256 or not image:
        return
    try:
        stored = images.normalise_image(run.archive.blob(image["sha256"], images.MAX_IMAGE_BYTES))
    except WalletError as error:
        run.report.notes.append(f"{path}.image: not restored ({error})")
        return
    credential.image_sha256 = run.importer.blobs.put(stored.data)
    credential.image_type = stored.content_type


def _restore_learner_text(run: _Run, path: str, name: str, credential: Credential, learner: dict[str, Any]) -> None:
    # Merge: the wallet's own words win; exported words fill what is empty; tags are joined. The
    # words and the tags are kept apart, so too many tags cannot cost the learner their words.
    description = learner.get("description") if not credential.learner_description else None
    reflection = learner.get("reflection") if not credential.reflection else None
    have = credential.learner_tags
    known = {tag.lower() for tag in have}
    added = [tag for tag in learner.get("tags") or [] if tag.lower() not in known]
    changes = []
    if description is not None or reflection is not None:
        changes.append(("learner", {"description": description, "reflection": reflection}))
    if added:
        changes.append(("learner.tags", {"tags": have + added}))
    for part, values in changes:
        try:
            with run.session.begin_nested():
                credential_service.update_learner_text(run.session, run.owner_id, credential.id, **values)
        except WalletError as error:
            run.report.refuse(f"{path}.{part}", name, error)


def _evidence_key(kind: str, text: str | None, url: str | None, sha: str | None) -> tuple[Any, ...]:
    return (kind, (text or "").strip() or None, safe_url(url) if url else None, sha)


def _restore_evidence(run: _Run, path: str, name: str, credential: Credential, entry: dict[str, Any]) -> None:
    file = entry.get("file") or {}
    key = _evidence_key(entry["kind"], entry.get("text"), entry.get("url"), file.get("sha256"))
    if key in {_evidence_key(e.kind, e.text, e.url, e.file_sha256) for e in credential.evidence}:
        run.report.unchanged["evidence"] += 1
        return
    title = entry.get("title") or ""
    try:
        with run.session.begin_nested():
            if entry["kind"] == "text":
                evidence_service.add_text(run.session, run.owner_id, credential.id, title=title, text=entry.get("text") or "")
            elif entry["kind"] == "link":
                evidence_service.add_link(run.session, run.owner_id, credential.id, url=entry.get("url") or "", title=title)
            else:
                if not file:
                    raise ImportRejectedError("The export has no file for this evidence.")
                data = run.archive.blob(file["sha256"], run.limits.max_file_bytes)
                evidence_service.add_file(run.session, run.owner_id, credential.id, filename=file.get("filename") or "",
                                          data=data, blobs=run.importer.blobs, title=title,
                                          max_bytes=run.limits.max_file_bytes,
                                          max_total_bytes=run.limits.max_evidence_bytes)
    except WalletError as error:
        run.report.refuse(path, f"{name}: {title}", error)
        return
    run.report.restored["evidence"] += 1


def _restore_share(run: _Run, credential: Credential, share: dict[str, Any] | None) -> None:
    # A share link comes back withdrawn, with a new address and its settings: nothing becomes
    # public again until the learner shares it (the old address belongs to the old wallet).
    if not share:
        return
    if run.session.scalar(select(CredentialShare.id).where(CredentialShare.credential_id == credential.id)):
        run.report.unchanged["share_links"] += 1
        return
    expires = _parse_time(share.get("expires_at"))
    run.session.add(CredentialShare(owner_id=run.owner_id, credential_id=credential.id,
                                    slug=portfolio_service.new_slug(), revoked_at=utcnow(),
                                    include_evidence=bool(share.get("include_evidence")),
                                    show_originals=bool(share.get("show_originals", True)),
                                    expires_at=expires if expires and expires > utcnow() else None, view_count=0))
    run.session.flush()
    run.report.restored["share_links"] += 1


# ---------------------------------------------------------------------------------------------
# Pathways


def _remap_rules(run: _Run, path: str, value: Any) -> Any:
    """Point `credential` rules at the credentials' new ids; a credential not restored is matched by name."""
    if isinstance(value, list):
        return [_remap_rules(run, path, item) for item in value]
    if not isinstance(value, dict):
        return value
    rule = value.get("rule")
    copied = {key: _remap_rules(run, path, inner) for key, inner in value.items() if key != "rule"}
    if isinstance(rule, dict) and rule.get("kind") == "credential" and isinstance(rule.get("credential_id"), int):
        old = rule["credential_id"]
        if old in run.credentials:
            rule = {**rule, "credential_id": run.credentials[old]}
        else:
            label = run.credential_names.get(old)
            rule = {"kind": "name", "text": label, "match": "exact"} if label else rule
            run.report.notes.append(f"{path}: a step named credential #{old}, which was not restored; "
                                    + (f"it now matches a credential named “{label}”." if label
                                       else "it matches nothing in this wallet."))
            if not label:
                rule = {"kind": "name", "text": f"(credential #{old} of the exported wallet)", "match": "exact"}
    if rule is not None:
        copied["rule"] = rule
    return copied


def _restore_pathway(run: _Run, path: str, entry: dict[str, Any]) -> None:
    template = entry["template"]
    title = str(template.get("title") or "pathway")
    try:
        document = rules.validate_document({**template, "steps": _remap_rules(run, path, template.get("steps"))})
    except rules.TemplateError as error:
        run.report.refuse(f"{path}.template", title, "Template", str(error))
        return
    wanted = document.to_json()
    for existing in run.session.scalars(select(Pathway).where(Pathway.owner_id == run.owner_id,
                                                              Pathway.title == document.title)):
        if pathway_service.export_document(existing) == wanted:
            run.pathways[entry["id"]] = existing.id
            run.report.unchanged["pathways"] += 1
            return
    source = entry.get("source_template") or "upload"
    try:
        with run.session.begin_nested():
            pathway = pathway_service.create_from_document(run.session, run.owner_id, document, source=source)
    except WalletError as error:
        run.report.refuse(path, title, error)
        return
    run.pathways[entry["id"]] = pathway.id
    run.report.restored["pathways"] += 1


# ---------------------------------------------------------------------------------------------
# Portfolios


def _portfolio_targets(portfolio: Portfolio) -> set[tuple[str, int]]:
    return {("credential", i.credential_id) if i.credential_id is not None else ("pathway", i.pathway_id or 0)
            for i in portfolio.items}


def _restore_portfolio(run: _Run, path: str, entry: dict[str, Any]) -> None:
    title = entry["title"]
    credentials: list[tuple[int, bool]] = []
    pathways: list[int] = []
    for position, item in enumerate(entry["items"]):
        if "credential" in item:
            new_id = run.credentials.get(item["credential"])
            if new_id is None:
                run.report.notes.append(f"{path}.items[{position}]: its credential was not restored; left out.")
                continue
            held = run.session.get(Credential, new_id)
            if held is not None and held.recipient_state == RECIPIENT_MISMATCH:
                run.report.notes.append(f"{path}.items[{position}]: “{held.name}” names a recipient who is not "
                                        "you in this wallet, so it was left out.")
                continue
            credentials.append((new_id, bool(item.get("include_evidence", True))))
        elif item.get("pathway") in run.pathways:
            pathways.append(run.pathways[item["pathway"]])
        else:
            run.report.notes.append(f"{path}.items[{position}]: its pathway was not restored; left out.")
    targets = {("credential", cid) for cid, _ in credentials} | {("pathway", pid) for pid in pathways}
    texts = (title, entry.get("headline") or "", entry.get("about") or "")
    for existing in portfolio_service.list_portfolios(run.session, run.owner_id):
        if (existing.title, existing.headline, existing.about) == texts and _portfolio_targets(existing) == targets:
            run.report.unchanged["portfolios"] += 1
            return
    try:
        with run.session.begin_nested():
            # Always private, with a new link: the old address belongs to the old wallet.
            portfolio = portfolio_service.create_portfolio(run.session, run.owner_id, title=title,
                                                           headline=texts[1], about=texts[2])
            portfolio_service.set_items(run.session, run.owner_id, portfolio.id, credentials=credentials,
                                        pathways=pathways)
    except WalletError as error:
        run.report.refuse(path, title, error)
        return
    portfolio.show_originals = bool(entry.get("show_originals", True))
    _restore_contact(run, path, portfolio, entry)
    photo = entry.get("photo")
    if photo:
        try:
            with run.session.begin_nested():
                portfolio_service.set_photo(run.session, run.owner_id, portfolio.id,
                                            run.archive.blob(photo["sha256"], portfolio_service.MAX_PHOTO_BYTES),
                                            run.importer.blobs)
        except WalletError as error:
            run.report.notes.append(f"{path}.photo: not restored ({error})")
    run.report.restored["portfolios"] += 1


def _restore_contact(run: _Run, path: str, portfolio: Portfolio, entry: dict[str, Any]) -> None:
    contact = {"show_contact": bool(entry.get("show_contact")), "contact_url": entry.get("contact_url") or "",
               "contact_email": entry.get("contact_email") or ""}
    try:
        with run.session.begin_nested():
            portfolio_service.update_portfolio(run.session, run.owner_id, portfolio.id, **contact)
        return
    except WalletError as error:
        run.report.notes.append(f"{path}: the contact address was not restored ({error})")
    try:
        with run.session.begin_nested():
            portfolio_service.update_portfolio(run.session, run.owner_id, portfolio.id,
                                               **{**contact, "contact_email": ""})
    except WalletError as error:
        run.report.notes.append(f"{path}: the contact details were not restored ({error})")
