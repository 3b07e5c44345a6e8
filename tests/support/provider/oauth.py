"""The test provider's OAuth 2.0 authorization server: Authlib over in-memory storage (RFC 6749, 7591,
7636 with S256 required, 7009), as OB 3.0's security section and Badge Connect 2.1 describe it."""
from __future__ import annotations

import hmac
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from authlib.common.security import generate_token
from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import InvalidRequestError, grants
from authlib.oauth2.rfc6749.models import AuthorizationCodeMixin, ClientMixin, TokenMixin
from authlib.oauth2.rfc6749.util import scope_to_list
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7591 import ClientRegistrationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from flask import Flask

from tests.support.provider.specs import CODE_LIFETIME, SUPPORTED_SCOPES

if TYPE_CHECKING:
    from tests.support.provider import TestProvider


def _now() -> float:
    return time.time()


@dataclass
class Client(ClientMixin):
    """A client registered by RFC 7591 Dynamic Client Registration."""

    client_id: str
    client_secret: str
    client_id_issued_at: int
    metadata: dict[str, Any]

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        # OB 3.0: redirect_uri is REQUIRED in the authorization request, so there is no default.
        return None

    def get_allowed_scope(self, scope: str) -> str:
        registered = set(scope_to_list(self.metadata.get("scope", "")))
        return " ".join(s for s in scope_to_list(scope or "") if s in registered)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.metadata.get("redirect_uris", [])

    def check_client_secret(self, client_secret: str) -> bool:
        return hmac.compare_digest(self.client_secret.encode(), (client_secret or "").encode())

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        # OB 3.0: "In this specification only "client_secret_basic" is allowed".
        return method == self.metadata.get("token_endpoint_auth_method", "client_secret_basic")

    def check_response_type(self, response_type: str) -> bool:
        return response_type in self.metadata.get("response_types", ["code"])

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.metadata.get("grant_types", ["authorization_code"])

    @property
    def name(self) -> str:
        return self.metadata.get("client_name", "")


@dataclass
class AuthorizationCode(AuthorizationCodeMixin):
    """A code issued to a client for a learner, with its PKCE challenge."""

    code: str
    client_id: str
    redirect_uri: str
    scope: str
    learner: str
    code_challenge: str | None
    code_challenge_method: str | None
    issued_at: float = field(default_factory=_now)

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def is_expired(self) -> bool:
        return _now() > self.issued_at + CODE_LIFETIME


@dataclass
class Token(TokenMixin):
    """An access token and its refresh token, for one client and learner."""

    client: Client
    learner: str
    access_token: str
    refresh_token: str | None
    scope: str
    expires_in: int
    issued_at: float = field(default_factory=_now)
    access_revoked: bool = False
    refresh_revoked: bool = False
    code: str | None = None

    def check_client(self, client: ClientMixin) -> bool:
        return client.get_client_id() == self.client.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return self.expires_in

    def is_expired(self) -> bool:
        return _now() >= self.issued_at + self.expires_in

    def is_revoked(self) -> bool:
        return self.access_revoked

    def get_user(self) -> str:
        return self.learner

    def get_client(self) -> Client:
        return self.client

    @property
    def scopes(self) -> set[str]:
        return set(scope_to_list(self.scope))


