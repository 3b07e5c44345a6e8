"""A learner fills their wallet in a real browser: link, baked PNG, ZIP, pasted JWT, evidence,
filters, re-verification and deletion; hostile badge metadata and learner text run no script."""
from __future__ import annotations

import base64
import re

import pytest
from playwright.sync_api import expect

from tests.support.accounts import DEFAULT_PASSWORD
from tests.support.credentials import HostedIssuer, JwtIssuer, bake_png_jwt, png_image, tampered_jwt, zip_of
from tests.support.jobs import drain_jobs
from tests.support.servers import Response

pytestmark = pytest.mark.browser

EVIL = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=1">'
EVIL_SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" onload="window.__pwned=1">'
            b'<script>window.__pwned=1</script><circle cx="32" cy="32" r="30" fill="red"/></svg>')
MAX_UPLOAD = 200 * 1024


@pytest.fixture
def provider(document_server, app_config) -> HostedIssuer:
    """An OB 2.0 provider on 127.0.0.1, reached through https://issuer.example by URL_REWRITE."""
    hosted = HostedIssuer(document_server, name="Loopback Provider")
    app_config.update(ALLOW_PRIVATE_NETWORK=True, URL_REWRITE=hosted.rewrite, MAX_UPLOAD_FILE_BYTES=MAX_UPLOAD)
    return hosted


def _probe(page) -> None:
    assert page.evaluate("typeof window.__pwned") == "undefined", "a script from untrusted content ran"



