"""A learner's provider connections: connect (discover, register, consent), sync, disconnect.

The `state` sent with the learner to the provider is single-use and bound twice: to the learner's
browser session (the route keeps it there) and to the connection row (its SHA-256 hash), which the
callback clears before the code is exchanged, so a replayed callback finds nothing (RFC 6749 §10.12,
OAuth 2.0 Security BCP §4.7).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from sqlalchemy import select
from sqlalchemy.orm import Session

from wallet.db import utcnow
from wallet.models.job import QUEUED, RUNNING, Job
from wallet.models.provider import CONNECTED, PENDING, PROVIDER_SYNC, ProviderConnection
from wallet.services import importing
from wallet.services import jobs as job_service
from wallet.services.errors import NotFoundError, ValidationError, WalletError
from wallet.services.providers import discovery as discovery_service
from wallet.services.providers import oauth, sync
from wallet.services.providers.oauth import ProviderClient

# How long the learner has to consent at the provider before the authorization is forgotten.
AUTHORIZATION_LIFETIME = timedelta(minutes=15)
MAX_CONNECTIONS = 20
_NOT_FOUND = "There is no such connected provider."
_STATE_REFUSED = ("This answer from the provider does not match a connection you started here, or was already "
                  "used. Nothing was changed; start connecting again from this page.")


@dataclass(frozen=True)
class Authorization:
    """Where to send the learner to consent, and the `state` to keep in their session."""

    connection: ProviderConnection
    url: str
    state: str


def list_connections(session: Session, owner_id: int) -> list[ProviderConnection]:
    """Return the learner's connections, oldest first."""
    return list(session.scalars(select(ProviderConnection).where(ProviderConnection.owner_id == owner_id)
                                .order_by(ProviderConnection.id)))


def get_connection(session: Session, owner_id: int, connection_id: int) -> ProviderConnection:
    """Return the learner's connection; NotFoundError for anyone else's."""
    connection = session.get(ProviderConnection, connection_id)
    if connection is None or connection.owner_id != owner_id:
        raise NotFoundError(_NOT_FOUND)
    return connection


def begin_connect(session: Session, client: ProviderClient, owner_id: int, url: str,
                  *, now: datetime | None = None) -> Authorization:
    """Read the provider's discovery document, register Wallet with it, and start an authorization.

    Nothing is stored unless discovery and registration succeed. Raises UnsafeURLError,
    ImportRejectedError, FetchError or ValidationError (too many connections).
    """
    now = now or utcnow()
    found = discovery_service.discover(client.fetch, client.check, url, require_https=client.require_https)
    connection = session.scalar(select(ProviderConnection).where(
        ProviderConnection.owner_id == owner_id, ProviderConnection.discovery_url == found.discovery_url))
    if connection is not None and connection.state == CONNECTED:
        raise ValidationError(f"{found.name} is already connected. Use “Sync now” to collect new credentials, "
                              "or disconnect it first to connect again.")
    if connection is None and len(list_connections(session, owner_id)) >= MAX_CONNECTIONS:
        raise ValidationError(f"You can connect at most {MAX_CONNECTIONS} providers. Disconnect one first.")
    registration = oauth.register(client, found.endpoints["registration"], found.scopes, found.name)
    if connection is None:
        connection = ProviderConnection(owner_id=owner_id, discovery_url=found.discovery_url, created_at=now,
                                        last_counts={}, state=PENDING)
        session.add(connection)
    sealer = client.sealer
    connection.kind, connection.name = found.kind, found.name
    connection.endpoints = {**found.endpoints, "redirect_uri": client.redirect_uri}
    connection.scopes = " ".join(found.scopes)
    connection.client_id = registration.client_id
    connection.client_secret = sealer.seal(registration.client_secret) if registration.client_secret else None
    # RFC 7636 §4.1: a high-entropy verifier (authlib's generator), sent only as its S256 challenge.
    verifier, state = generate_token(64), secrets.token_urlsafe(32)
    connection.auth_state_hash, connection.auth_verifier = _hash(state), sealer.seal(verifier)
    connection.auth_started_at = now
    session.flush()
    address = oauth.authorization_url(found.endpoints["authorization"], client_id=registration.client_id,
                                      redirect_uri=client.redirect_uri, scopes=found.scopes, state=state,
                                      code_challenge=create_s256_code_challenge(verifier))
    return Authorization(connection, address, state)


