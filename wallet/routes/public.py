"""Public pages: anyone with a link reads what a learner published.

/p/<slug> (portfolio), /p/<slug>/credentials/<id> and /c/<slug> (one credential), /u/<handle>
(profile), /embed/c/<slug> (the only page that may be framed, docs/security.md F9) and /oembed. Public
pages read stored results only; "verify now" and the presentation download are rate-limited per
client, and so are misses, so that links cannot be found by trying (F4).
"""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for

from wallet.db import get_session
from wallet.formatting import state_word
from wallet.headers import CONTENT_SECURITY_POLICY
from wallet.public_pages import (
    credential_preview_image,
    media_type,
    photo_response,
    private_response,
    published_portfolio_page,
    share_links,
)
from wallet.services import evidence as evidence_service
from wallet.services import disclosures, presentations, public_view, sharing, view_counts
from wallet.services.credentials import baked_image
from wallet.services.errors import NotFoundError, RateLimitedError
from wallet.services.images import PNG, SVG, SVG_HEADERS
from wallet.services.public_view import PublicCredential
from wallet.web import external_url, send_bytes
from wallet.wiring import collaborators

bp = Blueprint("public", __name__)

# The embed card may be framed by any site; everything else keeps `frame-ancestors 'none'` (F9).
EMBED_CSP = CONTENT_SECURITY_POLICY.replace("frame-ancestors 'none'", "frame-ancestors *")
_EXTENSIONS = {"application/json": "json", "application/jwt": "jwt", "application/dc+sd-jwt": "sd-jwt", PNG: "png", SVG: "svg"}


# ---------------------------------------------------------------------------------------------
# Per-client limits (in Redis across processes when configured, else in memory; the client address is
# kept only as a keyed hash)


def _client_key() -> str:
    secret = str(current_app.config["SECRET_KEY"]).encode("utf-8")
    return hmac.new(secret, (request.remote_addr or "-").encode("utf-8"), hashlib.sha256).hexdigest()[:32]


_LIMIT_MESSAGES = {
    "verify-now": "Too many checks from here in a short time. Try again in a few minutes.",
    "presentations": "Too many presentations were made from here in a short time. Try again in a few minutes.",
}


def _take(name: str) -> None:
    """Count one use of an expensive public action by this client; RateLimitedError past the limit."""
    if collaborators().limiter(name).take(_client_key()):  # one atomic step, across processes with Redis
        raise RateLimitedError(_LIMIT_MESSAGES[name])


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


# ---------------------------------------------------------------------------------------------
# Pages


@bp.get("/p/<slug>")
def portfolio(slug: str):
    """Show a published portfolio to anyone with its link, and count the view."""
    portfolio = _public(public_view.public_portfolio, slug)
    response = published_portfolio_page(get_session(), portfolio)
    _count(view_counts.PORTFOLIO, portfolio.id)
    return response


def _count(kind: str, target_id: int) -> None:
    """Count a view in Redis or memory; write the pending counts to the database when they are due."""
    views = collaborators().views
    views.count(kind, target_id)
    if views.is_due():
        session = get_session()
        # End the read transaction first: SQLite refuses to upgrade a read transaction to a write while
        # another request writes (docs/reliability.md §7); a transaction that starts with the write waits instead.
        session.commit()
        views.flush(session)
        session.commit()


@bp.get("/p/<slug>/credentials/<int:credential_id>")
def credential(slug: str, credential_id: int):
    """Show one credential of a published portfolio."""
    return _credential_page(_public(public_view.portfolio_credential, slug, credential_id))


@bp.get("/c/<slug>")
def shared(slug: str):
    """Show a credential the learner shared on its own (the target of social posts), and count the view."""
    target = _public(public_view.shared_credential, slug)
    _count(view_counts.SHARE, target.share.id)
    return _credential_page(target)


def _resolve(slug: str, credential_id: int | None) -> PublicCredential:
    if credential_id is None:
        return _public(public_view.shared_credential, slug)
    return _public(public_view.portfolio_credential, slug, credential_id)


def _credential_page(target: PublicCredential) -> Response:
    credential = target.credential
    endpoint = "public.shared" if target.share is not None else "public.credential"
    url = external_url(endpoint, **target.url_args)
    issuer = credential.issuer_name or credential.verified_issuer or "an unnamed issuer"
    tags = sharing.preview_tags(
        title=f"{credential.name} · {target.owner.display_name}",
        description=f"Issued by {issuer}. {state_word(credential.status)} on Wallet.",
        url=url, image=credential_preview_image(target), kind="article")
    oembed = external_url("public.oembed", url=url, format="json") if target.share is not None else None
    body = render_template("portfolio/credential.html", target=target, url=url, meta_tags=tags, oembed=oembed,
                           links=share_links(credential, url), media_type=media_type,
                           checking=public_view.check_under_way(get_session(), target))
    return private_response(Response(body))


