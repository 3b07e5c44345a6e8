"""Receiving credentials from a real OID4VCI 1.0 issuer on 127.0.0.1 (tests/support/offer_issuer.py)."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import func, select

from tests.support.jobs import drain_jobs
from tests.support.offer_issuer import Knobs, OfferIssuer, ServedIssuer
from wallet.models import Credential, Job
from wallet.services.presentations import find_learner_key


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    """The issuer runs on 127.0.0.1 over http: allow it, as in development."""
    app_config.update(ALLOW_PRIVATE_NETWORK=True, OFFER_CLIENT_ID="wallet-tests")
    return app_config


@pytest.fixture
def issuer() -> Iterator[OfferIssuer]:
    served = ServedIssuer(OfferIssuer())
    yield served.issuer
    served.stop()


def stored(session) -> int:
    return session.scalar(select(func.count()).select_from(Credential))


def post_offer(client, token: str, offer: str, **extra: Any):
    return client.post("/api/v1/offers", json={"offer": offer, **extra}, headers={"Authorization": f"Bearer {token}"})


def test_offer_pre_authorized_jwt_vc_is_stored_verified_and_issued_to_the_learner(
        client, session, make_user, api_token, issuer):
    user = make_user()
    token = api_token(user)
    response = post_offer(client, token, issuer.offer("Badge_jwt"))
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    assert data["status"] == "valid"
    assert data["name"] == "Issued Through An Offer"
    did = find_learner_key(session, user.id).did
    # The proof named the learner's did:key, for this issuer, with the nonce the nonce endpoint gave.
    proof = issuer.proofs[0]
    assert proof["header"]["kid"].startswith(did + "#")
    assert proof["claims"]["aud"] == issuer.url and proof["claims"]["nonce"] == issuer.used_nonces[0]
    recipient = [check for check in data["report"]["checks"] if check["id"] == "recipient"]
    assert recipient and recipient[0]["status"] == "passed", recipient


def test_offer_by_reference_ldp_vc_is_stored_verified(client, session, make_user, api_token, issuer):
    token = api_token(make_user())
    response = post_offer(client, token, issuer.offer("Badge_ldp", by_reference=True))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["status"] == "valid"
    assert response.get_json()["format"] in ("ob3", "vc")


def test_offer_with_tx_code_wrong_code_is_refused_nothing_stored(client, session, make_user, api_token, issuer):
    issuer.knobs.tx_code = "493817"
    token = api_token(make_user())
    missing = post_offer(client, token, issuer.offer())
    assert missing.status_code == 400
    assert "transaction code" in missing.get_json()["message"]
    wrong = post_offer(client, token, issuer.offer(), tx_code="111111")
    assert wrong.status_code == 422
    assert wrong.get_json()["error"] == "TxCode"
    assert stored(session) == 0
    right = post_offer(client, token, issuer.offer(), tx_code="493817")
    assert right.status_code == 201


def test_offer_refused_nonce_is_retried_once_with_a_fresh_nonce(client, session, make_user, api_token, issuer):
    issuer.knobs.refuse_first_nonce = True
    token = api_token(make_user())
    response = post_offer(client, token, issuer.offer())
    assert response.status_code == 201, response.get_json()
    assert len(issuer.used_nonces) == 2 and issuer.used_nonces[0] != issuer.used_nonces[1]


def test_offer_credential_bound_to_another_key_is_refused_nothing_stored(
        client, session, make_user, api_token, issuer):
    issuer.knobs.bind_to_other_key = True
    token = api_token(make_user())
    response = post_offer(client, token, issuer.offer())
    assert response.status_code == 422
    assert "another key" in response.get_json()["message"]
    assert stored(session) == 0


def test_offer_format_wallet_cannot_read_is_refused_before_any_token(client, make_user, api_token, issuer):
    token = api_token(make_user())
    offer = issuer.offer("Badge_mdoc")
    response = post_offer(client, token, offer)
    assert response.status_code == 422
    assert "mso_mdoc" in response.get_json()["message"]
    assert issuer.tokens == {}


def test_offer_deferred_is_received_by_a_job(app, client, session, make_user, api_token, issuer):
    issuer.knobs.deferred = True
    user = make_user()
    token = api_token(user)
    response = post_offer(client, token, issuer.offer())
    assert response.status_code == 202, response.get_json()
    assert stored(session) == 0
    drain_jobs(app)
    job = client.get(response.headers["Location"], headers={"Authorization": f"Bearer {token}"}).get_json()
    assert job["state"] == "done", job
    assert job["counts"] == {"imported": 1}
    assert session.scalar(select(Credential.status).where(Credential.owner_id == user.id)) == "valid"
    # The access token is kept sealed in the job, never in clear.
    params = session.scalar(select(Job.params).where(Job.id == job["id"]))
    assert all(token_value not in str(params) for token_value in issuer.tokens)


def test_offer_authorization_code_flow_state_is_single_use_and_bound_to_the_session(
        app, client, session, make_user, login, issuer):
    login(make_user())
    start = client.post("/credentials/offers/", data={"offer": issuer.offer("Badge_jwt", flow="code")})
    assert start.status_code == 303
    authorize = urlsplit(start.headers["Location"])
    query = parse_qs(authorize.query)
    assert f"{authorize.scheme}://{authorize.netloc}{authorize.path}" == f"{issuer.url}/authorize"
    assert query["code_challenge_method"] == ["S256"] and query["client_id"] == ["wallet-tests"]
    assert "issuer_state" in query and "code_verifier" not in query
    back = requests.get(start.headers["Location"], allow_redirects=False, timeout=5)  # consent given at once
    callback = urlsplit(back.headers["Location"])
    assert callback.path == "/credentials/offers/callback"
    # Another learner's session cannot bring the code back: the state belongs to the session that started.
    other = app.test_client()
    login(make_user(email="someone-else@example.org"), client=other)
    assert other.get(f"{callback.path}?{callback.query}").status_code == 422
    done = client.get(f"{callback.path}?{callback.query}")
    assert done.status_code == 303, done.get_data(as_text=True)
    assert "/credentials/" in done.headers["Location"]
    assert session.scalar(select(Credential.status)) == "valid"
    # The state is used once: the same answer again adds nothing.
    assert client.get(f"{callback.path}?{callback.query}").status_code == 422
    assert stored(session) == 1
