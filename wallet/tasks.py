"""The work that leaves the request: each function here is one kind of background job.

The queue (wallet/queue.py) calls these by name with plain values only (a job id); each builds what
it needs from the app: its own database session, the collaborators, the files kept for it. The app
is the current one (the embedded thread and `wallet worker` run jobs in its context), or one made
from the environment with `create_app()` for a worker started some other way.

A task records its progress and outcome in the `jobs` table (services/jobs.py). An exception is
recorded as a failed job with a message the learner can read; what was committed before it stays
(each credential commits on its own, docs/reliability.md "nothing lost").
"""
from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, current_app, has_app_context
from sqlalchemy.orm import Session

from wallet.db import background_writes

log = logging.getLogger(__name__)
_made_app: Flask | None = None

IMPORT_FAILED = ("The import stopped with an error. The credentials listed as added are kept; "
                 "upload the other files again to add them.")
RECHECK_FAILED = "The check could not be completed."
SWEEP_FAILED = "The sweep stopped with an error; the next tick re-checks the rest."
SYNC_FAILED = "The sync did not finish. The credentials already received are kept; Wallet tries again at the next sync."


def _app() -> Flask:
    global _made_app
    if has_app_context():
        return current_app._get_current_object()  # type: ignore[attr-defined]
    if _made_app is None:
        from wallet import create_app

        _made_app = create_app()
    return _made_app


def _session(app: Flask) -> Session:
    return app.extensions["wallet.sessionmaker"]()


def _run_job(job_id: str, failure: str, work: Callable[[Flask, Session, Any], None]) -> None:
    """Start job `job_id` (once, however often it was delivered), run `work(app, session, job)`, then end it.

    `work` commits as it goes; when it returns the job is done. An exception rolls back what `work`
    had not committed and records the job as failed with `failure`, a message the learner can read.
    """
    from wallet.services import jobs as job_service

    app = _app()
    session = _session(app)
    try:
        with background_writes():
            job = job_service.start(session, job_id)
            session.commit()
            if job is None:
                return  # already run, or gone with its account
            try:
                work(app, session, job)
                job_service.finish(job)
                session.commit()
            except Exception:
                session.rollback()
                log.exception("%s job %s failed", job.kind, job_id)
                job_service.fail(session, job_id, failure)
                session.commit()
    finally:
        session.close()


# ---------------------------------------------------------------------------------------------
# Imports of many files or a ZIP


def run_import(job_id: str) -> None:
    """Import the files kept for job `job_id`, recording one outcome per credential file as it is done."""
    from wallet.services import importing
    from wallet.services import jobs as job_service
    from wallet.wiring import collaborators

    folder = collaborators(_app()).uploads_folder / job_id

    def work(app: Flask, session: Session, job: Any) -> None:
        files = [(folder / stored, name) for stored, name in job.params.get("files", [])]
        importer = collaborators(app).importer(session, job.owner_id)
        job.total = sum(importing.count_files(path.read_bytes()) for path, _ in files)
        session.commit()
        for item in importing.import_files(session, importer, _read(files)):
            job_service.record(session, job, _outcome(item))
            session.commit()  # each credential is its own import: kept as soon as it is done
        job.total = job.done  # a ZIP may hold fewer credential files than entries

    try:
        _run_job(job_id, IMPORT_FAILED, work)
    finally:
        # The uploaded files are kept only until their job has run (or failed).
        shutil.rmtree(folder, ignore_errors=True)


def _read(files: list[tuple[Path, str]]) -> Iterator[Any]:
    from wallet.services.importing import Upload

    for path, name in files:  # one file in memory at a time
        yield Upload(name, path.read_bytes())


def _outcome(item: Any) -> dict[str, Any]:
    outcome: dict[str, Any] = {"filename": item.filename, "state": item.state, "message": item.message}
    if item.credential is not None:
        outcome.update(credential_id=item.credential.id, name=item.credential.name, status=item.credential.status)
    if item.error:
        outcome["error"] = item.error
    return outcome


