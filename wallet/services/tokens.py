"""Personal access tokens for the JSON API, and the secret helpers every emailed link uses."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from wallet.db import utcnow
from wallet.models import ApiToken, User
from wallet.services.errors import AuthenticationError, NotFoundError, ValidationError

TOKEN_PREFIX = "wlt_"
# 32 random bytes (256 bits), URL-safe base64: 43 characters after the prefix.
TOKEN_BYTES = 32
# "wlt_" and the first 8 random characters: enough to tell tokens apart, useless for guessing.
SHOWN_PREFIX_LENGTH = len(TOKEN_PREFIX) + 8
MAX_TOKEN_LENGTH = 200
MAX_TOKENS_PER_USER = 50
NAME_MAX_LENGTH = 100
# Writing last_used_at on every call would turn each API read into a write; once a minute is enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def new_secret() -> str:
    """Return a fresh URL-safe random secret (256 bits)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_secret(secret: str) -> str:
    """Return the hex SHA-256 of a secret; only this is stored, and lookups compare hashes."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_token(session: Session, *, owner_id: int, name: str,
                 expires_at: datetime | None = None) -> tuple[ApiToken, str]:
    """Create a personal access token; return it and the secret, which is shown once and never stored."""
    name = " ".join(name.split())
    if not name:
        raise ValidationError("Give the token a name, so you can recognise it later.")
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationError(f"Use at most {NAME_MAX_LENGTH} characters for the name.")
    if expires_at is not None and expires_at <= utcnow():
        raise ValidationError("The expiry date must be in the future.")
    active = [t for t in list_tokens(session, owner_id=owner_id) if t.revoked_at is None]
    if len(active) >= MAX_TOKENS_PER_USER:
        raise ValidationError(f"You can have at most {MAX_TOKENS_PER_USER} tokens. Revoke one you no longer use.")
    raw = TOKEN_PREFIX + new_secret()
    token = ApiToken(user_id=owner_id, name=name, token_hash=hash_secret(raw),
                     prefix=raw[:SHOWN_PREFIX_LENGTH], expires_at=expires_at)
    session.add(token)
    session.flush()
    return token, raw


def list_tokens(session: Session, *, owner_id: int) -> list[ApiToken]:
    """Return the owner's tokens, newest first, revoked ones included."""
    query = select(ApiToken).where(ApiToken.user_id == owner_id).order_by(ApiToken.id.desc())
    return list(session.scalars(query))


def revoke_token(session: Session, *, owner_id: int, token_id: int) -> ApiToken:
    """Revoke one of the owner's tokens; another learner's token id is NotFoundError."""
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != owner_id:
        raise NotFoundError("That token does not exist.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    return token


def revoke_all_tokens(session: Session, *, owner_id: int, now: datetime | None = None) -> int:
    """Revoke every token of the owner still in force; return how many were."""
    now = now or utcnow()
    result = session.execute(update(ApiToken)
                             .where(ApiToken.user_id == owner_id, ApiToken.revoked_at.is_(None),
                                    or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now))
                             .values(revoked_at=now)
                             .execution_options(synchronize_session="fetch"))
    return result.rowcount or 0


def authenticate_token(session: Session, raw: str | None, *, now: datetime | None = None) -> User:
    """Return the user a bearer token belongs to; AuthenticationError if missing, wrong, revoked or expired."""
    if not raw:
        raise AuthenticationError("Send a personal access token: Authorization: Bearer <token>.")
    if len(raw) > MAX_TOKEN_LENGTH or not raw.startswith(TOKEN_PREFIX):
        raise AuthenticationError("That token is not valid.")
    now = now or utcnow()
    # Looking the hash up (an indexed equality) leaks nothing useful by timing: an attacker would
    # have to find a preimage of a stored SHA-256 to learn anything.
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_secret(raw)))
    if token is None:
        raise AuthenticationError("That token is not valid.")
    if token.revoked_at is not None:
        raise AuthenticationError("That token was revoked.")
    if token.expires_at is not None and token.expires_at <= now:
        raise AuthenticationError("That token has expired.")
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        token.last_used_at = now
    return token.user
