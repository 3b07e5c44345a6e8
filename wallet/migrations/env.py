"""Alembic environment: runs against the engine Wallet passes in (see wallet/schema.py)."""
from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

import wallet.models  # noqa: F401  (registers every table on Base.metadata)
from wallet.db import Base, make_engine

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine: Engine | None = config.attributes.get("engine")
    if engine is None:
        engine = make_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("Offline (SQL script) migrations are not supported; run `wallet db upgrade`.")
run_migrations_online()
