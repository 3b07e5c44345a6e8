"""Wallet as a Host of the Open Badges 3.0 and CLR 2.0 APIs: /ims/ob/v3p0/… and /ims/clr/v2p0/….

The same views serve both APIs; the route's `api` default ("ob" or "clr") picks the paths, scopes and
credential type (services/host/apis.py). Every view but discovery takes an OAuth 2.0 access token with
the operation's scope (`require_scope`); failures are Imsx_StatusInfo bodies (wallet/imsx.py).

CORS: none on the resource endpoints. The specification's clients are servers (a confidential
client with a client secret, OB 3.0 §7), so no browser page of another origin needs to read them; the
discovery document, public and credential-free, is readable from any origin (docs/api.md "CORS").
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, Response, current_app, g, request
from werkzeug.exceptions import UnsupportedMediaType

from wallet import imsx
from wallet.db import get_session
from wallet.extensions import csrf
from wallet.services.errors import AuthenticationError, InsufficientScopeError, ValidationError
from wallet.services.host import APIS, Api, apis
from wallet.services.host import credentials as host_credentials
from wallet.services.host import discovery as host_discovery
from wallet.services.host import profile as host_profile
from wallet.services.oauth.access import OAuthAccess, authenticate_access_token
from wallet.web import external_url
from wallet.wiring import collaborators

bp = Blueprint("host", __name__)
# Every view is authenticated by its bearer token, never by the session cookie, so a forged
# cross-site request carries no credential (as /api/v1, docs/security.md F2).
csrf.exempt(bp)

SERVICE_NAME = "Wallet"

View = TypeVar("View", bound=Callable[..., Any])


def require_scope(permission: str) -> Callable[[View], View]:
    """Let the view run only with an access token holding the operation's scope for this API.

    RFC 6750 §3.1: a missing, unknown, expired or revoked token is 401 with `WWW-Authenticate: Bearer`
    (`error="invalid_token"` when one was sent); a token without the scope is 403 with
    `error="insufficient_scope"` and the scope it needs. Bodies are Imsx_StatusInfo.
    """

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(*args: Any, api: str, **kwargs: Any) -> Any:
            scope = APIS[api].scope(permission)
            scheme, _, credentials = request.headers.get("Authorization", "").strip().partition(" ")
            raw = credentials.strip() if scheme.lower() == "bearer" else ""
            session = get_session()
            try:
                access = authenticate_access_token(session, raw or None, scope=scope)
            except InsufficientScopeError as error:
                response = imsx.error_response(403, str(error))
                response.headers["WWW-Authenticate"] = (f'Bearer realm="{SERVICE_NAME}", error="insufficient_scope", '
                                                        f'scope="{scope}"')
                return response
            except AuthenticationError as error:
                response = imsx.error_response(401, str(error))
                challenge = f'Bearer realm="{SERVICE_NAME}"'
                response.headers["WWW-Authenticate"] = challenge + (', error="invalid_token"' if raw else "")
                return response
            session.commit()  # the grant's last use
            g.oauth_access = access
            return view(*args, api=api, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def oauth_access() -> OAuthAccess:
    """Return what the access token of this request grants: the learner, the client, the scopes."""
    return g.oauth_access


def _route(rule: str, endpoint: str, view: Callable[..., Any], methods: list[str]) -> None:
    for api in APIS.values():
        bp.add_url_rule(api.path + rule, f"{api.key}_{endpoint}", view, methods=methods, defaults={"api": api.key})


def discovery(api: str) -> Response:
    """Answer the Service Description Document (unauthenticated)."""
    spec = APIS[api]
    config = current_app.config
    links = host_discovery.Links(
        server=external_url(f"host.{api}_discovery").rsplit("/", 1)[0],
        registration=external_url("oauth.register"),
        authorization=external_url("oauth.authorize"),
        token=external_url("oauth.token"),
        privacy_policy=config.get("PRIVACY_POLICY_URL") or external_url("main.privacy"),
        terms_of_service=config.get("TERMS_OF_SERVICE_URL") or external_url("main.terms"),
        image=external_url("static", filename="img/logo.svg"),
    )
    response = _json(host_discovery.service_description(spec, links, name=SERVICE_NAME))
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@require_scope(apis.CREDENTIAL_READONLY)
def get_credentials(api: str) -> Response:
    """Answer one page of the learner's credentials with X-Total-Count and Link (OB 3.0 §6.4)."""
    spec = APIS[api]
    paging = host_credentials.parse_paging(request.args.get("limit"), request.args.get("offset"),
                                           request.args.get("since"))
    page = host_credentials.list_credentials(get_session(), collaborators().blobs, oauth_access().user.id, spec,
                                             paging)
    response = Response(page.body(), mimetype="application/json")
    response.headers["X-Total-Count"] = str(page.total)
    response.headers["Link"] = ", ".join(
        f'<{_page_url(spec, paging, offset)}>; rel="{rel}"'
        for rel, offset in host_credentials.page_offsets(paging, page.total).items())
    return response


def _page_url(spec: Api, paging: host_credentials.Paging, offset: int) -> str:
    query: dict[str, Any] = {"limit": paging.limit, "offset": offset}
    if paging.since_text:
        query["since"] = paging.since_text
    return external_url(f"host.{spec.key}_credentials", **query)


@require_scope(apis.CREDENTIAL_UPSERT)
def upsert_credential(api: str) -> Response:
    """Add or update a credential: JSON, or a compact JWS as text/plain; 201 when added, else 200."""
    if request.mimetype not in host_credentials.BODY_TYPES:
        raise UnsupportedMediaType("Send the credential as application/json, or a VC-JWT as text/plain.")
    session = get_session()
    importer = collaborators().importer(session, oauth_access().user.id)
    upserted = host_credentials.upsert_credential(session, importer, APIS[api],
                                                  request.get_data(cache=False), request.mimetype)
    session.commit()
    return Response(upserted.body, status=201 if upserted.created else 200, mimetype=upserted.content_type)


@require_scope(apis.PROFILE_READONLY)
def get_profile(api: str) -> Response:
    """Answer the learner's Profile."""
    session = get_session()
    profile = host_profile.get_profile(session, oauth_access().user.id, APIS[api],
                                       secret_key=current_app.config["SECRET_KEY"])
    session.commit()  # the wallet key, made when first asked for
    return _json(profile)


@require_scope(apis.PROFILE_UPDATE)
def put_profile(api: str) -> Response:
    """Take a new name from the Profile sent; answer the profile as it now is."""
    if request.mimetype not in host_credentials.JSON_TYPES:
        raise UnsupportedMediaType("Send the Profile as application/json.")
    body = request.get_json(silent=True)
    if body is None:
        raise ValidationError("Send the whole Profile as a JSON object.")
    session = get_session()
    profile = host_profile.put_profile(session, oauth_access().user.id, APIS[api], body,
                                       secret_key=current_app.config["SECRET_KEY"])
    session.commit()
    return _json(profile)


def _json(document: dict[str, Any]) -> Response:
    return current_app.response_class(current_app.json.dumps(document), mimetype="application/json")


_route("/discovery", "discovery", discovery, ["GET"])
_route("/credentials", "credentials", get_credentials, ["GET"])
_route("/credentials", "upsert_credential", upsert_credential, ["POST"])
_route("/profile", "profile", get_profile, ["GET"])
_route("/profile", "put_profile", put_profile, ["PUT"])
