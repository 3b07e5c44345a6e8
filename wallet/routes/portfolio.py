"""Portfolios and sharing: the learner builds and publishes pages; anyone with a link reads them.

Learner side under /portfolios (login required, owner-scoped). Public side: /p/<slug> (portfolio),
/p/<slug>/credentials/<id> and /c/<slug> (one credential), /u/<handle> (profile), /embed/c/<slug>
(the only page that may be framed, security.md F9) and /oembed. Public pages read stored results
only; "verify now" and the presentation download are rate-limited per client, and so are misses,
so that links cannot be found by trying (F4).
"""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, time, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup

from wallet.db import get_session, utcnow
from wallet.headers import CONTENT_SECURITY_POLICY
from wallet.models.portfolio import LISTED, UNLISTED, VISIBILITIES, Portfolio
from wallet.services import credentials as credential_service
from wallet.services import evidence as evidence_service
from wallet.services import pathways as pathway_service
from wallet.services import portfolios as service
from wallet.services import originals, presentations, sharing
from wallet.services.credentials import baked_image
from wallet.services.errors import NotFoundError, RateLimitedError, ValidationError
from wallet.services.images import PNG, SVG, SVG_HEADERS
from wallet.services.portfolios import PublicCredential
from wallet.services.sanitize import clean_text, external_link, render_markdown
from wallet.web import external_url, send_bytes
from wallet.wiring import collaborators

bp = Blueprint("portfolio", __name__)
bp.add_app_template_filter(clean_text, "clean_text")
bp.add_app_template_global(external_link, "external_link")


@bp.app_template_global("markdown")
def markdown(text: str | None) -> Markup:
    """Render Markdown through the sanitiser (templates call this; never `|safe`)."""
    return render_markdown(text)


VISIBILITY_LABELS = {
    "private": "Only me (preview)",
    "unlisted": "Anyone with the link",
    "listed": "Anyone with the link, and listed on my public profile",
}
# The embed card may be framed by any site; everything else keeps `frame-ancestors 'none'` (F9).
EMBED_CSP = CONTENT_SECURITY_POLICY.replace("frame-ancestors 'none'", "frame-ancestors *")
_MEDIA_TYPES = {"application/json": "application/ld+json", "application/jwt": "application/vc+jwt"}
_EXTENSIONS = {"application/json": "json", "application/jwt": "jwt", PNG: "png", SVG: "svg"}


# ---------------------------------------------------------------------------------------------
# Per-client limits (in memory, per process; the client address is kept only as a keyed hash)


def _client_key() -> str:
    secret = str(current_app.config["SECRET_KEY"]).encode("utf-8")
    return hmac.new(secret, (request.remote_addr or "-").encode("utf-8"), hashlib.sha256).hexdigest()[:32]


_LIMIT_MESSAGES = {
    "verify-now": "Too many checks from here in a short time. Try again in a few minutes.",
    "presentations": "Too many presentations were made from here in a short time. Try again in a few minutes.",
}


def _take(name: str) -> None:
    """Count one use of an expensive public action by this client; RateLimitedError past the limit."""
    window = collaborators().limiter(name)
    client = _client_key()
    if window.is_blocked(client):
        raise RateLimitedError(_LIMIT_MESSAGES[name])
    window.record(client)


def _public(lookup: Any, *args: Any) -> Any:
    """Run a public lookup; count misses per client and refuse a client that keeps missing."""
    client = _client_key()
    misses = collaborators().limiter("link-misses")
    if misses.is_blocked(client):
        raise RateLimitedError("Too many links that do not exist were tried. Wait a few minutes and try again.")
    try:
        return lookup(get_session(), *args)
    except NotFoundError:
        misses.record(client)
        raise


def _private_response(response: Response, *, indexable: bool = False) -> Response:
    # Public pages carry a CSRF token (verify now) and may be withdrawn at any time: never cached by
    # shared caches; unlisted pages are not for search engines.
    response.headers["Cache-Control"] = "private, no-cache"
    if not indexable:
        response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


# ---------------------------------------------------------------------------------------------
# Learner side