@bp.post("/p/<slug>/credentials/<int:credential_id>/verify")
@bp.post("/c/<slug>/verify", defaults={"credential_id": None})
def verify_now(slug: str, credential_id: int | None):
    """Queue a re-check of the credential (a recent result is reused; limited per client); the page shows it when done."""
    target = _resolve(slug, credential_id)
    _take("verify-now")
    session = get_session()
    reuse = timedelta(seconds=float(current_app.config.get("VERIFY_NOW_REUSE_SECONDS",
                                                          public_view.DEFAULT_VERIFY_REUSE.total_seconds())))
    outcome = public_view.verify_now(session, target, reuse_within=reuse)
    if outcome.queued is not None:
        collaborators().enqueue_job(session, "recheck", outcome.queued)
    session.commit()
    if not outcome.under_way:
        flash("This credential was checked moments ago; that result is shown.", "info")
    else:
        flash("Checking again with the issuer now. Reload this page in a moment to see the result.", "info")
    if request.form.get("back") == "portfolio" and target.portfolio is not None:
        return redirect(url_for("public.portfolio", slug=slug) + f"#credential-{target.credential.id}")
    endpoint = "public.shared" if target.share is not None else "public.credential"
    return redirect(url_for(endpoint, **target.url_args) + "#report")


def _offered_original(slug: str, credential_id: int | None) -> Any:
    """Return the credential whose original this link offers; NotFoundError if the learner keeps it back."""
    target = _resolve(slug, credential_id)
    if not target.show_originals:
        # The original names its recipient as issued (docs/security.md F5); the learner chose not to publish it.
        raise NotFoundError("The original of this credential is not offered here.")
    return target.credential


@bp.get("/p/<slug>/credentials/<int:credential_id>/original")
@bp.get("/c/<slug>/original", defaults={"credential_id": None})
def original(slug: str, credential_id: int | None):
    """Download the credential exactly as it was issued, to check it with any verifier."""
    credential = _offered_original(slug, credential_id)
    data = collaborators().blobs.get(credential.original_sha256)
    if credential.format_id == "sdjwt":
        data = disclosures.public_original(data)  # no selectively disclosable claim on a public page
    extension = _EXTENSIONS.get(credential.original_type, "bin")
    return send_bytes(data, media_type(credential) if extension != "jwt" else "application/vc+jwt",
                      sharing.download_name(credential.name, extension))


@bp.get("/p/<slug>/credentials/<int:credential_id>/baked")
@bp.get("/c/<slug>/baked", defaults={"credential_id": None})
def baked(slug: str, credential_id: int | None):
    """Download the badge image with the credential baked in."""
    credential = _offered_original(slug, credential_id)
    data, content_type = baked_image(credential, collaborators().blobs)
    return send_bytes(data, content_type, sharing.download_name(credential.name, "svg" if content_type == SVG else "png"),
                      extra=SVG_HEADERS)


@bp.get("/p/<slug>/credentials/<int:credential_id>/image")
@bp.get("/c/<slug>/image", defaults={"credential_id": None})
def image(slug: str, credential_id: int | None):
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
def evidence(slug: str, credential_id: int | None, evidence_id: int):
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
    endpoint = "public.shared" if target.share is not None else "public.credential"
    return _svg(sharing.qr_svg(external_url(endpoint, **target.url_args)))


@bp.get("/p/<slug>/qr.svg")
def portfolio_qr(slug: str):
    """Serve a QR code (SVG) of the portfolio's link."""
    portfolio = _public(public_view.public_portfolio, slug)
    return _svg(sharing.qr_svg(external_url("public.portfolio", slug=portfolio.slug)))


def _svg(data: bytes) -> Response:
    response = Response(data, mimetype=SVG)
    response.headers.update(SVG_HEADERS)
    return response


@bp.get("/p/<slug>/photo")
def photo(slug: str):
    """Serve the portfolio's photo."""
    return photo_response(_public(public_view.public_portfolio, slug))


@bp.get("/p/<slug>/presentation.json")
def presentation(slug: str):
    """Download the portfolio's credentials as a plain Verifiable Presentation signed by the learner's key.

    It answers no verifier's request: the query string is never read, so no caller's challenge or
    domain is signed (a challenge is answered only by the learner, on /present). Only credentials
    that verify go in. With the originals kept back, there is no presentation: it is made of them.
    """
    portfolio = _public(public_view.public_portfolio, slug)
    if not portfolio.show_originals:
        raise NotFoundError("This portfolio does not offer its credentials for download.")
    _take("presentations")
    session = get_session()
    view = public_view.portfolio_view(session, portfolio)
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
    view = _public(public_view.public_profile, handle)
    url = external_url("public.profile", handle=view.profile.handle)
    tags = sharing.preview_tags(title=view.owner.display_name, description=f"Portfolios of {view.owner.display_name}",
                                url=url, image=None, kind="profile")
    body = render_template("portfolio/profile.html", view=view, url=url, meta_tags=tags)
    return private_response(Response(body), indexable=True)


@bp.get("/embed/c/<slug>")
def embed(slug: str):
    """Show a read-only credential card meant to be framed by other sites."""
    target = _public(public_view.shared_credential, slug)
    response = Response(render_template("portfolio/embed.html", target=target,
                                        url=external_url("public.shared", slug=slug)))
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
    target = _public(public_view.shared_credential, segments[-1])
    credential = target.credential
    document = sharing.oembed_document(
        title=credential.name, author_name=target.owner.display_name, author_url=None,
        provider_url=external_url("main.index"), embed_url=external_url("public.embed", slug=target.slug),
        thumbnail=credential_preview_image(target),
        max_width=request.args.get("maxwidth", type=int), max_height=request.args.get("maxheight", type=int))
    response = current_app.json.response(document)
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response
