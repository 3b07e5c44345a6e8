"""Settings → Connected providers: connect a provider's Host or Badge Connect backpack, sync it, disconnect it."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import URLField
from wtforms.validators import InputRequired

from wallet.db import get_session
from wallet.headers import CONTENT_SECURITY_POLICY
from wallet.forms import refuse
from wallet.models.job import QUEUED
from wallet.models.provider import CONNECTED, PROVIDER_SYNC
from wallet.services import jobs as job_service
from wallet.services import providers
from wallet.services.errors import FetchError, ImportRejectedError, RateLimitedError, ValidationError
from wallet.services.ratelimit import describe_wait
from wallet.web import external_url, limited
from wallet.wiring import collaborators

bp = Blueprint("providers", __name__, url_prefix="/settings/providers")

# The `state` of the authorization under way in this browser (single use: popped by the callback).
STATE_KEY = "provider_authorization_state"


class ConnectForm(FlaskForm):
    url = URLField("Provider address", validators=[InputRequired("Enter the address the provider gave you.")])


def _client() -> providers.ProviderClient:
    home = external_url("main.index")
    # Without PROVIDER_TERMS_URL / PROVIDER_PRIVACY_URL the registration points at the wallet's home page.
    return collaborators().provider_client(redirect_uri=external_url("providers.callback"), urls={
        "client_uri": home, "logo_uri": external_url("static", filename="img/logo.svg"),
        "tos_uri": home, "policy_uri": home})


def _render(form: ConnectForm | None = None, status: int = 200) -> ResponseReturnValue:
    db = get_session()
    connections = providers.list_connections(db, current_user.id)
    jobs = {job.id: job for job in job_service.recent_jobs(db, current_user.id, kind=PROVIDER_SYNC, limit=50,
                                                           stale_after=collaborators().job_stale_after)}
    response = current_app.make_response((render_template(
        "providers/index.html", form=form or ConnectForm(formdata=None), connections=connections, jobs=jobs,
        kind_names=providers.KIND_NAMES), status))
    response.headers["Cache-Control"] = "no-store"
    # The connect form's answer redirects to the provider's authorization page, on another origin, and
    # CSP form-action also governs where a form's redirects may go: this page alone lets them go there.
    schemes = "https: http:" if current_app.config.get("ALLOW_PRIVATE_NETWORK") else "https:"
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.replace(
        "form-action 'self'", f"form-action 'self' {schemes}")
    return response


@bp.get("/")
@login_required
def index() -> ResponseReturnValue:
    """List the learner's connected providers, with the form to connect another."""
    return _render()


@bp.post("/connect")
@login_required
def connect() -> ResponseReturnValue:
    """Read the provider's discovery document, register Wallet there, and send the learner to consent."""
    form = ConnectForm()
    if not form.validate_on_submit():
        return _render(form, 400)
    wait = collaborators().limiter("provider-connects").take(str(current_user.id))
    if wait:
        refuse(form.url, RateLimitedError(f"You started connecting providers many times in a short while. "
                                          f"Wait {describe_wait(wait)}, then try again."))
        return limited(_render(form, 429), RateLimitedError("", retry_after=wait))
    db = get_session()
    try:
        authorization = providers.begin_connect(db, _client(), current_user.id, form.url.data)
    except (ImportRejectedError, FetchError, ValidationError) as error:
        db.rollback()  # nothing is kept from a refused connection
        refuse(form.url, error)
        return _render(form, 502 if isinstance(error, FetchError) else 422)
    db.commit()
    session[STATE_KEY] = authorization.state
    return redirect(authorization.url, 303)


@bp.get("/callback")
@login_required
def callback() -> ResponseReturnValue:
    """Finish connecting (the provider sends the learner back here), then collect the credentials as a job."""
    db = get_session()
    connection = providers.complete_connect(
        db, _client(), current_user.id, state=request.args.get("state", ""), expected_state=session.pop(STATE_KEY, None),
        code=request.args.get("code", ""), error=request.args.get("error", ""))
    db.commit()
    if connection.last_error or connection.state != CONNECTED:
        flash(connection.last_error or "The provider was not connected.", "error")
        return redirect(url_for("providers.index"))
    return _start_sync(connection.id, f"{connection.name} is connected. Wallet is collecting your credentials.")


@bp.post("/<int:connection_id>/sync")
@login_required
def sync_now(connection_id: int) -> ResponseReturnValue:
    """Collect the provider's credentials now."""
    return _start_sync(connection_id, "Wallet is collecting your credentials.")


def _start_sync(connection_id: int, message: str) -> ResponseReturnValue:
    db = get_session()
    job = providers.queue_sync(db, current_user.id, connection_id)
    if job.state == QUEUED:  # queued again if it was already: a job runs once however often it is delivered
        collaborators().enqueue_job(db, "sync_provider", job.id)
    db.commit()
    flash(message, "success")
    return redirect(url_for("providers.sync_progress", job_id=job.id), 303)


@bp.post("/<int:connection_id>/disconnect")
@login_required
def disconnect(connection_id: int) -> ResponseReturnValue:
    """Revoke Wallet's access at the provider and forget its tokens; collected credentials stay."""
    db = get_session()
    name = providers.get_connection(db, current_user.id, connection_id).name
    revoked = providers.disconnect(db, _client(), current_user.id, connection_id)
    db.commit()
    if revoked:
        flash(f"{name} is disconnected: Wallet's access was revoked there. Your credentials from it stay in your wallet.",
              "success")
    else:
        flash(f"{name} is disconnected and Wallet forgot its access. The provider did not confirm the revocation: "
              "you can also remove Wallet in your account there. Your credentials from it stay in your wallet.",
              "success")
    return redirect(url_for("providers.index"), 303)


@bp.get("/syncs/<job_id>")
@login_required
def sync_progress(job_id: str) -> ResponseReturnValue:
    """Show how far a sync is, and what happened to each credential."""
    job = _sync_job(job_id)
    connection_id = job.params.get("connection_id")
    connection = next((each for each in providers.list_connections(get_session(), current_user.id)
                       if each.id == connection_id), None)
    response = current_app.make_response(render_template("providers/sync_job.html", job=job, connection=connection))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/syncs/<job_id>/status")
@login_required
def sync_status(job_id: str) -> ResponseReturnValue:
    """Answer a sync's progress as JSON (the progress page's script)."""
    response = jsonify(job_service.summary(_sync_job(job_id)))
    response.headers["Cache-Control"] = "no-store"
    return response


def _sync_job(job_id: str) -> Any:
    return job_service.get_job(get_session(), current_user.id, job_id, kind=PROVIDER_SYNC,
                               stale_after=collaborators().job_stale_after)
