"""Re-checks that leave the request: a viewer's "verify now" queues one, and the page shows it when done."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.conftest import redis_prefix
from tests.support.credentials import HostedIssuer
from tests.support.jobs import drain_jobs
from tests.support.portfolios import add_url, published_portfolio
from tests.support.servers import Response
from wallet.models import Job, VerificationRecord
from wallet.wiring import collaborators


@pytest.fixture
def hosted(document_server, app_config) -> HostedIssuer:
    issuer = HostedIssuer(document_server)
    app_config.update(ALLOW_PRIVATE_NETWORK=True, URL_REWRITE=issuer.rewrite, VERIFY_NOW_REUSE_SECONDS=0)
    return issuer


@pytest.fixture
def learner(make_user, login):
    user = make_user(email="learner@example.org")
    login(user)
    return user


def _revoke(hosted: HostedIssuer) -> None:
    hosted.server.routes["/assertions/1.json"] = Response(b"gone", 410, "text/plain", {"Cache-Control": "no-store"})


def test_verify_now_queues_a_recheck_and_the_page_shows_it_under_way_then_the_result(
        hosted, make_app, redis_url, learner, login, client, session) -> None:
    credential_id = add_url(client, hosted.assertion(email="learner@example.org"))
    _, slug = published_portfolio(client, session, [credential_id])
    # A viewer on an app whose jobs wait on Redis for a worker: the check is not done in the request.
    viewer_app = make_app(REDIS_URL=redis_url, REDIS_KEY_PREFIX=redis_prefix())
    viewer = viewer_app.test_client()
    _revoke(hosted)
    before = len(hosted.server.requests)
    response = viewer.post(f"/p/{slug}/credentials/{credential_id}/verify", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Checking again with the issuer now." in page and "Checking again with the issuer…" in page
    assert '<meta http-equiv="refresh" content="3">' in page  # without script, the page reloads itself
    assert 'data-status="valid"' in page and len(hosted.server.requests) == before
    # A second viewer (or a second click) while it waits queues nothing more.
    viewer.post(f"/p/{slug}/credentials/{credential_id}/verify", environ_base={"REMOTE_ADDR": "198.51.100.9"})
    assert len(collaborators(viewer_app).queue.queue) == 1
    drain_jobs(viewer_app)
    page = viewer.get(f"/p/{slug}/credentials/{credential_id}").get_data(as_text=True)
    assert 'data-status="revoked"' in page and "Checking again with the issuer…" not in page
    assert 'http-equiv="refresh"' not in page
    session.rollback()  # a fresh snapshot: the job wrote from its own session
    record = session.scalars(select(VerificationRecord).order_by(VerificationRecord.id.desc())).first()
    assert (record.trigger, record.status) == ("viewer", "revoked")
    assert session.scalar(select(func.count()).select_from(Job)) == 1


def test_verify_now_check_that_cannot_run_ends_failed_and_the_page_stops_waiting(
        hosted, app, learner, client, session) -> None:
    credential_id = add_url(client, hosted.assertion(email="learner@example.org"))
    _, slug = published_portfolio(client, session, [credential_id])
    # The stored original is gone from the blob store: the check cannot run at all.
    from wallet.models import Credential

    collaborators(app).blobs.delete(session.get(Credential, credential_id).original_sha256)
    client.post(f"/p/{slug}/credentials/{credential_id}/verify")
    drain_jobs(app)
    session.expire_all()
    job = session.get(Job, f"recheck-{credential_id}")
    assert job.state == "failed" and job.error == "The check could not be completed."
    page = client.get(f"/p/{slug}/credentials/{credential_id}").get_data(as_text=True)
    assert "Checking again with the issuer…" not in page and 'data-status="valid"' in page
