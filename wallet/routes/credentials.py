"""The learner's wallet: add credentials, see them, check them again, enrich them with evidence."""
from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user, login_required

from wallet.db import get_session
from wallet.services import credentials as credential_service
from wallet.services import evidence as evidence_service
from wallet.services import exchanges
from wallet.services import importing
from wallet.services import jobs as job_service
from wallet.services.errors import FetchError, ImportRejectedError, ValidationError
from wallet.services.images import SVG, SVG_HEADERS
from wallet.web import (
    allow_form_redirects_off_site,
    download_name,
    read_upload,
    send_bytes,
    slug,
    version_download_name,
)
from wallet.wiring import collaborators

bp = Blueprint("credentials", __name__, url_prefix="/credentials")
NDJSON = "application/x-ndjson"


def item_json(item: importing.ImportItem) -> dict[str, Any]:
    """Describe one import outcome for the page's script and the API."""
    data: dict[str, Any] = {"state": item.state, "message": item.message, "filename": item.filename}
    if item.credential is not None:
        data.update(id=item.credential.id, name=item.credential.name, status=item.credential.status,
                    url=url_for("credentials.show", credential_id=item.credential.id))
    if item.result is not None and item.state == importing.KEPT:
        data["file_status"] = str(item.result.status)  # this file's own result; `status` is the copy kept
    if item.error:
        data["error"] = item.error
    return data



# ---------------------------------------------------------------------------------------------
# The wallet and adding to it


@bp.get("/")
@login_required
def index():
    """Show the learner's credentials as a grid or list, filtered and sorted."""
    filters = credential_service.Filters.from_query(request.args)
    session = get_session()
    return render_template(
        "credentials/index.html",
        credentials=credential_service.list_credentials(session, current_user.id, filters),
        facets=credential_service.facets(session, current_user.id),
        filters=filters,
        sorts=credential_service.SORTS,
        view="list" if request.args.get("view") == "list" else "grid",
    )


@bp.get("/add")
@login_required
def add():
    """Show the ways to add a credential: a link, files (or a ZIP), pasted text, or an issuer's offer."""
    tab = request.args.get("tab", "link")
    # The offer form may send the learner to the issuer's authorization page (OID4VCI §5).
    return allow_form_redirects_off_site(render_template(
        "credentials/add.html", tab=tab if tab in ("link", "files", "paste", "offer") else "link", results=None))


@bp.post("/add/url")
@login_required
def add_url():
    """Import the credential at the link the learner gave."""
    session = get_session()
    item = importing.import_url(session, collaborators().importer(session, current_user.id), request.form.get("url", ""))
    session.commit()
    return _after_single_import(item)


@bp.post("/add/paste")
@login_required
def add_paste():
    """Import pasted credential JSON or a JWT."""
    session = get_session()
    item = importing.import_paste(session, collaborators().importer(session, current_user.id), request.form.get("credential", ""))
    session.commit()
    return _after_single_import(item)


@bp.get("/add/exchange")
@login_required
def add_exchange():
    """Show the form for a VC-API exchange link (pasted, or scanned from its QR code)."""
    return render_template("credentials/exchange.html", received=None)


@bp.post("/add/exchange")
@login_required
def receive_exchange():
    """Take part in the exchange the learner's link names and add the credentials it gives."""
    return _receive_exchange(request.form.get("offer", ""))


def _receive_exchange(offer: str) -> tuple[str, int]:
    # One function for any form that takes an exchange link (the Add page's offer tab can dispatch here).
    # The refusal is shown beside the field, with what the learner typed; nothing is kept from it.
    session = get_session()
    try:
        received = exchanges.receive(session, collaborators().importer(session, current_user.id),
                                     collaborators().exchange_client(), offer,
                                     secret_key=str(current_app.config["SECRET_KEY"]))
    except (ImportRejectedError, FetchError) as error:
        session.rollback()
        return render_template("credentials/exchange.html", received=None, offer=offer[:exchanges.MAX_LINK_CHARS],
                               offer_error=str(error)), 502 if isinstance(error, FetchError) else 422
    session.commit()
    return render_template("credentials/exchange.html", received=received), 200


_FLASH_CATEGORY = {importing.IMPORTED: "success", importing.REPLACED: "success", importing.KEPT: "warning"}


def _after_single_import(item: importing.ImportItem) -> Response:
    flash(item.message, _FLASH_CATEGORY.get(item.state, "info"))
    return redirect(url_for("credentials.show", credential_id=item.credential.id))


