"""Wallet as an OAuth 2.0 client of a provider: registration, authorization, tokens, revocation.

- Dynamic Client Registration, RFC 7591 §3.1 (a JSON POST without an initial access token).
- Authorization code grant, RFC 6749 §4.1, with PKCE S256 (RFC 7636) and a single-use `state`.
- Token requests are form POSTs (RFC 6749 §4.1.3, §6) with the client authenticated by HTTP Basic
  (§2.3.1) when it was given a secret; a refresh may rotate the refresh token (OAuth 2.0 Security
  BCP §4.14), so a new one replaces the stored one.
- Revocation, RFC 7009 §2.1, when the provider advertises an endpoint.
Every request goes through the guarded fetcher's `send`: no redirect is followed.
"""
from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import quote, urlencode

from authlib.common.urls import add_params_to_uri

from wallet.services.errors import AuthenticationError, FetchError, ImportRejectedError, WalletError
from wallet.services.providers.secrets import Sealer
from wallet.services.verification.fetching import Fetch, Fetched, Kind
from wallet.services.verification.jsonutil import loads_strict

FORM = "application/x-www-form-urlencoded"
# RFC 7591 §2 software_id: one identifier for Wallet, the same for every instance and version.
SOFTWARE_ID = "f2fa3a67-3bbe-454c-ab2b-472f602e7397"


class Send(Protocol):
    def __call__(self, method: str, url: str, *, headers: Mapping[str, str] | None = None,
                 body: bytes | None = None, kind: Kind = "json") -> Fetched: ...


class ReconnectNeededError(AuthenticationError):
    """The provider no longer accepts Wallet's tokens: the learner has to connect again."""


@dataclass(frozen=True)
class ProviderClient:
    """What talking to providers needs: the guarded fetcher's GET and send, URL checks, the sealer, Wallet's name."""

    fetch: Fetch
    send: Send
    check: Callable[[str], None]
    sealer: Sealer
    client_name: str
    redirect_uri: str = ""
    require_https: bool = True
    # What a registration tells the provider about Wallet (OB 3.0 §"Register with Authorization Server").
    client_uri: str = ""
    logo_uri: str = ""
    tos_uri: str = ""
    policy_uri: str = ""
    software_version: str = ""


@dataclass(frozen=True)
class Registration:
    client_id: str
    client_secret: str | None


def register(client: ProviderClient, registration_url: str, scopes: tuple[str, ...], provider: str) -> Registration:
    """Register Wallet with the provider (RFC 7591) and return the client id and secret it was given.

    OB 3.0 §"Register with Authorization Server": the request MUST carry client_name, client_uri,
    logo_uri, tos_uri, policy_uri, software_id, software_version, redirect_uris and scope.
    """
    metadata: dict[str, Any] = {
        "client_name": client.client_name,
        "client_uri": client.client_uri,
        "logo_uri": client.logo_uri,
        "tos_uri": client.tos_uri,
        "policy_uri": client.policy_uri,
        "software_id": SOFTWARE_ID,
        "software_version": client.software_version,
        "redirect_uris": [client.redirect_uri],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "client_secret_basic",
        "scope": " ".join(scopes),
    }
    answer = client.send("POST", registration_url, headers={"Content-Type": "application/json"},
                         body=json.dumps(metadata).encode("utf-8"))
    if answer.status_code not in (200, 201):
        raise FetchError(f"{provider} refused to register Wallet{error_reason(answer)}. Try again later, or ask the "
                         "provider whether it accepts wallets.")
    document = _json(answer, provider)
    client_id, secret = document.get("client_id"), document.get("client_secret")
    if not isinstance(client_id, str) or not client_id or (secret is not None and not isinstance(secret, str)):
        raise FetchError(f"{provider} registered Wallet but sent no usable client id.")
    return Registration(client_id, secret or None)


def authorization_url(endpoint: str, *, client_id: str, redirect_uri: str, scopes: tuple[str, ...], state: str,
                      code_challenge: str) -> str:
    """Return where to send the learner to consent (RFC 6749 §4.1.1 with RFC 7636 §4.3)."""
    return add_params_to_uri(endpoint, [
        ("response_type", "code"), ("client_id", client_id), ("redirect_uri", redirect_uri),
        ("scope", " ".join(scopes)), ("state", state),
        ("code_challenge", code_challenge), ("code_challenge_method", "S256"),
    ])


