"""What the public pages and the learner's preview of them share: the portfolio page, link previews,
share links, the photo, and the headers of pages anyone with a link may read.

Route modules do not import each other; the learner's preview (`portfolio.preview`) renders the same
page as the public one (`public.portfolio`), from here.
"""
from __future__ import annotations

from typing import Any

from flask import Response, render_template

from wallet.formatting import state_word
from wallet.models.portfolio import LISTED, Portfolio
from wallet.services import originals, public_view, sharing
from wallet.services.errors import NotFoundError
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
    body = render_template(
        "portfolio/public.html", view=view, preview=preview, url=url, meta_tags=tags, disclosure=disclosure,
        links=sharing.share_links(url, title=portfolio.title, text=f"{view.owner.display_name}: {portfolio.title}"),
        media_type=media_type, indexable=portfolio.visibility == LISTED and not preview)
    return private_response(Response(body), indexable=portfolio.visibility == LISTED and not preview)


def preview_image(endpoint: str, values: dict[str, Any], sha256: str, *, alt: str) -> sharing.PreviewImage:
    """Describe a stored PNG as a link preview's image."""
    size = sharing.png_size(collaborators().blobs.get(sha256)[:64])
    return sharing.PreviewImage(external_url(endpoint, **values), *(size or (None, None)), alt=alt)


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