@bp.post("/add/files")
@login_required
def add_files():
    """Import one uploaded file now; several files or a ZIP as a background job, whose page shows its progress.

    One file with `Accept: application/x-ndjson` answers one result line (the page's script); a job
    answers 303 to its progress page, or 202 with the job as JSON when JSON is asked for.
    """
    files = [f for f in request.files.getlist("files") + request.files.getlist("file") if f and f.filename]
    if not files:
        raise ValidationError("Choose at least one file to upload.")
    importer = collaborators().importer(get_session(), current_user.id)
    importing.check_import_rate(importer)  # at the limit already: say so once, not once per file
    # Oversized files are read only up to the limit and reported as refused, one by one.
    uploads = [read_upload(f, importer.max_file_bytes) for f in files]
    session = get_session()
    if len(uploads) > 1 or importing.is_zip(uploads[0].data):
        return _queue_import(uploads)
    items = importing.import_files(session, importer, uploads)
    if request.accept_mimetypes.best == NDJSON:

        def lines() -> Iterator[str]:
            for item in items:
                session.commit()  # each credential is its own import: keep it as soon as it is done
                yield json.dumps(item_json(item)) + "\n"

        return Response(stream_with_context(lines()), mimetype=NDJSON, headers={"Cache-Control": "no-store"})
    results = list(items)
    session.commit()
    return render_template("credentials/add.html", tab="files", results=results)


def _queue_import(uploads: list[importing.Upload]) -> Response:
    session = get_session()
    job = job_service.create_import_job(session, current_user.id, uploads, collaborators().uploads_folder)
    collaborators().enqueue_job(session, "run_import", job.id)
    url = url_for("credentials.import_progress", job_id=job.id)
    if request.accept_mimetypes.best in (NDJSON, "application/json"):
        data = job_service.summary(job)
        data.update(url=url, status_url=url_for("credentials.import_status", job_id=job.id))
        return Response(json.dumps(data), status=202, mimetype="application/json", headers={"Location": url})
    return redirect(url, 303)


@bp.get("/imports")
@login_required
def imports():
    """List the learner's recent imports of several files, with how far each is."""
    jobs = job_service.recent_jobs(get_session(), current_user.id, kind=job_service.IMPORT,
                                   stale_after=collaborators().job_stale_after)
    return _no_store(render_template("credentials/imports.html", jobs=jobs))


@bp.get("/imports/<job_id>")
@login_required
def import_progress(job_id: str):
    """Show an import's progress file by file, then its results (refreshes itself without script)."""
    return _no_store(render_template("credentials/import_job.html", job=_import_job(job_id)))


@bp.get("/imports/<job_id>/status")
@login_required
def import_status(job_id: str):
    """Answer the import's state as JSON, for the progress page's script."""
    return _no_store(jsonify(job_service.summary(_import_job(job_id))))


def _import_job(job_id: str) -> Any:
    """Return the current learner's import job `job_id` (NotFoundError for anyone else's)."""
    return job_service.get_job(get_session(), current_user.id, job_id, kind=job_service.IMPORT,
                               stale_after=collaborators().job_stale_after)


def _no_store(response: Any) -> Response:
    response = current_app.make_response(response)
    response.headers["Cache-Control"] = "no-store"
    return response


# ---------------------------------------------------------------------------------------------
# One credential


@bp.get("/<int:credential_id>")
@login_required
def show(credential_id: int):
    """Show a credential: image, details, issuer, the learner's words and evidence, the report."""
    credential = credential_service.get_credential(get_session(), current_user.id, credential_id)
    compact = None
    if credential.original_type == "application/jwt":
        compact = collaborators().blobs.get(credential.original_sha256).decode("utf-8", "replace")
    languages = [language for language, _ in request.accept_languages]
    return render_template("credentials/show.html", credential=credential, compact=compact,
                           claims=credential_service.claim_rows(credential, languages),
                           type_name=credential_service.type_name(credential, languages),
                           raw_json=json.dumps(credential.document, indent=2, ensure_ascii=False)
                           if credential.document else None)


@bp.post("/<int:credential_id>/verify")
@login_required
def verify(credential_id: int):
    """Check the credential again now."""
    session = get_session()
    recheck = credential_service.reverify_credential(
        session, current_user.id, credential_id, fetch=collaborators().revalidating_fetch(), blobs=collaborators().blobs)
    session.commit()
    if recheck.conclusive:
        flash("Checked again just now.", "success")
    else:
        flash("The issuer could not be reached, so the last result is kept. Try again later.", "warning")
    return redirect(url_for("credentials.show", credential_id=credential_id) + "#report")


@bp.get("/<int:credential_id>/download")
@login_required
def download(credential_id: int):
    """Send the original bytes exactly as they were received."""
    credential = credential_service.get_credential(get_session(), current_user.id, credential_id)
    data = collaborators().blobs.get(credential.original_sha256)
    return send_bytes(data, credential.original_type, download_name(credential))


@bp.get("/<int:credential_id>/versions/<int:version_id>/download")
@login_required
def download_version(credential_id: int, version_id: int):
    """Send the original of one version from the credential's history, exactly as it was received."""
    version = credential_service.get_version(get_session(), current_user.id, credential_id, version_id)
    return send_bytes(collaborators().blobs.get(version.original_sha256), version.original_type,
                      version_download_name(version))


