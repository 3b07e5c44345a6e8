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


# -- the authorization code flow --------------------------------------------------------------------

REDIRECT = "https://wallet.example/offers/callback"


def authorize(issuer: TestIssuer, *, client_id: str = "wallet.example", **params: str) -> tuple[requests.Response, str]:
    """Send the 'browser' to the authorization endpoint with PKCE S256; return the response and the verifier."""
    from authlib.common.security import generate_token
    from authlib.integrations.requests_client import OAuth2Session

    offer = read_offer(issuer.offer((SD_JWT,), grant="authorization_code").uri)
    server_metadata = metadata(offer)[1]
    session = OAuth2Session(client_id, redirect_uri=REDIRECT, code_challenge_method="S256",
                            token_endpoint_auth_method="none")
    verifier = generate_token(48)
    params.setdefault("issuer_state", offer["grants"]["authorization_code"]["issuer_state"])
    url, _ = session.create_authorization_url(server_metadata["authorization_endpoint"], code_verifier=verifier,
                                              state="wallet-state", **params)
    return requests.get(url, allow_redirects=False, timeout=TIMEOUT), verifier


def redeem(issuer: TestIssuer, location: str, verifier: str, client_id: str = "wallet.example") -> requests.Response:
    code = parse_qs(urlsplit(location).query)["code"][0]
    return requests.post(issuer.url("/token"), timeout=TIMEOUT, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "client_id": client_id,
        "code_verifier": verifier})


def test_issuer_authorization_code_flow_with_pkce_issues_sd_jwt_vc(oid4vci_issuer: TestIssuer) -> None:
    wallet = Wallet()
    response, verifier = authorize(oid4vci_issuer)
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert location.startswith(REDIRECT) and parse_qs(urlsplit(location).query)["state"] == ["wallet-state"]
    token = redeem(oid4vci_issuer, location, verifier)
    assert token.status_code == 200, token.text
    issuer_metadata = requests.get(oid4vci_issuer.metadata_url, timeout=TIMEOUT).json()
    response = credential_request(issuer_metadata, token.json()["access_token"], SD_JWT,
                                  [wallet.proof(oid4vci_issuer, nonce(issuer_metadata))])
    assert response.status_code == 200, response.text
    sd_jwt = response.json()["credentials"][0]["credential"]
    assert sd_jwt.endswith("~")
    # The code is single use, and the verifier must match.
    assert redeem(oid4vci_issuer, location, verifier).json()["error"] == "invalid_grant"
    response, _ = authorize(oid4vci_issuer)
    assert redeem(oid4vci_issuer, response.headers["Location"], "x" * 48).json()["error"] == "invalid_grant"


def test_issuer_authorization_request_with_authorization_details_or_scope_is_granted_those(
        oid4vci_issuer: TestIssuer) -> None:
    details = json.dumps([{"type": "openid_credential", "credential_configuration_id": LDP_VC}])
    response, verifier = authorize(oid4vci_issuer, issuer_state="", authorization_details=details)
    token = redeem(oid4vci_issuer, response.headers["Location"], verifier).json()["access_token"]
    assert oid4vci_issuer.grants[token].configuration_ids == (LDP_VC,)
    response, verifier = authorize(oid4vci_issuer, issuer_state="", scope=JWT_VC)
    token = redeem(oid4vci_issuer, response.headers["Location"], verifier).json()["access_token"]
    assert oid4vci_issuer.grants[token].configuration_ids == (JWT_VC,)


def test_issuer_authorization_without_pkce_or_with_unknown_state_is_refused(oid4vci_issuer: TestIssuer) -> None:
    no_pkce = requests.get(oid4vci_issuer.url("/authorize"), allow_redirects=False, timeout=TIMEOUT, params={
        "response_type": "code", "client_id": "w", "redirect_uri": REDIRECT, "scope": JWT_VC})
    assert no_pkce.status_code == 302 and "error=invalid_request" in no_pkce.headers["Location"]
    unknown, _ = authorize(oid4vci_issuer, issuer_state="made-up")
    assert unknown.status_code == 400 and "Unknown issuer_state" in unknown.text


def test_issuer_consent_form_and_denial(oid4vci_issuer: TestIssuer) -> None:
    oid4vci_issuer.consent = "form"
    page, verifier = authorize(oid4vci_issuer)
    assert page.status_code == 200 and "<form method='post'>" in page.text
    approved = requests.post(page.url, data={"decision": "approve"}, allow_redirects=False, timeout=TIMEOUT)
    assert approved.status_code == 302 and "code=" in approved.headers["Location"]
    assert redeem(oid4vci_issuer, approved.headers["Location"], verifier).status_code == 200
    oid4vci_issuer.consent = "deny"
    denied, _ = authorize(oid4vci_issuer)
    assert "error=access_denied" in denied.headers["Location"]


