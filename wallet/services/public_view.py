"""What the public pages show: a portfolio, a shared credential, a profile, read by slug or handle.

Rules (docs/security.md F3-F5, E1-E8):
- Functions take only a slug (or handle). A slug that is unknown, private, revoked or expired is "not
  found" with no data; a credential is public only as an item of a public portfolio or through its
  own share link. Credentials issued to someone else (recipient mismatch, D18) never go public.
- Public pages show stored verification results only; nothing is fetched while they render.
  "Verify now" re-verifies through services/credentials.py, reusing a result that is recent.
- Viewer counts are a plain counter (services/view_counts.py): no address, cookie or identity of the viewer is stored.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, defer, selectinload

from wallet.db import utcnow
from wallet.formatting import time_ago
from wallet.models.credential import RECIPIENT_MISMATCH, Credential, Evidence, VerificationRecord
from wallet.models.pathway import Pathway
from wallet.models.portfolio import ITEM_CREDENTIAL, LISTED, CredentialShare, Portfolio, PortfolioItem, PublicProfile
from wallet.models.user import User
from wallet.services import jobs as job_service
from wallet.services import pathways as pathway_service
from wallet.services.errors import NotFoundError
from wallet.services.portfolios import is_handle, is_public, is_slug
from wallet.services.share_links import is_share_public

# A re-check this recent is shown again instead of asking the issuer once more.
DEFAULT_VERIFY_REUSE = timedelta(minutes=2)
# The state words of docs/design.md, as the summary line counts them.
_SUMMARY_WORDS = (("valid", "verified"), ("revoked", "revoked"), ("invalid", "not genuine"),
                  ("expired", "expired"), ("not_yet_valid", "not yet valid"), ("unverifiable", "couldn't verify"))
# Report details that could identify the recipient are never shown publicly (F5, D18).
_PRIVATE_DETAIL_KEYS = frozenset({"identity", "identity_hash", "identityHash", "salt", "email", "recipient",
                                  "recipients"})


@dataclass
class ProfileView:
    owner: User
    profile: PublicProfile
    portfolios: list[Portfolio]


def public_profile(session: Session, handle: str, now: datetime | None = None) -> ProfileView:
    """Return a learner's public profile with their listed portfolios; NotFoundError if none is listed."""
    if not is_handle(handle):
        raise NotFoundError("There is no such page.")
    profile = session.scalar(select(PublicProfile).where(PublicProfile.handle == handle))
    if profile is None:
        raise NotFoundError("There is no such page.")
    portfolios = [p for p in session.scalars(
        select(Portfolio).where(Portfolio.owner_id == profile.owner_id, Portfolio.visibility == LISTED)
        .order_by(Portfolio.published_at.desc(), Portfolio.id.desc())) if is_public(p, now)]
    if not portfolios:
        # A learner who lists nothing has no public page at all.
        raise NotFoundError("There is no such page.")
    return ProfileView(session.get(User, profile.owner_id), profile, portfolios)


_NOT_FOUND = "There is no such page. The link may have been withdrawn or have expired."


def public_portfolio(session: Session, slug: str, now: datetime | None = None) -> Portfolio:
    """Return the portfolio behind a public link; NotFoundError unless the link works now."""
    if not is_slug(slug):
        raise NotFoundError(_NOT_FOUND)
    portfolio = session.scalar(select(Portfolio).where(Portfolio.slug == slug))
    if portfolio is None or not is_public(portfolio, now):
        raise NotFoundError(_NOT_FOUND)
    return portfolio


def public_share(session: Session, slug: str, now: datetime | None = None) -> CredentialShare:
    """Return the credential share behind a public link; NotFoundError unless it works now."""
    if not is_slug(slug):
        raise NotFoundError(_NOT_FOUND)
    share = session.scalar(select(CredentialShare).where(CredentialShare.slug == slug)
                           .options(selectinload(CredentialShare.credential)))
    if share is None or not is_share_public(share, now):
        raise NotFoundError(_NOT_FOUND)
    return share


@dataclass
class PublicRecord:
    """A verification record as the public may see it: the recipient check and identities removed."""

    checked_at: datetime
    conclusive: bool
    status: str
    report: dict[str, Any]


