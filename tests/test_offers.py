"""Add → From an offer (OID4VCI 1.0): offers that must be refused before anything is stored.

The flows against a real issuer are in tests/test_offers_issuer.py.
"""
from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from wallet.models import Credential
from wallet.routes.offers import PENDING_KEY
from wallet.services.oid4vci import is_offer


def offer_uri(document: dict[str, Any]) -> str:
    return "openid-credential-offer://?credential_offer=" + quote(json.dumps(document))


def pre_authorized(issuer: str) -> dict[str, Any]:
    return {"credential_issuer": issuer, "credential_configuration_ids": ["Badge"],
            "grants": {"urn:ietf:params:oauth:grant-type:pre-authorized_code": {"pre-authorized_code": "abc"}}}


def stored(session) -> int:
    return session.scalar(select(func.count()).select_from(Credential))


@pytest.fixture
def silent_issuer() -> Iterator[str]:
    """A server on 127.0.0.1 that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    listener.close()


def test_is_offer_shapes_recognised():
    assert is_offer("openid-credential-offer://?credential_offer=%7B%7D")
    assert is_offer("https://issuer.example/offer?credential_offer_uri=https%3A%2F%2Fissuer.example%2Fo%2F1")
    assert not is_offer("https://exchange.example/workflows/1/exchanges/2")
    assert not is_offer("")


def test_offers_api_issuer_at_private_address_is_refused(client, session, make_user, api_token):
    token = api_token(make_user())
    response = client.post("/api/v1/offers", json={"offer": offer_uri(pre_authorized("https://127.0.0.1/issuer"))},
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 422
    assert response.get_json()["error"] == "UnsafeURL"
    assert stored(session) == 0


def test_offers_api_offer_by_reference_at_metadata_address_is_refused(client, session, make_user, api_token):
    token = api_token(make_user())
    offer = "openid-credential-offer://?credential_offer_uri=" + quote("https://169.254.169.254/latest/offer")
    response = client.post("/api/v1/offers", json={"offer": offer}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 422
    assert response.get_json()["error"] == "UnsafeURL"


def test_offers_api_plain_http_issuer_is_refused(client, make_user, api_token):
    token = api_token(make_user())
    response = client.post("/api/v1/offers", json={"offer": offer_uri(pre_authorized("http://issuer.example"))},
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 422
    assert "https" in response.get_json()["message"]


def test_offers_api_not_an_offer_is_refused(client, make_user, api_token):
    token = api_token(make_user())
    # An https address that is not an offer is read as an exchange link (services/offers.py); this is neither.
    response = client.post("/api/v1/offers", json={"offer": "ftp://example.org/badge.json"},
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 422
    assert response.get_json()["error"] == "ImportRejected"
    assert "not a credential offer" in response.get_json()["message"]


def test_offers_api_offer_with_both_value_and_reference_is_refused(client, make_user, api_token):
    token = api_token(make_user())
    offer = offer_uri(pre_authorized("https://issuer.example")) + "&credential_offer_uri=https%3A%2F%2Fissuer.example%2Fo"
    response = client.post("/api/v1/offers", json={"offer": offer}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 422
    assert "exactly one offer" in response.get_json()["message"]


def test_offers_api_missing_offer_is_a_bad_request(client, make_user, api_token):
    token = api_token(make_user())
    response = client.post("/api/v1/offers", json={"tx_code": "1234"}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 400


def test_offer_form_refusal_is_shown_beside_the_field_with_the_offer_kept(client, session, make_user, login):
    login(make_user())
    offer = offer_uri(pre_authorized("https://10.1.2.3"))
    response = client.post("/credentials/offers/", data={"offer": offer})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="offer-error"' in page and "not allowed" in page
    assert 'aria-invalid="true"' in page
    assert "credential_offer=" in page  # the learner's text is still in the field
    assert stored(session) == 0


def test_offer_issuer_never_answering_stops_at_the_deadline_nothing_stored(
        make_app, session, silent_issuer, make_user, api_token):
    patient = make_app(ALLOW_PRIVATE_NETWORK=True, FETCH_TOTAL_TIMEOUT=1.0, FETCH_READ_TIMEOUT=1.0)
    token = api_token(make_user())
    response = patient.test_client().post("/api/v1/offers", json={"offer": offer_uri(pre_authorized(silent_issuer))},
                                          headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 502
    assert response.get_json()["error"] == "Fetch"
    assert stored(session) == 0


def test_offer_callback_state_mismatch_is_refused(client, session, make_user, login):
    login(make_user())
    with client.session_transaction() as browser:
        browser[PENDING_KEY] = {"state": "expected-state", "verifier": "v", "issuer": "https://issuer.example",
                                "server": "https://issuer.example", "ids": ["Badge"], "client_id": "wallet",
                                "redirect_uri": "http://localhost/credentials/offers/callback"}
    response = client.get("/credentials/offers/callback?state=another-state&code=abc")
    assert response.status_code == 422
    assert "does not belong to an offer you started" in response.get_data(as_text=True)
    with client.session_transaction() as browser:
        assert PENDING_KEY not in browser  # single use: a second try with the right state finds nothing
    again = client.get("/credentials/offers/callback?state=expected-state&code=abc")
    assert again.status_code == 422
    assert stored(session) == 0


def test_offer_callback_without_a_started_offer_is_refused(client, make_user, login):
    login(make_user())
    response = client.get("/credentials/offers/callback?state=anything&code=abc")
    assert response.status_code == 422
