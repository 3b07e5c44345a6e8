"""The models and the migrations describe the same schema.

The database the suite runs on (SQLite, or PostgreSQL with WALLET_TEST_DATABASE_URL) is built by the
migrations alone; Alembic's autogenerate comparison, with the options wallet/migrations/env.py
uses, must find nothing the models declare that the migrations did not create, and the reverse.
A model change without its revision fails here.
"""
from __future__ import annotations

import pprint
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import wallet.models  # noqa: F401  (registers every table on Base.metadata)
from wallet.db import Base, make_engine


def _differences(database_url: str) -> list[Any]:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True,
                                                                   "target_metadata": Base.metadata})
            return compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()


def test_models_migrations_migrated_database_matches_the_models(database_url: str) -> None:
    differences = _differences(database_url)
    assert not differences, "Models and migrations differ:\n" + pprint.pformat(differences)
