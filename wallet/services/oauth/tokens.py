"""Authorization codes and tokens: issued, looked up by hash, rotated and revoked.

Only SHA-256 hashes are stored (like personal access tokens). A code is used once: a second use
revokes every token issued from it (RFC 6749 §4.1.2). Refreshing rotates the refresh token; the
reuse of a rotated one revokes every token of the grant (OAuth 2.0 Security BCP, RFC 9700 §4.14.2).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from wallet.db import utcnow
from wallet.models import OAuthAuthorizationCode, OAuthGrant, OAuthToken
from wallet.services.oauth.scopes import format_scope
from wallet.services.tokens import hash_secret, new_secret

ACCESS_TOKEN_PREFIX = "wlta_"
REFRESH_TOKEN_PREFIX = "wltr_"
CODE_PREFIX = "wltc_"
MAX_SECRET_LENGTH = 200
# RFC 6749 §4.1.2: "A maximum authorization code lifetime of 10 minutes is RECOMMENDED."
DEFAULT_CODE_SECONDS = 300
DEFAULT_ACCESS_SECONDS = 3600
DEFAULT_REFRESH_SECONDS = 90 * 24 * 3600


@dataclass(frozen=True)
class IssuedTokens:
    """A freshly issued access token (and refresh token), raw: returned once, never stored."""

    token: OAuthToken
    access_token: str
    refresh_token: str | None
    expires_in: int


def new_access_token() -> str:
    """Return a fresh raw access token."""
    return ACCESS_TOKEN_PREFIX + new_secret()


def new_refresh_token() -> str:
    """Return a fresh raw refresh token."""
    return REFRESH_TOKEN_PREFIX + new_secret()


def new_code() -> str:
    """Return a fresh raw authorization code."""
    return CODE_PREFIX + new_secret()


def save_code(session: Session, *, grant: OAuthGrant, raw: str, redirect_uri: str | None, scopes: frozenset[str],
              code_challenge: str, code_challenge_method: str, lifetime_seconds: int = DEFAULT_CODE_SECONDS,
              now: datetime | None = None) -> OAuthAuthorizationCode:
    """Store an authorization code's hash, bound to its grant (so its client), redirect URI and PKCE challenge."""
    now = now or utcnow()
    code = OAuthAuthorizationCode(code_hash=hash_secret(raw), grant_id=grant.id, redirect_uri=redirect_uri,
                                  scope=format_scope(scopes), code_challenge=code_challenge,
                                  code_challenge_method=code_challenge_method, created_at=now,
                                  expires_at=now + timedelta(seconds=lifetime_seconds))
    session.add(code)
    session.flush()
    return code


def redeem_code(session: Session, raw: str, *, client_pk: int, now: datetime | None = None) -> OAuthAuthorizationCode | None:
    """Return the client's unused, unexpired code for `raw` and mark it used; None if there is none.

    A code used before is refused, and every token issued from it is revoked (RFC 6749 §4.1.2).
    Marking it used is one conditional UPDATE, so two requests racing with one code cannot both win.
    """
    if not raw or len(raw) > MAX_SECRET_LENGTH:
        return None
    now = now or utcnow()
    code = session.scalar(select(OAuthAuthorizationCode).where(OAuthAuthorizationCode.code_hash == hash_secret(raw)))
    if code is None or code.grant.client_id != client_pk:
        return None
    if code.used_at is not None:
        revoke_code_tokens(session, code.id, now=now)
        return None
    if code.expires_at <= now or code.grant.revoked_at is not None:
        return None
    won = session.execute(update(OAuthAuthorizationCode)
                          .where(OAuthAuthorizationCode.id == code.id, OAuthAuthorizationCode.used_at.is_(None))
                          .values(used_at=now).execution_options(synchronize_session=False))
    session.refresh(code)
    if not won.rowcount:
        revoke_code_tokens(session, code.id, now=now)
        return None
    return code


def revoke_code_tokens(session: Session, code_id: int, *, now: datetime | None = None) -> int:
    """Revoke every token issued from one authorization code, refreshed ones included; return how many."""
    return _revoke(session, OAuthToken.code_id == code_id, now)


def revoke_grant_tokens(session: Session, grant_id: int, *, now: datetime | None = None) -> int:
    """Revoke every token of one grant; return how many were still in force."""
    return _revoke(session, OAuthToken.grant_id == grant_id, now)


