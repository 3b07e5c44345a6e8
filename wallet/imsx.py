"""Errors of the 1EdTech APIs under /ims/ as `Imsx_StatusInfo` bodies (OB 3.0 §B.3, CLR 2.0 the same).

Every failure of an /ims/ request, whether a view refused it, the route does not exist or the
method is wrong, answers JSON of this shape (docs/api.md "Errors"):

    {"imsx_codeMajor": "failure", "imsx_severity": "error", "imsx_description": "...",
     "imsx_codeMinor": {"imsx_codeMinorField": [{"imsx_codeMinorFieldName": "Wallet",
                                                 "imsx_codeMinorFieldValue": "invalid_query_parameter"}]}}

The code minor values are those of OB 3.0 §B.3.6 Imsx_CodeMinorFieldValue, each with the HTTP
status the specification pairs it with.
"""
from __future__ import annotations

from flask import Response, jsonify, request

IMS_PREFIX = "/ims/"
# OB 3.0 §B.3.5: imsx_codeMinorFieldName names "the system that has produced the code minor status code".
SYSTEM_NAME = "Wallet"

# OB 3.0 §B.3.6: the code minor value for each HTTP status, and the severity it is reported with.
_CODE_MINOR = {
    400: "invalid_data",
    401: "unauthorizedrequest",
    403: "forbidden",
    404: "not_found",
    405: "not_allowed",
    406: "not_acceptable",
    413: "invalid_data",
    415: "invalid_data",
    422: "invalid_data",
    429: "server_busy",
    500: "internal_server_error",
}
# §B.3.6 not_found: "accompanied by the 'codeMajor/severity' values of 'failure/status'"; the others 'failure/error'.
_STATUS_SEVERITY = {404}


def is_ims_request() -> bool:
    """Tell whether this request is for one of the 1EdTech APIs (OB 3.0, CLR 2.0) under /ims/."""
    return request.path.startswith(IMS_PREFIX)


def status_info(status: int, description: str, *, code_minor: str | None = None) -> dict[str, object]:
    """Return the Imsx_StatusInfo of a failure answered with HTTP `status`."""
    value = code_minor or _CODE_MINOR.get(status, "unknown")
    return {
        "imsx_codeMajor": "failure",
        "imsx_severity": "status" if status in _STATUS_SEVERITY else "error",
        "imsx_description": description,
        "imsx_codeMinor": {"imsx_codeMinorField": [
            {"imsx_codeMinorFieldName": SYSTEM_NAME, "imsx_codeMinorFieldValue": value}]},
    }


def error_response(status: int, description: str, *, code_minor: str | None = None) -> Response:
    """Return an Imsx_StatusInfo JSON response with HTTP `status`."""
    response = jsonify(status_info(status, description, code_minor=code_minor))
    response.status_code = status
    return response