def test_learner_collects_enriches_filters_reverifies_and_deletes(provider, live_server, page, make_user) -> None:
    make_user(email="learner@example.org", display_name="Grace Hopper")
    base = live_server.url
    academy = JwtIssuer(name="Riverside College")
    evil_svg_uri = "data:image/svg+xml;base64," + base64.b64encode(EVIL_SVG).decode()
    hostile_png = bake_png_jwt(academy.jwt(
        name="Hostile " + EVIL, description="About " + EVIL, criteria="[win](javascript:window.__pwned=1) " + EVIL,
        image=evil_svg_uri, tags=["security"]))

    page.goto(f"{base}/login")
    page.get_by_label("Email address").fill("learner@example.org")
    page.get_by_label("Password", exact=True).fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()

    # An empty wallet teaches how to add the first credential.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Credentials").click()
    expect(page.get_by_role("heading", name="Your wallet is empty, for now")).to_be_visible()

    # 1. By link: a provider's web page that links its credential with <link rel="alternate">.
    assertion = provider.assertion(name="Robotics Club")
    provider.serve("/my/robotics", (f'<!doctype html><html><head><link rel="alternate" type="application/ld+json" '
                                    f'href="{assertion}"></head><body>My badge</body></html>').encode(), "text/html")
    page.get_by_role("link", name="Add by link").click()
    page.get_by_label("Link to the credential").fill("https://issuer.example/my/robotics")
    page.get_by_role("button", name="Add from link").click()
    expect(page.get_by_role("heading", name="Robotics Club")).to_be_visible()
    expect(page.get_by_text("Added to your wallet.")).to_be_visible()
    expect(page.locator(".credential-hero .state-valid")).to_have_text("Verified")

    # 2. Files: a baked PNG with hostile metadata, a ZIP of two credentials and a stray file, one too large.
    page.goto(f"{base}/credentials/add")
    page.get_by_role("link", name="File(s) or ZIP").click()
    expect(page.get_by_label("Link to the credential")).to_be_hidden()
    page.set_input_files("#files-input", files=[
        {"name": "hostile.png", "mimeType": "image/png", "buffer": hostile_png},
        {"name": "batch.zip", "mimeType": "application/zip", "buffer": zip_of({
            "leadership.jwt": academy.jwt(name="Team Leadership", tags=["soft-skills"]).encode(),
            "python.png": bake_png_jwt(JwtIssuer(name="Northwind Academy").jwt(name="Python Basics", skills=["Python"])),
            "readme.txt": b"not a credential"})},
        {"name": "huge.png", "mimeType": "image/png", "buffer": png_image() + b"\0" * MAX_UPLOAD},
    ])
    page.get_by_role("button", name="Upload and check").click()
    # Several files and a ZIP are imported as a background job; its page shows how far it is.
    page.wait_for_url(re.compile(r"/credentials/imports/[\w-]+$"))
    drain_jobs(live_server.app)
    page.get_by_text("Done: 3 added, 0 already in your wallet, 2 not added.").wait_for()
    results = page.locator("[data-result-list] li")
    assert results.count() == 5
    expect(results.filter(has_text="readme.txt").get_by_text("Not added")).to_be_visible()
    expect(results.filter(has_text="huge.png").get_by_text("The file is larger than 200 KB.")).to_be_visible()
    expect(results.filter(has_text="Team Leadership").get_by_text("Added").first).to_be_visible()
    # The script says each state in the words of the one table (services/verification/states.py).
    expect(results.filter(has_text="Team Leadership").locator(".state.state-valid")).to_have_text("Verified")
    _probe(page)

    # 3. Paste a JWT.
    page.goto(f"{base}/credentials/add?tab=paste")
    page.get_by_label("Credential JSON, JWT or SD-JWT").fill(academy.jwt(name="Public Speaking", image=evil_svg_uri))
    page.get_by_role("button", name="Add pasted credential").click()
    expect(page.get_by_role("heading", name="Public Speaking")).to_be_visible()
    # Its SVG image (with script) is shown only through <img>, and opened directly it is sandboxed.
    image = page.locator(".credential-hero img")
    page.wait_for_function("() => { const img = document.querySelector('.credential-hero img');"
                           " return img.complete && img.naturalWidth > 0; }")
    _probe(page)
    response = page.goto(base + image.get_attribute("src"))
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert "sandbox" in response.headers["content-security-policy"]
    _probe(page)

    # The hostile badge's metadata is shown as text and no script ran.
    page.goto(f"{base}/credentials/")
    page.get_by_role("link", name="Hostile").click()
    expect(page.get_by_role("heading", name="Hostile")).to_have_text(re.compile("^Hostile <script>"))
    expect(page.locator("a[href^='javascript']")).to_have_count(0)
    _probe(page)

    # 4. Evidence and the learner's own words, including hostile text.
    page.get_by_label("Link", exact=True).check()
    page.get_by_label("Title", exact=True).fill("My project")
    page.get_by_label("Link (for link evidence)").fill("https://example.org/project")
    page.get_by_role("button", name="Add evidence").click()
    expect(page.get_by_text("Evidence added.")).to_be_visible()
    assert page.get_by_role("link", name="https://example.org/project").get_attribute("rel") == "nofollow noopener noreferrer ugc"
    page.locator("details.add-evidence summary").click()
    page.get_by_label("Text", exact=True).check()
    page.get_by_label("Title", exact=True).fill("Notes " + EVIL)
    page.get_by_label("Text (for text evidence; Markdown allowed)").fill("I **learned** " + EVIL)
    page.get_by_role("button", name="Add evidence").click()
    expect(page.locator(".evidence-item")).to_have_count(2)
    page.get_by_role("button", name="Move up: Notes").click()
    expect(page.locator(".evidence-title").first).to_have_text(re.compile("^Notes"))
    page.locator("details.add-evidence summary").click()
    page.get_by_label("Link", exact=True).check()
    page.get_by_label("Link (for link evidence)").fill("javascript:window.__pwned=1")
    page.get_by_label("Link (for link evidence)").evaluate("input => input.type = 'text'")
    page.get_by_role("button", name="Add evidence").click()
    expect(page.get_by_text("Enter a web address that starts with https:// or http://.")).to_be_visible()
    page.go_back()
    page.get_by_role("link", name="Edit your notes").click()
    page.get_by_label("Reflection").fill("[click me](javascript:window.__pwned=1) " + EVIL)
    page.get_by_label("Your tags").fill("favourite, security")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Your notes were saved.")).to_be_visible()
    expect(page.locator("[data-reflection] a")).to_have_count(0)
    _probe(page)

    # 5. Filter, search and sort the wallet.
    page.goto(f"{base}/credentials/")
    expect(page.locator(".credential-card")).to_have_count(5)
    page.get_by_label("Issuer").select_option(label="Northwind Academy")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator(".credential-card")).to_have_count(1)
    expect(page.locator(".credential-card").get_by_role("link", name="Python Basics")).to_be_visible()
    page.get_by_role("link", name="Clear filters").click()
    expect(page.locator(".credential-card")).to_have_count(5)
    page.get_by_label("Skill or tag").select_option("soft-skills")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator(".credential-card h3")).to_have_text(["Team Leadership"])
    page.get_by_role("link", name="Clear filters").click()
    expect(page.locator(".credential-card")).to_have_count(5)
    page.get_by_label("Search").fill("speaking")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator(".credential-card h3")).to_have_text(["Public Speaking"])
    page.get_by_role("link", name="List").click()
    expect(page.locator("table.credential-list tbody tr")).to_have_count(1)

    # 6. Re-verify: the provider revokes the hosted badge (410 Gone).
    page.goto(f"{base}/credentials/")
    page.get_by_role("link", name="Robotics Club").click()
    provider.server.routes["/assertions/1.json"] = Response(b"gone", 410, "text/plain", {"Cache-Control": "no-store"})
    page.get_by_role("button", name="Re-verify now").click()
    expect(page.get_by_text("Checked again just now.")).to_be_visible()
    expect(page.locator(".credential-hero .state-revoked")).to_have_text("Revoked by issuer")

    # 7. Delete, with confirmation.
    page.get_by_role("link", name="Delete").click()
    page.get_by_role("button", name="Delete for good").click()
    expect(page.get_by_text("The credential was deleted from your wallet.")).to_be_visible()
    expect(page.locator(".credential-card")).to_have_count(4)
    _probe(page)


