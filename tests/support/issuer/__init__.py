"""A credential issuer on 127.0.0.1 for tests: OpenID for Verifiable Credential Issuance 1.0 (OID4VCI).

`TestIssuer` is what a university's or a member state's issuer looks like to Wallet as a wallet: a real HTTP
server that is both the Credential Issuer and its OAuth 2.0 Authorization Server, signing with real keys.
It follows OID4VCI 1.0 (openid.net/specs/openid-4-verifiable-credential-issuance-1_0.html):

- Credential Offers (§4.1) by value (`credential_offer`) and by reference (`credential_offer_uri`, served
  as JSON), with the `authorization_code` grant (`issuer_state`) or the Pre-Authorized Code grant
  (`pre-authorized_code`, optionally a `tx_code`); `offer()` makes one.
- Credential Issuer Metadata at `/.well-known/openid-credential-issuer` (§12.2) and Authorization Server
  Metadata at `/.well-known/oauth-authorization-server` (RFC 8414).
- The authorization code flow (§5, §6.1) with PKCE S256 required and `authorization_details` of type
  `openid_credential`, `scope` or `issuer_state`; the Pre-Authorized Code token request (§6.1) with `tx_code`.
- The Nonce Endpoint (§7): every `c_nonce` is single-use.
- The Credential Endpoint (§8): `credential_configuration_id` (or `credential_identifier`) and `proofs`
  with `jwt` key proofs (Appendix F.1: `typ` openid4vci-proof+jwt, `aud` the issuer, `iat`, `nonce`, the key
  in `kid` as a did:key/did:jwk DID URL or in `jwk`), each checked; each credential is bound to its proof's
  key. Deferred issuance (§9): 202 with `transaction_id` and `interval`, then the Deferred Credential Endpoint.
- Formats (Appendix A): `jwt_vc_json` and `ldp_vc` (OB 3.0 OpenBadgeCredentials, the subject `id` the
  holder's DID) and `dc+sd-jwt` / `vc+sd-jwt` (an SD-JWT VC with selectively disclosable claims and `cnf`),
  the SD-JWT issuer key as JWT VC Issuer Metadata at `/.well-known/jwt-vc-issuer` (SD-JWT VC §5), and
  optionally a Token Status List (draft-ietf-oauth-status-list) that `revoke()` writes to.

Knobs for the faults a wallet must survive: `tx_code` attempts (`max_tx_code_attempts`), `fail_path`
("500", "bad_json", "slow", "hang": never answers until the server closes), `bind_to_other_key`,
`tamper_disclosure`, `endpoint_overrides` (metadata naming, say, a private address), `consent` ("auto",
"form", "deny"), `defer_polls`. What it received is kept for tests to read (`requests`, `token_requests`,
`credential_requests`, `authorization_requests`, `issued`).

The package: specs.py (what the specifications fix), oauth.py (the authorization code grant), formats.py
(the credentials), routes.py (the web app), exchange.py (a VC-API exchange, the DCC Learner Credential
Wallet's way), and here the issuer and its knobs.
"""
from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest
from authlib.common.security import generate_token
from jwcrypto.jwk import JWK
from werkzeug.serving import make_server

from tests.support.credentials import JwtIssuer, LdIssuer
from tests.support.issuer.formats import Holder, StatusList
from tests.support.issuer.oauth import AuthorizationCode
from tests.support.issuer.routes import make_app
from tests.support.issuer.specs import (AUTHORIZATION_CODE_GRANT, CONFIGURATIONS, JWT_VC, LDP_VC, OFFER_SCHEME,
                                        PRE_AUTHORIZED_GRANT, PROOF_TYP, SD_JWT, SD_JWT_LEGACY)

__all__ = ["CONFIGURATIONS", "JWT_VC", "LDP_VC", "PRE_AUTHORIZED_GRANT", "PROOF_TYP", "SD_JWT", "SD_JWT_LEGACY",
           "Grant", "Holder", "Issued", "Offer", "TestIssuer", "oid4vci_issuer"]


@dataclass
class Offer:
    """A Credential Offer as made: its document, and the URI a wallet is given (by value or by reference)."""

    document: dict[str, Any]
    uri: str  # openid-credential-offer://?credential_offer=... or ...?credential_offer_uri=...
    reference_url: str | None  # the https(-ish) URL serving the offer when it is by reference
    pre_authorized_code: str | None
    issuer_state: str | None
    tx_code: str | None


