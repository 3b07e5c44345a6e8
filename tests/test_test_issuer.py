"""The test issuer (tests/support/issuer) speaks OID4VCI 1.0 to a plain client (requests, Authlib's PKCE
helpers and jwcrypto for the key proof) over real HTTP, so a failing Wallet test points at Wallet."""
from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwcrypto.jwk import JWK
from jwcrypto.jws import JWS

from tests.support.issuer import (JWT_VC, LDP_VC, PRE_AUTHORIZED_GRANT, SD_JWT, SD_JWT_LEGACY, TestIssuer,
                                  oid4vci_issuer)  # noqa: F401 (fixture)
from tests.support.issuer.formats import b64url_decode, disclosures
from wallet.services.verification import make_context, verify_bytes
from wallet.services.verification.dataintegrity import did_key_for
from wallet.services.verification.jose import sign_compact
from wallet.services.verification.result import Status

TIMEOUT = 10


class Wallet:
    """A holder: an Ed25519 key named by its did:key, and the few requests of an OID4VCI wallet."""

    def __init__(self) -> None:
        self.private = Ed25519PrivateKey.generate()
        self.key = JWK.from_pyca(self.private)
        self.did = did_key_for(self.private.public_key())
        self.kid = self.did + "#" + self.did.removeprefix("did:key:")

    def proof(self, issuer: TestIssuer, nonce: str | None, *, typ: str = "openid4vci-proof+jwt",
              aud: str | None = None, iat: int | None = None, key_header: str = "kid") -> str:
        """Sign a `jwt` key proof (OID4VCI 1.0 Appendix F.1)."""
        claims: dict[str, Any] = {"aud": aud or issuer.credential_issuer, "iat": iat or int(time.time())}
        if nonce is not None:
            claims["nonce"] = nonce
        header: dict[str, Any] = {"typ": typ}
        if key_header == "kid":
            header["kid"] = self.kid
        else:
            header["jwk"] = json.loads(self.key.export_public())
        return sign_compact(claims, self.key, "EdDSA", header=header)


def read_offer(uri: str) -> dict[str, Any]:
    """Read a Credential Offer URI (OID4VCI 1.0 §4.1): by value, or fetch it by reference."""
    assert uri.startswith("openid-credential-offer://?")
    query = parse_qs(urlsplit(uri).query)
    if "credential_offer" in query:
        return json.loads(query["credential_offer"][0])
    response = requests.get(query["credential_offer_uri"][0], timeout=TIMEOUT)
    assert response.status_code == 200
    return response.json()


