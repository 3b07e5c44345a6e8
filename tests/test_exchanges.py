"""Wallet as a VC-API exchange client: a learner pastes an exchange link and the credentials arrive verified.

Every test runs against a real exchange on 127.0.0.1 (tests/support/exchange.py) through the app's
guarded fetcher; the DIDAuth answer is checked by the exchange with Data Integrity verification.
"""
from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import select

from tests.support.exchange import TestExchange
from wallet.models import Credential
from wallet.models.portfolio import LearnerKey
from wallet.services import exchanges
from wallet.services.errors import ImportRejectedError, UnsafeURLError
from wallet.services.http import GuardedFetcher
from wallet.wiring import collaborators

LEARNER = "learner@example.org"


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    # The exchange listens on 127.0.0.1: lift the address rule (every other rule of the fetcher stays).
    app_config.update(ALLOW_PRIVATE_NETWORK=True, FETCH_TOTAL_TIMEOUT=1.0, FETCH_READ_TIMEOUT=1.0)
    return app_config


@pytest.fixture
def exchange():
    server = TestExchange()
    yield server
    server.close()


@pytest.fixture
def learner(make_user, login):
    user = make_user(email=LEARNER)
    login(user)
    return user


def credentials_of(session, user) -> list[Credential]:
    session.expire_all()
    return list(session.scalars(select(Credential).where(Credential.owner_id == user.id)))


def wallet_did(session, user) -> str:
    return session.scalar(select(LearnerKey.did).where(LearnerKey.owner_id == user.id))


def test_exchange_link_credential_arrives_verified_and_bound_to_wallet_did(app, client, session, learner, exchange):
    response = client.post("/credentials/add/exchange", data={"offer": exchange.exchange_url()})
    assert response.status_code == 200, response.text
    [credential] = credentials_of(session, learner)
    assert credential.status == "valid"
    assert credential.recipient_state == "matched"
    # The exchange verified a DIDAuth presentation signed by the learner's wallet key, and issued to that DID.
    did = wallet_did(session, learner)
    assert exchange.issued_to == [did]
    [presentation] = exchange.presentations
    assert presentation["holder"] == did and presentation["proof"]["proofPurpose"] == "authentication"
    assert "Exchange Credential" in response.text and "Verified" in response.text
    # Stored verbatim: the original is the credential exactly as the exchange sent it (RFC 8785 JSON).
    original = json.loads(collaborators().blobs.get(credential.original_sha256))
    assert original["credentialSubject"]["id"] == did and "proof" in original


def test_exchange_lcw_deep_link_names_the_exchange(app, client, session, learner, exchange):
    url = exchange.exchange_url()
    invitation = json.dumps({"credentialRequestOrigin": exchange.origin, "protocols": {"vcapi": url}})
    for link in (f"dccrequest://request?request={quote(invitation)}", f"https://lcw.app/request?request={quote(invitation)}"):
        assert exchanges.exchange_url(link) == url
    response = client.post("/credentials/add/exchange", data={"offer": f"dccrequest://request?request={quote(invitation)}"})
    assert response.status_code == 200, response.text
    assert len(credentials_of(session, learner)) == 1


@pytest.mark.parametrize("text", [
    "dccrequest://request?other=1",
    "dccrequest://request?request=not-json",
    'org.dcconsortium://request?request={"protocols":{"OID4VCI":"openid-credential-offer://x"}}',
])
def test_exchange_url_deep_link_without_vcapi_exchange_is_refused(text):
    with pytest.raises(ImportRejectedError):
        exchanges.exchange_url(text)


def test_exchange_at_private_address_is_refused_and_nothing_is_sent(app, session, make_user, exchange):
    # The app's own fetcher with the address rule in force (ALLOW_PRIVATE_NETWORK off, as in production).
    strict = GuardedFetcher()
    user = make_user(email=LEARNER)
    client = exchanges.ExchangeClient(send=strict.send, check=strict.check, require_https=False)
    try:
        with pytest.raises(UnsafeURLError, match="private or local network"):
            exchanges.receive(session, collaborators().importer(session, user.id), client, exchange.exchange_url(),
                              secret_key=app.config["SECRET_KEY"])
    finally:
        strict.close()
    assert exchange.challenges == {} and credentials_of(session, user) == []


