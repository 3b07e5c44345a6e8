"""Clients registering themselves (RFC 7591 dynamic client registration), and looking them up.

Registration is open (no initial access token): anyone may register, so every field is checked here
and shown to learners only as the client's own unverified claim. There is no client management
(RFC 7592): a client that needs different metadata registers again.

Redirect URIs (docs/security.md, "OAuth authorization server"): absolute, no fragment
(RFC 6749 §3.1.2), no user information; https, or http only to a loopback IP address
(127.0.0.0/8 or [::1], RFC 8252 §7.3, whose port may then vary when the client comes back). No
custom schemes and no "localhost" name (RFC 8252 §8.3). Matching is otherwise exact.
"""
from __future__ import annotations

import hmac
import ipaddress
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from wallet.db import utcnow
from wallet.models import OAuthClient
from wallet.services.errors import ClientMetadataError
from wallet.services.oauth.scopes import ALL_SCOPES, format_scope, parse_scope
from wallet.services.tokens import hash_secret, new_secret

INVALID_REDIRECT_URI = "invalid_redirect_uri"
INVALID_CLIENT_METADATA = "invalid_client_metadata"

AUTH_METHODS = ("client_secret_basic", "client_secret_post", "none")
GRANT_TYPES = ("authorization_code", "refresh_token")
RESPONSE_TYPES = ("code",)
MAX_REDIRECT_URIS = 10
MAX_URI_LENGTH = 2000
MAX_NAME_LENGTH = 200
MAX_CONTACTS = 10
MAX_CONTACT_LENGTH = 254
MAX_SOFTWARE_ID_LENGTH = 200
MAX_SOFTWARE_VERSION_LENGTH = 100
# A host name in ASCII (internationalised names as their xn-- A-labels): letters, digits, hyphens, dots.
_HOST_NAME = re.compile(r"(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*")


@dataclass(frozen=True)
class RegisteredClient:
    """A newly registered client and its secret (None for a public client): shown once, stored hashed."""

    client: OAuthClient
    client_secret: str | None

    def response(self) -> dict[str, Any]:
        """Return the client information response (RFC 7591 §3.2.1)."""
        body = dict(self.client.registered_metadata())
        body["client_id"] = self.client.client_id
        body["client_id_issued_at"] = int(self.client.created_at.timestamp())
        if self.client_secret is not None:
            body["client_secret"] = self.client_secret
            body["client_secret_expires_at"] = 0  # never expires
        return body


def register_client(session: Session, metadata: Any, *, now: datetime | None = None) -> RegisteredClient:
    """Register a client from its metadata (RFC 7591 §2); ClientMetadataError says what is wrong."""
    fields = validate_metadata(metadata)
    secret = None if fields["token_endpoint_auth_method"] == "none" else new_secret()
    client = OAuthClient(client_id=secrets.token_urlsafe(24), created_at=now or utcnow(),
                         client_secret_hash=hash_secret(secret) if secret else None, **fields)
    session.add(client)
    session.flush()
    return RegisteredClient(client, secret)


def find_client(session: Session, client_id: str | None) -> OAuthClient | None:
    """Return the client registered as `client_id`, or None."""
    if not client_id or len(client_id) > 64:
        return None
    return session.scalar(select(OAuthClient).where(OAuthClient.client_id == client_id))


def check_client_secret(client: OAuthClient, secret: str) -> bool:
    """Return whether `secret` is the client's secret (compared as hashes, in constant time)."""
    if client.client_secret_hash is None:
        return False
    return hmac.compare_digest(client.client_secret_hash, hash_secret(secret))


def redirect_uri_matches(registered: list[str], uri: str) -> bool:
    """Return whether `uri` is one of the registered redirect URIs: exact, but any port on loopback (RFC 8252 §7.3)."""
    if uri in registered:
        return True
    asked = urlsplit(uri)
    if asked.scheme != "http" or not _is_loopback(asked.hostname):
        return False
    for candidate in registered:
        known = urlsplit(candidate)
        if (known.scheme, known.hostname, known.path, known.query) == ("http", asked.hostname, asked.path, asked.query):
            return True
    return False


