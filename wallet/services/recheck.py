"""Re-check many stored credentials in one sweep: the network is waited on concurrently, documents once.

A sweep records each re-check exactly as `credentials.reverify_credential` does (the same states,
the same dated history, an unreachable issuer keeps the last state), but:
- verifications run on a thread pool, so waiting on one issuer does not hold up the others;
- at most `per_host` requests are in flight to any one host, so a sweep never floods an issuer;
- every document is fetched at most once per sweep (`SweepFetch`), whatever how many credentials
  read it (an issuer profile, a BadgeClass, a status list, a did:web document), and a failure is
  remembered too, so an issuer that is down costs one attempt; status lists are decoded once per
  content (verification/status.py), so a list shared by thousands of credentials is read once;
- connections are kept alive and shared through the guarded fetcher's pools (services/http.py).

The database is only touched by the thread that called `sweep`: it reads a chunk of originals in a
short transaction, and writes finished re-checks in batches, one commit per batch, so SQLite's one
writer is never held while the network is waited on, and PostgreSQL sees the same writes.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from wallet.db import background_writes
from wallet.models.credential import Credential
from wallet.services.blobs import BlobStore
from wallet.services.credentials import Recheck, Reverified, learner_identities, record_recheck, verify_stored
from wallet.services.errors import NotFoundError
from wallet.services.verification.fetching import Fetch, Fetched, Kind
from wallet.services.verification.result import Status

log = logging.getLogger(__name__)

DEFAULT_PER_HOST = 4
DEFAULT_WORKERS = 16
# Credentials read from the database at a time, and re-checks written per commit.
CHUNK = 200
BATCH = 100


@dataclass
class Outcome:
    """One re-check worth reporting: a state that changed, or an issuer that could not be reached."""

    credential_id: int
    name: str
    previous_status: str
    status: str
    conclusive: bool


@dataclass
class SweepSummary:
    """What one sweep did."""

    checked: int = 0
    unchanged: int = 0
    changed: list[Outcome] = field(default_factory=list)
    unreachable: list[Outcome] = field(default_factory=list)
    missing: int = 0  # ids with no credential (deleted before or during the sweep)
    failed: int = 0  # verifications that raised: logged, nothing recorded for them
    fetches: int = 0  # documents fetched over the network (each at most once)
    seconds: float = 0.0


@dataclass
class _Memo:
    done: threading.Event = field(default_factory=threading.Event)
    fetched: Fetched | None = None
    error: BaseException | None = None


class SweepFetch:
    """A `Fetch` the threads of one sweep share: each document once, at most `per_host` at a time per host.

    Threads that ask for a document being fetched wait for that fetch and get its answer (or its
    error) instead of asking again. What was fetched is kept until the sweep ends.
    """

    def __init__(self, fetch: Fetch, per_host: int = DEFAULT_PER_HOST) -> None:
        if per_host < 1:
            raise ValueError("per_host must be at least 1")
        self._fetch = fetch
        self._per_host = per_host
        self._lock = threading.Lock()
        self._documents: dict[tuple[str, str], _Memo] = {}
        self._hosts: dict[str, threading.BoundedSemaphore] = {}
        self._in_flight: dict[str, int] = {}
        self.fetches = 0
        self.most_in_flight: dict[str, int] = {}  # per host, the most requests that were in flight at once

    def __call__(self, url: str, *, kind: Kind = "json") -> Fetched:
        key = (url, kind)
        with self._lock:
            memo = self._documents.get(key)
            owner = memo is None
            if memo is None:
                memo = self._documents[key] = _Memo()
        if owner:
            try:
                memo.fetched = self._fetch_once(url, kind)
            except BaseException as error:
                memo.error = error
            finally:
                memo.done.set()
        else:
            memo.done.wait()
        if memo.error is not None:
            raise memo.error
        assert memo.fetched is not None
        return memo.fetched

    def _fetch_once(self, url: str, kind: Kind) -> Fetched:
        host = (urlsplit(url).hostname or "").lower()
        with self._lock:
            gate = self._hosts.setdefault(host, threading.BoundedSemaphore(self._per_host))
        with gate:
            with self._lock:
                self.fetches += 1
                self._in_flight[host] = self._in_flight.get(host, 0) + 1
                self.most_in_flight[host] = max(self.most_in_flight.get(host, 0), self._in_flight[host])
            try:
                return self._fetch(url, kind=kind)
            finally:
                with self._lock:
                    self._in_flight[host] -= 1


@dataclass(frozen=True)
class _Job:
    credential_id: int
    owner_id: int
    original: bytes
    content_type: str | None
    filename: str | None
    source_url: str | None
    recipients: tuple[str, ...]


def sweep(
    session_factory: Callable[[], Session],
    credential_ids: Iterable[int],
    *,
    fetch: Fetch,
    blobs: BlobStore,
    per_host: int = DEFAULT_PER_HOST,
    workers: int = DEFAULT_WORKERS,
    trigger: str = "scheduled",
    on_recheck: Callable[[Recheck], None] | None = None,
) -> SweepSummary:
    """Re-check the credentials `credential_ids` and record each result; return what changed.

    `fetch` is the app's revalidating fetch (`Collaborators.revalidating_fetch()`); every document
    goes through it once. `on_recheck` is called on this thread after each re-check is committed.
    """
    if workers < 1:
        raise ValueError("workers must be at least 1")
    started = time.monotonic()
    shared = SweepFetch(fetch, per_host)
    summary = SweepSummary()
    ids = list(dict.fromkeys(credential_ids))
    identities: dict[int, tuple[str, ...]] = {}
    session = session_factory()
    # docs/reliability.md §7: SQLite transactions of this thread take the write lock when they begin.
    with background_writes(), ThreadPoolExecutor(max_workers=workers, thread_name_prefix="recheck") as pool:
        pending: dict[Future[Reverified], _Job] = {}
        try:
            ready: list[tuple[_Job, Reverified | None]] = []
            for chunk in _chunks(ids, CHUNK):
                jobs, unreadable = _load(session, chunk, identities, blobs)
                summary.missing += len(chunk) - len(jobs) - unreadable
                summary.failed += unreadable
                for job in jobs:
                    pending[pool.submit(_verify, job, shared)] = job
                # Keep about two chunks in flight: enough to keep every worker busy, little memory.
                while len(pending) > CHUNK:
                    ready += _collect(pending, block=True)
                    if len(ready) >= BATCH:
                        _record(session, ready, blobs, trigger, summary, on_recheck)
                        ready = []
            while pending:
                ready += _collect(pending, block=True)
                if len(ready) >= BATCH or not pending:
                    _record(session, ready, blobs, trigger, summary, on_recheck)
                    ready = []
        except BaseException:
            for future in pending:
                future.cancel()
            raise
        finally:
            session.rollback()
            session.close()
    summary.fetches = shared.fetches
    summary.seconds = time.monotonic() - started
    log.info("re-checked %d credential(s) in %.1f s with %d fetch(es)", summary.checked, summary.seconds,
             summary.fetches)
    return summary


def _chunks(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _load(session: Session, chunk: Sequence[int], identities: dict[int, tuple[str, ...]],
          blobs: BlobStore) -> tuple[list[_Job], int]:
    """Read the originals of `chunk` (and their learners' identities) in one short transaction.

    Return the jobs, and how many credentials had no readable original (logged, left as they are).
    """
    rows = session.execute(
        select(Credential.id, Credential.owner_id, Credential.original_sha256, Credential.original_type,
               Credential.original_filename, Credential.source_url).where(Credential.id.in_(chunk))
    ).all()
    jobs, unreadable = [], 0
    for credential_id, owner_id, sha256, content_type, filename, source_url in sorted(rows, key=lambda r: r[0]):
        if owner_id not in identities:
            identities[owner_id] = tuple(learner_identities(session, owner_id))
        try:
            original = blobs.get(sha256)
        except NotFoundError:
            log.error("re-check of credential %d: its original %s cannot be read", credential_id, sha256)
            unreadable += 1
            continue
        jobs.append(_Job(credential_id, owner_id, original, content_type, filename, source_url,
                         identities[owner_id]))
    session.rollback()  # end the read: nothing is held while the network is waited on
    return jobs, unreadable


def _verify(job: _Job, fetch: Fetch) -> Reverified:
    return verify_stored(job.original, content_type=job.content_type, filename=job.filename,
                         source_url=job.source_url, fetch=fetch, recipients=job.recipients)


def _collect(pending: dict[Future[Reverified], _Job], *, block: bool) -> list[tuple[_Job, Reverified | None]]:
    finished, _ = wait(pending, timeout=None if block else 0, return_when=FIRST_COMPLETED)
    collected: list[tuple[_Job, Reverified | None]] = []
    for future in finished:
        job = pending.pop(future)
        try:
            collected.append((job, future.result()))
        except Exception:  # a verifier defect: report it, record nothing, go on with the others
            log.exception("re-check of credential %d failed", job.credential_id)
            collected.append((job, None))
    return collected


def _record(session: Session, ready: list[tuple[_Job, Reverified | None]], blobs: BlobStore, trigger: str,
            summary: SweepSummary, on_recheck: Callable[[Recheck], None] | None) -> None:
    """Write a batch of finished re-checks in one transaction."""
    summary.failed += sum(1 for _, reverified in ready if reverified is None)
    done = [(job, reverified) for job, reverified in ready if reverified is not None]
    if not done:
        return
    credentials = {c.id: c for c in session.scalars(
        select(Credential).where(Credential.id.in_([job.credential_id for job, _ in done]))
        .options(selectinload(Credential.versions), selectinload(Credential.tags))
    )}
    rechecks = []
    for job, reverified in done:
        credential = credentials.get(job.credential_id)
        if credential is None:  # deleted while it was being re-checked
            summary.missing += 1
            continue
        recheck = record_recheck(session, credential, reverified, blobs=blobs, trigger=trigger)
        rechecks.append((recheck, Outcome(credential.id, credential.name, recheck.previous_status,
                                          credential.status, recheck.conclusive)))
    session.commit()
    for recheck, outcome in rechecks:
        summary.checked += 1
        if not outcome.conclusive:
            summary.unreachable.append(outcome)
        elif outcome.previous_status != outcome.status:
            summary.changed.append(outcome)
        else:
            summary.unchanged += 1
        if on_recheck is not None:
            on_recheck(recheck)
    session.expunge_all()  # a sweep of thousands keeps only one batch in memory


# ---------------------------------------------------------------------------------------------
# Which credentials to re-check


def could_change(credential: Credential, now: datetime | None = None) -> bool:
    """Return whether a re-check of `credential` could give another result than its last one.

    It could when verification reads something the issuer can change (an OB 2.0 hosted copy,
    BadgeClass, profile, key or revocation list; a status list; a key published on the web, as
    did:web or an https URL), when a date it turns on is still ahead, or when the last attempt
    could not reach the issuer. A credential verified offline (did:key, did:jwk), with no status
    and no date ahead, gives the same answer forever.
    """
    now = now or datetime.now(timezone.utc)
    if credential.format_id == "ob2" or credential.securing == "hosted" or credential.recheck_failed_at is not None:
        return True
    if credential.status in (str(Status.UNVERIFIABLE), str(Status.ERROR)):
        return True
    if any(moment is not None and moment > now for moment in (credential.expires_at, credential.valid_from)):
        return True
    document: Any = credential.document if isinstance(credential.document, dict) else {}
    # VC Data Model 2.0 §4.10 `credentialStatus`, in the credential or in a VC-JWT payload's `vc`.
    inner = document.get("vc") if isinstance(document.get("vc"), dict) else {}
    if document.get("credentialStatus") or inner.get("credentialStatus"):
        return True
    if credential.verified_issuer and not str(credential.verified_issuer).startswith(("did:key:", "did:jwk:")):
        return True  # a key found on the web (did:web, an https origin) may be rotated or withdrawn
    return any(_is_web_reference(reference) for reference in _issuer_references(document))


def _issuer_references(document: dict[str, Any]) -> Iterator[Any]:
    issuer = document.get("issuer")
    yield issuer.get("id") if isinstance(issuer, dict) else issuer
    proofs = document.get("proof")
    for proof in proofs if isinstance(proofs, list) else [proofs]:
        if isinstance(proof, dict):
            yield proof.get("verificationMethod")


def _is_web_reference(reference: Any) -> bool:
    return isinstance(reference, str) and reference.startswith(("did:web:", "https://", "http://"))
