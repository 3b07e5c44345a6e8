"""A document reached in one OB 2.0 verification run, and the signal that the run can go no further."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class _Node:
    """A document, and the URL whose server vouches for it.

    `source` is the URL that was asked for (a redirect is the asked host's own choice), also for a
    node embedded in a fetched document; None for the presented, unverified input. `url` is set
    only when the node itself was fetched.
    """

    document: dict[str, Any]
    source: str | None
    url: str | None = None


class _Stop(Exception):
    """Nothing more can usefully be checked; the checks so far say why."""
