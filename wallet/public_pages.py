"""What the public pages and the learner's preview of them share: the portfolio page, link previews,
share links, the photo, and the headers of pages anyone with a link may read.

Route modules do not import each other; the learner's preview (`portfolio.preview`) renders the same
page as the public one (`public.portfolio`), from here.
"""
from __future__ import annotations

import functools
import hashlib
import time
from typing import Any

from flask import Response, get_template_attribute, render_template, request
from flask_login import current_user
from flask import session as session_store
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from sqlalchemy.orm import Session

from wallet.formatting import state_word
from wallet.models.portfolio import LISTED, Portfolio
from wallet.models.user import User
from wallet.services import originals, public_view, sharing
from wallet.services.errors import NotFoundError
from wallet.services.fragments import CachedPage, Fragment
from wallet.services.images import PNG
from wallet.services.public_view import PublicCredential
from wallet.web import external_url
from wallet.wiring import collaborators

_MEDIA_TYPES = {"application/json": "application/ld+json", "application/jwt": "application/vc+jwt"}


def private_response(response: Response, *, indexable: bool = False) -> Response:
    """Mark a public page as never cached by shared caches, and as not for search engines unless listed."""
    # Public pages carry a CSRF token (verify now) and may be withdrawn at any time: never cached by
    # shared caches; unlisted pages are not for search engines.
    response.headers["Cache-Control"] = "private, no-cache"
    if not indexable:
        response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def share_links(credential: Any, url: str) -> sharing.ShareLinks:
    """Return the social links to share a credential's page."""
    issuer = credential.issuer_name or credential.verified_issuer or "its issuer"
    text = f"{credential.name}, from {issuer}. {state_word(credential.status)} on Wallet."
    return sharing.share_links(url, title=credential.name, text=text)


def portfolio_page(view: public_view.PortfolioView, *, preview: bool = False) -> Response:
    """Render a portfolio as the public sees it (or as its learner previews it)."""
    indexable = view.portfolio.visibility == LISTED and not preview
    return private_response(Response(_portfolio_body(view, preview=preview)), indexable=indexable)


def _portfolio_body(view: public_view.PortfolioView, *, preview: bool = False,
                    fragments: dict[int, Fragment] | None = None) -> str:
    portfolio = view.portfolio
    url = external_url("public.portfolio", slug=portfolio.slug)
    image = None
    if portfolio.photo_sha256:
        image = preview_image("public.photo", {"slug": portfolio.slug}, portfolio.photo_sha256,
                              alt=view.owner.display_name)
    elif view.entries:
        image = credential_preview_image(view.entries[0])
    description = view.summary.text if not portfolio.headline else f"{portfolio.headline} · {view.summary.text}"
    tags = sharing.preview_tags(title=f"{view.owner.display_name}: {portfolio.title}", description=description,
                                url=url, image=image, kind="profile")
    # The learner's preview says what the originals reveal, next to its Publish button.
    disclosure = originals.disclosure([e.credential for e in view.entries]) if preview else None
    return render_template(
        "portfolio/public.html", view=view, preview=preview, url=url, meta_tags=tags, disclosure=disclosure,
        links=sharing.share_links(url, title=portfolio.title, text=f"{view.owner.display_name}: {portfolio.title}"),
        media_type=media_type, indexable=portfolio.visibility == LISTED and not preview, fragments=fragments)


# Stands in for the viewer's CSRF token in cached entries. Markup, so it is written as it is: no text a
# learner writes can produce it, because their text is always escaped.
_CSRF_STAND_IN = Markup("<wallet-csrf-token>")
_CSRF_STAND_IN_BYTES = _CSRF_STAND_IN.encode("utf-8")
# A page answered 304 keeps the CSRF token it was sent with: revalidate within the token's lifetime.
_TOKEN_PERIOD = 1800


