"""Load test of a public portfolio page with 100 credentials, served by gunicorn on 127.0.0.1.

Run: .venv/bin/python bench/portfolio_page.py [--credentials 100] [--requests 500] [--concurrency 4]
                                             [--workers 4] [--threads 1]

1. Builds a fresh database: one learner, half the credentials OB 3.0 VC-JWTs (did:jwk issuers),
   half OB 2.0 hosted badges imported from an issuer served over loopback HTTP, all in one
   published portfolio (with evidence shown).
2. Serves the app with gunicorn (gthread workers) and fires a bounded number of GET requests at
   /p/<slug> from `--concurrency` keep-alive clients.
3. Prints requests/s, latency p50/p95/p99 and the page size, then the time of one signed
   presentation download; and fails unless every answer was 200 and the issuer server received
   no request at all while the pages were served (public pages show stored results only).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from tests.support.credentials import HostedIssuer, JwtIssuer  # noqa: E402
from tests.support.servers import DocumentServer  # noqa: E402
from wallet import create_app  # noqa: E402
from wallet.db import get_session, make_engine  # noqa: E402
from wallet.schema import upgrade_database  # noqa: E402
from wallet.services import accounts, evidence, importing, portfolios  # noqa: E402
from wallet.wiring import collaborators  # noqa: E402

SECRET = "bench-secret-key-not-for-production"
EMAIL = "learner@example.org"


def build(config: dict[str, object], count: int, issuer: HostedIssuer) -> str:
    """Fill a fresh database with one learner and a published portfolio of `count` credentials; return its slug."""
    app = create_app(config)
    logging.getLogger("wallet.services.http").setLevel(logging.WARNING)  # one line per fetch otherwise
    with app.app_context(), app.test_request_context():
        session = get_session()
        user = accounts.register(session, display_name="Bench Learner", email=EMAIL,
                                 password="correct horse battery staple", verified=True)
        session.commit()
        importer = importing.Importer(fetch=collaborators(app).fetcher, blobs=collaborators(app).blobs, owner_id=user.id,
                                      recipients=[EMAIL])
        jwt_issuers = [JwtIssuer(name=f"College {n}") for n in range(5)]
        ids = []
        for number in range(count):
            if number % 2:
                item = importing.import_url(session, importer, issuer.assertion(name=f"Hosted badge {number}", email=EMAIL))
            else:
                token = jwt_issuers[number % 5].jwt(name=f"Course {number}", email=EMAIL, skills=["Data analysis"])
                item = importing.import_paste(session, importer, token)
            session.commit()
            ids.append(item.credential.id)
            if number % 10 == 0:
                evidence.add_text(session, user.id, item.credential.id, title="What I did",
                                  text="Built a **dashboard** for the team.")
        portfolio = portfolios.create_portfolio(session, user.id, title="Everything I hold",
                                                headline="One hundred verified credentials")
        portfolios.set_items(session, user.id, portfolio.id, credentials=[(i, True) for i in ids], pathways=[])
        portfolios.publish(session, user.id, portfolio.id)
        session.commit()
        slug = portfolio.slug
    return slug


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, deadline: float = 30.0) -> None:
    start = time.monotonic()
    while time.monotonic() - start < deadline:
        try:
            if requests.get(url, timeout=5).status_code == 200:
                return
        except requests.RequestException:
            time.sleep(0.2)
    raise SystemExit(f"the server did not start within {deadline:.0f} s")


def load(url: str, total: int, concurrency: int) -> tuple[list[float], list[int], int, float]:
    """GET `url` `total` times from `concurrency` keep-alive clients; return latencies, statuses, size, seconds."""
    latencies: list[float] = []
    statuses: list[int] = []
    sizes: list[int] = []
    lock = threading.Lock()
    counter = iter(range(total))

    def client() -> None:
        with requests.Session() as http:
            while True:
                with lock:
                    if next(counter, None) is None:
                        return
                started = time.perf_counter()
                response = http.get(url, timeout=30)
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    statuses.append(response.status_code)
                    sizes.append(len(response.content))

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, statuses, max(sizes, default=0), time.perf_counter() - started


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--credentials", type=int, default=100)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=4)
    # One thread per worker: bleach's Cleaner (services/sanitize.py) is shared and not thread-safe.
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="wallet-bench-") as folder:
        server = DocumentServer()
        issuer = HostedIssuer(server, name="Loopback Polytechnic")
        database = f"sqlite:///{folder}/wallet.db"
        engine = make_engine(database)
        upgrade_database(engine)
        engine.dispose()
        config = {"DATABASE_URL": database, "SECRET_KEY": SECRET, "INSTANCE_PATH": folder,
                  "ALLOW_PRIVATE_NETWORK": True, "URL_REWRITE": issuer.rewrite}
        started = time.perf_counter()
        slug = build(config, args.credentials, issuer)
        print(f"built {args.credentials} credentials and the portfolio in {time.perf_counter() - started:.1f} s")

        port = free_port()
        env = dict(os.environ, WALLET_DATABASE_URL=database, WALLET_SECRET_KEY=SECRET, WALLET_INSTANCE_PATH=folder,
                   WALLET_ALLOW_PRIVATE_NETWORK="true", WALLET_URL_REWRITE=json.dumps(issuer.rewrite))
        gunicorn = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(args.workers), "--worker-class", "gthread",
             "--threads", str(args.threads), "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"],
            cwd=ROOT, env=env)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_until_up(f"{base}/healthz")
            url = f"{base}/p/{slug}"
            first = requests.get(url, timeout=30)
            assert first.status_code == 200, first.status_code
            assert f"{args.credentials} credentials from" in first.text, "the summary line is missing"
            assert first.text.count('<li class="portfolio-entry"') == args.credentials
            issuer_requests = len(server.requests)

            latencies, statuses, size, seconds = load(url, args.requests, args.concurrency)
            fetched_during_load = len(server.requests) - issuer_requests
            print(f"GET /p/<slug> ({args.credentials} credentials, {size / 1024:.0f} KB): {len(latencies)} requests, "
                  f"concurrency {args.concurrency}, gunicorn {args.workers} workers x {args.threads} threads")
            print(f"  {len(latencies) / seconds:.1f} requests/s; latency p50 {percentile(latencies, .5) * 1000:.0f} ms, "
                  f"p95 {percentile(latencies, .95) * 1000:.0f} ms, p99 {percentile(latencies, .99) * 1000:.0f} ms, "
                  f"mean {statistics.fmean(latencies) * 1000:.0f} ms")
            print(f"  requests to the issuer server while serving: {fetched_during_load}")

            started = time.perf_counter()
            presentation = requests.get(f"{url}/presentation.json", timeout=60)
            vp_seconds = time.perf_counter() - started
            held = len(presentation.json()["verifiableCredential"]) if presentation.ok else 0
            print(f"GET /p/<slug>/presentation.json: {presentation.status_code}, {held} credentials signed "
                  f"(OB 2.0 badges left out) in {vp_seconds * 1000:.0f} ms")

            assert all(status == 200 for status in statuses), sorted(set(statuses))
            assert fetched_during_load == 0, f"{fetched_during_load} issuer requests during page views"
        finally:
            gunicorn.terminate()
            gunicorn.wait(timeout=10)
            server.close()


if __name__ == "__main__":
    main()