def public_record(record: VerificationRecord | None) -> PublicRecord | None:
    """Return the record without anything about the recipient (docs/security.md F5, D18)."""
    if record is None:
        return None
    report = record.report or {}
    checks = []
    for check in report.get("checks") or []:
        if not isinstance(check, dict) or check.get("id") == "recipient":
            continue
        detail = {k: v for k, v in (check.get("detail") or {}).items() if k not in _PRIVATE_DETAIL_KEYS}
        checks.append({**check, "detail": detail})
    documents = [{k: d.get(k) for k in ("url", "sha256", "role", "content_type")}
                 for d in report.get("documents") or [] if isinstance(d, dict)]
    public = {"format": report.get("format"), "securing": report.get("securing"), "container": report.get("container"),
              "checks": checks, "documents": documents}
    return PublicRecord(record.checked_at, record.conclusive, record.status, public)


def latest_records(session: Session, credential_ids: Sequence[int]) -> dict[int, VerificationRecord]:
    """Return each credential's most recent verification record, in one query."""
    if not credential_ids:
        return {}
    newest = (select(func.max(VerificationRecord.id)).where(VerificationRecord.credential_id.in_(credential_ids))
              .group_by(VerificationRecord.credential_id))
    return {r.credential_id: r for r in session.scalars(
        select(VerificationRecord).where(VerificationRecord.id.in_(newest)))}


@dataclass
class PublicCredential:
    """One credential as a public page shows it, with where it is reached from."""

    credential: Credential
    owner: User
    record: PublicRecord | None
    include_evidence: bool
    portfolio: Portfolio | None = None
    share: CredentialShare | None = None

    @property
    def slug(self) -> str:
        return self.portfolio.slug if self.portfolio is not None else self.share.slug  # type: ignore[union-attr]

    @property
    def show_originals(self) -> bool:
        """Tell whether the learner offers this credential's original (and baked image) here."""
        source = self.portfolio if self.portfolio is not None else self.share
        return bool(source.show_originals)  # type: ignore[union-attr]

    @property
    def url_args(self) -> dict[str, Any]:
        """Return the URL values that address this credential's public routes."""
        if self.portfolio is not None:
            return {"slug": self.portfolio.slug, "credential_id": self.credential.id}
        return {"slug": self.slug}


@dataclass
class Summary:
    """The line a public page leads with: how many credentials, from how many providers, in what state."""

    credentials: int
    providers: int
    states: Counter[str]
    oldest_check: datetime | None
    text: str


def summarise(credentials: Sequence[Credential], now: datetime | None = None) -> Summary:
    """Summarise credentials as "12 credentials from 5 providers · all verified today" (docs/design.md)."""
    now = now or utcnow()
    count = len(credentials)
    providers = len({c.verified_issuer or c.issuer_id or c.issuer_name or f"#{c.id}" for c in credentials})
    states = Counter(c.status for c in credentials)
    oldest = min((c.checked_at for c in credentials), default=None)
    if not count:
        return Summary(0, 0, states, None, "No credentials yet")
    head = (f"{count} credential{'s' if count != 1 else ''} from {providers} "
            f"provider{'s' if providers != 1 else ''}")
    if states["valid"] == count:
        if oldest is not None and oldest.astimezone(timezone.utc).date() == now.astimezone(timezone.utc).date():
            tail = "all verified today"
        else:
            tail = f"all verified, the oldest check {time_ago(oldest, now)}"
        return Summary(count, providers, states, oldest, f"{head} · {tail}")
    parts = [f"{states[status]} {word}" for status, word in _SUMMARY_WORDS if states[status]]
    others = count - sum(states[status] for status, _ in _SUMMARY_WORDS)
    if others:
        parts.append(f"{others} not checked")
    return Summary(count, providers, states, oldest, " · ".join([head, *parts]))


@dataclass
class PublicPathway:
    """A chosen pathway with its progress; only credentials in the portfolio are named."""

    progress: pathway_service.PathwayProgress
    shown_credential_ids: set[int] = field(default_factory=set)


@dataclass
class PortfolioView:
    portfolio: Portfolio
    owner: User
    entries: list[PublicCredential]
    pathways: list[PublicPathway]
    summary: Summary


