"""The whole wallet over the API: GET /api/v1/export and POST /api/v1/import."""
from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from typing import IO, Any

from flask import Response, current_app

from wallet.routes.api import api_user, bp, require_token
from wallet.services import portability
from wallet.web import read_export_upload, run_import
from wallet.wiring import collaborators


@bp.get("/export")
@require_token
def export_wallet() -> Response:
    """Build the learner's export (docs/export-format.md) and stream it; it is spooled to disk, not memory."""
    folder = collaborators().exports_folder
    folder.mkdir(parents=True, exist_ok=True)
    # An unnamed temporary file: it disappears when the response closes it.
    spool = tempfile.TemporaryFile(dir=folder)
    try:
        with portability.snapshot(current_app.extensions["wallet.sessionmaker"]) as session:
            portability.write_export(session, api_user().id, collaborators().blobs, spool, scratch_dir=folder)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    size = os.fstat(spool.fileno()).st_size
    response = Response(_chunks(spool), mimetype="application/zip", direct_passthrough=True)
    response.headers["Content-Length"] = str(size)
    response.headers["Content-Disposition"] = f'attachment; filename="{portability.export_filename()}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response


def _chunks(spool: IO[bytes], size: int = 1024 * 1024) -> Iterator[bytes]:
    # The file is closed (and so deleted) once its last byte is sent, even by a server or client
    # that never closes the response.
    try:
        while chunk := spool.read(size):
            yield chunk
    finally:
        spool.close()


@bp.post("/import")
@require_token
def import_wallet() -> dict[str, Any]:
    """Restore a wallet export (multipart field `file`) and report what was restored and refused."""
    storage = read_export_upload()
    return run_import(api_user().id, storage.stream).to_dict()


_COUNTS = {"type": "object", "description": "By kind: credentials, evidence, pathways, portfolios, share_links.",
           "additionalProperties": {"type": "integer"}}

OPENAPI_PATHS: dict[str, Any] = {
    "/export": {
        "get": {
            "operationId": "exportWallet",
            "summary": "Export the whole wallet as one ZIP",
            "description": "Every original byte for byte, the fetched documents, evidence files, the learner's "
                           "words and tags, pathways (template format), portfolios and share-link settings, "
                           "with `manifest.json` (format `wallet-export`, version 1; see docs/export-format.md).",
            "tags": ["Portability"],
            "responses": {
                "200": {"description": "The export",
                        "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}}},
                "401": {"$ref": "#/components/responses/Unauthorized"},
            },
        }
    },
    "/import": {
        "post": {
            "operationId": "importWallet",
            "summary": "Import a wallet export into this account",
            "description": "Every credential is verified again through the normal import. Portfolios come back "
                           "private with new links; share links come back withdrawn. What the account already "
                           "holds is left as it is, so importing the same export twice adds nothing.",
            "tags": ["Portability"],
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "required": ["file"],
                "properties": {"file": {"type": "string", "format": "binary",
                                        "description": "The export ZIP."}}}}}},
            "responses": {
                "200": {"description": "What was restored, already there, and refused",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ImportReport"}}}},
                "400": {"$ref": "#/components/responses/BadRequest"},
                "401": {"$ref": "#/components/responses/Unauthorized"},
                "413": {"$ref": "#/components/responses/TooLarge"},
                "422": {"$ref": "#/components/responses/Unprocessable"},
                "429": {"$ref": "#/components/responses/RateLimited"},
            },
        }
    },
}

OPENAPI_SCHEMAS: dict[str, Any] = {
    "ImportReport": {
        "type": "object",
        "required": ["restored", "unchanged", "refused", "notes", "ignored_entries"],
        "properties": {
            "restored": {**_COUNTS, "description": "Items added to the wallet, by kind."},
            "unchanged": {**_COUNTS, "description": "Items the wallet already held (left as they are), by kind."},
            "refused": {"type": "array", "items": {
                "type": "object", "required": ["item", "name", "error", "message"],
                "properties": {
                    "item": {"type": "string", "description": "JSON path of the item in manifest.json."},
                    "name": {"type": "string"},
                    "error": {"type": "string", "description": "Stable code, e.g. ImportRejected, Quota."},
                    "message": {"type": "string", "description": "Why, in words fit to show a person."}}}},
            "notes": {"type": "array", "items": {"type": "string"},
                      "description": "Parts of items that were restored differently (e.g. a left-out portfolio item)."},
            "ignored_entries": {"type": "integer", "description": "ZIP entries not named by a sha256 (not read)."},
        },
    }
}
