"""Where background jobs run (docs/architecture.md "Background jobs").

With REDIS_URL set, jobs go on an RQ queue named after REDIS_KEY_PREFIX and `wallet worker` runs
them. Without Redis, the same tasks run on one background thread of the app process, started when
the first job is queued and stopped when the queue is empty or the process exits, so `make run`
needs nothing else. Either way a job carries only a task name (a function of wallet/tasks.py) and
plain values (ids); the task builds what it needs from the app, and its progress is in the database.

`drain()` runs everything queued until the queue is empty, in the calling thread's view: the
embedded queue waits for its thread; the RQ queue runs a burst worker in this process (tests, the
benchmark, `wallet worker --burst`).
"""
from __future__ import annotations

import atexit
import logging
import queue
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from flask import Flask

from wallet.services.errors import RateLimitedError

log = logging.getLogger(__name__)

# A job that runs longer is stopped by the RQ worker (a 1,000-file import takes about a minute).
JOB_TIMEOUT_SECONDS = 3600
# RQ keeps a finished job's own record this long; the wallet's record is the `jobs` table.
RESULT_TTL_SECONDS = 600
BUSY_MESSAGE = "The server is busy with other work. Try again in a minute."
# Every embedded queue of this process, closed (its running job finished) when the process exits.
_THREAD_QUEUES: weakref.WeakSet[ThreadQueue] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for each in list(_THREAD_QUEUES):
        each.close()


class JobQueue(Protocol):
    """What routes, the CLI and the scheduler need of a queue."""

    def enqueue(self, task: str, *args: Any, job_id: str | None = None) -> None:
        """Queue `task` (a function name in wallet.tasks) with plain arguments."""

    def drain(self) -> None:
        """Run every queued job (and the jobs they queue) until the queue is empty."""

    def lock(self, name: str, seconds: int) -> bool:
        """Take the lock `name` for `seconds` unless another process holds it; return whether taken."""

    def close(self) -> None:
        """Stop taking jobs and let the running one finish."""


def _task(name: str) -> Callable[..., Any]:
    from wallet import tasks

    return getattr(tasks, name)


class ThreadQueue:
    """Jobs on one background thread of this process, in the order they were queued (bounded)."""

    def __init__(self, app: Flask, max_waiting: int = 1000) -> None:
        self._app = app
        self._tasks: queue.Queue[tuple[str, tuple[Any, ...]]] = queue.Queue(maxsize=max_waiting)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._locks: dict[str, float] = {}
        self._closed = False
        _THREAD_QUEUES.add(self)

    def enqueue(self, task: str, *args: Any, job_id: str | None = None) -> None:
        _task(task)  # a misspelt task fails here, in the request, not later on the thread
        with self._lock:
            if self._closed:
                raise RateLimitedError(BUSY_MESSAGE, retry_after=60)
            try:
                self._tasks.put_nowait((task, args))
            except queue.Full:
                raise RateLimitedError(BUSY_MESSAGE, retry_after=60) from None
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="wallet-jobs", daemon=True)
                self._thread.start()

    def _work(self) -> None:
        while True:
            with self._lock:
                # Decided under the lock that `enqueue` takes: a job queued now finds no thread and starts one.
                try:
                    task, args = self._tasks.get_nowait()
                except queue.Empty:
                    self._thread = None
                    return
            try:
                with self._app.app_context():
                    _task(task)(*args)
            except Exception:  # the task recorded its failure; keep serving the others
                log.exception("background job %s%r failed", task, args)
            finally:
                self._tasks.task_done()

    def drain(self) -> None:
        self._tasks.join()

    def lock(self, name: str, seconds: int) -> bool:
        now = time.monotonic()
        with self._lock:
            if self._locks.get(name, 0.0) > now:
                return False
            self._locks[name] = now + seconds
            return True

    def close(self) -> None:
        with self._lock:
            self._closed = True
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=30)


class RedisQueue:
    """Jobs on an RQ queue in Redis, run by `wallet worker` (or `drain()` in this process)."""

    def __init__(self, url: str, prefix: str) -> None:
        import redis
        from rq import Queue

        self.connection = redis.Redis.from_url(url)
        self.prefix = prefix
        self.queue = Queue(f"{prefix}-jobs", connection=self.connection)

    def enqueue(self, task: str, *args: Any, job_id: str | None = None) -> None:
        _task(task)
        self.queue.enqueue(f"wallet.tasks.{task}", *args, job_id=job_id, job_timeout=JOB_TIMEOUT_SECONDS,
                           result_ttl=RESULT_TTL_SECONDS, failure_ttl=24 * 3600)

    def worker(self) -> Any:
        """Return an RQ worker for this queue that runs jobs in its own process (no fork per job)."""
        from rq import SimpleWorker

        return SimpleWorker([self.queue], connection=self.connection)

    def drain(self) -> None:
        self.worker().work(burst=True, logging_level="WARNING")

    def lock(self, name: str, seconds: int) -> bool:
        return bool(self.connection.set(f"{self.prefix}:lock:{name}", "1", nx=True, ex=seconds))

    def close(self) -> None:
        self.connection.close()


class Scheduler:
    """A thread that queues the `tick` task every `interval` seconds until stopped (docs/reliability.md §12)."""

    def __init__(self, queue: JobQueue, interval: float) -> None:
        self._queue = queue
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wallet-scheduler", daemon=True)

    def start(self) -> Scheduler:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._queue.enqueue("tick")
            except Exception:  # Redis away for a moment, or the queue full: try again next tick
                log.exception("could not queue the re-check tick")
            self._stop.wait(self._interval)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)


def queue_from_config(config: Mapping[str, Any], app: Flask) -> JobQueue:
    """Return the RQ queue when REDIS_URL is set, else the embedded thread queue."""
    if config.get("REDIS_URL"):
        return RedisQueue(str(config["REDIS_URL"]), str(config.get("REDIS_KEY_PREFIX") or "wallet"))
    return ThreadQueue(app)
