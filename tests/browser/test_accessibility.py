"""axe-core, run in the browser, finds no serious or critical violation on the wallet, credential,
pathway and portfolio pages (docs/design.md quality bar: WCAG 2.2 AA)."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.support.accounts import DEFAULT_PASSWORD
from tests.support.credentials import JwtIssuer, png_image
from tests.support.portfolios import add_credential, published_portfolio

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parent.parent / "support" / "vendor" / "axe.min.js"
# The WCAG 2.0/2.1/2.2 A and AA rules, plus axe's best practices.
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa",
                                                     "best-practice"]},
               "resultTypes": ["violations"]}
GRAVE = ("serious", "critical")


@pytest.fixture
def site(client, session, make_user, login) -> dict[str, Any]:
    """A learner with credentials (one with evidence), a pathway, a published portfolio and a shared credential."""
    user = make_user(email="learner@example.org", display_name="Annie Easton")
    login(user)
    issuer = JwtIssuer(name="Riverside College")
    ids = [add_credential(client, issuer.jwt(name="Data Analysis", tags=["data"], skills=["Statistics"])),
           add_credential(client, issuer.jwt(name="Programming in Python", tags=["data"]))]
    client.post(f"/credentials/{ids[0]}/evidence", data={"kind": "text", "title": "Project", "text": "I *built* it."})
    from wallet.services import pathways as pathway_service

    pathway = pathway_service.create_pathway(session, user.id, title="Data career", goal="Work as an analyst")
    pathway_service.add_step(session, user.id, pathway.id, parent_id=None,
                             step={"title": "A data badge", "rule": {"kind": "tag", "tag": "data"}})
    pathway_service.add_step(session, user.id, pathway.id, parent_id=None,
                             step={"title": "A statistics badge", "rule": {"kind": "tag", "tag": "statistics"}})
    session.commit()
    portfolio_id, slug = published_portfolio(client, session, ids, pathways=[pathway.id], visibility="listed",
                                             headline="Numbers, clearly", about="I like **tidy** data.")
    client.post(f"/portfolios/{portfolio_id}/edit", data={"title": "Data analyst application", "credential": ids,
                                                          "pathway": [pathway.id], "photo": (png_image(), "me.png")},
                content_type="multipart/form-data")
    client.post(f"/portfolios/credentials/{ids[0]}/share", data={"include_evidence": "on"})
    share_page = client.get(f"/portfolios/credentials/{ids[0]}/share").get_data(as_text=True)
    share_slug = re.search(r"/c/([A-Za-z0-9_-]{43})", share_page).group(1)
    handle = re.search(r'href="/u/([a-z0-9-]+)"', client.get("/portfolios/").get_data(as_text=True)).group(1)
    return {"ids": ids, "pathway": pathway.id, "portfolio": portfolio_id, "slug": slug, "share": share_slug,
            "handle": handle}


def violations(page: Any) -> list[str]:
    """Run axe on the page and describe each serious or critical violation."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("options => axe.run(document, options)", AXE_OPTIONS)
    return [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
            for v in result["violations"] if v["impact"] in GRAVE]


@pytest.fixture
def axe_context(browser: Any):
    # add_script_tag inlines axe, which the app's CSP (script-src 'self') would block: bypass it here only.
    context = browser.new_context(bypass_csp=True)
    context.set_default_timeout(20_000)
    yield context
    context.close()


def test_public_pages_have_no_serious_accessibility_violations(live_server, site, axe_context):
    page = axe_context.new_page()
    base = live_server.url
    public = [f"/p/{site['slug']}", f"/p/{site['slug']}/credentials/{site['ids'][0]}", f"/c/{site['share']}",
              f"/embed/c/{site['share']}", f"/u/{site['handle']}", "/privacy", "/terms"]
    found = {}
    for path in public:
        page.goto(base + path)
        found[path] = violations(page)
    # The report and the pathway steps are in closed <details>: open them so axe sees them too.
    page.goto(f"{base}/p/{site['slug']}")
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    found["/p/<slug> (expanded)"] = violations(page)
    assert found == {path: [] for path in found}


def test_learner_pages_have_no_serious_accessibility_violations(live_server, site, axe_context):
    page = axe_context.new_page()
    base = live_server.url
    page.goto(f"{base}/login")
    page.get_by_label("Email address").fill("learner@example.org")
    page.get_by_label("Password", exact=True).fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/$"))
    learner = ["/credentials/", "/credentials/?view=list", f"/credentials/{site['ids'][0]}",
               f"/pathways/{site['pathway']}", "/portfolios/", f"/portfolios/{site['portfolio']}/edit",
               f"/portfolios/{site['portfolio']}/preview", f"/portfolios/credentials/{site['ids'][0]}/share",
               "/present", "/present?challenge=c-1&domain=jobs.example"]
    found = {}
    for path in learner:
        page.goto(base + path)
        found[path] = violations(page)
    # The signed answer, after the learner approves the request reviewed last.
    page.get_by_role("checkbox", name="Data Analysis").check()
    page.get_by_role("button", name="Approve and sign for jobs.example").click()
    found["/present/sign"] = violations(page)
    assert found == {path: [] for path in found}
