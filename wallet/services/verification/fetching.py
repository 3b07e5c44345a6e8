"""The fetch callable the verification core is given; the app passes services/http.py's guarded one.

The core never opens a socket itself. A `Fetch` takes a URL and what kind of document is expected
and returns a `Fetched`, or raises `FetchError` (network failure, refused destination, too large).
Non-2xx HTTP answers raise `FetchError` with `status_code` set (OB 2.0: 410 Gone means revoked).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Literal, Protocol

from wallet.services.verification.errors import FetchError

# What the caller expects; picks the Accept header and the size cap.
Kind = Literal["json", "jwt", "image", "any"]


@dataclass(frozen=True)
class Fetched:
    url: str  # the URL asked for (before any rewrite or redirect): every rule sees this one
    final_url: str  # where the bytes finally came from, after redirects (original URL space)
    status_code: int
    content_type: str  # lower-cased media type without parameters, "" if none
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    from_cache: bool = False

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


class Fetch(Protocol):
    def __call__(self, url: str, *, kind: Kind = "json") -> Fetched: ...


def offline_fetch(url: str, *, kind: Kind = "json") -> Fetched:
    """A fetch that refuses everything: for verifying with no network at all."""
    raise FetchError(f"Not fetched (offline): {url}")