@bp.get("/portfolios/")
@login_required
def index():
    """List the learner's portfolios and share links, with their view counts."""
    session = get_session()
    key = presentations.find_learner_key(session, current_user.id)
    portfolios = service.list_portfolios(session, current_user.id)
    profile = service.profile_for(session, current_user.id) if any(p.visibility == LISTED for p in portfolios) else None
    session.commit()
    return render_template("portfolio/index.html", portfolios=portfolios, shares=service.list_shares(session, current_user.id),
                           profile=profile, wallet_key=key, is_public=service.is_public, labels=VISIBILITY_LABELS,
                           is_share_public=service.is_share_public,
                           shareable=service.shareable_credentials(session, current_user.id))


@bp.route("/portfolios/new", methods=["GET", "POST"])
@login_required
def new():
    """Start a portfolio: a title and a headline; credentials are chosen next."""
    if request.method == "POST":
        session = get_session()
        portfolio = service.create_portfolio(session, current_user.id, title=request.form.get("title", ""),
                                             headline=request.form.get("headline", ""),
                                             about=request.form.get("about", ""))
        session.commit()
        flash("Portfolio created. Choose what it shows, then preview and publish it.", "success")
        return redirect(url_for("portfolio.edit", portfolio_id=portfolio.id))
    return render_template("portfolio/new.html")


def _checked(name: str) -> bool:
    return request.form.get(name) in ("on", "1", "true", "yes")


@bp.route("/portfolios/<int:portfolio_id>/edit", methods=["GET", "POST"])
@login_required
def edit(portfolio_id: int):
    """Edit the texts, contact choices, credentials (with or without evidence) and pathways."""
    session = get_session()
    if request.method == "POST":
        service.update_portfolio(
            session, current_user.id, portfolio_id, title=request.form.get("title", ""),
            headline=request.form.get("headline", ""), about=request.form.get("about", ""),
            show_contact=_checked("show_contact"), contact_email=request.form.get("contact_email", ""),
            contact_url=request.form.get("contact_url", ""))
        chosen = [int(v) for v in request.form.getlist("credential") if v.isdigit()]
        service.set_items(session, current_user.id, portfolio_id,
                          credentials=[(cid, _checked(f"evidence-{cid}")) for cid in chosen],
                          pathways=[int(v) for v in request.form.getlist("pathway") if v.isdigit()])
        photo = request.files.get("photo")
        if photo is not None and photo.filename:
            data = photo.stream.read(service.MAX_PHOTO_BYTES + 1)
            service.set_photo(session, current_user.id, portfolio_id, data, collaborators().blobs)
        elif _checked("remove_photo"):
            service.remove_photo(session, current_user.id, portfolio_id)
        session.commit()
        flash("Portfolio saved.", "success")
        return redirect(url_for("portfolio.edit", portfolio_id=portfolio_id))
    portfolio = service.get_portfolio(session, current_user.id, portfolio_id)
    chosen = {item.credential_id: item for item in portfolio.credential_items}
    shown = [e.credential for e in service.portfolio_view(session, portfolio).entries]
    return render_template(
        "portfolio/edit.html", portfolio=portfolio, chosen=chosen, disclosure=originals.disclosure(shown),
        not_verified=[(c, presentations.not_presentable_reason(c)) for c in shown if not presentations.is_presentable(c)],
        chosen_pathways={item.pathway_id for item in portfolio.pathway_items},
        credentials=service.shareable_credentials(session, current_user.id),
        pathways=pathway_service.list_pathways(session, current_user.id),
        addresses=current_user.verified_addresses, labels=VISIBILITY_LABELS, is_public=service.is_public(portfolio),
        public_url=external_url("portfolio.public", slug=portfolio.slug))


@bp.post("/portfolios/<int:portfolio_id>/items/<int:item_id>/move")
@login_required
def move_item(portfolio_id: int, item_id: int):
    """Move an item up or down."""
    session = get_session()
    service.move_item(session, current_user.id, portfolio_id, item_id, request.form.get("direction", ""))
    session.commit()
    return redirect(url_for("portfolio.edit", portfolio_id=portfolio_id) + "#order")


@bp.get("/portfolios/<int:portfolio_id>/preview")
@login_required
def preview(portfolio_id: int):
    """Show the portfolio exactly as the public will see it (nothing is counted)."""
    session = get_session()
    portfolio = service.get_portfolio(session, current_user.id, portfolio_id)
    return _portfolio_page(service.portfolio_view(session, portfolio), preview=True)