def portfolio_view(session: Session, portfolio: Portfolio, now: datetime | None = None) -> PortfolioView:
    """Gather everything the portfolio page shows, from stored data only (no issuer is contacted)."""
    owner = session.get(User, portfolio.owner_id)
    # The page needs neither the credential documents nor their metadata blobs: leave those JSON
    # columns unread (they are most of the decoding work on a page of 100 credentials).
    credential = selectinload(PortfolioItem.credential).options(defer(Credential.document), defer(Credential.details))
    items = list(session.scalars(
        select(PortfolioItem).where(PortfolioItem.portfolio_id == portfolio.id)
        .options(credential.selectinload(Credential.evidence), selectinload(PortfolioItem.pathway))
        .order_by(PortfolioItem.position, PortfolioItem.id)))
    shown = [i for i in items if i.kind == ITEM_CREDENTIAL and i.credential is not None
             and i.credential.owner_id == portfolio.owner_id and i.credential.recipient_state != RECIPIENT_MISMATCH]
    records = latest_records(session, [i.credential_id for i in shown])
    entries = [PublicCredential(i.credential, owner, public_record(records.get(i.credential_id)), i.include_evidence,
                                portfolio=portfolio) for i in shown]
    pathways: list[PublicPathway] = []
    chosen = [i.pathway for i in items if i.pathway is not None and i.pathway.owner_id == portfolio.owner_id]
    if chosen:
        # Progress counts everything the learner holds, as their pathway page does; only the
        # credentials in this portfolio are named on the public page.
        wallet = pathway_service.wallet_credentials(session, portfolio.owner_id)
        ids = {e.credential.id for e in entries}
        pathways = [PublicPathway(pathway_service.progress_of(p, wallet), ids) for p in chosen]
    return PortfolioView(portfolio, owner, entries, pathways, summarise([e.credential for e in entries], now))


@dataclass(slots=True)
class CardFacts:
    """What a public portfolio page reads of a credential on every view: no document, no report.

    With `stamp` (everything a credential's entry shows that can change: the credential row, its
    newest verification record, its evidence, the item's and the portfolio's settings, the owner's
    name) it keys the cached entry, so an edit or a fresh check shows on the next view.
    """

    id: int
    name: str
    status: str
    checked_at: datetime
    recheck_failed_at: datetime | None
    updated_at: datetime
    issued_at: datetime | None
    valid_from: datetime | None
    expires_at: datetime | None
    issuer_id: str | None
    issuer_name: str | None
    verified_issuer: str | None
    image_sha256: str | None
    image_type: str | None
    original_type: str
    container: str | None
    recipient_state: str
    record_id: int | None
    evidence: tuple[tuple[int, int], ...]
    stamp: tuple[Any, ...] = ()


_FACT_COLUMNS = (Credential.id, Credential.name, Credential.status, Credential.checked_at, Credential.recheck_failed_at,
                 Credential.updated_at, Credential.issued_at, Credential.valid_from, Credential.expires_at,
                 Credential.issuer_id, Credential.issuer_name, Credential.verified_issuer, Credential.image_sha256,
                 Credential.image_type, Credential.original_type, Credential.container, Credential.recipient_state)
# Built once: the statements of every view differ only in their parameters.
_NEWEST_RECORD = (select(func.max(VerificationRecord.id)).where(VerificationRecord.credential_id == Credential.id)
                  .correlate(Credential).scalar_subquery())
_FACTS = (select(PortfolioItem.include_evidence, *_FACT_COLUMNS, _NEWEST_RECORD)
          .join(Credential, Credential.id == PortfolioItem.credential_id)
          .where(PortfolioItem.portfolio_id == bindparam("portfolio_id"), Credential.owner_id == bindparam("owner_id"),
                 Credential.recipient_state != RECIPIENT_MISMATCH)
          .order_by(PortfolioItem.position, PortfolioItem.id))
_EVIDENCE = (select(Evidence.credential_id, Evidence.id, Evidence.position)
             .join(PortfolioItem, PortfolioItem.credential_id == Evidence.credential_id)
             .where(PortfolioItem.portfolio_id == bindparam("portfolio_id"))
             .order_by(Evidence.credential_id, Evidence.id))


def portfolio_facts(session: Session, portfolio: Portfolio, owner: User) -> PortfolioView:
    """Gather the portfolio page's facts in two light queries (entries hold CardFacts, not credentials).

    The page renders each entry from a cache keyed by `CardFacts.stamp`, and reads whole
    credentials (`portfolio_entries`) only for the entries the cache lacks.
    """
    parameters = {"portfolio_id": portfolio.id, "owner_id": portfolio.owner_id}
    rows = session.execute(_FACTS, parameters).all()
    evidence: dict[int, list[tuple[int, int]]] = {}
    if rows:
        for credential_id, evidence_id, position in session.execute(_EVIDENCE, parameters):
            evidence.setdefault(credential_id, []).append((evidence_id, position))
    settings = (portfolio.slug, portfolio.show_originals, owner.display_name)
    entries = []
    for row in rows:
        include_evidence, *values = row
        shown = tuple(evidence.get(values[0], ()))
        stamp = (*values, shown, include_evidence, *settings)
        facts = CardFacts(*values, shown, stamp)  # type: ignore[arg-type, call-arg]
        # CardFacts stands in for the Credential: the page reads only the fields both have.
        entry = PublicCredential(facts, owner, None, include_evidence, portfolio=portfolio)  # type: ignore[arg-type]
        entries.append(entry)
    ids = [row.id for row in rows]
    pathways: list[PublicPathway] = []
    chosen = list(session.scalars(select(Pathway).join(PortfolioItem, PortfolioItem.pathway_id == Pathway.id)
                                  .where(PortfolioItem.portfolio_id == portfolio.id,
                                         Pathway.owner_id == portfolio.owner_id)
                                  .order_by(PortfolioItem.position, PortfolioItem.id)))
    if chosen:
        wallet = pathway_service.wallet_credentials(session, portfolio.owner_id)
        pathways = [PublicPathway(pathway_service.progress_of(p, wallet), set(ids)) for p in chosen]
    return PortfolioView(portfolio, owner, entries, pathways,
                         summarise([e.credential for e in entries]))  # type: ignore[misc]


