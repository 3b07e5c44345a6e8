"""Imports of several files or a ZIP run as a background job; its page shows progress and results.

Each test runs on whatever queue the app has (the embedded thread, or RQ when the run sets
WALLET_TEST_REDIS_URL); the tests named `_on_redis` use a real Redis server whatever the run.
"""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.conftest import redis_prefix
from tests.support.accounts import bearer
from tests.support.credentials import JwtIssuer, bake_png_jwt, zip_of
from tests.support.jobs import drain_jobs
from wallet.db import utcnow
from wallet.models import Credential, Job
from wallet.queue import RedisQueue, ThreadQueue
from wallet.services import importing
from wallet.services import jobs as job_service
from wallet.wiring import collaborators


@pytest.fixture
def learner(make_user, login):
    user = make_user(email="learner@example.org")
    login(user)
    return user


@pytest.fixture
def issuer() -> JwtIssuer:
    return JwtIssuer(name="Riverside College")



def _upload(client, files: list[tuple[bytes, str]], **headers: str):
    data = {"files": [(io.BytesIO(body), name) for body, name in files]}
    return client.post("/credentials/add/files", data=data, content_type="multipart/form-data", headers=headers)


def _count(session) -> int:
    return session.scalar(select(func.count()).select_from(Credential))


def test_add_files_several_files_queue_one_job_and_redirect_to_its_page(app, client, learner, issuer, session):
    token = issuer.jwt(name="Baked One")
    response = _upload(client, [(bake_png_jwt(token), "baked.png"), (b"nope", "notes.txt"),
                                (token.encode(), "same.jwt")])
    assert response.status_code == 303
    job_url = response.headers["Location"]
    assert job_url.startswith("/credentials/imports/")
    drain_jobs(app)
    page = client.get(job_url).get_data(as_text=True)
    assert "Import finished" in page
    assert page.count('class="result result-imported"') == 1
    assert page.count('class="result result-rejected"') == 1
    assert page.count('class="result result-duplicate"') == 1
    assert "Done: 1 added, 1 already in your wallet, 1 not added." in page
    assert _count(session) == 1


def test_add_files_zip_job_records_each_file_and_removes_the_uploads(app, client, learner, issuer, session):
    archive = zip_of({"a.jwt": issuer.jwt(name="A").encode(), "b.jwt": issuer.jwt(name="B").encode(),
                    "readme.txt": b"not a credential"})
    response = _upload(client, [(archive, "two.zip")], Accept="application/json")
    assert response.status_code == 202
    job = response.get_json()
    assert job["state"] == "queued" and response.headers["Location"] == job["url"]
    uploads = collaborators(app).uploads_folder / job["id"]
    assert uploads.is_dir() and list(uploads.iterdir())  # kept until the job has run
    drain_jobs(app)
    status = client.get(job["status_url"]).get_json()
    assert (status["state"], status["done"], status["total"]) == ("done", 3, 3)
    assert status["counts"] == {"imported": 2, "rejected": 1}
    stored = session.get(Job, job["id"])
    assert [(i["filename"], i["state"]) for i in stored.items] == [
        ("two.zip › a.jwt", "imported"), ("two.zip › b.jwt", "imported"), ("two.zip › readme.txt", "rejected")]
    assert not uploads.exists()
    assert _count(session) == 2


def test_add_files_one_file_stays_immediate(client, learner, issuer, session):
    response = _upload(client, [(issuer.jwt(name="Alone").encode(), "alone.jwt")])
    assert response.status_code == 200 and 'class="result result-imported"' in response.get_data(as_text=True)
    assert _count(session) == 1
    assert session.scalar(select(func.count()).select_from(Job)) == 0


def test_import_job_page_while_queued_refreshes_without_script(app, client, learner, issuer, session):
    job = job_service.create_import_job(session, learner.id, [], collaborators(app).uploads_folder)
    session.commit()
    page = client.get(f"/credentials/imports/{job.id}").get_data(as_text=True)
    assert "Waiting to start" in page
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in page
    assert "js/jobs.js" in page


