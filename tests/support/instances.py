"""A second Wallet instance for tests: its own database (SQLite file or PostgreSQL database) and folder.

Import the fixtures into a test module: `from tests.support.instances import other_database_url, other_app`.
"""
from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, make_url, text

from wallet import create_app
from wallet.db import Base, get_engine, make_engine
from wallet.schema import upgrade_database


@pytest.fixture(scope="session")
def _other_template(_template_database: str) -> str:
    """On PostgreSQL, a second migrated database next to the worker's own (made once per run)."""
    if "://" not in _template_database:
        return _template_database
    url = make_url(_template_database)
    name = f"{url.database}_other"
    admin = create_engine(url.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    other = url.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(other)
    upgrade_database(engine)
    engine.dispose()
    return other


def empty_database(url: str) -> None:
    """Delete every row of every table (PostgreSQL), leaving the schema."""
    engine = make_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def other_database_url(_other_template: str, tmp_path: Path) -> Iterator[str]:
    """Return the URL of a second empty, migrated database, apart from the test's own."""
    if "://" in _other_template:
        yield _other_template
        empty_database(_other_template)
        return
    path = tmp_path / "other.db"
    shutil.copyfile(_other_template, path)
    yield f"sqlite:///{path}"


@pytest.fixture
def other_app(app_config: dict[str, Any], other_database_url: str, tmp_path: Path) -> Iterator[Any]:
    """Return a factory of a second app: its own database, instance folder and blob store."""
    made = []

    def make(**overrides: Any):
        config = dict(app_config, DATABASE_URL=other_database_url, INSTANCE_PATH=str(tmp_path / "other-instance"),
                      BLOB_DIR=None)
        config.update(overrides)
        other = create_app(config)
        made.append(other)
        return other

    yield make
    for other in made:
        get_engine(other).dispose()
