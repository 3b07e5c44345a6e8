"""Run the background jobs a test queued, whatever the queue (wallet/queue.py).

The embedded queue is waited for; the RQ queue is emptied by a real RQ worker in burst mode in this
process, as `wallet worker --burst` would. Call it after the request that queued a job and before
looking at what the job did.
"""
from __future__ import annotations

from flask import Flask

from wallet.wiring import collaborators


def drain_jobs(app: Flask) -> None:
    """Run every job queued for `app` (and the jobs they queue) until none is left."""
    queue = collaborators(app).queue
    assert queue is not None
    if app.config.get("REDIS_URL"):
        with app.app_context():
            queue.drain()
    else:
        queue.drain()


def job_page(app: Flask, client, response) -> str:
    """Run the import job `response` redirected to, and return its page with the results."""
    assert response.status_code == 303, response.get_data(as_text=True)
    drain_jobs(app)
    return client.get(response.headers["Location"]).get_data(as_text=True)


def job_items(app: Flask, session, response) -> list[dict]:
    """Run the import job `response` (202 JSON or 303) names, and return its per-file outcomes."""
    from wallet.models import Job

    drain_jobs(app)
    job_id = response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    session.expire_all()
    return session.get(Job, job_id).items
