"""Load test of a public portfolio page with 100 credentials, side by side with a lean baseline.

Run: .venv/bin/python bench/portfolio_page.py [--credentials 100] [--seconds 15] [--rounds 2] [--connections 16]
                                             [--workers 2] [--threads 1] [--redis-url redis://...]

1. Builds a fresh database: one learner, half the credentials OB 3.0 VC-JWTs (did:jwk issuers),
   half OB 2.0 hosted badges imported from an issuer served over loopback HTTP, all in one
   published portfolio (with evidence shown).
2. Serves the app with gunicorn (gthread workers) and, with the same gunicorn settings, the lean
   baseline of bench/lean_portfolio.py: raw SQL and one Jinja template showing the same
   information from the same database. Both are loaded by `wrk` (Debian's `wrk`) with
   `--connections` keep-alive connections for `--seconds`, in `--rounds` alternating rounds.
3. Prints requests/s and latency p50/p99 of each round, the ratio of the best rounds, the time of one signed
   presentation download; and fails unless every answer was 200 and the issuer server received
   no request at all while the pages were served (public pages show stored results only).
"""
from __future__ import annotations

import argparse
import re
import shutil
import json
import logging
import os
import socket
import subprocess
import sys
import tempfile
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


def wrk(url: str, seconds: int, connections: int) -> dict[str, float]:
    """Load `url` with wrk; return requests/s, p50 and p99 in ms, and the count of non-2xx answers."""
    output = subprocess.run(["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--latency", url],
                            capture_output=True, text=True, check=True).stdout

    def millis(label: str) -> float:
        value, unit = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)), "p50": millis("50"),
            "p99": millis("99"), "non_2xx": int(errors.group(1)) if errors else 0,
            "requests": int(re.search(r"(\d+) requests in", output).group(1))}


def serve(target: str, port: int, args: argparse.Namespace, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start gunicorn serving `target` with the benchmark's settings."""
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", str(args.workers), "--worker-class", "gthread",
         "--threads", str(args.threads), "--bind", f"127.0.0.1:{port}", "--log-level", "warning", target],
        cwd=ROOT, env=env)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--credentials", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    # One thread per worker: bleach's Cleaner (services/sanitize.py) is shared and not thread-safe.
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--redis-url", default=None, help="serve the app with WALLET_REDIS_URL set to this")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("this benchmark needs wrk: apt-get install wrk")

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

        env = dict(os.environ, WALLET_DATABASE_URL=database, WALLET_SECRET_KEY=SECRET, WALLET_INSTANCE_PATH=folder,
                   WALLET_ALLOW_PRIVATE_NETWORK="true", WALLET_URL_REWRITE=json.dumps(issuer.rewrite),
                   LEAN_DATABASE=f"{folder}/wallet.db")
        if args.redis_url:
            env.update(WALLET_REDIS_URL=args.redis_url, WALLET_REDIS_KEY_PREFIX=f"wallet-bench-{os.getpid()}")
        rounds: dict[str, list[dict[str, float]]] = {"lean baseline": [], "wallet": []}
        sizes: dict[str, int] = {}
        urls: dict[str, str] = {}
        processes = []
        try:
            for name, target in (("lean baseline", "bench.lean_portfolio:app"), ("wallet", "wsgi:app")):
                port = free_port()
                processes.append(serve(target, port, args, env))
                base = f"http://127.0.0.1:{port}"
                wait_until_up(f"{base}/healthz")
                urls[name] = url = f"{base}/p/{slug}"
                first = requests.get(url, timeout=30)
                assert first.status_code == 200, (name, first.status_code)
                assert first.text.count('<li class="portfolio-entry"') == args.credentials, name
                sizes[name] = len(first.content)
            page = requests.get(urls["wallet"], timeout=30).text
            assert f"{args.credentials} credentials from" in page, "the summary line is missing"
            started = time.perf_counter()
            presentation = requests.get(f"{urls['wallet']}/presentation.json", timeout=60)
            vp_seconds = time.perf_counter() - started
            held = len(presentation.json()["verifiableCredential"]) if presentation.ok else 0
            # Rounds alternate between the two, so that a busy moment of the machine falls on both.
            issuer_requests = len(server.requests)
            for _ in range(args.rounds):
                for name, url in urls.items():
                    result = wrk(url, args.seconds, args.connections)
                    assert result["non_2xx"] == 0, f"{name}: {result['non_2xx']} answers were not 200"
                    rounds[name].append(result)
            assert len(server.requests) == issuer_requests, "the issuer was asked during page views"
        finally:
            for process in processes:
                stop(process)
            server.close()

    print(f"GET /p/<slug>, {args.credentials} credentials with evidence; gunicorn {args.workers} workers x "
          f"{args.threads} threads; wrk {args.connections} connections, {args.rounds} rounds of {args.seconds} s each")
    best: dict[str, dict[str, float]] = {}
    for name, results in rounds.items():
        for number, result in enumerate(results, 1):
            print(f"  {name:14} round {number}: {result['rps']:7.1f} requests/s  p50 {result['p50']:7.1f} ms  "
                  f"p99 {result['p99']:7.1f} ms  ({result['requests']} requests, page {sizes[name] / 1024:.0f} KB)")
        best[name] = max(results, key=lambda r: r["rps"])
    lean, wallet = best["lean baseline"], best["wallet"]
    print(f"  best rounds: lean {lean['rps']:.1f} requests/s p99 {lean['p99']:.0f} ms; "
          f"wallet {wallet['rps']:.1f} requests/s p99 {wallet['p99']:.0f} ms")
    print(f"  ratio wallet / lean: {wallet['rps'] / lean['rps']:.2f}x requests/s, "
          f"p99 {wallet['p99'] / lean['p99']:.2f}x")
    print(f"GET /p/<slug>/presentation.json: {presentation.status_code}, {held} credentials signed "
          f"(OB 2.0 badges left out) in {vp_seconds * 1000:.0f} ms")


if __name__ == "__main__":
    main()
