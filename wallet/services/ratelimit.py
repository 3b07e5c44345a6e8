"""Moving-window rate limits on the `limits` library: in Redis when configured, else in this process.

One mechanism for every limit (docs/security.md F6, A19). A limiter counts events per key over a
moving window with the `limits` moving-window strategy; its storage is Redis when `REDIS_URL` is set
(so every process and host sharing that Redis shares each count, under `REDIS_KEY_PREFIX`) or this
process's memory otherwise. Keys (client addresses, email addresses, account ids) are held only as
hashes salted with a salt derived from SECRET_KEY, which every process of one deployment shares.

Time is read from a clock the limiter passes down to its storage with each call, so tests replace
the clock instead of sleeping, with either storage (the `limits` storages read `time.time()`; the
two subclasses below take the timestamp from the clock and leave the rest, the Redis Lua scripts
included, to the library).
"""
from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import threading
import time
from collections.abc import Callable, MutableMapping
from datetime import datetime
from typing import Any

import redis
from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage, RedisStorage
from limits.storage.memory import Entry
from limits.strategies import MovingWindowRateLimiter

from wallet.db import utcnow

Clock = Callable[[], datetime]
EXTENSION_KEY = "wallet.ratelimit"
_NAMESPACE = "ratelimit"


class _ClockedMemoryStorage(MemoryStorage):
    """The library's memory storage, with event times read from `clock` (a Unix timestamp)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        super().__init__()
        self.clock = clock

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        if amount > limit:
            return False
        self._MemoryStorage__schedule_expiry()  # type: ignore[attr-defined]
        with self.locks[key]:
            events = self.events.setdefault(key, [])
            timestamp = self.clock()
            entry = events[limit - amount] if len(events) > limit - amount else None
            if entry is not None and entry.atime >= timestamp - expiry:
                return False
            # The clock decides the window; the real time bounds memory (the library's sweeper
            # forgets an event once its window has passed in real time).
            new = Entry(expiry)
            new.atime = timestamp
            events[:0] = [new] * amount
            return True

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        timestamp = self.clock()
        events = self.events.get(key, [])[:limit]
        inside = [event for event in events if event.atime >= timestamp - expiry]
        if inside:
            return inside[-1].atime, len(inside)
        return timestamp, 0


class _ClockedRedisStorage(RedisStorage):
    """The library's Redis storage (its Lua scripts, atomic per key), with times read from `clock`."""

    def __init__(self, uri: str, clock: Callable[[], float], key_prefix: str,
                 pool: redis.ConnectionPool | None = None) -> None:
        super().__init__(uri, connection_pool=pool, key_prefix=key_prefix)
        self.clock = clock

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        acquired = self.lua_acquire_moving_window([self.prefixed_key(key)], [self.clock(), limit, expiry, amount])
        return bool(acquired)

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        timestamp = self.clock()
        if window := self.lua_moving_window([self.prefixed_key(key)], [timestamp - expiry, limit]):
            return float(window[0]), int(window[1])
        return timestamp, 0


Storage = _ClockedMemoryStorage | _ClockedRedisStorage


