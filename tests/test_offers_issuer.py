"""Receiving credentials from a real OID4VCI 1.0 issuer on 127.0.0.1 (tests/support/issuer/, `oid4vci_issuer`)."""
from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import func, select

from tests.support.issuer import JWT_VC, LDP_VC, SD_JWT, SD_JWT_LEGACY, TestIssuer, oid4vci_issuer  # noqa: F401
from tests.support.jobs import drain_jobs
from wallet.models import Credential, Job
from wallet.services import oid4vci
from wallet.services.oid4vci import protocol
from wallet.services.presentations import find_learner_key
from wallet.wiring import collaborators


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    """The issuer runs on 127.0.0.1 over http: allow it, as in development."""
    app_config.update(ALLOW_PRIVATE_NETWORK=True, OFFER_CLIENT_ID="wallet-tests")
    return app_config


def stored(session) -> int:
    return session.scalar(select(func.count()).select_from(Credential))


def post_offer(client, token: str, offer: str, **extra: Any):
    return client.post("/api/v1/offers", json={"offer": offer, **extra}, headers={"Authorization": f"Bearer {token}"})


def proof_of(request: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    header, payload = (json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
                       for part in request["body"]["proofs"]["jwt"][0].split(".")[:2])
    return header, payload


def test_offer_pre_authorized_jwt_vc_is_stored_verified_and_issued_to_the_learner(
        client, session, make_user, api_token, oid4vci_issuer: TestIssuer):
    user = make_user()
    token = api_token(user)
    response = post_offer(client, token, oid4vci_issuer.offer((JWT_VC,)).uri)
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    assert data["status"] == "valid"
    did = find_learner_key(session, user.id).did
    # The proof named the learner's did:key, for this issuer, with a nonce from the nonce endpoint.
    header, payload = proof_of(oid4vci_issuer.credential_requests[0])
    assert header["typ"] == "openid4vci-proof+jwt" and header["kid"].startswith(did + "#")
    assert payload["aud"] == oid4vci_issuer.credential_issuer and payload["nonce"] in oid4vci_issuer.nonces
    assert oid4vci_issuer.credential_requests[0]["body"]["credential_configuration_id"] == JWT_VC
    # Issued to the learner's key, it counts as issued to the learner.
    recipient = [check for check in data["report"]["checks"] if check["id"] == "recipient"]
    assert recipient and recipient[0]["status"] == "passed", recipient


def test_offer_by_reference_ldp_vc_is_stored_verified(client, make_user, api_token, oid4vci_issuer: TestIssuer):
    token = api_token(make_user())
    response = post_offer(client, token, oid4vci_issuer.offer((LDP_VC,), by_reference=True).uri)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["status"] == "valid"


def test_offer_two_credentials_are_both_stored(client, session, make_user, api_token, oid4vci_issuer: TestIssuer):
    token = api_token(make_user())
    response = post_offer(client, token, oid4vci_issuer.offer((JWT_VC, LDP_VC)).uri)
    assert response.status_code == 201, response.get_json()
    assert len(response.get_json()["credentials"]) == 2
    assert stored(session) == 2
    # One fresh nonce per credential request, none after the last (each is used once, OID4VCI 1.0 §7).
    nonces = [path for method, path, _headers in oid4vci_issuer.requests if path.endswith("/nonce")]
    assert len(nonces) == 2 == len(oid4vci_issuer.credential_requests)


def test_offer_with_tx_code_wrong_code_is_refused_nothing_stored(
        client, session, make_user, api_token, oid4vci_issuer: TestIssuer):
    token = api_token(make_user())
    offer = oid4vci_issuer.offer((JWT_VC,), tx_code="493817")
    missing = post_offer(client, token, offer.uri)
    assert missing.status_code == 400
    assert "transaction code" in missing.get_json()["message"]
    wrong = post_offer(client, token, offer.uri, tx_code="111111")
    assert wrong.status_code == 422
    assert wrong.get_json()["error"] == "TxCode"
    assert "did not accept the transaction code" in wrong.get_json()["message"]
    assert stored(session) == 0
    right = post_offer(client, token, offer.uri, tx_code="493817")
    assert right.status_code == 201, right.get_json()


def test_offer_replayed_nonce_is_answered_with_a_fresh_nonce_once(app, session, make_user, oid4vci_issuer: TestIssuer):
    user = make_user()
    holder = oid4vci.holder_for(session, user.id, secret_key=app.config["SECRET_KEY"])
    remote = oid4vci.remote_for(collaborators().provider_client())
    metadata = protocol.issuer_metadata(remote, oid4vci_issuer.credential_issuer)
    offer = oid4vci_issuer.offer((JWT_VC,))
    server = protocol.server_metadata(remote, metadata.authorization_servers[0])
    access = protocol.token_pre_authorized(remote, server, offer.pre_authorized_code, None)["access_token"]
    replayed = oid4vci_issuer.new_nonce()
    assert oid4vci_issuer.use_nonce(replayed)  # spent already: sending it again is a replay
    issued, _ = oid4vci._request(remote, metadata, access, JWT_VC, holder, replayed, lambda: __import__("time").time())
    assert len(issued.credentials) == 1
    sent = [proof_of(request)[1]["nonce"] for request in oid4vci_issuer.credential_requests]
    assert sent[0] == replayed and sent[1] != replayed  # refused once (invalid_nonce), then a fresh nonce


def test_offer_nonce_refused_twice_is_a_clear_error_nothing_stored(
        app, session, make_user, oid4vci_issuer: TestIssuer, monkeypatch):
    user = make_user()
    holder = oid4vci.holder_for(session, user.id, secret_key=app.config["SECRET_KEY"])
    remote = oid4vci.remote_for(collaborators().provider_client())
    metadata = protocol.issuer_metadata(remote, oid4vci_issuer.credential_issuer)
    offer = oid4vci_issuer.offer((JWT_VC,))
    server = protocol.server_metadata(remote, metadata.authorization_servers[0])
    access = protocol.token_pre_authorized(remote, server, offer.pre_authorized_code, None)["access_token"]
    # An issuer whose nonce endpoint hands out nonces its credential endpoint never accepts.
    monkeypatch.setattr(oid4vci_issuer, "use_nonce", lambda nonce: False)
    with pytest.raises(oid4vci.OfferError, match="refused Wallet's proof of your key twice"):
        oid4vci._request(remote, metadata, access, JWT_VC, holder, oid4vci.fresh_nonce(remote, metadata),
                         lambda: __import__("time").time())
    assert len(oid4vci_issuer.credential_requests) == 2
    assert stored(session) == 0


def test_offer_credential_bound_to_another_key_is_refused_nothing_stored(
        client, session, make_user, api_token, oid4vci_issuer: TestIssuer):
    oid4vci_issuer.bind_to_other_key = True
    token = api_token(make_user())
    for configuration in (JWT_VC, LDP_VC):
        response = post_offer(client, token, oid4vci_issuer.offer((configuration,)).uri)
        assert response.status_code == 422, response.get_json()
        assert "another key" in response.get_json()["message"]
    assert stored(session) == 0


@pytest.mark.parametrize("endpoint", ["file:///etc/passwd", "gopher://127.0.0.1:6379/_FLUSHALL"])
def test_offer_metadata_naming_an_unsafe_address_is_refused_before_any_token(
        client, session, make_user, api_token, oid4vci_issuer: TestIssuer, endpoint):
    oid4vci_issuer.endpoint_overrides["credential_endpoint"] = endpoint
    token = api_token(make_user())
    response = post_offer(client, token, oid4vci_issuer.offer((JWT_VC,)).uri)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"] == "UnsafeURL"
    assert oid4vci_issuer.token_requests == []  # the code was not spent on an issuer Wallet will not talk to
    assert stored(session) == 0


def test_offer_issuer_that_hangs_stops_at_the_deadline_nothing_stored(
        make_app, session, make_user, api_token, oid4vci_issuer: TestIssuer):
    oid4vci_issuer.fail_path("/token", fault="hang")
    patient = make_app(FETCH_TOTAL_TIMEOUT=1.0, FETCH_READ_TIMEOUT=1.0)
    token = api_token(make_user())
    response = post_offer(patient.test_client(), token, oid4vci_issuer.offer((JWT_VC,)).uri)
    assert response.status_code == 502
    assert response.get_json()["error"] == "Fetch"
    assert stored(session) == 0


def test_offer_deferred_is_received_by_a_job(app, client, session, make_user, api_token, oid4vci_issuer: TestIssuer):
    oid4vci_issuer.defer_polls = 1
    user = make_user()
    token = api_token(user)
    response = post_offer(client, token, oid4vci_issuer.offer((JWT_VC,)).uri)
    assert response.status_code == 202, response.get_json()
    assert stored(session) == 0
    drain_jobs(app)
    job = client.get(response.headers["Location"], headers={"Authorization": f"Bearer {token}"}).get_json()
    assert job["state"] == "done", job
    assert job["counts"] == {"imported": 1}
    assert session.scalar(select(Credential.status).where(Credential.owner_id == user.id)) == "valid"
    # The access token is kept sealed in the job, never in clear.
    params = session.scalar(select(Job.params).where(Job.id == job["id"]))
    assert all(access not in json.dumps(params) for access in oid4vci_issuer.grants)


def test_offer_authorization_code_flow_state_is_single_use_and_bound_to_the_session(
        app, client, session, make_user, login, oid4vci_issuer: TestIssuer):
    login(make_user())
    start = client.post("/credentials/offers/", data={"offer": oid4vci_issuer.offer(
        (JWT_VC,), grant="authorization_code").uri})
    assert start.status_code == 303, start.get_data(as_text=True)
    authorize = urlsplit(start.headers["Location"])
    query = parse_qs(authorize.query)
    assert query["code_challenge_method"] == ["S256"] and query["client_id"] == ["wallet-tests"]
    assert "issuer_state" in query and "code_verifier" not in query
    back = requests.get(start.headers["Location"], allow_redirects=False, timeout=5)  # consent given at once
    callback = urlsplit(back.headers["Location"])
    assert callback.path == "/credentials/offers/callback", back.headers["Location"]
    # Another learner's session cannot bring the code back: the state belongs to the session that started.
    other = app.test_client()
    login(make_user(email="someone-else@example.org"), client=other)
    assert other.get(f"{callback.path}?{callback.query}").status_code == 422
    done = client.get(f"{callback.path}?{callback.query}")
    assert done.status_code == 303, done.get_data(as_text=True)
    assert session.scalar(select(Credential.status)) == "valid"
    # The state is used once: the same answer again adds nothing.
    assert client.get(f"{callback.path}?{callback.query}").status_code == 422
    assert stored(session) == 1


def test_offer_authorization_denied_at_the_issuer_is_a_clear_error(
        client, session, make_user, login, oid4vci_issuer: TestIssuer):
    oid4vci_issuer.consent = "deny"
    login(make_user())
    start = client.post("/credentials/offers/", data={"offer": oid4vci_issuer.offer(
        (JWT_VC,), grant="authorization_code").uri})
    back = requests.get(start.headers["Location"], allow_redirects=False, timeout=5)
    callback = urlsplit(back.headers["Location"])
    answer = client.get(f"{callback.path}?{callback.query}")
    assert answer.status_code == 422
    assert "did not authorize" in answer.get_data(as_text=True)
    assert stored(session) == 0


@pytest.mark.parametrize("configuration", [SD_JWT, SD_JWT_LEGACY])
def test_offer_sd_jwt_vc_is_stored_verbatim_verified_and_bound_to_the_learner(
        client, session, make_user, api_token, oid4vci_issuer: TestIssuer, configuration):
    token = api_token(make_user())
    response = post_offer(client, token, oid4vci_issuer.offer((configuration,)).uri)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["status"] == "valid", response.get_json()["report"]
    issued = oid4vci_issuer.issued[0].credential
    assert isinstance(issued, str) and "~" in issued
    credential_id = response.get_json()["id"]
    original = client.get(f"/api/v1/credentials/{credential_id}/original", headers={"Authorization": f"Bearer {token}"})
    assert original.get_data(as_text=True) == issued  # kept with all its disclosures


def test_offer_sd_jwt_vc_bound_to_another_key_is_refused(client, session, make_user, api_token,
                                                         oid4vci_issuer: TestIssuer):
    oid4vci_issuer.bind_to_other_key = True
    token = api_token(make_user())
    response = post_offer(client, token, oid4vci_issuer.offer((SD_JWT,)).uri)
    assert response.status_code == 422
    assert "another key" in response.get_json()["message"]
    assert stored(session) == 0


def test_offer_sd_jwt_vc_with_a_tampered_disclosure_is_stored_not_genuine(
        client, make_user, api_token, oid4vci_issuer: TestIssuer):
    oid4vci_issuer.tamper_disclosure = True
    token = api_token(make_user())
    response = post_offer(client, token, oid4vci_issuer.offer((SD_JWT,)).uri)
    # As for any import, a credential that is not genuine is kept with its reason, never shown as verified.
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["status"] == "invalid"


def test_offer_deferred_on_the_web_page_shows_progress_then_the_credential(
        app, client, session, make_user, login, oid4vci_issuer: TestIssuer):
    oid4vci_issuer.defer_polls = 1
    login(make_user())
    start = client.post("/credentials/offers/", data={"offer": oid4vci_issuer.offer((JWT_VC,)).uri})
    assert start.status_code == 303
    progress = urlsplit(start.headers["Location"]).path
    assert progress.startswith("/credentials/offers/jobs/")
    waiting = client.get(progress).get_data(as_text=True)
    assert f"Waiting for {oid4vci_issuer.name}" in waiting
    assert "access_token" not in waiting
    drain_jobs(app)
    session.commit()  # end the test's read transaction: the page reads what the job wrote
    done = client.get(progress).get_data(as_text=True)
    assert "Done: 1 added" in done, done[done.find("<main"):][:1500]
    assert client.get(progress + "/status").get_json()["state"] == "done"
    # Another learner cannot see the job.
    other = app.test_client()
    login(make_user(email="someone-else@example.org"), client=other)
    assert other.get(progress).status_code == 404


def test_offer_pre_authorized_on_the_web_page_goes_to_the_credential(
        client, session, make_user, login, oid4vci_issuer: TestIssuer):
    login(make_user())
    answer = client.post("/credentials/offers/", data={"offer": oid4vci_issuer.offer((JWT_VC,)).uri},
                         follow_redirects=True)
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    assert oid4vci_issuer.badge_name in page and f"from {oid4vci_issuer.name}" in page
