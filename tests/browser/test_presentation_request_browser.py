"""A learner answers a verifier's presentation request in a real browser: opens the verifier's link,
sees who asks and what, picks a credential, approves, and downloads a presentation that
`wallet verify` accepts, bound to the verifier's challenge and domain."""
from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from tests.support.accounts import DEFAULT_PASSWORD
from tests.support.credentials import JwtIssuer
from tests.support.portfolios import add_credential, ld_credential

pytestmark = pytest.mark.browser

REQUEST = {"verifiablePresentationRequest": {
    "query": [{"type": "QueryByExample", "credentialQuery": {
        "reason": "Show a degree to apply for the analyst job.", "example": {"type": "OpenBadgeCredential"}}}],
    "challenge": "9f1e-browser-challenge", "domain": "careers.example"}}


@pytest.fixture
def learner(make_user, login):
    user = make_user(email="learner@example.org", display_name="Christine Darden")
    login(user)
    return user


def test_learner_answers_a_presentation_request_from_a_verifiers_link(live_server, app, client, learner, page,
                                                                     tmp_path):
    add_credential(client, JwtIssuer(name="Hampton University").jwt(name="Mathematics Degree"))
    forged = ld_credential(name="Genuine name")
    forged["name"] = "Forged Diploma"
    add_credential(client, json.dumps(forged))

    page.goto(f"{live_server.url}/login")
    page.get_by_label("Email address").fill("learner@example.org")
    page.get_by_label("Password", exact=True).fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()

    # Reachable from the portfolios page.
    page.goto(f"{live_server.url}/portfolios/")
    page.get_by_role("link", name="Answer a presentation request").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Answer a presentation request"

    # The verifier's link carries its request; the page shows who asks, and signs nothing yet.
    page.goto(f"{live_server.url}/present?request={quote(json.dumps(REQUEST))}")
    who = page.locator(".request-who")
    assert "careers.example" in who.inner_text()
    assert page.get_by_text("Show a degree to apply for the analyst job.").is_visible()
    assert not page.locator("#presentation-json").count()
    # Only a credential that verifies can be chosen; the forged one is listed with its state.
    choice = page.get_by_role("checkbox", name="Mathematics Degree")
    assert not choice.is_checked()
    forged_row = page.locator(".not-presentable").filter(has_text="Forged Diploma")
    assert "Not genuine" in forged_row.inner_text()
    assert not forged_row.get_by_role("checkbox").count()

    # Readable on a small phone.
    page.set_viewport_size({"width": 320, "height": 640})
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    page.set_viewport_size({"width": 1280, "height": 800})

    choice.check()
    page.get_by_role("button", name="Approve and sign for careers.example").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Your signed presentation"
    document = json.loads(page.locator("#presentation-json").input_value())
    proof = document["proof"]
    assert (proof["proofPurpose"], proof["challenge"], proof["domain"]) == (
        "authentication", "9f1e-browser-challenge", "careers.example")
    assert len(document["verifiableCredential"]) == 1 and "Forged Diploma" not in json.dumps(document)

    assert page.get_by_role("button", name="Copy").is_visible()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the presentation (JSON)").click()
    path = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(path)
    assert json.loads(path.read_text()) == document
    result = app.test_cli_runner().invoke(args=["verify", "--json", str(path)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["status"] == "valid"
