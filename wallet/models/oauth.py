"""Wallet as an OAuth 2.0 authorization server: registered clients, learners' grants, codes and tokens.

A provider's system registers itself (RFC 7591) as a client; a learner's consent to one client is a
grant (one per learner and client); the authorization codes and tokens issued under a grant hang off
it, so revoking the grant (or deleting the account, which cascades) ends them all. Client secrets,
codes and tokens are stored only as SHA-256 hashes, like personal access tokens (docs/security.md).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wallet.db import Base, UTCDateTime, utcnow
from wallet.models.user import User


class OAuthClient(Base):
    """A client registered through RFC 7591; every field but the id and the secret is its own claim."""

    __tablename__ = "oauth_clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    # None for a public client (token_endpoint_auth_method "none").
    client_secret_hash: Mapped[str | None] = mapped_column(String(64))
    token_endpoint_auth_method: Mapped[str] = mapped_column(String(32))
    redirect_uris: Mapped[list[str]] = mapped_column(JSON)
    grant_types: Mapped[list[str]] = mapped_column(JSON)
    response_types: Mapped[list[str]] = mapped_column(JSON)
    scope: Mapped[str] = mapped_column(Text)  # space-separated, as in RFC 7591 §2
    client_name: Mapped[str] = mapped_column(String(200))
    client_uri: Mapped[str | None] = mapped_column(String(2048))
    logo_uri: Mapped[str | None] = mapped_column(String(2048))
    policy_uri: Mapped[str | None] = mapped_column(String(2048))
    tos_uri: Mapped[str | None] = mapped_column(String(2048))
    contacts: Mapped[list[str]] = mapped_column(JSON, default=list)
    software_id: Mapped[str | None] = mapped_column(String(200))
    software_version: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def registered_metadata(self) -> dict[str, Any]:
        """Return the client metadata as registered (RFC 7591 §3.2.1), without empty fields."""
        metadata: dict[str, Any] = {
            "redirect_uris": list(self.redirect_uris), "token_endpoint_auth_method": self.token_endpoint_auth_method,
            "grant_types": list(self.grant_types), "response_types": list(self.response_types),
            "client_name": self.client_name, "scope": self.scope, "client_uri": self.client_uri,
            "logo_uri": self.logo_uri, "policy_uri": self.policy_uri, "tos_uri": self.tos_uri,
            "contacts": list(self.contacts or []), "software_id": self.software_id,
            "software_version": self.software_version,
        }
        return {key: value for key, value in metadata.items() if value not in (None, [], "")}


class OAuthGrant(Base):
    """A learner's consent to one client: what it may do, since when, when it was last used."""

    __tablename__ = "oauth_grants"
    __table_args__ = (UniqueConstraint("user_id", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("oauth_clients.id", ondelete="CASCADE"), index=True)
    scope: Mapped[str] = mapped_column(Text)  # every scope the learner approved, space-separated
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    consented_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()
    client: Mapped[OAuthClient] = relationship()


class OAuthAuthorizationCode(Base):
    """A single-use authorization code (RFC 6749 §4.1.2), bound to its client, redirect URI and PKCE challenge."""

    __tablename__ = "oauth_authorization_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("oauth_grants.id", ondelete="CASCADE"), index=True)
    # The redirect_uri of the authorization request, None when it named none (RFC 6749 §4.1.3).
    redirect_uri: Mapped[str | None] = mapped_column(String(2048))
    scope: Mapped[str] = mapped_column(Text)
    code_challenge: Mapped[str] = mapped_column(String(128))
    code_challenge_method: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    grant: Mapped[OAuthGrant] = relationship()


class OAuthToken(Base):
    """An access token and its refresh token, issued under a grant; hashes only.

    Refreshing rotates: the row is marked `rotated_at` (its refresh token stops working) and a new row
    is issued with the same `code_id`, so every token descending from one code can be found again.
    """

    __tablename__ = "oauth_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("oauth_grants.id", ondelete="CASCADE"), index=True)
    code_id: Mapped[int | None] = mapped_column(
        ForeignKey("oauth_authorization_codes.id", ondelete="SET NULL"), index=True)
    access_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    access_expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    refresh_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    grant: Mapped[OAuthGrant] = relationship()
