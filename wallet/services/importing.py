"""Import credentials into a learner's wallet: from a URL, uploaded files (and ZIPs of them), or a paste.

docs/reliability.md "nothing lost": all network work (fetch, verify, badge image) happens first; then
blobs are written (temp + fsync + rename) and one savepoint writes the credential, its tags and its
first verification record, so an import is whole or absent. Re-importing the same credential finds
the existing row by a per-learner key (`dedupe_key`) that a unique constraint also enforces.

Another copy of a credential already held is a version of it (services/versions.py decides what it
does): the same version is a duplicate; a copy that verifies better becomes the current version in
one savepoint, the earlier one staying in the history; any other copy is not stored. The learner's
words and evidence stay on the credential either way.

Limits (docs/security.md A19, C11): each import (a URL, a paste, a file, each file inside a ZIP) counts
against the learner's import rate before any network work; the number of credentials a learner
may keep is checked again inside the transaction that inserts one (docs/reliability.md §10).

Kept whole (about 580 lines): the pipeline reads top to bottom in the order "nothing lost" needs
(rate, fetch, verify, image, blobs, one savepoint), with ZIP expansion and link discovery beside the
steps that call them; the version rules, metadata and recording already live in versions.py and
results.py.
"""
from __future__ import annotations

import io
import re
import stat
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin

import rfc8785
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wallet.db import utcnow
from wallet.formatting import describe_size
from wallet.models.credential import Credential, CredentialVersion
from wallet.services import images
from wallet.services.accounts import lock_owner
from wallet.services.blobs import BlobStore
from wallet.services.errors import (
    FetchError,
    ImportRejectedError,
    QuotaExceededError,
    RateLimitedError,
    TooLargeError,
    WalletError,
)
from wallet.services.ratelimit import RateLimiter, describe_wait
from wallet.services.results import RecordingFetch, apply_metadata, recipient_state, record_for
from wallet.services.sanitize import safe_filename
# DUPLICATE, KEPT and REPLACED are ImportItem states as well.
from wallet.services.verification.errors import RemoteError
from wallet.services.versions import (
    ALREADY_HELD,
    DUPLICATE,
    KEPT,
    REPLACED,
    compare_versions,
    dedupe_key,
    legacy_key,
    version_key,
)
from wallet.services.verification import make_context, sdjwt, verify_bytes
from wallet.services.verification.fetching import Fetch, Fetched
from wallet.services.verification.jsonutil import loads_strict
from wallet.services.verification.result import CheckStatus, Status, VerificationResult

# Per-item states reported to the learner.
IMPORTED = "imported"  # a new credential
REJECTED = "rejected"
# REPLACED, DUPLICATE and KEPT: another copy of a credential already held (services/versions.py).
# What the learner reads for each, on the add page, in its script and on an import job's page.
RESULT_WORDS = {IMPORTED: "Added", REPLACED: "Replaced a copy", DUPLICATE: "Already in your wallet",
                KEPT: "Not added", REJECTED: "Not added"}

MAX_PASTE_CHARS = 1024 * 1024
# C12: a ZIP is opened only within these bounds; paths inside it are ignored.
MAX_ZIP_ENTRIES = 50
MAX_ZIP_TOTAL_BYTES = 50 * 1024 * 1024
MAX_ZIP_RATIO = 200
DEFAULT_MAX_FILE_BYTES = 10 * 1024 * 1024

_COMPACT_JWS = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+$")
# Link-alternate discovery: the types under which a page may link its credential.
ALTERNATE_TYPES = frozenset({"application/ld+json", "application/json", "application/vc+jwt", "application/dc+sd-jwt",
                             "application/vc+sd-jwt", "text/plain"})
# SD-JWT VC §3.2.1: its media type; kept so the original downloads as what it is.
SD_JWT_TYPE = "application/dc+sd-jwt"
_CONTAINER_TYPES = {
    "png": "image/png",
    "svg": "image/svg+xml",
    "jwt": "application/jwt",
    "json": "application/json",
}
_STATE_MESSAGES = {
    IMPORTED: "Added to your wallet.",
    DUPLICATE: ALREADY_HELD,
}
@dataclass
class Upload:
    """A file as the learner sent it."""

    filename: str
    data: bytes
    content_type: str | None = None