@bp.post("/portfolios/<int:portfolio_id>/publish")
@login_required
def publish(portfolio_id: int):
    """Publish the portfolio: unlisted, or listed on the public profile."""
    session = get_session()
    portfolio = service.publish(session, current_user.id, portfolio_id, request.form.get("visibility", UNLISTED))
    session.commit()
    flash("Published. Anyone with the link can see it now.", "success")
    return redirect(url_for("portfolio.edit", portfolio_id=portfolio.id) + "#link")


@bp.post("/portfolios/<int:portfolio_id>/visibility")
@login_required
def visibility(portfolio_id: int):
    """Change who can see the portfolio."""
    session = get_session()
    portfolio = service.set_visibility(session, current_user.id, portfolio_id, request.form.get("visibility", ""))
    session.commit()
    flash(f"Visibility: {VISIBILITY_LABELS[portfolio.visibility].lower()}.", "success")
    return redirect(url_for("portfolio.edit", portfolio_id=portfolio_id) + "#link")


@bp.post("/portfolios/<int:portfolio_id>/regenerate")
@login_required
def regenerate(portfolio_id: int):
    """Replace the portfolio's link with a new one; the old link stops working."""
    session = get_session()
    service.regenerate_link(session, current_user.id, portfolio_id)
    session.commit()
    flash("The portfolio has a new link. The old link no longer works.", "success")
    return redirect(url_for("portfolio.edit", portfolio_id=portfolio_id) + "#link")


@bp.post("/portfolios/<int:portfolio_id>/revoke")
@login_required
def revoke(portfolio_id: int):
    """Withdraw the portfolio's link."""
    session = get_session()
    service.revoke_link(session, current_user.id, portfolio_id)
    session.commit()
    flash("The link is withdrawn: nobody can open the portfolio with it any more.", "success")
    return redirect(url_for("portfolio.edit", portfolio_id=portfolio_id) + "#link")


def parse_expiry(value: str | None) -> datetime | None:
    """Read an expiry date (YYYY-MM-DD, the end of that day in UTC) from a form; "" means never."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise ValidationError("Enter the expiry date as a date, for example 2027-06-30.") from None
    return datetime.combine(day, time(23, 59, 59), tzinfo=timezone.utc)


@bp.post("/portfolios/<int:portfolio_id>/expiry")
@login_required
def expiry(portfolio_id: int):
    """Set or clear the date after which the link stops working."""
    session = get_session()
    portfolio = service.set_link_expiry(session, current_user.id, portfolio_id, parse_expiry(request.form.get("expires")))
    session.commit()
    flash(f"The link works until {portfolio.slug_expires_at:%d %B %Y}." if portfolio.slug_expires_at
          else "The link does not expire.", "success")
    return redirect(url_for("portfolio.edit", portfolio_id=portfolio_id) + "#link")


@bp.post("/portfolios/<int:portfolio_id>/originals")
@login_required
def originals_choice(portfolio_id: int):
    """Offer the credentials' originals on the public page, or keep them back."""
    session = get_session()
    portfolio = service.set_show_originals(session, current_user.id, portfolio_id, _checked("show_originals"))
    session.commit()
    flash("The public page offers each credential's original for download." if portfolio.show_originals else
          "The originals are kept back: the public page shows Wallet's verification only.", "success")
    return redirect(url_for("portfolio.edit", portfolio_id=portfolio_id) + "#originals")


@bp.route("/portfolios/<int:portfolio_id>/delete", methods=["GET", "POST"])
@login_required
def delete(portfolio_id: int):
    """Ask (GET), then delete the portfolio (POST)."""
    session = get_session()
    if request.method == "POST":
        service.delete_portfolio(session, current_user.id, portfolio_id)
        session.commit()
        flash("The portfolio is deleted and its link no longer works. Your credentials stay in your wallet.", "success")
        return redirect(url_for("portfolio.index"))
    return render_template("portfolio/delete.html", portfolio=service.get_portfolio(session, current_user.id, portfolio_id))


@bp.get("/portfolios/<int:portfolio_id>/photo")
@login_required
def owner_photo(portfolio_id: int):
    """Serve the portfolio's photo to its owner (for the editor and the preview)."""
    portfolio = service.get_portfolio(get_session(), current_user.id, portfolio_id)
    return _photo_response(portfolio)


