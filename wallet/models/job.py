"""Background jobs (docs/architecture.md "Background jobs"): what was asked, how far it is, how it ended.

A job's state lives in the database, not in the queue, so any app process (or the worker) can show
it and a learner can leave its page and come back. The queue (wallet/queue.py) carries only the id.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

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
    # How many items ended in each state ({"imported": 3, "rejected": 1}), kept as they are recorded.
    counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Written with every step of a running job: one silent for too long stopped with its process.
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    outcomes: Mapped[list[JobItem]] = relationship(order_by="JobItem.position", passive_deletes=True,
                                                   cascade="all, delete-orphan")

    @property
    def items(self) -> list[dict[str, Any]]:
        """The outcomes of the items done so far, in order."""
        return [outcome.data for outcome in self.outcomes]


class JobItem(Base):
    """The outcome of one item of a job: {"filename", "state", "message", "credential_id", "name", "status", "error"}.

    One row per item, written with the item's own commit (a growing list in the job's row would be
    written whole at every step).
    """

    __tablename__ = "job_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