# ---------------------------------------------------------------------------------------------
# "Verify now" on a public page


def recheck(job_id: str) -> None:
    """Re-check the credential of job `job_id` (a viewer's "verify now")."""
    from wallet.services import credentials as credential_service
    from wallet.services import jobs as job_service
    from wallet.wiring import collaborators

    def work(app: Flask, session: Session, job: Any) -> None:
        built = collaborators(app)
        recheck = credential_service.reverify_credential(
            session, job.owner_id, int(job.params["credential_id"]), fetch=built.revalidating_fetch(),
            blobs=built.blobs, trigger="viewer")
        job_service.record(session, job, {"state": recheck.credential.status, "conclusive": recheck.conclusive},
                           total=1)

    _run_job(job_id, RECHECK_FAILED, work)


# ---------------------------------------------------------------------------------------------
# Connected providers (services/providers/)


def sync_provider(job_id: str) -> None:
    """Pull the credentials of the connection of job `job_id` from its provider, one outcome per credential."""
    from wallet.services import jobs as job_service
    from wallet.services import providers
    from wallet.services.errors import WalletError
    from wallet.wiring import collaborators

    def work(app: Flask, session: Session, job: Any) -> None:
        built = collaborators(app)

        def done(item: Any) -> None:
            job_service.record(session, job, _outcome(item))
            session.commit()  # each credential is its own import: kept as soon as it is done

        def total(count: int) -> None:
            job.total = count
            session.commit()

        try:
            providers.run_sync(session, built.provider_client(), built.importer(session, job.owner_id),
                               int(job.params["connection_id"]), job.owner_id, on_item=done, on_total=total)
        except WalletError:
            # The connection keeps what went wrong, in the learner's words, beside what was received.
            session.commit()
            raise
        job.total = job.done

    _run_job(job_id, SYNC_FAILED, work)


def queue_provider_syncs(app: Flask, session: Session, now: Any) -> list[str]:
    """Queue a sync of every connection not synced for PROVIDER_SYNC_SECONDS (0: none); return the job ids."""
    from wallet.services import providers
    from wallet.wiring import collaborators

    seconds = int(app.config.get("PROVIDER_SYNC_SECONDS") or 0)
    if seconds <= 0:
        return []
    queued = []
    for connection in providers.due_connections(session, now, interval=timedelta(seconds=seconds)):
        job = providers.queue_sync(session, connection.owner_id, connection.id)
        collaborators(app).enqueue_job(session, "sync_provider", job.id)
        queued.append(job.id)
    return queued


# ---------------------------------------------------------------------------------------------
# Scheduled re-checks (services/schedule.py)

# Credentials per sweep job: a sweep is one job, its progress one row.
SWEEP_BATCH = 500


def tick() -> None:
    """Queue sweeps of the credentials due now; once per tick period however many processes tick."""
    from wallet.db import utcnow
    from wallet.models.job import SWEEP
    from wallet.services import jobs as job_service
    from wallet.services import schedule
    from wallet.wiring import collaborators

    app = _app()
    built = collaborators(app)
    seconds = int(app.config.get("RECHECK_TICK_SECONDS", 300))
    now = utcnow()
    if not built.queue.lock(f"tick:{int(now.timestamp()) // seconds}", seconds):
        return  # another process (or this one) ticked in this period
    session = _session(app)
    try:
        with background_writes():
            job_service.fail_stopped(session, stale_after=built.job_stale_after)
            waiting = job_service.left_waiting(session, stale_after=built.job_stale_after)
            session.commit()
            for job in waiting:  # docs/reliability.md §11: a job whose queue entry was lost is queued again
                log.warning("queuing %s job %s again: it waited longer than %s", job.kind, job.id,
                            built.job_stale_after)
                built.queue.enqueue(job_service.TASKS[job.kind], job.id)
            job_service.purge_uploads(session, built.uploads_folder, stale_after=built.job_stale_after)
            queue_provider_syncs(app, session, now)
            if job_service.has_open(session, SWEEP, stale_after=built.job_stale_after):
                return  # the last sweep is still at work: what it holds is not queued twice
            due = schedule.due_credentials(session, now, tick=timedelta(seconds=seconds))
            queue_sweeps(app, session, due)
    finally:
        session.close()


