"""A small OID4VCI 1.0 credential issuer and authorization server on 127.0.0.1, for Wallet's offer tests.

Both flows (pre-authorized code with tx_code; authorization code with PKCE S256, consent given at
once), offers by value and by reference, the nonce endpoint (each nonce used once), `jwt` proofs
checked against the holder's did:key, `jwt_vc_json` and `ldp_vc` credentials bound to the proof's
key, and deferred issuance. Knobs switch on the faults the tests need.
"""
from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import base58
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import Flask, jsonify, redirect, request
from jwcrypto import jwk, jws
from werkzeug.serving import make_server

from tests.support.credentials import JwtIssuer, LdIssuer
from wallet.services.demo import sign_vc_jwt
from wallet.services.verification.dataintegrity import did_key_for, sign_document

PRE = "urn:ietf:params:oauth:grant-type:pre-authorized_code"


def did_key_public(kid: str) -> Ed25519PublicKey:
    """Return the Ed25519 key of a did:key verification method (multicodec 0xed01)."""
    raw = base58.b58decode(kid.split("#", 1)[0].removeprefix("did:key:z"))
    assert raw[:2] == b"\xed\x01"
    return Ed25519PublicKey.from_public_bytes(raw[2:])


@dataclass
class Knobs:
    deferred: bool = False
    deferred_polls: int = 1  # answers "pending" this many times before issuing
    bind_to_other_key: bool = False
    refuse_first_nonce: bool = False
    tx_code: str | None = None


