"""Alembic revisions, applied in order by `wallet db upgrade`."""
