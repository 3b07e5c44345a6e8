"""portfolios: portfolios and their items, credential share links, public profiles, learner keys

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "portfolios",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("headline", sa.String(length=300), nullable=False),
        sa.Column("about", sa.Text(), nullable=False),
        sa.Column("visibility", sa.String(length=10), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("slug_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("link_revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("show_contact", sa.Boolean(), nullable=False),
        sa.Column("contact_email", sa.String(length=254), nullable=True),
        sa.Column("contact_url", sa.String(length=2048), nullable=True),
        sa.Column("photo_sha256", sa.String(length=64), nullable=True),
        sa.Column("view_count", sa.Integer(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_portfolios_owner_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portfolios")),
        sa.UniqueConstraint("slug", name=op.f("uq_portfolios_slug")),
    )
    op.create_index(op.f("ix_portfolios_owner_id"), "portfolios", ["owner_id"])

    op.create_table(
        "portfolio_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("portfolio_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("credential_id", sa.Integer(), nullable=True),
        sa.Column("pathway_id", sa.Integer(), nullable=True),
        sa.Column("include_evidence", sa.Boolean(), nullable=False),
        sa.CheckConstraint("(credential_id IS NULL) <> (pathway_id IS NULL)",
                           name=op.f("ck_portfolio_items_one_target")),
        sa.ForeignKeyConstraint(["portfolio_id"], ["portfolios.id"],
                                name=op.f("fk_portfolio_items_portfolio_id_portfolios"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["credential_id"], ["credentials.id"],
                                name=op.f("fk_portfolio_items_credential_id_credentials"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["pathway_id"], ["pathways.id"],
                                name=op.f("fk_portfolio_items_pathway_id_pathways"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portfolio_items")),
        sa.UniqueConstraint("portfolio_id", "credential_id", name="uq_portfolio_items_portfolio_credential"),
        sa.UniqueConstraint("portfolio_id", "pathway_id", name="uq_portfolio_items_portfolio_pathway"),
    )
    op.create_index(op.f("ix_portfolio_items_portfolio_id"), "portfolio_items", ["portfolio_id"])
    op.create_index(op.f("ix_portfolio_items_credential_id"), "portfolio_items", ["credential_id"])
    op.create_index(op.f("ix_portfolio_items_pathway_id"), "portfolio_items", ["pathway_id"])

    op.create_table(
        "credential_shares",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("credential_id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("include_evidence", sa.Boolean(), nullable=False),
        sa.Column("view_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_credential_shares_owner_id_users"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["credential_id"], ["credentials.id"],
                                name=op.f("fk_credential_shares_credential_id_credentials"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credential_shares")),
        sa.UniqueConstraint("credential_id", name=op.f("uq_credential_shares_credential_id")),
        sa.UniqueConstraint("slug", name=op.f("uq_credential_shares_slug")),
    )
    op.create_index(op.f("ix_credential_shares_owner_id"), "credential_shares", ["owner_id"])

    op.create_table(
        "public_profiles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("handle", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_public_profiles_owner_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_public_profiles")),
        sa.UniqueConstraint("owner_id", name=op.f("uq_public_profiles_owner_id")),
        sa.UniqueConstraint("handle", name=op.f("uq_public_profiles_handle")),
    )

    op.create_table(
        "learner_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("did", sa.String(length=200), nullable=False),
        sa.Column("encrypted_private_key", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_learner_keys_owner_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learner_keys")),
        sa.UniqueConstraint("owner_id", name=op.f("uq_learner_keys_owner_id")),
        sa.UniqueConstraint("did", name=op.f("uq_learner_keys_did")),
    )


def downgrade() -> None:
    op.drop_table("learner_keys")
    op.drop_table("public_profiles")
    op.drop_index(op.f("ix_credential_shares_owner_id"), table_name="credential_shares")
    op.drop_table("credential_shares")
    op.drop_index(op.f("ix_portfolio_items_pathway_id"), table_name="portfolio_items")
    op.drop_index(op.f("ix_portfolio_items_credential_id"), table_name="portfolio_items")
    op.drop_index(op.f("ix_portfolio_items_portfolio_id"), table_name="portfolio_items")
    op.drop_table("portfolio_items")
    op.drop_index(op.f("ix_portfolios_owner_id"), table_name="portfolios")
    op.drop_table("portfolios")
