"""A VC-API exchange for tests, on a real socket at 127.0.0.1 (the DCC Learner Credential Wallet's flow).

POST {} to /exchanges/<id> answers a VerifiablePresentationRequest asking for DIDAuthentication with
a fresh challenge and the exchange's origin as domain (VP Request Spec); POST
{"verifiablePresentation": VP} checks the VP's Data Integrity proof (proofPurpose authentication,
that challenge and domain, the holder's did:key) and answers a VP holding an OB 3.0 credential
issued to the holder DID, signed eddsa-rdfc-2022. `fault` makes it misbehave: "other_did" (the
credential names another DID), "no_challenge" (a malformed request), "foreign_domain", "asks_credentials",
"hang" (never answers within the wallet's deadline), "refuse" (HTTP 404). `dcc = True` answers the way the DCC
transaction-service does: its request names the reply endpoint in `interact.service`, it takes the bare VP
as the body (refusing the VC-API wrapper with 400) and wraps its answer in `response`.
"""
from __future__ import annotations

import secrets
import threading
from typing import Any
from urllib.parse import quote

from flask import Flask, jsonify, request
from werkzeug.serving import make_server

from tests.support.credentials import LdIssuer
from wallet.services.verification import dataintegrity, make_context


class TestExchange:
    """One exchange server; `exchange_url()` makes a new exchange id."""

    __test__ = False  # not a pytest test class

    def __init__(self) -> None:
        self.issuer = LdIssuer(name="Exchange Academy")
        self.fault: str | None = None
        self.dcc = False
        self.challenges: dict[str, str] = {}
        self.presentations: list[dict[str, Any]] = []
        self.issued_to: list[str] = []
        self.release = threading.Event()
        app = Flask(__name__)

        @app.post("/exchanges/<exchange_id>")
        @app.post("/exchanges/<exchange_id>/reply")
        def participate(exchange_id: str):
            body = request.get_json(force=True, silent=True)
            if self.fault == "hang":
                self.release.wait(10)
            if self.fault == "refuse" or not isinstance(body, dict):
                return jsonify(error="unknown exchange"), 404
            if not body:
                return jsonify(verifiablePresentationRequest=self._request(exchange_id))
            if self.dcc and (request.path.endswith("/reply") is False or "verifiablePresentation" in body):
                return jsonify(code=400, message="Invalid DIDAuth."), 400
            holder = self._check(exchange_id, body if self.dcc else body.get("verifiablePresentation"))
            if holder is None:
                return jsonify(error="the presentation does not verify"), 400
            subject = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK" if self.fault == "other_did" else holder
            credential = self._credential(subject)
            self.issued_to.append(subject)
            presentation = {"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiablePresentation"],
                            "verifiableCredential": [credential]}
            if self.dcc:
                return jsonify(response={"verifiablePresentation": presentation}, format="application/vc")
            return jsonify(verifiablePresentation=presentation)

        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.origin = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    def exchange_url(self) -> str:
        return f"{self.origin}/exchanges/{secrets.token_hex(8)}"

    def direct_link(self) -> str:
        """Return an LCW direct link (DCC `directDeepLink`): the challenge is in the link, the VP goes to vc_request_url."""
        url = self.exchange_url()
        challenge = secrets.token_urlsafe(16)
        self.challenges[url.rsplit("/", 1)[1]] = challenge
        return ("https://lcw.app/request.html?issuer=issuer.example.com&auth_type=bearer"
                f"&challenge={challenge}&vc_request_url={quote(url, safe='')}")

    def _request(self, exchange_id: str) -> dict[str, Any]:
        challenge = secrets.token_urlsafe(16)
        self.challenges[exchange_id] = challenge
        query: list[dict[str, Any]] = [{"type": "DIDAuthentication", "acceptedMethods": [{"method": "key"}],
                                        "acceptedCryptosuites": [{"cryptosuite": "eddsa-rdfc-2022"}]}]
        if self.fault == "asks_credentials":
            query.append({"type": "QueryByExample", "credentialQuery": {"example": {"type": "OpenBadgeCredential"}}})
        vpr: dict[str, Any] = {"query": query, "challenge": challenge,
                               "domain": "https://verifier.example" if self.fault == "foreign_domain" else self.origin}
        if self.dcc:
            reply = f"{self.origin}/exchanges/{exchange_id}/reply"
            vpr["interact"] = {"service": [{"type": "VerifiableCredentialApiExchangeService", "serviceEndpoint": reply},
                                           {"type": "CredentialHandlerService"}]}
        if self.fault == "no_challenge":
            del vpr["challenge"]
        return vpr

    def _check(self, exchange_id: str, presentation: Any) -> str | None:
        if not isinstance(presentation, dict):
            return None
        holder = presentation.get("holder")
        proof = presentation.get("proof") or {}
        if (not isinstance(holder, str) or proof.get("challenge") != self.challenges.pop(exchange_id, None)
                or proof.get("domain") != self.origin):
            return None
        outcome = dataintegrity.verify_document_proofs(presentation, issuer_id=holder, context=make_context(),
                                                       purpose="authentication")
        if not outcome.ok:
            return None
        self.presentations.append(presentation)
        return holder

    def _credential(self, subject: str) -> dict[str, Any]:
        unsigned = _credential_for(self.issuer, subject)
        method = self.issuer.did + "#" + self.issuer.did.removeprefix("did:key:")
        return dataintegrity.sign_document(unsigned, private_key=self.issuer.key, verification_method=method)

    def close(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _credential_for(issuer: LdIssuer, subject: str) -> dict[str, Any]:
    from tests.support.credentials import JwtIssuer

    credential = JwtIssuer.credential(issuer, name="Exchange Credential")  # type: ignore[arg-type]
    credential["credentialSubject"]["id"] = subject
    return credential
