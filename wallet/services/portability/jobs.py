"""Exports and imports run in the background, for the web pages that show their progress.

A job is two files in its folder (exports or imports, in the instance folder): `<id>.json` (its
state, written whole by rename so a reader never sees half of it) and `<id>.zip` (the export being
built, or the uploaded export being imported, deleted when done). Keeping the state on disk lets
any worker process answer the progress page. Jobs older than a day are deleted when a new one
starts. The job id is unguessable and every read checks the owner (docs/security.md F3).
"""
from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shutil
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from wallet.db import background_writes, utcnow
from wallet.services.blobs import BlobStore
from wallet.services.errors import NotFoundError, WalletError
from wallet.services import importing
from wallet.services.portability.exporting import write_export_file
from wallet.services.portability.restoring import ExportArchive, Limits, import_export

KEEP_SECONDS = 24 * 3600
# A running job writes its state at least this often while it works (after every entry); one that
# has been silent for longer stopped with its process (a restarted worker) and is reported failed.
STALE_SECONDS = 10 * 60
_JOB_ID = re.compile(r"[A-Za-z0-9_-]{20,64}")
RUNNING, READY, FAILED = "running", "ready", "failed"
_log = logging.getLogger(__name__)


def _paths(folder: Path, job_id: str) -> tuple[Path, Path]:
    if not _JOB_ID.fullmatch(job_id or ""):
        raise NotFoundError("There is no such export.")
    return folder / f"{job_id}.json", folder / f"{job_id}.zip"


def _write_state(path: Path, state: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    tmp.write_text(json.dumps(state))
    os.replace(tmp, path)


def purge_old(folder: Path, keep_seconds: int = KEEP_SECONDS) -> None:
    """Delete export files (and leftovers of interrupted ones) older than `keep_seconds`."""
    cutoff = time.time() - keep_seconds
    for path in folder.glob("*"):
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
        except OSError:
            pass


class _Job:
    """The state file of one job, written at most every quarter second while it progresses."""

    def __init__(self, folder: Path, owner_id: int, kind: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        purge_old(folder)
        self.id = secrets.token_urlsafe(24)
        self.state_path, self.zip_path = _paths(folder, self.id)
        self.state: dict[str, Any] = {"owner_id": owner_id, "kind": kind, "state": RUNNING, "done": 0, "total": None,
                                      "started_at": utcnow().isoformat(), "size": None, "error": None, "report": None}
        self._last = 0.0
        _write_state(self.state_path, self.state)

    def progress(self, done: int, total: int) -> None:
        self.state.update(done=done, total=total)
        now = time.monotonic()
        if now - self._last >= 0.25 or done == total:
            self._last = now
            _write_state(self.state_path, self.state)

    def finish(self, **changes: Any) -> None:
        self.state.update(state=READY, finished_at=utcnow().isoformat(), **changes)
        _write_state(self.state_path, self.state)

    def fail(self, message: str) -> None:
        self.state.update(state=FAILED, error=message)
        _write_state(self.state_path, self.state)


def _launch(name: str, work: Any, background: bool) -> None:
    if background:
        threading.Thread(target=work, name=name, daemon=True).start()
    else:
        work()


def start_import(factory: sessionmaker[Session], importer: importing.Importer, upload: Any, limits: Limits,
                 folder: str | os.PathLike[str], *, background: bool = True) -> str:
    """Check an uploaded export and start importing it; return the job id.

    The upload (a binary file object) is copied to the imports folder first. The archive's bounds
    and manifest are checked here, so a file that is refused as a whole raises (ImportRejectedError,
    RateLimitedError...) before any job starts; each item's outcome is in the job's report.
    """
    importing.check_import_rate(importer)
    job = _Job(Path(folder), importer.owner_id, "import")
    try:
        with open(job.zip_path, "wb") as handle:
            shutil.copyfileobj(upload, handle, 1024 * 1024)
        with open(job.zip_path, "rb") as handle:
            ExportArchive(handle, limits).close()
    except BaseException:
        job.zip_path.unlink(missing_ok=True)
        job.state_path.unlink(missing_ok=True)
        raise

    def run() -> None:
        session = factory()
        try:
            with background_writes(), open(job.zip_path, "rb") as handle:
                report = import_export(session, importer, handle, limits=limits, checkpoint=session.commit,
                                       progress=job.progress)
            session.commit()
        except WalletError as error:
            session.rollback()
            job.fail(str(error))
            return
        except Exception:
            session.rollback()
            _log.exception("wallet import %s failed", job.id)
            job.fail("The import stopped with an error. What was added so far is kept; import the file again "
                     "to add the rest.")
            return
        finally:
            session.close()
            job.zip_path.unlink(missing_ok=True)
        job.finish(report=report.to_dict())

    _launch(f"import-{job.id[:8]}", run, background)
    return job.id


def start_export(factory: sessionmaker[Session], owner_id: int, blobs: BlobStore, folder: str | os.PathLike[str],
                 *, background: bool = True) -> str:
    """Start building the learner's export and return the job id; progress is read with `job_state`."""
    job = _Job(Path(folder), owner_id, "export")

    def run() -> None:
        try:
            write_export_file(factory, owner_id, blobs, job.zip_path, progress=job.progress)
        except Exception:  # the page must say it failed rather than wait forever
            _log.exception("wallet export %s failed", job.id)
            job.fail("The export could not be built. Please try again.")
            return
        job.finish(size=job.zip_path.stat().st_size)

    _launch(f"export-{job.id[:8]}", run, background)
    return job.id


def job_state(folder: str | os.PathLike[str], job_id: str, owner_id: int) -> dict[str, Any]:
    """Return the job's state {state, done, total, size, error}; NotFoundError unless it is the owner's."""
    state_path, _ = _paths(Path(folder), job_id)
    try:
        state = json.loads(state_path.read_text())
        silent = time.time() - state_path.stat().st_mtime
    except (OSError, ValueError):
        raise NotFoundError("There is no such export. It may have been deleted after a day.") from None
    if state.get("owner_id") != owner_id:
        raise NotFoundError("There is no such export. It may have been deleted after a day.")
    if state.get("state") == RUNNING and silent > STALE_SECONDS:
        state.update(state=FAILED, error="The export stopped before it was finished (the server restarted). "
                                         "Please start it again.")
    return {key: state.get(key) for key in ("kind", "state", "done", "total", "size", "error", "report")}


def job_file(folder: str | os.PathLike[str], job_id: str, owner_id: int) -> Path:
    """Return the finished export's file; NotFoundError unless it is the owner's and ready."""
    state = job_state(folder, job_id, owner_id)
    if state["state"] != READY or state["kind"] != "export":
        raise NotFoundError("This export is not ready yet.")
    return _paths(Path(folder), job_id)[1]
