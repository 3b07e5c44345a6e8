"""The learner's credentials and evidence over the API: /api/v1/credentials…, and /api/v1/offers (OID4VCI).

About half of this module is the OpenAPI fragment for these endpoints, kept beside the views it
describes so that the two change together (the fuzz test reads it).
"""
from __future__ import annotations

from typing import Any

from flask import Response, current_app, request, url_for

from wallet.db import get_session
from wallet.models.credential import Credential, CredentialVersion, Evidence
from wallet.routes.api import api_user, bp, require_token
from wallet.services import credentials as credential_service
from wallet.services import evidence as evidence_service
from wallet.services import importing
from wallet.services import jobs as job_service
from wallet.services import offers, oid4vci
from wallet.services.errors import ValidationError
from wallet.web import download_name, read_upload, send_bytes, version_download_name
from wallet.wiring import collaborators

# F11: the only fields a learner may change; everything else is derived from the credential.
PATCHABLE = frozenset({"description", "reflection", "tags"})


@bp.get("/credentials")
@require_token
def list_credentials() -> dict[str, Any]:
    """List the learner's credentials, filtered like the wallet view."""
    filters = credential_service.Filters.from_query(request.args)
    found = credential_service.list_credentials(get_session(), api_user().id, filters)
    return {"credentials": [credential_summary(c) for c in found], "count": len(found)}


@bp.post("/credentials")
@require_token
def create_credential() -> tuple[dict[str, Any], int]:
    """Import a credential from {"url"}, {"credential"} (JSON object or JWT string) or a multipart `file`."""
    session = get_session()
    importer = collaborators().importer(get_session(), api_user().id)
    if request.mimetype == "multipart/form-data":
        storage = request.files.get("file")
        if storage is None or not storage.filename:
            raise ValidationError('Send the credential file in the multipart field "file".')
        item = importing.import_upload(session, importer, read_upload(storage, importer.max_file_bytes))
    else:
        body = _json_body()
        if isinstance(body.get("url"), str):
            item = importing.import_url(session, importer, body["url"])
        elif isinstance(body.get("credential"), (dict, str)):
            # The body was read strictly (wallet/inputs.py): a credential object with a key twice never gets here.
            item = importing.import_paste(session, importer, body["credential"])
        else:
            raise ValidationError('Send {"url": "..."}, {"credential": <JSON object or JWT string>} or a file.')
    session.commit()
    if item.state == importing.KEPT:
        # Nothing was stored: the wallet keeps the copy it holds (docs/importing.md).
        return {"error": "ExistingCopyKept", "message": item.message,
                "credential": credential_summary(item.credential),
                "report": item.result.to_dict() if item.result else None}, 409
    data = credential_detail(item.credential)
    data["duplicate"] = item.state == importing.DUPLICATE
    data["import"] = {"state": item.state, "message": item.message}
    if item.stored and item.result is not None:
        data["report"] = item.result.to_dict()
    return data, 201 if item.created else 200


@bp.get("/credentials/<int:credential_id>")
@require_token
def get_credential(credential_id: int) -> dict[str, Any]:
    """Return one credential with its metadata, report, the learner's words and evidence."""
    return credential_detail(credential_service.get_credential(get_session(), api_user().id, credential_id))


@bp.patch("/credentials/<int:credential_id>")
@require_token
def patch_credential(credential_id: int) -> dict[str, Any]:
    """Change the learner's description, reflection or tags."""
    body = _json_body()
    unknown = sorted(set(body) - PATCHABLE)
    if unknown:
        raise ValidationError(f"These fields cannot be changed: {', '.join(unknown)}. "
                              f"Allowed: {', '.join(sorted(PATCHABLE))}.")
    for name in ("description", "reflection"):
        if name in body and not isinstance(body[name], (str, type(None))):
            raise ValidationError(f'"{name}" must be text or null.')
    tags = body.get("tags")
    if tags is not None and not isinstance(tags, list):
        raise ValidationError('"tags" must be a list of strings.')
    session = get_session()
    credential = credential_service.update_learner_text(
        session, api_user().id, credential_id,
        description=(body["description"] or "") if "description" in body else None,
        reflection=(body["reflection"] or "") if "reflection" in body else None,
        tags=tags)
    session.commit()
    return credential_detail(credential)


