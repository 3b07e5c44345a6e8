"""Add → "From an offer": take a credential offer (OID4VCI 1.0) and receive its credentials.

The learner pastes an `openid-credential-offer://` URI or an https link. A pre-authorized offer is
received at once; an authorization code offer sends the learner's browser to the issuer and back to
`callback`; a credential the issuer defers is received by a job whose page shows its progress.
"""
from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from wallet.db import get_session
from wallet.services import jobs as job_service
from wallet.services import offers, oid4vci
from wallet.services.errors import FetchError, ImportRejectedError, ValidationError
from wallet.web import allow_form_redirects_off_site, external_url
from wallet.wiring import collaborators

bp = Blueprint("offers", __name__, url_prefix="/credentials/offers")
# The authorization in progress, kept in the learner's own session: its state is single-use (popped).
PENDING_KEY = "oid4vci_pending"
MAX_OFFER_FIELD = 16 * 1024


@bp.post("/")
@login_required
def receive() -> ResponseReturnValue:
    """Take the offer the learner pasted; show a refusal beside the field, keeping what they typed."""
    text = request.form.get("offer", "")[:MAX_OFFER_FIELD].strip()
    tx_code = request.form.get("tx_code", "").strip() or None
    db = get_session()
    try:
        received = receive_offer(db, current_user.id, text, tx_code=tx_code)
    except (ImportRejectedError, FetchError, ValidationError) as error:
        db.rollback()  # nothing is kept from a refused offer
        status = 502 if isinstance(error, FetchError) else 400 if isinstance(error, ValidationError) else 422
        return allow_form_redirects_off_site(render_template(
            "credentials/add.html", tab="offer", results=None, offer=text, offer_error=str(error)), status)
    if received.authorize_url:
        db.commit()
        session[PENDING_KEY] = received.pending
        return redirect(received.authorize_url, 303)
    return _after(db, received)


@bp.get("/callback")
@login_required
def callback() -> ResponseReturnValue:
    """Finish an authorization code offer: the issuer sends the learner back here with `code` and `state`."""
    db = get_session()
    secret = str(current_app.config["SECRET_KEY"])
    holder = oid4vci.holder_for(db, current_user.id, secret_key=secret)
    received = oid4vci.complete_authorization(
        db, collaborators().provider_client(), collaborators().importer(db, current_user.id), holder,
        session.pop(PENDING_KEY, None), state=request.args.get("state", ""), code=request.args.get("code", ""),
        error=request.args.get("error", ""))
    return _after(db, received)


def receive_offer(db: Any, owner_id: int, text: str, *, tx_code: str | None) -> Any:
    """Take what the learner pasted; services/offers.py dispatches it by its shape."""
    # The key first: the importer's recipients then include the learner's did:key.
    secret = str(current_app.config["SECRET_KEY"])
    holder = oid4vci.holder_for(db, owner_id, secret_key=secret)
    built = collaborators()
    return offers.receive(db, built.provider_client(), built.importer(db, owner_id), holder, text,
                          exchange_client=built.exchange_client(), secret_key=secret, tx_code=tx_code,
                          client_id=client_id(), redirect_uri=external_url("offers.callback"))


def client_id() -> str:
    """Return the client_id Wallet names at an issuer's authorization server: OFFER_CLIENT_ID, else its base URL."""
    return str(current_app.config.get("OFFER_CLIENT_ID") or external_url("main.index").rstrip("/"))


def _after(db: Any, received: oid4vci.Received) -> ResponseReturnValue:
    if received.job is not None:
        collaborators().enqueue_job(db, "receive_deferred", received.job.id)
    db.commit()
    issuer = received.issuer_name
    if received.job is not None:
        flash(f"{issuer} will issue the credential a little later. Wallet waits for it and adds it.", "info")
        return redirect(url_for("offers.progress", job_id=received.job.id), 303)
    if len(received.items) == 1:
        flash(f"{received.items[0].message} (from {issuer})", "success")
        return redirect(url_for("credentials.show", credential_id=received.items[0].credential.id), 303)
    flash(f"{len(received.items)} credentials from {issuer} were added to your wallet.", "success")
    return redirect(url_for("credentials.index"), 303)


@bp.get("/jobs/<job_id>")
@login_required
def progress(job_id: str) -> ResponseReturnValue:
    """Show how a deferred issuance is going (refreshes itself without script)."""
    response = current_app.make_response(render_template("credentials/offer_job.html", job=_job(job_id)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/jobs/<job_id>/status")
@login_required
def status(job_id: str) -> ResponseReturnValue:
    """Answer the deferred issuance's state as JSON, for the progress page's script."""
    response = jsonify(job_service.summary(_job(job_id)))
    response.headers["Cache-Control"] = "no-store"
    return response


def _job(job_id: str) -> Any:
    return job_service.get_job(get_session(), current_user.id, job_id, kind=job_service.OFFER,
                               stale_after=collaborators().job_stale_after)