@bp.get("/<int:credential_id>/baked")
@login_required
def baked(credential_id: int):
    """Send an image (PNG, or SVG when that is the badge image) with the credential baked in."""
    credential = credential_service.get_credential(get_session(), current_user.id, credential_id)
    data, content_type = credential_service.baked_image(credential, collaborators().blobs)
    extension = "svg" if content_type == SVG else "png"
    return send_bytes(data, content_type, f"{slug(credential.name)}.{extension}", extra=SVG_HEADERS)


@bp.get("/<int:credential_id>/image")
@login_required
def image(credential_id: int):
    """Serve the stored badge image (re-encoded PNG, or SVG under a sandboxing CSP)."""
    credential = credential_service.get_credential(get_session(), current_user.id, credential_id)
    if not credential.image_sha256:
        return redirect(url_for("static", filename="img/badge-placeholder.svg"))
    data = collaborators().blobs.get(credential.image_sha256)
    response = Response(data, mimetype=credential.image_type or "image/png")
    response.headers.update(SVG_HEADERS)
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


@bp.route("/<int:credential_id>/edit", methods=["GET", "POST"])
@login_required
def edit(credential_id: int):
    """Edit the learner's own description, reflection and tags."""
    session = get_session()
    if request.method == "POST":
        credential_service.update_learner_text(
            session, current_user.id, credential_id,
            description=request.form.get("description", ""),
            reflection=request.form.get("reflection", ""),
            tags=request.form.get("tags", ""),
        )
        session.commit()
        flash("Your notes were saved.", "success")
        return redirect(url_for("credentials.show", credential_id=credential_id))
    credential = credential_service.get_credential(session, current_user.id, credential_id)
    return render_template("credentials/edit.html", credential=credential)


@bp.route("/<int:credential_id>/delete", methods=["GET", "POST"])
@login_required
def delete(credential_id: int):
    """Ask for confirmation (GET), then delete the credential with its evidence (POST)."""
    session = get_session()
    if request.method == "POST":
        credential_service.delete_credential(session, current_user.id, credential_id)
        session.commit()
        flash("The credential was deleted from your wallet.", "success")
        return redirect(url_for("credentials.index"))
    credential = credential_service.get_credential(session, current_user.id, credential_id)
    return render_template("credentials/delete.html", credential=credential)


# ---------------------------------------------------------------------------------------------
# Evidence


@bp.post("/<int:credential_id>/evidence")
@login_required
def add_evidence(credential_id: int):
    """Add a text, link or file as evidence."""
    session = get_session()
    kind = request.form.get("kind", "")
    title = request.form.get("title", "")
    if kind == "text":
        evidence_service.add_text(session, current_user.id, credential_id, title=title,
                                  text=request.form.get("text", ""))
    elif kind == "link":
        evidence_service.add_link(session, current_user.id, credential_id, title=title,
                                  url=request.form.get("url", ""))
    elif kind == "file":
        storage = request.files.get("file")
        if storage is None or not storage.filename:
            raise ValidationError("Choose a file to upload.")
        limits = collaborators().evidence_limits()
        upload = read_upload(storage, limits["max_bytes"])
        evidence_service.add_file(session, current_user.id, credential_id, title=title, filename=upload.filename,
                                  data=upload.data, blobs=collaborators().blobs, **limits)
    else:
        raise ValidationError("Choose what kind of evidence to add: text, a link or a file.")
    session.commit()
    flash("Evidence added.", "success")
    return redirect(url_for("credentials.show", credential_id=credential_id) + "#evidence")


@bp.post("/<int:credential_id>/evidence/<int:evidence_id>/move")
@login_required
def move_evidence(credential_id: int, evidence_id: int):
    """Move an evidence item up or down."""
    session = get_session()
    evidence_service.move_evidence(session, current_user.id, credential_id, evidence_id,
                                   request.form.get("direction", ""))
    session.commit()
    return redirect(url_for("credentials.show", credential_id=credential_id) + "#evidence")


@bp.post("/<int:credential_id>/evidence/<int:evidence_id>/delete")
@login_required
def delete_evidence(credential_id: int, evidence_id: int):
    """Remove an evidence item."""
    session = get_session()
    evidence_service.remove_evidence(session, current_user.id, credential_id, evidence_id)
    session.commit()
    flash("Evidence removed.", "success")
    return redirect(url_for("credentials.show", credential_id=credential_id) + "#evidence")


@bp.get("/<int:credential_id>/evidence/<int:evidence_id>/file")
@login_required
def evidence_file(credential_id: int, evidence_id: int):
    """Send an evidence file with its detected type, nosniff and a sandboxing CSP."""
    file = evidence_service.evidence_file(get_session(), current_user.id, credential_id, evidence_id, collaborators().blobs)
    return send_bytes(file.data, file.content_type, file.filename, attachment=not file.inline,
                 extra=evidence_service.FILE_HEADERS)