def test_learner_uploads_a_forged_copy_the_genuine_one_then_the_forged_one_again(live_server, page, make_user) -> None:
    make_user(email="learner@example.org")
    base = live_server.url
    academy = JwtIssuer(name="Riverside College")
    token = academy.jwt(name="Robotics")
    forged = tampered_jwt(token, name="Robotics (Distinction)")

    page.goto(f"{base}/login")
    page.get_by_label("Email address").fill("learner@example.org")
    page.get_by_label("Password", exact=True).fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{base}/credentials/add?tab=files")
    page.set_input_files("#files-input", files=[
        {"name": "forged.jwt", "mimeType": "application/jwt", "buffer": forged.encode()},
        {"name": "genuine.jwt", "mimeType": "application/jwt", "buffer": token.encode()},
        {"name": "forged-again.jwt", "mimeType": "application/jwt", "buffer": forged.encode()},
    ])
    page.get_by_role("button", name="Upload and check").click()
    page.wait_for_url(re.compile(r"/credentials/imports/[\w-]+$"))
    drain_jobs(live_server.app)
    page.get_by_text("Done: 2 added, 0 already in your wallet, 1 not added.").wait_for()
    results = page.locator("[data-result-list] li")
    expect(results.nth(1)).to_contain_text("Replaced a copy")
    expect(results.nth(0).locator(".state.state-invalid")).to_have_text("Not genuine")
    expect(results.nth(2)).to_contain_text("Not added")
    expect(results.nth(2)).to_contain_text("This file does not verify; your wallet already holds a genuine copy.")

    results.nth(2).get_by_role("link", name="Robotics").click()
    expect(page.locator(".credential-hero .state-valid")).to_have_text("Verified")
    history = page.locator("#history li")
    expect(history).to_have_count(2)
    expect(history.nth(0)).to_contain_text("current")
    expect(history.nth(1).locator(".state-invalid")).to_have_text("Not genuine")
    with page.expect_download() as download:
        history.nth(1).get_by_role("link", name=re.compile(r"^Download the copy added")).click()
    assert download.value.suggested_filename == "forged.jwt"
    with open(download.value.path(), "rb") as saved:
        assert saved.read() == forged.encode()