class RateLimiter:
    """At most `limit` events per key within any `window_seconds`, in its storage; thread-safe."""

    def __init__(self, limit: int, window_seconds: float, *, clock: Clock = utcnow, name: str = "limit",
                 storage: Storage | None = None, salt: bytes | None = None) -> None:
        if limit < 1 or window_seconds <= 0:
            raise ValueError("a rate limit needs at least one event per window and a positive window")
        self.limit = limit
        self.window_seconds = math.ceil(window_seconds)
        self.name = name
        self._clock = clock
        self._now: threading.local = threading.local()
        self._storage = storage or _ClockedMemoryStorage(self._timestamp)
        if storage is not None:
            storage.clock = self._timestamp
        self._salt = salt or secrets.token_bytes(16)
        self._item = RateLimitItemPerSecond(limit, self.window_seconds, namespace=_NAMESPACE)
        self._strategy = MovingWindowRateLimiter(self._storage)

    def is_blocked(self, key: str, now: datetime | None = None) -> bool:
        """Return whether `key` reached the limit within the window."""
        return self.retry_after(key, now) > 0

    def retry_after(self, key: str, now: datetime | None = None) -> int:
        """Return the whole seconds until `key` may act again; 0 if it may act now."""
        with self._at(now):
            return self._wait(self._key(key))

    def record(self, key: str, now: datetime | None = None) -> None:
        """Count one event for `key` (a failure that happened); past the limit, the key stays blocked.

        An event past the limit is not stored: the key is blocked until the oldest of its counted
        events leaves the window, as if it had not tried again.
        """
        with self._at(now):
            self._strategy.hit(self._item, *self._key(key))

    def take(self, key: str, now: datetime | None = None) -> int:
        """Count one event for `key` if it is under the limit and return 0; else count nothing and return the wait."""
        with self._at(now):
            identifiers = self._key(key)
            if self._strategy.hit(self._item, *identifiers):
                return 0
            # Another process may have freed a slot between the two calls: never report a wait of 0.
            return self._wait(identifiers) or 1

    def _key(self, key: str) -> tuple[str, str]:
        digest = hashlib.blake2b(key.encode("utf-8"), key=self._salt, digest_size=16).hexdigest()
        return self.name, digest

    def _wait(self, identifiers: tuple[str, str]) -> int:
        stats = self._strategy.get_window_stats(self._item, *identifiers)
        if stats.remaining > 0:
            return 0
        # Blocked: at least one second (an event is inside its window up to and including its end).
        # Rounded to the millisecond first, so float error never adds a second.
        return max(1, math.ceil(round(stats.reset_time - self._timestamp(), 3)))

    def _timestamp(self) -> float:
        now = getattr(self._now, "value", None) or self._clock()
        return now.timestamp()

    def _at(self, now: datetime | None) -> _FixedNow:
        return _FixedNow(self._now, now or self._clock())


class _FixedNow:
    """Hold one instant for the storage calls of one limiter operation (in this thread)."""

    def __init__(self, local: threading.local, now: datetime) -> None:
        self._local = local
        self._now = now

    def __enter__(self) -> None:
        self._local.value = self._now

    def __exit__(self, *_: object) -> None:
        self._local.value = None


def key_salt(secret: str | bytes) -> bytes:
    """Return the salt for hashed limiter keys, derived from the app's SECRET_KEY (same in every process)."""
    secret_bytes = secret.encode("utf-8") if isinstance(secret, str) else secret
    return hmac.new(secret_bytes, b"wallet rate-limit keys", hashlib.sha256).digest()[:16]


class Limiters:
    """An app's limiters by name, all on one storage and reading one clock (which tests may replace).

    With `redis_url`, counts live in Redis under `<key_prefix>:limits` and every process sharing
    that Redis (and SECRET_KEY, for `salt`) shares them; without it, in this process's memory.
    """

    def __init__(self, clock: Clock = utcnow, *, redis_url: str | None = None, key_prefix: str = "wallet",
                 salt: bytes | None = None) -> None:
        self.clock = clock
        self.redis_url = redis_url
        self._key_prefix = f"{key_prefix}:limits"
        self._salt = salt or secrets.token_bytes(16)
        self._limiters: dict[tuple[str, int, float], RateLimiter] = {}
        self._lock = threading.Lock()
        self._pool = redis.ConnectionPool.from_url(redis_url) if redis_url else None

    def get(self, name: str, limit: int, window_seconds: float) -> RateLimiter:
        """Return the limiter `name` with this limit and window, made on first use."""
        key = (name, limit, window_seconds)
        with self._lock:
            if key not in self._limiters:
                self._limiters[key] = RateLimiter(limit, window_seconds, clock=lambda: self.clock(), name=name,
                                                  storage=self._storage(), salt=self._salt)
            return self._limiters[key]

    def _storage(self) -> Storage | None:
        # One storage per limiter: each limiter passes its own instant down to its storage.
        if self.redis_url:
            return _ClockedRedisStorage(self.redis_url, time.time, self._key_prefix, self._pool)
        return None


def limiters(extensions: MutableMapping[str, Any]) -> Limiters:
    """Return the limiters kept in an app's `extensions`, making them on first use."""
    return extensions.setdefault(EXTENSION_KEY, Limiters())


def describe_wait(seconds: float) -> str:
    """Say a wait in plain words, rounded up to whole minutes: "1 minute", "12 minutes"."""
    minutes = max(1, math.ceil(seconds / 60))
    return f"{minutes} minute" if minutes == 1 else f"{minutes} minutes"
