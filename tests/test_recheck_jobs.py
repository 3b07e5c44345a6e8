"""Re-checks that leave the request: a viewer's "verify now" queues one, and the page shows it when done."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from tests.conftest import redis_prefix
from tests.support.credentials import HostedIssuer, JwtIssuer
from tests.support.jobs import drain_jobs
from tests.support.portfolios import add_credential, add_url, published_portfolio
from tests.support.servers import Response
from wallet import tasks
from wallet.db import utcnow
from wallet.models import Credential, Job, VerificationRecord
from wallet.services import jobs as job_service
from wallet.services import schedule
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
    collaborators(app).blobs.delete(session.get(Credential, credential_id).original_sha256)
    client.post(f"/p/{slug}/credentials/{credential_id}/verify")
    drain_jobs(app)
    session.expire_all()
    job = session.get(Job, f"recheck-{credential_id}")
    assert job.state == "failed" and job.error == "The check could not be completed."
    page = client.get(f"/p/{slug}/credentials/{credential_id}").get_data(as_text=True)
    assert "Checking again with the issuer…" not in page and 'data-status="valid"' in page


# ---------------------------------------------------------------------------------------------
# Scheduled re-checks


def test_slot_of_is_stable_and_spread_over_the_day() -> None:
    slots = [schedule.slot_of(n) for n in range(1, 2001)]
    assert slots == [schedule.slot_of(n) for n in range(1, 2001)]
    assert all(timedelta(0) <= slot < timedelta(days=1) for slot in slots)
    hours = {int(slot.total_seconds() // 3600) for slot in slots}
    assert hours == set(range(24))  # every hour of the day has credentials due in it


def test_last_slot_is_the_latest_slot_not_after_the_time() -> None:
    at = datetime(2026, 12, 3, 12, 0, tzinfo=timezone.utc)
    for credential_id in range(1, 50):
        slot = schedule.last_slot(credential_id, at)
        assert at - timedelta(days=1) < slot <= at
        assert slot - datetime(slot.year, slot.month, slot.day, tzinfo=timezone.utc) == schedule.slot_of(credential_id)


def test_due_credentials_are_those_that_could_change_and_are_past_their_slot(
        hosted, client, learner, session) -> None:
    hosted_id = add_url(client, hosted.assertion(email="learner@example.org"))
    fixed_key = add_credential(client, JwtIssuer(name="Offline").jwt(name="Signed"))
    expiring = add_credential(client, JwtIssuer(name="Offline").jwt(
        name="Expiring", valid_until=utcnow() + timedelta(days=300)))
    tick = timedelta(minutes=5)
    now = utcnow()
    assert schedule.due_credentials(session, now, tick=tick) == []  # all checked just now
    # A day later, every slot has passed since: what could change is due, a did:jwk credential is not.
    later = now + timedelta(days=1, minutes=10)
    assert schedule.due_credentials(session, later, tick=tick) == sorted([hosted_id, expiring])
    assert fixed_key not in schedule.due_credentials(session, later, tick=tick)
    # Checked after its slot: not due again until its next slot.
    credential = session.get(Credential, hosted_id)
    credential.checked_at = later
    session.commit()
    assert schedule.due_credentials(session, later, tick=tick) == [expiring]


def test_could_change_reads_the_status_list_of_a_stored_document() -> None:
    assert schedule.could_change(Credential(securing="hosted"))
    assert schedule.could_change(Credential(verified_issuer="did:web:issuer.example"))
    assert not schedule.could_change(Credential(verified_issuer="did:key:z6Mk", document={"id": "urn:x"}))
    assert schedule.could_change(Credential(verified_issuer="did:key:z6Mk", document={
        "credentialStatus": {"type": "BitstringStatusListEntry"}}))


def test_tick_queues_one_sweep_per_period_and_the_sweep_rechecks_what_is_due(
        hosted, app, client, learner, session) -> None:
    credential_id = add_url(client, hosted.assertion(email="learner@example.org"))
    _age(session, credential_id, hours=25)
    _revoke(hosted)
    with app.app_context():
        tasks.tick()
        tasks.tick()  # a second process (or a second tick) in the same period does nothing
    drain_jobs(app)
    session.rollback()
    sweeps = session.scalars(select(Job).where(Job.kind == "sweep")).all()
    assert [(job.state, job.done, job.total) for job in sweeps] == [("done", 1, 1)]
    assert sweeps[0].items == [{"credential_id": credential_id, "state": "revoked", "conclusive": True,
                                "previous": "valid"}]
    record = session.scalars(select(VerificationRecord).order_by(VerificationRecord.id.desc())).first()
    assert (record.trigger, record.status) == ("scheduled", "revoked")


def test_tick_queues_again_a_job_left_waiting_whose_queue_entry_was_lost(hosted, app, client, learner,
                                                                        session) -> None:
    credential_id = add_url(client, hosted.assertion(email="learner@example.org"))
    # A sweep recorded as queued an hour ago whose queue entry is gone (Redis restarted without persistence,
    # or the app process that held it stopped): nothing would ever run it.
    lost = job_service.create_job(session, kind="sweep", owner_id=None, params={"credential_ids": [credential_id]},
                                  total=1)
    lost.created_at = utcnow() - timedelta(hours=1)
    session.commit()
    with app.app_context():
        tasks.tick()
    drain_jobs(app)
    session.rollback()
    assert session.execute(select(Job.state, Job.done).where(Job.id == lost.id)).one() == ("done", 1)
    assert session.scalar(select(func.count()).select_from(VerificationRecord)
                          .where(VerificationRecord.trigger == "scheduled")) == 1


def test_tick_queues_nothing_while_a_sweep_is_still_at_work(hosted, app, client, learner, session) -> None:
    credential_id = add_url(client, hosted.assertion(email="learner@example.org"))
    _age(session, credential_id, hours=25)
    running = job_service.create_job(session, kind="sweep", owner_id=None, params={"credential_ids": []})
    running.state, running.heartbeat_at = "running", utcnow()
    session.commit()
    with app.app_context():
        tasks.tick()
    drain_jobs(app)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Job)) == 1


def test_sweep_skips_a_credential_deleted_after_it_was_queued(hosted, app, client, learner, session) -> None:
    kept = add_url(client, hosted.assertion(email="learner@example.org"))
    with app.app_context():
        (job_id,) = tasks.queue_sweeps(app, session, [kept, 999_999])
    drain_jobs(app)
    session.rollback()
    job = session.get(Job, job_id)
    assert (job.state, job.done, job.total) == ("done", 2, 2)


def test_cli_reverify_enqueue_queues_a_sweep_that_wallet_worker_burst_runs(
        hosted, make_app, redis_url, client, learner, session) -> None:
    credential_id = add_url(client, hosted.assertion(email="learner@example.org"))
    worker_app = make_app(REDIS_URL=redis_url, REDIS_KEY_PREFIX=redis_prefix(), RECHECK_SCHEDULE=False)
    runner = worker_app.test_cli_runner()
    with worker_app.app_context():  # the commands run on this app, not the test's
        queued = runner.invoke(args=["reverify", "--enqueue", "--stale-after", "0"])
    assert queued.exit_code == 0, queued.output
    assert "Queued 1 credential(s) in 1 sweep(s) for `wallet worker`." in queued.output
    session.rollback()
    assert session.scalar(select(Job.state).where(Job.kind == "sweep")) == "queued"
    with worker_app.app_context():
        ran = runner.invoke(args=["worker", "--burst"])
    assert ran.exit_code == 0, ran.output
    session.rollback()
    assert session.scalar(select(Job.state).where(Job.kind == "sweep")) == "done"
    triggers = session.scalars(select(VerificationRecord.trigger).where(VerificationRecord.credential_id == credential_id)
                               .order_by(VerificationRecord.id)).all()
    assert triggers == ["import", "scheduled"]


def test_cli_worker_without_redis_says_how_jobs_run(make_app) -> None:
    plain = make_app(REDIS_URL=None)
    with plain.app_context():
        result = plain.test_cli_runner().invoke(args=["worker", "--burst"])
    assert result.exit_code != 0 and "Set WALLET_REDIS_URL to run a worker" in result.output


def _age(session, credential_id: int, *, hours: int) -> None:
    credential = session.get(Credential, credential_id)
    credential.checked_at = utcnow() - timedelta(hours=hours)
    session.commit()


def test_cli_reverify_enqueue_without_redis_runs_the_sweep_in_this_process(hosted, make_app, client, learner,
                                                                          session) -> None:
    credential_id = add_url(client, hosted.assertion(email="learner@example.org"))
    plain = make_app(REDIS_URL=None)
    with plain.app_context():
        result = plain.test_cli_runner().invoke(args=["reverify", "--enqueue", "--stale-after", "0"])
    assert result.exit_code == 0, result.output
    assert "Queued 1 credential(s) in 1 sweep(s) in this process." in result.output
    session.rollback()
    assert session.scalar(select(Job.state).where(Job.kind == "sweep")) == "done"
    # Counted in the database: the credential this session loaded during the import keeps its old list.
    assert session.scalar(select(func.count()).select_from(VerificationRecord)
                          .where(VerificationRecord.credential_id == credential_id)) == 2
