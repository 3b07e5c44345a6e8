"""The one check every resource endpoint makes of an OAuth access token."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from wallet.db import utcnow
from wallet.models import User
from wallet.services.errors import AuthenticationError, InsufficientScopeError
from wallet.services.oauth import tokens
from wallet.services.oauth.scopes import parse_scope
from wallet.services.tokens import LAST_USED_RESOLUTION


@dataclass(frozen=True)
class OAuthAccess:
    """Who a valid access token acts for, which client holds it, and what it may do."""

    user: User
    client_id: str
    client_name: str
    scopes: frozenset[str]


def authenticate_access_token(session: Session, raw: str | None, *, scope: str,
                              now: datetime | None = None) -> OAuthAccess:
    """Return the access an OAuth bearer token gives, if it carries `scope`.

    AuthenticationError for a missing, unknown, expired or revoked token or a revoked grant;
    InsufficientScopeError when the token is good but lacks `scope`. Records the grant's last use,
    at most once a minute.
    """
    if not raw:
        raise AuthenticationError("Send an OAuth access token: Authorization: Bearer <token>.")
    now = now or utcnow()
    token = tokens.find_access_token(session, raw)
    if token is None:
        raise AuthenticationError("That access token is not valid.")
    grant = token.grant
    if token.revoked_at is not None or grant.revoked_at is not None:
        raise AuthenticationError("That access token was revoked.")
    if token.access_expires_at <= now:
        raise AuthenticationError("That access token has expired.")
    granted = parse_scope(token.scope)
    if scope not in granted:
        raise InsufficientScopeError(f"That access token does not allow this: it needs the scope {scope}.", scope)
    if grant.last_used_at is None or now - grant.last_used_at >= LAST_USED_RESOLUTION:
        grant.last_used_at = now
    return OAuthAccess(user=grant.user, client_id=grant.client.client_id, client_name=grant.client.client_name,
                       scopes=granted)
