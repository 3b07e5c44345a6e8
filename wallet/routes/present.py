"""Answer a verifier's presentation request, as the logged-in learner (services/presentation_requests.py).

GET /present shows the request (pasted, or carried by the verifier's link as `?request=` JSON or
`?challenge=&domain=`) with who asks and the credentials that may answer; nothing is signed on a GET.
POST /present/review reads a pasted request; POST /present/sign (CSRF-protected, like every form)
signs the learner's approved answer and shows it to copy or download.
"""
from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, current_app, render_template, request
from flask_login import current_user, login_required

from wallet.db import get_session
from wallet.services import presentation_requests as service
from wallet.services import sharing
from wallet.services.errors import ValidationError
from wallet.wiring import collaborators

bp = Blueprint("present", __name__)


def _read(values: Any) -> service.PresentationRequest:
    return service.read_request(values.get("request"), challenge=values.get("challenge"),
                                domain=values.get("domain"))


def _page(*, status: int = 200, error: str | None = None, presentation_request: service.PresentationRequest | None = None,
          chosen: set[int] | None = None) -> tuple[str, int]:
    """Render the request page: the paste form, or the review of a request with the learner's choices."""
    choices = service.choices(get_session(), current_user.id, blobs=collaborators().blobs,
                              languages=[language for language, _ in request.accept_languages]
                              ) if presentation_request is not None else None
    body = render_template(
        "present/request.html", presentation_request=presentation_request, choices=choices, error=error,
        chosen=chosen or set(), disclosed=set(request.form.getlist("disclose")), pasted=request.values.get("request", ""),
        challenge=request.values.get("challenge", ""), domain=request.values.get("domain", ""))
    return body, status


@bp.get("/present")
@login_required
def show():
    """Show the request form, or the review of a request a verifier's link carries (nothing is signed)."""
    if not any(request.args.get(name) for name in ("request", "challenge", "domain")):
        return _page()
    try:
        presentation_request = _read(request.args)
    except ValidationError as error:
        return _page(status=400, error=str(error))
    return _page(presentation_request=presentation_request)


@bp.post("/present/review")
@login_required
def review():
    """Read a pasted request (or a plain challenge and domain) and show who asks; nothing is signed."""
    try:
        presentation_request = _read(request.form)
    except ValidationError as error:
        return _page(status=400, error=str(error))
    return _page(presentation_request=presentation_request)


@bp.post("/present/sign")
@login_required
def sign():
    """Sign the learner's approved answer and show it to copy or download."""
    session = get_session()
    try:
        presentation_request = _read(request.form)
    except ValidationError as error:
        return _page(status=400, error=str(error))
    chosen = [int(v) for v in request.form.getlist("credential") if v.isdigit()]
    # SD-JWT VCs: each ticked claim comes as "disclose" = "<credential id>:<digest of its disclosure>".
    disclose: dict[int, set[str]] = {}
    for value in request.form.getlist("disclose"):
        credential_id, _, digest = value.partition(":")
        if credential_id.isdigit() and digest:
            disclose.setdefault(int(credential_id), set()).add(digest)
    try:
        signed = service.answer(session, current_user.id, presentation_request, chosen,
                                secret_key=current_app.config["SECRET_KEY"], blobs=collaborators().blobs,
                                disclose=disclose)
    except ValidationError as error:
        # The refusal is shown beside the choice it concerns; nothing was signed or stored.
        session.rollback()
        return _page(status=400, error=str(error), presentation_request=presentation_request, chosen=set(chosen))
    session.commit()
    text = json.dumps(signed.document, indent=2, ensure_ascii=False)
    body = render_template(
        "present/answer.html", presentation_request=presentation_request, signed=signed, text=text,
        download_href="data:application/json;charset=utf-8," + quote(text, safe=""),
        filename=sharing.download_name(f"presentation for {presentation_request.domain}", "vp.json"))
    response = Response(body)
    # A signed answer is for this learner's eyes and this one verifier: never kept by a cache.
    response.headers["Cache-Control"] = "no-store"
    return response
