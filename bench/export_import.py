"""Export and import time and peak memory for a wallet of many credentials with evidence.

Run: .venv/bin/python bench/export_import.py [--credentials 1000] [--evidence-kb 20] [--database-url URL]

Builds a learner's wallet in a fresh instance through the real services: N distinct, signed OB 3.0
VC-JWTs (did:jwk, verified offline), each with a text note, the learner's description and tags,
and an evidence file (distinct bytes, --evidence-kb each; every tenth a 10x larger file); one
pathway and one portfolio. Then measures, in one process:
- export: `write_export_file` (the background job's work) into the instance folder;
- import: `import_export` of that file into an empty account of a second instance (every
  credential verified again, one commit per credential).
Peak memory is the process's peak resident set (VmHWM, reset before each step through
/proc/self/clear_refs on Linux) minus the resident set when the step began, and tracemalloc's peak
of Python allocations for the export (in a second, traced run, so the timing is not slowed).
With --database-url (PostgreSQL), the two instances use that server's database and a second one
made beside it.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from jwcrypto.jwk import JWK  # noqa: E402
from sqlalchemy import create_engine, make_url, text  # noqa: E402

from tests.support.credentials import JwtIssuer  # noqa: E402
from wallet import create_app  # noqa: E402
from wallet.db import get_engine, get_session  # noqa: E402
from wallet.schema import upgrade_database  # noqa: E402
from wallet.services import accounts, credentials, evidence, importing, pathways, portability, portfolios  # noqa: E402
from wallet.wiring import collaborators  # noqa: E402

PDF_HEAD = b"%PDF-1.4\n"


def rss_kb(field: str = "VmRSS") -> int:
    match = re.search(rf"{field}:\s+(\d+)", Path("/proc/self/status").read_text())
    return int(match.group(1)) if match else 0


def reset_peak() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def make_instance(folder: Path, database_url: str | None, name: str):
    if database_url:
        url = make_url(database_url)
        admin = create_engine(url.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "bench_{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "bench_{name}"'))
        admin.dispose()
        db_url = url.set(database=f"bench_{name}").render_as_string(hide_password=False)
    else:
        db_url = f"sqlite:///{folder / name}.db"
    app = create_app({"DATABASE_URL": db_url, "INSTANCE_PATH": str(folder / name), "SECRET_KEY": "bench",
                      "MAX_CREDENTIALS_PER_USER": 100_000, "MAX_EVIDENCE_BYTES_PER_USER": 10 * 1024**3})
    upgrade_database(get_engine(app))
    return app


def importer(app, user) -> importing.Importer:
    return importing.Importer(fetch=collaborators(app).fetcher,
                              blobs=collaborators(app).blobs,
                              owner_id=user.id, recipients=user.verified_addresses,
                              max_credentials=app.config["MAX_CREDENTIALS_PER_USER"])


def evidence_bytes(number: int, size: int) -> bytes:
    # Distinct text that compresses about as well as real notes (hex: half), accepted as text/plain.
    return f"Evidence {number}\n{os.urandom(size // 2).hex()}\n".encode()


def build_wallet(app, count: int, evidence_kb: int) -> int:
    with app.app_context():
        session = get_session()
        user = accounts.register(session, display_name="Bench Learner", email="bench@example.org",
                                 password="a long bench passphrase", verified=True)
        session.commit()
        issuer = JwtIssuer(name="Bench Academy", key=JWK.generate(kty="OKP", crv="Ed25519"))
        made = importer(app, user)
        ids = []
        for number in range(count):
            item = importing.import_paste(session, made, issuer.jwt(name=f"Course {number}", email="bench@example.org",
                                                                    tags=["bench"], skills=["Testing"]))
            cid = item.credential.id
            ids.append(cid)
            credentials.update_learner_text(session, user.id, cid, description=f"What course {number} taught me.",
                                            reflection="Hard, then easy.", tags=["mine", f"n{number % 10}"])
            evidence.add_text(session, user.id, cid, title="Notes", text=f"Notes for course {number}.")
            size = evidence_kb * 1024 * (10 if number % 10 == 0 else 1)
            evidence.add_file(session, user.id, cid, filename=f"work-{number}.txt", data=evidence_bytes(number, size),
                              blobs=made.blobs, max_bytes=20 * 1024 * 1024)
            if number % 50 == 49:
                session.commit()
        pathway = pathways.import_template(session, user.id, '{"format": "wallet-pathway", "version": 1, '
                                           '"title": "Bench track", "steps": [{"title": "Any bench badge", '
                                           '"rule": {"kind": "tag", "tag": "bench"}}]}')
        portfolio = portfolios.create_portfolio(session, user.id, title="Everything")
        portfolios.set_items(session, user.id, portfolio.id, credentials=[(i, True) for i in ids[:150]],
                             pathways=[pathway.id])
        session.commit()
        return user.id


def measure(step):
    reset_peak()
    start_rss = rss_kb()
    started = time.perf_counter()
    result = step()
    elapsed = time.perf_counter() - started
    return result, elapsed, (rss_kb("VmHWM") - start_rss) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--credentials", type=int, default=1000)
    parser.add_argument("--evidence-kb", type=int, default=20)
    parser.add_argument("--database-url", default=None, help="a PostgreSQL server URL (default: SQLite files)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="wallet-bench-"))
    source = make_instance(folder, args.database_url, "source")
    target = make_instance(folder, args.database_url, "target")

    started = time.perf_counter()
    owner = build_wallet(source, args.credentials, args.evidence_kb)
    print(f"built a wallet of {args.credentials} credentials with evidence in {time.perf_counter() - started:.1f} s "
          f"({'PostgreSQL' if args.database_url else 'SQLite'})")

    blobs = collaborators(source).blobs
    factory = source.extensions["wallet.sessionmaker"]
    exports = Path(source.instance_path) / "exports"
    exports.mkdir(parents=True, exist_ok=True)
    zip_path = exports / "bench.zip"
    _, seconds, peak = measure(lambda: portability.write_export_file(factory, owner, blobs, zip_path))
    size = zip_path.stat().st_size
    print(f"export: {seconds:.2f} s, {size / 1024**2:.1f} MB ZIP, peak RSS +{peak:.1f} MB")
    tracemalloc.start()
    portability.write_export_file(factory, owner, blobs, exports / "traced.zip")
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"export: tracemalloc peak {traced_peak / 1024**2:.1f} MB of Python allocations")

    with target.app_context():
        session = get_session()
        user = accounts.register(session, display_name="Newcomer", email="bench@example.org",
                                 password="a long bench passphrase", verified=True)
        session.commit()
        limits = portability.Limits(max_credentials=100_000, max_evidence_bytes=10 * 1024**3,
                                    max_file_bytes=20 * 1024 * 1024)

        def run_import():
            with open(zip_path, "rb") as handle:
                return portability.import_export(session, importer(target, user), handle, limits=limits,
                                                 checkpoint=session.commit)

        report, seconds, peak = measure(run_import)
    print(f"import: {seconds:.2f} s ({args.credentials / seconds:.0f} credentials/s), peak RSS +{peak:.1f} MB; "
          f"restored {report.restored}, refused {len(report.refused)}")
    for app in (source, target):
        get_engine(app).dispose()
    if not os.environ.get("BENCH_KEEP"):
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