# -- formats ----------------------------------------------------------------------------------------

def test_issuer_ldp_vc_is_an_eddsa_rdfc_2022_credential_for_the_holder(oid4vci_issuer: TestIssuer) -> None:
    wallet = Wallet()
    credential = receive(oid4vci_issuer, wallet, LDP_VC)
    assert credential["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
    assert credential["credentialSubject"]["id"] == wallet.did
    result = verify_bytes(json.dumps(credential).encode(), context=make_context(recipients=[wallet.did]))
    assert result.status is Status.VALID, result


def test_issuer_jwk_header_proof_binds_to_its_did_jwk(oid4vci_issuer: TestIssuer) -> None:
    wallet = Wallet()
    offer = read_offer(oid4vci_issuer.offer((JWT_VC,)).uri)
    issuer_metadata, server_metadata = metadata(offer)
    access_token = pre_authorized_token(offer, server_metadata["token_endpoint"]).json()["access_token"]
    proofs = [wallet.proof(oid4vci_issuer, nonce(issuer_metadata), key_header="jwk") for _ in range(2)]
    response = credential_request(issuer_metadata, access_token, JWT_VC, proofs)
    credentials = [item["credential"] for item in response.json()["credentials"]]
    assert len(credentials) == 2
    assert {claims_of(c)["sub"] for c in credentials} == {oid4vci_issuer.issued[0].holder.did}
    assert claims_of(credentials[0])["sub"].startswith("did:jwk:")


@pytest.mark.parametrize("configuration_id, typ", [(SD_JWT, "dc+sd-jwt"), (SD_JWT_LEGACY, "vc+sd-jwt")])
def test_issuer_sd_jwt_vc_has_disclosures_cnf_and_a_key_in_jwt_vc_issuer_metadata(
        oid4vci_issuer: TestIssuer, configuration_id: str, typ: str) -> None:
    wallet = Wallet()
    sd_jwt = receive(oid4vci_issuer, wallet, configuration_id)
    issuer_jwt = sd_jwt.split("~")[0]
    header = json.loads(b64url_decode(issuer_jwt.split(".")[0]))
    assert header["typ"] == typ and header["alg"] == "ES256"
    claims = claims_of(sd_jwt)
    assert claims["iss"] == oid4vci_issuer.base_url and claims["vct"] == oid4vci_issuer.vct
    assert claims["_sd_alg"] == "sha-256" and "given_name" not in claims and len(claims["_sd"]) == 5
    assert JWK(**claims["cnf"]["jwk"]).thumbprint() == wallet.key.thumbprint()
    named = {d[1]: d[2] for d in disclosures(sd_jwt) if len(d) == 3}
    assert named["given_name"] == "Ada" and named["credits"] == 5
    assert sum(1 for d in disclosures(sd_jwt) if len(d) == 2) == 2  # the learning outcomes, one by one

    # SD-JWT VC §5: the key is found from `iss` + /.well-known/jwt-vc-issuer, by `kid`.
    issuer_metadata = requests.get(claims["iss"] + "/.well-known/jwt-vc-issuer", timeout=TIMEOUT).json()
    assert issuer_metadata["issuer"] == claims["iss"]
    key = JWK(**next(k for k in issuer_metadata["jwks"]["keys"] if k["kid"] == header["kid"]))
    jws = JWS()
    jws.deserialize(issuer_jwt)
    jws.verify(key, alg="ES256")
    type_metadata = requests.get(claims["vct"], timeout=TIMEOUT).json()
    assert type_metadata["vct"] == claims["vct"] and type_metadata["display"][1]["locale"] == "de-DE"


def test_issuer_sd_jwt_digests_match_and_tampering_breaks_one(oid4vci_issuer: TestIssuer) -> None:
    import base64
    import hashlib

    def digest(part: str) -> str:
        return base64.urlsafe_b64encode(hashlib.sha256(part.encode()).digest()).rstrip(b"=").decode()

    def unmatched(sd_jwt: str) -> list[str]:
        claims = claims_of(sd_jwt)
        known = set(claims["_sd"]) | {item["..."] for item in claims["learning_outcomes"]}
        return [part for part in sd_jwt.split("~")[1:] if part and digest(part) not in known]

    wallet = Wallet()
    assert unmatched(receive(oid4vci_issuer, wallet, SD_JWT)) == []
    oid4vci_issuer.tamper_disclosure = True
    tampered = receive(oid4vci_issuer, wallet, SD_JWT)
    assert len(unmatched(tampered)) == 1


def test_issuer_status_list_token_reads_valid_then_revoked(oid4vci_issuer: TestIssuer) -> None:
    import zlib

    oid4vci_issuer.status_list_enabled = True
    wallet = Wallet()
    first, second = receive(oid4vci_issuer, wallet, SD_JWT), receive(oid4vci_issuer, wallet, SD_JWT)
    reference = claims_of(second)["status"]["status_list"]
    assert reference["idx"] == 1

    def status_bit() -> int:
        response = requests.get(reference["uri"], timeout=TIMEOUT)
        assert response.headers["Content-Type"] == "application/statuslist+jwt"
        jws = JWS()
        jws.deserialize(response.text)
        jws.verify(oid4vci_issuer.sd_jwt_key, alg="ES256")
        assert jws.jose_header["typ"] == "statuslist+jwt"
        token = json.loads(jws.payload)
        assert token["sub"] == reference["uri"] and token["status_list"]["bits"] == 1
        bits = zlib.decompress(b64url_decode(token["status_list"]["lst"]))
        return (bits[reference["idx"] // 8] >> (reference["idx"] % 8)) & 1

    assert status_bit() == 0
    oid4vci_issuer.revoke(second)
    assert status_bit() == 1
    assert oid4vci_issuer.issued[0].credential == first and oid4vci_issuer.status_list.bits[0] == 0b10


# -- deferred issuance and faults -------------------------------------------------------------------

def test_issuer_deferred_issuance_answers_202_then_the_credential_once(oid4vci_issuer: TestIssuer) -> None:
    oid4vci_issuer.defer_polls = 1
    wallet = Wallet()
    offer = read_offer(oid4vci_issuer.offer((JWT_VC,)).uri)
    issuer_metadata, server_metadata = metadata(offer)
    access_token = pre_authorized_token(offer, server_metadata["token_endpoint"]).json()["access_token"]
    accepted = credential_request(issuer_metadata, access_token, JWT_VC,
                                  [wallet.proof(oid4vci_issuer, nonce(issuer_metadata))])
    assert accepted.status_code == 202 and accepted.json()["interval"] == 1
    transaction = {"transaction_id": accepted.json()["transaction_id"]}
    headers = {"Authorization": f"Bearer {access_token}"}
    endpoint = issuer_metadata["deferred_credential_endpoint"]
    pending = requests.post(endpoint, json=transaction, headers=headers, timeout=TIMEOUT)
    assert pending.status_code == 202 and pending.json()["transaction_id"] == transaction["transaction_id"]
    ready = requests.post(endpoint, json=transaction, headers=headers, timeout=TIMEOUT)
    assert ready.status_code == 200
    assert claims_of(ready.json()["credentials"][0]["credential"])["sub"] == wallet.did
    again = requests.post(endpoint, json=transaction, headers=headers, timeout=TIMEOUT)
    assert again.json()["error"] == "invalid_transaction_id"


def test_issuer_bind_to_other_key_issues_to_a_key_nobody_proved(oid4vci_issuer: TestIssuer) -> None:
    oid4vci_issuer.bind_to_other_key = True
    wallet = Wallet()
    assert claims_of(receive(oid4vci_issuer, wallet, JWT_VC))["sub"] != wallet.did
    assert JWK(**claims_of(receive(oid4vci_issuer, wallet, SD_JWT))["cnf"]["jwk"]).thumbprint() \
        != wallet.key.thumbprint()


def test_issuer_endpoint_overrides_and_path_faults(oid4vci_issuer: TestIssuer) -> None:
    oid4vci_issuer.endpoint_overrides["credential_endpoint"] = "https://10.0.0.8/credential"
    assert requests.get(oid4vci_issuer.metadata_url, timeout=TIMEOUT).json()["credential_endpoint"] \
        == "https://10.0.0.8/credential"
    oid4vci_issuer.fail_path("/nonce", fault="500", times=1)
    assert requests.post(oid4vci_issuer.url("/nonce"), timeout=TIMEOUT).status_code == 500
    assert requests.post(oid4vci_issuer.url("/nonce"), timeout=TIMEOUT).status_code == 200
    oid4vci_issuer.fail_path("/token", fault="hang")
    with pytest.raises(requests.Timeout):
        requests.post(oid4vci_issuer.url("/token"), data={}, timeout=0.5)


# -- the VC-API exchange (DCC Learner Credential Wallet) -------------------------------------------

from tests.support.issuer.exchange import TestExchange, vcapi_exchange  # noqa: E402,F401 (fixture)
from wallet.services.verification.dataintegrity import ED25519_SIGNATURE_2020, sign_document  # noqa: E402


def did_auth(wallet: Wallet, request: dict[str, Any], *, challenge: str | None = None, domain: str | None = None,
             cryptosuite: str = "eddsa-rdfc-2022", holder: str | None = None) -> dict[str, Any]:
    """Answer a DIDAuthentication request: an empty presentation signed for `authentication`."""
    presentation = {"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiablePresentation"],
                    "holder": holder or wallet.did}
    return sign_document(presentation, private_key=wallet.private, verification_method=wallet.kid,
                         proof_purpose="authentication", challenge=challenge or request["challenge"],
                         domain=domain or request["domain"], cryptosuite=cryptosuite)


@pytest.mark.parametrize("dialect, cryptosuite", [("vc-api", "eddsa-rdfc-2022"), ("dcc", ED25519_SIGNATURE_2020)])
def test_exchange_did_auth_receives_credentials_issued_to_the_holder(vcapi_exchange: TestExchange, dialect: str,
                                                                     cryptosuite: str) -> None:
    wallet = Wallet()
    exchange = vcapi_exchange.create(("Leadership", "Public Speaking"), dialect=dialect)
    started = requests.post(exchange.url, json={}, timeout=TIMEOUT)
    assert started.status_code == 200
    request = started.json() if dialect == "dcc" else started.json()["verifiablePresentationRequest"]
    assert request["query"]["type"] == "DIDAuthentication"
    assert request["challenge"] == exchange.challenge and request["domain"] == vcapi_exchange.base_url
    presentation = did_auth(wallet, request, cryptosuite=cryptosuite)
    body = presentation if dialect == "dcc" else {"verifiablePresentation": presentation}
    answered = requests.post(exchange.url, json=body, timeout=TIMEOUT)
    assert answered.status_code == 200, answered.text
    credentials = answered.json()["verifiablePresentation"]["verifiableCredential"]
    assert [c["credentialSubject"]["achievement"]["name"] for c in credentials] == ["Leadership", "Public Speaking"]
    for credential in credentials:
        assert credential["credentialSubject"]["id"] == wallet.did
        result = verify_bytes(json.dumps(credential).encode(), context=make_context(recipients=[wallet.did]))
        assert result.status is Status.VALID, result
    assert exchange.state == "complete" and exchange.holder == wallet.did
    again = requests.post(exchange.url, json={"verifiablePresentation": presentation}, timeout=TIMEOUT)
    assert again.status_code == 400


@pytest.mark.parametrize("fault", ["challenge", "domain", "holder", "unsigned"])
def test_exchange_did_auth_with_wrong_challenge_domain_holder_or_no_proof_is_refused(
        vcapi_exchange: TestExchange, fault: str) -> None:
    wallet = Wallet()
    exchange = vcapi_exchange.create()
    request = requests.post(exchange.url, json={}, timeout=TIMEOUT).json()["verifiablePresentationRequest"]
    if fault == "unsigned":
        presentation = {"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiablePresentation"],
                        "holder": wallet.did}
    else:
        presentation = did_auth(wallet, request, **{
            "challenge": {"challenge": "an-old-challenge"}, "domain": {"domain": "https://elsewhere.example"},
            "holder": {"holder": Wallet().did}}[fault])
    answered = requests.post(exchange.url, json={"verifiablePresentation": presentation}, timeout=TIMEOUT)
    assert answered.status_code == 401 and "Invalid DIDAuth" in answered.json()["message"]
    assert exchange.state != "complete" and exchange.issued == []


def test_exchange_protocols_deep_link_and_faults(vcapi_exchange: TestExchange) -> None:
    exchange = vcapi_exchange.create()
    protocols = requests.get(exchange.interaction_url, timeout=TIMEOUT).json()["protocols"]
    assert protocols["vcapi"] == exchange.url
    query = parse_qs(urlsplit(exchange.lcw_deep_link).query)
    assert query["vc_request_url"] == [exchange.url] and query["challenge"] == [exchange.challenge]
    assert requests.post(vcapi_exchange.base_url + "/workflows/claim/exchanges/nope", json={},
                         timeout=TIMEOUT).status_code == 404
    vcapi_exchange.bind_to_other_did = True
    wallet = Wallet()
    request = requests.post(exchange.url, json={}, timeout=TIMEOUT).json()["verifiablePresentationRequest"]
    answered = requests.post(exchange.url, json={"verifiablePresentation": did_auth(wallet, request)}, timeout=TIMEOUT)
    assert answered.json()["verifiablePresentation"]["verifiableCredential"][0]["credentialSubject"]["id"] != wallet.did
    hanging = vcapi_exchange.create()
    vcapi_exchange.fail_path(urlsplit(hanging.url).path, "hang")
    with pytest.raises(requests.Timeout):
        requests.post(hanging.url, json={}, timeout=0.5)
