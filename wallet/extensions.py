"""Flask extensions, created unbound here and bound in create_app()."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please log in to see that page."
login_manager.login_message_category = "info"
login_manager.session_protection = "basic"

csrf = CSRFProtect()


def session_max_idle(config: Mapping[str, Any]) -> timedelta:
    """Return how long a log-in session lives unused: as long as the cookies that carry it."""
    return max(config["PERMANENT_SESSION_LIFETIME"], config["REMEMBER_COOKIE_DURATION"])


@login_manager.user_loader
def load_user(secret: str):
    """Return the user of the log-in session whose secret the cookie carries, or None once it ended (F7).

    Flask-Login keeps the secret in the session cookie and signs it into the remember-me cookie; the
    session itself lives in the database, so log-out, a password reset or "log out everywhere" ends
    every copy of either cookie.
    """
    from flask import current_app
    from sqlalchemy.exc import OperationalError

    from wallet.db import get_session
    from wallet.services import login_sessions

    session = get_session()
    record = login_sessions.find_session(session, secret, max_idle=session_max_idle(current_app.config))
    if record is None:
        return None
    if record in session.dirty:
        # last_seen_at, written at most every few minutes; losing one write to a busy database is harmless.
        try:
            session.commit()
        except OperationalError:
            session.rollback()
    return record.user
