"""The state of background jobs, kept in the database (docs/architecture.md "Background jobs").

A job is created `queued` in the request that asks for it, then the queue (wallet/queue.py) runs its
task (wallet/tasks.py), which marks it `running`, records each item as it is done, and ends it `done`
or `failed` with a message the learner can read. A running job writes a heartbeat with every item;
one whose heartbeat is older than the stale limit stopped with its process (a restarted worker) and
is shown as failed, never as running forever (docs/reliability.md §11).
"""
from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wallet.db import utcnow
from wallet.models.job import DONE, FAILED, IMPORT, QUEUED, RECHECK, RUNNING, SWEEP, Job, JobItem
from wallet.models.provider import PROVIDER_SYNC
from wallet.services.errors import NotFoundError

# A running job that wrote nothing for this long stopped with its process.
DEFAULT_STALE_AFTER = timedelta(minutes=10)
STOPPED_MESSAGE = ("The work stopped before it was finished (the server restarted). What was done is kept; "
                   "start it again to do the rest.")
_NOT_FOUND = "There is no such job. It may have been deleted."


def create_job(session: Session, *, kind: str, owner_id: int | None, params: dict[str, Any] | None = None,
               total: int | None = None) -> Job:
    """Add a queued job and return it (the caller commits before enqueueing its id)."""
    job = Job(id=secrets.token_urlsafe(24), owner_id=owner_id, kind=kind, state=QUEUED, params=params or {},
              counts={}, total=total, done=0, created_at=utcnow())
    session.add(job)
    session.flush()
    return job


def get_job(session: Session, owner_id: int, job_id: str, *, kind: str,
            stale_after: timedelta = DEFAULT_STALE_AFTER) -> Job:
    """Return the learner's job of `kind`, a stopped one shown as failed; NotFoundError unless it is theirs (F3)."""
    job = session.get(Job, job_id) if isinstance(job_id, str) and len(job_id) <= 40 else None
    if job is None or job.owner_id != owner_id or job.kind != kind:
        raise NotFoundError(_NOT_FOUND)
    _show_stopped(session, job, stale_after)
    return job


def recent_jobs(session: Session, owner_id: int, *, kind: str, limit: int = 10,
                stale_after: timedelta = DEFAULT_STALE_AFTER) -> list[Job]:
    """Return the learner's newest jobs of `kind`, newest first."""
    jobs = list(session.scalars(select(Job).where(Job.owner_id == owner_id, Job.kind == kind)
                                .order_by(Job.created_at.desc()).limit(limit)))
    for job in jobs:
        _show_stopped(session, job, stale_after)
    return jobs


def is_stopped(job: Job, stale_after: timedelta = DEFAULT_STALE_AFTER, now: datetime | None = None) -> bool:
    """Whether a running job has been silent for longer than `stale_after` (its process is gone)."""
    if job.state != RUNNING:
        return False
    last = job.heartbeat_at or job.started_at or job.created_at
    return (now or utcnow()) - last > stale_after


def _show_stopped(session: Session, job: Job, stale_after: timedelta) -> None:
    # Shown failed, not written (a page view does not write; `fail_stopped` does, in the worker's tick):
    # the row leaves the session first, so nothing flushes the change.
    if is_stopped(job, stale_after):
        job.outcomes  # loaded before the row leaves the session, for the page
        session.expunge(job)
        job.state, job.error = FAILED, STOPPED_MESSAGE


def fail_stopped(session: Session, *, stale_after: timedelta = DEFAULT_STALE_AFTER, now: datetime | None = None) -> int:
    """Mark every running job silent for longer than `stale_after` failed; return how many."""
    now = now or utcnow()
    cutoff = now - stale_after
    result = session.execute(update(Job).where(Job.state == RUNNING, Job.heartbeat_at < cutoff)
                             .values(state=FAILED, error=STOPPED_MESSAGE, finished_at=now))
    return int(result.rowcount or 0)


# Credentials an OID4VCI issuer deferred (services/oid4vci/), polled until they come.
OFFER = "offer"
# The task that does each kind of job (wallet/tasks.py).
TASKS = {IMPORT: "run_import", RECHECK: "recheck", SWEEP: "sweep", PROVIDER_SYNC: "sync_provider",
         OFFER: "receive_deferred"}


def left_waiting(session: Session, *, stale_after: timedelta = DEFAULT_STALE_AFTER,
                 now: datetime | None = None) -> list[Job]:
    """Return the jobs queued longer than `stale_after` ago (or last queued again then), oldest first.

    Their queue entry may be lost (Redis restarted without persistence, or the app process that held
    the embedded queue stopped). Queuing one again is safe: `start` lets a job run once however often
    it is delivered. Each is marked as queued again now, so a long queue is not filled twice a tick.
    """
    now = now or utcnow()
    cutoff = now - stale_after
    jobs = list(session.scalars(select(Job).where(Job.state == QUEUED,
                                                  func.coalesce(Job.heartbeat_at, Job.created_at) < cutoff)
                                .order_by(Job.created_at)))
    for job in jobs:
        job.heartbeat_at = now
    return jobs


def start(session: Session, job_id: str) -> Job | None:
    """Mark a queued job running and return it; None if it is not queued (already taken, or gone)."""
    now = utcnow()
    # One UPDATE decides: a job delivered twice runs once.
    taken = session.execute(update(Job).where(Job.id == job_id, Job.state == QUEUED)
                            .values(state=RUNNING, started_at=now, heartbeat_at=now))
    if not taken.rowcount:
        return None
    job = session.get(Job, job_id)
    session.refresh(job)
    return job