@dataclass
class ImportItem:
    """What happened to one imported credential (or one file of a batch)."""

    state: str  # imported | duplicate | rejected
    message: str
    filename: str | None = None
    credential: Credential | None = None
    result: VerificationResult | None = None
    error: str | None = None  # the WalletError class name for a rejection

    @property
    def created(self) -> bool:
        return self.state == IMPORTED

    @property
    def stored(self) -> bool:
        """Whether this import wrote anything: a new credential or a new current version."""
        return self.state in (IMPORTED, REPLACED)


@dataclass
class Importer:
    """What an import needs besides the session: the guarded fetcher, the blob store, the learner."""

    fetch: Fetch
    blobs: BlobStore
    owner_id: int
    # The learner's verified identities (emails, URLs, DIDs) for the recipient check.
    recipients: Sequence[str] = ()
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    # A19: imports per learner over time (None: unlimited); C11: credentials a learner may keep.
    rate: RateLimiter | None = None
    max_credentials: int | None = None
    # C12: files one ZIP may hold (a ZIP is imported as a background job, wallet/tasks.py).
    max_zip_entries: int = MAX_ZIP_ENTRIES
    # The caller's own rule for what it keeps, checked after verification and before anything is
    # written; it raises ImportRejectedError to refuse (the provider API keeps only genuine
    # credentials of its own kind, docs/api.md).
    accept: Callable[[VerificationResult], None] | None = None


# ---------------------------------------------------------------------------------------------
# Entry points


def import_url(session: Session, importer: Importer, url: str) -> ImportItem:
    """Import the credential at `url` (a hosted assertion, a credential, or a page linking one).

    Raises UnsafeURLError/ImportRejectedError (refused input), FetchError (try again later).
    """
    url = (url or "").strip()
    if not url:
        raise ImportRejectedError("Enter the link to your credential.")
    _count_import(importer)
    recorder = RecordingFetch(importer.fetch)
    try:
        fetched = recorder(url, kind="any")
    except RemoteError as error:
        if error.status_code != 410:
            raise
        fetched = _gone_copy(url, error)
    source_url = url
    if _is_html(fetched):
        alternate = discover_alternate(fetched.body, fetched.final_url or url)
        if alternate is None:
            raise ImportRejectedError(
                "That page does not link to a credential. Use the link to the credential itself, "
                "or download the badge and upload the file."
            )
        # Follow the page's own link once; a second HTML page is not followed further (A14).
        fetched = recorder(alternate, kind="any")
        source_url = alternate
        if _is_html(fetched):
            raise ImportRejectedError("The page links to another web page, not to a credential.")
    return _import(session, importer, recorder, fetched.body, content_type=fetched.content_type,
                   filename=None, source_url=source_url)


def _gone_copy(url: str, error: RemoteError) -> Fetched:
    """Return the revoked assertion a 410 Gone answer carries, to import (and verify) as revoked.

    OB 2.0 (hosted verification): HTTP 410 Gone from the assertion's address means the issuer revoked
    it. Verifying the copy it sent fetches that address again and reports the revocation; an answer
    with no credential in it leaves nothing to keep.
    """
    body = error.body or b""
    try:
        document = loads_strict(body) if body.strip().startswith(b"{") else None
    except ImportRejectedError:
        document = None
    # Only the assertion that lived at this address: anything else is not what the learner asked for.
    if not isinstance(document, dict) or document.get("id") != url:
        raise ImportRejectedError(
            'The issuer has revoked this badge: its address answers "410 Gone" and sends no copy of it, '
            "so there is nothing to add.")
    return Fetched(url=url, final_url=url, status_code=410, content_type="application/json", body=body)


