"""The test issuer's authorization server: Authlib's authorization code grant with PKCE S256 required
(RFC 6749, RFC 7636) for public clients, as OID4VCI 1.0 §5 and §6 use it, over in-memory storage.

Wallets are public clients (`token_endpoint_auth_method` "none"). Unless `issuer.clients` names the
clients it knows, any client_id is accepted with any http(s) redirect URI (like issuers that let any
wallet in, OID4VCI 1.0 §13.5 "Client Identifier"). The Pre-Authorized Code grant is in routes.py: it has
no client at all (`pre-authorized_grant_anonymous_access_supported`)."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from authlib.common.security import generate_token
from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.models import AuthorizationCodeMixin, ClientMixin
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from flask import Flask

# PKCE for every client, S256 only, as the test provider requires (OID4VCI 1.0 §5.1 recommends it).
from tests.support.provider.oauth import S256Required

if TYPE_CHECKING:
    from tests.support.issuer import TestIssuer

CODE_LIFETIME = 300


@dataclass
class PublicClient(ClientMixin):
    """A wallet: a public client that authenticates with its client_id only."""

    client_id: str
    redirect_uris: tuple[str, ...] | None  # None: any http(s) URI

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return None

    def get_allowed_scope(self, scope: str) -> str:
        return scope or ""

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        if self.redirect_uris is None:
            return redirect_uri.startswith(("https://", "http://"))
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return False

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == "none"

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass(frozen=True)
class Requested:
    """What an authorization request asked for: the configurations, and whether by authorization_details."""

    configuration_ids: tuple[str, ...]
    by_authorization_details: bool


@dataclass
class AuthorizationCode(AuthorizationCodeMixin):
    """A code for the learner, with what it authorizes: credential configurations from `authorization_details`,
    `scope` or the offer's `issuer_state` (OID4VCI 1.0 §5.1)."""

    code: str
    client_id: str
    redirect_uri: str
    scope: str
    configuration_ids: tuple[str, ...]
    by_authorization_details: bool
    code_challenge: str | None
    code_challenge_method: str | None
    issued_at: float = field(default_factory=time.time)

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def is_expired(self) -> bool:
        return time.time() > self.issued_at + CODE_LIFETIME


def make_authorization_server(app: Flask, issuer: TestIssuer) -> AuthorizationServer:
    """Build the authorization server on `app`; codes and tokens are kept in `issuer`."""

    def query_client(client_id: str) -> PublicClient | None:
        if issuer.clients is None:
            return PublicClient(client_id, None) if client_id else None
        uris = issuer.clients.get(client_id)
        return PublicClient(client_id, tuple(uris)) if uris is not None else None

    def save_token(token: dict[str, Any], oauth_request: Any) -> None:
        code = oauth_request.authorization_code
        grant = issuer.grant_token(token["access_token"], code.configuration_ids, flow="authorization_code",
                                   expires_in=int(token["expires_in"]),
                                   with_identifiers=code.by_authorization_details or issuer.credential_identifiers)
        if grant.identifiers:
            # OID4VCI 1.0 §6.2: REQUIRED when the authorization request used authorization_details. Authlib
            # answers the dict it saved, so the member joins the token response.
            token["authorization_details"] = issuer.authorization_details(grant)

    server = AuthorizationServer(app, query_client=query_client, save_token=save_token)
    server.register_token_generator("default", BearerTokenGenerator(
        lambda *args, **kwargs: generate_token(42), None, lambda client, grant_type: issuer.access_token_lifetime))

    class CodeGrant(grants.AuthorizationCodeGrant):
        TOKEN_ENDPOINT_AUTH_METHODS = ["none"]

        def save_authorization_code(self, code: str, oauth_request: Any) -> None:
            data = oauth_request.payload.data
            with issuer.lock:
                issuer.codes[code] = AuthorizationCode(
                    code=code, client_id=oauth_request.client.client_id,
                    redirect_uri=oauth_request.payload.redirect_uri, scope=oauth_request.payload.scope or "",
                    configuration_ids=oauth_request.user.configuration_ids,
                    by_authorization_details=oauth_request.user.by_authorization_details,
                    code_challenge=data.get("code_challenge"),
                    code_challenge_method=data.get("code_challenge_method"))

        def query_authorization_code(self, code: str, client: PublicClient) -> AuthorizationCode | None:
            with issuer.lock:
                found = issuer.codes.pop(code, None)  # single use: redeemed when looked up
                if found is None or found.client_id != client.client_id or found.is_expired():
                    return None
                return found

        def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
            """Nothing left to do: the code was redeemed when it was looked up."""

        def authenticate_user(self, authorization_code: AuthorizationCode) -> Requested:
            return Requested(authorization_code.configuration_ids, authorization_code.by_authorization_details)

    server.register_grant(CodeGrant, [S256Required()])
    return server
