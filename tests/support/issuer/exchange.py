"""A VC-API exchange server on 127.0.0.1 for tests: the Digital Credentials Consortium's way of issuing to
the Learner Credential Wallet (VC-API "Exchanges", w3c-ccg.github.io/vc-api/#exchanges; the DCC
transaction-service; the DIDAuthentication query of the VP Request Spec, w3c-ccg.github.io/vp-request-spec).

An exchange is a URL `…/workflows/claim/exchanges/<id>`. The wallet POSTs `{}` to it and gets a Verifiable
Presentation Request with a `DIDAuthentication` query, a `challenge` and a `domain`; it POSTs a presentation
whose proof (purpose `authentication`, eddsa-rdfc-2022 or Ed25519Signature2020) is signed by its DID's key
with that challenge and domain; the exchange answers a presentation holding the credential(s) issued to that
DID (OB 3.0, the subject `id` the holder DID, signed by the issuer's did:key). Each exchange completes once.

`dialect` "vc-api" (the specification's text: `{"verifiablePresentationRequest": …}`, then
`{"verifiablePresentation": …}` both ways) or "dcc" (the transaction-service: the request bare, and the
presentation posted bare). Knobs: `bind_to_other_did`, `fail_path` and `hang` as in the OID4VCI issuer.
What it received is kept in `posts`.
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
from flask import Flask, Response, request
from werkzeug.serving import make_server

from tests.support.credentials import LdIssuer
from tests.support.issuer.formats import Holder
from wallet.services.demo import achievement_credential
from wallet.services.verification import make_context
from wallet.services.verification.dataintegrity import EDDSA_RDFC_2022, sign_document, verify_document_proofs
from wallet.services.verification.result import CheckStatus

CREDENTIALS_V2 = "https://www.w3.org/ns/credentials/v2"


@dataclass
class Exchange:
    """One exchange: its URL, the challenge the holder must sign, and what came of it."""

    id: str
    url: str
    challenge: str
    domain: str
    names: tuple[str, ...]  # one credential per name
    dialect: str
    state: str = "pending"  # "pending", "active" (request sent), "complete"
    holder: str | None = None
    issued: list[dict[str, Any]] = field(default_factory=list)

    @property
    def lcw_deep_link(self) -> str:
        """The DCC deep link that opens the Learner Credential Wallet on this exchange (transaction-service
        `getProtocols`: `lcw`)."""
        return (f"https://lcw.app/request.html?issuer=issuer.example.com&auth_type=bearer"
                f"&challenge={self.challenge}&vc_request_url={quote(self.url, safe='')}")

    @property
    def interaction_url(self) -> str:
        """The VC-API interaction URL (`…/protocols?iuv=1`), answering the protocols this exchange speaks."""
        return f"{self.url}/protocols?iuv=1"


class TestExchange:
    """A VC-API exchange server (DCC style) served over real HTTP on 127.0.0.1."""

    __test__ = False

    def __init__(self, *, name: str = "Digital Credentials College") -> None:
        self.name = name
        self.issuer = LdIssuer(name=name)
        self.email = "learner@example.org"
        self.cryptosuite = EDDSA_RDFC_2022
        self.bind_to_other_did = False
        self.hang_seconds = 60.0
        self.exchanges: dict[str, Exchange] = {}
        self.posts: list[dict[str, Any]] = []
        self.lock = threading.RLock()
        self._faults: dict[str, str] = {}
        self._closing = threading.Event()
        self.app = _make_app(self)
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.port = self._server.server_port
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    def create(self, names: tuple[str, ...] = ("Community Leadership",), *, dialect: str = "vc-api") -> Exchange:
        """Open an exchange that issues one credential per name to whoever authenticates."""
        assert dialect in ("vc-api", "dcc"), dialect
        exchange_id = str(uuid.uuid4())
        exchange = Exchange(exchange_id, f"{self.base_url}/workflows/claim/exchanges/{exchange_id}",
                            str(uuid.uuid4()), self.base_url, tuple(names), dialect)
        with self.lock:
            self.exchanges[exchange_id] = exchange
        return exchange

    def fail_path(self, path: str, fault: str = "500") -> None:
        """Make requests to `path` answer "500" or "hang" (held until `hang_seconds` pass or the server closes)."""
        assert fault in ("500", "hang"), fault
        self._faults[path] = fault

    def close(self) -> None:
        self._closing.set()
        self._server.shutdown()
        self._thread.join(timeout=5)
        self._server.server_close()

    def credential_for(self, holder: str, name: str) -> dict[str, Any]:
        credential = achievement_credential(
            issuer_id=self.issuer.did, issuer_name=self.name, credential_id=f"urn:uuid:{uuid.uuid4()}", name=name,
            description=f"Awarded for {name}.", email=self.email,
            valid_from=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 300)))
        credential["credentialSubject"] = {"id": holder, **credential["credentialSubject"]}
        method = self.issuer.did + "#" + self.issuer.did.removeprefix("did:key:")
        return sign_document(credential, private_key=self.issuer.key, verification_method=method,
                             cryptosuite=self.cryptosuite)


def _problem(status: int, message: str) -> Response:
    # The transaction-service's error body: {"code", "message"}.
    return Response(json.dumps({"code": status, "message": message}), status=status, mimetype="application/json")


def _make_app(server: TestExchange) -> Flask:
    app = Flask(f"test-exchange-{id(server)}")

    @app.before_request
    def fail() -> Any:
        fault = server._faults.get(request.path)
        if fault == "500":
            return _problem(500, "An unexpected error occurred")
        if fault == "hang":
            server._closing.wait(server.hang_seconds)
            return _problem(503, "Gave up.")
        return None

    @app.get("/workflows/claim/exchanges/<exchange_id>/protocols")
    def protocols(exchange_id: str) -> Any:
        exchange = server.exchanges.get(exchange_id)
        if exchange is None:
            return _problem(404, "Exchange not found")
        return {"protocols": {"vcapi": exchange.url, "lcw": exchange.lcw_deep_link,
                              "verifiablePresentationRequest": _request(exchange)}}

    @app.post("/workflows/claim/exchanges/<exchange_id>")
    def participate(exchange_id: str) -> Any:
        body = request.get_json(silent=True)
        server.posts.append({"exchange": exchange_id, "body": body})
        with server.lock:
            exchange = server.exchanges.get(exchange_id)
            if exchange is None:
                return _problem(404, "Unknown exchangeId.")
            if exchange.state == "complete":
                return _problem(400, "The exchange is complete.")
        if not isinstance(body, dict):
            return _problem(400, "The body must be a JSON object.")
        if not body:
            # VC-API: an empty object starts the exchange; the answer asks for a DID Authentication.
            with server.lock:
                exchange.state = "active"
            vpr = _request(exchange)
            return vpr if exchange.dialect == "dcc" else {"verifiablePresentationRequest": vpr}
        presentation = body.get("verifiablePresentation", body if exchange.dialect == "dcc" else None)
        if not isinstance(presentation, dict):
            return _problem(400, "Send {} to start, then {\"verifiablePresentation\": …}.")
        problem = _check_did_auth(presentation, exchange)
        if problem:
            return _problem(401, f"Invalid DIDAuth: {problem}")
        holder = presentation["holder"]
        issue_to = Holder.fresh().did if server.bind_to_other_did else holder
        credentials = [server.credential_for(issue_to, name) for name in exchange.names]
        with server.lock:
            if exchange.state == "complete":
                return _problem(400, "The exchange is complete.")
            exchange.state, exchange.holder, exchange.issued = "complete", holder, credentials
        return {"verifiablePresentation": {"@context": [CREDENTIALS_V2], "type": ["VerifiablePresentation"],
                                           "verifiableCredential": credentials}}

    return app


def _request(exchange: Exchange) -> dict[str, Any]:
    """The Verifiable Presentation Request (VP Request Spec §DID Authentication; transaction-service
    `getDIDAuthVPR`)."""
    return {"query": {"type": "DIDAuthentication", "acceptedMethods": [{"method": "key"}, {"method": "jwk"}],
                      "acceptedCryptosuites": [{"cryptosuite": "eddsa-rdfc-2022"},
                                               {"cryptosuite": "Ed25519Signature2020"}]},
            "interact": {"service": [{"type": "VerifiableCredentialApiExchangeService",
                                      "serviceEndpoint": exchange.url},
                                     {"type": "UnmediatedPresentationService2021", "serviceEndpoint": exchange.url}]},
            "challenge": exchange.challenge, "domain": exchange.domain}


def _check_did_auth(presentation: dict[str, Any], exchange: Exchange) -> str | None:
    """Check a DID Authentication (VP Request Spec: a presentation signed for `authentication` by a key of its
    `holder` DID, with the request's challenge and domain); return what is wrong, or None."""
    holder = presentation.get("holder")
    if not isinstance(holder, str) or not holder.startswith("did:"):
        return "the presentation names no holder DID."
    proofs = presentation.get("proof")
    proofs = proofs if isinstance(proofs, list) else [proofs] if isinstance(proofs, dict) else []
    if not proofs:
        return "the presentation is not signed."
    for proof in proofs:
        if proof.get("proofPurpose") != "authentication":
            return "the proof's purpose is not authentication."
        if proof.get("challenge") != exchange.challenge:
            return "the proof's challenge is not this exchange's."
        if proof.get("domain") != exchange.domain:
            return "the proof's domain is not this exchange's."
    outcome = verify_document_proofs(presentation, issuer_id=holder, context=make_context(), purpose="authentication")
    if not outcome.ok:
        failed = [check.message for check in outcome.checks if check.status is CheckStatus.FAILED]
        return "the signature does not verify with a key of the holder: " + " ".join(failed)
    return None


@pytest.fixture
def vcapi_exchange() -> Iterator[TestExchange]:
    """A VC-API exchange server on 127.0.0.1 (the DCC Learner Credential Wallet flow); import it into a test
    module."""
    server = TestExchange()
    yield server
    server.close()
