"""Portfolios, single-credential share links and the public profile: building them, and reading them
for the public pages.

Rules (security.md F3-F5, E1-E8):
- Learner-side functions take the acting `owner_id` and filter by it; another learner's portfolio,
  credential or pathway is "not found".
- Public functions take only a slug. A slug that is unknown, private, revoked or expired is "not
  found" with no data; a credential is public only as an item of a public portfolio or through its
  own share link. Credentials issued to someone else (recipient mismatch, D18) never go public.
- Public pages show stored verification results only; nothing is fetched while they render.
  "Verify now" re-verifies through services/credentials.py, reusing a result that is recent.
- Viewer counts are a plain counter: no address, cookie or identity of the viewer is stored.
"""
from __future__ import annotations

import re
import secrets
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, defer, selectinload

from wallet.db import utcnow
from wallet.models.credential import RECIPIENT_MISMATCH, Credential, VerificationRecord
from wallet.models.pathway import Pathway
from wallet.models.portfolio import (
    ITEM_CREDENTIAL,
    LISTED,
    PRIVATE,
    UNLISTED,
    VISIBILITIES,
    CredentialShare,
    Portfolio,
    PortfolioItem,
    PublicProfile,
)
from wallet.models.user import User
from wallet.services import credentials as credential_service
from wallet.services import images
from wallet.services import pathways as pathway_service
from wallet.services.blobs import BlobStore
from wallet.services.errors import NotFoundError, ValidationError
from wallet.services.sanitize import clean_text, safe_url
from wallet.services.verification.fetching import Fetch
from wallet.formatting import time_ago

MAX_PORTFOLIOS = 50
MAX_ITEMS = 200
MAX_TITLE = 200
MAX_HEADLINE = 300
MAX_ABOUT = 20_000
MAX_PHOTO_BYTES = 5 * 1024 * 1024
# F4: 32 random bytes, URL-safe (43 characters).
SLUG_BYTES = 32
_SLUG = re.compile(r"[A-Za-z0-9_-]{20,64}")
_HANDLE = re.compile(r"[a-z0-9](?:[a-z0-9-]{1,38}[a-z0-9])")
# A re-check this recent is shown again instead of asking the issuer once more.
DEFAULT_VERIFY_REUSE = timedelta(minutes=2)
# The state words of DESIGN.md, as the summary line counts them.
_SUMMARY_WORDS = (("valid", "verified"), ("revoked", "revoked"), ("invalid", "not genuine"),
                  ("expired", "expired"), ("not_yet_valid", "not yet valid"), ("unverifiable", "couldn't verify"))
# Report details that could identify the recipient are never shown publicly (F5, D18).
_PRIVATE_DETAIL_KEYS = frozenset({"identity", "identity_hash", "identityHash", "salt", "email", "recipient",
                                  "recipients"})


def new_slug() -> str:
    """Return a fresh unguessable link slug."""
    return secrets.token_urlsafe(SLUG_BYTES)


def _is_slug(value: str) -> bool:
    return isinstance(value, str) and bool(_SLUG.fullmatch(value))