def queue_sweeps(app: Flask, session: Session, credential_ids: list[int]) -> list[str]:
    """Add and enqueue sweep jobs for `credential_ids`, SWEEP_BATCH at a time; return their ids."""
    from wallet.models.job import SWEEP
    from wallet.services import jobs as job_service
    from wallet.wiring import collaborators

    queued = []
    for start in range(0, len(credential_ids), SWEEP_BATCH):
        chunk = credential_ids[start:start + SWEEP_BATCH]
        job = job_service.create_job(session, kind=SWEEP, owner_id=None, params={"credential_ids": chunk},
                                     total=len(chunk))
        collaborators(app).enqueue_job(session, "sweep", job.id)
        queued.append(job.id)
    return queued


def sweep(job_id: str) -> None:
    """Re-check the credentials of sweep job `job_id` (services/schedule.py `run_sweep`)."""
    from wallet.services import jobs as job_service
    from wallet.services import schedule
    from wallet.wiring import collaborators

    def work(app: Flask, session: Session, job: Any) -> None:
        built = collaborators(app)

        def done(recheck: Any) -> None:
            outcome = None
            if not recheck.conclusive or recheck.previous_status != recheck.credential.status:
                # Only what changed or could not be checked is listed; the rest is counted.
                outcome = {"credential_id": recheck.credential.id, "state": recheck.credential.status,
                           "conclusive": recheck.conclusive, "previous": recheck.previous_status}
            job_service.record(session, job, outcome)
            if job.done % 50 == 0:  # the sweep commits its re-checks in batches; the job follows them
                session.commit()

        summary = schedule.run_sweep(
            app.extensions["wallet.sessionmaker"], list(job.params.get("credential_ids", [])),
            fetch=built.revalidating_fetch(), blobs=built.blobs,
            per_host=int(app.config["RECHECK_PER_HOST"]), workers=int(app.config["RECHECK_WORKERS"]), done=done)
        for _ in range(summary.missing + summary.failed):  # deleted meanwhile, or unreadable: counted
            job_service.record(session, job)

    _run_job(job_id, SWEEP_FAILED, work)


# ---------------------------------------------------------------------------------------------
# Credentials an OID4VCI issuer promised for later (services/oid4vci/)

OFFER_FAILED = "The issuer did not deliver the credential it had promised. Take the offer again, or ask the issuer."


def receive_deferred(job_id: str) -> None:
    """Poll the issuer of job `job_id` for the credentials it deferred, importing each as it comes."""
    from wallet.services import jobs as job_service
    from wallet.services import oid4vci
    from wallet.services.errors import WalletError
    from wallet.wiring import collaborators

    def work(app: Flask, session: Session, job: Any) -> None:
        built = collaborators(app)
        holder = oid4vci.holder_for(session, job.owner_id, secret_key=str(app.config["SECRET_KEY"]))
        session.commit()

        def done(item: Any) -> None:
            if isinstance(item, WalletError):
                job_service.record(session, job, {"filename": None, "state": "rejected", "message": str(item),
                                                  "error": type(item).__name__})
            else:
                job_service.record(session, job, _outcome(item))
            session.commit()

        oid4vci.run_deferred(session, built.provider_client(), built.importer(session, job.owner_id), holder, job,
                             on_item=done, give_up_after=float(app.config["OFFER_DEFERRED_SECONDS"]))

    _run_job(job_id, OFFER_FAILED, work)
