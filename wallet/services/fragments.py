"""Rendered fragments of public pages, kept in this process and found by what they show.

A key holds everything the fragment shows that can change (read from the database on each view,
see public_view.CardFacts), so a fragment is never stale: an edit or a fresh check gives a new
key, and the old fragment ages out. Each process keeps its own (no invalidation to share).
"""
from __future__ import annotations

import threading
from collections.abc import Hashable
from typing import Any, NamedTuple

from cachetools import LRUCache
from markupsafe import Markup


class Fragment(NamedTuple):
    """A portfolio entry as rendered (HTML): its `<link rel=alternate>` in the head, and its list item."""

    head: Markup
    entry: Markup


class CachedPage(NamedTuple):
    """A whole page as rendered (UTF-8, with the CSRF stand-in), and the SHA-256 of those bytes."""

    body: bytes
    digest: str


Cached = Fragment | CachedPage


def _size(value: Cached) -> int:
    return len(value.body) if isinstance(value, CachedPage) else len(value.head) + len(value.entry)


class FragmentCache:
    """Fragments and pages by key, bounded in characters (bytes for pages); the least recently used go first.

    Thread-safe.
    """

    def __init__(self, max_chars: int) -> None:
        self._cache: LRUCache[Hashable, Cached] = LRUCache(max_chars, getsizeof=_size)
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any:
        """Return the fragment or page kept under `key`, or None."""
        with self._lock:
            return self._cache.get(key)

    def put(self, key: Hashable, value: Cached) -> None:
        """Keep `value` under `key` (unless it alone is larger than the whole cache)."""
        with self._lock:
            try:
                self._cache[key] = value
            except ValueError:
                pass
