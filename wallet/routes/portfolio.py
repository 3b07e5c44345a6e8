"""Portfolios and sharing, the learner's side: build, preview and publish pages, share credentials.

Under /portfolios (login required, owner-scoped). What anyone with a link reads is served by the
`public` blueprint (routes/public.py).
"""
from __future__ import annotations

from datetime import datetime, time, timezone
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from wallet.db import get_session
from wallet.models.portfolio import LISTED, UNLISTED
from wallet.public_pages import photo_response, portfolio_page, share_links
from wallet.services import credentials as credential_service
from wallet.services import pathways as pathway_service
from wallet.services import portfolios as service
from wallet.services import share_links as share_service
from wallet.services import originals, presentations, public_view, sharing
from wallet.services.errors import ValidationError
from wallet.web import external_url
from wallet.wiring import collaborators

bp = Blueprint("portfolio", __name__)

VISIBILITY_LABELS = {
    "private": "Only me (preview)",
    "unlisted": "Anyone with the link",
    "listed": "Anyone with the link, and listed on my public profile",
}


@bp.get("/portfolios/")
@login_required
def index():
    """List the learner's portfolios and share links, with their view counts."""
    session = get_session()
    key = presentations.find_learner_key(session, current_user.id)
    portfolios = service.list_portfolios(session, current_user.id)
    profile = service.profile_for(session, current_user.id) if any(p.visibility == LISTED for p in portfolios) else None
    session.commit()
    return render_template("portfolio/index.html", portfolios=portfolios, shares=share_service.list_shares(session, current_user.id),
                           profile=profile, wallet_key=key, is_public=service.is_public, labels=VISIBILITY_LABELS,
                           is_share_public=share_service.is_share_public,
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
    shown = [e.credential for e in public_view.portfolio_view(session, portfolio).entries]
    return render_template(
        "portfolio/edit.html", portfolio=portfolio, chosen=chosen, disclosure=originals.disclosure(shown),
        not_verified=[(c, presentations.not_presentable_reason(c)) for c in shown if not presentations.is_presentable(c)],
        chosen_pathways={item.pathway_id for item in portfolio.pathway_items},
        credentials=service.shareable_credentials(session, current_user.id),
        pathways=pathway_service.list_pathways(session, current_user.id),
        addresses=current_user.verified_addresses, labels=VISIBILITY_LABELS, is_public=service.is_public(portfolio),
        public_url=external_url("public.portfolio", slug=portfolio.slug))


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
    return portfolio_page(public_view.portfolio_view(session, portfolio), preview=True)


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
    return photo_response(portfolio)


@bp.post("/portfolios/profile")
@login_required
def profile_handle():
    """Choose the address of the public profile page."""
    session = get_session()
    profile = service.set_handle(session, current_user.id, request.form.get("handle", ""))
    session.commit()
    flash(f"Your profile address is now {external_url('public.profile', handle=profile.handle)}.", "success")
    return redirect(url_for("portfolio.index"))


@bp.get("/portfolios/credentials/<int:credential_id>/share")
@login_required
def credential_share(credential_id: int):
    """Show a credential's share link, with LinkedIn, social links, QR code and embed snippet."""
    session = get_session()
    credential = credential_service.get_credential(session, current_user.id, credential_id)
    share = share_service.get_share(session, current_user.id, credential_id)
    context: dict[str, Any] = {
        "credential": credential, "share": share, "live": False, "disclosure": originals.disclosure([credential]),
        "not_verified": None if presentations.is_presentable(credential) else presentations.state_words(credential)}
    if share is not None and share_service.is_share_public(share):
        url = external_url("public.shared", slug=share.slug)
        context.update(
            live=True, url=url, links=share_links(credential, url),
            add_to_profile=sharing.linkedin_add_to_profile_url(
                name=credential.name, organization_name=credential.issuer_name or credential.verified_issuer or "",
                issued_at=credential.issued_at or credential.valid_from, expires_at=credential.expires_at,
                cert_url=url, cert_id=credential.credential_uri),
            embed=sharing.embed_snippet(external_url("public.embed", slug=share.slug), credential.name))
    return render_template("portfolio/share.html", **context)


@bp.post("/portfolios/credentials/<int:credential_id>/share")
@login_required
def share_credential(credential_id: int):
    """Create (or update) the credential's public page."""
    session = get_session()
    share_service.share_credential(session, current_user.id, credential_id, include_evidence=_checked("include_evidence"),
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
    share_service.regenerate_share(session, current_user.id, credential_id)
    session.commit()
    flash("The credential's page has a new link. The old link no longer works.", "success")
    return redirect(url_for("portfolio.credential_share", credential_id=credential_id))


@bp.post("/portfolios/credentials/<int:credential_id>/share/revoke")
@login_required
def revoke_share(credential_id: int):
    """Withdraw the credential's public page."""
    session = get_session()
    share_service.revoke_share(session, current_user.id, credential_id)
    session.commit()
    flash("The credential's public page is withdrawn.", "success")
    return redirect(url_for("portfolio.credential_share", credential_id=credential_id))