@bp.delete("/credentials/<int:credential_id>")
@require_token
def delete_credential(credential_id: int) -> Response:
    """Delete a credential with its evidence."""
    session = get_session()
    credential_service.delete_credential(session, api_user().id, credential_id)
    session.commit()
    return Response(status=204)


@bp.post("/credentials/<int:credential_id>/verify")
@require_token
def verify_credential(credential_id: int) -> dict[str, Any]:
    """Verify the stored original again now and return the credential with the new report."""
    session = get_session()
    recheck = credential_service.reverify_credential(
        session, api_user().id, credential_id, fetch=collaborators().revalidating_fetch(), blobs=collaborators().blobs)
    session.commit()
    data = credential_detail(recheck.credential)
    data["conclusive"] = recheck.conclusive
    return data


@bp.get("/credentials/<int:credential_id>/original")
@require_token
def download_original(credential_id: int) -> Response:
    """Return the credential's original bytes exactly as they were received."""
    credential = credential_service.get_credential(get_session(), api_user().id, credential_id)
    return send_bytes(collaborators().blobs.get(credential.original_sha256), credential.original_type,
                      download_name(credential))


@bp.get("/credentials/<int:credential_id>/versions/<int:version_id>/original")
@require_token
def download_version(credential_id: int, version_id: int) -> Response:
    """Return the original of one version from the credential's history, exactly as it was received."""
    version = credential_service.get_version(get_session(), api_user().id, credential_id, version_id)
    return send_bytes(collaborators().blobs.get(version.original_sha256), version.original_type,
                      version_download_name(version))


@bp.get("/credentials/<int:credential_id>/evidence")
@require_token
def list_evidence(credential_id: int) -> dict[str, Any]:
    """List a credential's evidence in the learner's order."""
    credential = credential_service.get_credential(get_session(), api_user().id, credential_id)
    return {"evidence": [evidence_json(e) for e in credential.evidence]}


@bp.post("/credentials/<int:credential_id>/evidence")
@require_token
def add_evidence(credential_id: int) -> tuple[dict[str, Any], int]:
    """Add evidence: JSON {"kind": "text", "text"} or {"kind": "link", "url"}, or a multipart `file`."""
    session = get_session()
    owner_id = api_user().id
    if request.mimetype == "multipart/form-data":
        storage = request.files.get("file")
        if storage is None or not storage.filename:
            raise ValidationError('Send the evidence file in the multipart field "file".')
        limits = collaborators().evidence_limits()
        upload = read_upload(storage, limits["max_bytes"])
        evidence = evidence_service.add_file(session, owner_id, credential_id, filename=upload.filename,
                                             data=upload.data, blobs=collaborators().blobs,
                                             title=request.form.get("title", ""), **limits)
    else:
        body = _json_body()
        kind, title = body.get("kind"), body.get("title") or ""
        if not isinstance(title, str):
            raise ValidationError('"title" must be text.')
        if kind == "text" and isinstance(body.get("text"), str):
            evidence = evidence_service.add_text(session, owner_id, credential_id, title=title, text=body["text"])
        elif kind == "link" and isinstance(body.get("url"), str):
            evidence = evidence_service.add_link(session, owner_id, credential_id, title=title, url=body["url"])
        else:
            raise ValidationError('Send {"kind": "text", "text": ...}, {"kind": "link", "url": ...} or a file.')
    session.commit()
    return evidence_json(evidence), 201


