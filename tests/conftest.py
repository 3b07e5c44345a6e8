"""Shared fixtures: a real database per test, the app, a client, and live servers.

The database is SQLite by default (a migrated template copied per test). Set
WALLET_TEST_DATABASE_URL to a PostgreSQL server URL to run the suite there instead: each
test worker gets its own database, migrated once, and every table is emptied after each test.
Set WALLET_TEST_REDIS_URL to a Redis server URL to run every test's app on Redis (jobs on RQ, shared
limits), each test under its own key prefix; tests that need Redis whatever the run start their own
`redis-server` through the `redis_url` fixture.
"""
from __future__ import annotations

import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from wallet import create_app
from wallet.db import Base, get_engine, get_session, make_engine, utcnow
from wallet.schema import upgrade_database
from wallet.services import ratelimit
from wallet.services.verification.caches import REGISTRY as CACHES
from tests.support.redis import RedisServer
from tests.support.servers import DocumentServer

PG_URL = os.environ.get("WALLET_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("WALLET_TEST_REDIS_URL")

# Property tests check what is computed, never how fast: a loaded CI machine must not fail them.
hypothesis_settings.register_profile("wallet", deadline=None)
hypothesis_settings.load_profile("wallet")


def _worker_id(request: pytest.FixtureRequest) -> str:
    return getattr(request.config, "workerinput", {}).get("workerid", "main")


@pytest.fixture(scope="session")
def _template_database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Migrate one database per worker: a SQLite file to copy, or this worker's PostgreSQL database."""
    if PG_URL:
        url = make_url(PG_URL)
        name = f"wallet_test_{_worker_id(request)}"
        admin = create_engine(url.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        test_url = url.set(database=name).render_as_string(hide_password=False)
        engine = make_engine(test_url)
        upgrade_database(engine)
        engine.dispose()
        return test_url
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade_database(engine)
    engine.dispose()
    return str(path)


@pytest.fixture
def database_url(_template_database: str, tmp_path: Path) -> Iterator[str]:
    """Return the URL of an empty, fully migrated database for this test."""
    if PG_URL:
        yield _template_database
        engine = make_engine(_template_database)
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        with engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        engine.dispose()
        return
    path = tmp_path / "wallet.db"
    shutil.copyfile(_template_database, path)
    yield f"sqlite:///{path}"


@pytest.fixture(scope="session")
def _redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Return the URL of the run's Redis server: WALLET_TEST_REDIS_URL, or one started for this worker."""
    if REDIS_URL:
        yield REDIS_URL
        return
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server.url
    server.stop()


@pytest.fixture
def redis_url(_redis_server: str) -> str:
    """Return the URL of a real Redis server (tests using it also set a key prefix of their own)."""
    return _redis_server


def redis_prefix() -> str:
    """Return a key prefix no other test uses, so tests sharing one Redis server never see each other."""
    return f"wallet-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def app_config(database_url: str, tmp_path: Path) -> dict[str, Any]:
    """Return the config overrides for the test app; tests may change it before `app` is built."""
    config: dict[str, Any] = {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-key-not-for-production",
        "WTF_CSRF_ENABLED": False,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "MAIL_SERVER": None,
        "PASSWORD_MIN_LENGTH": 10,
        "VIEW_COUNT_FLUSH_SECONDS": 0,  # views written at once; tests of batching set their own
    }
    if REDIS_URL:
        config.update(REDIS_URL=REDIS_URL, REDIS_KEY_PREFIX=redis_prefix())
    return config


@pytest.fixture
def app(app_config: dict[str, Any]):
    """Return an app on a fresh database."""
    app = create_app(app_config)
    with app.app_context():
        yield app
        # Return the test's connection before disposing: dispose() leaves checked-out connections
        # open, and on PostgreSQL the leaked psycopg connection fails the next test as a ResourceWarning.
        get_session().close()
        get_engine(app).dispose()


@pytest.fixture
def make_app(app_config: dict[str, Any]) -> Iterator[Any]:
    """Return a factory for another app on this test's database; its pool is closed after the test.

    (An engine left to the garbage collector leaves PostgreSQL connections open: a ResourceWarning.)
    """
    made = []

    def make(**overrides: Any):
        extra = create_app(dict(app_config, **overrides))
        made.append(extra)
        return extra

    yield make
    for extra in made:
        get_engine(extra).dispose()


@pytest.fixture
def client(app):
    """Return a test client for the app."""
    return app.test_client()


@pytest.fixture
def session(app):
    """Return the app context's database session."""
    return get_session()


class LiveServer:
    """The app served by a real WSGI server on 127.0.0.1 in a background thread."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self._server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> LiveServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)
        self._server.server_close()


@pytest.fixture
def live_server(app_config: dict[str, Any]) -> Iterator[LiveServer]:
    """Serve a separate app instance (same database, CSRF on) over real HTTP on 127.0.0.1."""
    config = dict(app_config, WTF_CSRF_ENABLED=True, SHOW_ERROR_PAGES=True)
    server_app = create_app(config)
    server = LiveServer(server_app).start()
    yield server
    server.stop()
    get_engine(server_app).dispose()


CHROMIUM = os.environ.get("WALLET_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture
def document_server() -> Iterator[DocumentServer]:
    """A real HTTP server on 127.0.0.1 serving whatever the test puts in its `routes`."""
    server = DocumentServer()
    yield server
    server.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Launch Debian's Chromium headless through Playwright, once per worker."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """Return a fresh browser page (own cookies) that fails the test on any page script error."""
    context = browser.new_context()
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def make_user(session):
    """Return a factory: make_user(email=..., display_name=..., password=..., verified=True) -> committed User.

    Users are made by the accounts service; the password is tests.support.accounts.DEFAULT_PASSWORD.
    """
    from tests.support.accounts import create_user

    def make(**overrides: Any):
        user = create_user(session, **overrides)
        session.commit()
        return user

    return make


@pytest.fixture
def login(client):
    """Return login(user, client=client): make the client's session logged in as `user`."""
    from tests.support.accounts import log_in

    def do_login(user: Any, client: Any = client) -> None:
        log_in(client, user)

    return do_login


@pytest.fixture
def api_token(session):
    """Return api_token(user, name="tests") -> the secret of a new, committed personal access token."""
    from tests.support.accounts import create_api_token

    def make(user: Any, name: str = "tests") -> str:
        token = create_api_token(session, user, name=name)
        session.commit()
        return token

    return make


class ManualClock:
    """A clock that stands still until the test moves it on (rate limits are tested without sleeping)."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock on by `seconds`."""
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def manual_clock() -> ManualClock:
    """Return a clock that moves only when the test calls `advance`."""
    return ManualClock()


@pytest.fixture
def rate_clock(app, manual_clock: ManualClock) -> ManualClock:
    """Make the app's rate limits read `manual_clock`, and return it."""
    ratelimit.limiters(app.extensions).clock = manual_clock
    return manual_clock


@pytest.fixture(autouse=True)
def _empty_caches() -> None:
    """Start every test with every in-process cache empty, so no test sees what another left."""
    CACHES.clear_all()