def test_import_job_of_another_learner_is_not_found(app, client, learner, make_user, session):
    other = make_user(email="other@example.org")
    job = job_service.create_import_job(session, other.id, [], collaborators(app).uploads_folder)
    session.commit()
    assert client.get(f"/credentials/imports/{job.id}").status_code == 404
    assert client.get(f"/credentials/imports/{job.id}/status").status_code == 404
    assert client.get("/credentials/imports/no-such-job").status_code == 404


def test_import_job_silent_too_long_is_shown_failed_not_running(app, client, learner, session):
    job = job_service.create_import_job(session, learner.id, [], collaborators(app).uploads_folder)
    job.state, job.started_at = "running", utcnow() - timedelta(hours=1)
    job.heartbeat_at = utcnow() - timedelta(minutes=11)
    session.commit()
    status = client.get(f"/credentials/imports/{job.id}/status").get_json()
    assert status["state"] == "failed" and "stopped before it was finished" in status["error"]
    assert "The import did not finish" in client.get(f"/credentials/imports/{job.id}").get_data(as_text=True)
    assert job_service.fail_stopped(session) == 1
    session.commit()
    session.expire_all()
    assert session.get(Job, job.id).state == "failed"


def test_import_job_that_crashes_ends_failed_with_what_was_kept(app, client, learner, issuer, session):
    response = _upload(client, [(issuer.jwt(name="Kept").encode(), "kept.jwt"), (b"x", "missing.jwt")])
    job_id = response.headers["Location"].rsplit("/", 1)[-1]
    # The second kept file disappears before the job runs (a disk cleaned under it): the job cannot read it.
    (collaborators(app).uploads_folder / job_id / "00001").unlink()
    drain_jobs(app)
    status = client.get(f"/credentials/imports/{job_id}/status").get_json()
    assert status["state"] == "failed" and "upload the other files again" in status["error"]
    assert not (collaborators(app).uploads_folder / job_id).exists()


def test_import_job_counts_against_the_import_rate_like_immediate_imports(app, client, learner, issuer, session):
    app.config["IMPORT_RATE_LIMIT"] = 2
    archive = zip_of({f"{n}.jwt": issuer.jwt(name=f"Badge {n}").encode() for n in range(3)})
    response = _upload(client, [(archive, "three.zip")])
    drain_jobs(app)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert page.count('class="result result-imported"') == 2 and page.count('class="result result-rejected"') == 1
    assert "You added many credentials in a short time." in page
    assert _count(session) == 2
    # At the limit, the next upload is refused in the request: no job is queued.
    again = _upload(client, [(archive, "three.zip")])
    assert again.status_code == 429
    assert session.scalar(select(func.count()).select_from(Job)) == 1


def test_imports_page_lists_recent_imports_with_their_state(app, client, learner, issuer, session):
    _upload(client, [(issuer.jwt(name="A").encode(), "a.jwt"), (issuer.jwt(name="B").encode(), "b.jwt")])
    drain_jobs(app)
    page = client.get("/credentials/imports").get_data(as_text=True)
    assert "Finished (2 of 2)" in page and "/credentials/imports/" in page
    assert "/credentials/imports" in client.get("/credentials/add?tab=files").get_data(as_text=True)


def test_thread_queue_runs_jobs_on_one_thread_and_stops_when_empty(app) -> None:
    queue = ThreadQueue(app)
    for _ in range(3):
        queue.enqueue("run_import", "no-such-job")
    thread = queue._thread
    queue.drain()
    if thread is not None:
        thread.join(timeout=10)  # drain() returns once the last job is done; the thread then ends
    assert queue._thread is None  # nothing left: the thread ended; the next job starts another
    assert queue.lock("tick", 60) and not queue.lock("tick", 60)
    queue.close()


