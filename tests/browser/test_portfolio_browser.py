"""An anonymous employer opens a published portfolio in a real browser: every credential verified,
a report expanded, an original downloaded and checked with `wallet verify`, the LinkedIn link
followed, and a revocation at the issuer shown after "Verify now" and a reload. Then the learner's LinkedIn
"Add to profile" link, with its exact parameters."""
from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.support.accounts import DEFAULT_PASSWORD
from tests.support.credentials import HostedIssuer, JwtIssuer
from tests.support.jobs import drain_jobs
from tests.support.portfolios import add_credential, add_url, published_portfolio
from tests.support.servers import Response

pytestmark = pytest.mark.browser


@pytest.fixture
def hosted(document_server, app_config) -> HostedIssuer:
    issuer = HostedIssuer(document_server, name="Harbour Polytechnic")
    # The live server re-verifies at once when asked ("verify now" reuses nothing in this test).
    app_config.update(ALLOW_PRIVATE_NETWORK=True, URL_REWRITE=issuer.rewrite, VERIFY_NOW_REUSE_SECONDS=0)
    return issuer


@pytest.fixture
def learner(make_user, login):
    user = make_user(email="learner@example.org", display_name="Dorothy Vaughan")
    login(user)
    return user


def capture_linkedin(context) -> list[str]:
    """Answer every request to linkedin.com inside the browser, keeping the URLs asked for."""
    seen: list[str] = []

    def answer(route) -> None:
        seen.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<!doctype html><title>LinkedIn</title><p>ok</p>")

    context.route("https://www.linkedin.com/**", answer)
    return seen


def test_employer_sees_verified_credentials_checks_one_and_sees_a_revocation(
        hosted, live_server, app, client, session, learner, page, tmp_path):
    token = JwtIssuer(name="Riverside College").jwt(name="Data Analysis")
    jwt_id = add_credential(client, token)
    hosted_id = add_url(client, hosted.assertion(name="Harbour Safety"))
    _, slug = published_portfolio(client, session, [jwt_id, hosted_id], title="Analyst application",
                                  headline="Careful with numbers")
    url = f"{live_server.url}/p/{slug}"

    page.goto(url)
    assert page.get_by_role("heading", level=1).inner_text() == "Dorothy Vaughan"
    assert page.locator(".summary-line").inner_text().strip() == \
        "✓ 2 credentials from 2 providers · all verified today"
    entries = page.locator(".portfolio-entry")
    assert entries.count() == 2
    for index in range(2):
        state = entries.nth(index).locator(".state")
        assert state.inner_text().strip() == "Verified"
        assert "checked" in entries.nth(index).locator(".state-time").inner_text()

    # Readable on a small phone: nothing wider than 320 px.
    page.set_viewport_size({"width": 320, "height": 640})
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    # Printed (or saved as PDF): the person and the credentials, without navigation, forms or sharing.
    page.emulate_media(media="print")
    assert page.locator(".portfolio-entry").first.is_visible() and page.locator(".summary-line").is_visible()
    assert not page.locator(".share-box").is_visible() and not page.locator(".site-header").is_visible()
    assert not page.locator(".verify-now").first.is_visible()
    page.emulate_media(media="screen")
    page.set_viewport_size({"width": 1280, "height": 800})

    # In one click: exactly what was checked.
    first = entries.filter(has_text="Data Analysis")
    report = first.locator(".entry-report")
    assert not report.locator(".checks").is_visible()
    report.locator("summary").click()
    assert report.locator(".checks").is_visible()
    assert report.get_by_text("The signature (EdDSA) matches the credential.").is_visible()

    # Check it yourself: download the original and verify it with the command line, without Wallet's page.
    with page.expect_download() as download_info:
        first.get_by_role("link", name="Download the original (JWT)").click()
    path = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(path)
    assert path.read_text() == token
    result = app.test_cli_runner().invoke(args=["verify", str(path)])
    assert result.exit_code == 0, result.output
    assert "Verified" in result.output

    # Follow the LinkedIn link: exactly the share URL for this page.
    seen = capture_linkedin(page.context)
    with page.context.expect_page() as popup_info:
        page.get_by_role("link", name="Share on LinkedIn").click()
    popup_info.value.wait_for_load_state()
    assert len(seen) == 1
    parts = urlsplit(seen[0])
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "www.linkedin.com", "/sharing/share-offsite/")
    assert parse_qsl(parts.query) == [("url", url)]
    popup_info.value.close()

    # The issuer revokes the hosted badge; the employer asks for a fresh check.
    hosted.server.routes["/assertions/1.json"] = Response(b"gone", 410, "text/plain", {"Cache-Control": "no-store"})
    harbour = entries.filter(has_text="Harbour Safety")
    harbour.get_by_role("button", name="Verify now: Harbour Safety").click()
    page.wait_for_url(re.compile(rf"/p/{re.escape(slug)}#credential-{hosted_id}$"))
    assert page.get_by_text("Checking again with the issuer now.").is_visible()
    drain_jobs(live_server.app)  # the check runs as a background job; a plain reload shows its result
    page.reload()
    harbour = page.locator(".portfolio-entry").filter(has_text="Harbour Safety")
    assert harbour.locator(".state").inner_text().strip() == "Revoked by issuer"
    assert "1 verified · 1 revoked" in page.locator(".summary-line").inner_text()


