"""Database plumbing: declarative Base, engine per app, one Session per request."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import DateTime, Engine, MetaData, TypeDecorator, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

# Stable constraint names so Alembic migrations are the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    """Return the current time, timezone-aware in UTC."""
    return datetime.now(timezone.utc)


def make_engine(url: str, echo: bool = False) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys, a busy timeout and real transactions."""
    if url.startswith("sqlite"):
        engine = create_engine(url, echo=echo, connect_args={"timeout": 30, "check_same_thread": False})
        _configure_sqlite(engine)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return create_engine(url, echo=echo, pool_pre_ping=True)


def _configure_sqlite(engine: Engine) -> None:
    # SQLAlchemy's SQLite recipe: let SQLAlchemy emit BEGIN itself so SAVEPOINTs and
    # transactional DDL behave, and turn on foreign keys (off by default in SQLite).
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # docs/reliability.md §7: in WAL mode a transaction that read first cannot upgrade to a write once
        # another connection has written; SQLite then fails at once ("database is locked"), ignoring
        # the busy timeout. A request that may write (POST, PUT, PATCH, DELETE) therefore takes the
        # write lock when it begins and waits its turn; reads (GET) stay concurrent.
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _request_may_write() else "BEGIN")


_background_writer = threading.local()


@contextmanager
def background_writes() -> Iterator[None]:
    """Mark work on this thread outside any request (a background job) as writing.

    Its SQLite transactions then begin IMMEDIATE, like a POST request's (see `_on_begin`).
    """
    outer = getattr(_background_writer, "active", False)  # nested: a job that runs a sweep
    _background_writer.active = True
    try:
        yield
    finally:
        _background_writer.active = outer


def _request_may_write() -> bool:
    if getattr(_background_writer, "active", False):
        return True
    return has_request_context() and request.method not in ("GET", "HEAD", "OPTIONS")


def init_app(app: Flask) -> None:
    """Bind an engine and a session factory to the app and close sessions after each request."""
    engine = make_engine(app.config["DATABASE_URL"], echo=app.config.get("DATABASE_ECHO", False))
    app.extensions["wallet.engine"] = engine
    app.extensions["wallet.sessionmaker"] = sessionmaker(bind=engine, expire_on_commit=False)

    @app.teardown_appcontext
    def _close_session(_exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()


def get_session() -> Session:
    """Return this request's (or app context's) session, creating it on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["wallet.sessionmaker"]()
    return g.db_session


def get_engine(app: Flask | None = None) -> Engine:
    """Return the app's engine."""
    return (app or current_app).extensions["wallet.engine"]


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned timezone-aware (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(timezone.utc)
        # SQLite stores text; keep it naive UTC there so string comparison orders correctly.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
