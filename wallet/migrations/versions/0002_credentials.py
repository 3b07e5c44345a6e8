"""credentials: the learner's credentials, their verification records, tags and evidence

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "credentials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=64), nullable=False),
        sa.Column("format_id", sa.String(length=16), nullable=True),
        sa.Column("container", sa.String(length=16), nullable=True),
        sa.Column("securing", sa.String(length=40), nullable=True),
        sa.Column("source_url", sa.String(length=2048), nullable=True),
        sa.Column("original_sha256", sa.String(length=64), nullable=False),
        sa.Column("original_type", sa.String(length=100), nullable=False),
        sa.Column("original_filename", sa.String(length=255), nullable=True),
        sa.Column("document", sa.JSON(), nullable=True),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("issuer_id", sa.String(length=2048), nullable=True),
        sa.Column("issuer_name", sa.String(length=500), nullable=True),
        sa.Column("issuer_url", sa.String(length=2048), nullable=True),
        sa.Column("verified_issuer", sa.String(length=2048), nullable=True),
        sa.Column("credential_uri", sa.String(length=2048), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("image_sha256", sa.String(length=64), nullable=True),
        sa.Column("image_type", sa.String(length=40), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recheck_failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recipient_state", sa.String(length=10), nullable=False),
        sa.Column("learner_description", sa.Text(), nullable=True),
        sa.Column("reflection", sa.Text(), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_credentials_owner_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credentials")),
        sa.UniqueConstraint("owner_id", "dedupe_key", name="uq_credentials_owner_id_dedupe_key"),
    )
    op.create_index(op.f("ix_credentials_owner_id"), "credentials", ["owner_id"])
    op.create_index(op.f("ix_credentials_status"), "credentials", ["status"])

    op.create_table(
        "credential_tags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("credential_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["credential_id"], ["credentials.id"],
                                name=op.f("fk_credential_tags_credential_id_credentials"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credential_tags")),
        sa.UniqueConstraint("credential_id", "kind", "name", name="uq_credential_tags_credential_kind_name"),
    )
    op.create_index(op.f("ix_credential_tags_credential_id"), "credential_tags", ["credential_id"])
    op.create_index(op.f("ix_credential_tags_name"), "credential_tags", ["name"])

    op.create_table(
        "evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("credential_id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("url", sa.String(length=2048), nullable=True),
        sa.Column("file_sha256", sa.String(length=64), nullable=True),
        sa.Column("filename", sa.String(length=255), nullable=True),
        sa.Column("content_type", sa.String(length=100), nullable=True),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["credential_id"], ["credentials.id"],
                                name=op.f("fk_evidence_credential_id_credentials"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_evidence_owner_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence")),
    )
    op.create_index(op.f("ix_evidence_credential_id"), "evidence", ["credential_id"])
    op.create_index(op.f("ix_evidence_owner_id"), "evidence", ["owner_id"])

    op.create_table(
        "verification_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("credential_id", sa.Integer(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("conclusive", sa.Boolean(), nullable=False),
        sa.Column("trigger", sa.String(length=10), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["credential_id"], ["credentials.id"],
                                name=op.f("fk_verification_records_credential_id_credentials"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verification_records")),
    )
    op.create_index(op.f("ix_verification_records_credential_id"), "verification_records", ["credential_id"])


def downgrade() -> None:
    op.drop_table("verification_records")
    op.drop_table("evidence")
    op.drop_table("credential_tags")
    op.drop_table("credentials")
