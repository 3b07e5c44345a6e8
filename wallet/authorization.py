"""Wallet's OAuth 2.0 authorization server: Authlib's protocol machinery over the services in services/oauth.

Authlib parses and answers the protocol (RFC 6749 errors, client authentication, PKCE, RFC 7009,
RFC 7591); every rule of our own and every row written is in wallet/services/oauth. The choices
(PKCE S256 only, rotation, hashing, redirect URIs) are described in docs/security.md,
"OAuth authorization server". One server per app, built in `init_app` and kept in `app.extensions`.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from authlib.common.urls import add_params_to_uri
from authlib.consts import default_json_headers
from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import AuthorizationCodeMixin, ClientMixin, TokenMixin
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidGrantError, InvalidRequestError
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7591 import ClientRegistrationEndpoint
from authlib.oauth2.rfc7591.errors import InvalidClientMetadataError, InvalidRedirectURIError
from authlib.oauth2.rfc7636 import CodeChallenge
from flask import Flask, Response, current_app
from werkzeug.exceptions import HTTPException

from wallet.db import get_session
from wallet.models import OAuthAuthorizationCode, OAuthClient, OAuthToken, User
from wallet.services.errors import ClientMetadataError, ValidationError
from wallet.services.oauth import clients, grants as consent, tokens
from wallet.services.oauth.scopes import ALL_SCOPES, format_scope, parse_scope

EXTENSION_KEY = "wallet.oauth"
AUTH_METHODS = list(clients.AUTH_METHODS)


class Client(ClientMixin):
    """A registered client as Authlib asks about it."""

    def __init__(self, model: OAuthClient) -> None:
        self.model = model

    def get_client_id(self) -> str:
        return self.model.client_id

    def get_default_redirect_uri(self) -> str | None:
        # RFC 6749 §3.1.2.3: the redirect_uri may be left out only when exactly one is registered.
        uris = self.model.redirect_uris
        return uris[0] if len(uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str | None:
        # A request must name its scopes (None: invalid_scope), all of them registered by the client.
        asked = parse_scope(scope)
        if not asked or not asked <= parse_scope(self.model.scope):
            return None
        return format_scope(asked)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return clients.redirect_uri_matches(self.model.redirect_uris, redirect_uri)

    def check_client_secret(self, client_secret: str) -> bool:
        return clients.check_client_secret(self.model, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        # The method it registered, at the token and the revocation endpoints alike.
        return method == self.model.token_endpoint_auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type in self.model.response_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.model.grant_types


@dataclass
class Code(AuthorizationCodeMixin):
    """A redeemed authorization code as Authlib asks about it."""

    model: OAuthAuthorizationCode

    @property
    def code_challenge(self) -> str:
        return self.model.code_challenge

    @property
    def code_challenge_method(self) -> str:
        return self.model.code_challenge_method

    def get_redirect_uri(self) -> str | None:
        return self.model.redirect_uri

    def get_scope(self) -> str:
        return self.model.scope


@dataclass
class Token(TokenMixin):
    """A stored token row as Authlib asks about it; `kind` says which of its two secrets was presented."""

    model: OAuthToken
    kind: str = "access_token"

    def check_client(self, client: Client) -> bool:
        return self.model.grant.client_id == client.model.id

    def get_scope(self) -> str:
        return self.model.scope

    def get_user(self) -> User:
        return self.model.grant.user


class S256CodeChallenge(CodeChallenge):
    """PKCE (RFC 7636) required of every client, with S256 only.

    Authlib's CodeChallenge(required=True) lets an authorization request without a challenge through
    and defaults a missing method to `plain`; here both are refused (OAuth 2.0 Security BCP,
    RFC 9700 §2.1.1), and a token request always needs the verifier, confidential clients included.
    """

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send code_challenge with code_challenge_method=S256.")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("Only code_challenge_method=S256 is accepted (not plain).")
        super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant: Any, result: Any) -> None:
        if not grant.request.form.get("code_verifier"):
            raise InvalidRequestError("Missing 'code_verifier' (PKCE is required).")
        super().validate_code_verifier(grant, result)


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    def save_authorization_code(self, code: str, request: Any) -> None:
        session = get_session()
        grant = consent.record_consent(session, owner_id=request.user.id, client=request.client.model,
                                       scopes=parse_scope(request.scope))
        tokens.save_code(session, grant=grant, raw=code, redirect_uri=request.payload.redirect_uri,
                         scopes=parse_scope(request.scope), code_challenge=request.payload.data["code_challenge"],
                         code_challenge_method=request.payload.data["code_challenge_method"],
                         lifetime_seconds=int(current_app.config["OAUTH_CODE_SECONDS"]))

    def generate_authorization_code(self) -> str:
        return tokens.new_code()

    def query_authorization_code(self, code: str, client: Client) -> Code | None:
        # A second use revokes the tokens issued from the code (in the service) and answers invalid_grant.
        found = tokens.redeem_code(get_session(), code, client_pk=client.model.id)
        return Code(found) if found is not None else None

    def delete_authorization_code(self, authorization_code: Code) -> None:
        """Keep the used code: it is how a second use is recognised (it expires on its own)."""

    def authenticate_user(self, authorization_code: Code) -> User:
        return authorization_code.model.grant.user

    def create_authorization_response(self, redirect_uri: str, grant_user: Any) -> Any:
        """OB 3.0 "Authorization Response": the redirect carries code, scope (the granted scope) and state."""
        status, body, headers = super().create_authorization_response(redirect_uri, grant_user)
        scope = [("scope", self.request.scope or "")]
        return status, body, [(name, add_params_to_uri(value, scope) if name == "Location" else value)
                              for name, value in headers]


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotation: every refresh returns a new refresh token

    def authenticate_refresh_token(self, refresh_token: str) -> Token | None:
        found = tokens.usable_refresh_token(get_session(), refresh_token, client_pk=self.request.client.model.id)
        return Token(found, "refresh_token") if found is not None else None

    def validate_token_request(self) -> None:
        super().validate_token_request()
        # Rotate before issuing: of two requests racing with one refresh token, only one wins;
        # the other is a replay, and the grant's tokens are revoked (RFC 9700 §4.14.2).
        old = self.request.refresh_token.model
        session = get_session()
        if not tokens.rotate(session, old):
            tokens.revoke_grant_tokens(session, old.grant_id)
            raise InvalidGrantError("That refresh token was already used.")

    def authenticate_user(self, refresh_token: Token) -> User:
        return refresh_token.get_user()

    def revoke_old_credential(self, refresh_token: Token) -> None:
        """Rotated already in validate_token_request; the old access token runs out on its own (it is short-lived)."""


class Revocation(RevocationEndpoint):
    """RFC 7009 token revocation, for the client the token was issued to."""

    CLIENT_AUTH_METHODS = AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> Token | None:
        session = get_session()
        access = tokens.find_access_token(session, token_string)
        if access is not None:
            return Token(access, "access_token")
        refresh = tokens.find_refresh_token(session, token_string)
        return Token(refresh, "refresh_token") if refresh is not None else None

    def revoke_token(self, token: Token, request: Any) -> None:
        session = get_session()
        if token.kind == "refresh_token":
            # RFC 7009 §2.1: revoking a refresh token also invalidates the access tokens of the same grant.
            tokens.revoke_grant_tokens(session, token.model.grant_id)
        else:
            tokens.revoke_token(session, token.model)


class Registration(ClientRegistrationEndpoint):
    """RFC 7591 dynamic registration, open (no initial access token), checked by services/oauth/clients.py.

    No software statement is asked for, and no registration access token is issued: there is no
    RFC 7592 client management.
    """

    def create_registration_response(self, request: Any) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        try:
            metadata = request.payload.data
        except (HTTPException, ValidationError) as error:  # not JSON, or refused by the strict reader (D1-D4)
            reason = error.description if isinstance(error, HTTPException) else str(error)
            raise InvalidClientMetadataError(
                description=error_text(f"Send the client metadata as a JSON object. {reason or ''}".strip())) from None
        try:
            registered = clients.register_client(get_session(), metadata)
        except ClientMetadataError as error:
            refused = InvalidRedirectURIError if error.error == clients.INVALID_REDIRECT_URI else InvalidClientMetadataError
            raise refused(description=error_text(str(error))) from None
        return 201, registered.response(), default_json_headers


def error_text(message: str) -> str:
    """Return `message` in the characters an error_description may hold (RFC 6749 §5.2)."""
    return "".join(c if " " <= c <= "~" and c not in '"\\' else "?" for c in message)


class Server(AuthorizationServer):
    def handle_response(self, status_code: int, payload: Any, headers: Any) -> Response:
        response = super().handle_response(status_code, payload, headers)
        # RFC 6749 §5.1: token responses (and every JSON answer of ours) are never cached.
        if response.mimetype == "application/json":
            response.headers["Cache-Control"] = "no-store"
            response.headers["Pragma"] = "no-cache"
        return response


def _query_client(client_id: str | None) -> Client | None:
    found = clients.find_client(get_session(), client_id)
    return Client(found) if found is not None else None


def _save_token(token: dict[str, Any], request: Any) -> None:
    """Store the hashes of tokens Authlib just issued, under the grant the code or refresh token belongs to."""
    code = getattr(request, "authorization_code", None)
    parent = code.model if code is not None else request.refresh_token.model
    code_id = parent.id if code is not None else parent.code_id
    config = current_app.config
    tokens.store_tokens(get_session(), grant=parent.grant, access_token=token["access_token"],
                        refresh_token=token.get("refresh_token"), scopes=parse_scope(token.get("scope")),
                        access_seconds=int(config["OAUTH_ACCESS_TOKEN_SECONDS"]),
                        refresh_seconds=int(config["OAUTH_REFRESH_TOKEN_SECONDS"]), code_id=code_id)


def _generate_token(grant_type: str, client: Client, user: User | None = None, scope: str | None = None,
                    expires_in: int | None = None, include_refresh_token: bool = True) -> dict[str, Any]:
    token: dict[str, Any] = {"token_type": "Bearer", "access_token": tokens.new_access_token(),
                             "expires_in": int(current_app.config["OAUTH_ACCESS_TOKEN_SECONDS"])}
    if include_refresh_token:
        token["refresh_token"] = tokens.new_refresh_token()
    if scope:
        token["scope"] = scope
    return token


def init_app(app: Flask) -> Server:
    """Build the app's authorization server and keep it in `app.extensions`."""
    server = Server()
    server.init_app(app, query_client=_query_client, save_token=_save_token)
    server.register_token_generator("default", _generate_token)
    server.scopes_supported = list(ALL_SCOPES)
    server.register_grant(AuthorizationCodeGrant, [S256CodeChallenge(required=True)])
    server.register_grant(RefreshTokenGrant)
    server.register_endpoint(Revocation)
    server.register_endpoint(Registration)
    app.extensions[EXTENSION_KEY] = server
    return server