@bp.post("/portfolios/profile")
@login_required
def profile_handle():
    """Choose the address of the public profile page."""
    session = get_session()
    profile = service.set_handle(session, current_user.id, request.form.get("handle", ""))
    session.commit()
    flash(f"Your profile address is now {external_url('portfolio.profile', handle=profile.handle)}.", "success")
    return redirect(url_for("portfolio.index"))


@bp.get("/portfolios/credentials/<int:credential_id>/share")
@login_required
def credential_share(credential_id: int):
    """Show a credential's share link, with LinkedIn, social links, QR code and embed snippet."""
    session = get_session()
    credential = credential_service.get_credential(session, current_user.id, credential_id)
    share = service.get_share(session, current_user.id, credential_id)
    context: dict[str, Any] = {
        "credential": credential, "share": share, "live": False, "disclosure": originals.disclosure([credential]),
        "not_verified": None if presentations.is_presentable(credential) else presentations.state_words(credential)}
    if share is not None and service.is_share_public(share):
        url = external_url("portfolio.shared", slug=share.slug)
        context.update(
            live=True, url=url, links=_share_links(credential, url),
            add_to_profile=sharing.linkedin_add_to_profile_url(
                name=credential.name, organization_name=credential.issuer_name or credential.verified_issuer or "",
                issued_at=credential.issued_at or credential.valid_from, expires_at=credential.expires_at,
                cert_url=url, cert_id=credential.credential_uri),
            embed=sharing.embed_snippet(external_url("portfolio.embed", slug=share.slug), credential.name))
    return render_template("portfolio/share.html", **context)


@bp.post("/portfolios/credentials/<int:credential_id>/share")
@login_required
def share_credential(credential_id: int):
    """Create (or update) the credential's public page."""
    session = get_session()
    service.share_credential(session, current_user.id, credential_id, include_evidence=_checked("include_evidence"),
                             expires_at=parse_expiry(request.form.get("expires")),
                             show_originals=_checked("show_originals"))
    session.commit()
    flash("The credential has a public page now. Share its link below.", "success")
    return redirect(url_for("portfolio.credential_share", credential_id=credential_id))


@bp.post("/portfolios/credentials/<int:credential_id>/share/regenerate")
@login_required
def regenerate_share(credential_id: int):
    """Give the credential's public page a new link."""
    session = get_session()
    service.regenerate_share(session, current_user.id, credential_id)
    session.commit()
    flash("The credential's page has a new link. The old link no longer works.", "success")
    return redirect(url_for("portfolio.credential_share", credential_id=credential_id))


@bp.post("/portfolios/credentials/<int:credential_id>/share/revoke")
@login_required
def revoke_share(credential_id: int):
    """Withdraw the credential's public page."""
    session = get_session()
    service.revoke_share(session, current_user.id, credential_id)
    session.commit()
    flash("The credential's public page is withdrawn.", "success")
    return redirect(url_for("portfolio.credential_share", credential_id=credential_id))


# ---------------------------------------------------------------------------------------------
# Public pages


def _share_links(credential: Any, url: str) -> sharing.ShareLinks:
    issuer = credential.issuer_name or credential.verified_issuer or "its issuer"
    return sharing.share_links(url, title=credential.name, text=f"{credential.name}, from {issuer}. Verified on Wallet.")


def _portfolio_page(view: service.PortfolioView, *, preview: bool = False) -> Response:
    portfolio = view.portfolio
    url = external_url("portfolio.public", slug=portfolio.slug)
    image = None
    if portfolio.photo_sha256:
        image = _preview_image("portfolio.public_photo", {"slug": portfolio.slug}, portfolio.photo_sha256,
                               alt=view.owner.display_name)
    elif view.entries:
        image = _credential_preview_image(view.entries[0])
    description = view.summary.text if not portfolio.headline else f"{portfolio.headline} · {view.summary.text}"
    tags = sharing.preview_tags(title=f"{view.owner.display_name}: {portfolio.title}", description=description,
                                url=url, image=image, kind="profile")
    # The learner's preview says what the originals reveal, next to its Publish button.
    disclosure = originals.disclosure([e.credential for e in view.entries]) if preview else None
    body = render_template(
        "portfolio/public.html", view=view, preview=preview, url=url, meta_tags=tags, disclosure=disclosure,
        links=sharing.share_links(url, title=portfolio.title, text=f"{view.owner.display_name}: {portfolio.title}"),
        media_type=_media_type, indexable=portfolio.visibility == LISTED and not preview)
    return _private_response(Response(body), indexable=portfolio.visibility == LISTED and not preview)