@bp.put("/credentials/<int:credential_id>/evidence/order")
@require_token
def order_evidence(credential_id: int) -> dict[str, Any]:
    """Reorder a credential's evidence: {"order": [evidence ids]}."""
    order = _json_body().get("order")
    if not isinstance(order, list):
        raise ValidationError('Send {"order": [evidence ids]}.')
    session = get_session()
    items = evidence_service.reorder_evidence(session, api_user().id, credential_id, order)
    session.commit()
    return {"evidence": [evidence_json(e) for e in items]}


@bp.delete("/credentials/<int:credential_id>/evidence/<int:evidence_id>")
@require_token
def delete_evidence(credential_id: int, evidence_id: int) -> Response:
    """Remove an evidence item."""
    session = get_session()
    evidence_service.remove_evidence(session, api_user().id, credential_id, evidence_id)
    session.commit()
    return Response(status=204)


@bp.get("/credentials/<int:credential_id>/evidence/<int:evidence_id>/file")
@require_token
def evidence_file(credential_id: int, evidence_id: int) -> Response:
    """Return an evidence file with its detected type and safe headers."""
    file = evidence_service.evidence_file(get_session(), api_user().id, credential_id, evidence_id, collaborators().blobs)
    return send_bytes(file.data, file.content_type, file.filename, attachment=True,
                      extra=evidence_service.FILE_HEADERS)


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationError("Send a JSON object with Content-Type: application/json.")
    return body


def credential_summary(credential: Credential) -> dict[str, Any]:
    """Describe a credential for lists."""
    return {
        "id": credential.id,
        "status": credential.status,
        "format": credential.format_id,
        "name": credential.name,
        "issuer": {"id": credential.issuer_id, "name": credential.issuer_name,
                   "verified_id": credential.verified_issuer, "url": credential.issuer_url},
        "issued_at": _iso(credential.issued_at),
        "expires_at": _iso(credential.expires_at),
        "checked_at": _iso(credential.checked_at),
        "recheck_failed_at": _iso(credential.recheck_failed_at),
        "recipient": credential.recipient_state,
        "tags": sorted({t.name for t in credential.tags}),
        "image_url": url_for("credentials.image", credential_id=credential.id) if credential.image_sha256 else None,
        "url": url_for("api.get_credential", credential_id=credential.id),
    }


def credential_detail(credential: Credential) -> dict[str, Any]:
    """Describe a credential in full: metadata, report, the learner's words and evidence."""
    latest = credential.latest_verification
    return {
        **credential_summary(credential),
        "container": credential.container,
        "securing": credential.securing,
        "source_url": credential.source_url,
        "imported_at": _iso(credential.imported_at),
        "metadata": credential.details,
        "description": credential.learner_description,
        "reflection": credential.reflection,
        "learner_tags": credential.learner_tags,
        "original": {"sha256": credential.original_sha256, "content_type": credential.original_type,
                     "url": url_for("api.download_original", credential_id=credential.id)},
        "credential": credential.document,
        "report": latest.report if latest else None,
        "evidence": [evidence_json(e) for e in credential.evidence],
        "versions": [version_json(v) for v in credential.history],
    }


def version_json(version: CredentialVersion) -> dict[str, Any]:
    """Describe one version in a credential's history."""
    return {"id": version.id, "current": version.replaced_at is None, "status": version.status,
            "imported_at": _iso(version.imported_at), "replaced_at": _iso(version.replaced_at),
            "original": {"sha256": version.original_sha256, "content_type": version.original_type,
                         "filename": version.original_filename, "source_url": version.source_url,
                         "url": url_for("api.download_version", credential_id=version.credential_id,
                                        version_id=version.id)}}


def evidence_json(evidence: Evidence) -> dict[str, Any]:
    """Describe an evidence item."""
    data: dict[str, Any] = {"id": evidence.id, "kind": evidence.kind, "title": evidence.title,
                            "position": evidence.position, "created_at": _iso(evidence.created_at)}
    if evidence.kind == "text":
        data["text"] = evidence.text
    elif evidence.kind == "link":
        data["url"] = evidence.url
    else:
        data.update(filename=evidence.filename, content_type=evidence.content_type, size=evidence.size,
                    sha256=evidence.file_sha256,
                    download_url=url_for("api.evidence_file", credential_id=evidence.credential_id,
                                         evidence_id=evidence.id))
    return data


