"""Template helpers shared by every page; the one place filters, globals and context are registered."""
from __future__ import annotations

from typing import Any

from flask import Flask, current_app
from flask_login import current_user

from wallet.db import get_session, utcnow
from wallet.formatting import describe_size, format_date, time_ago
from wallet.models.portfolio import VISIBILITIES
from wallet.services import pathways as pathway_service
from wallet.services.importing import RESULT_WORDS
from wallet.services.sanitize import clean_text, external_link, render_markdown, short_identifier

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


def pathway_cards() -> list[pathway_service.PathwayProgress]:
    """Return the learner's pathway progress for the dashboard (read only when a template asks)."""
    if not current_user.is_authenticated:
        return []
    return pathway_service.all_progress(get_session(), current_user.id)


def state_words_json() -> dict[str, dict[str, Any]]:
    """Return the table of state words as plain data, for a page's script to read."""
    return {status: state.to_dict() for status, state in STATES.items()}


def register_templating(app: Flask) -> None:
    """Expose the helpers to templates."""
    app.jinja_env.globals.update(has_endpoint=has_endpoint, nav_items=nav_items, state_of=state_of,
                                 state_label=state_label, state_words_json=state_words_json,
                                 import_result_words=RESULT_WORDS,
                                 # Templates render untrusted text only through the sanitiser (never `|safe`).
                                 markdown=render_markdown, external_link=external_link)
    # Credential names and skill texts come from issuers: shown through the one text cleaner (docs/security.md E8, D17).
    app.jinja_env.filters.update(time_ago=time_ago, format_date=format_date, clean_text=clean_text,
                                 short_identifier=short_identifier, describe_size=describe_size)

    @app.context_processor
    def _page_context() -> dict[str, Any]:
        # pathway_cards is a callable, so the dashboard reads pathways only when its template asks for the cards.
        return {"pathway_cards": pathway_cards, "visibilities": VISIBILITIES, "now": utcnow}
