"""Taking an authorization code offer in a real browser: paste the offer, sign in at the issuer, come back to the credential."""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.accounts import log_in_page
from tests.support.offer_issuer import OfferIssuer, ServedIssuer

pytestmark = pytest.mark.browser


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    app_config.update(ALLOW_PRIVATE_NETWORK=True)  # the issuer listens on 127.0.0.1
    return app_config


@pytest.fixture
def issuer() -> Iterator[OfferIssuer]:
    served = ServedIssuer(OfferIssuer())
    yield served.issuer
    served.stop()


def test_offer_authorization_code_journey_paste_issuer_back_to_the_credential(live_server, page, make_user, issuer):
    make_user(email="learner@example.org")
    log_in_page(page, live_server.url, "learner@example.org")
    page.goto(f"{live_server.url}/credentials/add")
    page.get_by_role("link", name="From an offer").click()
    page.get_by_label("The issuer's offer").fill(issuer.offer("Badge_jwt", flow="code"))
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.get_by_role("button", name="Receive the credential").click()
    page.wait_for_url(re.compile(r"/credentials/\d+$"))
    assert any(url.startswith(f"{issuer.url}/authorize?") for url in requested), requested
    expect(page.get_by_role("heading", level=1)).to_contain_text("Issued Through An Offer")
    expect(page.get_by_text("from Test Issuing College")).to_be_visible()
    expect(page.locator(".state").first).to_contain_text("Verified")


def test_offer_tab_refusal_keeps_the_offer_and_names_the_problem(live_server, page, make_user, issuer):
    make_user(email="learner@example.org")
    log_in_page(page, live_server.url, "learner@example.org")
    issuer.knobs.tx_code = "2468"
    page.goto(f"{live_server.url}/credentials/add?tab=offer")
    offer = issuer.offer("Badge_jwt")
    page.get_by_label("The issuer's offer").fill(offer)
    page.get_by_label("Transaction code (only if the issuer sent you one)").fill("1357")
    page.get_by_role("button", name="Receive the credential").click()
    expect(page.locator("#offer-error")).to_contain_text("did not accept the transaction code")
    expect(page.get_by_label("The issuer's offer")).to_have_value(offer)
