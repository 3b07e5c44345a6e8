"""What the learner's dashboard shows: counts, what needs attention, and the newest credentials."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wallet.models.credential import RECIPIENT_MISMATCH, Credential
from wallet.services.verification.result import Status

RECENT_COUNT = 6
# States a learner should look at: they stop a credential from counting as proof.
ATTENTION_STATES = tuple(status.value for status in (Status.REVOKED, Status.INVALID, Status.UNVERIFIABLE, Status.ERROR))


@dataclass
class DashboardSummary:
    total: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    providers: int = 0
    recent: list[Credential] = field(default_factory=list)
    attention: list[Credential] = field(default_factory=list)

    @property
    def verified(self) -> int:
        return self.by_status.get(Status.VALID.value, 0)

    @property
    def expired(self) -> int:
        return self.by_status.get(Status.EXPIRED.value, 0)


def dashboard_summary(session: Session, owner_id: int) -> DashboardSummary:
    """Count the learner's credentials by state and provider and pick the recent and troubled ones."""
    owned = Credential.owner_id == owner_id
    counts = session.execute(select(Credential.status, func.count()).where(owned).group_by(Credential.status)).all()
    by_status = Counter({status: count for status, count in counts})
    provider = func.coalesce(Credential.verified_issuer, Credential.issuer_id)
    providers = session.scalar(select(func.count(func.distinct(provider))).where(owned, provider.is_not(None))) or 0
    recent = list(session.scalars(
        select(Credential).where(owned).order_by(Credential.imported_at.desc(), Credential.id.desc()).limit(RECENT_COUNT)))
    attention = list(session.scalars(
        select(Credential)
        .where(owned, (Credential.status.in_(ATTENTION_STATES)) | (Credential.recipient_state == RECIPIENT_MISMATCH))
        .order_by(Credential.checked_at.desc())
        .limit(RECENT_COUNT)))
    return DashboardSummary(sum(by_status.values()), by_status, providers, recent, attention)
