"""The public portfolio page served fast and never stale: cached entries keyed by what they show,
ETag and 304, times said relative in the browser, and views written in batches (wallet/public_pages.py)."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import requests
from sqlalchemy import event, select

from tests.conftest import redis_prefix
from tests.support.credentials import JwtIssuer
from tests.support.portfolios import add_credential, published_portfolio
from wallet.db import utcnow
from wallet.models import Credential, Portfolio, VerificationRecord
from wallet.services import evidence as evidence_service
from wallet.wiring import collaborators


@pytest.fixture
def learner(make_user, login):
    user = make_user(email="learner@example.org", display_name="Ada Lovelace")
    login(user)
    return user


@pytest.fixture
def portfolio(client, session, learner) -> tuple[int, str, list[int]]:
    """Return (portfolio id, slug, credential ids) of a published portfolio of two credentials, logged out."""
    issuer = JwtIssuer(name="Riverside College")
    ids = [add_credential(client, issuer.jwt(name=name, email="learner@example.org"))
           for name in ("Data Analysis", "Statistics II")]
    portfolio_id, slug = published_portfolio(client, session, ids)
    client.post("/logout")
    return portfolio_id, slug, ids


def _page(client, slug: str) -> str:
    response = client.get(f"/p/{slug}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _warm(client, slug: str) -> str:
    """View the page twice: the first view shows the log-out message, the second is kept whole."""
    _page(client, slug)
    return _page(client, slug)


class Statements:
    """The SQL statements the app's engine runs while the test watches."""

    def __init__(self, app) -> None:
        self.seen: list[str] = []
        self._engine = app.extensions["wallet.engine"]
        event.listen(self._engine, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.seen.append(statement)

    def close(self) -> None:
        event.remove(self._engine, "before_cursor_execute", self._record)


@pytest.fixture
def statements(app):
    watcher = Statements(app)
    yield watcher
    watcher.close()


def test_portfolio_page_fresh_check_shows_at_once(client, session, portfolio) -> None:
    _, slug, ids = portfolio
    assert 'data-status="revoked"' not in _warm(client, slug)
    credential = session.get(Credential, ids[0])
    now = utcnow()
    credential.status, credential.checked_at = "revoked", now  # as a re-check in another process writes it
    session.add(VerificationRecord(credential_id=credential.id, checked_at=now, status="revoked", trigger="scheduled",
                                   report={"checks": [{"id": "status", "status": "failed",
                                                       "message": "The issuer revoked this credential"}]}))
    session.commit()
    page = _page(client, slug)
    assert f'id="credential-{ids[0]}" data-status="revoked"' in page
    assert "The issuer revoked this credential" in page
    assert f'id="credential-{ids[1]}" data-status="valid"' in page


def test_portfolio_page_evidence_and_learner_words_show_at_once(client, session, learner, portfolio) -> None:
    _, slug, ids = portfolio
    _warm(client, slug)
    item = evidence_service.add_text(session, learner.id, ids[0], title="Dashboard", text="Built for the team.")
    session.commit()
    assert "Built for the team." in _page(client, slug)
    evidence_service.remove_evidence(session, learner.id, ids[0], item.id)
    session.get(Credential, ids[1]).learner_description = "I led the study group."
    session.commit()
    page = _page(client, slug)
    assert "Built for the team." not in page and "I led the study group." in page


def test_portfolio_page_learner_name_and_settings_show_at_once(client, session, learner, portfolio) -> None:
    portfolio_id, slug, _ = portfolio
    _warm(client, slug)
    learner.display_name = "Ada King"
    session.get(Portfolio, portfolio_id).show_originals = False
    session.commit()
    page = _page(client, slug)
    assert "Ada Lovelace" not in page and "Ada King" in page
    assert "Download the original" not in page and "The original is not published here" in page
    session.get(Portfolio, portfolio_id).headline = "Careful with numbers"
    session.commit()
    assert "Careful with numbers" in _page(client, slug)


def test_portfolio_page_withdrawn_link_is_404_though_its_entries_are_cached(client, session, portfolio) -> None:
    portfolio_id, slug, _ = portfolio
    _warm(client, slug)
    session.get(Portfolio, portfolio_id).link_revoked_at = utcnow()
    session.commit()
    assert client.get(f"/p/{slug}").status_code == 404


def test_portfolio_page_second_view_reads_no_document_and_no_report(client, portfolio, statements) -> None:
    _, slug, _ = portfolio
    _warm(client, slug)
    statements.seen.clear()
    _page(client, slug)
    selects = [s for s in statements.seen if s.lstrip().upper().startswith("SELECT")]
    read = " ".join(selects)
    # The light reads only: the link, the owner, the entries' facts, their evidence, the chosen pathways.
    assert len(selects) <= 5, selects
    assert "report" not in read and "credentials.document" not in read and "credentials.details" not in read


def test_portfolio_page_every_entry_carries_the_viewers_own_token(live_server, portfolio) -> None:
    _, slug, ids = portfolio
    tokens = []
    for _ in range(2):
        with requests.Session() as viewer:
            for _ in range(2):  # the second view is served from the cache
                page = viewer.get(f"{live_server.url}/p/{slug}", timeout=10).text
                assert "<wallet-csrf-token>" not in page
                found = set(re.findall(r'name="csrf_token" value="([^"]+)"', page))
                assert len(found) == 1
            token = found.pop()
            # The token of a cached entry is this viewer's: "verify now" is accepted (a recent check is reused).
            answer = viewer.post(f"{live_server.url}/p/{slug}/credentials/{ids[0]}/verify",
                                 data={"csrf_token": token, "back": "portfolio"}, allow_redirects=False, timeout=10)
            assert answer.status_code == 302
            tokens.append(token)
    assert tokens[0] != tokens[1]


def test_portfolio_page_times_are_written_out_for_the_browser_to_say(client, session, portfolio) -> None:
    _, slug, ids = portfolio
    checked = session.get(Credential, ids[0]).checked_at
    page = _page(client, slug)
    # Without JavaScript the time of the check shows in full; wallet.js says "3 min ago".
    assert f'data-ago>{checked.strftime("%d %b %Y %H:%M UTC")}</time>' in page
    assert f'data-ago-of="{checked.isoformat()}"' in page


def test_portfolio_page_matching_etag_is_304_and_a_change_is_200(client, session, portfolio) -> None:
    _, slug, ids = portfolio
    first = client.get(f"/p/{slug}")
    second = client.get(f"/p/{slug}")  # the session now holds its CSRF token: the tag is stable from here
    etag = second.headers["ETag"]
    assert second.headers["Last-Modified"] and second.headers["Cache-Control"] == "private, no-cache"
    assert first.status_code == second.status_code == 200
    again = client.get(f"/p/{slug}", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    session.get(Credential, ids[0]).status = "revoked"
    session.commit()
    changed = client.get(f"/p/{slug}", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_portfolio_page_if_modified_since_alone_never_gets_304(client, session, learner, portfolio) -> None:
    _, slug, ids = portfolio
    _page(client, slug)
    _page(client, slug)
    later = (utcnow() + timedelta(days=1)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert client.get(f"/p/{slug}", headers={"If-Modified-Since": later}).status_code == 200


@pytest.fixture(params=["memory", "redis"])
def batched_views(request, app_config):
    """Count views with a flush period of an hour, in memory or in a real Redis."""
    app_config["VIEW_COUNT_FLUSH_SECONDS"] = 3600
    if request.param == "redis":
        app_config.update(REDIS_URL=request.getfixturevalue("redis_url"), REDIS_KEY_PREFIX=redis_prefix())
    else:
        app_config.pop("REDIS_URL", None)
    return request.param


def test_portfolio_page_views_are_written_in_batches_not_per_view(batched_views, app, client, session, portfolio,
                                                                  statements) -> None:
    portfolio_id, slug, _ = portfolio
    statements.seen.clear()
    for _ in range(3):
        _page(client, slug)
    assert not [s for s in statements.seen if s.lstrip().upper().split()[0] not in ("SELECT", "BEGIN")]
    session.expire_all()
    assert session.get(Portfolio, portfolio_id).view_count == 0
    collaborators(app).views.flush_seconds = 0  # the period has passed: the next view writes them all
    _page(client, slug)
    session.expire_all()
    assert session.scalar(select(Portfolio.view_count).where(Portfolio.id == portfolio_id)) == 4
