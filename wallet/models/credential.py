"""Credentials a learner keeps: the credential, its dated verification records, tags and evidence.

The original bytes live in the content-addressed blob store (services/blobs.py); rows here are
derived data plus the learner's own words, and refer to blobs by their sha256.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wallet.db import Base, UTCDateTime, utcnow

# Recipient check outcomes (docs/security.md D18): only "matched" ties a credential to the learner.
RECIPIENT_MATCHED = "matched"
RECIPIENT_MISMATCH = "mismatch"
RECIPIENT_UNKNOWN = "unknown"


class Credential(Base):
    __tablename__ = "credentials"
    # docs/reliability.md §3: one credential per learner, whatever route it came by.
    __table_args__ = (UniqueConstraint("owner_id", "dedupe_key", name="uq_credentials_owner_id_dedupe_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # sha256 hex of what makes it the same credential, in every format and version: the OB 2.0
    # assertion id, else credential id + issuer, else the signed content (services/importing.py).
    dedupe_key: Mapped[str] = mapped_column(String(64))
    format_id: Mapped[str | None] = mapped_column(String(16))  # a FORMAT_ID, e.g. "ob3"
    container: Mapped[str | None] = mapped_column(String(16))  # json | jwt | png | svg | url
    securing: Mapped[str | None] = mapped_column(String(40))
    source_url: Mapped[str | None] = mapped_column(String(2048))  # None for uploads and pastes

    # The bytes exactly as received, for re-verification and download.
    original_sha256: Mapped[str] = mapped_column(String(64))
    original_type: Mapped[str] = mapped_column(String(100))
    original_filename: Mapped[str | None] = mapped_column(String(255))
    # The verified credential document (for hosted OB 2.0: the issuer's copy).
    document: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    # Normalised metadata, as the credential states it (searchable columns + the rest in `details`).
    name: Mapped[str] = mapped_column(String(500), default="")
    description: Mapped[str | None] = mapped_column(Text)
    issuer_id: Mapped[str | None] = mapped_column(String(2048))
    issuer_name: Mapped[str | None] = mapped_column(String(500))
    issuer_url: Mapped[str | None] = mapped_column(String(2048))
    verified_issuer: Mapped[str | None] = mapped_column(String(2048))
    credential_uri: Mapped[str | None] = mapped_column(String(2048))
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    image_sha256: Mapped[str | None] = mapped_column(String(64))
    image_type: Mapped[str | None] = mapped_column(String(40))

    # The current verification state: the last conclusive check (docs/reliability.md §4-5).
    status: Mapped[str] = mapped_column(String(20), index=True)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Set when the last re-check could not reach the issuer; the status above is then older.
    recheck_failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    recipient_state: Mapped[str] = mapped_column(String(10), default=RECIPIENT_UNKNOWN)

    # The learner's own words (Markdown source; rendered and sanitised for display).
    learner_description: Mapped[str | None] = mapped_column(Text)
    reflection: Mapped[str | None] = mapped_column(Text)

    imported_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    tags: Mapped[list[CredentialTag]] = relationship(
        back_populates="credential", cascade="all, delete-orphan", order_by="CredentialTag.id"
    )
    evidence: Mapped[list[Evidence]] = relationship(
        back_populates="credential", cascade="all, delete-orphan", order_by="Evidence.position, Evidence.id"
    )
    verifications: Mapped[list[VerificationRecord]] = relationship(
        back_populates="credential", cascade="all, delete-orphan",
        order_by="VerificationRecord.checked_at.desc(), VerificationRecord.id.desc()",
    )
    versions: Mapped[list[CredentialVersion]] = relationship(
        back_populates="credential", cascade="all, delete-orphan",
        order_by="CredentialVersion.imported_at.desc(), CredentialVersion.id.desc()",
    )

    @property
    def learner_tags(self) -> list[str]:
        return [t.name for t in self.tags if t.kind == TAG_LEARNER]

    @property
    def skills(self) -> list[dict[str, Any]]:
        return list(self.details.get("alignments") or [])

    @property
    def current_version(self) -> CredentialVersion | None:
        return next((v for v in self.versions if v.replaced_at is None), None)

    @property
    def history(self) -> list[CredentialVersion]:
        """Every version, newest first (not `versions`: one added in this session is not re-sorted)."""
        return sorted(self.versions, key=lambda v: (v.imported_at, v.id or 0), reverse=True)

    @property
    def latest_verification(self) -> VerificationRecord | None:
        # Not verifications[0]: a record appended in this session is not re-sorted until reloaded.
        return max(self.verifications, key=lambda r: (r.checked_at, r.id or 0), default=None)


# Tag kinds: the issuer's own tags/keywords, skills and alignments, and tags the learner added.
TAG_ISSUER = "issuer"
TAG_SKILL = "skill"
TAG_LEARNER = "learner"


class CredentialTag(Base):
    __tablename__ = "credential_tags"
    __table_args__ = (UniqueConstraint("credential_id", "kind", "name", name="uq_credential_tags_credential_kind_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    credential_id: Mapped[int] = mapped_column(ForeignKey("credentials.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(200), index=True)

    credential: Mapped[Credential] = relationship(back_populates="tags")


class VerificationRecord(Base):
    """One dated verification: the whole report, and whether the issuer could be reached."""

    __tablename__ = "verification_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    credential_id: Mapped[int] = mapped_column(ForeignKey("credentials.id", ondelete="CASCADE"), index=True)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status: Mapped[str] = mapped_column(String(20))
    # False when a re-check could not reach a remote resource and so did not change the state.
    conclusive: Mapped[bool] = mapped_column(Boolean, default=True)
    trigger: Mapped[str] = mapped_column(String(10))  # import | manual | scheduled
    report: Mapped[dict[str, Any]] = mapped_column(JSON)

    credential: Mapped[Credential] = relationship(back_populates="verifications")


class CredentialVersion(Base):
    """One copy of a credential the wallet accepted: the current one, or one that a later copy replaced.

    Versions of one credential share its identity (`Credential.dedupe_key`) and differ in their signed
    content (`content_sha256`). The current version's original is also `Credential.original_sha256`;
    a replaced version keeps its own original, downloadable from the credential's history.
    """

    __tablename__ = "credential_versions"
    __table_args__ = (UniqueConstraint("credential_id", "content_sha256",
                                       name="uq_credential_versions_credential_id_content_sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    credential_id: Mapped[int] = mapped_column(ForeignKey("credentials.id", ondelete="CASCADE"), index=True)
    # Kept beside the credential so every history query can filter by owner directly (F3).
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # sha256 hex of the signed content: the compact JWS, or the RFC 8785 form of the JSON with its
    # proof. None for versions recorded before it was kept (filled in when next compared).
    content_sha256: Mapped[str | None] = mapped_column(String(64))
    original_sha256: Mapped[str] = mapped_column(String(64))
    original_type: Mapped[str] = mapped_column(String(100))
    original_filename: Mapped[str | None] = mapped_column(String(255))
    source_url: Mapped[str | None] = mapped_column(String(2048))
    # The verification state this version had when it was imported, or last checked as the current one.
    status: Mapped[str] = mapped_column(String(20))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    replaced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # None: the current version

    credential: Mapped[Credential] = relationship(back_populates="versions")


# Evidence kinds.
EVIDENCE_TEXT = "text"
EVIDENCE_LINK = "link"
EVIDENCE_FILE = "file"


class Evidence(Base):
    """An item of the learner's own evidence for a credential."""

    __tablename__ = "evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    credential_id: Mapped[int] = mapped_column(ForeignKey("credentials.id", ondelete="CASCADE"), index=True)
    # Kept beside the credential so every evidence query can filter by owner directly (F3).
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    position: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str | None] = mapped_column(Text)  # Markdown source for text items
    url: Mapped[str | None] = mapped_column(String(2048))
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    filename: Mapped[str | None] = mapped_column(String(255))
    content_type: Mapped[str | None] = mapped_column(String(100))
    size: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    credential: Mapped[Credential] = relationship(back_populates="evidence")