def server() -> Server:
    """Return the current app's authorization server."""
    return current_app.extensions[EXTENSION_KEY]  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------------------------
# What the routes call


@dataclass(frozen=True)
class ConsentRequest:
    """A valid authorization request, waiting for the learner's answer."""

    grant: Any  # Authlib's grant, validated
    client: OAuthClient
    scopes: frozenset[str]
    redirect_uri: str


def consent_request(user: User) -> ConsentRequest:
    """Validate the authorization request of this request (RFC 6749 §4.1.1); OAuth2Error if it is not valid."""
    grant = server().get_consent_grant(end_user=user)
    return ConsentRequest(grant, grant.client.model, parse_scope(grant.request.scope), grant.redirect_uri)


def answer_consent(asked: ConsentRequest, user: User, approved: bool) -> Response:
    """Redirect to the client with a code (approved) or error=access_denied (RFC 6749 §4.1.2.1)."""
    return server().create_authorization_response(grant=asked.grant, grant_user=user if approved else None)


def error_redirect(error: OAuth2Error) -> Response | None:
    """Return the redirect that tells the client about `error`, or None when it must not be redirected.

    RFC 6749 §4.1.2.1: with a missing or unknown client or a redirect URI that is not registered, the
    learner is told and not sent on; any other error goes back to the client's redirect URI.
    """
    if not error.redirect_uri:
        return None
    return server().handle_error_response(None, error)