def _preview_image(endpoint: str, values: dict[str, Any], sha256: str, *, alt: str) -> sharing.PreviewImage:
    size = sharing.png_size(collaborators().blobs.get(sha256)[:64])
    return sharing.PreviewImage(external_url(endpoint, **values), *(size or (None, None)), alt=alt)


def _credential_preview_image(target: PublicCredential) -> sharing.PreviewImage:
    credential = target.credential
    if credential.image_sha256 and credential.image_type == PNG:
        return _preview_image("portfolio.public_image", target.url_args, credential.image_sha256, alt=credential.name)
    # Link previews do not show SVG: use the plain badge picture instead.
    return sharing.PreviewImage(external_url("static", filename="img/badge-placeholder.png"), alt=credential.name)


def _media_type(credential: Any) -> str:
    """Return the media type under which a credential's original is offered (link rel=alternate)."""
    return _MEDIA_TYPES.get(credential.original_type, credential.original_type)


@bp.get("/p/<slug>")
def public(slug: str):
    """Show a published portfolio to anyone with its link, and count the view."""
    portfolio = _public(service.public_portfolio, slug)
    session = get_session()
    _count(service.count_portfolio_view, portfolio)
    return _portfolio_page(service.portfolio_view(session, portfolio))


def _count(counter: Any, target: Any) -> None:
    session = get_session()
    # End the read transaction first: SQLite refuses to upgrade a read transaction to a write while
    # another request writes (security.md §2.7); a transaction that starts with the write waits instead.
    session.commit()
    counter(session, target)
    session.commit()


@bp.get("/p/<slug>/credentials/<int:credential_id>")
def public_credential(slug: str, credential_id: int):
    """Show one credential of a published portfolio."""
    return _credential_page(_public(service.portfolio_credential, slug, credential_id))


@bp.get("/c/<slug>")
def shared(slug: str):
    """Show a credential the learner shared on its own (the target of social posts), and count the view."""
    target = _public(service.shared_credential, slug)
    _count(service.count_share_view, target.share)
    return _credential_page(target)


def _resolve(slug: str, credential_id: int | None) -> PublicCredential:
    if credential_id is None:
        return _public(service.shared_credential, slug)
    return _public(service.portfolio_credential, slug, credential_id)


def _credential_page(target: PublicCredential) -> Response:
    credential = target.credential
    endpoint = "portfolio.shared" if target.share is not None else "portfolio.public_credential"
    url = external_url(endpoint, **target.url_args)
    issuer = credential.issuer_name or credential.verified_issuer or "an unnamed issuer"
    tags = sharing.preview_tags(
        title=f"{credential.name} · {target.owner.display_name}",
        description=f"Issued by {issuer}. {_state_sentence(credential.status)} on Wallet.",
        url=url, image=_credential_preview_image(target), kind="article")
    oembed = external_url("portfolio.oembed", url=url, format="json") if target.share is not None else None
    body = render_template("portfolio/credential.html", target=target, url=url, meta_tags=tags, oembed=oembed,
                           links=_share_links(credential, url), media_type=_media_type)
    return _private_response(Response(body))


def _state_sentence(status: str) -> str:
    return {"valid": "Verified", "revoked": "Revoked by its issuer", "expired": "Expired",
            "invalid": "Not genuine", "not_yet_valid": "Not valid yet"}.get(status, "Could not be verified")


