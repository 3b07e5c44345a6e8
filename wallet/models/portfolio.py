"""What a learner shows to others: portfolios, single-credential share links, the public profile
handle, and the learner's own wallet key that signs presentations.

Every public address is an unguessable slug (`secrets.token_urlsafe(32)`, docs/security.md F4) that the
learner can revoke, regenerate or let expire; nothing public is reachable by a numeric id alone.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wallet.db import Base, UTCDateTime, utcnow
from wallet.models.credential import Credential
from wallet.models.pathway import Pathway

# Who can open a portfolio's link.
PRIVATE = "private"  # only its owner, in preview
UNLISTED = "unlisted"  # anyone with the link
LISTED = "listed"  # anyone with the link, and it is listed on the learner's public profile
VISIBILITIES = (PRIVATE, UNLISTED, LISTED)

# What a portfolio item holds.
ITEM_CREDENTIAL = "credential"
ITEM_PATHWAY = "pathway"


class Portfolio(Base):
    __tablename__ = "portfolios"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    headline: Mapped[str] = mapped_column(String(300), default="")
    # Markdown source; rendered through the sanitiser for display.
    about: Mapped[str] = mapped_column(Text, default="")
    visibility: Mapped[str] = mapped_column(String(10), default=PRIVATE)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    slug_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set when the learner revoked the link; a new link (regenerate) clears it.
    link_revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Contact details appear on the public page only when the learner chose so.
    show_contact: Mapped[bool] = mapped_column(Boolean, default=False)
    contact_email: Mapped[str | None] = mapped_column(String(254))
    contact_url: Mapped[str | None] = mapped_column(String(2048))
    photo_sha256: Mapped[str | None] = mapped_column(String(64))
    # Whether the public page offers each credential's original (and the presentation made of them).
    # An original names its recipient as issued (an e-mail address, plain or hashed with its salt),
    # so the learner may keep them back; the page then shows Wallet's stored verification only.
    show_originals: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # A count only: no viewer address, cookie or identity is stored.
    view_count: Mapped[int] = mapped_column(Integer, default=0)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    items: Mapped[list[PortfolioItem]] = relationship(
        back_populates="portfolio", cascade="all, delete-orphan", passive_deletes=True,
        order_by="PortfolioItem.position, PortfolioItem.id",
    )

    @property
    def credential_items(self) -> list[PortfolioItem]:
        return [item for item in self.items if item.kind == ITEM_CREDENTIAL]

    @property
    def pathway_items(self) -> list[PortfolioItem]:
        return [item for item in self.items if item.kind == ITEM_PATHWAY]


class PortfolioItem(Base):
    """One credential (with or without its evidence) or one pathway in a portfolio, in order."""

    __tablename__ = "portfolio_items"
    __table_args__ = (
        UniqueConstraint("portfolio_id", "credential_id", name="uq_portfolio_items_portfolio_credential"),
        UniqueConstraint("portfolio_id", "pathway_id", name="uq_portfolio_items_portfolio_pathway"),
        CheckConstraint("(credential_id IS NULL) <> (pathway_id IS NULL)", name="one_target"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    portfolio_id: Mapped[int] = mapped_column(ForeignKey("portfolios.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    # Deleting a credential or pathway removes it from every portfolio.
    credential_id: Mapped[int | None] = mapped_column(ForeignKey("credentials.id", ondelete="CASCADE"), index=True)
    pathway_id: Mapped[int | None] = mapped_column(ForeignKey("pathways.id", ondelete="CASCADE"), index=True)
    include_evidence: Mapped[bool] = mapped_column(Boolean, default=True)

    portfolio: Mapped[Portfolio] = relationship(back_populates="items")
    credential: Mapped[Credential | None] = relationship()
    pathway: Mapped[Pathway | None] = relationship()

    @property
    def kind(self) -> str:
        return ITEM_CREDENTIAL if self.credential_id is not None else ITEM_PATHWAY


class CredentialShare(Base):
    """A public page for one credential (the target of social posts), at its own revocable slug."""

    __tablename__ = "credential_shares"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    credential_id: Mapped[int] = mapped_column(ForeignKey("credentials.id", ondelete="CASCADE"), unique=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    include_evidence: Mapped[bool] = mapped_column(Boolean, default=False)
    # As Portfolio.show_originals: whether the page offers the original download.
    show_originals: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    view_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    credential: Mapped[Credential] = relationship()


class PublicProfile(Base):
    """The learner's public profile address (/u/<handle>), listing their `listed` portfolios."""

    __tablename__ = "public_profiles"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    handle: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LearnerKey(Base):
    """The learner's wallet key: an Ed25519 key pair whose did:key signs their presentations.

    The private key is stored encrypted (AES-GCM under a key derived from the app's SECRET_KEY with
    HKDF, the DID as associated data), never in the clear (services/presentations.py).
    """

    __tablename__ = "learner_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    did: Mapped[str] = mapped_column(String(200), unique=True)
    # base64url(nonce || AES-GCM ciphertext of the raw 32-byte private key).
    encrypted_private_key: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
