"""Pathways: a learner's goal as a tree of steps that their credentials meet.

Only the tree is stored; progress is computed from the learner's credentials every time it is shown
(services/pathways.py), so it can never disagree with what verifies today.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from wallet.db import Base, UTCDateTime, utcnow


class Pathway(Base):
    __tablename__ = "pathways"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    goal: Mapped[str] = mapped_column(Text, default="")
    # Who published the template the pathway came from, as the template says.
    publisher: Mapped[str] = mapped_column(String(200), default="")
    # The validated step tree in the template form (docs/pathway-format.md), ids assigned.
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # The example template it was built from ("web-developer-certificate"), "upload", or None.
    source_template: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