def portfolio_entries(session: Session, portfolio: Portfolio, owner: User, credential_ids: Sequence[int]
                      ) -> dict[int, PublicCredential]:
    """Return whole public entries (credential, evidence, newest record) of some of a portfolio's credentials."""
    if not credential_ids:
        return {}
    credential = selectinload(PortfolioItem.credential).options(defer(Credential.document), defer(Credential.details))
    items = session.scalars(
        select(PortfolioItem).where(PortfolioItem.portfolio_id == portfolio.id,
                                    PortfolioItem.credential_id.in_(credential_ids))
        .options(credential.selectinload(Credential.evidence)))
    records = latest_records(session, list(credential_ids))
    return {i.credential_id: PublicCredential(i.credential, owner, public_record(records.get(i.credential_id)),
                                              i.include_evidence, portfolio=portfolio)
            for i in items if i.credential is not None and i.credential.owner_id == portfolio.owner_id}


def portfolio_credential(session: Session, slug: str, credential_id: int, now: datetime | None = None) -> PublicCredential:
    """Return a credential of a public portfolio; NotFoundError unless it is one of its items."""
    portfolio = public_portfolio(session, slug, now)
    item = session.scalar(select(PortfolioItem).where(PortfolioItem.portfolio_id == portfolio.id,
                                                      PortfolioItem.credential_id == credential_id))
    credential = item.credential if item is not None else None
    if credential is None or credential.owner_id != portfolio.owner_id or credential.recipient_state == RECIPIENT_MISMATCH:
        raise NotFoundError(_NOT_FOUND)
    record = latest_records(session, [credential.id]).get(credential.id)
    return PublicCredential(credential, session.get(User, portfolio.owner_id), public_record(record),
                            item.include_evidence, portfolio=portfolio)


def shared_credential(session: Session, slug: str, now: datetime | None = None) -> PublicCredential:
    """Return the credential behind a share link; NotFoundError unless the link works now."""
    share = public_share(session, slug, now)
    record = latest_records(session, [share.credential_id]).get(share.credential_id)
    return PublicCredential(share.credential, session.get(User, share.owner_id), public_record(record),
                            share.include_evidence, share=share)


@dataclass
class VerifyNow:
    """The outcome of a viewer's "verify now": a re-check queued, one already under way, or a recent result."""

    queued: str | None  # the id of the re-check job to enqueue; None when nothing new was queued
    under_way: bool  # a re-check is queued or running (this one or an earlier viewer's)
    status: str


def verify_now(
    session: Session,
    target: PublicCredential,
    *,
    reuse_within: timedelta = DEFAULT_VERIFY_REUSE,
    now: datetime | None = None,
) -> VerifyNow:
    """Queue a re-check of a public credential, unless it was checked within `reuse_within` or one is under way.

    The check runs as a background job (wallet/tasks.py `recheck`); the caller commits, then enqueues
    `queued`. The page shows the stored result, and the fresh one once the job has written it.
    """
    now = now or utcnow()
    credential = target.credential
    last_attempt = max(filter(None, (credential.checked_at, credential.recheck_failed_at)))
    if now - last_attempt < reuse_within:
        return VerifyNow(None, False, credential.status)
    job = job_service.recheck_job(session, credential.owner_id, credential.id)
    return VerifyNow(job.id if job is not None else None, True, credential.status)


def check_under_way(session: Session, target: PublicCredential) -> bool:
    """Whether a re-check of the credential a public page shows is queued or running."""
    return job_service.check_under_way(session, target.credential.id)
