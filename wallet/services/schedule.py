"""Scheduled re-checks: which stored credentials are due, and the sweep that re-checks them.

docs/reliability.md §12: every credential whose result could change without the learner doing
anything is re-checked at least every 24 hours. What could change is decided from what is stored
(`recheck.could_change`): a hosted OB 2.0 copy (the issuer may revoke or change it), an issuer key
found through the web (did:web, an https origin; a did:key or did:jwk never changes), a status list
in the credential, a date still ahead, or a last attempt that could not reach the issuer. Each credential has its own slot in the day (from a hash of its id), so the checks are spread
over the day instead of all at midnight.

`run_sweep` is the one place a sweep's work is done; `wallet worker`'s tick, the embedded
scheduler and `wallet reverify --enqueue` all come here through the `sweep` task.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from wallet.models.credential import Credential
from wallet.services.blobs import BlobStore
from wallet.services.credentials import Recheck
from wallet.services.recheck import DEFAULT_PER_HOST, DEFAULT_WORKERS, SweepSummary, could_change, sweep
from wallet.services.verification.fetching import Fetch

DAY = timedelta(days=1)


def slot_of(credential_id: int) -> timedelta:
    """Return the credential's time of day for its daily re-check (stable, spread evenly)."""
    digest = hashlib.sha256(f"recheck:{credential_id}".encode()).digest()
    return timedelta(seconds=int.from_bytes(digest[:8], "big") % int(DAY.total_seconds()))


def last_slot(credential_id: int, at: datetime) -> datetime:
    """Return the latest time at or before `at` that is the credential's slot."""
    midnight = datetime(at.year, at.month, at.day, tzinfo=timezone.utc)
    slot = midnight + slot_of(credential_id)
    return slot if slot <= at else slot - DAY


def due_credentials(session: Session, now: datetime, *, tick: timedelta) -> list[int]:
    """Return the ids of credentials due for their daily re-check at the tick `now` (one tick ahead).

    A credential is due when its last check (or failed attempt) is older than its slot, looked at
    one tick ahead, so that none goes longer than a day between checks and none is checked twice for
    one slot.
    """
    due: list[int] = []
    rows = session.execute(select(Credential.id, Credential.checked_at, Credential.recheck_failed_at)
                           .order_by(Credential.id))
    for credential_id, checked_at, failed_at in rows:
        last = max(filter(None, (checked_at, failed_at)))
        if last < last_slot(credential_id, now + tick) - tick:
            due.append(credential_id)
    # Only the credentials past their slot are read whole, a chunk at a time, to see what could change.
    changing: list[int] = []
    for start in range(0, len(due), 500):
        chunk = due[start:start + 500]
        changing += [credential.id for credential in session.scalars(select(Credential).where(Credential.id.in_(chunk)))
                     if could_change(credential, now)]
        session.expunge_all()
    return sorted(changing)


def run_sweep(
    session_factory: Callable[[], Session],
    credential_ids: Sequence[int],
    *,
    fetch: Fetch,
    blobs: BlobStore,
    per_host: int = DEFAULT_PER_HOST,
    workers: int = DEFAULT_WORKERS,
    done: Callable[[Recheck], None] = lambda _recheck: None,
) -> SweepSummary:
    """Re-check each credential in `credential_ids` in one concurrent sweep (services/recheck.py).

    At most `per_host` requests are in flight to one issuer host, each document is fetched once, and
    `done` is called after each re-check is committed. Credentials deleted since the sweep was queued,
    or whose original cannot be read, are counted in the summary (`missing`, `failed`).
    """
    return sweep(session_factory, credential_ids, fetch=fetch, blobs=blobs, per_host=per_host, workers=workers,
                 on_recheck=done)
