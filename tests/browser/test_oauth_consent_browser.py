"""A provider's system asks a learner for access, in a real browser: log in, read the consent page, approve."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session

from tests.support.accounts import log_in_page
from wallet.services.oauth.scopes import OB3_CREDENTIAL_UPSERT

pytestmark = pytest.mark.browser

REDIRECT_URI = "http://127.0.0.1:9/callback"  # answered by the test in the browser


def test_oauth_consent_in_the_browser_gives_the_client_a_code(live_server, page, make_user) -> None:
    base = live_server.url
    learner = make_user(email="ada@example.org", display_name="Ada")
    registered = requests.post(f"{base}/oauth/register", json={
        "client_name": "Riverside College", "redirect_uris": [REDIRECT_URI], "client_uri": "https://riverside.example/",
        "grant_types": ["authorization_code", "refresh_token"], "scope": OB3_CREDENTIAL_UPSERT}, timeout=10).json()
    client = OAuth2Session(registered["client_id"], registered["client_secret"], scope=OB3_CREDENTIAL_UPSERT,
                           redirect_uri=REDIRECT_URI, code_challenge_method="S256")
    verifier = generate_token(48)
    url, state = client.create_authorization_url(f"{base}/oauth/authorize", code_verifier=verifier)

    # Logged out: the log-in page first, then straight back to the request.
    page.goto(url)
    assert page.get_by_role("heading", name="Log in").is_visible()
    page.get_by_label("Email address").fill(learner.primary_email.address)
    page.get_by_label("Password", exact=True).fill("correct horse battery staple")
    page.get_by_role("button", name="Log in").click()

    heading = page.get_by_role("heading", level=1)
    assert " ".join(heading.inner_text().split()) == "Riverside College wants to add credentials to your wallet"
    assert page.get_by_text("add Open Badges to your wallet, and update ones it added").is_visible()
    assert page.get_by_text("Wallet has not checked them").is_visible()
    assert page.get_by_role("link", name="https://riverside.example/").is_visible()
    assert page.locator("input[type=checkbox]:checked").count() == 0

    # The client's callback, answered inside the browser (no server of the client's runs in this test).
    page.route(f"{REDIRECT_URI}*", lambda route: route.fulfill(status=200, content_type="text/plain", body="Thanks"))
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url(f"{REDIRECT_URI}*")
    answer = parse_qs(urlsplit(page.url).query)
    assert answer["state"] == [state]
    token = client.fetch_token(f"{base}/oauth/token", code=answer["code"][0], code_verifier=verifier)
    assert token["access_token"] and token["refresh_token"]

    page.goto(f"{base}/settings/apps")
    assert page.get_by_role("heading", name="Riverside College").is_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke Riverside College").click()
    assert page.get_by_text("Riverside College is disconnected").is_visible()


@pytest.fixture
def axe_context(browser):
    # axe is inlined, which the app's CSP would block: bypass it in this context only.
    context = browser.new_context(bypass_csp=True)
    context.set_default_timeout(20_000)
    yield context
    context.close()


def test_oauth_consent_and_connected_apps_pages_have_no_serious_accessibility_violations(
        live_server, axe_context, session, make_user) -> None:
    from tests.browser.test_accessibility import violations
    from tests.support.oauth import grant_access

    base = live_server.url
    learner = make_user(email="ada@example.org")
    grant_access(session, learner, [OB3_CREDENTIAL_UPSERT])
    registered = requests.post(f"{base}/oauth/register", json={
        "client_name": "Riverside College", "redirect_uris": [REDIRECT_URI], "client_uri": "https://riverside.example/",
        "logo_uri": "https://riverside.example/logo.png", "policy_uri": "https://riverside.example/privacy",
        "scope": OB3_CREDENTIAL_UPSERT}, timeout=10).json()
    client = OAuth2Session(registered["client_id"], registered["client_secret"], scope=OB3_CREDENTIAL_UPSERT,
                           redirect_uri=REDIRECT_URI, code_challenge_method="S256")
    url, _state = client.create_authorization_url(f"{base}/oauth/authorize", code_verifier=generate_token(48))
    page = axe_context.new_page()
    log_in_page(page, base, "ada@example.org")
    page.wait_for_url(f"{base}/")
    found = {}
    for path in (url, f"{base}/settings/apps"):
        page.goto(path)
        found[path] = violations(page)
    assert found == {path: [] for path in found}