def import_upload(session: Session, importer: Importer, upload: Upload) -> ImportItem:
    """Import one uploaded file (baked PNG/SVG, JSON or JWT); raise ImportRejectedError if refused."""
    if len(upload.data) > importer.max_file_bytes:
        raise TooLargeError(f"The file is larger than {describe_size(importer.max_file_bytes)}.")
    if not upload.data.strip():
        raise ImportRejectedError("The file is empty.")
    _count_import(importer)
    return _import(session, importer, RecordingFetch(importer.fetch), upload.data,
                   content_type=upload.content_type, filename=safe_filename(upload.filename))


def import_paste(session: Session, importer: Importer, text: str | dict[str, Any]) -> ImportItem:
    """Import pasted credential JSON (text or an object) or a compact JWS/JWT.

    A JSON object (from an API request body) has no bytes of its own; it is kept as RFC 8785
    canonical JSON. Pasted text is kept as pasted, without surrounding white space.
    """
    if isinstance(text, dict):
        data, content_type = rfc8785.dumps(text), "application/json"
    elif isinstance(text, str):
        stripped = text.strip()
        if not stripped:
            raise ImportRejectedError("Paste the credential's JSON or its JWT.")
        if len(stripped) > MAX_PASTE_CHARS:
            raise TooLargeError("The pasted text is longer than 1 MB.")
        if stripped.startswith(("{", "[")):
            content_type = "application/json"
        elif _COMPACT_JWS.match(stripped):
            content_type = "application/jwt"
        elif sdjwt.is_sd_jwt(stripped):
            content_type = SD_JWT_TYPE
        else:
            raise ImportRejectedError(
                "That is neither credential JSON nor a JWT (or SD-JWT). Paste the whole credential.")
        data = stripped.encode("utf-8")
    else:
        raise ImportRejectedError("Paste the credential's JSON or its JWT.")
    _count_import(importer)
    return _import(session, importer, RecordingFetch(importer.fetch), data,
                   content_type=content_type, filename=None)


def import_files(session: Session, importer: Importer, uploads: Iterable[Upload]) -> Iterator[ImportItem]:
    """Import several files (ZIPs expanded), yielding one result per credential file as it is done.

    Never raises for one bad file: it is reported as rejected and the others go on. Each item is
    written in its own savepoint, so the caller may commit after every item (progress) or once.
    Each file, and each file inside a ZIP, counts as one import against the learner's rate.
    """
    for upload in uploads:
        name = safe_filename(upload.filename)
        if _is_zip(upload.data) and len(upload.data) <= importer.max_file_bytes:
            try:
                check_import_rate(importer)  # a learner already at the limit gets no ZIP unpacked
                entries = expand_zip(upload.data, max_entries=importer.max_zip_entries)
            except WalletError as error:
                yield _rejected(name, error)
                continue
            for entry in entries:
                label = f"{name} › {entry.filename}"
                if entry.error:
                    yield ImportItem(REJECTED, entry.error, filename=label, error="ImportRejected")
                    continue
                yield _import_one(session, importer, Upload(label, entry.data))
        else:
            yield _import_one(session, importer, Upload(name, upload.data, upload.content_type))


def _import_one(session: Session, importer: Importer, upload: Upload) -> ImportItem:
    try:
        return import_upload(session, importer, upload)
    except WalletError as error:
        return _rejected(upload.filename, error)


def _rejected(filename: str | None, error: WalletError) -> ImportItem:
    return ImportItem(REJECTED, str(error), filename=filename,
                      error=type(error).__name__.removesuffix("Error") or "Error")


# ---------------------------------------------------------------------------------------------
# Limits


def check_import_rate(importer: Importer) -> None:
    """Raise RateLimitedError if the learner may not start another import now (counts nothing)."""
    if importer.rate is not None:
        _refuse_if_waiting(importer.rate.retry_after(str(importer.owner_id)))


def _count_import(importer: Importer) -> None:
    if importer.rate is not None:
        _refuse_if_waiting(importer.rate.take(str(importer.owner_id)))


def _refuse_if_waiting(wait: int) -> None:
    if wait:
        raise RateLimitedError(f"You added many credentials in a short time. Wait {describe_wait(wait)}, "
                               "then add the rest.", retry_after=wait)


