"""Scheduled re-checks: which stored credentials are due, and the sweep that re-checks them.

docs/reliability.md §12: every credential whose result could change without the learner doing
anything is re-checked at least every 24 hours. What could change is decided from what is stored:
a hosted OB 2.0 copy (the issuer may revoke or change it), an issuer key found through the web
(did:web, an https origin; a did:key or did:jwk never changes), a status list in the credential, or an expiry
date. Each credential has its own slot in the day (from a hash of its id), so the checks are spread
over the day instead of all at midnight.

`run_sweep` is the one place a sweep's work is done; `wallet worker`'s tick, the embedded
scheduler and `wallet reverify --enqueue` all come here through the `sweep` task.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from wallet.models.credential import Credential
from wallet.services import credentials as credential_service
from wallet.services.blobs import BlobStore
from wallet.services.errors import NotFoundError
from wallet.services.verification.fetching import Fetch

DAY = timedelta(days=1)
# docs/reliability.md §12: at most this many checks at once against one issuer host (RECHECK_PER_HOST).
DEFAULT_PER_HOST = 4
FIXED_KEY_DIDS = ("did:key:", "did:jwk:")


def slot_of(credential_id: int) -> timedelta:
    """Return the credential's time of day for its daily re-check (stable, spread evenly)."""
    digest = hashlib.sha256(f"recheck:{credential_id}".encode()).digest()
    return timedelta(seconds=int.from_bytes(digest[:8], "big") % int(DAY.total_seconds()))


def last_slot(credential_id: int, at: datetime) -> datetime:
    """Return the latest time at or before `at` that is the credential's slot."""
    midnight = datetime(at.year, at.month, at.day, tzinfo=timezone.utc)
    slot = midnight + slot_of(credential_id)
    return slot if slot <= at else slot - DAY


def could_change(credential: Credential) -> bool:
    """Whether the credential's result could change without the learner doing anything."""
    return _changes_by_fields(credential.securing, credential.expires_at, credential.verified_issuer) or \
        _has_status(credential.document if isinstance(credential.document, dict) else {})


def _changes_by_fields(securing: str | None, expires_at: datetime | None, verified_issuer: str | None) -> bool:
    if securing == "hosted" or expires_at is not None:
        return True
    # A key found on the web (did:web, an https origin) may be rotated or withdrawn; a key that is its
    # own identifier (did:key, did:jwk) cannot.
    return bool(verified_issuer) and not str(verified_issuer).startswith(FIXED_KEY_DIDS)


def _has_status(document: dict) -> bool:
    # VC Data Model 2.0 §4.10 `credentialStatus`; OB 2.0 `revocationList`; a wrapped VC-JWT payload's `vc`.
    if "credentialStatus" in document or "revocationList" in document:
        return True
    inner = document.get("vc")
    return isinstance(inner, dict) and "credentialStatus" in inner


def due_credentials(session: Session, now: datetime, *, tick: timedelta) -> list[int]:
    """Return the ids of credentials due for their daily re-check at the tick `now` (one tick ahead).

    A credential is due when its last check (or failed attempt) is older than its slot, looked at
    one tick ahead, so that none goes longer than a day between checks and none is checked twice for
    one slot.
    """
    due: list[int] = []
    undecided: list[int] = []
    rows = session.execute(select(Credential.id, Credential.checked_at, Credential.recheck_failed_at,
                                  Credential.securing, Credential.expires_at, Credential.verified_issuer)
                           .order_by(Credential.id))
    for credential_id, checked_at, failed_at, securing, expires_at, verified_issuer in rows:
        last = max(filter(None, (checked_at, failed_at)))
        if last >= last_slot(credential_id, now + tick) - tick:
            continue
        (due if _changes_by_fields(securing, expires_at, verified_issuer) else undecided).append(credential_id)
    # Only the few left undecided have their document read, a chunk at a time.
    for start in range(0, len(undecided), 500):
        chunk = undecided[start:start + 500]
        for credential_id, document in session.execute(select(Credential.id, Credential.document)
                                                       .where(Credential.id.in_(chunk))):
            if _has_status(document if isinstance(document, dict) else {}):
                due.append(credential_id)
    return sorted(due)


def run_sweep(
    session: Session,
    credential_ids: Sequence[int],
    *,
    fetch: Fetch,
    blobs: BlobStore,
    per_host: int = DEFAULT_PER_HOST,
    done: Callable[[credential_service.Recheck | None], None] = lambda _recheck: None,
) -> None:
    """Re-check each credential in `credential_ids`, calling `done` after each (it commits).

    The checks run one after another, so never more than one (at most `per_host`) at once per issuer
    host. A credential deleted since the sweep was queued is skipped (`done(None)`).
    """
    identities: dict[int, list[str]] = {}
    for owner_id, credential_id in _owners(session, credential_ids):
        if owner_id is None:
            done(None)
            continue
        if owner_id not in identities:
            identities[owner_id] = credential_service.learner_identities(session, owner_id)
        try:
            recheck = credential_service.reverify_credential(
                session, owner_id, credential_id, fetch=fetch, blobs=blobs, trigger="scheduled",
                recipients=identities[owner_id])
        except NotFoundError:  # deleted meanwhile, or its stored original is gone: nothing to check
            session.rollback()
            done(None)
            continue
        done(recheck)


def _owners(session: Session, credential_ids: Iterable[int]) -> list[tuple[int | None, int]]:
    ids = list(credential_ids)
    owners = dict(session.execute(select(Credential.id, Credential.owner_id).where(Credential.id.in_(ids))).all()) \
        if ids else {}
    return [(owners.get(credential_id), credential_id) for credential_id in ids]
