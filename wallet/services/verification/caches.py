"""In-process caches bounded by the memory they hold, not by how many entries they have.

Everything Wallet keeps in memory between verifications (fetched documents, decoded status lists,
canonical forms, whole results, decoded keys) comes from documents strangers choose. A cache
bounded by entry count can be made to hold its count times the largest entry (docs/security.md A10,
A13): 32 status lists of 16 MB each are half a gigabyte. A `ByteLRU` instead adds up the size of
every entry, key included, and evicts the least recently used ones until the total fits its byte
budget; an entry larger than the whole budget is simply not kept.

Sizes are estimated by `estimate_size`: the bytes Python gives each object (`sys.getsizeof`), added
up over everything an entry holds (containers, dataclasses and plain objects, each counted once).
Shared singletons (None, booleans, enum members) belong to no entry and count nothing. A cache whose
entries are costly to walk may size them another way (memo.py: a result's pickled length, scaled).

The budgets: fetched documents 32 MB (http.py), decoded status lists 64 MB (status.py), whole
results 32 MB (memo.py), canonical forms 16 MB and processed contexts 16 MB (jsonld.py), decoded
keys 4 MB (keys.py), signatures 1 MB (dataintegrity.py); the first four are settings (config.py).

Every cache is in `REGISTRY`: a ByteLRU (and so every `memoize`d function) and a
`cache_short_strings` function add themselves; a module keeping another cache (functools.cache on
pinned data, pyld's own) adds it. `REGISTRY.clear_all()` empties them all at once.
"""
from __future__ import annotations

import functools
import sys
import threading
import weakref
from collections.abc import Callable, Hashable, Iterator, Mapping
from dataclasses import fields, is_dataclass
from enum import Enum
from typing import Any, Generic, ParamSpec, Protocol, TypeVar

from cachetools import LRUCache

MB = 1024 * 1024
# What a cache keeps beside each entry besides the key and value: the hash table slot, the
# recency link and the (value, size) pair (measured: about 200 bytes on CPython 3.11).
ENTRY_OVERHEAD = 200
_V = TypeVar("_V")
_P = ParamSpec("_P")
_C = TypeVar("_C")


class _Clearable(Protocol):
    def clear(self) -> None: ...


