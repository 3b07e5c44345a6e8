"""A provider's Host on 127.0.0.1 for tests: the Open Badges 3.0 and CLR 2.0 APIs and Badge Connect 2.1.

`TestProvider` is what a college's student system or a badge backpack looks like to Wallet as a client
(Service Consumer): a real HTTP server with Authlib's authorization server over in-memory storage, serving
credentials signed with real keys. It follows the specifications:

- OB 3.0 "Open Badges API" and its security section (docs: imsglobal.org/spec/ob/v3p0/#api): the Service
  Description Document at `/ims/ob/v3p0/discovery`, Dynamic Client Registration (RFC 7591, every property the
  specification marks required, no initial access token), the authorization code grant with PKCE S256 required
  (RFC 7636), `client_secret_basic` at the token endpoint, refresh tokens that rotate, revocation (RFC 7009),
  `GET /credentials` paged by `limit`/`offset` (and `since`) with `X-Total-Count` and `Link`,
  `POST /credentials` (upsert), `GET`/`PUT /profile`, and `Imsx_StatusInfo` errors.
- CLR 2.0 the same way under `/ims/clr/v2p0/`, serving ClrCredentials.
- Badge Connect 2.1 (OB 2.1): the manifest at `/.well-known/badgeconnect.json`, the same OAuth endpoints, the
  `…/ob/v2p1/scope/assertion.readonly` scope and `GET {apiBase}/assertions` in the response envelope
  (`status`, `assertions`); with `badge_connect_flavour="badgr"` the manifest names Badgr's `/bc/v1` base,
  whose list answers `status` and `results`.

The authorization endpoint stands for "the learner is logged in at the provider" (`provider.learner`): it
redirects at once with a code (`consent="auto"`), shows an HTML consent form (`"form"`), or refuses
(`"deny"`). What it received is kept for tests to read (`clients`, `authorization_requests`,
`token_requests`, `revocations`, `requests`), and knobs make the faults a client must survive
(`fail_page`, `fail_path`, `endpoint_overrides`, `expire_access_tokens`, `access_token_lifetime`).

The package: specs.py (what the specifications fix: scopes, documents, error bodies), oauth.py (the
authorization server), routes.py (the web app), and here the provider, its credentials and its knobs.
"""
from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from jwcrypto.jwk import JWK
from werkzeug.exceptions import NotFound
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import make_server

from tests.support.credentials import JwtIssuer, LdIssuer
from tests.support.provider.oauth import AuthorizationCode, Client, Token
from tests.support.provider.routes import make_app
from wallet.services.verification.dataintegrity import sign_document
from wallet.services.verification.jose import sign_compact
from tests.support.provider.specs import (BADGE_CONNECT, BC_SCOPES, CLR, CLR_CONTEXTS, CLR_SCOPES, OB2_CONTEXT, OB3,
                                          OB3_CONTEXTS, OB3_SCOPES, OFFLINE_ACCESS, SUPPORTED_SCOPES, parse_time)

__all__ = ["BADGE_CONNECT", "BC_SCOPES", "CLR", "CLR_SCOPES", "OB3", "OB3_SCOPES", "OFFLINE_ACCESS",
           "SUPPORTED_SCOPES", "Client", "Item", "TestProvider", "Token", "host_provider", "signed_clr"]


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
            moment = parse_time(document.get(name))
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


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def signed_clr(issuer: LdIssuer | JwtIssuer, school: LdIssuer, *, email: str, name: str = "Transcript",
               achievements: tuple[str, ...] = ("Algebra II", "Robotics Level 1")) -> dict[str, Any] | str:
    """Return a CLR 2.0 ClrCredential for `email` carrying one OB 3.0 credential per achievement, each signed
    by `school` (eddsa-rdfc-2022); the record is signed by `issuer`: Data Integrity by an LdIssuer (did:key),
    a VC-JWT by a JwtIssuer (did:jwk)."""
    members = [school.signed(email=email, name=achievement) for achievement in achievements]
    record: dict[str, Any] = {
        "@context": CLR_CONTEXTS,
        "id": f"urn:uuid:{uuid.uuid4()}",
        "type": ["VerifiableCredential", "ClrCredential"],
        "issuer": {"id": issuer.did, "type": ["Profile"], "name": issuer.name},
        "validFrom": _iso(datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=1)),
        "name": name,
        "credentialSubject": {
            "type": ["ClrSubject"],
            "identifier": [{"type": "IdentityObject", "identityHash": email, "identityType": "emailAddress",
                            "hashed": False}],
            "verifiableCredential": members,
        },
    }
    if isinstance(issuer, JwtIssuer):
        return issuer.sign(record)
    return sign_document(record, private_key=issuer.key,
                         verification_method=issuer.did + "#" + issuer.did.removeprefix("did:key:"))