def complete_connect(session: Session, client: ProviderClient, owner_id: int, *, state: str, expected_state: str | None,
                     code: str, error: str = "", now: datetime | None = None) -> ProviderConnection:
    """Check the callback's `state`, forget it, and exchange `code` for tokens.

    Raises ValidationError when the state is not this learner's authorization under way (mismatch,
    replay, expired). Otherwise returns the connection: CONNECTED, or with `last_error` saying why
    not (the learner refused, or the provider would not give a token); the caller commits either way.
    """
    now = now or utcnow()
    if not state or not expected_state or not hmac.compare_digest(state.encode(), expected_state.encode()):
        raise ValidationError(_STATE_REFUSED)
    connection = session.scalar(select(ProviderConnection).where(
        ProviderConnection.owner_id == owner_id, ProviderConnection.auth_state_hash == _hash(state)))
    if connection is None or connection.auth_verifier is None:
        raise ValidationError(_STATE_REFUSED)
    sealed_verifier, started = connection.auth_verifier, connection.auth_started_at
    connection.auth_state_hash = connection.auth_verifier = connection.auth_started_at = None  # single use
    if started is None or now - started > AUTHORIZATION_LIFETIME:
        connection.last_error = "You took too long at the provider's page. Connect again."
        return connection
    if error or not code:
        # RFC 6749 §4.1.2.1: access_denied and the rest; shown in plain words, not echoed.
        connection.last_error = (f"{connection.name} did not give Wallet access"
                                 f"{' (you declined)' if error == 'access_denied' else ''}. Nothing was collected.")
        return connection
    try:
        answer = oauth.token_request(
            client, connection.endpoints["token"],
            {"grant_type": "authorization_code", "code": code,
             "redirect_uri": connection.endpoints.get("redirect_uri") or client.redirect_uri,
             "code_verifier": client.sealer.open(sealed_verifier)},
            client_id=connection.client_id or "",
            client_secret=client.sealer.open(connection.client_secret) if connection.client_secret else None,
            provider=connection.name)
    except WalletError as failure:
        connection.last_error = str(failure)
        return connection
    oauth.store_tokens(connection, client.sealer, answer, now)
    connection.state, connection.connected_at, connection.last_error = CONNECTED, now, None
    return connection


def queue_sync(session: Session, owner_id: int, connection_id: int) -> Job:
    """Add a queued sync job for the learner's connection, or return the one already open."""
    connection = get_connection(session, owner_id, connection_id)
    if connection.state != CONNECTED:
        raise ValidationError(f"{connection.name} is not connected. Connect it again to collect its credentials.")
    if connection.last_sync_job_id:
        current = session.get(Job, connection.last_sync_job_id)
        if current is not None and current.state in (QUEUED, RUNNING) and not job_service.is_stopped(current):
            return current
    job = job_service.create_job(session, kind=PROVIDER_SYNC, owner_id=owner_id,
                                 params={"connection_id": connection.id})
    connection.last_sync_job_id = job.id
    return job


def run_sync(session: Session, client: ProviderClient, importer: importing.Importer, connection_id: int,
             owner_id: int, *, on_item: Callable[[importing.ImportItem], None],
             on_total: Callable[[int], None] = lambda _total: None,
             now: Callable[[], datetime] = utcnow) -> ProviderConnection:
    """Pull the connection's credentials (services/providers/sync.py); record when, how many, and any error.

    The caller commits after each item (in `on_item`); the error is recorded and re-raised.
    """
    connection = get_connection(session, owner_id, connection_id)
    if connection.state != CONNECTED:
        raise ValidationError(f"{connection.name} is not connected.")
    counts: dict[str, int] = {}

    def count(item: importing.ImportItem) -> None:
        counts[item.state] = counts.get(item.state, 0) + 1
        connection.last_counts = dict(counts)
        on_item(item)

    try:
        sync.pull(session, client, importer, connection, now=now, on_item=count, on_total=on_total)
    except WalletError as failure:
        connection.last_error, connection.last_counts = str(failure), dict(counts)
        connection.last_sync_at = now()
        raise
    connection.last_error, connection.last_counts, connection.last_sync_at = None, dict(counts), now()
    return connection


def disconnect(session: Session, client: ProviderClient, owner_id: int, connection_id: int) -> bool:
    """Revoke Wallet's tokens at the provider when it offers revocation, then forget the connection.

    Credentials already collected stay in the wallet. Returns whether the provider confirmed the
    revocation (False when it has no revocation endpoint or could not be reached).
    """
    connection = get_connection(session, owner_id, connection_id)
    endpoint = connection.endpoints.get("revocation")
    revoked = False
    if endpoint and connection.state == CONNECTED:
        tokens = []
        try:
            if connection.refresh_token:
                tokens.append((client.sealer.open(connection.refresh_token), "refresh_token"))
            if connection.access_token:
                tokens.append((client.sealer.open(connection.access_token), "access_token"))
            secret = client.sealer.open(connection.client_secret) if connection.client_secret else None
            revoked = bool(tokens) and oauth.revoke(client, endpoint, tokens, client_id=connection.client_id or "",
                                                    client_secret=secret)
        except WalletError:  # the provider could not be reached, or the key changed: forget the tokens anyway
            revoked = False
    session.delete(connection)
    session.flush()
    return revoked


def due_connections(session: Session, now: datetime, *, interval: timedelta) -> list[ProviderConnection]:
    """Return the connections whose last sync is older than `interval` and that have no sync open."""
    due = []
    for connection in session.scalars(select(ProviderConnection).where(ProviderConnection.state == CONNECTED)
                                      .order_by(ProviderConnection.id)):
        last = connection.last_sync_at or connection.connected_at or connection.created_at
        if now - last < interval:
            continue
        current = session.get(Job, connection.last_sync_job_id) if connection.last_sync_job_id else None
        if current is not None and current.state in (QUEUED, RUNNING) and not job_service.is_stopped(current, now=now):
            continue
        due.append(connection)
    return due


def _hash(state: str) -> str:
    return hashlib.sha256(state.encode("utf-8")).hexdigest()
