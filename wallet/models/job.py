"""Background jobs (docs/architecture.md "Background jobs"): what was asked, how far it is, how it ended.

A job's state lives in the database, not in the queue, so any app process (or the worker) can show
it and a learner can leave its page and come back. The queue (wallet/queue.py) carries only the id.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from wallet.db import Base, UTCDateTime, utcnow

# Job states, in the order a job goes through them.
QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
# Job kinds.
IMPORT, SWEEP, RECHECK = "import", "sweep", "recheck"


class Job(Base):
    __tablename__ = "jobs"

    # Unguessable (it is in the progress page's address); every read also checks the owner (F3).
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    # None for the app's own work (a scheduled sweep).
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default=QUEUED, index=True)
    total: Mapped[int | None] = mapped_column(Integer)
    done: Mapped[int] = mapped_column(Integer, default=0)
    # What the job works on: file names (an import), credential ids (a sweep or a re-check).
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # One outcome per item, in order: {"filename", "state", "message", "credential_id", "error"}.
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Written with every step of a running job: one silent for too long stopped with its process.
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