def token_request(client: ProviderClient, endpoint: str, form: dict[str, str], *, client_id: str,
                  client_secret: str | None, provider: str) -> dict[str, Any]:
    """POST a token request and return the token response (RFC 6749 §5.1); refusals raise (§5.2)."""
    headers = {"Content-Type": FORM}
    if client_secret:
        headers["Authorization"] = basic_auth(client_id, client_secret)
    else:
        form = {**form, "client_id": client_id}
    answer = client.send("POST", endpoint, headers=headers, body=urlencode(form).encode("ascii"))
    if answer.status_code in (400, 401):
        document = json_or_empty(answer)
        if document.get("error") in ("invalid_grant", "invalid_client", "unauthorized_client"):
            raise ReconnectNeededError(f"{provider} no longer accepts Wallet's access ({document['error']}). "
                                       "Disconnect it and connect again.")
    if answer.status_code != 200:
        raise FetchError(f"{provider} did not give Wallet an access token{error_reason(answer)}.")
    document = _json(answer, provider)
    token, kind = document.get("access_token"), document.get("token_type")
    if not isinstance(token, str) or not token or not isinstance(kind, str) or kind.lower() != "bearer":
        raise FetchError(f"{provider} sent a token answer Wallet cannot use.")
    return document


def store_tokens(connection: Any, sealer: Sealer, answer: Mapping[str, Any], now: datetime) -> None:
    """Keep the tokens of a token response sealed; a new refresh token replaces the old one (rotation)."""
    connection.access_token = sealer.seal(answer["access_token"])
    refresh = answer.get("refresh_token")
    if isinstance(refresh, str) and refresh:
        connection.refresh_token = sealer.seal(refresh)
    lifetime = answer.get("expires_in")
    connection.token_expires_at = (now + timedelta(seconds=lifetime)
                                   if isinstance(lifetime, int) and not isinstance(lifetime, bool) and lifetime > 0
                                   else None)


def revoke(client: ProviderClient, endpoint: str, tokens: list[tuple[str, str]], *, client_id: str,
           client_secret: str | None) -> bool:
    """Ask the provider to revoke each (token, hint) (RFC 7009 §2.1); return whether every one was accepted."""
    accepted = True
    for token, hint in tokens:
        headers = {"Content-Type": FORM}
        form = {"token": token, "token_type_hint": hint}
        if client_secret:
            headers["Authorization"] = basic_auth(client_id, client_secret)
        else:
            form["client_id"] = client_id
        try:
            answer = client.send("POST", endpoint, headers=headers, body=urlencode(form).encode("ascii"))
        except FetchError:
            accepted = False
            continue
        # RFC 7009 §2.2: 200 whether or not the token was still valid.
        accepted = accepted and answer.status_code == 200
    return accepted


def basic_auth(client_id: str, client_secret: str) -> str:
    """Return the Authorization header for client_secret_basic (RFC 6749 §2.3.1: form-encoded, then Base64)."""
    pair = f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}"
    return "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")


def _json(answer: Fetched, provider: str) -> dict[str, Any]:
    try:
        document = loads_strict(answer.body)
    except ImportRejectedError:
        document = None
    if not isinstance(document, dict):
        raise FetchError(f"{provider} sent an answer Wallet could not read.")
    return document


def json_or_empty(answer: Fetched) -> dict[str, Any]:
    """Return an answer's JSON object, or {} when it is not one (an error page, say)."""
    try:
        document = loads_strict(answer.body)
    except WalletError:
        return {}
    return document if isinstance(document, dict) else {}


def error_reason(answer: Fetched) -> str:
    """Return " (400: invalid_grant)": the status and the OAuth `error` code when it is a plain one (RFC 6749 §5.2)."""
    error = json_or_empty(answer).get("error")
    code = f"{answer.status_code}"
    if isinstance(error, str) and error.isascii() and len(error) <= 64 and error.replace("_", "").isalnum():
        code += f": {error}"
    return f" ({code})"
