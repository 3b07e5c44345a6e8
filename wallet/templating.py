"""Template helpers shared by every page."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from flask import Flask, current_app

from wallet.services.verification.states import STATES, state_label, state_of

# Main navigation, in order; an entry shows once its blueprint is registered.
NAV_ITEMS = (
    ("main.index", "Dashboard"),
    ("credentials.index", "Credentials"),
    ("credentials.add", "Add"),
    ("pathways.index", "Pathways"),
    ("skills.index", "Skills"),
    ("portfolio.index", "Portfolios"),
    ("settings.index", "Settings"),
)


def has_endpoint(endpoint: str) -> bool:
    """Return whether the app serves `endpoint`."""
    return endpoint in current_app.view_functions


def nav_items() -> list[tuple[str, str]]:
    """Return the (endpoint, label) pairs of the main navigation that this app serves."""
    return [(endpoint, label) for endpoint, label in NAV_ITEMS if has_endpoint(endpoint)]


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


def credential_state(credential: Any) -> str:
    """Say a stored credential's state in the product's words, dated where the state has a date."""
    return state_label(credential.status, expires=format_date(credential.expires_at),
                       valid_from=format_date(credential.valid_from or credential.issued_at))


def state_words_json() -> dict[str, dict[str, Any]]:
    """Return the table of state words as plain data, for a page's script to read."""
    return {status: state.to_dict() for status, state in STATES.items()}


def register_templating(app: Flask) -> None:
    """Expose the helpers to templates."""
    app.jinja_env.globals.update(has_endpoint=has_endpoint, nav_items=nav_items, state_of=state_of,
                                 state_label=state_label, state_words_json=state_words_json)
    app.jinja_env.filters.update(time_ago=time_ago, format_date=format_date)
