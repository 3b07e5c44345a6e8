"""Receiving from a VC-API exchange in a real browser: the paste path, and when the Scan button shows."""
from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.test_accessibility import violations
from tests.support.accounts import log_in_page
from tests.support.exchange import TestExchange

pytestmark = pytest.mark.browser
LEARNER = "learner@example.org"

# Stands in for a browser that can scan (a phone's Chromium): BarcodeDetector reads QR codes and a
# camera is there. getUserMedia gives a real MediaStream (a canvas's); the detector "sees" `url`.
SCANNING_BROWSER = """
(url) => {
  class Detector {
    static getSupportedFormats() { return Promise.resolve(["qr_code", "ean_13"]); }
    detect() { return Promise.resolve([{ format: "qr_code", rawValue: url }]); }
  }
  window.BarcodeDetector = Detector;
  const devices = navigator.mediaDevices;
  devices.enumerateDevices = () => Promise.resolve([{ kind: "videoinput", deviceId: "camera", label: "" }]);
  devices.getUserMedia = () => {
    const canvas = document.createElement("canvas");
    canvas.width = 64; canvas.height = 64;
    canvas.getContext("2d").fillRect(0, 0, 64, 64);
    return Promise.resolve(canvas.captureStream(5));
  };
}
"""


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    app_config.update(ALLOW_PRIVATE_NETWORK=True)  # the exchange listens on 127.0.0.1
    return app_config


@pytest.fixture
def exchange():
    server = TestExchange()
    yield server
    server.close()


def test_exchange_page_paste_link_credential_arrives_and_no_scan_button_without_camera(live_server, page, make_user,
                                                                                     exchange):
    make_user(email=LEARNER)
    log_in_page(page, live_server.url, LEARNER)
    page.goto(f"{live_server.url}/credentials/add/exchange")
    # Headless Chromium has no camera (and no BarcodeDetector on Linux): pasting is the way, no Scan button.
    page.wait_for_load_state("load")
    expect(page.get_by_role("button", name="Scan QR code")).to_be_hidden()
    page.get_by_label("Link from the issuer").fill(exchange.exchange_url())
    page.get_by_role("button", name="Receive credentials").click()
    expect(page.get_by_role("heading", name="From 127.0.0.1")).to_be_visible()
    expect(page.locator(".result .state")).to_have_text(["Verified"])
    page.get_by_role("link", name="Exchange Credential").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Exchange Credential")


def test_exchange_page_scan_button_fills_the_link_where_the_browser_can_scan(live_server, browser, make_user,
                                                                              exchange):
    url = exchange.exchange_url()
    context = browser.new_context()
    errors: list[str] = []
    try:
        context.add_init_script(f"({SCANNING_BROWSER})({url!r})".replace("'", '"'))
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        make_user(email=LEARNER)
        log_in_page(page, live_server.url, LEARNER)
        page.goto(f"{live_server.url}/credentials/add/exchange")
        scan = page.get_by_role("button", name="Scan QR code")
        expect(scan).to_be_visible()
        scan.click()
        expect(page.get_by_label("Link from the issuer")).to_have_value(url)
        expect(page.get_by_role("status")).to_contain_text("Scanned")
        expect(scan).to_be_visible()  # the camera is stopped again
        page.get_by_role("button", name="Receive credentials").click()
        expect(page.locator(".result .state")).to_have_text(["Verified"])
    finally:
        context.close()
    assert errors == []


def test_exchange_page_form_refusal_and_results_have_no_serious_accessibility_violations(live_server, browser,
                                                                                         make_user, exchange):
    # axe is injected as a script: a context without the CSP (as in test_accessibility.py).
    context = browser.new_context(bypass_csp=True)
    context.set_default_timeout(20_000)
    try:
        page = context.new_page()
        make_user(email=LEARNER)
        log_in_page(page, live_server.url, LEARNER)
        page.goto(f"{live_server.url}/credentials/add/exchange")
        found = {"form": violations(page)}
        exchange.fault = "foreign_domain"
        page.get_by_label("Link from the issuer").fill(exchange.exchange_url())
        page.get_by_role("button", name="Receive credentials").click()
        expect(page.get_by_role("alert")).to_contain_text("a proof for another site")
        found["refusal"] = violations(page)
        exchange.fault = None
        page.get_by_label("Link from the issuer").fill(exchange.exchange_url())
        page.get_by_role("button", name="Receive credentials").click()
        expect(page.locator(".result .state")).to_have_text(["Verified"])
        found["results"] = violations(page)
    finally:
        context.close()
    assert found == {"form": [], "refusal": [], "results": []}
