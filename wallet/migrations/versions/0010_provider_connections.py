"""provider_connections: a learner's connections to providers' Hosts and Badge Connect backpacks

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "provider_connections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("discovery_url", sa.String(length=2048), nullable=False),
        sa.Column("endpoints", sa.JSON(), nullable=False),
        sa.Column("scopes", sa.String(length=2000), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("client_id", sa.String(length=500), nullable=True),
        sa.Column("client_secret", sa.Text(), nullable=True),
        sa.Column("access_token", sa.Text(), nullable=True),
        sa.Column("refresh_token", sa.Text(), nullable=True),
        sa.Column("token_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("auth_state_hash", sa.String(length=64), nullable=True),
        sa.Column("auth_verifier", sa.Text(), nullable=True),
        sa.Column("auth_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("connected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_sync_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_sync_job_id", sa.String(length=40), nullable=True),
        sa.Column("last_counts", sa.JSON(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_provider_connections_owner_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_connections")),
    )
    op.create_index(op.f("ix_provider_connections_owner_id"), "provider_connections", ["owner_id"])
    op.create_index(op.f("ix_provider_connections_auth_state_hash"), "provider_connections", ["auth_state_hash"])


def downgrade() -> None:
    op.drop_index(op.f("ix_provider_connections_auth_state_hash"), table_name="provider_connections")
    op.drop_index(op.f("ix_provider_connections_owner_id"), table_name="provider_connections")
    op.drop_table("provider_connections")