def test_exchange_plain_http_is_refused_outside_development(app, session, make_user, exchange):
    user = make_user(email=LEARNER)
    client = exchanges.ExchangeClient(send=collaborators().fetcher.send, check=collaborators().fetcher.check)
    with pytest.raises(UnsafeURLError, match="not an https address"):
        exchanges.receive(session, collaborators().importer(session, user.id), client, exchange.exchange_url(),
                          secret_key=app.config["SECRET_KEY"])
    assert exchange.challenges == {}


def test_exchange_credential_issued_to_another_did_is_refused_and_shown(app, client, session, learner, exchange):
    exchange.fault = "other_did"
    response = client.post("/credentials/add/exchange", data={"offer": exchange.exchange_url()})
    # Shown as the refusal of the whole exchange (422), naming the DID it was issued to.
    assert response.status_code == 422
    assert "issued to someone else (did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK)" in response.text
    assert credentials_of(session, learner) == []


@pytest.mark.parametrize(("fault", "words"), [
    ("no_challenge", "it has no challenge"),
    ("foreign_domain", "a proof for another site"),
    ("asks_credentials", "asks for more than proof of your wallet key"),
])
def test_exchange_malformed_or_overreaching_request_signs_nothing(app, client, session, learner, exchange, fault,
                                                                   words):
    exchange.fault = fault
    response = client.post("/credentials/add/exchange", data={"offer": exchange.exchange_url()})
    assert response.status_code == 422
    # Shown beside the field, which keeps the link the learner gave.
    assert words in response.text and 'aria-invalid="true"' in response.text
    assert exchange.presentations == [] and credentials_of(session, learner) == []


def test_exchange_that_never_answers_times_out_and_stores_nothing(app, client, session, learner, exchange):
    exchange.fault = "hang"
    response = client.post("/credentials/add/exchange", data={"offer": exchange.exchange_url()})
    assert response.status_code == 502
    assert "did not answer in time" in response.text
    assert credentials_of(session, learner) == []


def test_exchange_refusing_the_link_says_it_may_have_expired(app, client, session, learner, exchange):
    exchange.fault = "refuse"
    response = client.post("/credentials/add/exchange", data={"offer": exchange.exchange_url()})
    assert response.status_code == 502
    assert "may have expired" in response.text
    assert credentials_of(session, learner) == []


def test_exchange_page_needs_login(client):
    response = client.get("/credentials/add/exchange")
    assert response.status_code == 302



@pytest.mark.parametrize(("text", "expected"), [
    ("https://issuer.example/exchanges/z1", True),
    ("dccrequest://request?request=%7B%7D", True),
    ('{"protocols": {"vcapi": "https://issuer.example/exchanges/z1"}}', True),
    ("openid-credential-offer://?credential_offer_uri=https%3A%2F%2Fissuer.example%2Fo%2F1", False),
    ("https://wallet.example/?credential_offer=%7B%7D", False),
    ("not a link", False),
])
def test_is_exchange_link_tells_exchanges_from_oid4vci_offers(text, expected):
    assert exchanges.is_exchange_link(text) is expected


def test_exchange_dcc_transaction_service_reply_endpoint_and_bare_presentation(app, client, session, learner,
                                                                              exchange):
    # DCC: the answer goes to the request's interact service endpoint, as the bare VP, and comes back in "response".
    exchange.dcc = True
    response = client.post("/credentials/add/exchange", data={"offer": exchange.exchange_url()})
    assert response.status_code == 200, response.text
    [credential] = credentials_of(session, learner)
    assert credential.status == "valid" and exchange.issued_to == [wallet_did(session, learner)]


def test_exchange_lcw_direct_link_sends_didauth_with_the_links_challenge(app, client, session, learner, exchange):
    response = client.post("/credentials/add/exchange", data={"offer": exchange.direct_link()})
    assert response.status_code == 200, response.text
    [presentation] = exchange.presentations
    # The link names no domain: the proof is bound to the site it goes to.
    assert presentation["proof"]["domain"] == exchange.origin
    assert len(credentials_of(session, learner)) == 1


def test_exchange_request_reply_endpoint_on_another_origin_is_not_used():
    request = {"interact": {"service": [{"type": "VerifiableCredentialApiExchangeService",
                                         "serviceEndpoint": "https://elsewhere.example/collect"}]}}
    assert exchanges._reply_url(request, "https://issuer.example/exchanges/1") == "https://issuer.example/exchanges/1"
