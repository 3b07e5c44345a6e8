"""Alembic migrations, shipped inside the package so that a wheel can migrate its database."""
