"""Log-in sessions kept on the server: started at log-in, found per request, ended at log-out (F7).

The browser's cookie carries a random secret; the database keeps only its SHA-256, so a copy of
the database opens no session. Ending a session deletes its row: every cookie carrying the secret
(the session cookie, the remember-me cookie, a copy of either) stops working at once.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from ua_parser import parse as parse_user_agent

from wallet.db import utcnow
from wallet.models import LoginSession
from wallet.services.errors import NotFoundError
from wallet.services.tokens import hash_secret, new_secret

USER_AGENT_MAX_LENGTH = 200
MAX_SECRET_LENGTH = 200
# Writing last_seen_at on every request would turn each page view into a write; a few minutes is enough.
LAST_SEEN_RESOLUTION = timedelta(minutes=5)


def start_session(session: Session, *, user_id: int, user_agent: str | None, max_idle: timedelta,
                  now: datetime | None = None) -> str:
    """Record a new session for the user and return its secret, for the cookie only (never stored)."""
    now = now or utcnow()
    # Sessions of this account that nobody used within their lifetime go now.
    session.execute(delete(LoginSession).where(LoginSession.user_id == user_id,
                                               LoginSession.last_seen_at < now - max_idle)
                    .execution_options(synchronize_session=False))
    secret = new_secret()
    agent = " ".join((user_agent or "").split())[:USER_AGENT_MAX_LENGTH] or None
    session.add(LoginSession(user_id=user_id, secret_hash=hash_secret(secret), user_agent=agent,
                             created_at=now, last_seen_at=now))
    session.flush()
    return secret


def find_session(session: Session, secret: str | None, *, max_idle: timedelta,
                 now: datetime | None = None) -> LoginSession | None:
    """Return the live session for a cookie's secret, or None; a session unused past `max_idle` is ended.

    May write (last_seen_at, at most every LAST_SEEN_RESOLUTION, or the deletion of an expired
    session); the caller commits.
    """
    if not secret or len(secret) > MAX_SECRET_LENGTH:
        return None
    now = now or utcnow()
    record = session.scalar(select(LoginSession).where(LoginSession.secret_hash == hash_secret(secret)))
    if record is None:
        return None
    if record.last_seen_at < now - max_idle:
        session.delete(record)
        session.flush()
        return None
    if now - record.last_seen_at >= LAST_SEEN_RESOLUTION:
        record.last_seen_at = now
    return record


def describe_device(user_agent: str | None) -> str:
    """Return a short name for the browser a User-Agent header names, like "Firefox on Windows"."""
    parsed = parse_user_agent(user_agent or "")
    browser = parsed.user_agent.family if parsed.user_agent and parsed.user_agent.family != "Other" else None
    system = parsed.os.family if parsed.os and parsed.os.family != "Other" else None
    device = parsed.device.family if parsed.device and parsed.device.family not in ("Other", "Mac") else None
    if device and device.startswith("Generic"):
        device = None
    if system and device and device != system:
        system = f"{system} ({device})"
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or "Unknown browser"


def is_current(record: LoginSession, secret: str | None) -> bool:
    """Return whether `record` is the session whose cookie carries `secret`."""
    return bool(secret) and record.secret_hash == hash_secret(secret or "")


def list_sessions(session: Session, *, owner_id: int, max_idle: timedelta,
                  now: datetime | None = None) -> list[LoginSession]:
    """Return the owner's live sessions, most recently used first."""
    now = now or utcnow()
    query = (select(LoginSession).where(LoginSession.user_id == owner_id, LoginSession.last_seen_at >= now - max_idle)
             .order_by(LoginSession.last_seen_at.desc(), LoginSession.id.desc()))
    return list(session.scalars(query))


def end_session(session: Session, secret: str | None) -> None:
    """End the session whose cookie carries `secret` (nothing happens for an unknown one)."""
    if secret and len(secret) <= MAX_SECRET_LENGTH:
        session.execute(delete(LoginSession).where(LoginSession.secret_hash == hash_secret(secret))
                        .execution_options(synchronize_session=False))


def end_session_by_id(session: Session, *, owner_id: int, session_id: int) -> None:
    """End one of the owner's sessions; another learner's session id is NotFoundError."""
    record = session.get(LoginSession, session_id)
    if record is None or record.user_id != owner_id:
        raise NotFoundError("That session has already ended.")
    session.delete(record)
    session.flush()


def end_all_sessions(session: Session, *, owner_id: int, except_secret: str | None = None) -> int:
    """End every session of the owner (but the one carrying `except_secret`); return how many ended."""
    query = delete(LoginSession).where(LoginSession.user_id == owner_id)
    if except_secret:
        query = query.where(LoginSession.secret_hash != hash_secret(except_secret))
    result = session.execute(query.execution_options(synchronize_session=False))
    return result.rowcount or 0