def _revoke(session: Session, condition: object, now: datetime | None) -> int:
    result = session.execute(update(OAuthToken).where(condition, OAuthToken.revoked_at.is_(None))  # type: ignore[arg-type]
                             .values(revoked_at=now or utcnow()).execution_options(synchronize_session="fetch"))
    return result.rowcount or 0


def store_tokens(session: Session, *, grant: OAuthGrant, access_token: str, refresh_token: str | None,
                 scopes: frozenset[str], access_seconds: int, refresh_seconds: int = DEFAULT_REFRESH_SECONDS,
                 code_id: int | None = None, now: datetime | None = None) -> OAuthToken:
    """Store the hashes of newly issued tokens under `grant`."""
    now = now or utcnow()
    token = OAuthToken(grant_id=grant.id, code_id=code_id, access_token_hash=hash_secret(access_token),
                       refresh_token_hash=hash_secret(refresh_token) if refresh_token else None,
                       scope=format_scope(scopes), issued_at=now,
                       access_expires_at=now + timedelta(seconds=access_seconds),
                       refresh_expires_at=now + timedelta(seconds=refresh_seconds) if refresh_token else None)
    session.add(token)
    session.flush()
    return token


def issue_tokens(session: Session, *, grant: OAuthGrant, scopes: frozenset[str],
                 access_seconds: int = DEFAULT_ACCESS_SECONDS, refresh_seconds: int = DEFAULT_REFRESH_SECONDS,
                 with_refresh: bool = True, code_id: int | None = None, now: datetime | None = None) -> IssuedTokens:
    """Issue a new access token (and refresh token) under `grant`; the raw secrets are returned once."""
    access = new_access_token()
    refresh = new_refresh_token() if with_refresh else None
    token = store_tokens(session, grant=grant, access_token=access, refresh_token=refresh, scopes=scopes,
                         access_seconds=access_seconds, refresh_seconds=refresh_seconds, code_id=code_id, now=now)
    return IssuedTokens(token, access, refresh, access_seconds)


def find_access_token(session: Session, raw: str) -> OAuthToken | None:
    """Return the token row whose access token is `raw`, whatever its state."""
    if not raw.startswith(ACCESS_TOKEN_PREFIX) or len(raw) > MAX_SECRET_LENGTH:
        return None
    return session.scalar(select(OAuthToken).where(OAuthToken.access_token_hash == hash_secret(raw)))


def find_refresh_token(session: Session, raw: str) -> OAuthToken | None:
    """Return the token row whose refresh token is `raw`, whatever its state."""
    if not raw.startswith(REFRESH_TOKEN_PREFIX) or len(raw) > MAX_SECRET_LENGTH:
        return None
    return session.scalar(select(OAuthToken).where(OAuthToken.refresh_token_hash == hash_secret(raw)))


def usable_refresh_token(session: Session, raw: str, *, client_pk: int,
                         now: datetime | None = None) -> OAuthToken | None:
    """Return the client's refresh token for `raw` if it may be used now; None if not.

    A refresh token that was already rotated is being replayed: every token of its grant is revoked,
    since either the client or an attacker holds a stolen copy (RFC 9700 §4.14.2).
    """
    now = now or utcnow()
    token = find_refresh_token(session, raw)
    if token is None or token.grant.client_id != client_pk:
        return None
    if token.rotated_at is not None:
        revoke_grant_tokens(session, token.grant_id, now=now)
        return None
    if (token.revoked_at is not None or token.grant.revoked_at is not None
            or (token.refresh_expires_at is not None and token.refresh_expires_at <= now)):
        return None
    return token


def rotate(session: Session, token: OAuthToken, *, now: datetime | None = None) -> bool:
    """Mark a refresh token used (rotated); False if another request rotated it first."""
    result = session.execute(update(OAuthToken)
                             .where(OAuthToken.id == token.id, OAuthToken.rotated_at.is_(None))
                             .values(rotated_at=now or utcnow()).execution_options(synchronize_session=False))
    session.refresh(token)
    return bool(result.rowcount)


def revoke_token(session: Session, token: OAuthToken, *, now: datetime | None = None) -> None:
    """Revoke one token row: its access token and its refresh token both stop working (RFC 7009 §2.1)."""
    if token.revoked_at is None:
        token.revoked_at = now or utcnow()
