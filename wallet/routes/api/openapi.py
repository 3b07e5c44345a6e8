"""GET /api/v1/openapi.json: the OpenAPI 3.1 document, merged from every API area's fragment."""
from __future__ import annotations

import copy
from collections.abc import Iterable
from types import ModuleType
from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from wallet.routes.api import AREA_MODULES, bp

OPENAPI_VERSION = "3.1.0"
API_VERSION = "1.0.0"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Every error answer of the API has this shape.",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string", "description": "Stable machine-readable code, e.g. Unauthorized, NotFound, "
                  "Validation, Conflict, RateLimited, TooLarge, ImportRejected, Fetch."},
        "message": {"type": "string", "description": "What went wrong, in words fit to show a person."},
    },
}


def _error_response(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


# Shared answers that fragments reference as {"$ref": "#/components/responses/<name>"}.
COMMON_RESPONSES: dict[str, Any] = {
    "BadRequest": _error_response("The request was malformed or a value was refused; `message` says which."),
    "Unauthorized": {
        **_error_response("The bearer token is missing, wrong, revoked or expired."),
        "headers": {"WWW-Authenticate": {"schema": {"type": "string"},
                                         "description": 'Bearer realm="Wallet", per RFC 6750.'}},
    },
    "NotFound": _error_response("No such item among the token owner's items."),
    "Conflict": _error_response("The request clashes with what is stored."),
    "TooLarge": _error_response("The upload or body is over the size limit."),
    "Unprocessable": _error_response("Not a credential Wallet can read."),
    "RateLimited": _error_response("Too many requests; try again later."),
}


def build_document(areas: Iterable[ModuleType], server_url: str = "/api/v1") -> dict[str, Any]:
    """Merge the areas' OPENAPI_PATHS and OPENAPI_SCHEMAS into one OpenAPI 3.1 document.

    Raises RuntimeError when two areas describe the same operation or schema: the document would
    otherwise depend on import order.
    """
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {"Error": copy.deepcopy(ERROR_SCHEMA)}
    for area in areas:
        for path, item in getattr(area, "OPENAPI_PATHS", {}).items():
            if not path.startswith("/"):
                raise RuntimeError(f"{area.__name__}: OpenAPI path {path!r} must start with '/'")
            merged = paths.setdefault(path, {})
            for key, operation in item.items():
                if key in merged and (key in HTTP_METHODS or merged[key] != operation):
                    raise RuntimeError(f"{area.__name__}: {key.upper()} {path} is described twice")
                merged[key] = copy.deepcopy(operation)
        for name, schema in getattr(area, "OPENAPI_SCHEMAS", {}).items():
            if name in schemas:
                raise RuntimeError(f"{area.__name__}: OpenAPI schema {name!r} is defined twice")
            schemas[name] = copy.deepcopy(schema)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Wallet API",
            "version": API_VERSION,
            "description": "Collect, verify and share learning credentials. Authenticate with a personal "
                           "access token from Settings: `Authorization: Bearer wlt_...`.",
        },
        "servers": [{"url": server_url}],
        "security": [{"bearerAuth": []}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer",
                               "description": "A personal access token created in Settings."},
            },
            "schemas": dict(sorted(schemas.items())),
            "responses": copy.deepcopy(COMMON_RESPONSES),
        },
    }


@bp.get("/openapi.json")
def openapi_json() -> ResponseReturnValue:
    """Serve the OpenAPI document (public: it describes the API, it holds no data)."""
    return jsonify(build_document(AREA_MODULES, server_url=request.script_root + bp.url_prefix))


OPENAPI_PATHS: dict[str, Any] = {
    "/openapi.json": {
        "get": {
            "operationId": "getOpenApiDocument",
            "summary": "This OpenAPI document",
            "tags": ["Meta"],
            "security": [],
            "responses": {"200": {"description": "The OpenAPI 3.1 document",
                                  "content": {"application/json": {"schema": {"type": "object"}}}}},
        }
    }
}