def published_portfolio_page(session: Session, portfolio: Portfolio) -> Response:
    """Render a published portfolio for a viewer from cached parts when what they show is unchanged.

    Reads the page's facts in two light queries. A page for an anonymous viewer with no message
    waiting is kept whole, keyed by everything it shows; otherwise, and on a miss, only the entries
    the cache lacks are rendered. A request whose ETag still matches is answered 304 (no body).
    """
    built = collaborators()
    owner = session.get(User, portfolio.owner_id)
    view = public_view.portfolio_facts(session, portfolio, owner)
    page_key = _page_key(view)
    page = built.fragments.get(page_key) if page_key is not None else None
    if page is None:
        body = _portfolio_body(view, fragments=_entries(session, view)).encode("utf-8")
        page = CachedPage(body, hashlib.sha256(body).hexdigest())
        if page_key is not None:
            built.fragments.put(page_key, page)
    # The ETag covers the page as sent but for the token, plus the viewer's session token and its period.
    token_key = f"{page.digest}|{session_store.get('csrf_token', '')}|{int(time.time() // _TOKEN_PERIOD)}"
    etag = hashlib.sha256(token_key.encode("utf-8")).hexdigest()
    response = private_response(Response(), indexable=portfolio.visibility == LISTED)
    response.set_etag(etag)
    # Last-Modified is informative only: evidence removed or a new day ("verified today") changes the
    # page without a newer time, so only a matching ETag earns a 304 (RFC 9110 13.2.2: If-None-Match first).
    response.last_modified = max([portfolio.updated_at, *(t.credential.updated_at for t in view.entries),
                                  *(t.credential.checked_at for t in view.entries)])
    if request.if_none_match.contains(etag):
        response.status_code = 304
        return response
    response.set_data(page.body.replace(_CSRF_STAND_IN_BYTES, generate_csrf().encode("ascii")))
    return response


def _page_key(view: public_view.PortfolioView) -> tuple[Any, ...] | None:
    """Return everything a whole page shows, or None when the page is not kept whole.

    Not kept: pages with pathways (their progress reads the learner's whole wallet), and pages for a
    logged-in viewer or with a message waiting (their header differs).
    """
    if view.pathways or current_user.is_authenticated or session_store.get("_flashes"):
        return None
    portfolio = view.portfolio
    shown = (portfolio.slug, portfolio.visibility, portfolio.title, portfolio.headline, portfolio.about,
             portfolio.photo_sha256, portfolio.show_contact, portfolio.contact_email, portfolio.contact_url,
             portfolio.show_originals)
    return ("page", request.host_url, shown, view.owner.display_name, view.summary.text,
            tuple(target.credential.stamp for target in view.entries))


def _entries(session: Session, view: public_view.PortfolioView) -> dict[int, Fragment]:
    """Return the rendered entries of a page: from the cache, rendering (and keeping) those it lacks."""
    built = collaborators()
    fragments: dict[int, Fragment] = {}
    missing = []
    # The head's rel=alternate links are absolute: the host is part of the key.
    for target in view.entries:
        cached = built.fragments.get((request.host_url, target.credential.stamp))
        if cached is None:
            missing.append(target.credential)
        else:
            fragments[target.credential.id] = cached
    if missing:
        entry = get_template_attribute("portfolio/_public.html", "entry")
        alternate = get_template_attribute("portfolio/_public.html", "alternate")
        whole = public_view.portfolio_entries(session, view.portfolio, view.owner, [facts.id for facts in missing])
        for facts in missing:
            fragment = Fragment(alternate(whole[facts.id], media_type),
                                entry(whole[facts.id], media_type, csrf=_CSRF_STAND_IN))
            built.fragments.put((request.host_url, facts.stamp), fragment)
            fragments[facts.id] = fragment
    return fragments


def preview_image(endpoint: str, values: dict[str, Any], sha256: str, *, alt: str) -> sharing.PreviewImage:
    """Describe a stored PNG as a link preview's image."""
    size = _png_size(sha256)
    return sharing.PreviewImage(external_url(endpoint, **values), *(size or (None, None)), alt=alt)


@functools.lru_cache(maxsize=4096)
def _png_size(sha256: str) -> tuple[int, int] | None:
    # A stored blob never changes under its digest: its size is read once per process.
    return sharing.png_size(collaborators().blobs.get(sha256)[:64])


def credential_preview_image(target: PublicCredential) -> sharing.PreviewImage:
    """Return a credential's link preview image: its PNG, else the plain badge picture."""
    credential = target.credential
    if credential.image_sha256 and credential.image_type == PNG:
        return preview_image("public.image", target.url_args, credential.image_sha256, alt=credential.name)
    # Link previews do not show SVG: use the plain badge picture instead.
    return sharing.PreviewImage(external_url("static", filename="img/badge-placeholder.png"), alt=credential.name)


def media_type(credential: Any) -> str:
    """Return the media type under which a credential's original is offered (link rel=alternate)."""
    return _MEDIA_TYPES.get(credential.original_type, credential.original_type)


def photo_response(portfolio: Portfolio) -> Response:
    """Send a portfolio's photo; NotFoundError if it has none."""
    if not portfolio.photo_sha256:
        raise NotFoundError("There is no photo.")
    response = Response(collaborators().blobs.get(portfolio.photo_sha256), mimetype=PNG)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response
