"""Exports built in the background, for the web page that shows their progress.

A job is two files in the exports folder of the instance: `<id>.json` (its state, written whole
by rename so a reader never sees half of it) and, when ready, `<id>.zip`. Keeping the state on disk
lets any worker process answer the progress page. Jobs older than a day are deleted when a new one
starts. The job id is unguessable and every read checks the owner (security.md F3).
"""
from __future__ import annotations

import json
import logging
import os
import re
import secrets
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from wallet.db import utcnow
from wallet.services.blobs import BlobStore
from wallet.services.errors import NotFoundError
from wallet.services.portability.exporting import write_export_file

KEEP_SECONDS = 24 * 3600
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


def start_export(factory: sessionmaker[Session], owner_id: int, blobs: BlobStore, folder: str | os.PathLike[str],
                 *, background: bool = True) -> str:
    """Start building the learner's export and return the job id; progress is read with `job_state`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    purge_old(folder)
    job_id = secrets.token_urlsafe(24)
    state_path, zip_path = _paths(folder, job_id)
    state: dict[str, Any] = {"owner_id": owner_id, "state": RUNNING, "done": 0, "total": None,
                             "started_at": utcnow().isoformat(), "size": None, "error": None}
    _write_state(state_path, state)
    last_write = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last_write[0] >= 0.25 or done == total:
            last_write[0] = now
            _write_state(state_path, {**state, "done": done, "total": total})

    def run() -> None:
        try:
            write_export_file(factory, owner_id, blobs, zip_path, progress=progress)
        except Exception:  # the page must say it failed rather than wait forever
            _log.exception("wallet export %s failed", job_id)
            _write_state(state_path, {**state, "state": FAILED,
                                      "error": "The export could not be built. Please try again."})
            return
        with open(state_path) as handle:
            counted = json.load(handle)
        _write_state(state_path, {**counted, "state": READY, "size": zip_path.stat().st_size,
                                  "finished_at": utcnow().isoformat()})

    if background:
        threading.Thread(target=run, name=f"export-{job_id[:8]}", daemon=True).start()
    else:
        run()
    return job_id


def job_state(folder: str | os.PathLike[str], job_id: str, owner_id: int) -> dict[str, Any]:
    """Return the job's state {state, done, total, size, error}; NotFoundError unless it is the owner's."""
    state_path, _ = _paths(Path(folder), job_id)
    try:
        state = json.loads(state_path.read_text())
    except (OSError, ValueError):
        raise NotFoundError("There is no such export. It may have been deleted after a day.") from None
    if state.get("owner_id") != owner_id:
        raise NotFoundError("There is no such export. It may have been deleted after a day.")
    return {key: state.get(key) for key in ("state", "done", "total", "size", "error")}


def job_file(folder: str | os.PathLike[str], job_id: str, owner_id: int) -> Path:
    """Return the finished export's file; NotFoundError unless it is the owner's and ready."""
    if job_state(folder, job_id, owner_id)["state"] != READY:
        raise NotFoundError("This export is not ready yet.")
    return _paths(Path(folder), job_id)[1]