def _ensure_room(session: Session, importer: Importer) -> None:
    if importer.max_credentials is None:
        return
    held = session.scalar(select(func.count()).select_from(Credential)
                          .where(Credential.owner_id == importer.owner_id))
    if held >= importer.max_credentials:
        raise QuotaExceededError(
            f"Your wallet holds {held:,} credentials, the most it can hold. "
            "Delete credentials you no longer need before adding new ones.")


# ---------------------------------------------------------------------------------------------
# The import itself


def _import(
    session: Session,
    importer: Importer,
    recorder: RecordingFetch,
    data: bytes,
    *,
    content_type: str | None,
    filename: str | None,
    source_url: str | None = None,
) -> ImportItem:
    # 1. Network work first: verify (fetching what the verifier needs), then the badge image.
    context = make_context(recorder, recipients=importer.recipients)
    result = verify_bytes(data, content_type=content_type or None, filename=filename, context=context,
                          source_url=source_url)
    _refuse_unusable(result, recorder)
    if importer.accept is not None:
        importer.accept(result)
    key, content = dedupe_key(result, data), version_key(result, data)
    existing = _find(session, importer.owner_id, key, legacy=legacy_key(result))
    if existing is not None:
        state, message = compare_versions(existing, result, content, importer.blobs)
        if state != REPLACED:
            return ImportItem(state, message, filename=filename, credential=existing, result=result)
    else:
        # A full wallet is refused before the image is fetched and blobs written; the check that
        # counts is the one under the lock below.
        _ensure_room(session, importer)
    image = _badge_image(result, data, importer.fetch)

    # 2. Blobs next: written whole before the transaction that refers to them.
    original_sha = importer.blobs.put(data)
    for body in recorder.bodies.values():
        importer.blobs.put(body)
    image_sha = importer.blobs.put(image.data) if image else None

    # 3. One savepoint for the rows.
    version = CredentialVersion(owner_id=importer.owner_id, content_sha256=content, original_sha256=original_sha,
                                original_type=_original_type(result, content_type), original_filename=filename,
                                source_url=source_url, status=str(result.status))
    if existing is not None:
        return _replace(session, existing, version, result, image_sha, image, filename=filename, message=message)
    credential = Credential(owner_id=importer.owner_id, dedupe_key=key)
    _make_current(credential, version, result, image_sha, image)
    credential.versions.append(version)
    try:
        with session.begin_nested():
            if importer.max_credentials is not None:
                lock_owner(session, importer.owner_id)
                _ensure_room(session, importer)
            session.add(credential)
            session.flush()
    except IntegrityError:
        # Two imports of the same credential at once: the other one won; report it as a duplicate.
        existing = _find(session, importer.owner_id, key)
        if existing is None:
            raise
        return ImportItem(DUPLICATE, _STATE_MESSAGES[DUPLICATE], filename=filename, credential=existing, result=result)
    return ImportItem(IMPORTED, _STATE_MESSAGES[IMPORTED], filename=filename, credential=credential, result=result)


def _refuse_unusable(result: VerificationResult, recorder: RecordingFetch) -> None:
    """Raise when there is nothing to keep: no credential, or a hosted badge that could not be fetched."""
    if recorder.timed_out is not None:  # the verifier reported it as unreachable; nothing is kept
        raise recorder.timed_out
    if result.format is None or result.status in (Status.NO_CREDENTIAL, Status.ERROR):
        raise ImportRejectedError(_first_failure(result) or "Wallet could not read a credential in this.")
    if result.format == "vp":
        # A presentation wraps credentials for one viewer; the wallet keeps the credentials themselves.
        raise ImportRejectedError(
            f"This is a presentation holding {len(result.nested)} credential(s), not a credential. "
            "Add each credential on its own (its file, link or text).")
    # docs/reliability.md §5: an unreachable hosted assertion fails with "try again", nothing half-done.
    if result.securing == "hosted" and result.status is Status.UNVERIFIABLE and recorder.unreachable:
        raise FetchError("The issuer's server could not be reached, so nothing was added. Please try again later.")


def _first_failure(result: VerificationResult) -> str | None:
    return next((c.message for c in result.checks if c.status is CheckStatus.FAILED), None)


