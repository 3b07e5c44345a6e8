"""publishing: whether a portfolio or a credential share link offers the credentials' originals

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing links keep offering their originals, as they did before the setting existed.
    with op.batch_alter_table("portfolios") as batch:
        batch.add_column(sa.Column("show_originals", sa.Boolean(), nullable=False, server_default=sa.true()))
    with op.batch_alter_table("credential_shares") as batch:
        batch.add_column(sa.Column("show_originals", sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table("credential_shares") as batch:
        batch.drop_column("show_originals")
    with op.batch_alter_table("portfolios") as batch:
        batch.drop_column("show_originals")