class Registry:
    """Every in-process cache, so that all of them can be emptied at once (between tests, say).

    A cache is held weakly (one that belongs to an object, like a fetcher's, goes with it); a
    clearing function given to `on_clear` is held for good.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._caches: weakref.WeakSet[Any] = weakref.WeakSet()
        self._functions: list[Callable[[], None]] = []

    def add(self, cache: _C) -> _C:
        """Register a cache: anything with `clear()`, or a functools cache with `cache_clear()`."""
        if not callable(getattr(cache, "clear", None)) and not callable(getattr(cache, "cache_clear", None)):
            raise TypeError("a registered cache needs clear() or cache_clear()")
        with self._lock:
            self._caches.add(cache)
        return cache

    def on_clear(self, function: Callable[[], None]) -> None:
        """Register a function that empties a cache this module cannot hold (a library's own)."""
        with self._lock:
            self._functions.append(function)

    def clear_all(self) -> None:
        """Empty every registered cache."""
        with self._lock:
            caches, functions = list(self._caches), list(self._functions)
        for cache in caches:
            clear = getattr(cache, "clear", None)
            (clear if callable(clear) else cache.cache_clear)()
        for function in functions:
            function()

    def __iter__(self) -> Iterator[Any]:
        with self._lock:
            return iter(list(self._caches))

    def __len__(self) -> int:
        return len(self._caches)


REGISTRY = Registry()


class ByteLRU(Generic[_V]):
    """A thread-safe least-recently-used map whose entries together take at most `max_bytes`."""

    def __init__(self, max_bytes: int, *, size_of: Callable[[Any], int] | None = None) -> None:
        if max_bytes < 0:
            raise ValueError("max_bytes must not be negative")
        self._size_of = size_of or estimate_size
        self._lock = threading.Lock()
        self._entries: LRUCache[Hashable, tuple[_V, int]] = self._new(max_bytes)
        REGISTRY.add(self)

    @property
    def max_bytes(self) -> int:
        """The budget: the most bytes the entries may take together."""
        return int(self._entries.maxsize)

    @max_bytes.setter
    def max_bytes(self, max_bytes: int) -> None:
        """Change the budget, evicting the least recently used entries that no longer fit."""
        if max_bytes < 0:
            raise ValueError("max_bytes must not be negative")
        with self._lock:
            if max_bytes == self._entries.maxsize:
                return
            old = self._entries
            self._entries = self._new(max_bytes)
            for key, entry in old.items():  # least recently used first
                if entry[1] <= max_bytes:
                    self._entries[key] = entry

    @property
    def size(self) -> int:
        """The bytes the entries take now, as estimated when each was stored."""
        return int(self._entries.currsize)

    def get(self, key: Hashable) -> _V | None:
        """Return the value for `key` (and mark it recently used), or None."""
        with self._lock:
            entry = self._entries.get(key)
        return None if entry is None else entry[0]

    def put(self, key: Hashable, value: _V, *, size: int | None = None) -> bool:
        """Store `value`, evicting the least recently used entries until all fit.

        `size` is the value's size when the caller knows it better than the estimate; the key and
        the entry's own overhead are added. Return False (and keep nothing) when the entry alone
        is larger than the budget.
        """
        total = (self._size_of(value) if size is None else size) + estimate_size(key) + ENTRY_OVERHEAD
        with self._lock:
            self._entries.pop(key, None)
            if total > self._entries.maxsize:
                return False
            self._entries[key] = (value, total)
            return True

    def pop(self, key: Hashable) -> None:
        """Forget `key`, if it is there."""
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._entries.clear()

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    @staticmethod
    def _new(max_bytes: int) -> LRUCache[Hashable, tuple[_V, int]]:
        return LRUCache(maxsize=max_bytes, getsizeof=lambda entry: entry[1])


def memoize(max_bytes: int, *, size_of: Callable[[Any], int] | None = None
            ) -> Callable[[Callable[_P, _V]], Callable[_P, _V]]:
    """Like `functools.lru_cache` for pure functions of hashable arguments, bounded by bytes.

    `size_of` sizes a result (default: `estimate_size`); the arguments are always counted.
    Exceptions are not remembered. The cache is the wrapper's `cache` attribute.
    """
    def decorate(function: Callable[_P, _V]) -> Callable[_P, _V]:
        cache: ByteLRU[_V] = ByteLRU(max_bytes, size_of=size_of)

        @functools.wraps(function)
        def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _V:
            key = (args, tuple(sorted(kwargs.items()))) if kwargs else args
            hit = cache.get(key)
            if hit is not None:
                return hit
            value = function(*args, **kwargs)
            if value is not None:
                cache.put(key, value)
            return value

        wrapper.cache = cache  # type: ignore[attr-defined]
        return wrapper
    return decorate


def cache_short_strings(maxsize: int, max_chars: int) -> Callable[[Callable[[str | None], _V]], Callable[[str | None], _V]]:
    """`functools.lru_cache` for a function of one string that keeps only strings up to `max_chars`.

    As fast as lru_cache on its hits, and bounded in bytes: at most `maxsize` entries, each a short
    string and its result. A longer string is passed through uncached.
    """
    def decorate(function: Callable[[str | None], _V]) -> Callable[[str | None], _V]:
        cached = functools.lru_cache(maxsize=maxsize)(function)

        @functools.wraps(function)
        def wrapper(text: str | None) -> _V:
            if text is not None and len(text) > max_chars:
                return function(text)
            return cached(text)

        wrapper.cache_info = cached.cache_info  # type: ignore[attr-defined]
        REGISTRY.add(cached)
        return wrapper
    return decorate


def estimate_size(value: Any) -> int:
    """Estimate the bytes `value` holds: its own and everything it refers to, each object once."""
    total = 0
    seen: set[int] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if item is None or isinstance(item, (bool, Enum)) or id(item) in seen:
            continue
        seen.add(id(item))
        total += sys.getsizeof(item)
        if isinstance(item, (str, bytes, bytearray, memoryview, int, float, complex)):
            continue
        if isinstance(item, Mapping):
            for key, member in item.items():
                stack.append(key)
                stack.append(member)
        elif isinstance(item, (list, tuple, set, frozenset)):
            stack.extend(item)
        elif is_dataclass(item) and not isinstance(item, type):
            stack.extend(getattr(item, f.name, None) for f in fields(item))
        elif hasattr(item, "__dict__") and not isinstance(item, type):
            stack.append(vars(item))
    return total
