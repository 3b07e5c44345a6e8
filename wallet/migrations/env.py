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
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch mode rebuilds a table (copy, drop, rename). With foreign keys enforced, dropping
            # the old table would cascade-delete every row referring to it (a rebuilt `users` would
            # take every credential with it), so they are off while migrating and checked after.
            # The pragma only takes effect outside a transaction: set it on the driver's connection.
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
            render_as_batch=sqlite,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        if sqlite:
            driver = connection.connection.driver_connection
            broken = driver.execute("PRAGMA foreign_key_check").fetchall()
            driver.execute("PRAGMA foreign_keys=ON")
            if broken:
                raise RuntimeError(f"Migration left rows pointing at missing rows: {broken[:5]}")


if context.is_offline_mode():
    raise SystemExit("Offline (SQL script) migrations are not supported; run `wallet db upgrade`.")
run_migrations_online()
