"""A provider's Host on 127.0.0.1 for tests: the Open Badges 3.0 and CLR 2.0 APIs and Badge Connect 2.1.

`TestProvider` is what a college's student system or a badge backpack looks like to Wallet as a client
(Service Consumer): a real HTTP server with Authlib's authorization server over in-memory storage, serving
credentials signed with real keys. It follows the specifications:

- OB 3.0 "Open Badges API" and its security section (docs: imsglobal.org/spec/ob/v3p0/#api): the Service
  Description Document at `/ims/ob/v3p0/discovery`, Dynamic Client Registration (RFC 7591, every property the
  specification marks required, no initial access token), the authorization code grant with PKCE S256 required
  (RFC 7636), `client_secret_basic` at the token endpoint, refresh tokens that rotate, revocation (RFC 7009),
  `GET /credentials` paged by `limit`/`offset` with `X-Total-Count` and `Link`, `GET`/`PUT /profile`, and
  `Imsx_StatusInfo` errors.
- CLR 2.0 the same way under `/ims/clr/v2p0/`, serving ClrCredentials.
- Badge Connect 2.1 (OB 2.1): the manifest at `/.well-known/badgeconnect.json`, the same OAuth endpoints, the
  `…/ob/v2p1/scope/assertion.readonly` scope and `GET {apiBase}/assertions` in the response envelope
  (`status`, `assertions`); with `badge_connect_flavour="badgr"` the manifest names Badgr's `/bc/v1` base,
  whose list answers `status` and `results`.

The authorization endpoint stands for "the learner is logged in at the provider" (`provider.learner`): it
redirects at once with a code (`consent="auto"`), shows an HTML consent form (`"form"`), or refuses
(`"deny"`). What it received is kept for tests to read (`clients`, `authorization_requests`,
`token_requests`, `revocations`, `requests`), and knobs make the faults a client must survive
(`fail_page`, `endpoint_overrides`, `expire_access_tokens`, `access_token_lifetime`).
"""
from __future__ import annotations

import base64
import hmac
import html
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
from authlib.common.security import generate_token
from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import InvalidRequestError, grants
from authlib.oauth2.rfc6749.models import AuthorizationCodeMixin, ClientMixin, TokenMixin
from authlib.oauth2.rfc6749.util import scope_to_list
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7591 import ClientRegistrationEndpoint
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7636 import CodeChallenge
from flask import Flask, Response, request
from jwcrypto.jwk import JWK
from werkzeug.serving import make_server

from tests.support.credentials import JwtIssuer, LdIssuer, png_image
from wallet.services.verification.jose import sign_compact

OB3 = "ob3"
CLR = "clr"
BADGE_CONNECT = "bc"

OB3_SCOPE = "https://purl.imsglobal.org/spec/ob/v3p0/scope/"
CLR_SCOPE = "https://purl.imsglobal.org/spec/clr/v2p0/scope/"
BC_SCOPE = "https://purl.imsglobal.org/spec/ob/v2p1/scope/"
OB3_SCOPES = {name: OB3_SCOPE + name for name in
              ("credential.readonly", "credential.upsert", "profile.readonly", "profile.update")}
CLR_SCOPES = {name: CLR_SCOPE + name for name in
              ("credential.readonly", "credential.upsert", "profile.readonly", "profile.update")}
BC_SCOPES = {name: BC_SCOPE + name for name in
             ("assertion.readonly", "assertion.create", "profile.readonly", "profile.update")}
OFFLINE_ACCESS = "offline_access"  # OB 3.0 and Badge Connect examples ask for it beside the API scopes
SUPPORTED_SCOPES = [*OB3_SCOPES.values(), *CLR_SCOPES.values(), *BC_SCOPES.values(), OFFLINE_ACCESS]