def token_response() -> Response:
    """Answer the token endpoint (RFC 6749 §3.2)."""
    return server().create_token_response()


def revocation_response() -> Response:
    """Answer the revocation endpoint (RFC 7009)."""
    return server().create_endpoint_response(Revocation.ENDPOINT_NAME)


def registration_response() -> Response:
    """Answer the registration endpoint (RFC 7591)."""
    return server().create_endpoint_response(Registration.ENDPOINT_NAME)


def metadata(issuer: str, url: Callable[[str], str]) -> dict[str, Any]:
    """Return the authorization server metadata (RFC 8414 §2); `url` gives an endpoint's absolute URL."""
    return {
        "issuer": issuer,
        "authorization_endpoint": url("oauth.authorize"),
        "token_endpoint": url("oauth.token"),
        "registration_endpoint": url("oauth.register"),
        "revocation_endpoint": url("oauth.revoke"),
        "scopes_supported": list(ALL_SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": list(clients.GRANT_TYPES),
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        "code_challenge_methods_supported": ["S256"],
    }


def origin(uri: str) -> str:
    """Return the scheme://host[:port] of a registered URL, for a Content-Security-Policy source.

    Registration admits only plain host names and IP addresses (services/oauth/clients.py), so nothing
    of the client's can add a directive; the origin is rebuilt from the parsed parts all the same.
    """
    parts = urlsplit(uri)
    host = parts.hostname or ""
    if not clients.is_plain_host(host):
        raise ValueError("not a plain host name")
    shown = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{shown}" + (f":{parts.port}" if parts.port else "")


def host(uri: str) -> str:
    """Return the host (and port, if any) of a URL, as shown to the learner."""
    return urlsplit(uri).netloc
