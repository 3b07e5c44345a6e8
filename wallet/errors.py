"""Map domain exceptions and HTTP errors to responses, in one place."""
from __future__ import annotations

import logging

from flask import Flask, Response, make_response, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError, MethodNotAllowed, NotFound

from wallet import imsx
from wallet.services.errors import (
    AuthenticationError,
    ConflictError,
    FetchError,
    ImportRejectedError,
    InsufficientScopeError,
    NotFoundError,
    PermissionDeniedError,
    QueryParameterError,
    QuotaExceededError,
    RateLimitedError,
    TooLargeError,
    ValidationError,
    WalletError,
)

log = logging.getLogger(__name__)

_STATUS: dict[type[WalletError], int] = {
    NotFoundError: 404,
    ValidationError: 400,
    ConflictError: 409,
    AuthenticationError: 401,
    InsufficientScopeError: 403,  # RFC 6750 §3.1
    PermissionDeniedError: 403,
    RateLimitedError: 429,
    QuotaExceededError: 422,
    TooLargeError: 413,
    ImportRejectedError: 422,
    FetchError: 502,
}

# The 1EdTech APIs (/ims/, docs/api.md "Errors"): a credential that cannot be kept is a client error
# (400 invalid_data), a full wallet a refusal (403 forbidden); bad paging is invalid_query_parameter.
_IMS_STATUS: dict[type[WalletError], int] = {
    TooLargeError: 413,
    ImportRejectedError: 400,
    QuotaExceededError: 403,
}
_IMS_CODE_MINOR: dict[type[WalletError], str] = {QueryParameterError: "invalid_query_parameter"}

# Stable machine-readable codes for HTTP errors raised by Flask/Werkzeug itself.
_HTTP_CODES = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    413: "TooLarge",
    415: "UnsupportedMediaType",
    429: "RateLimited",
    500: "InternalError",
}


def wants_json() -> bool:
    """Return whether this request should get JSON errors (the API and anything asking for JSON)."""
    if request.blueprint == "api" or request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def error_response(code: str, message: str, status: int) -> Response:
    """Render an error as JSON for API callers or as the HTML error page for people."""
    if wants_json():
        return make_response({"error": code, "message": message}, status)
    return make_response(render_template("errors/error.html", status=status, message=message), status)


def register_error_handlers(app: Flask) -> None:
    """Install handlers for WalletError, HTTP errors and unexpected exceptions."""

    @app.errorhandler(WalletError)
    def handle_wallet_error(error: WalletError):
        status = next((_STATUS[c] for c in type(error).__mro__ if c in _STATUS), 400)
        if imsx.is_ims_request():
            status = next((_IMS_STATUS[c] for c in type(error).__mro__ if c in _IMS_STATUS), status)
            code_minor = next((_IMS_CODE_MINOR[c] for c in type(error).__mro__ if c in _IMS_CODE_MINOR), None)
            response = imsx.error_response(status, str(error), code_minor=code_minor)
        else:
            response = error_response(type(error).__name__.removesuffix("Error") or "Error", str(error), status)
        if isinstance(error, RateLimitedError) and error.retry_after:
            response.headers["Retry-After"] = str(error.retry_after)  # RFC 9110 §10.2.3, in seconds
        return response

    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException):
        status = error.code or 500
        code = _HTTP_CODES.get(status, "HTTPError")
        if status == 400 and "CSRF" in (error.description or ""):
            code = "CSRFFailed"
            message = "This form has expired or was sent from somewhere else. Reload the page and try again."
        elif status == 413:
            message = "That upload is too large."
        elif status == 404 and error.description == NotFound.description:
            message = "There is no page at this address."
        elif status == 405 and error.description == MethodNotAllowed.description:
            message = "That action is not available here."
        else:
            message = error.description or error.name
        if imsx.is_ims_request():
            response = imsx.error_response(status, message)
        else:
            response = error_response(code, message, status)
        for name in ("Allow", "Retry-After", "WWW-Authenticate"):
            value = dict(error.get_headers()).get(name)
            if value:
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        if app.testing and not app.config.get("SHOW_ERROR_PAGES"):
            raise error
        log.exception("Unhandled error on %s %s", request.method, request.path.replace("\n", "\\n"))
        if imsx.is_ims_request():
            return imsx.error_response(500, InternalServerError.description)
        return error_response("InternalError", InternalServerError.description, 500)
