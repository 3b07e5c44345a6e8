"""Sliding-window rate limits kept in this process's memory: log-ins, account mail, imports.

One mechanism for every limit (docs/security.md F6, A19). A limiter counts events per key over a
sliding window, is safe to share between threads, forgets the least recently used keys past a
bound, and reads the time from a clock that tests replace instead of sleeping. Keys (client
addresses, email addresses, account ids) are held only as hashes salted per limiter.

Each process keeps its own counts, so with several worker processes a limit applies per process.
"""
from __future__ import annotations

import hashlib
import math
import secrets
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, MutableMapping
from datetime import datetime, timedelta
from typing import Any

from wallet.db import utcnow

Clock = Callable[[], datetime]
EXTENSION_KEY = "wallet.ratelimit"


class RateLimiter:
    """At most `limit` events per key within any `window_seconds`; thread-safe, memory bounded."""

    def __init__(self, limit: int, window_seconds: float, *, max_keys: int = 10_000, clock: Clock = utcnow) -> None:
        if limit < 1 or window_seconds <= 0:
            raise ValueError("a rate limit needs at least one event per window and a positive window")
        self.limit = limit
        self.window = timedelta(seconds=window_seconds)
        self.max_keys = max_keys
        self._clock = clock
        self._salt = secrets.token_bytes(16)
        # Only the newest `limit` events of a key matter: they decide both "blocked" and "until when".
        self._events: OrderedDict[bytes, deque[datetime]] = OrderedDict()
        self._lock = threading.Lock()

    def is_blocked(self, key: str, now: datetime | None = None) -> bool:
        """Return whether `key` reached the limit within the window."""
        return self.retry_after(key, now) > 0

    def retry_after(self, key: str, now: datetime | None = None) -> int:
        """Return the whole seconds until `key` may act again; 0 if it may act now."""
        now = now or self._clock()
        with self._lock:
            return self._wait(self._events.get(self._digest(key)), now)

    def record(self, key: str, now: datetime | None = None) -> None:
        """Count one event for `key`, whether or not it is over the limit (a failure that happened)."""
        now = now or self._clock()
        with self._lock:
            self._append(self._digest(key), now)

    def take(self, key: str, now: datetime | None = None) -> int:
        """Count one event for `key` if it is under the limit and return 0; else count nothing and return the wait."""
        now = now or self._clock()
        digest = self._digest(key)
        with self._lock:
            wait = self._wait(self._events.get(digest), now)
            if not wait:
                self._append(digest, now)
            return wait

    def _digest(self, key: str) -> bytes:
        return hashlib.blake2b(key.encode("utf-8"), key=self._salt, digest_size=16).digest()

    def _wait(self, events: deque[datetime] | None, now: datetime) -> int:
        if not events or len(events) < self.limit:
            return 0
        remaining = (events[0] + self.window - now).total_seconds()
        return max(0, math.ceil(remaining))

    def _append(self, digest: bytes, now: datetime) -> None:
        events = self._events.setdefault(digest, deque(maxlen=self.limit))
        self._events.move_to_end(digest)
        events.append(now)
        while len(self._events) > self.max_keys:
            self._events.popitem(last=False)


class Limiters:
    """An app's limiters by name, all reading one clock (which tests may replace)."""

    def __init__(self, clock: Clock = utcnow) -> None:
        self.clock = clock
        self._limiters: dict[tuple[str, int, float], RateLimiter] = {}
        self._lock = threading.Lock()

    def get(self, name: str, limit: int, window_seconds: float) -> RateLimiter:
        """Return the limiter `name` with this limit and window, made on first use."""
        key = (name, limit, window_seconds)
        with self._lock:
            if key not in self._limiters:
                self._limiters[key] = RateLimiter(limit, window_seconds, clock=lambda: self.clock())
            return self._limiters[key]


def limiters(extensions: MutableMapping[str, Any]) -> Limiters:
    """Return the limiters kept in an app's `extensions`, making them on first use."""
    return extensions.setdefault(EXTENSION_KEY, Limiters())


def describe_wait(seconds: float) -> str:
    """Say a wait in plain words, rounded up to whole minutes: "1 minute", "12 minutes"."""
    minutes = max(1, math.ceil(seconds / 60))
    return f"{minutes} minute" if minutes == 1 else f"{minutes} minutes"