def _find(session: Session, owner_id: int, key: str, *, legacy: str | None = None) -> Credential | None:
    found = session.scalar(select(Credential).where(Credential.owner_id == owner_id, Credential.dedupe_key == key))
    if found is None and legacy is not None:
        # Kept under the key of an earlier rule (a JWT by its compact text): move it to today's key.
        found = session.scalar(select(Credential).where(Credential.owner_id == owner_id,
                                                        Credential.dedupe_key == legacy))
        if found is not None:
            found.dedupe_key = key
    return found


# ---------------------------------------------------------------------------------------------
# Versions


def _make_current(credential: Credential, version: CredentialVersion, result: VerificationResult,
                  image_sha: str | None, image: images.StoredImage | None) -> None:
    """Make `version` (verified as `result`) the credential's current copy: its original, state and metadata."""
    credential.format_id = result.format
    credential.container = result.container
    credential.securing = result.securing
    credential.source_url = version.source_url
    credential.original_sha256 = version.original_sha256
    credential.original_type = version.original_type
    credential.original_filename = version.original_filename
    if image_sha is not None or credential.image_sha256 is None:
        credential.image_sha256 = image_sha
        credential.image_type = image.content_type if image else None
    credential.status = str(result.status)
    credential.checked_at = result.checked_at
    credential.recheck_failed_at = None
    credential.recipient_state = recipient_state(result)
    apply_metadata(credential, result)
    credential.verifications.append(record_for(result, trigger="import"))


def _replace(session: Session, credential: Credential, version: CredentialVersion, result: VerificationResult,
             image_sha: str | None, image: images.StoredImage | None, *, filename: str | None,
             message: str) -> ImportItem:
    """Make the imported copy the credential's current version; the one it replaces stays in its history."""
    now = utcnow()
    try:
        with session.begin_nested():
            earlier = next((v for v in credential.versions if v.content_sha256 == version.content_sha256), None)
            for held in credential.versions:
                if held.replaced_at is None:
                    held.replaced_at = now
            if earlier is not None:
                # A copy replaced before is current again, as it came this time.
                for name in ("original_sha256", "original_type", "original_filename", "source_url", "status"):
                    setattr(earlier, name, getattr(version, name))
                earlier.imported_at, earlier.replaced_at = now, None
                version = earlier
            else:
                credential.versions.append(version)
            _make_current(credential, version, result, image_sha, image)
            credential.updated_at = now
            session.flush()
    except IntegrityError:
        # The same copy imported twice at once: the other import made it current.
        session.refresh(credential)
        return ImportItem(DUPLICATE, _STATE_MESSAGES[DUPLICATE], filename=filename, credential=credential,
                          result=result)
    return ImportItem(REPLACED, message, filename=filename, credential=credential, result=result)


def _original_type(result: VerificationResult, content_type: str | None) -> str:
    if result.format == sdjwt.FORMAT_ID:
        return SD_JWT_TYPE
    if result.container in _CONTAINER_TYPES:
        return _CONTAINER_TYPES[result.container]
    if result.compact:
        return "application/jwt"
    return "application/json"


def _badge_image(result: VerificationResult, original: bytes, fetch: Fetch) -> images.StoredImage | None:
    """Use the baked image itself, or fetch (guarded) / decode the image the credential names."""
    if result.container in ("png", "svg"):
        try:
            return images.normalise_image(original)
        except WalletError:
            return None
    return images.load_badge_image(result.metadata.image, fetch)


# ---------------------------------------------------------------------------------------------
# HTML link discovery


class _AlternateFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.href is not None or tag != "link":
            return
        values = {name.lower(): (value or "") for name, value in attrs}
        rels = values.get("rel", "").lower().split()
        media_type = values.get("type", "").split(";")[0].strip().lower()
        if "alternate" in rels and media_type in ALTERNATE_TYPES and values.get("href"):
            self.href = values["href"].strip()


