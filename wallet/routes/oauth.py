"""Wallet as an OAuth 2.0 authorization server: registration, consent, token, revocation and metadata.

The machine endpoints (register, token, revoke) answer JSON in the shape of RFC 6749 §5.2 and RFC 7591
§3.2.2 and are exempt from CSRF (clients authenticate themselves); the consent page is a form for
the learner, CSRF-protected like every other. The protocol itself is wallet/authorization.py.
"""
from __future__ import annotations

import hashlib
import hmac

from authlib.oauth2 import OAuth2Error
from flask import Blueprint, Response, current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from wallet import authorization
from wallet.db import get_session
from wallet.errors import error_response
from wallet.extensions import csrf
from wallet.headers import CONTENT_SECURITY_POLICY
from wallet.services.errors import RateLimitedError, ValidationError
from wallet.services.oauth.scopes import consent_summary, describe
from wallet.services.ratelimit import describe_wait
from wallet.web import external_url
from wallet.wiring import collaborators

bp = Blueprint("oauth", __name__)

_LIMIT_MESSAGES = {
    "oauth-register": "Too many client registrations from your address.",
    "oauth-token": "Too many token requests from your address.",
    "oauth-authorize": "Too many authorization requests for your account.",
}


_MACHINE_ENDPOINTS = {"oauth.register", "oauth.token", "oauth.revoke"}


@bp.errorhandler(ValidationError)
def _refused_input(error: ValidationError) -> ResponseReturnValue:
    """Answer input the app refuses before any view (e.g. a NUL character) in the RFC 6749 §5.2 shape."""
    if request.endpoint not in _MACHINE_ENDPOINTS:  # the consent page: as the app answers everywhere else
        return error_response(type(error).__name__.removesuffix("Error"), str(error), 400)
    body = {"error": "invalid_request", "error_description": authorization.error_text(str(error))}
    return body, 400, {"Cache-Control": "no-store"}


def _client_key() -> str:
    secret = str(current_app.config["SECRET_KEY"]).encode("utf-8")
    return hmac.new(secret, (request.remote_addr or "-").encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def _over_limit(name: str, key: str) -> RateLimitedError | None:
    """Count one request against limit `name`; past it, the refusal (and nothing else is done)."""
    wait = collaborators().limiter(name).take(key)
    if not wait:
        return None
    return RateLimitedError(f"{_LIMIT_MESSAGES[name]} Try again in {describe_wait(wait)}.", retry_after=wait)


def _refused(name: str) -> Response | None:
    """Apply limit `name` per client address to a machine endpoint; past it, 429 as JSON."""
    error = _over_limit(name, _client_key())
    if error is None:
        return None
    response = Response(status=429, headers={"Retry-After": str(error.retry_after), "Cache-Control": "no-store"})
    response.set_data(current_app.json.dumps({"error": "too_many_requests", "error_description": str(error)}))
    response.mimetype = "application/json"
    return response


@bp.post("/oauth/register")
@csrf.exempt
def register() -> ResponseReturnValue:
    """Register a client (RFC 7591): open, rate-limited per client address."""
    refused = _refused("oauth-register")
    if refused is not None:
        return refused
    response = authorization.registration_response()
    if response.status_code == 201:
        get_session().commit()
    return response


@bp.post("/oauth/token")
@csrf.exempt
def token() -> ResponseReturnValue:
    """Exchange a code or a refresh token for tokens (RFC 6749 §4.1.3, §6)."""
    refused = _refused("oauth-token")
    if refused is not None:
        return refused
    response = authorization.token_response()
    # Committed whatever the answer: a refused second use of a code, or a replayed refresh token,
    # revokes tokens (RFC 6749 §4.1.2, RFC 9700 §4.14.2).
    get_session().commit()
    return response


@bp.post("/oauth/revoke")
@csrf.exempt
def revoke() -> ResponseReturnValue:
    """Revoke a token (RFC 7009)."""
    refused = _refused("oauth-token")
    if refused is not None:
        return refused
    response = authorization.revocation_response()
    get_session().commit()
    return response


@bp.route("/oauth/authorize", methods=["GET", "POST"])
@login_required
def authorize() -> ResponseReturnValue:
    """Ask the learner to approve or deny a client's authorization request (RFC 6749 §4.1.1)."""
    limited = _over_limit("oauth-authorize", f"user:{current_user.id}")
    if limited is not None:
        raise limited  # the app's error page, 429 with Retry-After
    try:
        asked = authorization.consent_request(current_user)
    except OAuth2Error as error:
        redirect = authorization.error_redirect(error)
        if redirect is not None:
            return redirect
        return render_template("oauth/error.html", message=error.description or error.error), 400
    if request.method == "POST":
        response = authorization.answer_consent(asked, current_user, request.form.get("decision") == "approve")
        get_session().commit()
        return response
    response = current_app.make_response(render_template(
        "oauth/authorize.html", client=asked.client, summary=consent_summary(asked.scopes),
        may=describe(asked.scopes), redirect_uri=asked.redirect_uri,
        return_host=authorization.host(asked.redirect_uri)))
    response.headers["Content-Security-Policy"] = _consent_policy(asked.client.logo_uri, asked.redirect_uri)
    return response


def _consent_policy(logo_uri: str | None, redirect_uri: str) -> str:
    """Let the page show the client's logo (its browser fetches it, never Wallet) and the form go back to it.

    CSP form-action also covers the redirect after the form is sent, so the client's origin is named.
    """
    policy = CONTENT_SECURITY_POLICY.replace("form-action 'self'",
                                             f"form-action 'self' {authorization.origin(redirect_uri)}")
    if logo_uri:
        policy = policy.replace("img-src 'self' data:", f"img-src 'self' data: {authorization.origin(logo_uri)}")
    return policy


@bp.get("/.well-known/oauth-authorization-server")
def metadata() -> ResponseReturnValue:
    """Describe the authorization server (RFC 8414)."""
    issuer = external_url("main.index").rstrip("/")
    return authorization.metadata(issuer, lambda endpoint: external_url(endpoint))