def _iso(moment: Any) -> str | None:
    return moment.isoformat() if moment is not None else None


# ---------------------------------------------------------------------------------------------
# OpenAPI fragment


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ID = {"name": "credential_id", "in": "path", "required": True, "schema": {"type": "integer"}}
_EVIDENCE_ID = {"name": "evidence_id", "in": "path", "required": True, "schema": {"type": "integer"}}
_ERRORS = {
    "401": {"$ref": "#/components/responses/Unauthorized"},
    "404": {"$ref": "#/components/responses/NotFound"},
}
_TAG = ["Credentials"]
_RATE_LIMITED = {**_json(_ref("Error"), "Too many requests"), "headers": {"Retry-After": {
    "schema": {"type": "integer"}, "description": "Seconds to wait before trying again (RFC 9110 §10.2.3)."}}}

# An original as received: any JSON, a compact JWS, a baked image (no schema beyond the type).
_ORIGINAL_TYPES = {"application/json": {"schema": {}}, "application/jwt": {}, "image/png": {}, "image/svg+xml": {}}

OPENAPI_PATHS: dict[str, Any] = {
    "/credentials": {
        "get": {
            "operationId": "listCredentials", "summary": "List the learner's credentials", "tags": _TAG,
            "parameters": [
                {"name": "q", "in": "query", "schema": {"type": "string"}, "description": "Free text"},
                {"name": "issuer", "in": "query", "schema": {"type": "string"}, "description": "Issuer id"},
                {"name": "tag", "in": "query", "schema": {"type": "string"}, "description": "Skill or tag"},
                {"name": "status", "in": "query", "schema": {"type": "string", "enum": list(credential_service.STATUSES)}},
                {"name": "sort", "in": "query", "schema": {"type": "string", "enum": list(credential_service.SORTS)}},
            ],
            "responses": {"200": _json({"type": "object", "required": ["credentials", "count"], "properties": {
                "credentials": {"type": "array", "items": _ref("CredentialSummary")},
                "count": {"type": "integer"}}}, "The credentials"),
                "400": {"$ref": "#/components/responses/BadRequest"}, "401": _ERRORS["401"]},
        },
        "post": {
            "operationId": "importCredential", "summary": "Import a credential (idempotent)", "tags": _TAG,
            "description": "From a URL (hosted assertion, credential URL, or a page linking one with "
                           "<link rel=\"alternate\">), a JSON object or JWT string, or an uploaded file "
                           "(baked PNG/SVG, JSON, JWT). A credential is the same credential by its OB 2.0 "
                           "assertion id, else its id and issuer, in every format; a copy with the same "
                           "signed content is the same version. The same version again returns the stored "
                           "credential with 200 (`import.state` duplicate). Another version that verifies "
                           "better replaces the current one, which stays in `versions`: 200 (`import.state` "
                           "replaced, `report` is the new copy's). Another version that does not verify "
                           "better is not stored: 409. JSON with a key twice is refused (422).",
            "requestBody": {"required": True, "content": {
                "application/json": {"schema": _ref("ImportRequest")},
                "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
                    "file": {"type": "string", "format": "binary"}}}},
            }},
            "responses": {
                "201": _json(_ref("Credential"), "Imported (`import.state` imported)"),
                "200": _json(_ref("Credential"), "Already in the wallet (`duplicate: true`), or this copy "
                                                 "replaced the one held (`import.state` replaced)"),
                "409": _json(_ref("ExistingCopyKept"), "Another version of a credential in the wallet that "
                                                       "verifies no better than the one held; nothing was stored"),
                "400": {"$ref": "#/components/responses/BadRequest"},
                "401": _ERRORS["401"],
                "413": {"$ref": "#/components/responses/TooLarge"},
                "422": _json(_ref("Error"), "Not a credential Wallet can read (ImportRejected, UnsafeURL; "
                                            "JSON with a key twice is one of these, or DuplicateKey), or the wallet holds the "
                                            "most credentials it may (QuotaExceeded); nothing was stored"),
                "429": {**_RATE_LIMITED, "description": "Too many imports in a short time (each file counts); "
                                                         "nothing was fetched or stored"},
                "502": _json(_ref("Error"), "The issuer could not be reached; nothing was stored"),
            },
        },
    },
    "/credentials/{credential_id}": {
        "parameters": [_ID],
        "get": {"operationId": "getCredential", "summary": "One credential in full", "tags": _TAG,
                "responses": {"200": _json(_ref("Credential"), "The credential"), **_ERRORS}},
        "patch": {"operationId": "updateCredential", "summary": "Change the learner's words and tags", "tags": _TAG,
                  "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("CredentialPatch")}}},
                  "responses": {"200": _json(_ref("Credential"), "Updated"),
                                "400": {"$ref": "#/components/responses/BadRequest"}, **_ERRORS}},
        "delete": {"operationId": "deleteCredential", "summary": "Delete a credential and its evidence",
                   "tags": _TAG, "responses": {"204": {"description": "Deleted"}, **_ERRORS}},
    },
    "/credentials/{credential_id}/verify": {
        "parameters": [_ID],
        "post": {"operationId": "verifyCredential", "summary": "Verify the stored original again now", "tags": _TAG,
                 "description": "If the issuer cannot be reached, the last state is kept and `conclusive` is false.",
                 "responses": {"200": _json(_ref("Credential"), "The credential with its new report"), **_ERRORS}},
    },
    "/credentials/{credential_id}/original": {
        "parameters": [_ID],
        "get": {"operationId": "downloadOriginal", "summary": "The original bytes, exactly as received", "tags": _TAG,
                "responses": {"200": {"description": "The original (JSON, JWT, PNG or SVG)", "content": _ORIGINAL_TYPES},
                              **_ERRORS}},
    },
    "/credentials/{credential_id}/versions/{version_id}/original": {
        "parameters": [_ID, {"name": "version_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
        "get": {"operationId": "downloadVersion", "summary": "The original of one copy in the credential's history",
                "tags": _TAG,
                "responses": {"200": {"description": "The original (JSON, JWT, PNG or SVG), exactly as received",
                                      "content": _ORIGINAL_TYPES},
                              **_ERRORS}},
    },
    "/credentials/{credential_id}/evidence": {
        "parameters": [_ID],
        "get": {"operationId": "listEvidence", "summary": "The credential's evidence, in order", "tags": _TAG,
                "responses": {"200": _json({"type": "object", "properties": {
                    "evidence": {"type": "array", "items": _ref("Evidence")}}}, "The evidence"), **_ERRORS}},
        "post": {"operationId": "addEvidence", "summary": "Add text, a link or a file as evidence", "tags": _TAG,
                 "requestBody": {"required": True, "content": {
                     "application/json": {"schema": _ref("EvidenceInput")},
                     "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
                         "file": {"type": "string", "format": "binary",
                                  "description": "PDF, PNG, JPEG, GIF, WebP or plain text"},
                         "title": {"type": "string"}}}},
                 }},
                 "responses": {"201": _json(_ref("Evidence"), "Added"),
                               "400": {"$ref": "#/components/responses/BadRequest"},
                               "413": {"$ref": "#/components/responses/TooLarge"},
                               "422": _json(_ref("Error"), "The learner's evidence files would take more than "
                                                           "their share (QuotaExceeded); nothing was stored"),
                               **_ERRORS}},
    },
    "/credentials/{credential_id}/evidence/order": {
        "parameters": [_ID],
        "put": {"operationId": "orderEvidence", "summary": "Reorder the evidence", "tags": _TAG,
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["order"],
                    "properties": {"order": {"type": "array", "items": {"type": "integer"}}}}}}},
                "responses": {"200": _json({"type": "object", "properties": {
                    "evidence": {"type": "array", "items": _ref("Evidence")}}}, "The evidence in its new order"),
                    "400": {"$ref": "#/components/responses/BadRequest"}, **_ERRORS}},
    },
    "/credentials/{credential_id}/evidence/{evidence_id}": {
        "parameters": [_ID, _EVIDENCE_ID],
        "delete": {"operationId": "deleteEvidence", "summary": "Remove an evidence item", "tags": _TAG,
                   "responses": {"204": {"description": "Removed"}, **_ERRORS}},
    },
    "/credentials/{credential_id}/evidence/{evidence_id}/file": {
        "parameters": [_ID, _EVIDENCE_ID],
        "get": {"operationId": "downloadEvidenceFile", "summary": "An evidence file", "tags": _TAG,
                "responses": {"200": {"description": "The file, with its detected type",
                                      "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}},
                              **_ERRORS}},
    },
}