class S256Required(CodeChallenge):
    """PKCE for every client, S256 only: "When using 1EdTech specifications, PKCE MUST be used" (OB 3.0
    security, Authorization Request; Badge Connect 2.1: code_challenge_method "MUST have a value of S256")."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: missing 'code_challenge'.")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("PKCE 'code_challenge_method' must be S256.")
        super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant: Any, result: Any) -> None:
        if not grant.request.form.get("code_verifier"):
            raise InvalidRequestError("Missing 'code_verifier'.")
        super().validate_code_verifier(grant, result)


def make_authorization_server(app: Flask, provider: TestProvider) -> AuthorizationServer:
    """Build the authorization server of `provider` on `app`, keeping what it issues in `provider`."""
    def query_client(client_id: str) -> Client | None:
        with provider.lock:
            return next((c for c in provider.clients if c.client_id == client_id), None)

    def save_token(token: dict[str, Any], oauth_request: Any) -> None:
        with provider.lock:
            stored = Token(client=oauth_request.client, learner=oauth_request.user,
                           access_token=token["access_token"], refresh_token=token.get("refresh_token"),
                           scope=token.get("scope", ""), expires_in=int(token["expires_in"]))
            code = getattr(oauth_request, "authorization_code", None)
            if isinstance(code, AuthorizationCode):
                stored.code = code.code
                provider.used_codes[code.code] = stored.access_token
            provider.tokens.append(stored)

    server = AuthorizationServer(app, query_client=query_client, save_token=save_token)

    def expires_in(client: Any, grant_type: str) -> int:
        return provider.access_token_lifetime

    # The access token lifetime is read at each issue, so a test can shorten it at any time.
    server.register_token_generator("default", BearerTokenGenerator(
        lambda *args, **kwargs: generate_token(42), lambda *args, **kwargs: generate_token(48), expires_in))

    class CodeGrant(grants.AuthorizationCodeGrant):
        TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic"]

        def save_authorization_code(self, code: str, oauth_request: Any) -> None:
            data = oauth_request.payload.data
            with provider.lock:
                provider.codes[code] = AuthorizationCode(
                    code=code, client_id=oauth_request.client.client_id,
                    redirect_uri=oauth_request.payload.redirect_uri, scope=oauth_request.scope or "",
                    learner=oauth_request.user, code_challenge=data.get("code_challenge"),
                    code_challenge_method=data.get("code_challenge_method"))

        def query_authorization_code(self, code: str, client: Client) -> AuthorizationCode | None:
            with provider.lock:
                if code in provider.used_codes:
                    # OB 3.0: a code used twice is refused, and tokens issued from it SHOULD be revoked.
                    for token in provider.tokens:
                        if token.code == code:
                            token.access_revoked = token.refresh_revoked = True
                    return None
                found = provider.codes.get(code)
                if found is None or found.client_id != client.client_id or found.is_expired():
                    return None
                # Redeemed here, under the lock: two requests racing with one code cannot both have it.
                del provider.codes[code]
                provider.used_codes[code] = ""
                return found

        def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
            """Nothing left to do: the code was redeemed when it was looked up."""

        def authenticate_user(self, authorization_code: AuthorizationCode) -> str:
            return authorization_code.learner

        def create_authorization_response(self, redirect_uri: str, grant_user: Any) -> Any:
            status, body, headers = super().create_authorization_response(redirect_uri, grant_user)
            # OB 3.0: the redirect carries code, scope and state.
            headers = [(name, _add_query(value, scope=self.request.scope or "") if name == "Location"
                        else value) for name, value in headers]
            return status, body, headers

    class RefreshGrant(grants.RefreshTokenGrant):
        TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic"]
        INCLUDE_NEW_REFRESH_TOKEN = True  # rotation: each refresh answers a new refresh token

        def authenticate_refresh_token(self, refresh_token: str) -> Token | None:
            with provider.lock:
                return next((t for t in provider.tokens
                             if t.refresh_token == refresh_token and not t.refresh_revoked), None)

        def authenticate_user(self, refresh_token: Token) -> str:
            return refresh_token.learner

        def revoke_old_credential(self, refresh_token: Token) -> None:
            with provider.lock:
                refresh_token.access_revoked = refresh_token.refresh_revoked = True

    class Revocation(RevocationEndpoint):
        CLIENT_AUTH_METHODS = ["client_secret_basic"]

        def query_token(self, token_string: str, token_type_hint: str | None) -> Token | None:
            with provider.lock:
                return next((t for t in provider.tokens
                             if token_string in (t.access_token, t.refresh_token)), None)

        def revoke_token(self, token: Token, oauth_request: Any) -> None:
            with provider.lock:
                # Revoking either token of a grant ends both: the client is disconnecting.
                token.access_revoked = token.refresh_revoked = True

    class Registration(ClientRegistrationEndpoint):
        def authenticate_token(self, oauth_request: Any) -> bool:
            return True  # OB 3.0: "The registration request MUST NOT require an Initial Access Token"

        def get_server_metadata(self) -> dict[str, Any]:
            return {"scopes_supported": SUPPORTED_SCOPES, "response_types_supported": ["code"],
                    "grant_types_supported": ["authorization_code", "refresh_token"],
                    "token_endpoint_auth_methods_supported": ["client_secret_basic"]}

        def save_client(self, client_info: dict[str, Any], client_metadata: dict[str, Any],
                        oauth_request: Any) -> Client:
            client = Client(client_info["client_id"], client_info["client_secret"],
                            client_info["client_id_issued_at"], dict(client_metadata))
            with provider.lock:
                provider.clients.append(client)
            return client

    server.register_grant(CodeGrant, [S256Required()])
    server.register_grant(RefreshGrant)
    server.register_endpoint(Revocation)
    server.register_endpoint(Registration)
    return server


def _add_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))