@dataclass
class PreAuthorized:
    configuration_ids: tuple[str, ...]
    tx_code: str | None
    attempts: int = 0
    used: bool = False
    burnt: bool = False


@dataclass
class Grant:
    """An access token and the credential configurations it may obtain."""

    access_token: str
    configuration_ids: tuple[str, ...]
    flow: str  # "pre-authorized_code" or "authorization_code"
    expires_in: int
    issued_at: float = field(default_factory=time.time)

    def is_expired(self) -> bool:
        return time.time() >= self.issued_at + self.expires_in


@dataclass
class Issued:
    """A credential the issuer signed, for whom, and where its status is (SD-JWT VCs with a status list)."""

    configuration_id: str
    credential: str | dict[str, Any]
    holder: Holder
    status_index: int | None = None


@dataclass
class Deferred:
    configuration_id: str
    holders: list[Holder]
    polls_left: int
    delivered: bool = False


@dataclass
class PathFault:
    fault: str  # "500", "bad_json", "slow" or "hang"
    times: int | None


class TestIssuer:
    """An OID4VCI 1.0 Credential Issuer and Authorization Server served over real HTTP on 127.0.0.1."""

    __test__ = False  # not a test class, whatever pytest makes of its name

    def __init__(self, *, name: str = "Northern University", consent: str = "auto",
                 access_token_lifetime: int = 600) -> None:
        self.name = name
        self.learner: dict[str, Any] = {"given_name": "Ada", "family_name": "Lovelace",
                                        "email": "learner@example.org"}
        self.badge_name = "Data Science Foundations"
        self.consent = consent  # "auto", "form" or "deny"
        self.access_token_lifetime = access_token_lifetime
        self.clients: dict[str, list[str]] | None = None  # client_id -> redirect URIs; None: any client
        self.max_tx_code_attempts = 3  # wrong tx_codes before the pre-authorized code is burnt
        self.endpoint_overrides: dict[str, Any] = {}  # metadata members (credential_endpoint...) to replace
        self.bind_to_other_key = False  # issue credentials bound to a key nobody proved
        self.tamper_disclosure = False  # change a disclosure of each SD-JWT after signing
        self.status_list_enabled = False  # SD-JWT VCs carry a Token Status List reference
        self.defer_polls: int | None = None  # None: issue at once; n: 202, then n pending polls, then the credential
        self.interval = 1  # seconds, the deferred `interval`
        self.slow_seconds = 3.0
        self.hang_seconds = 60.0
        self.proof_max_age = 300  # seconds an `iat` may lie in the past (or the future)

        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.authorization_requests: list[dict[str, str]] = []
        self.token_requests: list[dict[str, Any]] = []
        self.credential_requests: list[dict[str, Any]] = []
        self.issued: list[Issued] = []

        self.lock = threading.RLock()
        self.codes: dict[str, AuthorizationCode] = {}
        self.pre_authorized: dict[str, PreAuthorized] = {}
        self.issuer_states: dict[str, tuple[str, ...]] = {}
        self.offers: dict[str, dict[str, Any]] = {}
        self.grants: dict[str, Grant] = {}
        self.nonces: dict[str, bool] = {}  # c_nonce -> used
        self.deferred: dict[str, Deferred] = {}
        self._faults: dict[str, PathFault] = {}
        self._closing = threading.Event()

        self.jwt_issuer = JwtIssuer(name=name)
        self.ld_issuer = LdIssuer(name=name)
        self.sd_jwt_key = JWK.generate(kty="EC", crv="P-256", kid="sd-jwt-1")

        self.app = make_app(self)
        self.oauth_server = self.app.extensions["oauth_server"]
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.port = self._server.server_port
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.status_list = StatusList(self.url("/status-lists/1"))
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    # -- addresses -------------------------------------------------------------------------------

    def url(self, path: str) -> str:
        return self.base_url + path

    @property
    def credential_issuer(self) -> str:
        """The Credential Issuer Identifier (OID4VCI 1.0 §12.2.1): the `aud` of key proofs."""
        return self.base_url

    @property
    def metadata_url(self) -> str:
        return self.url("/.well-known/openid-credential-issuer")

    @property
    def vct(self) -> str:
        return self.url("/vct/learning-credential")

    def endpoint(self, name: str, path: str) -> Any:
        """Return what metadata names for `name`: `path` here unless `endpoint_overrides` says otherwise."""
        return self.endpoint_overrides.get(name, self.url(path))

    def close(self) -> None:
        self._closing.set()  # releases requests held by the "hang" fault
        self._server.shutdown()
        self._thread.join(timeout=5)
        self._server.server_close()

    # -- offers ----------------------------------------------------------------------------------

    def offer(self, configuration_ids: tuple[str, ...] | list[str] = (JWT_VC,), *, grant: str = "pre-authorized",
              tx_code: str | None = None, by_reference: bool = False,
              tx_code_description: str = "The code we sent you by email") -> Offer:
        """Make a Credential Offer (OID4VCI 1.0 §4.1.1) for the learner; `grant` "pre-authorized" or
        "authorization_code"; a `tx_code` (digits) the wallet must send with the pre-authorized code."""
        ids = tuple(configuration_ids)
        grants: dict[str, Any] = {}
        code = state = None
        with self.lock:
            if grant == "pre-authorized":
                code = generate_token(32)
                self.pre_authorized[code] = PreAuthorized(ids, tx_code)
                entry: dict[str, Any] = {"pre-authorized_code": code}
                if tx_code is not None:
                    entry["tx_code"] = {"input_mode": "numeric" if tx_code.isdigit() else "text",
                                        "length": len(tx_code), "description": tx_code_description}
                grants[PRE_AUTHORIZED_GRANT] = entry
            elif grant == AUTHORIZATION_CODE_GRANT:
                state = generate_token(24)
                self.issuer_states[state] = ids
                grants[AUTHORIZATION_CODE_GRANT] = {"issuer_state": state}
            else:
                raise ValueError(f"unknown grant {grant!r}")
        document = {"credential_issuer": self.credential_issuer, "credential_configuration_ids": list(ids),
                    "grants": grants}
        reference = None
        if by_reference:
            offer_id = str(uuid.uuid4())
            with self.lock:
                self.offers[offer_id] = document
            reference = self.url(f"/offers/{offer_id}")
            uri = f"{OFFER_SCHEME}?credential_offer_uri={quote(reference, safe='')}"
        else:
            uri = f"{OFFER_SCHEME}?credential_offer={quote(json.dumps(document), safe='')}"
        return Offer(document, uri, reference, code, state, tx_code)

    # -- what the app calls ----------------------------------------------------------------------

    def grant_token(self, access_token: str, configuration_ids: tuple[str, ...], *, flow: str,
                    expires_in: int) -> Grant:
        grant = Grant(access_token, tuple(configuration_ids), flow, expires_in)
        with self.lock:
            self.grants[access_token] = grant
        return grant

    def new_nonce(self) -> str:
        nonce = generate_token(32)
        with self.lock:
            self.nonces[nonce] = False
        return nonce

    def use_nonce(self, nonce: Any) -> bool:
        """Spend a c_nonce; False if it was never issued or was spent before (a replay)."""
        with self.lock:
            if not isinstance(nonce, str) or self.nonces.get(nonce, True):
                return False
            self.nonces[nonce] = True
            return True

    def revoke(self, credential: str) -> None:
        """Set the status of an issued SD-JWT VC to INVALID in the Token Status List."""
        with self.lock:
            found = next(item for item in self.issued if item.credential == credential)
            assert found.status_index is not None, "issued without a status list entry"
            self.status_list.set(found.status_index, True)

    # -- faults ----------------------------------------------------------------------------------

    def fail_path(self, path: str, *, fault: str = "500", times: int | None = None) -> None:
        """Make the endpoint at `path` answer `fault` before doing its work: "500", "bad_json" (a 200 that is
        not JSON), "slow" (answers after `slow_seconds`) or "hang" (holds the request until `hang_seconds`
        pass or the server closes, then fails); `times` requests only, or every one."""
        assert fault in ("500", "bad_json", "slow", "hang"), fault
        self._faults[path] = PathFault(fault, times)

    def take_fault(self, path: str) -> str | None:
        with self.lock:
            fault = self._faults.get(path)
            if fault is None:
                return None
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    del self._faults[path]
            return fault.fault

    def hang(self) -> None:
        self._closing.wait(self.hang_seconds)


@pytest.fixture
def oid4vci_issuer() -> Iterator[TestIssuer]:
    """An OID4VCI 1.0 issuer on 127.0.0.1 (both flows, jwt_vc_json, ldp_vc, SD-JWT VC); import it into a
    test module."""
    issuer = TestIssuer()
    yield issuer
    issuer.close()