def metadata(offer: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fetch the Credential Issuer Metadata and its Authorization Server Metadata."""
    issuer = requests.get(offer["credential_issuer"] + "/.well-known/openid-credential-issuer", timeout=TIMEOUT).json()
    server = issuer.get("authorization_servers", [offer["credential_issuer"]])[0]
    return issuer, requests.get(server + "/.well-known/oauth-authorization-server", timeout=TIMEOUT).json()


def pre_authorized_token(offer: dict[str, Any], token_endpoint: str, tx_code: str | None = None) -> requests.Response:
    data = {"grant_type": PRE_AUTHORIZED_GRANT,
            "pre-authorized_code": offer["grants"][PRE_AUTHORIZED_GRANT]["pre-authorized_code"]}
    if tx_code is not None:
        data["tx_code"] = tx_code
    return requests.post(token_endpoint, data=data, timeout=TIMEOUT)


def nonce(issuer_metadata: dict[str, Any]) -> str:
    response = requests.post(issuer_metadata["nonce_endpoint"], timeout=TIMEOUT)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    return response.json()["c_nonce"]


def credential_request(issuer_metadata: dict[str, Any], access_token: str, configuration_id: str,
                       proofs: list[str]) -> requests.Response:
    return requests.post(issuer_metadata["credential_endpoint"], timeout=TIMEOUT,
                         headers={"Authorization": f"Bearer {access_token}"},
                         json={"credential_configuration_id": configuration_id, "proofs": {"jwt": proofs}})


def receive(issuer: TestIssuer, wallet: Wallet, configuration_id: str = JWT_VC, **offer_options: Any) -> Any:
    """Take a pre-authorized offer end to end and return the one credential issued."""
    offer = read_offer(issuer.offer((configuration_id,), **offer_options).uri)
    issuer_metadata, server_metadata = metadata(offer)
    token = pre_authorized_token(offer, server_metadata["token_endpoint"], offer_options.get("tx_code"))
    assert token.status_code == 200, token.text
    response = credential_request(issuer_metadata, token.json()["access_token"], configuration_id,
                                  [wallet.proof(issuer, nonce(issuer_metadata))])
    assert response.status_code == 200, response.text
    return response.json()["credentials"][0]["credential"]


def claims_of(token: str) -> dict[str, Any]:
    return json.loads(b64url_decode(token.split("~")[0].split(".")[1]))


def test_issuer_pre_authorized_offer_by_value_issues_jwt_vc_bound_to_holder(oid4vci_issuer: TestIssuer) -> None:
    wallet = Wallet()
    offer = read_offer(oid4vci_issuer.offer((JWT_VC,)).uri)
    assert offer["credential_issuer"] == oid4vci_issuer.credential_issuer
    assert offer["credential_configuration_ids"] == [JWT_VC]
    issuer_metadata, server_metadata = metadata(offer)
    assert issuer_metadata["credential_configurations_supported"][JWT_VC]["format"] == "jwt_vc_json"
    assert PRE_AUTHORIZED_GRANT in server_metadata["grant_types_supported"]

    token = pre_authorized_token(offer, server_metadata["token_endpoint"])
    assert token.status_code == 200 and token.headers["Cache-Control"] == "no-store"
    assert token.json()["token_type"] == "Bearer"
    response = credential_request(issuer_metadata, token.json()["access_token"], JWT_VC,
                                  [wallet.proof(oid4vci_issuer, nonce(issuer_metadata))])
    assert response.status_code == 200, response.text
    credential = response.json()["credentials"][0]["credential"]

    claims = claims_of(credential)
    assert claims["sub"] == wallet.did and claims["vc"]["credentialSubject"]["id"] == wallet.did
    result = verify_bytes(credential.encode(), context=make_context(recipients=[wallet.did]))
    assert result.status is Status.VALID, result
    # The pre-authorized code is single use.
    assert pre_authorized_token(offer, server_metadata["token_endpoint"]).json()["error"] == "invalid_grant"


def test_issuer_offer_by_reference_serves_the_offer_json(oid4vci_issuer: TestIssuer) -> None:
    made = oid4vci_issuer.offer((JWT_VC, LDP_VC), by_reference=True)
    assert "credential_offer_uri=" in made.uri and "credential_offer=" not in made.uri
    assert read_offer(made.uri) == made.document
    assert made.document["credential_configuration_ids"] == [JWT_VC, LDP_VC]


def test_issuer_wrong_tx_code_is_invalid_grant_and_burns_the_code_after_three(oid4vci_issuer: TestIssuer) -> None:
    offer = read_offer(oid4vci_issuer.offer((JWT_VC,), tx_code="4711").uri)
    assert offer["grants"][PRE_AUTHORIZED_GRANT]["tx_code"] == {
        "input_mode": "numeric", "length": 4, "description": "The code we sent you by email"}
    token_endpoint = metadata(offer)[1]["token_endpoint"]
    missing = pre_authorized_token(offer, token_endpoint)
    assert (missing.status_code, missing.json()["error"]) == (400, "invalid_request")
    for _ in range(3):
        wrong = pre_authorized_token(offer, token_endpoint, "0000")
        assert (wrong.status_code, wrong.json()["error"]) == (400, "invalid_grant")
    assert pre_authorized_token(offer, token_endpoint, "4711").json()["error"] == "invalid_grant"

    again = read_offer(oid4vci_issuer.offer((JWT_VC,), tx_code="4711").uri)
    assert pre_authorized_token(again, token_endpoint, "0000").status_code == 400
    assert pre_authorized_token(again, token_endpoint, "4711").status_code == 200


def test_issuer_replayed_or_unknown_nonce_is_invalid_nonce(oid4vci_issuer: TestIssuer) -> None:
    wallet = Wallet()
    offer = read_offer(oid4vci_issuer.offer((JWT_VC,)).uri)
    issuer_metadata, server_metadata = metadata(offer)
    access_token = pre_authorized_token(offer, server_metadata["token_endpoint"]).json()["access_token"]
    c_nonce = nonce(issuer_metadata)
    first = credential_request(issuer_metadata, access_token, JWT_VC, [wallet.proof(oid4vci_issuer, c_nonce)])
    assert first.status_code == 200
    replayed = credential_request(issuer_metadata, access_token, JWT_VC, [wallet.proof(oid4vci_issuer, c_nonce)])
    assert (replayed.status_code, replayed.json()["error"]) == (400, "invalid_nonce")
    made_up = credential_request(issuer_metadata, access_token, JWT_VC, [wallet.proof(oid4vci_issuer, "made-up")])
    assert made_up.json()["error"] == "invalid_nonce"
    without = credential_request(issuer_metadata, access_token, JWT_VC, [wallet.proof(oid4vci_issuer, None)])
    assert without.json()["error"] == "invalid_nonce"
    assert len(oid4vci_issuer.issued) == 1


@pytest.mark.parametrize("change, expected", [
    ({"typ": "JWT"}, "invalid_proof"),
    ({"aud": "https://other-issuer.example"}, "invalid_proof"),
    ({"iat": 1_000_000_000}, "invalid_proof"),
])
def test_issuer_key_proof_with_wrong_field_is_invalid_proof(oid4vci_issuer: TestIssuer, change: dict[str, Any],
                                                            expected: str) -> None:
    wallet = Wallet()
    offer = read_offer(oid4vci_issuer.offer((JWT_VC,)).uri)
    issuer_metadata, server_metadata = metadata(offer)
    access_token = pre_authorized_token(offer, server_metadata["token_endpoint"]).json()["access_token"]
    proof = wallet.proof(oid4vci_issuer, nonce(issuer_metadata), **change)
    response = credential_request(issuer_metadata, access_token, JWT_VC, [proof])
    assert (response.status_code, response.json()["error"]) == (400, expected)
    assert oid4vci_issuer.issued == []


def test_issuer_key_proof_signed_by_another_key_is_invalid_proof(oid4vci_issuer: TestIssuer) -> None:
    wallet, impostor = Wallet(), Wallet()
    offer = read_offer(oid4vci_issuer.offer((JWT_VC,)).uri)
    issuer_metadata, server_metadata = metadata(offer)
    access_token = pre_authorized_token(offer, server_metadata["token_endpoint"]).json()["access_token"]
    impostor.kid = wallet.kid  # names the wallet's key, signs with its own
    response = credential_request(issuer_metadata, access_token, JWT_VC,
                                  [impostor.proof(oid4vci_issuer, nonce(issuer_metadata))])
    assert response.json()["error"] == "invalid_proof"


def test_issuer_credential_without_token_or_outside_the_grant_is_refused(oid4vci_issuer: TestIssuer) -> None:
    wallet = Wallet()
    offer = read_offer(oid4vci_issuer.offer((JWT_VC,)).uri)
    issuer_metadata, server_metadata = metadata(offer)
    unauthenticated = credential_request(issuer_metadata, "nope", JWT_VC, [wallet.proof(oid4vci_issuer, "x")])
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    access_token = pre_authorized_token(offer, server_metadata["token_endpoint"]).json()["access_token"]
    other = credential_request(issuer_metadata, access_token, LDP_VC,
                               [wallet.proof(oid4vci_issuer, nonce(issuer_metadata))])
    assert other.json()["error"] == "invalid_credential_request"