def test_redis_queue_jobs_are_run_by_an_rq_worker_on_redis(make_app, redis_url, make_user, login) -> None:
    app = make_app(REDIS_URL=redis_url, REDIS_KEY_PREFIX=redis_prefix())
    queue = collaborators(app).queue
    assert isinstance(queue, RedisQueue) and queue.queue.name.startswith(app.config["REDIS_KEY_PREFIX"])
    issuer = JwtIssuer(name="Riverside College")
    client = app.test_client()
    login(make_user(email="redis@example.org"), client=client)
    response = _upload(client, [(issuer.jwt(name="A").encode(), "a.jwt"), (issuer.jwt(name="B").encode(), "b.jwt")])
    assert response.status_code == 303
    assert len(queue.queue) == 1  # on Redis, waiting for a worker
    drain_jobs(app)
    assert len(queue.queue) == 0
    status = client.get(response.headers["Location"] + "/status").get_json()
    assert (status["state"], status["counts"]) == ("done", {"imported": 2})
    assert queue.lock("tick", 60) and not queue.lock("tick", 60)


def test_api_imports_queue_a_job_to_poll_file_by_file(app, client, make_user, api_token, issuer, session) -> None:
    user = make_user(email="api@example.org")
    auth = bearer(api_token(user))
    archive = zip_of({"a.jwt": issuer.jwt(name="A").encode(), "b.txt": b"not a credential"})
    response = client.post("/api/v1/imports", headers=auth, content_type="multipart/form-data",
                           data={"files": [(io.BytesIO(archive), "two.zip"),
                                           (io.BytesIO(issuer.jwt(name="C").encode()), "c.jwt")]})
    assert response.status_code == 202
    job = response.get_json()
    assert response.headers["Location"] == job["url"] == f"/api/v1/imports/{job['id']}"
    drain_jobs(app)
    polled = client.get(job["url"], headers=auth).get_json()
    assert (polled["state"], polled["done"], polled["counts"]) == ("done", 3, {"imported": 2, "rejected": 1})
    assert [(i["filename"], i["state"]) for i in polled["items"]] == [
        ("two.zip › a.jwt", "imported"), ("two.zip › b.txt", "rejected"), ("c.jwt", "imported")]
    other = bearer(api_token(make_user(email="other@example.org")))
    assert client.get(job["url"], headers=other).status_code == 404
    assert client.post("/api/v1/imports", headers=auth, content_type="multipart/form-data", data={}).status_code == 400


def test_import_job_pages_show_only_import_jobs(app, client, learner, session) -> None:
    recheck = job_service.recheck_job(session, learner.id, 12345)
    session.commit()
    assert client.get(f"/credentials/imports/{recheck.id}").status_code == 404


def test_purge_uploads_removes_files_of_jobs_that_stopped_and_keeps_waiting_ones(app, learner, session) -> None:
    folder = collaborators(app).uploads_folder
    upload = importing.Upload("a.jwt", b"x")
    waiting = job_service.create_import_job(session, learner.id, [upload], folder)
    stopped = job_service.create_import_job(session, learner.id, [upload], folder)
    stopped.state, stopped.heartbeat_at = "running", utcnow() - timedelta(hours=1)
    session.commit()
    assert job_service.purge_uploads(session, folder) == 1
    assert (folder / waiting.id).is_dir() and not (folder / stopped.id).exists()


def test_add_files_when_the_queue_refuses_the_job_is_failed_not_left_waiting(make_app, make_user, login, issuer,
                                                                           session) -> None:
    plain = make_app(REDIS_URL=None)
    collaborators(plain).queue.close()  # a queue that takes no more work (the process is stopping)
    client = plain.test_client()
    login(make_user(email="busy@example.org"), client=client)
    response = _upload(client, [(issuer.jwt(name="A").encode(), "a.jwt"), (issuer.jwt(name="B").encode(), "b.jwt")])
    assert response.status_code == 429 and "The server is busy" in response.get_data(as_text=True)
    session.rollback()
    job = session.scalars(select(Job)).one()
    assert (job.state, job.error) == ("failed", "The work could not be started. Please try again.")
