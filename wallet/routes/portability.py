"""Settings → export my wallet (built in the background, with progress) and import a wallet export."""
from __future__ import annotations


from flask import Blueprint, Response, current_app, jsonify, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from wallet.db import get_session
from wallet.extensions import csrf
from wallet.services import portability
from wallet.services.errors import ImportRejectedError, QuotaExceededError
from wallet.web import read_export_upload
from wallet.wiring import collaborators

bp = Blueprint("portability", __name__, url_prefix="/settings")


# ---------------------------------------------------------------------------------------------
# Export


@bp.post("/export")
@login_required
def start_export() -> ResponseReturnValue:
    """Start building the learner's export and show its progress page."""
    job_id = portability.start_export(current_app.extensions["wallet.sessionmaker"], current_user.id, collaborators().blobs,
                                      collaborators().exports_folder)
    return redirect(url_for("portability.export_progress", job_id=job_id), 303)


@bp.get("/export/<job_id>")
@login_required
def export_progress(job_id: str) -> ResponseReturnValue:
    """Show how far the export is; offer the download when it is ready (refreshes itself without script)."""
    state = portability.job_state(collaborators().exports_folder, job_id, current_user.id)
    response = current_app.make_response(render_template("settings/export.html", job_id=job_id, job=state))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/export/<job_id>/status")
@login_required
def export_status(job_id: str) -> ResponseReturnValue:
    """Answer the export's state as JSON, for the progress page's script."""
    state = portability.job_state(collaborators().exports_folder, job_id, current_user.id)
    if state["state"] == "ready":
        state["download_url"] = url_for("portability.export_download", job_id=job_id)
    response = jsonify(state)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/export/<job_id>/download")
@login_required
def export_download(job_id: str) -> Response:
    """Send the finished export."""
    path = portability.job_file(collaborators().exports_folder, job_id, current_user.id)
    response = send_file(path, mimetype="application/zip", as_attachment=True,
                         download_name=portability.export_filename(), max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response


# ---------------------------------------------------------------------------------------------
# Import


@bp.get("/import")
@login_required
def import_form() -> ResponseReturnValue:
    """Show the form to import a wallet export."""
    return render_template("settings/import.html", job=None, report=None)


@bp.post("/import")
@login_required
@csrf.exempt  # checked below, once the larger body limit is set (the token is in the body)
def import_upload() -> ResponseReturnValue:
    """Check an uploaded wallet export and import it in the background; show its progress page."""
    storage = read_export_upload()
    if current_app.config.get("WTF_CSRF_ENABLED", True):
        csrf.protect()
    importer = collaborators().importer(get_session(), current_user.id)
    get_session().commit()  # end this request's transaction: the import writes from its own thread
    try:
        job_id = portability.start_import(current_app.extensions["wallet.sessionmaker"], importer, storage.stream,
                                          collaborators().import_limits(), collaborators().imports_folder)
    except (ImportRejectedError, QuotaExceededError) as error:
        # A file refused as a whole: say why beside the file field, so another can be chosen.
        return render_template("settings/import.html", job=None, report=None, error=str(error)), 422
    return redirect(url_for("portability.import_progress", job_id=job_id), 303)


@bp.get("/import/<job_id>")
@login_required
def import_progress(job_id: str) -> ResponseReturnValue:
    """Show how far the import is, then its report (refreshes itself without script)."""
    state = portability.job_state(collaborators().imports_folder, job_id, current_user.id)
    response = current_app.make_response(render_template("settings/import.html", job_id=job_id, job=state,
                                                         report=state["report"]))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/import/<job_id>/status")
@login_required
def import_status(job_id: str) -> ResponseReturnValue:
    """Answer the import's state as JSON (with its report when done), for the progress page's script."""
    response = jsonify(portability.job_state(collaborators().imports_folder, job_id, current_user.id))
    response.headers["Cache-Control"] = "no-store"
    return response