def _text(value: Any, what: str, limit: int, *, required: bool = False, multiline: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError(f"The {what} must be text.")
    value = value.strip()
    if required and not value:
        raise ValidationError(f"Give the portfolio a {what}.")
    if len(value) > limit:
        raise ValidationError(f"The {what} is too long (at most {limit:,} characters).")
    return clean_text(value, limit=limit, keep_newlines=multiline)


# ---------------------------------------------------------------------------------------------
# Portfolios (learner side)


def list_portfolios(session: Session, owner_id: int) -> list[Portfolio]:
    """Return the learner's portfolios, most recently changed first."""
    query = (select(Portfolio).where(Portfolio.owner_id == owner_id)
             .options(selectinload(Portfolio.items)).order_by(Portfolio.updated_at.desc(), Portfolio.id.desc()))
    return list(session.scalars(query))


def get_portfolio(session: Session, owner_id: int, portfolio_id: int) -> Portfolio:
    """Return the learner's portfolio; NotFoundError if they have none by that id."""
    portfolio = session.scalar(select(Portfolio).where(Portfolio.id == portfolio_id, Portfolio.owner_id == owner_id))
    if portfolio is None:
        raise NotFoundError("There is no such portfolio in your wallet.")
    return portfolio


def create_portfolio(session: Session, owner_id: int, *, title: str, headline: str = "", about: str = "") -> Portfolio:
    """Create a private portfolio (it is published separately, after a preview)."""
    count = session.scalar(select(func.count()).select_from(Portfolio).where(Portfolio.owner_id == owner_id)) or 0
    if count >= MAX_PORTFOLIOS:
        raise ValidationError(f"You can keep at most {MAX_PORTFOLIOS} portfolios. Delete one you no longer use.")
    portfolio = Portfolio(owner_id=owner_id, title=_text(title, "title", MAX_TITLE, required=True),
                          headline=_text(headline, "headline", MAX_HEADLINE),
                          about=_text(about, "about text", MAX_ABOUT, multiline=True),
                          visibility=PRIVATE, slug=new_slug(), view_count=0, show_contact=False,
                          show_originals=True)
    session.add(portfolio)
    session.flush()
    return portfolio


def update_portfolio(
    session: Session,
    owner_id: int,
    portfolio_id: int,
    *,
    title: str | None = None,
    headline: str | None = None,
    about: str | None = None,
    show_contact: bool | None = None,
    contact_email: str | None = None,
    contact_url: str | None = None,
) -> Portfolio:
    """Change the portfolio's texts and contact choices; None leaves a field as it is.

    The contact address must be one of the learner's confirmed addresses; the link must be http(s).
    """
    portfolio = get_portfolio(session, owner_id, portfolio_id)
    if title is not None:
        portfolio.title = _text(title, "title", MAX_TITLE, required=True)
    if headline is not None:
        portfolio.headline = _text(headline, "headline", MAX_HEADLINE)
    if about is not None:
        portfolio.about = _text(about, "about text", MAX_ABOUT, multiline=True)
    if contact_email is not None:
        address = contact_email.strip().lower()
        user = session.get(User, owner_id)
        if address and (user is None or address not in user.verified_addresses):
            raise ValidationError("Choose one of your confirmed email addresses as the contact address.")
        portfolio.contact_email = address or None
    if contact_url is not None:
        link = contact_url.strip()
        if link and safe_url(link) is None:
            raise ValidationError("The contact link must be a web address starting with https:// or http://.")
        portfolio.contact_url = link or None
    if show_contact is not None:
        portfolio.show_contact = bool(show_contact)
    portfolio.updated_at = utcnow()
    session.flush()
    return portfolio


def set_show_originals(session: Session, owner_id: int, portfolio_id: int, show: bool) -> Portfolio:
    """Offer the credentials' originals (and the presentation made of them) on the public page, or not."""
    portfolio = get_portfolio(session, owner_id, portfolio_id)
    portfolio.show_originals = bool(show)
    portfolio.updated_at = utcnow()
    session.flush()
    return portfolio


def delete_portfolio(session: Session, owner_id: int, portfolio_id: int) -> None:
    """Delete the portfolio; its link stops working at once (the credentials stay in the wallet)."""
    session.delete(get_portfolio(session, owner_id, portfolio_id))
    session.flush()


def _eligible_credentials(session: Session, owner_id: int, ids: Iterable[int]) -> dict[int, Credential]:
    wanted = set(ids)
    found = {c.id: c for c in session.scalars(
        select(Credential).where(Credential.owner_id == owner_id, Credential.id.in_(wanted)))}
    if set(found) != wanted:
        raise NotFoundError("There is no such credential in your wallet.")
    for credential in found.values():
        if credential.recipient_state == RECIPIENT_MISMATCH:
            raise ValidationError(f"“{clean_text(credential.name, limit=100)}” names a recipient who is not you, "
                                  "so it cannot be shown publicly as yours.")
    return found


def set_items(
    session: Session,
    owner_id: int,
    portfolio_id: int,
    *,
    credentials: Sequence[tuple[int, bool]],
    pathways: Sequence[int],
) -> Portfolio:
    """Choose the portfolio's credentials (id, include evidence) and pathways.

    Items already in the portfolio keep their place; new ones go at the end in the order given.
    """
    portfolio = get_portfolio(session, owner_id, portfolio_id)
    evidence = {int(cid): bool(flag) for cid, flag in credentials}
    pathway_ids = list(dict.fromkeys(int(p) for p in pathways))
    if len(evidence) + len(pathway_ids) > MAX_ITEMS:
        raise ValidationError(f"A portfolio can hold at most {MAX_ITEMS} items.")
    _eligible_credentials(session, owner_id, evidence)
    owned_pathways = set(session.scalars(
        select(Pathway.id).where(Pathway.owner_id == owner_id, Pathway.id.in_(pathway_ids))))
    if owned_pathways != set(pathway_ids):
        raise NotFoundError("There is no such pathway in your wallet.")
    kept: list[PortfolioItem] = []
    for item in portfolio.items:
        if item.credential_id is not None and item.credential_id in evidence:
            item.include_evidence = evidence.pop(item.credential_id)
            kept.append(item)
        elif item.pathway_id is not None and item.pathway_id in pathway_ids:
            pathway_ids.remove(item.pathway_id)
            kept.append(item)
    order = [cid for cid, _ in credentials if cid in evidence]
    added = [PortfolioItem(credential_id=cid, include_evidence=evidence[cid]) for cid in dict.fromkeys(order)]
    added += [PortfolioItem(pathway_id=pid, include_evidence=False) for pid in pathway_ids]
    portfolio.items = kept + added
    for position, item in enumerate(portfolio.items, start=1):
        item.position = position
    portfolio.updated_at = utcnow()
    session.flush()
    return portfolio


def move_item(session: Session, owner_id: int, portfolio_id: int, item_id: int, direction: str) -> Portfolio:
    """Move an item one place up or down among the items of its kind."""
    if direction not in ("up", "down"):
        raise ValidationError("Say whether to move the item up or down.")
    portfolio = get_portfolio(session, owner_id, portfolio_id)
    item = next((i for i in portfolio.items if i.id == item_id), None)
    if item is None:
        raise NotFoundError("That item is not in this portfolio.")
    same_kind = [i for i in portfolio.items if i.kind == item.kind]
    index = same_kind.index(item)
    other_index = index - 1 if direction == "up" else index + 1
    if 0 <= other_index < len(same_kind):
        other = same_kind[other_index]
        item.position, other.position = other.position, item.position
        portfolio.items.sort(key=lambda i: (i.position, i.id))
        portfolio.updated_at = utcnow()
        session.flush()
    return portfolio


def set_visibility(session: Session, owner_id: int, portfolio_id: int, visibility: str) -> Portfolio:
    """Make the portfolio private, unlisted (anyone with the link) or listed on the public profile."""
    if visibility not in VISIBILITIES:
        raise ValidationError("Choose who can see the portfolio: only you, anyone with the link, or everyone "
                              "who visits your profile.")
    portfolio = get_portfolio(session, owner_id, portfolio_id)
    portfolio.visibility = visibility
    if visibility != PRIVATE and portfolio.published_at is None:
        portfolio.published_at = utcnow()
    if visibility == LISTED:
        profile_for(session, owner_id)
    portfolio.updated_at = utcnow()
    session.flush()
    return portfolio


def publish(session: Session, owner_id: int, portfolio_id: int, visibility: str = UNLISTED) -> Portfolio:
    """Publish the portfolio (after its preview): unlisted unless `visibility` says listed."""
    if visibility not in (UNLISTED, LISTED):
        raise ValidationError("A published portfolio is either unlisted or listed on your profile.")
    portfolio = set_visibility(session, owner_id, portfolio_id, visibility)
    if portfolio.link_revoked_at is not None:
        regenerate_link(session, owner_id, portfolio_id)
    return portfolio


def regenerate_link(session: Session, owner_id: int, portfolio_id: int) -> Portfolio:
    """Give the portfolio a new link; the old one stops working at once."""
    portfolio = get_portfolio(session, owner_id, portfolio_id)
    portfolio.slug = new_slug()
    portfolio.link_revoked_at = None
    portfolio.updated_at = utcnow()
    session.flush()
    return portfolio


def revoke_link(session: Session, owner_id: int, portfolio_id: int) -> Portfolio:
    """Stop the portfolio's link from working (a new link can be made later)."""
    portfolio = get_portfolio(session, owner_id, portfolio_id)
    portfolio.link_revoked_at = utcnow()
    portfolio.updated_at = utcnow()
    session.flush()
    return portfolio


def _future(expires_at: datetime | None, now: datetime | None) -> datetime | None:
    if expires_at is None:
        return None
    if expires_at.tzinfo is None:
        raise ValidationError("The expiry date needs a time zone.")
    if expires_at <= (now or utcnow()):
        raise ValidationError("Choose an expiry date in the future.")
    return expires_at


def set_link_expiry(session: Session, owner_id: int, portfolio_id: int, expires_at: datetime | None,
                    now: datetime | None = None) -> Portfolio:
    """Let the portfolio's link stop working at `expires_at` (None: it does not expire)."""
    portfolio = get_portfolio(session, owner_id, portfolio_id)
    portfolio.slug_expires_at = _future(expires_at, now)
    portfolio.updated_at = utcnow()
    session.flush()
    return portfolio


def set_photo(session: Session, owner_id: int, portfolio_id: int, data: bytes, blobs: BlobStore) -> Portfolio:
    """Use an uploaded picture (PNG, JPEG, GIF or WebP; re-encoded as PNG) as the portfolio's photo."""
    portfolio = get_portfolio(session, owner_id, portfolio_id)
    if len(data) > MAX_PHOTO_BYTES:
        raise ValidationError("The photo is larger than 5 MB.")
    if images.sniff_image_type(data) not in images.RASTER_TYPES:
        raise ValidationError("The photo must be a PNG, JPEG, GIF or WebP picture.")
    stored = images.normalise_image(data)
    portfolio.photo_sha256 = blobs.put(stored.data)
    portfolio.updated_at = utcnow()
    session.flush()
    return portfolio


def remove_photo(session: Session, owner_id: int, portfolio_id: int) -> Portfolio:
    """Show no photo on the portfolio."""
    portfolio = get_portfolio(session, owner_id, portfolio_id)
    portfolio.photo_sha256 = None
    portfolio.updated_at = utcnow()
    session.flush()
    return portfolio


def is_public(portfolio: Portfolio, now: datetime | None = None) -> bool:
    """Tell whether the portfolio's link works now: published, not revoked, not expired."""
    now = now or utcnow()
    return (portfolio.visibility != PRIVATE and portfolio.link_revoked_at is None
            and (portfolio.slug_expires_at is None or portfolio.slug_expires_at > now))


def shareable_credentials(session: Session, owner_id: int) -> list[Credential]:
    """Return the learner's credentials that may be shown publicly (not issued to someone else)."""
    query = (select(Credential).where(Credential.owner_id == owner_id, Credential.recipient_state != RECIPIENT_MISMATCH)
             .order_by(Credential.name, Credential.id))
    return list(session.scalars(query))


# ---------------------------------------------------------------------------------------------
# Public profile


def profile_for(session: Session, owner_id: int) -> PublicProfile:
    """Return the learner's public profile address, making a random handle the first time."""
    profile = session.scalar(select(PublicProfile).where(PublicProfile.owner_id == owner_id))
    if profile is None:
        profile = PublicProfile(owner_id=owner_id, handle=secrets.token_hex(8))
        session.add(profile)
        session.flush()
    return profile


def set_handle(session: Session, owner_id: int, handle: str) -> PublicProfile:
    """Choose the public profile's address (/u/<handle>): 3 to 40 lower-case letters, digits or dashes."""
    handle = (handle or "").strip().lower()
    if not _HANDLE.fullmatch(handle):
        raise ValidationError("A profile address has 3 to 40 lower-case letters, digits and dashes, "
                              "and starts and ends with a letter or digit.")
    profile = profile_for(session, owner_id)
    taken = session.scalar(select(PublicProfile.id).where(PublicProfile.handle == handle,
                                                          PublicProfile.owner_id != owner_id))
    if taken is not None:
        raise ValidationError("That profile address is taken; choose another.")
    profile.handle = handle
    session.flush()
    return profile


@dataclass
class ProfileView:
    owner: User
    profile: PublicProfile
    portfolios: list[Portfolio]


def public_profile(session: Session, handle: str, now: datetime | None = None) -> ProfileView:
    """Return a learner's public profile with their listed portfolios; NotFoundError if none is listed."""
    if not isinstance(handle, str) or not _HANDLE.fullmatch(handle):
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


# ---------------------------------------------------------------------------------------------
# Credential share links (learner side)


def get_share(session: Session, owner_id: int, credential_id: int) -> CredentialShare | None:
    """Return the credential's share link (working or revoked), or None if it was never shared."""
    credential_service.get_credential(session, owner_id, credential_id)
    return session.scalar(select(CredentialShare).where(CredentialShare.credential_id == credential_id,
                                                        CredentialShare.owner_id == owner_id))


def list_shares(session: Session, owner_id: int) -> list[CredentialShare]:
    """Return the learner's credential share links, newest first."""
    query = (select(CredentialShare).where(CredentialShare.owner_id == owner_id)
             .options(selectinload(CredentialShare.credential)).order_by(CredentialShare.created_at.desc()))
    return list(session.scalars(query))


def share_credential(session: Session, owner_id: int, credential_id: int, *, include_evidence: bool = False,
                     expires_at: datetime | None = None, show_originals: bool | None = None,
                     now: datetime | None = None) -> CredentialShare:
    """Give the credential a public page; a revoked link is replaced by a new one, never revived.

    `show_originals` None keeps the current choice (a new page offers the original).
    """
    credential = _eligible_credentials(session, owner_id, [credential_id])[credential_id]
    share = get_share(session, owner_id, credential.id)
    if share is None:
        share = CredentialShare(owner_id=owner_id, credential_id=credential.id, slug=new_slug(), view_count=0,
                                show_originals=True)
        session.add(share)
    elif share.revoked_at is not None:
        share.slug, share.revoked_at, share.created_at = new_slug(), None, utcnow()
    share.include_evidence = bool(include_evidence)
    if show_originals is not None:
        share.show_originals = bool(show_originals)
    share.expires_at = _future(expires_at, now)
    session.flush()
    return share


def _existing_share(session: Session, owner_id: int, credential_id: int) -> CredentialShare:
    share = get_share(session, owner_id, credential_id)
    if share is None:
        raise NotFoundError("This credential is not shared.")
    return share


def regenerate_share(session: Session, owner_id: int, credential_id: int) -> CredentialShare:
    """Give the credential's public page a new link; the old one stops working at once."""
    share = _existing_share(session, owner_id, credential_id)
    share.slug, share.revoked_at = new_slug(), None
    session.flush()
    return share


def revoke_share(session: Session, owner_id: int, credential_id: int) -> CredentialShare:
    """Stop the credential's public page."""
    share = _existing_share(session, owner_id, credential_id)
    share.revoked_at = utcnow()
    session.flush()
    return share


def is_share_public(share: CredentialShare, now: datetime | None = None) -> bool:
    """Tell whether the share link works now."""
    now = now or utcnow()
    return (share.revoked_at is None and (share.expires_at is None or share.expires_at > now)
            and share.credential.recipient_state != RECIPIENT_MISMATCH)


# ---------------------------------------------------------------------------------------------
# Public reading


_NOT_FOUND = "There is no such page. The link may have been withdrawn or have expired."


def public_portfolio(session: Session, slug: str, now: datetime | None = None) -> Portfolio:
    """Return the portfolio behind a public link; NotFoundError unless the link works now."""
    if not _is_slug(slug):
        raise NotFoundError(_NOT_FOUND)
    portfolio = session.scalar(select(Portfolio).where(Portfolio.slug == slug))
    if portfolio is None or not is_public(portfolio, now):
        raise NotFoundError(_NOT_FOUND)
    return portfolio


def public_share(session: Session, slug: str, now: datetime | None = None) -> CredentialShare:
    """Return the credential share behind a public link; NotFoundError unless it works now."""
    if not _is_slug(slug):
        raise NotFoundError(_NOT_FOUND)
    share = session.scalar(select(CredentialShare).where(CredentialShare.slug == slug)
                           .options(selectinload(CredentialShare.credential)))
    if share is None or not is_share_public(share, now):
        raise NotFoundError(_NOT_FOUND)
    return share


def count_portfolio_view(session: Session, portfolio: Portfolio) -> None:
    """Count one view of the portfolio (one atomic UPDATE; nothing about the viewer is kept).

    Call it first in a transaction: SQLite cannot turn a read transaction into a write while
    another connection writes (security.md §2.7), so the caller commits its reads before.
    """
    # A view is not an edit: updated_at keeps its value.
    session.execute(update(Portfolio).where(Portfolio.id == portfolio.id)
                    .values(view_count=Portfolio.view_count + 1, updated_at=Portfolio.updated_at)
                    .execution_options(synchronize_session=False))


def count_share_view(session: Session, share: CredentialShare) -> None:
    """Count one view of a credential's public page (first in a transaction, as count_portfolio_view)."""
    session.execute(update(CredentialShare).where(CredentialShare.id == share.id)
                    .values(view_count=CredentialShare.view_count + 1).execution_options(synchronize_session=False))


@dataclass
class PublicRecord:
    """A verification record as the public may see it: the recipient check and identities removed."""

    checked_at: datetime
    conclusive: bool
    status: str
    report: dict[str, Any]


def public_record(record: VerificationRecord | None) -> PublicRecord | None:
    """Return the record without anything about the recipient (security.md F5, D18)."""
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
    """Summarise credentials as "12 credentials from 5 providers · all verified today" (DESIGN.md)."""
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
    """The outcome of a viewer's "verify now": re-checked, or a recent result shown again."""

    rechecked: bool
    conclusive: bool
    status: str


def verify_now(
    session: Session,
    target: PublicCredential,
    *,
    fetch: Fetch,
    blobs: BlobStore,
    reuse_within: timedelta = DEFAULT_VERIFY_REUSE,
    now: datetime | None = None,
) -> VerifyNow:
    """Re-verify a public credential on the server, unless it was checked within `reuse_within`."""
    now = now or utcnow()
    credential = target.credential
    last_attempt = max(filter(None, (credential.checked_at, credential.recheck_failed_at)))
    if now - last_attempt < reuse_within:
        return VerifyNow(False, credential.recheck_failed_at is None, credential.status)
    recheck = credential_service.reverify_credential(session, credential.owner_id, credential.id, fetch=fetch,
                                                     blobs=blobs, trigger="viewer")
    return VerifyNow(True, recheck.conclusive, recheck.credential.status)
