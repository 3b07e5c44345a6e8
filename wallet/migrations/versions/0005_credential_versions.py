"""credential versions: every copy of a credential the wallet accepted, the current one and those it replaced

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "credential_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("credential_id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=True),
        sa.Column("original_sha256", sa.String(length=64), nullable=False),
        sa.Column("original_type", sa.String(length=100), nullable=False),
        sa.Column("original_filename", sa.String(length=255), nullable=True),
        sa.Column("source_url", sa.String(length=2048), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("replaced_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["credential_id"], ["credentials.id"],
                                name=op.f("fk_credential_versions_credential_id_credentials"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_credential_versions_owner_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credential_versions")),
        sa.UniqueConstraint("credential_id", "content_sha256",
                            name="uq_credential_versions_credential_id_content_sha256"),
    )
    op.create_index(op.f("ix_credential_versions_credential_id"), "credential_versions", ["credential_id"])
    op.create_index(op.f("ix_credential_versions_owner_id"), "credential_versions", ["owner_id"])
    # Every credential held so far is its own current version. Its content hash is not known to
    # SQL (the original lives in the blob store); the importer fills it in when it next compares.
    op.execute(
        "INSERT INTO credential_versions (credential_id, owner_id, content_sha256, original_sha256, original_type,"
        " original_filename, source_url, status, imported_at, replaced_at)"
        " SELECT id, owner_id, NULL, original_sha256, original_type, original_filename, source_url, status,"
        " imported_at, NULL FROM credentials"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_credential_versions_owner_id"), table_name="credential_versions")
    op.drop_index(op.f("ix_credential_versions_credential_id"), table_name="credential_versions")
    op.drop_table("credential_versions")
