"""Providers: Wallet pulling a provider's credentials through the OB 3.0 API, and serving its own.

Run: .venv/bin/python bench/provider_api.py [--credentials 200] [--database-url URL]

One fresh instance (SQLite file, or a PostgreSQL server), the embedded job queue, and the test provider
of tests/support/provider (a real OB 3.0 Host on 127.0.0.1) holding N credentials for the learner, half
signed with eddsa-rdfc-2022 by a did:key, half VC-JWTs by a did:jwk. Measured in one run:
- pull: the learner connects the provider (discovery, registration, consent, PKCE, token) and the first
  sync job pulls every page and imports each credential; baseline: the same N credentials as files
  in one ZIP, imported as a bulk import job for a second learner (the same importer, no API). Ratio
  pull / ZIP: what reading a provider's API costs over reading the same credentials from a file.
- again: a second sync, every credential already held.
- serve: Wallet as Host, GET /ims/ob/v3p0/credentials?limit=100 (100 whole credentials as received)
  with an OAuth token, against GET /api/v1/credentials (the learner's N summaries, the app's own JSON
  API list) with a personal token; median of 30 each, and the ratio.
"""
from __future__ import annotations

import argparse
import io
import json
import logging
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from bench.bulk_import import database  # noqa: E402
from tests.support.accounts import create_api_token, create_user, log_in  # noqa: E402
from tests.support.jobs import drain_jobs  # noqa: E402
from tests.support.oauth import grant_access  # noqa: E402
from tests.support.provider import TestProvider  # noqa: E402
from wallet import create_app  # noqa: E402
from wallet.db import get_engine, get_session  # noqa: E402
from wallet.models import Credential, ProviderConnection  # noqa: E402
from wallet.schema import upgrade_database  # noqa: E402
from wallet.services.oauth.scopes import OB3_CREDENTIAL_READONLY  # noqa: E402

LEARNER = "learner@example.org"
ROUNDS = 30


def held(session, owner_id: int) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(Credential).where(Credential.owner_id == owner_id))


def median_ms(call) -> float:
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--credentials", type=int, default=200)
    parser.add_argument("--database-url", default=None, help="a PostgreSQL server URL (default: a SQLite file)")
    args = parser.parse_args()
    count = args.credentials
    folder = Path(tempfile.mkdtemp(prefix="wallet-bench-provider-"))
    settings = {
        "DATABASE_URL": database(folder, args.database_url), "INSTANCE_PATH": str(folder / "instance"),
        "SECRET_KEY": "bench-secret", "WTF_CSRF_ENABLED": False, "RECHECK_SCHEDULE": False,
        "ALLOW_PRIVATE_NETWORK": True,  # the provider listens on 127.0.0.1
        "IMPORT_RATE_LIMIT": 10 * count, "MAX_ZIP_FILES": count,
    }
    provider = TestProvider(learner=LEARNER, page_size=50)
    try:
        documents = [provider.issue_ob3(name=f"Unit {n}", proof="ld" if n % 2 else "jwt") for n in range(count)]
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
            for n, document in enumerate(documents):
                if isinstance(document, str):
                    z.writestr(f"unit-{n:04d}.jwt", document)
                else:
                    z.writestr(f"unit-{n:04d}.json", json.dumps(document))
        app = create_app(settings)
        logging.disable(logging.INFO)  # each fetch and request is logged at INFO: not what is measured
        upgrade_database(get_engine(app))
        print(f"{count} OB 3.0 credentials ({'PostgreSQL' if args.database_url else 'SQLite'}, embedded queue)")
        with app.app_context():
            session = get_session()
            puller, filer = create_user(session, email=LEARNER), create_user(session, email="filer@example.org")
            session.commit()
            pulling, filing = app.test_client(), app.test_client()
            log_in(pulling, puller)
            log_in(filing, filer)

            # Baseline: the same credentials from one ZIP, as a bulk import job.
            started = time.perf_counter()
            response = filing.post("/credentials/add/files", content_type="multipart/form-data",
                                   data={"files": [(io.BytesIO(archive.getvalue()), "all.zip")]})
            assert response.status_code == 303, response.status_code
            drain_jobs(app)
            zip_time = time.perf_counter() - started
            assert held(session, filer.id) == count

            # Pull: connect (the provider consents at once, as a logged-in learner's browser would) and sync.
            started = time.perf_counter()
            response = pulling.post("/settings/providers/connect", data={"url": provider.base_url})
            assert response.status_code == 303, response.get_data(as_text=True)[:500]
            answer = requests.get(response.headers["Location"], allow_redirects=False, timeout=30)
            back = urlsplit(answer.headers["Location"])
            response = pulling.get(f"{back.path}?{back.query}")
            assert response.status_code == 303, response.status_code
            drain_jobs(app)
            pull_time = time.perf_counter() - started
            assert held(session, puller.id) == count

            session.rollback()
            connection_id = session.scalars(select(ProviderConnection.id)
                                            .where(ProviderConnection.owner_id == puller.id)).one()
            started = time.perf_counter()
            assert pulling.post(f"/settings/providers/{connection_id}/sync").status_code == 303
            drain_jobs(app)
            again_time = time.perf_counter() - started
            assert held(session, puller.id) == count

            # Serve: Wallet as Host against the app's own JSON API list.
            oauth_token = grant_access(session, puller, [OB3_CREDENTIAL_READONLY])
            personal = create_api_token(session, puller)
            session.commit()
            host = app.test_client()

            def host_page() -> None:
                page = host.get("/ims/ob/v3p0/credentials?limit=100",
                                headers={"Authorization": f"Bearer {oauth_token}"})
                assert page.status_code == 200 and page.headers["X-Total-Count"] == str(count)

            def api_list() -> None:
                page = host.get("/api/v1/credentials", headers={"Authorization": f"Bearer {personal}"})
                assert page.status_code == 200 and page.get_json()["count"] == count

            host_ms, api_ms = median_ms(host_page), median_ms(api_list)
            get_session().close()
        get_engine(app).dispose()
    finally:
        provider.close()

    print(f"baseline, one ZIP as a bulk import job: {zip_time:6.2f} s  ({count / zip_time:6.1f} credentials/s)")
    print(f"pull, connect + first sync over the API: {pull_time:6.2f} s  ({count / pull_time:6.1f} credentials/s)")
    print(f"ratio (pull / ZIP): {pull_time / zip_time:.2f}x")
    print(f"second sync, all {count} already held: {again_time:6.2f} s")
    print(f"serve, GET /ims/ob/v3p0/credentials?limit=100: {host_ms:6.1f} ms (median of {ROUNDS})")
    print(f"baseline, GET /api/v1/credentials ({count} summaries): {api_ms:6.1f} ms (median of {ROUNDS})")
    print(f"ratio (Host page / API list): {host_ms / api_ms:.2f}x")


if __name__ == "__main__":
    main()
