"""A learner's consent to a client (a grant): recorded, listed in Settings → Connected apps, revoked."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from wallet.db import utcnow
from wallet.models import OAuthClient, OAuthGrant
from wallet.services.errors import NotFoundError
from wallet.services.oauth import tokens
from wallet.services.oauth.scopes import describe, format_scope, parse_scope


@dataclass(frozen=True)
class ConnectedApp:
    """One grant as the learner sees it in Settings → Connected apps."""

    grant_id: int
    client_name: str
    client_uri: str | None
    may: list[str]  # what it may do, in plain words
    consented_at: datetime
    last_used_at: datetime | None


def record_consent(session: Session, *, owner_id: int, client: OAuthClient, scopes: frozenset[str],
                   now: datetime | None = None) -> OAuthGrant:
    """Record that the learner approved `scopes` for `client`: one grant per learner and client.

    A grant the learner revoked before is consented to afresh with only these scopes; a grant in
    force gains them (the scopes it already had stay approved).
    """
    now = now or utcnow()
    grant = session.scalar(select(OAuthGrant).where(OAuthGrant.user_id == owner_id, OAuthGrant.client_id == client.id))
    if grant is None:
        grant = OAuthGrant(user_id=owner_id, client_id=client.id, scope=format_scope(scopes), created_at=now,
                           consented_at=now)
        session.add(grant)
    elif grant.revoked_at is not None:
        grant.scope, grant.revoked_at, grant.consented_at = format_scope(scopes), None, now
    else:
        grant.scope, grant.consented_at = format_scope(parse_scope(grant.scope) | scopes), now
    session.flush()
    return grant


def connected_apps(session: Session, *, owner_id: int) -> list[ConnectedApp]:
    """Return the learner's grants in force, most recently consented first."""
    query = (select(OAuthGrant).join(OAuthClient, OAuthGrant.client_id == OAuthClient.id)
             .where(OAuthGrant.user_id == owner_id, OAuthGrant.revoked_at.is_(None))
             .order_by(OAuthGrant.consented_at.desc(), OAuthGrant.id.desc()))
    return [ConnectedApp(grant.id, grant.client.client_name, grant.client.client_uri, describe(parse_scope(grant.scope)),
                         grant.consented_at, grant.last_used_at)
            for grant in session.scalars(query)]


def revoke_grant(session: Session, *, owner_id: int, grant_id: int, now: datetime | None = None) -> OAuthGrant:
    """Revoke one of the learner's grants and every token issued under it; another learner's is NotFoundError."""
    grant = session.get(OAuthGrant, grant_id)
    if grant is None or grant.user_id != owner_id or grant.revoked_at is not None:
        raise NotFoundError("That app is not connected to your wallet.")
    now = now or utcnow()
    grant.revoked_at = now
    tokens.revoke_grant_tokens(session, grant.id, now=now)
    return grant
