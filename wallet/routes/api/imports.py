"""Bulk imports over the API: /api/v1/imports (several files or a ZIP, imported as a background job).

The upload answers 202 with the job; GET /api/v1/imports/<id> tells how far it is and, file by file,
what happened (the same outcomes the progress page shows). A single credential is still imported
at once with POST /api/v1/credentials.
"""
from __future__ import annotations

from typing import Any

from flask import request, url_for

from wallet.db import get_session
from wallet.models.job import Job
from wallet.routes.api import api_user, bp, require_token
from wallet.services import importing
from wallet.services import jobs as job_service
from wallet.services.errors import ValidationError
from wallet.web import read_upload
from wallet.wiring import collaborators


def _job_json(job: Job, *, items: bool) -> dict[str, Any]:
    data = job_service.summary(job)
    data["url"] = url_for("api.get_import", job_id=job.id)
    if items:
        data["items"] = job.items
    return data


@bp.post("/imports")
@require_token
def create_import() -> tuple[dict[str, Any], int, dict[str, str]]:
    """Queue the import of the multipart `files` (baked images, JSON, JWT, ZIPs of them) as one job."""
    files = [f for f in request.files.getlist("files") if f and f.filename]
    if not files:
        raise ValidationError('Send the files in the multipart field "files".')
    session = get_session()
    importer = collaborators().importer(session, api_user().id)
    importing.check_import_rate(importer)  # at the limit already: no job; each file counts as it is imported
    uploads = [read_upload(f, importer.max_file_bytes) for f in files]
    job = job_service.create_import_job(session, api_user().id, uploads, collaborators().uploads_folder)
    collaborators().enqueue_job(session, "run_import", job.id)
    data = _job_json(job, items=False)
    return data, 202, {"Location": data["url"]}


@bp.get("/imports/<job_id>")
@require_token
def get_import(job_id: str) -> dict[str, Any]:
    """Return the import job: its state, counts, and one outcome per file done so far."""
    job = job_service.get_job(get_session(), api_user().id, job_id, kind=job_service.IMPORT,
                              stale_after=collaborators().job_stale_after)
    return _job_json(job, items=True)


# ---------------------------------------------------------------------------------------------
# OpenAPI fragment

_TAG = ["Imports"]
_JOB_ID = {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


OPENAPI_PATHS: dict[str, Any] = {
    "/imports": {
        "post": {
            "operationId": "createImport", "summary": "Import several files or a ZIP as a background job",
            "tags": _TAG,
            "description": "Each file (and each file inside a ZIP) is imported as POST /credentials would, and "
                           "counts against the import rate and the wallet's size when it is imported. Poll the "
                           "job at `url` (also the `Location` header).",
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "required": ["files"],
                "properties": {"files": {"type": "array", "items": {"type": "string", "format": "binary"}}}}}}},
            "responses": {
                "202": {**_json({"$ref": "#/components/schemas/ImportJob"}, "Queued"),
                        "headers": {"Location": {"schema": {"type": "string"}, "description": "The job"}}},
                "400": {"$ref": "#/components/responses/BadRequest"},
                "401": {"$ref": "#/components/responses/Unauthorized"},
                "413": {"$ref": "#/components/responses/TooLarge"},
                "429": _json({"$ref": "#/components/schemas/Error"}, "Too many imports in a short time; no job"),
            },
        },
    },
    "/imports/{job_id}": {
        "parameters": [_JOB_ID],
        "get": {"operationId": "getImport", "summary": "How far an import job is, file by file", "tags": _TAG,
                "responses": {"200": _json({"$ref": "#/components/schemas/ImportJob"}, "The job"),
                              "401": {"$ref": "#/components/responses/Unauthorized"},
                              "404": {"$ref": "#/components/responses/NotFound"}}},
    },
}

OPENAPI_SCHEMAS: dict[str, Any] = {
    "ImportJob": {
        "type": "object",
        "required": ["id", "kind", "state", "done", "counts", "url"],
        "properties": {
            "id": {"type": "string"},
            "kind": {"type": "string", "enum": ["import"]},
            "state": {"type": "string", "enum": ["queued", "running", "done", "failed"],
                      "description": "A job silent for too long (its worker stopped) is failed, never running for ever"},
            "total": {"type": ["integer", "null"]},
            "done": {"type": "integer"},
            "counts": {"type": "object", "additionalProperties": {"type": "integer"},
                       "description": "Files by outcome: imported, replaced, duplicate, kept, rejected"},
            "error": {"type": ["string", "null"], "description": "Why a failed job stopped"},
            "created_at": {"type": "string", "format": "date-time"},
            "finished_at": {"type": ["string", "null"], "format": "date-time"},
            "url": {"type": "string"},
            "items": {"type": "array", "items": {"type": "object", "required": ["state", "message"], "properties": {
                "filename": {"type": ["string", "null"]},
                "state": {"type": "string", "enum": ["imported", "replaced", "duplicate", "kept", "rejected"]},
                "message": {"type": "string"},
                "credential_id": {"type": "integer"},
                "name": {"type": "string"},
                "status": {"type": "string"},
                "error": {"type": "string"}}}},
        },
    },
}
