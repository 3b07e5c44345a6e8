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
