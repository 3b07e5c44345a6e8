"""Two app processes on one database and one Redis behave as one (docs/architecture.md, scale-out).

Two gunicorn processes on different ports share the test's database (PostgreSQL when
WALLET_TEST_DATABASE_URL is set, else one SQLite file), its Redis server and SECRET_KEY. Requests
alternate between them: log-in lockout, sessions, withdrawn links and per-client limits agree, and
work queued through either is done once by `wallet worker` processes.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from tests.conftest import redis_prefix
from tests.support.accounts import DEFAULT_PASSWORD
from tests.support.appservers import AppServer, wallet_command
from tests.support.credentials import JwtIssuer
from tests.support.portfolios import add_credential, published_portfolio
from wallet.models import Job, VerificationRecord


@pytest.fixture
def shared_config(app_config: dict[str, Any], redis_url: str) -> dict[str, Any]:
    """The test app's config with Redis on: the test's app and both servers use the same."""
    app_config.update(REDIS_URL=redis_url, REDIS_KEY_PREFIX=redis_prefix(), PUBLIC_LINK_MISSES_PER_CLIENT=3)
    return app_config


@pytest.fixture
def servers(shared_config: dict[str, Any], app, tmp_path) -> Iterator[tuple[AppServer, AppServer]]:
    """Start two app servers (after `app` has made the database) and return them."""
    config = {key: value for key, value in shared_config.items() if key != "TESTING"}
    config.update(WTF_CSRF_ENABLED=False, VIEW_COUNT_FLUSH_SECONDS=60, VERIFY_NOW_REUSE_SECONDS=0)
    started: list[AppServer] = []
    try:
        for number in range(2):
            started.append(AppServer(config, tmp_path / f"server-{number}.log"))
        yield started[0], started[1]
    finally:
        for server in started:
            server.stop()


def _log_in(http: requests.Session, server: AppServer, email: str, password: str) -> requests.Response:
    return http.post(f"{server.url}/login", data={"email": email, "password": password}, allow_redirects=False,
                     timeout=30)


def test_two_servers_failed_logins_spread_over_both_lock_the_account_on_both(servers, make_user) -> None:
    one, two = servers
    make_user(email="ada@example.org")
    with requests.Session() as http:
        statuses = [_log_in(http, (one, two)[n % 2], "ada@example.org", f"wrong {n}").status_code for n in range(5)]
        assert statuses == [400, 400, 400, 400, 429]  # the fifth failure, on the first server, locks
        for server in servers:
            answer = _log_in(http, server, "ada@example.org", DEFAULT_PASSWORD)
            assert answer.status_code == 429 and "locked" in answer.text


def test_two_servers_a_log_in_through_one_is_valid_on_the_other(servers, make_user) -> None:
    one, two = servers
    make_user(email="ada@example.org", display_name="Ada Lovelace")
    with requests.Session() as http:
        assert _log_in(http, one, "ada@example.org", DEFAULT_PASSWORD).status_code == 302
        # The browser sends the same cookie to both (cookies are not kept per port).
        page = http.get(f"{two.url}/credentials/", allow_redirects=False, timeout=30)
        assert page.status_code == 200 and 'action="/logout"' in page.text
        assert http.post(f"{two.url}/logout", allow_redirects=False, timeout=30).status_code == 302
        # Logged out through the second: the session is gone on the first too.
        assert http.get(f"{one.url}/credentials/", allow_redirects=False, timeout=30).status_code == 302


def test_two_servers_a_link_withdrawn_through_one_is_404_on_the_other_at_once(servers, client, session, make_user,
                                                                             login) -> None:
    one, two = servers
    login(make_user(email="learner@example.org"))
    credential = add_credential(client, JwtIssuer(name="Riverside College").jwt(name="Data Analysis",
                                                                              email="learner@example.org"))
    portfolio_id, slug = published_portfolio(client, session, [credential])
    with requests.Session() as viewer, requests.Session() as learner:
        for server in servers:  # both have the page's entries cached now
            assert viewer.get(f"{server.url}/p/{slug}", timeout=30).status_code == 200
        assert _log_in(learner, one, "learner@example.org", DEFAULT_PASSWORD).status_code == 302
        assert learner.post(f"{one.url}/portfolios/{portfolio_id}/revoke", allow_redirects=False,
                            timeout=30).status_code == 302
        assert viewer.get(f"{two.url}/p/{slug}", timeout=30).status_code == 404
        assert viewer.get(f"{one.url}/p/{slug}", timeout=30).status_code == 404


def test_two_servers_link_miss_limit_is_counted_across_both(servers) -> None:
    one, two = servers
    with requests.Session() as http:
        missing = [f"{server.url}/p/{'x' * 43}" for server in (one, two, one)]
        assert [http.get(url, timeout=30).status_code for url in missing] == [404, 404, 404]
        # Three misses in all, at most two on either server: both refuse the next try.
        for server in servers:
            answer = http.get(f"{server.url}/p/{'y' * 43}", timeout=30)
            assert answer.status_code == 429 and re.search("Too many links", answer.text)


def _records(session, credential_id: int, trigger: str) -> int:
    return session.scalar(select(func.count()).select_from(VerificationRecord).where(
        VerificationRecord.credential_id == credential_id, VerificationRecord.trigger == trigger))


def test_two_servers_work_queued_through_both_is_done_once_by_two_workers(servers, shared_config, client, session,
                                                                          make_user, login) -> None:
    one, two = servers
    login(make_user(email="learner@example.org"))
    issuer = JwtIssuer(name="Riverside College")
    credentials = [add_credential(client, issuer.jwt(name=name, email="learner@example.org"))
                   for name in ("Data Analysis", "Welding Safety")]
    _, slug = published_portfolio(client, session, credentials)
    config = {key: value for key, value in shared_config.items() if key != "TESTING"}
    config.update(RECHECK_SCHEDULE=False)
    with requests.Session() as viewer:
        # "Verify now" on the same credential through both servers: one check is queued, not two.
        for server in servers:
            answer = viewer.post(f"{server.url}/p/{slug}/credentials/{credentials[0]}/verify", allow_redirects=False,
                                 timeout=30)
            assert answer.status_code == 302
    # A sweep of every credential queued from a third process, as an operator would.
    enqueue = wallet_command(config, "reverify", "--enqueue", "--stale-after", "0")
    output = enqueue.communicate(timeout=120)[0].decode()
    assert enqueue.returncode == 0 and "Queued 2 credential(s) in 1 sweep(s) for `wallet worker`." in output, output
    # Two workers empty the queue at the same time: each job is done by one of them, once.
    workers = [wallet_command(config, "worker", "--burst") for _ in range(2)]
    for worker in workers:
        log = worker.communicate(timeout=300)[0].decode()
        assert worker.returncode == 0, log
    session.rollback()
    assert session.scalars(select(Job.state).order_by(Job.kind)).all() == ["done", "done"]  # recheck, sweep
    assert _records(session, credentials[0], "viewer") == 1
    assert [_records(session, credential, "scheduled") for credential in credentials] == [1, 1]