@dataclass
class OfferIssuer:
    knobs: Knobs = field(default_factory=Knobs)
    jwt_issuer: JwtIssuer = field(default_factory=JwtIssuer)
    ld_issuer: LdIssuer = field(default_factory=LdIssuer)
    url: str = ""
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    nonces: set[str] = field(default_factory=set)
    used_nonces: list[str] = field(default_factory=list)
    transactions: dict[str, dict[str, Any]] = field(default_factory=dict)
    proofs: list[dict[str, Any]] = field(default_factory=list)
    offers: dict[str, dict[str, Any]] = field(default_factory=dict)

    # -- offers -------------------------------------------------------------------------------
    def offer(self, configuration: str = "Badge_jwt", *, flow: str = "pre", by_reference: bool = False) -> str:
        """Return an openid-credential-offer:// URI for `configuration` in `flow` ("pre" or "code")."""
        if flow == "pre":
            code = secrets.token_urlsafe(16)
            self.codes[code] = {"configuration": configuration}
            grant: dict[str, Any] = {"pre-authorized_code": code}
            if self.knobs.tx_code is not None:
                grant["tx_code"] = {"input_mode": "numeric", "length": len(self.knobs.tx_code),
                                    "description": "The code we e-mailed you"}
            grants = {PRE: grant}
        else:
            grants = {"authorization_code": {"issuer_state": secrets.token_urlsafe(8)}}
        document = {"credential_issuer": self.url, "credential_configuration_ids": [configuration], "grants": grants}
        if by_reference:
            key = secrets.token_urlsafe(8)
            self.offers[key] = document
            return "openid-credential-offer://?credential_offer_uri=" + quote(f"{self.url}/offers/{key}", safe="")
        return "openid-credential-offer://?credential_offer=" + quote(json.dumps(document), safe="")

    # -- the app ------------------------------------------------------------------------------
    def app(self) -> Flask:
        app = Flask("offer_issuer")

        @app.get("/.well-known/openid-credential-issuer")
        def metadata() -> Any:
            proof = {"jwt": {"proof_signing_alg_values_supported": ["EdDSA"]}}
            return jsonify({
                "credential_issuer": self.url, "credential_endpoint": f"{self.url}/credential",
                "nonce_endpoint": f"{self.url}/nonce", "deferred_credential_endpoint": f"{self.url}/deferred",
                "display": [{"name": "Test Issuing College", "locale": "en"}],
                "credential_configurations_supported": {
                    "Badge_jwt": {"format": "jwt_vc_json", "cryptographic_binding_methods_supported": ["did:key"],
                                  "proof_types_supported": proof,
                                  "credential_definition": {"type": ["VerifiableCredential", "OpenBadgeCredential"]}},
                    "Badge_ldp": {"format": "ldp_vc", "cryptographic_binding_methods_supported": ["did:key"],
                                  "proof_types_supported": proof},
                    "Badge_mdoc": {"format": "mso_mdoc"},
                }})

        @app.get("/.well-known/oauth-authorization-server")
        def server() -> Any:
            return jsonify({"issuer": self.url, "token_endpoint": f"{self.url}/token",
                            "authorization_endpoint": f"{self.url}/authorize",
                            "code_challenge_methods_supported": ["S256"],
                            "pre-authorized_grant_anonymous_access_supported": True})

        @app.get("/offers/<key>")
        def offer_by_reference(key: str) -> Any:
            return jsonify(self.offers[key])

        @app.get("/authorize")
        def authorize() -> Any:
            args = request.args
            assert args["response_type"] == "code" and args["code_challenge_method"] == "S256"
            details = json.loads(args["authorization_details"])
            code = secrets.token_urlsafe(16)
            self.codes[code] = {"configuration": details[0]["credential_configuration_id"],
                                "challenge": args["code_challenge"], "redirect_uri": args["redirect_uri"],
                                "client_id": args["client_id"]}
            return redirect(args["redirect_uri"] + "?" + urlencode({"code": code, "state": args["state"]}))

        @app.post("/token")
        def token() -> Any:
            form = request.form
            if form.get("grant_type") == PRE:
                grant = self.codes.pop(form.get("pre-authorized_code", ""), None)
                if grant is None or form.get("tx_code") != self.knobs.tx_code:
                    return jsonify({"error": "invalid_grant"}), 400
            elif form.get("grant_type") == "authorization_code":
                grant = self.codes.pop(form.get("code", ""), None)
                verifier = form.get("code_verifier", "")
                challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
                if grant is None or grant.get("challenge") != challenge or grant["redirect_uri"] != form.get(
                        "redirect_uri") or grant["client_id"] != form.get("client_id"):
                    return jsonify({"error": "invalid_grant"}), 400
            else:
                return jsonify({"error": "unsupported_grant_type"}), 400
            access = secrets.token_urlsafe(24)
            self.tokens[access] = grant
            return jsonify({"access_token": access, "token_type": "Bearer", "expires_in": 600})

        @app.post("/nonce")
        def nonce() -> Any:
            value = secrets.token_urlsafe(16)
            self.nonces.add(value)
            return jsonify({"c_nonce": value}), 200, {"Cache-Control": "no-store"}

        @app.post("/credential")
        def credential() -> Any:
            grant = self._grant()
            if grant is None:
                return jsonify({"error": "invalid_token"}), 401
            body = request.get_json()
            if body.get("credential_configuration_id") != grant["configuration"]:
                return jsonify({"error": "invalid_credential_request"}), 400
            holder = self._check_proof(body["proofs"]["jwt"][0])
            if holder is None:
                return jsonify({"error": "invalid_nonce"}), 400
            if self.knobs.deferred:
                transaction = secrets.token_urlsafe(12)
                self.transactions[transaction] = {"holder": holder, "configuration": grant["configuration"],
                                                  "polls": 0}
                return jsonify({"transaction_id": transaction, "interval": 1}), 202
            return jsonify({"credentials": [{"credential": self._issue(grant["configuration"], holder)}]})

        @app.post("/deferred")
        def deferred() -> Any:
            if self._grant() is None:
                return jsonify({"error": "invalid_token"}), 401
            transaction = self.transactions.get(request.get_json().get("transaction_id"))
            if transaction is None:
                return jsonify({"error": "invalid_transaction_id"}), 400
            if transaction["polls"] < self.knobs.deferred_polls:
                transaction["polls"] += 1
                return jsonify({"transaction_id": request.get_json()["transaction_id"], "interval": 1}), 202
            return jsonify({"credentials": [{"credential": self._issue(transaction["configuration"],
                                                                         transaction["holder"])}]})

        return app

    def _grant(self) -> dict[str, Any] | None:
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        return self.tokens.get(value) if scheme == "Bearer" else None

    def _check_proof(self, proof: str) -> str | None:
        """Return the holder's DID from a valid proof (OID4VCI Appendix F.4), None for a nonce not ours."""
        token = jws.JWS()
        token.deserialize(proof)
        header = json.loads(base64.urlsafe_b64decode(proof.split(".")[0] + "=="))
        assert header["typ"] == "openid4vci-proof+jwt" and header["alg"] == "EdDSA"
        token.verify(jwk.JWK.from_pyca(did_key_public(header["kid"])))
        claims = json.loads(token.payload)
        self.proofs.append({"header": header, "claims": claims})
        assert claims["aud"] == self.url and abs(claims["iat"] - time.time()) < 300
        if claims.get("nonce") not in self.nonces:
            return None
        self.nonces.discard(claims["nonce"])  # used once
        self.used_nonces.append(claims["nonce"])
        if self.knobs.refuse_first_nonce and len(self.used_nonces) == 1:
            return None
        return header["kid"].split("#", 1)[0]

    def _issue(self, configuration: str, holder: str) -> Any:
        if self.knobs.bind_to_other_key:
            holder = did_key_for(Ed25519PrivateKey.generate().public_key())
        if configuration == "Badge_ldp":
            document = JwtIssuer.credential(self.ld_issuer, name="Linked Data Fundamentals")  # type: ignore[arg-type]
            document["credentialSubject"]["id"] = holder
            method = self.ld_issuer.did + "#" + self.ld_issuer.did.removeprefix("did:key:")
            return sign_document(document, private_key=self.ld_issuer.key, verification_method=method)
        document = self.jwt_issuer.credential(name="Issued Through An Offer")
        document["credentialSubject"]["id"] = holder
        return sign_vc_jwt(document, self.jwt_issuer.key, self.jwt_issuer.did)


class ServedIssuer:
    """Serve an OfferIssuer over real HTTP on 127.0.0.1 in a background thread."""

    def __init__(self, issuer: OfferIssuer) -> None:
        self.issuer = issuer
        self._server = make_server("127.0.0.1", 0, issuer.app(), threaded=True)
        issuer.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)
        self._server.server_close()
