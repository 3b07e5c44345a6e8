"""Taking an authorization code offer in a real browser: paste the offer, sign in at the issuer, come back to the credential."""
from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.accounts import log_in_page
from tests.support.issuer import JWT_VC, TestIssuer, oid4vci_issuer  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    app_config.update(ALLOW_PRIVATE_NETWORK=True)  # the issuer listens on 127.0.0.1
    return app_config


def test_offer_authorization_code_journey_paste_issuer_back_to_the_credential(live_server, page, make_user, oid4vci_issuer: TestIssuer):
    oid4vci_issuer.consent = "form"  # the learner approves on the issuer's own page
    make_user(email="learner@example.org")
    log_in_page(page, live_server.url, "learner@example.org")
    page.goto(f"{live_server.url}/credentials/add")
    page.get_by_role("link", name="From an offer").click()
    page.get_by_label("The issuer's offer").fill(oid4vci_issuer.offer((JWT_VC,), grant="authorization_code").uri)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.get_by_role("button", name="Receive the credential").click()
    page.wait_for_url(re.compile(re.escape(oid4vci_issuer.url("/authorize")) + r"\?"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"{oid4vci_issuer.name} will issue to your wallet")
    page.get_by_role("button", name="Approve").click()
    page.wait_for_url(re.compile(r"/credentials/\d+$"))
    assert any(url.startswith(oid4vci_issuer.url("/authorize?")) for url in requested), requested
    expect(page.get_by_role("heading", level=1)).to_contain_text(oid4vci_issuer.badge_name)
    expect(page.get_by_text(f"from {oid4vci_issuer.name}")).to_be_visible()
    expect(page.locator(".state").first).to_contain_text("Verified")


def test_offer_tab_refusal_keeps_the_offer_and_names_the_problem(live_server, page, make_user, oid4vci_issuer: TestIssuer):
    make_user(email="learner@example.org")
    log_in_page(page, live_server.url, "learner@example.org")
    page.goto(f"{live_server.url}/credentials/add?tab=offer")
    offer = oid4vci_issuer.offer((JWT_VC,), tx_code="2468").uri
    page.get_by_label("The issuer's offer").fill(offer)
    page.get_by_label("Transaction code (only if the issuer sent you one)").fill("1357")
    page.get_by_role("button", name="Receive the credential").click()
    expect(page.locator("#offer-error")).to_contain_text("did not accept the transaction code")
    expect(page.get_by_label("The issuer's offer")).to_have_value(offer)
