"""Portfolios and the public profile, the learner's side: building, choosing, publishing, withdrawing.

Rules (docs/security.md F3-F5, E1-E8):
- Functions take the acting `owner_id` and filter by it; another learner's portfolio, credential or
  pathway is "not found".
- Credentials issued to someone else (recipient mismatch, D18) never go public.

Single-credential share links are in share_links.py; what the public pages read is in public_view.py.
"""
from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from wallet.db import utcnow
from wallet.models.credential import RECIPIENT_MISMATCH, Credential
from wallet.models.pathway import Pathway
from wallet.models.portfolio import (
    LISTED,
    PRIVATE,
    UNLISTED,
    VISIBILITIES,
    Portfolio,
    PortfolioItem,
    PublicProfile,
)
from wallet.models.user import User
from wallet.services import images
from wallet.services.blobs import BlobStore
from wallet.services.errors import NotFoundError, ValidationError
from wallet.services.sanitize import clean_text, safe_url

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


def new_slug() -> str:
    """Return a fresh unguessable link slug."""
    return secrets.token_urlsafe(SLUG_BYTES)


def is_slug(value: str) -> bool:
    """Tell whether `value` has the shape of a link slug (F4)."""
    return isinstance(value, str) and bool(_SLUG.fullmatch(value))


def is_handle(value: str) -> bool:
    """Tell whether `value` is a well-formed public profile handle."""
    return isinstance(value, str) and bool(_HANDLE.fullmatch(value))


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


def eligible_credentials(session: Session, owner_id: int, ids: Iterable[int]) -> dict[int, Credential]:
    """Return the learner's credentials among `ids` that may go public, by id; NotFoundError for any other."""
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
    eligible_credentials(session, owner_id, evidence)
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


def future_expiry(expires_at: datetime | None, now: datetime | None) -> datetime | None:
    """Return an expiry that is in the future (None: never); ValidationError for one already past."""
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
    portfolio.slug_expires_at = future_expiry(expires_at, now)
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
