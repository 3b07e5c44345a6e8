"""Public page views, counted without a database write per view and written in batches.

A view adds one to a pending count, in Redis when REDIS_URL is set (one HINCRBY, shared by every
process) or in this process's memory otherwise. At most once per `flush_seconds` (across processes
with Redis, through a lock key) the pending counts are taken and added to the rows in one UPDATE per
page. With `flush_seconds` 0 every view is written at once. Nothing about the viewer is kept
(docs/security.md E-cases): only a counter per page. Counts still pending in memory when a
process stops are lost; they are counts of views, not data of the learner.
"""
from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable

import redis
from sqlalchemy import update
from sqlalchemy.orm import Session

from wallet.models.portfolio import CredentialShare, Portfolio

PORTFOLIO = "portfolio"
SHARE = "share"
_COLUMNS = {PORTFOLIO: Portfolio, SHARE: CredentialShare}


class ViewCounts:
    """Pending view counts per page, flushed to the database at most once per `flush_seconds`."""

    def __init__(self, *, flush_seconds: float, redis_url: str | None = None, key_prefix: str = "wallet",
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.flush_seconds = flush_seconds
        self._clock = clock
        self._redis = redis.Redis.from_url(redis_url) if redis_url else None
        self._prefix = f"{key_prefix}:views"
        self._pending: Counter[tuple[str, int]] = Counter()
        self._lock = threading.Lock()
        self._last_flush = clock()

    def count(self, kind: str, target_id: int) -> None:
        """Count one view of a page (`PORTFOLIO` or `SHARE`) by its row id."""
        if self._redis is not None:
            self._redis.hincrby(f"{self._prefix}:{kind}", str(target_id), 1)
            return
        with self._lock:
            self._pending[(kind, target_id)] += 1

    def is_due(self) -> bool:
        """Tell whether the pending counts should be written now (this process's last flush is old enough)."""
        return self._clock() - self._last_flush >= self.flush_seconds

    def flush(self, session: Session) -> int:
        """Add the pending counts to the rows (the caller commits); return how many pages were updated.

        Call it first in a transaction (as the per-view UPDATE was: docs/reliability.md §7).
        """
        self._last_flush = self._clock()
        taken = self._take()
        for (kind, target_id), views in taken.items():
            model = _COLUMNS[kind]
            values = {"view_count": model.view_count + views}
            if model is Portfolio:
                values["updated_at"] = Portfolio.updated_at  # a view is not an edit
            session.execute(update(model).where(model.id == target_id).values(**values)
                            .execution_options(synchronize_session=False))
        return len(taken)

    def _take(self) -> Counter[tuple[str, int]]:
        if self._redis is None:
            with self._lock:
                taken, self._pending = self._pending, Counter()
            return taken
        # One process flushes per period; the others leave the counts for it.
        if self.flush_seconds > 0 and not self._redis.set(f"{self._prefix}:flushing", 1, nx=True,
                                                           px=max(1, int(self.flush_seconds * 1000))):
            return Counter()
        taken: Counter[tuple[str, int]] = Counter()
        for kind in _COLUMNS:
            key = f"{self._prefix}:{kind}"
            pipeline = self._redis.pipeline(transaction=True)
            pipeline.hgetall(key)
            pipeline.delete(key)
            counts, _ = pipeline.execute()
            for target_id, views in counts.items():
                taken[(kind, int(target_id))] += int(views)
        return taken