_ISSUER = {"type": "object", "properties": {
    "id": {"type": ["string", "null"], "description": "The issuer id the credential states"},
    "name": {"type": ["string", "null"], "description": "The name the issuer gives itself"},
    "verified_id": {"type": ["string", "null"], "description": "The identifier verification tied it to (domain or DID)"},
    "url": {"type": ["string", "null"]}}}

OPENAPI_SCHEMAS: dict[str, Any] = {
    "ImportRequest": {
        "type": "object",
        "description": "Exactly one of `url` or `credential`.",
        "properties": {
            "url": {"type": "string", "format": "uri"},
            "credential": {"oneOf": [{"type": "object"}, {"type": "string", "description": "A compact JWS/JWT"}]},
        },
    },
    "CredentialSummary": {
        "type": "object",
        "required": ["id", "status", "format", "name", "issuer", "checked_at", "recipient", "tags", "url"],
        "properties": {
            "id": {"type": "integer"},
            "status": {"type": "string", "enum": list(credential_service.STATUSES)},
            "format": {"type": ["string", "null"], "description": "ob2, ob3, clr2 or vc"},
            "name": {"type": "string"},
            "issuer": _ISSUER,
            "issued_at": {"type": ["string", "null"], "format": "date-time"},
            "expires_at": {"type": ["string", "null"], "format": "date-time"},
            "checked_at": {"type": "string", "format": "date-time"},
            "recheck_failed_at": {"type": ["string", "null"], "format": "date-time",
                                  "description": "Set when the last re-check could not reach the issuer"},
            "recipient": {"type": "string", "enum": ["matched", "mismatch", "unknown"]},
            "tags": {"type": "array", "items": {"type": "string"}},
            "image_url": {"type": ["string", "null"]},
            "url": {"type": "string"},
        },
    },
    "Credential": {
        "allOf": [_ref("CredentialSummary"), {"type": "object", "properties": {
            "container": {"type": ["string", "null"]},
            "securing": {"type": ["string", "null"]},
            "source_url": {"type": ["string", "null"]},
            "imported_at": {"type": "string", "format": "date-time"},
            "metadata": {"type": "object", "description": "Normalised metadata as the credential states it"},
            "description": {"type": ["string", "null"], "description": "The learner's own description (Markdown)"},
            "reflection": {"type": ["string", "null"]},
            "learner_tags": {"type": "array", "items": {"type": "string"}},
            "original": {"type": "object", "properties": {"sha256": {"type": "string"},
                                                           "content_type": {"type": "string"},
                                                           "url": {"type": "string"}}},
            "credential": {"type": ["object", "null"], "description": "The verified credential document"},
            "report": {"type": ["object", "null"], "description": "The latest verification report, check by check"},
            "evidence": {"type": "array", "items": _ref("Evidence")},
            "versions": {"type": "array", "items": _ref("CredentialVersion"),
                         "description": "Every copy the wallet accepted, newest first; one is current"},
            "duplicate": {"type": "boolean", "description": "Only on import: this version was already in the wallet"},
            "import": {"type": "object", "description": "Only on import: what happened and what to tell the learner",
                       "properties": {"state": {"type": "string", "enum": ["imported", "replaced", "duplicate"]},
                                      "message": {"type": "string"}}},
            "conclusive": {"type": "boolean", "description": "Only on verify: false if the issuer was unreachable"},
        }}],
    },
    "CredentialVersion": {
        "type": "object", "required": ["id", "current", "status", "imported_at", "original"],
        "properties": {
            "id": {"type": "integer"},
            "current": {"type": "boolean"},
            "status": {"type": "string", "enum": list(credential_service.STATUSES),
                       "description": "As last checked while it was the current copy"},
            "imported_at": {"type": "string", "format": "date-time"},
            "replaced_at": {"type": ["string", "null"], "format": "date-time"},
            "original": {"type": "object", "properties": {
                "sha256": {"type": "string"}, "content_type": {"type": "string"},
                "filename": {"type": ["string", "null"]}, "source_url": {"type": ["string", "null"]},
                "url": {"type": "string"}}},
        },
    },
    "ExistingCopyKept": {
        "type": "object", "required": ["error", "message", "credential"],
        "properties": {
            "error": {"type": "string", "const": "ExistingCopyKept"},
            "message": {"type": "string"},
            "credential": _ref("CredentialSummary"),
            "report": {"type": ["object", "null"], "description": "This copy's own verification report"},
        },
    },
    "CredentialPatch": {
        "type": "object", "additionalProperties": False,
        "properties": {
            "description": {"type": ["string", "null"]},
            "reflection": {"type": ["string", "null"]},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
    },
    "Evidence": {
        "type": "object", "required": ["id", "kind", "title", "position"],
        "properties": {
            "id": {"type": "integer"},
            "kind": {"type": "string", "enum": ["text", "link", "file"]},
            "title": {"type": "string"},
            "position": {"type": "integer"},
            "created_at": {"type": "string", "format": "date-time"},
            "text": {"type": "string"},
            "url": {"type": "string", "format": "uri"},
            "filename": {"type": "string"},
            "content_type": {"type": "string"},
            "size": {"type": "integer"},
            "sha256": {"type": "string"},
            "download_url": {"type": "string"},
        },
    },
    "EvidenceInput": {
        "type": "object", "required": ["kind"],
        "properties": {
            "kind": {"type": "string", "enum": ["text", "link"]},
            "title": {"type": "string"},
            "text": {"type": "string", "description": "Markdown, for kind text"},
            "url": {"type": "string", "format": "uri", "description": "http(s) only, for kind link"},
        },
    },
}


# ---------------------------------------------------------------------------------------------
# Credential offers (OID4VCI 1.0): the answer is a credential import's


@bp.post("/offers")
@require_token
def receive_offer() -> tuple[dict[str, Any], int] | tuple[dict[str, Any], int, dict[str, str]]:
    """Take the offer {"offer": "<URI or link>", "tx_code"?} and store the credentials it gives."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("offer"), str):
        raise ValidationError('Send {"offer": "openid-credential-offer://..."} with Content-Type: application/json.')
    tx_code = body.get("tx_code")
    if tx_code is not None and not isinstance(tx_code, str):
        raise ValidationError('"tx_code" must be a string.')
    session = get_session()
    owner_id = api_user().id
    secret = str(current_app.config["SECRET_KEY"])
    holder = oid4vci.holder_for(session, owner_id, secret_key=secret)
    built = collaborators()
    received = offers.receive(session, built.provider_client(), built.importer(session, owner_id), holder,
                              body["offer"], exchange_client=built.exchange_client(), secret_key=secret,
                              tx_code=tx_code)
    if received.job is not None:
        built.enqueue_job(session, "receive_deferred", received.job.id)
    session.commit()
    if received.job is not None and not received.items:
        data = job_service.summary(received.job)
        data["url"] = url_for("api.get_offer_job", job_id=received.job.id)
        return data, 202, {"Location": data["url"]}
    first = received.items[0]
    data = credential_detail(first.credential)
    data["duplicate"] = first.state == importing.DUPLICATE
    data["import"] = {"state": first.state, "message": first.message}
    if first.stored and first.result is not None:
        data["report"] = first.result.to_dict()
    data["credentials"] = [credential_summary(item.credential) for item in received.items]
    if received.job is not None:
        data["deferred"] = url_for("api.get_offer_job", job_id=received.job.id)
    return data, 201 if any(item.created for item in received.items) else 200


@bp.get("/offers/jobs/<job_id>")
@require_token
def get_offer_job(job_id: str) -> dict[str, Any]:
    """Return a deferred issuance: its state and, once they came, the credentials it added."""
    job = job_service.get_job(get_session(), api_user().id, job_id, kind=job_service.OFFER,
                              stale_after=collaborators().job_stale_after)
    data = job_service.summary(job)
    data["url"] = url_for("api.get_offer_job", job_id=job.id)
    data["items"] = job.items
    return data


_OFFER_TAG = ["Offers"]


def _offer_json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


OPENAPI_PATHS.update({
    "/offers": {
        "post": {
            "operationId": "receiveOffer", "summary": "Receive the credentials of an OID4VCI credential offer",
            "tags": _OFFER_TAG,
            "description": "OpenID for Verifiable Credential Issuance 1.0, pre-authorized code flow: Wallet reads the "
                           "offer (by value or by reference), the issuer's metadata, redeems the code (with `tx_code` "
                           "when the offer asks for one), proves the learner's wallet key (did:key) and imports each "
                           "credential as POST /credentials would. Nothing is stored unless every request succeeded. "
                           "Offers for the authorization code flow are refused here (take them on the web page).",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["offer"],
                "properties": {"offer": {"type": "string", "description": "openid-credential-offer://… or an "
                                         "https link with credential_offer or credential_offer_uri"},
                               "tx_code": {"type": "string", "maxLength": 64}}}}}},
            "responses": {
                "200": _offer_json({"type": "object"}, "Every credential was already in the wallet"),
                "201": _offer_json({"type": "object"}, "The first credential received, with `report` and `credentials`"),
                "202": {**_offer_json({"$ref": "#/components/schemas/OfferJob"}, "The issuer deferred the credentials"),
                        "headers": {"Location": {"schema": {"type": "string"}, "description": "The job"}}},
                "400": {"$ref": "#/components/responses/BadRequest"},
                "401": {"$ref": "#/components/responses/Unauthorized"},
                "422": {"$ref": "#/components/responses/Unprocessable"},
                "429": {"$ref": "#/components/responses/RateLimited"},
                "502": _offer_json({"$ref": "#/components/schemas/Error"}, "The issuer failed or did not answer in time"),
            },
        },
    },
    "/offers/jobs/{job_id}": {
        "parameters": [{"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}],
        "get": {"operationId": "getOfferJob", "summary": "How a deferred issuance is going", "tags": _OFFER_TAG,
                "responses": {"200": _offer_json({"$ref": "#/components/schemas/OfferJob"}, "The job"),
                              "401": {"$ref": "#/components/responses/Unauthorized"},
                              "404": {"$ref": "#/components/responses/NotFound"}}},
    },
})


OPENAPI_SCHEMAS.update({
    "OfferJob": {
        "type": "object", "required": ["id", "kind", "state", "done", "counts", "url"],
        "properties": {
            "id": {"type": "string"}, "kind": {"type": "string", "enum": ["offer"]},
            "state": {"type": "string", "enum": ["queued", "running", "done", "failed"]},
            "total": {"type": ["integer", "null"]}, "done": {"type": "integer"},
            "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
            "error": {"type": ["string", "null"]}, "created_at": {"type": "string", "format": "date-time"},
            "finished_at": {"type": ["string", "null"], "format": "date-time"}, "url": {"type": "string"},
            "items": {"type": "array", "items": {"type": "object"}},
        },
    },
})
