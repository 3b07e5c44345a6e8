"""One import has one deadline for all its fetches (docs/security.md A12, §2.6), not only one per fetch.

The issuer is a real HTTP server on 127.0.0.1 that answers each request slowly: every single
fetch stays well within its own limit, but together they pass the import's deadline.
"""
from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.support.credentials import ISSUER_HOST, HostedIssuer
from tests.support.servers import DocumentServer, Response
from wallet.models import Credential
from wallet.services import importing
from wallet.services.blobs import blob_store_from_config
from wallet.services.http import import_fetch_from_config
from wallet.services.importing import Upload

# Each answer takes this long; one fetch may take FETCH_TOTAL_TIMEOUT, one import DEADLINE.
SLOW_ANSWER = 0.6
FETCH_TOTAL_TIMEOUT = 2.0
DEADLINE = 1.5


def _slow(server: DocumentServer, paths: list[str] | None = None) -> None:
    """Make the routes at `paths` (every route by default) answer after SLOW_ANSWER seconds."""
    for path, route in list(server.routes.items()):
        if paths is not None and path not in paths:
            continue
        def answer(handler: Any, route: Any = route) -> Response:
            time.sleep(SLOW_ANSWER)
            return route(handler) if callable(route) else route
        server.routes[path] = answer


@pytest.fixture
def hosted(document_server: DocumentServer, app_config: dict[str, Any]) -> HostedIssuer:
    issuer = HostedIssuer(document_server)
    app_config.update(ALLOW_PRIVATE_NETWORK=True, URL_REWRITE=issuer.rewrite,
                      FETCH_TOTAL_TIMEOUT=FETCH_TOTAL_TIMEOUT, IMPORT_DEADLINE_SECONDS=DEADLINE)
    return issuer


def _count(session: Any) -> int:
    return session.scalar(select(func.count()).select_from(Credential))


def test_import_deadline_slow_issuer_past_the_whole_deadline_stores_nothing(
        hosted: HostedIssuer, client: Any, session: Any, make_user: Any, api_token: Any) -> None:
    # The assertion (twice: as given, then the issuer's hosted copy), badge class, issuer, image: five fetches.
    url = hosted.assertion(name="Slow Badge")
    _slow(hosted.server)
    token = api_token(make_user())
    started = time.monotonic()
    response = client.post("/api/v1/credentials", json={"url": url}, headers={"Authorization": f"Bearer {token}"})
    elapsed = time.monotonic() - started
    assert response.status_code == 502, response.get_json()
    assert response.get_json()["error"] == "ImportTimeout"
    assert "took too long" in response.get_json()["message"] and "try again" in response.get_json()["message"]
    assert _count(session) == 0
    # Stopped at the deadline: the later documents were never asked for (5 fetches would take 3 s).
    assert len(hosted.server.requests) < 5
    assert elapsed < DEADLINE + SLOW_ANSWER + 1.0


def test_import_deadline_slow_issuer_within_the_deadline_is_imported(
        hosted: HostedIssuer, make_app: Any, session: Any, make_user: Any, api_token: Any) -> None:
    client = make_app(IMPORT_DEADLINE_SECONDS=30).test_client()
    url = hosted.assertion(name="Slow Badge")
    _slow(hosted.server)
    token = api_token(make_user())
    response = client.post("/api/v1/credentials", json={"url": url}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201, response.get_json()
    assert _count(session) == 1
    assert len(hosted.server.requests) == 5  # 3 s in all, each fetch within its own 2 s


def test_import_deadline_each_file_of_a_batch_has_a_deadline_of_its_own(
        hosted: HostedIssuer, app: Any, session: Any, make_user: Any) -> None:
    learner = make_user(email="learner@example.org")
    uploads = []
    for name in ("First", "Second"):
        url = hosted.assertion(name=name)
        uploads.append(Upload(f"{name}.json", hosted.server.routes[url.removeprefix(ISSUER_HOST)].body))
    # Each file needs two slow answers (1.2 s, within its 1.5 s); the batch needs 2.4 s in all.
    slow = [path for path in hosted.server.routes if path.startswith("/badges/") and path.endswith(".json")]
    _slow(hosted.server, [*slow, "/issuer.json"])
    importer = importing.Importer(fetch=import_fetch_from_config(app.config),
                                  blobs=blob_store_from_config(app.config, app.instance_path),
                                  owner_id=learner.id, recipients=learner.verified_addresses)
    items = list(importing.import_files(session, importer, uploads))
    session.commit()
    assert [item.state for item in items] == [importing.IMPORTED, importing.IMPORTED], [i.message for i in items]
    assert _count(session) == 2