def validate_metadata(metadata: Any) -> dict[str, Any]:
    """Return the model fields for valid client metadata; ClientMetadataError for the first problem.

    Metadata the server does not understand is ignored (RFC 7591 §2); defaults follow RFC 7591 §2.
    """
    if not isinstance(metadata, dict):
        raise ClientMetadataError("Send the client metadata as a JSON object.")
    redirect_uris = metadata.get("redirect_uris")
    if not isinstance(redirect_uris, list) or not redirect_uris:
        raise ClientMetadataError("redirect_uris must list at least one redirect URI.", INVALID_REDIRECT_URI)
    if len(redirect_uris) > MAX_REDIRECT_URIS:
        raise ClientMetadataError(f"Register at most {MAX_REDIRECT_URIS} redirect URIs.", INVALID_REDIRECT_URI)
    for uri in redirect_uris:
        _check_redirect_uri(uri)

    method = metadata.get("token_endpoint_auth_method", "client_secret_basic")
    if method not in AUTH_METHODS:
        raise ClientMetadataError(f"token_endpoint_auth_method must be one of: {', '.join(AUTH_METHODS)}.")
    grant_types = _string_list(metadata, "grant_types", ["authorization_code"], GRANT_TYPES)
    if "authorization_code" not in grant_types:
        raise ClientMetadataError("grant_types must include authorization_code: it is the only way to get consent.")
    response_types = _string_list(metadata, "response_types", ["code"], RESPONSE_TYPES)
    if "code" not in response_types:
        raise ClientMetadataError("response_types must include code (RFC 7591 section 2.1: authorization_code needs it).")

    scope = metadata.get("scope")
    if scope is None:
        scopes = frozenset(ALL_SCOPES)
    else:
        if not isinstance(scope, str) or not parse_scope(scope):
            raise ClientMetadataError("scope must be a space-separated list of scope URIs.")
        unknown = sorted(parse_scope(scope) - set(ALL_SCOPES))
        if unknown:
            raise ClientMetadataError(f"Unknown scope: {unknown[0]}. This server grants: {' '.join(ALL_SCOPES)}.")
        scopes = parse_scope(scope)

    name = metadata.get("client_name")
    if not isinstance(name, str) or not " ".join(name.split()):
        raise ClientMetadataError("client_name is required: learners see it when they are asked to approve.")
    name = " ".join(name.split())
    if len(name) > MAX_NAME_LENGTH or not name.isprintable():
        raise ClientMetadataError(f"client_name must be at most {MAX_NAME_LENGTH} printable characters.")

    contacts = metadata.get("contacts", [])
    if (not isinstance(contacts, list) or len(contacts) > MAX_CONTACTS
            or not all(isinstance(c, str) and 0 < len(c) <= MAX_CONTACT_LENGTH and c.isprintable() for c in contacts)):
        raise ClientMetadataError(f"contacts must be a list of at most {MAX_CONTACTS} email addresses.")
    return {
        "redirect_uris": list(redirect_uris), "token_endpoint_auth_method": method, "grant_types": grant_types,
        "response_types": response_types, "scope": format_scope(scopes), "client_name": name,
        "client_uri": _web_uri(metadata, "client_uri"), "logo_uri": _web_uri(metadata, "logo_uri", https_only=True),
        "policy_uri": _web_uri(metadata, "policy_uri"), "tos_uri": _web_uri(metadata, "tos_uri"),
        "contacts": list(contacts),
        "software_id": _short_text(metadata, "software_id", MAX_SOFTWARE_ID_LENGTH),
        "software_version": _short_text(metadata, "software_version", MAX_SOFTWARE_VERSION_LENGTH),
    }


def _check_redirect_uri(uri: Any) -> None:
    if not isinstance(uri, str) or not uri or len(uri) > MAX_URI_LENGTH or not uri.isprintable() or " " in uri:
        raise ClientMetadataError("Each redirect URI must be a URL of at most 2000 characters.", INVALID_REDIRECT_URI)
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018  (raises ValueError for a bad port)
    except ValueError:
        raise ClientMetadataError(f"Not a valid URL: {uri}", INVALID_REDIRECT_URI) from None
    if parts.fragment or "#" in uri:
        raise ClientMetadataError(f"A redirect URI must not have a fragment (RFC 6749 section 3.1.2): {uri}",
                                  INVALID_REDIRECT_URI)
    if (not parts.hostname or not is_plain_host(parts.hostname) or parts.username is not None
            or parts.password is not None):
        raise ClientMetadataError(f"A redirect URI needs a host name and no user name or password: {uri}",
                                  INVALID_REDIRECT_URI)
    if parts.scheme == "https" or (parts.scheme == "http" and _is_loopback(parts.hostname)):
        return
    raise ClientMetadataError(f"A redirect URI must use https (or http to 127.0.0.1 or [::1], RFC 8252 section 7.3): {uri}",
                              INVALID_REDIRECT_URI)


def is_plain_host(host: str) -> bool:
    """Return whether `host` is a DNS name in ASCII (IDNA A-labels) or an IP address, nothing else."""
    if _HOST_NAME.fullmatch(host):
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _is_loopback(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _string_list(metadata: dict[str, Any], key: str, default: list[str], allowed: tuple[str, ...]) -> list[str]:
    value = metadata.get(key, default)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ClientMetadataError(f"{key} must be a list of strings.")
    unknown = [v for v in value if v not in allowed]
    if unknown:
        raise ClientMetadataError(f"{key} may only hold: {', '.join(allowed)} (not {unknown[0]}).")
    return list(dict.fromkeys(value))


def _web_uri(metadata: dict[str, Any], key: str, *, https_only: bool = False) -> str | None:
    value = metadata.get(key)
    if value is None:
        return None
    problem = f"{key} must be an https URL" + ("" if https_only else " (or http to a loopback address)")
    if not isinstance(value, str) or not value or len(value) > MAX_URI_LENGTH or not value.isprintable() or " " in value:
        raise ClientMetadataError(problem + ".")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018
    except ValueError:
        raise ClientMetadataError(problem + ".") from None
    if (not parts.hostname or not is_plain_host(parts.hostname) or parts.username is not None
            or parts.password is not None):
        raise ClientMetadataError(problem + ", with a host name and no user name or password.")
    if parts.scheme == "https" or (not https_only and parts.scheme == "http" and _is_loopback(parts.hostname)):
        return value
    raise ClientMetadataError(problem + ".")


def _short_text(metadata: dict[str, Any], key: str, limit: int) -> str | None:
    value = metadata.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit or not value.isprintable():
        raise ClientMetadataError(f"{key} must be text of at most {limit} characters.")
    return value.strip()
