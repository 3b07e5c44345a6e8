"""Connecting a provider in a real browser: Wallet's form, the provider's consent page, back to Wallet's progress page."""
from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.test_accessibility import violations
from tests.support.accounts import log_in_page
from tests.support.jobs import drain_jobs
from tests.support.provider import TestProvider

pytestmark = pytest.mark.browser


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    app_config.update(ALLOW_PRIVATE_NETWORK=True)  # the provider listens on 127.0.0.1
    return app_config


def test_connect_provider_journey_consent_progress_sync_disconnect(live_server, page, browser, make_user):
    provider = TestProvider(consent="form")
    try:
        provider.issue_ob3(name="Algebra II")
        provider.issue_ob3(name="Robotics Level 1", proof="jwt")
        make_user(email=provider.learner)
        log_in_page(page, live_server.url, provider.learner)

        page.goto(f"{live_server.url}/settings/")
        page.get_by_role("link", name="Connected providers").click()
        page.get_by_label("Provider address").fill(provider.base_url)
        page.get_by_role("button", name="Connect").click()

        page.wait_for_url(re.compile(re.escape(provider.base_url) + r"/oauth/authorize\?"))
        # The provider's own consent page names Wallet as the client that registered itself.
        expect(page.get_by_role("heading", level=1)).to_contain_text("Wallet asks for access to your records at Riverside College")
        page.get_by_role("button", name="Approve").click()
        page.wait_for_url(re.compile(r"/settings/providers/syncs/[\w-]+$"))
        expect(page.get_by_role("heading", level=1)).to_have_text("Collecting your credentials from Riverside College")
        drain_jobs(live_server.app)
        page.get_by_text("Done: 2 added, 0 already in your wallet, 0 not added.").wait_for()
        expect(page.locator("[data-result-list] li .state")).to_have_text(["Verified", "Verified"])
        job_url = page.url

        page.get_by_role("link", name="Your connected providers").click()
        expect(page.locator("[data-last-sync]")).to_contain_text("2 added")
        # axe is injected as a script, so it runs in a context without the CSP that this journey needs.
        axe = browser.new_context(bypass_csp=True)
        try:
            axe_page = axe.new_page()
            log_in_page(axe_page, live_server.url, provider.learner)
            for url in (job_url, f"{live_server.url}/settings/providers/"):
                axe_page.goto(url)
                assert violations(axe_page) == [], url
        finally:
            axe.close()
        page.get_by_role("button", name="Sync now Riverside College").click()
        drain_jobs(live_server.app)
        page.get_by_text("Done: 0 added, 2 already in your wallet, 0 not added.").wait_for()

        page.get_by_role("link", name="Your connected providers").click()
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="Disconnect Riverside College").click()
        expect(page.get_by_text("Riverside College is disconnected")).to_be_visible()
        expect(page.locator("[data-provider]")).to_have_count(0)
        page.goto(f"{live_server.url}/credentials/")
        expect(page.get_by_text("Algebra II")).to_be_visible()
    finally:
        provider.close()
