"""Bulk import: a ZIP of 1,000 baked badges imported as a background job through the real worker.

Run: .venv/bin/python bench/bulk_import.py [--badges 1000] [--issuers 20] [--database-url URL]

Makes N distinct baked PNG badges (signed OB 3.0 VC-JWTs from --issuers did:jwk issuers, verified
offline, each baked into its own PNG), then measures in one run, on one fresh instance:
- baseline: the same files uploaded one request at a time to /credentials/add/files (a single file is
  imported in its request, as every upload was before imports became jobs), for a first learner;
- job: the ZIP of all N uploaded in one request for a second learner (it answers 303 at once and
  queues a job on Redis), then `wallet worker --burst` started as its own process runs the job.
  The time is from the upload to the worker's exit; the worker's peak memory is its peak resident
  set (ru_maxrss of the child process).
Goals (docs/architecture.md "Background jobs"): the job under 60 s, the worker under 300 MB.
A redis-server (Debian's) is started on a free loopback port for the run and stopped after it.
"""
from __future__ import annotations

import argparse
import io
import os
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, make_url, select, text  # noqa: E402

from tests.support.accounts import create_user, log_in  # noqa: E402
from tests.support.credentials import JwtIssuer, bake_png_jwt  # noqa: E402
from tests.support.redis import RedisServer  # noqa: E402
from wallet import create_app  # noqa: E402
from wallet.db import get_engine, get_session  # noqa: E402
from wallet.models import Credential, Job  # noqa: E402
from wallet.schema import upgrade_database  # noqa: E402


def database(folder: Path, database_url: str | None) -> str:
    if not database_url:
        return f"sqlite:///{folder / 'wallet.db'}"
    url = make_url(database_url)
    admin = create_engine(url.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text('DROP DATABASE IF EXISTS "bench_bulk" WITH (FORCE)'))
        connection.execute(text('CREATE DATABASE "bench_bulk"'))
    admin.dispose()
    return url.set(database="bench_bulk").render_as_string(hide_password=False)


def badges(count: int, issuers: int) -> list[tuple[str, bytes]]:
    made = [JwtIssuer(name=f"Bench Academy {n}") for n in range(issuers)]
    return [(f"badge-{n:04d}.png", bake_png_jwt(made[n % issuers].jwt(name=f"Course {n}", email="bench@example.org")))
            for n in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--badges", type=int, default=1000)
    parser.add_argument("--issuers", type=int, default=20)
    parser.add_argument("--database-url", default=None, help="a PostgreSQL server URL (default: a SQLite file)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="wallet-bench-bulk-"))
    redis = RedisServer(folder)
    settings = {
        "DATABASE_URL": database(folder, args.database_url), "INSTANCE_PATH": str(folder / "instance"),
        "SECRET_KEY": "bench-secret", "REDIS_URL": redis.url, "REDIS_KEY_PREFIX": "bench",
        # The limits a bulk import meets are the ordinary ones, raised to let 2 x N imports through.
        "IMPORT_RATE_LIMIT": 10 * args.badges, "MAX_ZIP_FILES": args.badges, "WTF_CSRF_ENABLED": False,
        "RECHECK_SCHEDULE": False,
    }
    try:
        app = create_app(settings)
        upgrade_database(get_engine(app))
        files = badges(args.badges, args.issuers)
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in files:
                z.writestr(name, data)
        print(f"{args.badges} distinct baked PNG badges from {args.issuers} issuers; ZIP of "
              f"{len(archive.getvalue()) / 1024 / 1024:.1f} MB ({'PostgreSQL' if args.database_url else 'SQLite'})")

        with app.app_context():
            session = get_session()
            first, second = create_user(session, email="one@example.org"), create_user(session, email="two@example.org")
            session.commit()
            one, two = app.test_client(), app.test_client()
            log_in(one, first)
            log_in(two, second)

            # Baseline: one request per file, each imported in its request.
            started = time.perf_counter()
            for name, data in files:
                response = one.post("/credentials/add/files", data={"files": [(io.BytesIO(data), name)]},
                                    content_type="multipart/form-data")
                assert response.status_code == 200, response.status_code
            baseline = time.perf_counter() - started

            # The job: one upload, then the real worker in its own process.
            started = time.perf_counter()
            response = two.post("/credentials/add/files", data={"files": [(io.BytesIO(archive.getvalue()), "all.zip")]},
                                content_type="multipart/form-data")
            assert response.status_code == 303, response.status_code
            uploaded = time.perf_counter() - started
            env = dict(os.environ, **{f"WALLET_{key}": str(value) for key, value in settings.items()})
            subprocess.run([str(Path(sys.executable).with_name("wallet")), "worker", "--burst"], env=env, check=True,
                           cwd=ROOT, stdout=subprocess.DEVNULL)
            job_time = time.perf_counter() - started
            worker_peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

            session.rollback()
            job = session.scalars(select(Job)).one()
            added = sum(1 for item in job.items if item["state"] == "imported")
            held = len(session.scalars(select(Credential.id).where(Credential.owner_id == first.id)).all())
            assert job.state == "done" and added == args.badges == held, (job.state, added, held)
            get_session().close()
        get_engine(app).dispose()

        print(f"baseline, one request per file: {baseline:6.1f} s  ({args.badges / baseline:6.1f} badges/s), "
              f"{held} added")
        print(f"job, one ZIP through the worker: {job_time:6.1f} s  ({args.badges / job_time:6.1f} badges/s), "
              f"{added} added; the upload answered in {uploaded:.2f} s")
        print(f"worker peak memory (resident): {worker_peak_mb:.0f} MB")
        print(f"ratio (baseline time / job time): {baseline / job_time:.2f}x")
        print(f"goals: job < 60 s: {'met' if job_time < 60 else 'NOT met'}; "
              f"worker < 300 MB: {'met' if worker_peak_mb < 300 else 'NOT met'}")
    finally:
        redis.stop()


if __name__ == "__main__":
    main()
