"""Rendered fragments of public pages, kept in this process and found by what they show.

A key holds everything the fragment shows that can change (read from the database on each view,
see public_view.CardFacts), so a fragment is never stale: an edit or a fresh check gives a new
key, and the old fragment ages out. Each process keeps its own (no invalidation to share).
"""
from __future__ import annotations

import threading
from collections.abc import Hashable
from typing import NamedTuple

from cachetools import LRUCache
from markupsafe import Markup


class Fragment(NamedTuple):
    """A portfolio entry as rendered (HTML): its `<link rel=alternate>` in the head, and its list item."""

    head: Markup
    entry: Markup


class FragmentCache:
    """Fragments by key, bounded in characters; the least recently used go first. Thread-safe."""

    def __init__(self, max_chars: int) -> None:
        self._cache: LRUCache[Hashable, Fragment] = LRUCache(max_chars, getsizeof=lambda f: len(f.head) + len(f.entry))
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Fragment | None:
        """Return the fragment kept under `key`, or None."""
        with self._lock:
            return self._cache.get(key)

    def put(self, key: Hashable, fragment: Fragment) -> None:
        """Keep `fragment` under `key` (unless it alone is larger than the whole cache)."""
        with self._lock:
            try:
                self._cache[key] = fragment
            except ValueError:
                pass
