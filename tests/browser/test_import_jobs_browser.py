"""A bulk import in a real browser: the progress page follows the job by script, file by file."""
from __future__ import annotations

import io
import re
import zipfile

import pytest
from playwright.sync_api import expect

from tests.support.accounts import log_in_page
from tests.support.credentials import JwtIssuer, bake_png_jwt
from tests.support.jobs import drain_jobs
from wallet.db import utcnow
from wallet.services import jobs as job_service
from wallet.wiring import collaborators

pytestmark = pytest.mark.browser


def test_bulk_import_progress_page_follows_the_job_and_shows_each_result(live_server, page, app, session, make_user):
    user = make_user(email="learner@example.org")
    log_in_page(page, live_server.url, "learner@example.org")

    # A job that is running when the page opens: the script polls its status and moves the bar.
    job = job_service.create_import_job(session, user.id, [], collaborators(app).uploads_folder)
    job.state, job.total, job.done, job.started_at, job.heartbeat_at = "running", 5, 1, utcnow(), utcnow()
    session.commit()
    page.goto(f"{live_server.url}/credentials/imports/{job.id}")
    expect(page.get_by_role("heading", name="Checking your files…")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("1 of 5 items")
    job.done, job.heartbeat_at = 4, utcnow()
    session.commit()
    page.get_by_role("status").get_by_text("4", exact=True).wait_for()
    assert page.locator("progress[data-job-progress]").evaluate("bar => bar.value") == 4
    job.done = 0
    job_service.record(session, job, {"filename": "a.png", "state": "rejected", "message": "The file is empty."})
    job.state, job.total, job.finished_at = "done", 1, utcnow()
    session.commit()
    page.get_by_role("heading", name="Import finished").wait_for()
    expect(page.locator("[data-result-list] li")).to_have_text([re.compile(r"a\.png\s*Not added\s*The file is empty\.")])

    # The real thing: a ZIP of baked badges from the add page, then the list of imports.
    academy = JwtIssuer(name="Riverside College")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        for n in range(3):
            z.writestr(f"badge{n}.png", bake_png_jwt(academy.jwt(name=f"Badge {n}")))
    page.goto(f"{live_server.url}/credentials/add?tab=files")
    page.set_input_files("#files-input", files=[
        {"name": "badges.zip", "mimeType": "application/zip", "buffer": archive.getvalue()}])
    page.get_by_role("button", name="Upload and check").click()
    page.wait_for_url(re.compile(r"/credentials/imports/[\w-]+$"))
    drain_jobs(live_server.app)
    page.get_by_text("Done: 3 added, 0 already in your wallet, 0 not added.").wait_for()
    results = page.locator("[data-result-list] li")
    expect(results).to_have_count(3)
    expect(results.filter(has_text="badges.zip › badge1.png").locator(".state.state-valid")).to_have_text("Verified")
    page.goto(f"{live_server.url}/credentials/imports")
    expect(page.get_by_role("row")).to_have_count(3)  # the header, the ZIP and the job made above
    expect(page.get_by_role("row").nth(1)).to_contain_text("Finished (3 of 3)")
