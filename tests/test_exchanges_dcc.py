"""Wallet against the VC-API exchange server of tests/support/issuer/ (the DCC Learner Credential Wallet flow).

Both dialects it speaks (the VC-API text, and the DCC transaction-service's bare request and presentation), the
links an issuer hands out (the exchange URL, the LCW deep link with its challenge, the interaction URL), and its
faults, over real sockets through the app's guarded fetcher.
"""
from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from tests.support.issuer.exchange import vcapi_exchange  # noqa: F401 (fixture)
from wallet.models import Credential
from wallet.models.portfolio import LearnerKey

LEARNER = "learner@example.org"


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    app_config.update(ALLOW_PRIVATE_NETWORK=True, FETCH_TOTAL_TIMEOUT=1.0, FETCH_READ_TIMEOUT=1.0)
    return app_config


@pytest.fixture
def learner(make_user, login):
    user = make_user(email=LEARNER)
    login(user)
    return user


def credentials_of(session, user) -> list[Credential]:
    session.expire_all()
    return list(session.scalars(select(Credential).where(Credential.owner_id == user.id).order_by(Credential.name)))


@pytest.mark.parametrize("dialect", ["vc-api", "dcc"])
@pytest.mark.parametrize("link", ["url", "lcw_deep_link", "interaction_url"])
def test_exchange_server_credentials_arrive_verified_for_the_wallet_did(client, session, learner, vcapi_exchange,
                                                                        dialect, link):
    exchange = vcapi_exchange.create(("Community Leadership", "Peer Mentoring"), dialect=dialect)
    response = client.post("/credentials/add/exchange", data={"offer": getattr(exchange, link)})
    assert response.status_code == 200, response.text
    did = session.scalar(select(LearnerKey.did).where(LearnerKey.owner_id == learner.id))
    assert exchange.state == "complete" and exchange.holder == did
    stored = credentials_of(session, learner)
    assert [c.name for c in stored] == ["Community Leadership", "Peer Mentoring"]
    assert all(c.status == "valid" and c.recipient_state == "matched" for c in stored)


def test_exchange_server_bound_to_another_did_nothing_is_added(client, session, learner, vcapi_exchange):
    vcapi_exchange.bind_to_other_did = True
    exchange = vcapi_exchange.create()
    response = client.post("/credentials/add/exchange", data={"offer": exchange.url})
    assert response.status_code == 422
    assert "issued to someone else (did:" in response.text
    assert credentials_of(session, learner) == []


def test_exchange_server_that_never_answers_stores_nothing(client, session, learner, vcapi_exchange):
    exchange = vcapi_exchange.create()
    vcapi_exchange.fail_path(exchange.url.removeprefix(vcapi_exchange.base_url), "hang")
    response = client.post("/credentials/add/exchange", data={"offer": exchange.url})
    assert response.status_code == 502
    assert "did not answer in time" in response.text
    assert credentials_of(session, learner) == []


def test_exchange_server_used_twice_second_time_says_it_may_have_been_used(client, session, learner,
                                                                           vcapi_exchange):
    exchange = vcapi_exchange.create()
    assert client.post("/credentials/add/exchange", data={"offer": exchange.url}).status_code == 200
    again = client.post("/credentials/add/exchange", data={"offer": exchange.url})
    assert again.status_code == 502 and "used already" in again.text
    assert len(credentials_of(session, learner)) == 1