class TestProvider:
    """A provider's Host (OB 3.0, CLR 2.0, Badge Connect 2.1) served over real HTTP on 127.0.0.1."""

    __test__ = False  # not a test class, whatever pytest makes of its name

    def __init__(self, *, name: str = "Riverside College", learner: str = "learner@example.org",
                 consent: str = "auto", page_size: int = 10, access_token_lifetime: int = 3600,
                 badge_connect_flavour: str = "spec", path_prefix: str = "") -> None:
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

        # What the authorization server keeps (oauth.py), under `lock`: the server answers in threads.
        self.lock = threading.RLock()
        self.codes: dict[str, AuthorizationCode] = {}
        self.used_codes: dict[str, str] = {}  # code -> access token issued for it
        self._credentials: dict[str, dict[str, list[Item]]] = {OB3: {}, CLR: {}, BADGE_CONNECT: {}}
        self._faults: dict[tuple[str, int], PageFault] = {}
        self._ob2_count = 0
        self.ob2_documents: dict[str, dict[str, Any]] = {}  # path -> the OB 2.0 document served there
        self._ob2_key: JWK | None = None
        self.ld_issuer = LdIssuer(name=name)
        self.jwt_issuer = JwtIssuer(name=name)

        self.app = make_app(self)
        self.oauth_server = self.app.extensions["oauth_server"]
        # OB 3.0: the SDD is at {baseUrl}/ims/ob/v3p0/discovery, and a base URL may have a path ("/tenant").
        wsgi = DispatcherMiddleware(NotFound(), {path_prefix: self.app}) if path_prefix else self.app
        self._server = make_server("127.0.0.1", 0, wsgi, threaded=True)
        self.port = self._server.server_port
        self.origin = f"http://127.0.0.1:{self.port}"
        self.base_url = self.origin + path_prefix  # every URL the provider names is under it
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    @property
    def ob2_key(self) -> JWK:
        """The RSA key of the provider's OB 2.0 issuer (made when first needed: RSA keys are slow to make)."""
        with self.lock:
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
        return self.upsert_credential(credential, learner=learner, api=api)[0]

    def upsert_credential(self, credential: dict[str, Any] | str, *, learner: str | None = None,
                          api: str | None = None) -> tuple[str, bool]:
        """Add or replace a credential as `add_credential` does; return its id and whether it was new."""
        api = api or _api_of(credential)
        item = Item(_id_of(credential), credential)
        with self.lock:
            items = self._credentials[api].setdefault(learner or self.learner, [])
            for index, existing in enumerate(items):
                if existing.id == item.id:
                    items[index] = item
                    return item.id, False
            items.append(item)
        return item.id, True

    def remove_credential(self, credential_id: str, *, learner: str | None = None) -> None:
        """Take a credential (by id) away from `learner`, whichever API served it."""
        with self.lock:
            for by_learner in self._credentials.values():
                items = by_learner.get(learner or self.learner, [])
                items[:] = [item for item in items if item.id != credential_id]

    def credentials(self, api: str = OB3, learner: str | None = None) -> list[dict[str, Any] | str]:
        """Return what `learner` holds under `api`, in the order it is served."""
        with self.lock:
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
        """Issue `learner` a CLR 2.0 ClrCredential (see `signed_clr`) by the provider; add and return it."""
        email = learner or self.learner
        issuer = self.jwt_issuer if proof == "jwt" else self.ld_issuer
        signed = signed_clr(issuer, self.ld_issuer, email=email, name=name, achievements=achievements)
        self.add_credential(signed, learner=email, api=CLR)
        return signed

    def issue_ob2(self, *, learner: str | None = None, name: str = "Hosted Badge", signed: bool = False,
                  description: str = "An Open Badges 2.0 badge of the provider.") -> dict[str, Any] | str:
        """Issue `learner` an OB 2.0 assertion, add it to Badge Connect and return it: hosted (this server
        answers its id, BadgeClass, issuer and image) or `signed` (an RS256 compact JWS by the key the issuer
        profile names in `publicKey`, which this server hosts)."""
        email = learner or self.learner
        with self.lock:
            self._ob2_count += 1
            number = self._ob2_count
        badge_url = self.url(f"/ob2/badges/{number}")
        self.ob2_documents[f"/ob2/badges/{number}"] = {
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
        self.ob2_documents[f"/ob2/assertions/{number}"] = assertion
        self.add_credential(assertion, learner=email, api=BADGE_CONNECT)
        return assertion

    # -- faults ----------------------------------------------------------------------------------

    def fail_page(self, *, api: str = OB3, offset: int = 0, fault: str = "500", times: int | None = None) -> None:
        """Make the list page of `api` starting at `offset` answer `fault`: "500" (an Imsx_StatusInfo 500),
        "bad_json" (a 200 whose body is not JSON) or "slow" (answers after `slow_seconds`); `times` requests
        only, or every one."""
        assert fault in ("500", "bad_json", "slow"), fault
        self._faults[(api, offset)] = PageFault(fault, times)

    def fail_path(self, path: str, *, fault: str = "500", times: int | None = None) -> None:
        """Make any endpoint at `path` (discovery, the manifest, registration, token, revocation...) answer
        `fault` before doing its work: "500" (a server error), "bad_json" (a 200 whose body is not JSON) or
        "slow" (then answering normally after `slow_seconds`); `times` requests only, or every one."""
        assert fault in ("500", "bad_json", "slow"), fault
        self._faults[(path, -1)] = PageFault(fault, times)

    def expire_access_tokens(self) -> None:
        """Make every access token issued so far expired (their refresh tokens still work)."""
        with self.lock:
            for token in self.tokens:
                token.issued_at = time.time() - token.expires_in - 1

    def access_token_of(self, raw: str) -> Token | None:
        with self.lock:
            return next((t for t in self.tokens if t.access_token == raw), None)

    # -- the app ---------------------------------------------------------------------------------

    def find_token(self, raw: str) -> Token | None:
        """Return the token whose access or refresh token is `raw`."""
        with self.lock:
            return next((t for t in self.tokens if raw in (t.access_token, t.refresh_token)), None)

    # -- what the app reads ----------------------------------------------------------------------

    def endpoint(self, name: str, path: str) -> str:
        """Return the URL discovery names for `name`: `path` on this server unless `endpoint_overrides` says."""
        return self.endpoint_overrides.get(name) or self.url(path)

    def items(self, api: str, learner: str) -> list[Item]:
        with self.lock:
            return list(self._credentials[api].get(learner, []))

    def take_fault(self, api: str, offset: int) -> str | None:
        """Return the fault the page of `api` at `offset` answers now, if any (counting it down)."""
        with self.lock:
            fault = self._faults.get((api, offset))
            if fault is None:
                return None
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    del self._faults[(api, offset)]
            return fault.fault

    def learner_profile(self, learner: str) -> dict[str, Any]:
        """Return the learner's Profile: as a client last put it, or one made from their email address."""
        stored = self.profiles.get(learner)
        if stored is not None:
            return stored
        return {"@context": OB3_CONTEXTS[1:], "type": "Profile", "id": self.url(f"/learners/{learner}"),
                "name": self.learner_names.get(learner, learner.split("@")[0].title()), "email": learner}

@pytest.fixture
def host_provider() -> Iterator[TestProvider]:
    """A provider's Host on 127.0.0.1 (OB 3.0, CLR 2.0, Badge Connect 2.1); import it into a test module."""
    provider = TestProvider()
    yield provider
    provider.close()
