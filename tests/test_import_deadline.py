"""One import has one deadline for all its fetches (security.md A12, §2.6), not only one per fetch.

The issuer is a real HTTP server on 127.0.0.1 that answers each request slowly: every single
fetch stays well within its own limit, but together they pass the import's deadline.
"""
from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.support.credentials import HostedIssuer
from tests.support.servers import DocumentServer, Response
from wallet.models import Credential

# Each answer takes this long; one fetch may take FETCH_TOTAL_TIMEOUT, one import DEADLINE.
SLOW_ANSWER = 0.6
FETCH_TOTAL_TIMEOUT = 2.0
DEADLINE = 1.5


def _slow(server: DocumentServer) -> None:
    """Make every route of `server` answer after SLOW_ANSWER seconds."""
    for path, route in list(server.routes.items()):
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
