"""The JSON API under /api/v1: bearer tokens, one module per area, one OpenAPI document.

Adding an area: create `wallet/routes/api/<area>.py` that imports `bp` and `require_token` from
here, registers its views on `bp`, and declares its part of the OpenAPI document as module
constants `OPENAPI_PATHS` (paths relative to /api/v1, e.g. "/credentials") and, if it needs them,
`OPENAPI_SCHEMAS` (component schemas by name). Every module of this package is imported with the
package, before `create_app` registers `bp`; `openapi.py` merges the fragments, in module-name
order, and refuses two modules describing the same operation or schema.
"""
from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Callable
from types import ModuleType
from typing import Any, TypeVar

from flask import Blueprint, Response, g, request

from wallet.db import get_session
from wallet.errors import error_response
from wallet.extensions import csrf
from wallet.models import User
from wallet.services import tokens
from wallet.services.errors import AuthenticationError

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# The API authenticates each request by its bearer token, never by the session cookie, so a forged
# cross-site request carries no credential and CSRF tokens have nothing to protect (F2).
csrf.exempt(bp)

View = TypeVar("View", bound=Callable[..., Any])


def require_token(view: View) -> View:
    """Let the view run only with a valid personal access token; its owner becomes the acting user.

    Missing, wrong, revoked and expired tokens get 401 JSON with `WWW-Authenticate: Bearer`
    (RFC 6750 §3). Inside the view, `api_user()` and Flask-Login's `current_user` are the owner.
    """

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        scheme, _, credentials = request.headers.get("Authorization", "").strip().partition(" ")
        raw = credentials.strip() if scheme.lower() == "bearer" else ""
        session = get_session()
        try:
            user = tokens.authenticate_token(session, raw or None)
        except AuthenticationError as error:
            return _unauthorized(str(error), token_sent=bool(raw))
        session.commit()  # last_used_at, written at most once a minute
        g.api_user = user
        # Flask-Login reads the acting user from here; setting it directly leaves the session alone.
        g._login_user = user
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def api_user() -> User:
    """Return the owner of the token that authenticated this API request."""
    return g.api_user


def _unauthorized(message: str, *, token_sent: bool) -> Response:
    response = error_response("Unauthorized", message, 401)
    challenge = 'Bearer realm="Wallet"'
    if token_sent:
        challenge += ', error="invalid_token"'
    response.headers["WWW-Authenticate"] = challenge
    return response


AREA_MODULES: list[ModuleType] = []


def _load_areas() -> None:
    # Importing an area registers its views on `bp`; that must happen before the app registers it.
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            AREA_MODULES.append(importlib.import_module(f"{__name__}.{info.name}"))


_load_areas()