def test_learner_adds_a_credential_to_linkedin_profile(live_server, client, session, learner, page):
    from datetime import datetime, timezone

    issuer = JwtIssuer(name="Langley Research College")
    credential_id = add_credential(client, issuer.jwt(
        name="Flight Research", valid_from=datetime(2026, 2, 3, tzinfo=timezone.utc),
        valid_until=datetime(2029, 7, 1, tzinfo=timezone.utc), credential_id="https://langley.example/c/81"))

    page.goto(f"{live_server.url}/login")
    page.get_by_label("Email address").fill("learner@example.org")
    page.get_by_label("Password", exact=True).fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/portfolios/credentials/{credential_id}/share")
    page.get_by_role("button", name="Share this credential").click()
    share_url = page.get_by_label("Link", exact=True).input_value()
    assert re.fullmatch(rf"{re.escape(live_server.url)}/c/[A-Za-z0-9_-]{{43}}", share_url)

    seen = capture_linkedin(page.context)
    with page.context.expect_page() as popup_info:
        page.get_by_role("link", name="Add to LinkedIn profile").click()
    popup_info.value.wait_for_load_state()
    parts = urlsplit(seen[0])
    assert (parts.netloc, parts.path) == ("www.linkedin.com", "/profile/add")
    assert parse_qsl(parts.query) == [
        ("startTask", "CERTIFICATION_NAME"), ("name", "Flight Research"),
        ("organizationName", "Langley Research College"), ("issueYear", "2026"), ("issueMonth", "2"),
        ("expirationYear", "2029"), ("expirationMonth", "7"), ("certUrl", share_url),
        ("certId", "https://langley.example/c/81")]

    # The page the post points at is public, with its preview tags.
    popup_info.value.close()
    anonymous = page.context.browser.new_context()
    try:
        viewer = anonymous.new_page()
        viewer.goto(share_url)
        assert viewer.get_by_role("heading", level=1).inner_text() == "Flight Research"
        assert viewer.locator('meta[property="og:url"]').get_attribute("content") == share_url
    finally:
        anonymous.close()


def test_portfolio_page_says_the_time_of_each_check_relative_in_the_browser(live_server, client, session, learner,
                                                                            page):
    credential_id = add_credential(client, JwtIssuer(name="Riverside College").jwt(name="Data Analysis"))
    _, slug = published_portfolio(client, session, [credential_id])
    page.goto(f"{live_server.url}/p/{slug}")
    # The page is sent with the full time (what shows without JavaScript); wallet.js says it as on other pages.
    assert page.locator(".state-time time").inner_text() == "just now"
    assert page.locator("[data-ago-of]").text_content() == "(just now)"  # inside the closed report
