"""Dates, times and sizes in words, for pages and for the sentences services write; plain Python, no Flask.

Templates use them as the `time_ago`, `format_date` and `describe_size` filters (registered in templating.py).
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from wallet.services.verification.states import state_label, state_of


def time_ago(moment: datetime | None, now: datetime | None = None) -> str:
    """Say how long ago `moment` was, in words ("3 min ago")."""
    if moment is None:
        return "never"
    now = now or datetime.now(timezone.utc)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    seconds = int((now - moment).total_seconds())
    if seconds < 0:
        return "just now"
    for size, unit in ((86400 * 365, "year"), (86400 * 30, "month"), (86400, "day"), (3600, "hour"), (60, "min")):
        if seconds >= size:
            count = seconds // size
            plural = "s" if count > 1 and unit != "min" else ""
            return f"{count} {unit}{plural} ago"
    return "just now"


def format_date(moment: datetime | None) -> str:
    """Format a date for people: 5 March 2026."""
    if moment is None:
        return ""
    return f"{moment.day} {moment:%B %Y}"


def describe_size(size: int) -> str:
    """Say a size limit in plain words: "10 MB", "200 KB"."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.3g} MB"
    return f"{max(size // 1024, 1)} KB"


def credential_state(credential: Any) -> str:
    """Say a stored credential's state in the product's words, dated where the state has a date."""
    return state_label(credential.status, expires=format_date(credential.expires_at),
                       valid_from=format_date(credential.valid_from or credential.issued_at))


def state_word(status: str) -> str:
    """Say a state in the product's words, in the form without a date (docs/design.md)."""
    return state_of(status).label