@bp.post("/p/<slug>/credentials/<int:credential_id>/verify")
@bp.post("/c/<slug>/verify", defaults={"credential_id": None})
def verify_now(slug: str, credential_id: int | None):
    """Re-verify the credential on the server now (a recent result is reused; limited per client)."""
    target = _resolve(slug, credential_id)
    _take("verify-now")
    session = get_session()
    reuse = timedelta(seconds=float(current_app.config.get("VERIFY_NOW_REUSE_SECONDS",
                                                          service.DEFAULT_VERIFY_REUSE.total_seconds())))
    outcome = service.verify_now(session, target, fetch=collaborators().revalidating_fetch(),
                                 blobs=collaborators().blobs,
                                 reuse_within=reuse)
    session.commit()
    if not outcome.rechecked:
        flash("This credential was checked moments ago; that result is shown.", "info")
    elif outcome.conclusive:
        flash("Checked again just now.", "success")
    else:
        flash("The issuer could not be reached just now, so the last result is shown. Try again later.", "warning")
    if request.form.get("back") == "portfolio" and target.portfolio is not None:
        return redirect(url_for("portfolio.public", slug=slug) + f"#credential-{target.credential.id}")
    endpoint = "portfolio.shared" if target.share is not None else "portfolio.public_credential"
    return redirect(url_for(endpoint, **target.url_args) + "#report")


def _offered_original(slug: str, credential_id: int | None) -> Any:
    """Return the credential whose original this link offers; NotFoundError if the learner keeps it back."""
    target = _resolve(slug, credential_id)
    if not target.show_originals:
        # The original names its recipient as issued (security.md F5); the learner chose not to publish it.
        raise NotFoundError("The original of this credential is not offered here.")
    return target.credential


@bp.get("/p/<slug>/credentials/<int:credential_id>/original")
@bp.get("/c/<slug>/original", defaults={"credential_id": None})
def public_original(slug: str, credential_id: int | None):
    """Download the credential exactly as it was issued, to check it with any verifier."""
    credential = _offered_original(slug, credential_id)
    data = collaborators().blobs.get(credential.original_sha256)
    extension = _EXTENSIONS.get(credential.original_type, "bin")
    return send_bytes(data, _media_type(credential) if extension != "jwt" else "application/vc+jwt",
                      sharing.download_name(credential.name, extension))


@bp.get("/p/<slug>/credentials/<int:credential_id>/baked")
@bp.get("/c/<slug>/baked", defaults={"credential_id": None})
def public_baked(slug: str, credential_id: int | None):
    """Download the badge image with the credential baked in."""
    credential = _offered_original(slug, credential_id)
    data, content_type = baked_image(credential, collaborators().blobs)
    return send_bytes(data, content_type, sharing.download_name(credential.name, "svg" if content_type == SVG else "png"),
                      extra=SVG_HEADERS)


@bp.get("/p/<slug>/credentials/<int:credential_id>/image")
@bp.get("/c/<slug>/image", defaults={"credential_id": None})
def public_image(slug: str, credential_id: int | None):
    """Serve the badge image (re-encoded PNG, or SVG under a sandboxing CSP)."""
    target = _resolve(slug, credential_id)
    credential = target.credential
    # A baked SVG is kept as it came (images.py re-encodes only rasters), so it is the original itself:
    # kept back with the originals, it gives way to the plain picture.
    baked_original = credential.image_sha256 == credential.original_sha256
    if not credential.image_sha256 or (baked_original and not target.show_originals):
        return redirect(url_for("static", filename="img/badge-placeholder.svg"))
    response = Response(collaborators().blobs.get(credential.image_sha256), mimetype=credential.image_type or PNG)
    response.headers.update(SVG_HEADERS)
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@bp.get("/p/<slug>/credentials/<int:credential_id>/evidence/<int:evidence_id>")
@bp.get("/c/<slug>/evidence/<int:evidence_id>", defaults={"credential_id": None})
def public_evidence(slug: str, credential_id: int | None, evidence_id: int):
    """Send an evidence file the learner chose to show with the credential."""
    target = _resolve(slug, credential_id)
    if not target.include_evidence:
        raise NotFoundError("There is no such file.")
    credential = target.credential
    file = evidence_service.evidence_file(get_session(), credential.owner_id, credential.id, evidence_id, collaborators().blobs)
    return send_bytes(file.data, file.content_type, file.filename, attachment=not file.inline,
                      extra=evidence_service.FILE_HEADERS)


@bp.get("/p/<slug>/credentials/<int:credential_id>/qr.svg")
@bp.get("/c/<slug>/qr.svg", defaults={"credential_id": None})
def credential_qr(slug: str, credential_id: int | None):
    """Serve a QR code (SVG) of the credential page's link."""
    target = _resolve(slug, credential_id)
    endpoint = "portfolio.shared" if target.share is not None else "portfolio.public_credential"
    return _svg(sharing.qr_svg(external_url(endpoint, **target.url_args)))