def record(session: Session, job: Job, outcome: dict[str, Any] | None = None, *, total: int | None = None) -> None:
    """Count one item done (with its outcome, if any) and write the heartbeat."""
    if total is not None:
        job.total = total
    if outcome is not None:
        session.add(JobItem(job_id=job.id, position=job.done, data=outcome))
        state = str(outcome.get("state", ""))
        job.counts = {**job.counts, state: job.counts.get(state, 0) + 1}  # a new dict: the JSON column sees it
    job.done += 1
    job.heartbeat_at = utcnow()


def finish(job: Job) -> None:
    """End the job as done."""
    job.state, job.finished_at, job.heartbeat_at = DONE, utcnow(), utcnow()


def fail(session: Session, job_id: str, message: str) -> None:
    """End the job as failed with `message` (what the learner reads), whatever state it was in."""
    now = utcnow()
    session.execute(update(Job).where(Job.id == job_id, Job.state.in_((QUEUED, RUNNING)))
                    .values(state=FAILED, error=message, finished_at=now, heartbeat_at=now))


def has_open(session: Session, kind: str, *, stale_after: timedelta = DEFAULT_STALE_AFTER,
             now: datetime | None = None) -> bool:
    """Whether a job of `kind` is queued, or running and not stopped."""
    for job in session.scalars(select(Job).where(Job.kind == kind, Job.state.in_((QUEUED, RUNNING)))):
        if job.state == QUEUED or not is_stopped(job, stale_after, now):
            return True
    return False


def summary(job: Job) -> dict[str, Any]:
    """Describe the job for the progress page's script and the API."""
    return {"id": job.id, "kind": job.kind, "state": job.state, "total": job.total, "done": job.done,
            "counts": dict(job.counts or {}), "error": job.error, "created_at": job.created_at.isoformat(),
            "finished_at": job.finished_at.isoformat() if job.finished_at else None}


def describe_states(jobs: Sequence[Job]) -> list[dict[str, Any]]:
    """Summaries of several jobs."""
    return [summary(job) for job in jobs]


def create_import_job(session: Session, owner_id: int, uploads: Sequence[Any], folder: Path) -> Job:
    """Keep the uploaded files in `folder`/<job id>/ and add a queued import job for them.

    The files stay there until the job has run (wallet/tasks.py removes them); the job carries
    only their stored names and the names the learner gave them.
    """
    job = create_job(session, kind=IMPORT, owner_id=owner_id, total=len(uploads))
    target = folder / job.id
    target.mkdir(parents=True, exist_ok=True)
    files = []
    for index, upload in enumerate(uploads):
        stored = f"{index:05d}"
        (target / stored).write_bytes(upload.data)
        files.append([stored, upload.filename])
    job.params = {"files": files}
    session.flush()
    return job


def purge_uploads(session: Session, folder: Path, *, stale_after: timedelta = DEFAULT_STALE_AFTER,
                  now: datetime | None = None) -> int:
    """Remove kept uploads whose job ended, or is gone, without removing them (its worker stopped); return how many."""
    import shutil

    if not folder.is_dir():
        return 0
    now = now or utcnow()
    removed = 0
    for path in folder.iterdir():
        job = session.get(Job, path.name)
        if job is not None and (job.state == QUEUED or (job.state == RUNNING and not is_stopped(job, stale_after, now))):
            continue  # still waiting for, or being read by, its job
        if job is None and now.timestamp() - path.stat().st_mtime < stale_after.total_seconds():
            continue  # a request is writing it and has not committed its job yet
        shutil.rmtree(path, ignore_errors=True)
        removed += 1
    return removed


def recheck_job(session: Session, owner_id: int, credential_id: int) -> Job | None:
    """Queue a re-check of one credential (a viewer's "verify now") unless one is already under way.

    Each credential has one re-check job row, reused: its id names the credential, so two viewers
    asking at once queue one check. Returns the job to enqueue, or None when one is under way.
    """
    job_id = f"{RECHECK}-{credential_id}"
    job = session.get(Job, job_id)
    if job is not None and _is_open(job, DEFAULT_STALE_AFTER, utcnow()):
        return None
    if job is None:
        try:
            with session.begin_nested():  # two viewers at once: the primary key lets one in
                job = Job(id=job_id, owner_id=owner_id, kind=RECHECK, state=QUEUED, params={}, counts={}, done=0,
                          created_at=utcnow())
                session.add(job)
                session.flush()
        except IntegrityError:
            return None
    session.execute(delete(JobItem).where(JobItem.job_id == job_id))
    job.state, job.params, job.counts, job.total, job.done = QUEUED, {"credential_id": credential_id}, {}, 1, 0
    job.error, job.created_at, job.started_at, job.heartbeat_at, job.finished_at = None, utcnow(), None, None, None
    session.flush()
    return job


def check_under_way(session: Session, credential_id: int, *, stale_after: timedelta = DEFAULT_STALE_AFTER) -> bool:
    """Whether a re-check of the credential is queued or running."""
    job = session.get(Job, f"{RECHECK}-{credential_id}")
    return job is not None and _is_open(job, stale_after, utcnow())


def _is_open(job: Job, stale_after: timedelta, now: datetime) -> bool:
    # A re-check queued long ago whose worker never came is not shown as under way for ever.
    if job.state == QUEUED:
        return now - job.created_at <= stale_after
    return job.state == RUNNING and not is_stopped(job, stale_after, now)
