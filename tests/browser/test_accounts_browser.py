"""A learner's first visit, in a real browser: register, confirm the address, log out and in, delete."""
from __future__ import annotations

import pytest

from tests.support.accounts import log_in_page

pytestmark = pytest.mark.browser

NAME, EMAIL, PASSWORD = "Ada Lovelace", "ada@example.org", "analytical engine notes"


@pytest.fixture
def app_config(app_config):
    """Show the development outbox, as `make run` does: the test follows the mailed link from it."""
    return dict(app_config, MAIL_OUTBOX=True)


def test_account_lifecycle_in_the_browser(live_server, page) -> None:
    base = live_server.url

    page.goto(base)
    page.get_by_role("link", name="Create your wallet").click()
    page.get_by_label("Your name").fill(NAME)
    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    assert page.get_by_role("heading", name=f"Welcome, {NAME}").is_visible()
    assert page.get_by_text(f"We sent a link to {EMAIL}").is_visible()

    page.goto(f"{base}/dev/outbox")
    page.locator("a[href*='/email/confirm/']").first.click()
    page.get_by_role("button", name=f"Confirm {EMAIL}").click()
    assert page.get_by_text(f"Thank you: {EMAIL} is confirmed.").is_visible()
    assert page.locator(".email-item").filter(has_text=EMAIL).get_by_text("Confirmed").is_visible()

    page.get_by_role("button", name="Log out", exact=True).click()
    assert page.get_by_text("You are logged out.").is_visible()
    assert page.get_by_role("link", name="Log in").first.is_visible()

    log_in_page(page, base, EMAIL, PASSWORD)
    assert page.get_by_role("heading", name=f"Welcome, {NAME}").is_visible()
    page.get_by_role("button", name="Log out", exact=True).click()

    log_in_page(page, base, EMAIL, "not my password at all")
    alert = page.get_by_role("alert")
    assert alert.inner_text().strip() == "The email address or password is not right."
    assert page.get_by_role("heading", name="Log in").is_visible()

    log_in_page(page, base, EMAIL, PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_label("I understand that my account").check()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete my account").click()
    assert page.get_by_text("Your account and everything in it are deleted.").is_visible()

    log_in_page(page, base, EMAIL, PASSWORD)
    assert page.get_by_role("alert").inner_text().strip() == "The email address or password is not right."


def test_login_form_errors_are_announced_and_tied_to_fields(live_server, page) -> None:
    page.goto(f"{live_server.url}/login")
    page.get_by_role("button", name="Log in").click()
    email = page.get_by_label("Email address")
    assert email.get_attribute("aria-invalid") == "true"
    error_id = email.get_attribute("aria-describedby")
    assert page.locator(f"#{error_id}").inner_text() == "Enter your email address."
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement !== document.body")


def test_log_out_everywhere_in_the_browser_ends_the_other_device(live_server, page, browser, make_user) -> None:
    make_user(email=EMAIL, display_name=NAME, password=PASSWORD)
    base = live_server.url
    other_context = browser.new_context(user_agent=(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.0 Mobile/15E148 Safari/604.1"))
    try:
        other = other_context.new_page()
        log_in_page(other, base, EMAIL, PASSWORD)
        assert other.get_by_role("heading", name=f"Welcome, {NAME}").is_visible()

        log_in_page(page, base, EMAIL, PASSWORD)
        page.goto(f"{base}/settings/#sessions")
        devices = page.locator("#sessions")
        assert devices.get_by_role("cell", name="Mobile Safari on iOS (iPhone)", exact=True).is_visible()
        assert devices.get_by_text("This device").is_visible()
        page.once("dialog", lambda dialog: dialog.accept())
        devices.get_by_role("button", name="Log out everywhere").click()
        assert page.get_by_text("You are logged out everywhere").is_visible()

        other.goto(f"{base}/settings/")
        assert other.get_by_role("heading", name="Log in").is_visible()
    finally:
        other_context.close()
