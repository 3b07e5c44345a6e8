"""OAuth helpers for tests: a registered client and a learner's consent, through the real services."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from wallet.services.oauth import clients, grants, tokens

REDIRECT_URI = "https://client.example/callback"


def register_client(session: Session, *, client_name: str = "Riverside College", **metadata: Any) -> clients.RegisteredClient:
    """Register a confidential client with every scope, through the registration service."""
    body = {"client_name": client_name, "redirect_uris": [REDIRECT_URI],
            "grant_types": ["authorization_code", "refresh_token"], **metadata}
    return clients.register_client(session, body)


def grant_access(session: Session, user: Any, scopes: Iterable[str], *, client_name: str = "Riverside College") -> str:
    """Register a client, record `user`'s consent to `scopes` and return a raw access token (committed)."""
    registered = register_client(session, client_name=client_name)
    scope_set = frozenset(scopes)
    grant = grants.record_consent(session, owner_id=user.id, client=registered.client, scopes=scope_set)
    issued = tokens.issue_tokens(session, grant=grant, scopes=scope_set)
    session.commit()
    return issued.access_token