@bp.get("/p/<slug>/qr.svg")
def portfolio_qr(slug: str):
    """Serve a QR code (SVG) of the portfolio's link."""
    portfolio = _public(service.public_portfolio, slug)
    return _svg(sharing.qr_svg(external_url("portfolio.public", slug=portfolio.slug)))


def _svg(data: bytes) -> Response:
    response = Response(data, mimetype=SVG)
    response.headers.update(SVG_HEADERS)
    return response


@bp.get("/p/<slug>/photo")
def public_photo(slug: str):
    """Serve the portfolio's photo."""
    return _photo_response(_public(service.public_portfolio, slug))


def _photo_response(portfolio: Portfolio) -> Response:
    if not portfolio.photo_sha256:
        raise NotFoundError("There is no photo.")
    response = Response(collaborators().blobs.get(portfolio.photo_sha256), mimetype=PNG)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


@bp.get("/p/<slug>/presentation.json")
def presentation(slug: str):
    """Download the portfolio's credentials as a plain Verifiable Presentation signed by the learner's key.

    It answers no verifier's request: the query string is never read, so no caller's challenge or
    domain is signed (a challenge is answered only by the learner, on /present). Only credentials
    that verify go in. With the originals kept back, there is no presentation: it is made of them.
    """
    portfolio = _public(service.public_portfolio, slug)
    if not portfolio.show_originals:
        raise NotFoundError("This portfolio does not offer its credentials for download.")
    _take("presentations")
    session = get_session()
    view = service.portfolio_view(session, portfolio)
    signed = presentations.build_presentation(
        session, portfolio.owner_id, [e.credential for e in view.entries], secret_key=current_app.config["SECRET_KEY"],
        blobs=collaborators().blobs)
    session.commit()
    response = Response(json.dumps(signed.document, indent=2, ensure_ascii=False), mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="{sharing.download_name(portfolio.title, "vp.json")}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/u/<handle>")
def profile(handle: str):
    """Show a learner's public profile: their listed portfolios."""
    view = _public(service.public_profile, handle)
    url = external_url("portfolio.profile", handle=view.profile.handle)
    tags = sharing.preview_tags(title=view.owner.display_name, description=f"Portfolios of {view.owner.display_name}",
                                url=url, image=None, kind="profile")
    body = render_template("portfolio/profile.html", view=view, url=url, meta_tags=tags)
    return _private_response(Response(body), indexable=True)


@bp.get("/embed/c/<slug>")
def embed(slug: str):
    """Show a read-only credential card meant to be framed by other sites."""
    target = _public(service.shared_credential, slug)
    response = Response(render_template("portfolio/embed.html", target=target,
                                        url=external_url("portfolio.shared", slug=slug)))
    response.headers["Content-Security-Policy"] = EMBED_CSP
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.get("/oembed")
def oembed():
    """Describe an embeddable credential card as oEmbed JSON (oembed.com §2.2)."""
    if request.args.get("format", "json") != "json":
        abort(501)  # oEmbed §2.3.4: a format the provider does not offer
    url = request.args.get("url", "")
    parts = urlsplit(url)
    own = urlsplit(external_url("main.index"))
    segments = parts.path.strip("/").split("/")
    if (parts.scheme, parts.netloc) != (own.scheme, own.netloc) or not (
            (len(segments) == 2 and segments[0] == "c") or (len(segments) == 3 and segments[:2] == ["embed", "c"])):
        raise NotFoundError("Wallet can embed only credential pages it serves.")
    target = _public(service.shared_credential, segments[-1])
    credential = target.credential
    document = sharing.oembed_document(
        title=credential.name, author_name=target.owner.display_name, author_url=None,
        provider_url=external_url("main.index"), embed_url=external_url("portfolio.embed", slug=target.slug),
        thumbnail=_credential_preview_image(target),
        max_width=request.args.get("maxwidth", type=int), max_height=request.args.get("maxheight", type=int))
    response = current_app.json.response(document)
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@bp.app_context_processor
def _portfolio_helpers() -> dict[str, Any]:
    return {"visibilities": VISIBILITIES, "now": utcnow}
