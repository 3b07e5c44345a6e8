"""A learner's connection to a provider's Host (OB 3.0, CLR 2.0) or Badge Connect backpack.

Wallet is the OAuth 2.0 client here: it registered itself with the provider (RFC 7591) and holds the
tokens the learner's consent gave it. Every secret (client secret, access and refresh tokens, the
PKCE verifier of an authorization under way) is stored sealed (services/providers/secrets.py).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from wallet.db import Base, UTCDateTime, utcnow

# Kinds of provider API.
OB3, CLR, BADGE_CONNECT = "ob3", "clr", "badgeconnect"
# Connection states: waiting for the learner's consent, connected, disconnected (tokens forgotten).
PENDING, CONNECTED, DISCONNECTED = "pending", "connected", "disconnected"
# The job kind of a sync (wallet/models/job.py holds the others).
PROVIDER_SYNC = "provider-sync"


class ProviderConnection(Base):
    __tablename__ = "provider_connections"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    # The provider's own name for itself, from its discovery document (a claim, not verified).
    name: Mapped[str] = mapped_column(String(200))
    discovery_url: Mapped[str] = mapped_column(String(2048))
    # Checked URLs from the discovery document: registration, authorization, token, revocation, api.
    endpoints: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    scopes: Mapped[str] = mapped_column(String(2000))
    state: Mapped[str] = mapped_column(String(16), default=PENDING)
    client_id: Mapped[str | None] = mapped_column(String(500))
    client_secret: Mapped[str | None] = mapped_column(Text)  # sealed
    access_token: Mapped[str | None] = mapped_column(Text)  # sealed
    refresh_token: Mapped[str | None] = mapped_column(Text)  # sealed
    token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # An authorization under way: SHA-256 of its `state`, and its PKCE code verifier (sealed).
    auth_state_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    auth_verifier: Mapped[str | None] = mapped_column(Text)
    auth_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    connected_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_sync_job_id: Mapped[str | None] = mapped_column(String(40))
    # Counts of the last sync by item state ({"imported": 3, "duplicate": 2, "rejected": 1}).
    last_counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    # What went wrong last, in the learner's words; cleared by the next success.
    last_error: Mapped[str | None] = mapped_column(Text)