OB3_CONTEXTS = ["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]
CLR_CONTEXTS = ["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json",
                "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]
OB2_CONTEXT = "https://w3id.org/openbadges/v2"

# OB 3.0 security section, "Register with Authorization Server": all of these MUST be in the request.
REQUIRED_REGISTRATION = ("client_name", "client_uri", "logo_uri", "tos_uri", "policy_uri", "software_id",
                         "software_version", "redirect_uris", "scope")
CODE_LIFETIME = 600  # OB 3.0: "A lifetime for the authorization code of 600 seconds (10 minutes) is RECOMMENDED"

# OB 3.0 / CLR 2.0 Imsx_CodeMinorFieldValue for each HTTP status this server answers with.
_IMSX_MINOR = {400: "invalid_query_parameter", 401: "unauthorizedrequest", 403: "forbidden", 404: "not_found",
               405: "not_allowed", 500: "internal_server_error"}
# Badge Connect 2.1 "Response Envelope": statusText per HTTP status.
_BC_STATUS_TEXT = {200: "OK", 400: "BAD_REQUEST", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                   404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 500: "INTERNAL_SERVER_ERROR"}


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


@dataclass
class Item:
    """One credential a learner holds at the provider, as it is served (a JSON object or a compact JWS)."""

    id: str
    payload: dict[str, Any] | str
    added_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @property
    def issued_at(self) -> datetime:
        """When it was issued: validFrom (issuanceDate, issuedOn, nbf), or else when the provider added it."""
        if isinstance(self.payload, str):
            claims = _jws_payload(self.payload)
            if isinstance(claims.get("nbf"), int):
                return datetime.fromtimestamp(claims["nbf"], timezone.utc)
            document = claims.get("vc", claims)
        else:
            document = self.payload
        for name in ("validFrom", "issuanceDate", "issuedOn"):
            moment = _parse_time(document.get(name))
            if moment is not None:
                return moment
        return self.added_at


@dataclass
class PageFault:
    fault: str  # "500", "bad_json" or "slow"
    times: int | None  # how many more requests it answers (None: every one)


def _jws_payload(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _types(document: dict[str, Any]) -> list[str]:
    value = document.get("type", [])
    return [value] if isinstance(value, str) else list(value)


def _api_of(credential: dict[str, Any] | str) -> str:
    """Tell which API serves a credential: CLR 2.0, Badge Connect (an OB 2.0 Assertion) or OB 3.0."""
    document = _jws_payload(credential) if isinstance(credential, str) else credential
    document = document.get("vc", document)
    types = _types(document)
    if "ClrCredential" in types:
        return CLR
    if "Assertion" in types:
        return BADGE_CONNECT
    return OB3


def _id_of(credential: dict[str, Any] | str) -> str:
    document = _jws_payload(credential) if isinstance(credential, str) else credential
    return str(document.get("id") or document.get("jti") or document.get("vc", {}).get("id") or uuid.uuid4())


def _parse_time(value: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None
    except ValueError:
        return None
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class TestProvider:
    """A provider's Host (OB 3.0, CLR 2.0, Badge Connect 2.1) served over real HTTP on 127.0.0.1."""

    __test__ = False  # not a test class, whatever pytest makes of its name

    def __init__(self, *, name: str = "Riverside College", learner: str = "learner@example.org",
                 consent: str = "auto", page_size: int = 10, access_token_lifetime: int = 3600,
                 badge_connect_flavour: str = "spec") -> None:
        self.name = name
        self.learner = learner  # who is logged in at the provider when the browser reaches /oauth/authorize
        self.learner_names: dict[str, str] = {}
        self.consent = consent  # "auto", "form" or "deny"
        self.page_size = page_size  # the largest page the provider serves, and the page when `limit` is absent
        self.access_token_lifetime = access_token_lifetime
        self.badge_connect_flavour = badge_connect_flavour  # "spec" (/ims/ob/v2p1) or "badgr" (/bc/v1)
        self.endpoint_overrides: dict[str, str] = {}  # registration/authorization/token/revocation/api_base
        self.slow_seconds = 3.0

        self.clients: list[Client] = []
        self.authorization_requests: list[dict[str, str]] = []
        self.token_requests: list[dict[str, Any]] = []
        self.revocations: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.tokens: list[Token] = []
        self.profiles: dict[str, dict[str, Any]] = {}

        self._codes: dict[str, AuthorizationCode] = {}
        self._used_codes: dict[str, str] = {}  # code -> access token issued for it
        self._credentials: dict[str, dict[str, list[Item]]] = {OB3: {}, CLR: {}, BADGE_CONNECT: {}}
        self._faults: dict[tuple[str, int], PageFault] = {}
        self._lock = threading.RLock()
        self._ob2_count = 0
        self._ob2_documents: dict[str, dict[str, Any]] = {}
        self._ob2_key: JWK | None = None
        self.ld_issuer = LdIssuer(name=name)
        self.jwt_issuer = JwtIssuer(name=name)

        self.app = self._make_app()
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.port = self._server.server_port
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    @property
    def ob2_key(self) -> JWK:
        """The RSA key of the provider's OB 2.0 issuer (made when first needed: RSA keys are slow to make)."""
        with self._lock:
            if self._ob2_key is None:
                self._ob2_key = JWK.generate(kty="RSA", size=2048)
            return self._ob2_key

    # -- addresses -------------------------------------------------------------------------------

    def url(self, path: str) -> str:
        return self.base_url + path

    @property
    def ob3_discovery_url(self) -> str:
        return self.url("/ims/ob/v3p0/discovery")

    @property
    def clr_discovery_url(self) -> str:
        return self.url("/ims/clr/v2p0/discovery")

    @property
    def badge_connect_manifest_url(self) -> str:
        return self.url("/.well-known/badgeconnect.json")

    def close(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)
        self._server.server_close()

    # -- credentials -----------------------------------------------------------------------------

    def add_credential(self, credential: dict[str, Any] | str, *, learner: str | None = None,
                       api: str | None = None) -> str:
        """Give `learner` (default: `self.learner`) a credential, served as it is; return its id.

        The API follows from the credential (a ClrCredential: CLR 2.0; an OB 2.0 Assertion: Badge Connect;
        otherwise OB 3.0) unless `api` names one. Adding a credential with the same id replaces it.
        """
        api = api or _api_of(credential)
        item = Item(_id_of(credential), credential)
        with self._lock:
            items = self._credentials[api].setdefault(learner or self.learner, [])
            for index, existing in enumerate(items):
                if existing.id == item.id:
                    items[index] = item
                    break
            else:
                items.append(item)
        return item.id

    def remove_credential(self, credential_id: str, *, learner: str | None = None) -> None:
        """Take a credential (by id) away from `learner`, whichever API served it."""
        with self._lock:
            for by_learner in self._credentials.values():
                items = by_learner.get(learner or self.learner, [])
                items[:] = [item for item in items if item.id != credential_id]

    def credentials(self, api: str = OB3, learner: str | None = None) -> list[dict[str, Any] | str]:
        """Return what `learner` holds under `api`, in the order it is served."""
        with self._lock:
            return [item.payload for item in self._credentials[api].get(learner or self.learner, [])]

    def issue_ob3(self, *, learner: str | None = None, proof: str = "ld", **kwargs: Any) -> dict[str, Any] | str:
        """Issue `learner` an OB 3.0 credential signed by the provider (`proof` "ld": eddsa-rdfc-2022 by a
        did:key; "jwt": a VC-JWT by a did:jwk), add it, and return it. Keywords as for JwtIssuer.credential."""
        email = learner or self.learner
        if proof == "jwt":
            credential: dict[str, Any] | str = self.jwt_issuer.jwt(email=email, **kwargs)
        else:
            credential = self.ld_issuer.signed(email=email, **kwargs)
        self.add_credential(credential, learner=email, api=OB3)
        return credential

    def issue_clr(self, *, learner: str | None = None, name: str = "Transcript",
                  achievements: tuple[str, ...] = ("Algebra II", "Robotics Level 1"), proof: str = "ld") -> Any:
        """Issue `learner` a CLR 2.0 ClrCredential carrying one signed OB 3.0 credential per achievement,
        signed by the provider's did:key (eddsa-rdfc-2022) or as a VC-JWT (`proof="jwt"`); add and return it."""
        email = learner or self.learner
        members = [self.ld_issuer.signed(email=email, name=achievement) for achievement in achievements]
        credential_id = f"urn:uuid:{uuid.uuid4()}"
        issuer = self.jwt_issuer if proof == "jwt" else self.ld_issuer
        record: dict[str, Any] = {
            "@context": CLR_CONTEXTS,
            "id": credential_id,
            "type": ["VerifiableCredential", "ClrCredential"],
            "issuer": {"id": issuer.did, "type": ["Profile"], "name": self.name},
            "validFrom": _iso(datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=1)),
            "name": name,
            "credentialSubject": {
                "type": ["ClrSubject"],
                "identifier": [{"type": "IdentityObject", "identityHash": email, "identityType": "emailAddress",
                                "hashed": False}],
                "verifiableCredential": members,
            },
        }
        if proof == "jwt":
            signed: dict[str, Any] | str = self.jwt_issuer.sign(record)
        else:
            from wallet.services.verification.dataintegrity import sign_document

            did = self.ld_issuer.did
            signed = sign_document(record, private_key=self.ld_issuer.key,
                                   verification_method=did + "#" + did.removeprefix("did:key:"))
        self.add_credential(signed, learner=email, api=CLR)
        return signed

    def issue_ob2(self, *, learner: str | None = None, name: str = "Hosted Badge", signed: bool = False,
                  description: str = "An Open Badges 2.0 badge of the provider.") -> dict[str, Any] | str:
        """Issue `learner` an OB 2.0 assertion, add it to Badge Connect and return it: hosted (this server
        answers its id, BadgeClass, issuer and image) or `signed` (an RS256 compact JWS by the key the issuer
        profile names in `publicKey`, which this server hosts)."""
        email = learner or self.learner
        with self._lock:
            self._ob2_count += 1
            number = self._ob2_count
        badge_url = self.url(f"/ob2/badges/{number}")
        self._ob2_documents[f"/ob2/badges/{number}"] = {
            "@context": OB2_CONTEXT, "type": "BadgeClass", "id": badge_url, "name": name,
            "description": description, "image": self.url("/ob2/image.png"),
            "criteria": {"narrative": "Complete the course."}, "issuer": self.url("/ob2/issuer")}
        assertion: dict[str, Any] = {
            "@context": OB2_CONTEXT, "type": "Assertion",
            "recipient": {"type": "email", "hashed": False, "identity": email},
            "badge": badge_url, "issuedOn": "2026-03-01T10:00:00Z"}
        if signed:
            # OB 2.0 SignedBadge: the key is linked from the issuer profile and named by `creator`.
            assertion.update(id=f"urn:uuid:{uuid.uuid4()}",
                             verification={"type": "SignedBadge", "creator": self.url("/ob2/key")})
            token = sign_compact(assertion, self.ob2_key, "RS256")
            self.add_credential(token, learner=email, api=BADGE_CONNECT)
            return token
        assertion.update(id=self.url(f"/ob2/assertions/{number}"), verification={"type": "hosted"})
        self._ob2_documents[f"/ob2/assertions/{number}"] = assertion
        self.add_credential(assertion, learner=email, api=BADGE_CONNECT)
        return assertion

    # -- faults ----------------------------------------------------------------------------------

    def fail_page(self, *, api: str = OB3, offset: int = 0, fault: str = "500", times: int | None = None) -> None:
        """Make the list page of `api` starting at `offset` answer `fault`: "500" (an Imsx_StatusInfo 500),
        "bad_json" (a 200 whose body is not JSON) or "slow" (answers after `slow_seconds`); `times` requests
        only, or every one."""
        assert fault in ("500", "bad_json", "slow"), fault
        self._faults[(api, offset)] = PageFault(fault, times)

    def expire_access_tokens(self) -> None:
        """Make every access token issued so far expired (their refresh tokens still work)."""
        with self._lock:
            for token in self.tokens:
                token.issued_at = _now() - token.expires_in - 1

    def access_token_of(self, raw: str) -> Token | None:
        with self._lock:
            return next((t for t in self.tokens if t.access_token == raw), None)

    # -- the app ---------------------------------------------------------------------------------

    def _endpoint(self, name: str, path: str) -> str:
        return self.endpoint_overrides.get(name) or self.url(path)

    def _make_app(self) -> Flask:
        app = Flask(f"test-provider-{id(self)}")
        app.config.update(OAUTH2_SCOPES_SUPPORTED=SUPPORTED_SCOPES)
        provider = self

        def query_client(client_id: str) -> Client | None:
            with provider._lock:
                return next((c for c in provider.clients if c.client_id == client_id), None)

        def save_token(token: dict[str, Any], oauth_request: Any) -> None:
            with provider._lock:
                stored = Token(client=oauth_request.client, learner=oauth_request.user,
                               access_token=token["access_token"], refresh_token=token.get("refresh_token"),
                               scope=token.get("scope", ""), expires_in=int(token["expires_in"]))
                code = getattr(oauth_request, "authorization_code", None)
                if isinstance(code, AuthorizationCode):
                    stored.code = code.code
                    provider._used_codes[code.code] = stored.access_token
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
                with provider._lock:
                    provider._codes[code] = AuthorizationCode(
                        code=code, client_id=oauth_request.client.client_id,
                        redirect_uri=oauth_request.payload.redirect_uri, scope=oauth_request.scope or "",
                        learner=oauth_request.user, code_challenge=data.get("code_challenge"),
                        code_challenge_method=data.get("code_challenge_method"))

            def query_authorization_code(self, code: str, client: Client) -> AuthorizationCode | None:
                with provider._lock:
                    if code in provider._used_codes:
                        # OB 3.0: a code used twice is refused, and tokens issued from it SHOULD be revoked.
                        for token in provider.tokens:
                            if token.code == code:
                                token.access_revoked = token.refresh_revoked = True
                        return None
                    found = provider._codes.get(code)
                if found is None or found.client_id != client.client_id or found.is_expired():
                    return None
                return found

            def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
                with provider._lock:
                    provider._codes.pop(authorization_code.code, None)

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
                with provider._lock:
                    return next((t for t in provider.tokens
                                 if t.refresh_token == refresh_token and not t.refresh_revoked), None)

            def authenticate_user(self, refresh_token: Token) -> str:
                return refresh_token.learner

            def revoke_old_credential(self, refresh_token: Token) -> None:
                with provider._lock:
                    refresh_token.access_revoked = refresh_token.refresh_revoked = True

        class Revocation(RevocationEndpoint):
            CLIENT_AUTH_METHODS = ["client_secret_basic"]

            def query_token(self, token_string: str, token_type_hint: str | None) -> Token | None:
                with provider._lock:
                    return next((t for t in provider.tokens
                                 if token_string in (t.access_token, t.refresh_token)), None)

            def revoke_token(self, token: Token, oauth_request: Any) -> None:
                with provider._lock:
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
                with provider._lock:
                    provider.clients.append(client)
                return client

        server.register_grant(CodeGrant, [S256Required()])
        server.register_grant(RefreshGrant)
        server.register_endpoint(Revocation)
        server.register_endpoint(Registration)
        self.oauth_server = server

        @app.before_request
        def record() -> None:
            provider.requests.append((request.method, request.full_path.rstrip("?"), dict(request.headers)))

        # -- discovery ---------------------------------------------------------------------------

        @app.get("/ims/ob/v3p0/discovery")
        def ob3_discovery() -> Any:
            return provider._discovery("Open Badges", OB3_SCOPES)

        @app.get("/ims/clr/v2p0/discovery")
        def clr_discovery() -> Any:
            return provider._discovery("Comprehensive Learner Record", CLR_SCOPES)

        @app.get("/.well-known/badgeconnect.json")
        def badge_connect_manifest() -> Any:
            api_base = "/bc/v1" if provider.badge_connect_flavour == "badgr" else "/ims/ob/v2p1"
            return {
                "@context": "https://purl.imsglobal.org/spec/ob/v2p1/ob_v2p1.jsonld",
                "id": provider.badge_connect_manifest_url,
                "badgeConnectAPI": [{
                    "name": provider.name,
                    "image": provider.url("/logo.png"),
                    "apiBase": provider._endpoint("api_base", api_base),
                    "version": "v2p1",
                    "termsOfServiceUrl": provider.url("/terms"),
                    "privacyPolicyUrl": provider.url("/privacy"),
                    "scopesOffered": list(BC_SCOPES.values()),
                    "registrationUrl": provider._endpoint("registration", "/oauth/register"),
                    "authorizationUrl": provider._endpoint("authorization", "/oauth/authorize"),
                    "tokenUrl": provider._endpoint("token", "/oauth/token"),
                    "tokenRevocationUrl": provider._endpoint("revocation", "/oauth/revoke"),
                }],
            }

        # -- OAuth 2.0 ---------------------------------------------------------------------------

        @app.post("/oauth/register")
        def register() -> Any:
            body = request.get_json(silent=True)
            missing = [name for name in REQUIRED_REGISTRATION if not isinstance(body, dict) or not body.get(name)]
            if missing:
                # RFC 7591 section 3.2.2: invalid_client_metadata for a missing or invalid field.
                return {"error": "invalid_client_metadata",
                        "error_description": "Missing required properties: " + ", ".join(missing)}, 400
            return server.create_endpoint_response("client_registration")

        @app.route("/oauth/authorize", methods=["GET", "POST"])
        def authorize() -> Any:
            provider.authorization_requests.append(dict(request.args.items()))
            try:
                grant = server.get_consent_grant(end_user=provider.learner)
            except OAuth2Error as error:
                if error.redirect_uri:
                    return server.handle_error_response(None, error)
                # OB 3.0: an unknown client or redirect_uri is shown to the user, never redirected to.
                return _page("Authorization error", f"<p id='error'>{html.escape(error.error)}: "
                             f"{html.escape(error.description or '')}</p>"), 400
            if request.method == "POST":
                approved = request.form.get("decision") == "approve"
                return server.create_authorization_response(grant=grant,
                                                            grant_user=provider.learner if approved else None)
            if provider.consent == "deny":
                return server.create_authorization_response(grant=grant, grant_user=None)
            if provider.consent == "auto":
                return server.create_authorization_response(grant=grant, grant_user=provider.learner)
            client = grant.client
            scopes = "".join(f"<li>{html.escape(s)}</li>" for s in scope_to_list(grant.request.scope or ""))
            return _page(f"{provider.name}: connect {client.name}", (
                f"<h1>{html.escape(client.name)} asks for access to your records at {html.escape(provider.name)}"
                f"</h1><p>Signed in as {html.escape(provider.learner)}.</p><ul>{scopes}</ul>"
                f"<form method='post'><button name='decision' value='approve'>Approve</button>"
                f"<button name='decision' value='deny'>Deny</button></form>"))

        @app.post("/oauth/token")
        def token() -> Any:
            response = server.create_token_response()
            provider.token_requests.append({
                "form": dict(request.form.items()), "client_id": _basic_client_id(),
                "status": response.status_code, "response": response.get_json(silent=True)})
            response.headers["Cache-Control"] = "no-store"
            return response

        @app.post("/oauth/revoke")
        def revoke() -> Any:
            raw = request.form.get("token", "")
            with provider._lock:
                found = any(raw in (t.access_token, t.refresh_token) for t in provider.tokens)
            response = server.create_endpoint_response("revocation")
            provider.revocations.append({
                "token": raw, "token_type_hint": request.form.get("token_type_hint"),
                "client_id": _basic_client_id(), "found": found, "status": response.status_code})
            return response

        # -- resources ---------------------------------------------------------------------------

        @app.get("/ims/ob/v3p0/credentials")
        def ob3_credentials() -> Any:
            return provider._list(OB3, OB3_SCOPES["credential.readonly"])

        @app.get("/ims/clr/v2p0/credentials")
        def clr_credentials() -> Any:
            return provider._list(CLR, CLR_SCOPES["credential.readonly"])

        @app.get("/ims/ob/v2p1/assertions")
        def bc_assertions() -> Any:
            return provider._list(BADGE_CONNECT, BC_SCOPES["assertion.readonly"])

        @app.get("/bc/v1/assertions")
        def badgr_assertions() -> Any:
            return provider._list(BADGE_CONNECT, BC_SCOPES["assertion.readonly"], badgr=True)

        @app.route("/ims/ob/v3p0/profile", methods=["GET", "PUT"])
        def ob3_profile() -> Any:
            return provider._profile(OB3, OB3_SCOPES)

        @app.route("/ims/clr/v2p0/profile", methods=["GET", "PUT"])
        def clr_profile() -> Any:
            return provider._profile(CLR, CLR_SCOPES)

        @app.get("/ims/ob/v2p1/profile")
        def bc_profile() -> Any:
            token, error = provider._bearer(BADGE_CONNECT, BC_SCOPES["profile.readonly"])
            if error is not None:
                return error
            profile = dict(provider._learner_profile(token.learner), **{"@context": OB2_CONTEXT})
            return {"status": _bc_status(200), "profile": profile}

        @app.get("/ob2/<path:rest>")
        def ob2_document(rest: str) -> Any:
            path = "/ob2/" + rest
            if path == "/ob2/image.png":
                return Response(png_image("teal"), mimetype="image/png")
            if path == "/ob2/issuer":
                return {"@context": OB2_CONTEXT, "type": "Issuer", "id": provider.url(path), "name": provider.name,
                        "url": provider.url("/"), "email": "badges@provider.example",
                        "publicKey": provider.url("/ob2/key")}
            if path == "/ob2/key":
                return {"@context": OB2_CONTEXT, "type": "CryptographicKey", "id": provider.url(path),
                        "owner": provider.url("/ob2/issuer"),
                        "publicKeyPem": provider.ob2_key.export_to_pem(private_key=False, password=None).decode()}
            document = provider._ob2_documents.get(path)
            return (document, 200) if document else ({"error": "not found"}, 404)

        @app.get("/logo.png")
        def logo() -> Any:
            return Response(png_image("maroon"), mimetype="image/png")

        @app.get("/<any(terms, privacy):page>")
        def legal(page: str) -> Any:
            return _page(f"{provider.name}: {page}", f"<p>The {page} of {html.escape(provider.name)}.</p>")

        return app

    # -- resource helpers ------------------------------------------------------------------------

    def _discovery(self, title: str, scopes: dict[str, str]) -> dict[str, Any]:
        """Return the Service Description Document (OB 3.0 / CLR 2.0: a profiled OpenAPI 3.0 document)."""
        return {
            "openapi": "3.0.1",
            "info": {
                "title": self.name,
                "description": f"{title} API of {self.name}",
                "version": "1.0",
                "termsOfService": self.url("/terms"),
                "x-imssf-image": self.url("/logo.png"),
                "x-imssf-privacyPolicyUrl": self.url("/privacy"),
            },
            "servers": [{"url": self.base_url, "description": self.name}],
            "paths": {},
            "components": {
                "securitySchemes": {
                    "OAuth2ACG": {
                        "type": "oauth2",
                        "description": "OAuth 2.0 Authorization Code Grant authorization",
                        "x-imssf-name": self.name,
                        "x-imssf-privacyPolicyUrl": self.url("/privacy"),
                        "x-imssf-registrationUrl": self._endpoint("registration", "/oauth/register"),
                        "x-imssf-termsOfServiceUrl": self.url("/terms"),
                        "flows": {
                            "authorizationCode": {
                                "authorizationUrl": self._endpoint("authorization", "/oauth/authorize"),
                                "tokenUrl": self._endpoint("token", "/oauth/token"),
                                "refreshUrl": self._endpoint("token", "/oauth/token"),
                                "scopes": {uri: f"Permission: {name}" for name, uri in scopes.items()},
                            }
                        },
                    }
                },
                "schemas": {},
            },
        }

    def _error(self, api: str, status: int, description: str, headers: dict[str, str] | None = None) -> Response:
        if api == BADGE_CONNECT:
            body: dict[str, Any] = {"status": _bc_status(status, description)}
        else:
            body = {
                "imsx_codeMajor": "failure",
                "imsx_severity": "error",
                "imsx_description": description,
                "imsx_codeMinor": {"imsx_codeMinorField": [
                    {"imsx_codeMinorFieldName": self.name,
                     "imsx_codeMinorFieldValue": _IMSX_MINOR.get(status, "internal_server_error")}]},
            }
        return Response(json.dumps(body), status=status, mimetype="application/json", headers=headers or {})

    def _bearer(self, api: str, scope: str) -> tuple[Token, None] | tuple[None, Response]:
        """Authenticate the request's bearer token for `scope` (RFC 6750 errors in WWW-Authenticate)."""
        header = request.headers.get("Authorization", "")
        raw = header[7:].strip() if header[:7].lower() == "bearer " else ""
        token = self.access_token_of(raw) if raw else None
        if token is None or token.is_revoked() or token.is_expired():
            challenge = 'Bearer error="invalid_token"' if raw else "Bearer"
            return None, self._error(api, 401, "The access token is missing, unknown, expired or revoked.",
                                     {"WWW-Authenticate": challenge})
        if scope not in token.scopes:
            return None, self._error(api, 403, f"The access token lacks the scope {scope}.",
                                     {"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'})
        return token, None

    def _list(self, api: str, scope: str, *, badgr: bool = False) -> Response:
        token, error = self._bearer(api, scope)
        if error is not None:
            return error
        try:
            limit = int(request.args.get("limit", self.page_size))
            offset = int(request.args.get("offset", 0))
        except ValueError:
            return self._error(api, 400, "limit and offset must be integers.")
        if limit < 1 or offset < 0:
            return self._error(api, 400, "limit must be positive and offset not negative.")
        since = request.args.get("since")
        since_time = _parse_time(since) if since else None
        if since and since_time is None:
            return self._error(api, 400, "since must be a date and time like 2026-05-01T00:00:00Z.")
        limit = min(limit, self.page_size)
        fault = self._take_fault(api, offset)
        if fault == "500":
            return self._error(api, 500, "The provider failed to read this page.")
        if fault == "slow":
            time.sleep(self.slow_seconds)
        with self._lock:
            items = list(self._credentials[api].get(token.learner, []))
        if since_time is not None:
            # OB 3.0 getCredentials `since`: "Only include OpenBadgeCredentials issued after this timestamp."
            items = [item for item in items if item.issued_at > since_time]
        page = items[offset:offset + limit]
        objects = [item.payload for item in page if isinstance(item.payload, dict)]
        strings = [item.payload for item in page if isinstance(item.payload, str)]
        if api in (OB3, CLR):
            # GetOpenBadgeCredentialsResponse (OB 3.0) and GetClrCredentialsResponse (CLR 2.0) alike.
            body: dict[str, Any] = {"credential": objects, "compactJwsString": strings}
        elif badgr:
            body = {"status": _bc_status(200), "results": objects}
        else:
            body = {"status": _bc_status(200), "assertions": objects, "signedAssertions": strings}
        content = b'{"credential": [' if fault == "bad_json" else json.dumps(body).encode()
        response = Response(content, status=200, mimetype="application/json")
        response.headers["X-Total-Count"] = str(len(items))
        response.headers["Link"] = self._links(len(items), limit, offset)
        return response

    def _links(self, total: int, limit: int, offset: int) -> str:
        """Return the Link header: next (when incomplete), last and first (always), prev (offset > 0)."""
        base = request.base_url

        since = {"since": request.args["since"]} if request.args.get("since") else {}

        def link(at: int, rel: str) -> str:
            return f'<{base}?{urlencode({"limit": limit, "offset": at, **since})}>; rel="{rel}"'

        links = []
        if offset + limit < total:
            links.append(link(offset + limit, "next"))
        links.append(link(((total - 1) // limit) * limit if total else 0, "last"))
        links.append(link(0, "first"))
        if offset > 0:
            links.append(link(max(offset - limit, 0), "prev"))
        return ", ".join(links)

    def _take_fault(self, api: str, offset: int) -> str | None:
        with self._lock:
            fault = self._faults.get((api, offset))
            if fault is None:
                return None
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    del self._faults[(api, offset)]
            return fault.fault

    def _learner_profile(self, learner: str) -> dict[str, Any]:
        stored = self.profiles.get(learner)
        if stored is not None:
            return stored
        return {"@context": OB3_CONTEXTS[1:], "type": "Profile", "id": self.url(f"/learners/{learner}"),
                "name": self.learner_names.get(learner, learner.split("@")[0].title()), "email": learner}

    def _profile(self, api: str, scopes: dict[str, str]) -> Any:
        if request.method == "PUT":
            token, error = self._bearer(api, scopes["profile.update"])
            if error is not None:
                return error
            body = request.get_json(silent=True)
            if not isinstance(body, dict) or "Profile" not in _types(body):
                return self._error(api, 400, "The body must be a Profile.")
            self.profiles[token.learner] = body
            return body
        token, error = self._bearer(api, scopes["profile.readonly"])
        if error is not None:
            return error
        return self._learner_profile(token.learner)


def _bc_status(code: int, error: str | None = None) -> dict[str, Any]:
    return {"error": error, "statusCode": code, "statusText": _BC_STATUS_TEXT.get(code, "BAD_REQUEST")}


def _basic_client_id() -> str | None:
    auth = request.authorization
    return auth.username if auth is not None and auth.type == "basic" else None


def _add_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def _page(title: str, body: str) -> str:
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"</head><body><main>{body}</main></body></html>")


@pytest.fixture
def host_provider() -> Iterator[TestProvider]:
    """A provider's Host on 127.0.0.1 (OB 3.0, CLR 2.0, Badge Connect 2.1); import it into a test module."""
    provider = TestProvider()
    yield provider
    provider.close()
