"""Exporting and importing a wallet in a real browser: the progress page follows the job by script."""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from tests.support.accounts import log_in_page
from tests.support.wallets import fill_wallet
from wallet.services import portability
from wallet.services.blobs import blob_store_from_config

pytestmark = pytest.mark.browser


def test_export_progress_page_follows_the_job_and_offers_the_download(live_server, page, app, session, make_user):
    user = make_user(email="learner@example.org")
    fill_wallet(app, session, user)
    log_in_page(page, live_server.url, "learner@example.org")

    # A job that is still running when the page opens: the script polls until it is ready.
    folder = Path(app.instance_path) / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    job = "j" * 32
    state = {"owner_id": user.id, "kind": "export", "state": "running", "done": 1, "total": 5}
    (folder / f"{job}.json").write_text(json.dumps(state))
    page.goto(f"{live_server.url}/settings/export/{job}")
    assert page.get_by_role("heading", name="Preparing your export…").is_visible()
    assert page.get_by_role("status").inner_text().strip().endswith("1 of 5 items")
    (folder / f"{job}.json").write_text(json.dumps({**state, "done": 4}))
    page.get_by_role("status").get_by_text("4", exact=True).wait_for()
    with open(folder / f"{job}.zip", "wb") as out:
        portability.write_export(session, user.id, blob_store_from_config(app.config, app.instance_path), out)
    session.rollback()
    (folder / f"{job}.json").write_text(json.dumps({**state, "state": "ready", "done": 5,
                                                    "size": (folder / f"{job}.zip").stat().st_size}))
    page.get_by_role("heading", name="Your export is ready").wait_for()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the export").click()
    with zipfile.ZipFile(io.BytesIO(Path(download.value.path()).read_bytes())) as archive:
        assert len(json.loads(archive.read("manifest.json"))["credentials"]) == 3

    # From Settings, the real thing.
    page.goto(f"{live_server.url}/settings/")
    page.get_by_role("button", name="Export my wallet").click()
    page.get_by_role("heading", name="Your export is ready").wait_for()


def test_import_page_in_the_browser_shows_the_report(live_server, page, app, session, make_user, tmp_path):
    owner = make_user(email="learner@example.org")
    fill_wallet(app, session, owner)
    out = io.BytesIO()
    portability.write_export(session, owner.id, blob_store_from_config(app.config, app.instance_path), out)
    session.rollback()
    (tmp_path / "wallet.zip").write_bytes(out.getvalue())
    make_user(email="newcomer@example.org")
    log_in_page(page, live_server.url, "newcomer@example.org")
    page.goto(f"{live_server.url}/settings/")
    page.get_by_role("link", name="Import a wallet export").click()
    page.get_by_label("Wallet export (.zip)").set_input_files(str(tmp_path / "wallet.zip"))
    page.get_by_role("button", name="Import").click()
    page.get_by_role("heading", name="Import finished").wait_for()
    row = page.get_by_role("row", name="Credentials")
    assert row.get_by_role("cell").first.inner_text() == "3"


def test_export_and_import_pages_have_no_serious_accessibility_violations(live_server, browser, app, session,
                                                                          make_user, tmp_path):
    from tests.browser.test_accessibility import violations

    user = make_user(email="learner@example.org")
    fill_wallet(app, session, user)
    folder = Path(app.instance_path) / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ("r" * 32 + ".json")).write_text(json.dumps({"owner_id": user.id, "kind": "export",
                                                           "state": "running", "done": 2, "total": 5}))
    context = browser.new_context(bypass_csp=True)  # axe is inlined, which the app's CSP would block
    context.set_default_timeout(20_000)
    try:
        page = context.new_page()
        log_in_page(page, live_server.url, "learner@example.org")
        page.goto(f"{live_server.url}/settings/")
        page.get_by_role("button", name="Export my wallet").click()
        page.get_by_role("heading", name="Your export is ready").wait_for()
        found = {"export ready": violations(page)}
        page.goto(f"{live_server.url}/settings/export/{'r' * 32}")
        found["export running"] = violations(page)
        page.goto(f"{live_server.url}/settings/import")
        found["import form"] = violations(page)
        page.get_by_label("Wallet export (.zip)").set_input_files(str(next(folder.glob("*.zip"))))
        page.get_by_role("button", name="Import").click()
        page.get_by_role("heading", name="Import finished").wait_for()
        found["import report"] = violations(page)
    finally:
        context.close()
    assert found == {name: [] for name in found}