def discover_alternate(html: bytes, base_url: str) -> str | None:
    """Return the absolute URL of the first <link rel="alternate"> to a credential type, or None."""
    finder = _AlternateFinder()
    try:
        finder.feed(html[: 1024 * 1024].decode("utf-8", "replace"))
        finder.close()
    except Exception:  # html.parser is lenient; anything it still cannot read has no usable link
        return None
    if not finder.href:
        return None
    target = urljoin(base_url, finder.href)
    return target if target.lower().startswith(("https://", "http://")) else None


def _is_html(fetched: Fetched) -> bool:
    if fetched.content_type in ("text/html", "application/xhtml+xml"):
        return True
    head = fetched.body[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html"))


# ---------------------------------------------------------------------------------------------
# ZIP archives


@dataclass
class ZipEntry:
    filename: str
    data: bytes = b""
    error: str | None = None


def _is_zip(data: bytes) -> bool:
    return data[:4] in (b"PK\x03\x04", b"PK\x05\x06")


def is_zip(data: bytes) -> bool:
    """Whether `data` starts like a ZIP archive."""
    return _is_zip(data)


def count_files(data: bytes) -> int:
    """Return how many results importing `data` gives: the files of a ZIP (an estimate), or 1."""
    if not _is_zip(data):
        return 1
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return max(1, sum(1 for m in archive.infolist() if not m.is_dir() and not _is_ignored(m.filename)))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError):
        return 1


def expand_zip(data: bytes, *, max_entries: int = MAX_ZIP_ENTRIES, max_total: int = MAX_ZIP_TOTAL_BYTES,
               max_file: int = DEFAULT_MAX_FILE_BYTES) -> list[ZipEntry]:
    """Read the files of a ZIP safely: no paths, no symlinks, bounded count, size and ratio.

    Raises ImportRejectedError when the archive as a whole is unreadable or over the limits;
    a single bad entry becomes a ZipEntry with `error` set.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError):
        raise ImportRejectedError("The ZIP file is damaged or not a ZIP file.") from None
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir() and not _is_ignored(m.filename)]
        if not members:
            raise ImportRejectedError("The ZIP file holds no files.")
        if len(members) > max_entries:
            raise ImportRejectedError(f"The ZIP file holds more than {max_entries} files; split it up.")
        if sum(m.file_size for m in members) > max_total:
            raise TooLargeError(f"The ZIP file unpacks to more than {describe_size(max_total)}.")
        entries: list[ZipEntry] = []
        total = 0
        for member in members:
            # Paths inside the archive are never used (zip slip): only the base name, for display.
            name = safe_filename(member.filename.replace("\\", "/").rsplit("/", 1)[-1])
            if stat.S_ISLNK(member.external_attr >> 16):
                entries.append(ZipEntry(name, error="Links inside a ZIP file are not accepted."))
                continue
            if member.flag_bits & 0x1:
                entries.append(ZipEntry(name, error="Encrypted files inside a ZIP are not accepted."))
                continue
            if member.file_size > max_file:
                entries.append(ZipEntry(name, error=f"The file is larger than {describe_size(max_file)}."))
                continue
            if member.file_size > 1024 * 1024 and member.file_size > MAX_ZIP_RATIO * max(member.compress_size, 1):
                entries.append(ZipEntry(name, error="The file is compressed suspiciously well; it was not opened."))
                continue
            try:
                with archive.open(member) as handle:
                    # Read one byte past the limit: the header's size may lie (zip bomb).
                    content = handle.read(max_file + 1)
            except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError):
                entries.append(ZipEntry(name, error="This file inside the ZIP is damaged."))
                continue
            total += len(content)
            if len(content) > max_file or total > max_total:
                entries.append(ZipEntry(name, error="The file is larger than its ZIP header says; it was not opened."))
                break
            if _is_zip(content):
                entries.append(ZipEntry(name, error="A ZIP inside a ZIP is not opened; upload it on its own."))
                continue
            entries.append(ZipEntry(name, content))
        return entries


def _is_ignored(path: str) -> bool:
    # Archivers add metadata files that are never credentials (macOS resource forks, dotfiles).
    base = path.replace("\\", "/").rsplit("/", 1)[-1]
    return path.startswith("__MACOSX/") or base.startswith(".") or not base
