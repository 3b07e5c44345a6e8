"""The test provider's web app: discovery, the OAuth 2.0 endpoints, and the OB 3.0, CLR 2.0 and Badge
Connect 2.1 resources with their bearer scope checks, paging and faults."""
from __future__ import annotations

import html
import json
import re
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749.util import scope_to_list
from flask import Flask, Response, request

from tests.support.credentials import png_image
from tests.support.provider.oauth import Token, make_authorization_server
from tests.support.provider.specs import (BADGE_CONNECT, BC_SCOPES, CLR, CLR_SCOPES, OB2_CONTEXT, OB3, OB3_SCOPES,
                                          REQUIRED_REGISTRATION, SUPPORTED_SCOPES, badge_connect_manifest,
                                          bc_status, html_page, imsx_status_info, parse_time, service_description)

if TYPE_CHECKING:
    from tests.support.provider import TestProvider

# OB 3.0 CompactJws, the pattern of a compact JWS.
COMPACT_JWS = re.compile(r"^[a-zA-Z0-9_-]+\.[a-zA-Z0-9_-]*\.[a-zA-Z0-9_-]+$")


def make_app(provider: TestProvider) -> Flask:
    """Return the provider's Flask app (its authorization server is `app.extensions["oauth_server"]`)."""
    app = Flask(f"test-provider-{id(provider)}")
    app.config.update(OAUTH2_SCOPES_SUPPORTED=SUPPORTED_SCOPES)
    server = make_authorization_server(app, provider)
    app.extensions["oauth_server"] = server

    @app.before_request
    def record_and_fail() -> Any:
        provider.requests.append((request.method, request.full_path.rstrip("?"), dict(request.headers)))
        fault = provider.take_fault(request.path, -1)  # set by provider.fail_path
        if fault == "500":
            return Response(b'{"error": "server_error"}', status=500, mimetype="application/json")
        if fault == "bad_json":
            return Response(b'{"openapi": ', status=200, mimetype="application/json")
        if fault == "slow":
            time.sleep(provider.slow_seconds)
        return None

    # -- discovery ---------------------------------------------------------------------------

    def discovery(title: str, api_path: str, scopes: dict[str, str]) -> dict[str, Any]:
        return service_description(
            name=provider.name, base_url=provider.base_url, api_path=api_path, title=title, scopes=scopes,
            registration=provider.endpoint("registration", "/oauth/register"),
            authorization=provider.endpoint("authorization", "/oauth/authorize"),
            token=provider.endpoint("token", "/oauth/token"))

    @app.get("/ims/ob/v3p0/discovery")
    def ob3_discovery() -> Any:
        return discovery("Open Badges", "/ims/ob/v3p0", OB3_SCOPES)

    @app.get("/ims/clr/v2p0/discovery")
    def clr_discovery() -> Any:
        return discovery("Comprehensive Learner Record", "/ims/clr/v2p0", CLR_SCOPES)

    @app.get("/.well-known/badgeconnect.json")
    def manifest() -> Any:
        api_base = "/bc/v1" if provider.badge_connect_flavour == "badgr" else "/ims/ob/v2p1"
        return badge_connect_manifest(
            name=provider.name, base_url=provider.base_url, manifest_url=provider.badge_connect_manifest_url,
            api_base=provider.endpoint("api_base", api_base),
            registration=provider.endpoint("registration", "/oauth/register"),
            authorization=provider.endpoint("authorization", "/oauth/authorize"),
            token=provider.endpoint("token", "/oauth/token"),
            revocation=provider.endpoint("revocation", "/oauth/revoke"))

    # -- OAuth 2.0 ---------------------------------------------------------------------------

    @app.post("/oauth/register")
    def register() -> Any:
        body = request.get_json(silent=True)
        missing = [name for name in REQUIRED_REGISTRATION if not isinstance(body, dict) or not body.get(name)]
        if missing:
            # RFC 7591 section 3.2.2: invalid_client_metadata for a missing or invalid field.
            return {"error": "invalid_client_metadata",
                    "error_description": "Missing required properties: " + ", ".join(missing)}, 400
        return server.create_endpoint_response("client_registration")

    @app.route("/oauth/authorize", methods=["GET", "POST"])
    def authorize() -> Any:
        provider.authorization_requests.append(dict(request.args.items()))
        try:
            grant = server.get_consent_grant(end_user=provider.learner)
        except OAuth2Error as error:
            if error.redirect_uri:
                return server.handle_error_response(None, error)
            # OB 3.0: an unknown client or redirect_uri is shown to the user, never redirected to.
            return html_page("Authorization error", f"<p id='error'>{html.escape(error.error)}: "
                             f"{html.escape(error.description or '')}</p>"), 400
        if request.method == "POST":
            approved = request.form.get("decision") == "approve"
            return server.create_authorization_response(grant=grant,
                                                        grant_user=provider.learner if approved else None)
        if provider.consent == "deny":
            return server.create_authorization_response(grant=grant, grant_user=None)
        if provider.consent == "auto":
            return server.create_authorization_response(grant=grant, grant_user=provider.learner)
        client = grant.client
        scopes = "".join(f"<li>{html.escape(s)}</li>" for s in scope_to_list(grant.request.scope or ""))
        return html_page(f"{provider.name}: connect {client.name}", (
            f"<h1>{html.escape(client.name)} asks for access to your records at {html.escape(provider.name)}"
            f"</h1><p>Signed in as {html.escape(provider.learner)}.</p><ul>{scopes}</ul>"
            f"<form method='post'><button name='decision' value='approve'>Approve</button>"
            f"<button name='decision' value='deny'>Deny</button></form>"))

    @app.post("/oauth/token")
    def token() -> Any:
        response = server.create_token_response()
        provider.token_requests.append({
            "form": dict(request.form.items()), "client_id": _basic_client_id(),
            "status": response.status_code, "response": response.get_json(silent=True)})
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.post("/oauth/revoke")
    def revoke() -> Any:
        raw = request.form.get("token", "")
        found = provider.find_token(raw) is not None
        response = server.create_endpoint_response("revocation")
        provider.revocations.append({
            "token": raw, "token_type_hint": request.form.get("token_type_hint"),
            "client_id": _basic_client_id(), "found": found, "status": response.status_code})
        return response

    # -- resources ---------------------------------------------------------------------------

    @app.get("/ims/ob/v3p0/credentials")
    def ob3_credentials() -> Any:
        return _list(provider, OB3, OB3_SCOPES["credential.readonly"])

    @app.get("/ims/clr/v2p0/credentials")
    def clr_credentials() -> Any:
        return _list(provider, CLR, CLR_SCOPES["credential.readonly"])

    @app.post("/ims/ob/v3p0/credentials")
    def ob3_upsert() -> Any:
        return _upsert(provider, OB3, OB3_SCOPES["credential.upsert"])

    @app.post("/ims/clr/v2p0/credentials")
    def clr_upsert() -> Any:
        return _upsert(provider, CLR, CLR_SCOPES["credential.upsert"])

    @app.get("/ims/ob/v2p1/assertions")
    def bc_assertions() -> Any:
        return _list(provider, BADGE_CONNECT, BC_SCOPES["assertion.readonly"])

    @app.get("/bc/v1/assertions")
    def badgr_assertions() -> Any:
        return _list(provider, BADGE_CONNECT, BC_SCOPES["assertion.readonly"], badgr=True)

    @app.route("/ims/ob/v3p0/profile", methods=["GET", "PUT"])
    def ob3_profile() -> Any:
        return _profile(provider, OB3, OB3_SCOPES)

    @app.route("/ims/clr/v2p0/profile", methods=["GET", "PUT"])
    def clr_profile() -> Any:
        return _profile(provider, CLR, CLR_SCOPES)

    @app.get("/ims/ob/v2p1/profile")
    def bc_profile() -> Any:
        token, error = _bearer(provider, BADGE_CONNECT, BC_SCOPES["profile.readonly"])
        if error is not None:
            return error
        profile = dict(provider.learner_profile(token.learner), **{"@context": OB2_CONTEXT})
        return {"status": bc_status(200), "profile": profile}

    @app.get("/ob2/<path:rest>")
    def ob2_document(rest: str) -> Any:
        path = "/ob2/" + rest
        if path == "/ob2/image.png":
            return Response(png_image("teal"), mimetype="image/png")
        if path == "/ob2/issuer":
            return {"@context": OB2_CONTEXT, "type": "Issuer", "id": provider.url(path), "name": provider.name,
                    "url": provider.url("/"), "email": "badges@provider.example",
                    "publicKey": provider.url("/ob2/key")}
        if path == "/ob2/key":
            return {"@context": OB2_CONTEXT, "type": "CryptographicKey", "id": provider.url(path),
                    "owner": provider.url("/ob2/issuer"),
                    "publicKeyPem": provider.ob2_key.export_to_pem(private_key=False, password=None).decode()}
        document = provider.ob2_documents.get(path)
        return (document, 200) if document else ({"error": "not found"}, 404)

    @app.get("/logo.png")
    def logo() -> Any:
        return Response(png_image("maroon"), mimetype="image/png")

    @app.get("/<any(terms, privacy):page>")
    def legal(page: str) -> Any:
        return html_page(f"{provider.name}: {page}", f"<p>The {page} of {html.escape(provider.name)}.</p>")

    return app


def _error(provider: TestProvider, api: str, status: int, description: str,
           headers: dict[str, str] | None = None) -> Response:
    """Return a failure as the API words it: Imsx_StatusInfo (OB 3.0, CLR 2.0) or the Badge Connect envelope."""
    if api == BADGE_CONNECT:
        body: dict[str, Any] = {"status": bc_status(status, description)}
    else:
        body = imsx_status_info(status, description, system=provider.name)
    return Response(json.dumps(body), status=status, mimetype="application/json", headers=headers or {})


def _bearer(provider: TestProvider, api: str, scope: str) -> tuple[Token, None] | tuple[None, Response]:
    """Authenticate the request's bearer token for `scope` (RFC 6750 errors in WWW-Authenticate)."""
    header = request.headers.get("Authorization", "")
    raw = header[7:].strip() if header[:7].lower() == "bearer " else ""
    token = provider.access_token_of(raw) if raw else None
    if token is None or token.is_revoked() or token.is_expired():
        challenge = 'Bearer error="invalid_token"' if raw else "Bearer"
        return None, _error(provider, api, 401, "The access token is missing, unknown, expired or revoked.",
                            {"WWW-Authenticate": challenge})
    if scope not in token.scopes:
        return None, _error(provider, api, 403, f"The access token lacks the scope {scope}.",
                            {"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'})
    return token, None


def _list(provider: TestProvider, api: str, scope: str, *, badgr: bool = False) -> Response:
    """Answer one page of the token's learner's credentials of `api`, with X-Total-Count and Link."""
    token, error = _bearer(provider, api, scope)
    if error is not None:
        return error
    try:
        limit = int(request.args.get("limit", provider.page_size))
        offset = int(request.args.get("offset", 0))
    except ValueError:
        return _error(provider, api, 400, "limit and offset must be integers.")
    if limit < 1 or offset < 0:
        return _error(provider, api, 400, "limit must be positive and offset not negative.")
    since = request.args.get("since")
    since_time = parse_time(since) if since else None
    if since and since_time is None:
        return _error(provider, api, 400, "since must be a date and time like 2026-05-01T00:00:00Z.")
    limit = min(limit, provider.page_size)
    fault = provider.take_fault(api, offset)
    if fault == "500":
        return _error(provider, api, 500, "The provider failed to read this page.")
    if fault == "slow":
        time.sleep(provider.slow_seconds)
    items = provider.items(api, token.learner)
    if since_time is not None:
        # OB 3.0 getCredentials `since`: "Only include OpenBadgeCredentials issued after this timestamp."
        items = [item for item in items if item.issued_at > since_time]
    page = items[offset:offset + limit]
    objects = [item.payload for item in page if isinstance(item.payload, dict)]
    strings = [item.payload for item in page if isinstance(item.payload, str)]
    if api in (OB3, CLR):
        # GetOpenBadgeCredentialsResponse (OB 3.0) and GetClrCredentialsResponse (CLR 2.0) alike.
        body: dict[str, Any] = {"credential": objects, "compactJwsString": strings}
    elif badgr:
        body = {"status": bc_status(200), "results": objects}
    else:
        body = {"status": bc_status(200), "assertions": objects, "signedAssertions": strings}
    content = b'{"credential": [' if fault == "bad_json" else json.dumps(body).encode()
    response = Response(content, status=200, mimetype="application/json")
    response.headers["X-Total-Count"] = str(len(items))
    response.headers["Link"] = _links(len(items), limit, offset)
    return response


def _upsert(provider: TestProvider, api: str, scope: str) -> Response:
    """upsertCredential: a compact JWS as text/plain or a credential as JSON; 201 when new, 200 when it
    replaces one with the same id; the body is what was sent (OB 3.0 upsertCredential)."""
    token, error = _bearer(provider, api, scope)
    if error is not None:
        return error
    text = request.get_data(as_text=True).strip()
    if request.mimetype == "text/plain":
        if not COMPACT_JWS.match(text):
            return _error(provider, api, 400, "A text/plain body must be a compact JWS.")
        credential: dict[str, Any] | str = text
    else:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return _error(provider, api, 400, "The body must be a credential (JSON) or a compact JWS (text/plain).")
        credential = body
    _, created = provider.upsert_credential(credential, learner=token.learner, api=api)
    if isinstance(credential, str):
        return Response(credential, status=201 if created else 200, mimetype="text/plain")
    return Response(json.dumps(credential), status=201 if created else 200, mimetype="application/json")


def _links(total: int, limit: int, offset: int) -> str:
    """Return the Link header: next (when incomplete), last and first (always), prev (offset > 0)."""
    base = request.base_url
    since = {"since": request.args["since"]} if request.args.get("since") else {}

    def link(at: int, rel: str) -> str:
        return f'<{base}?{urlencode({"limit": limit, "offset": at, **since})}>; rel="{rel}"'

    links = []
    if offset + limit < total:
        links.append(link(offset + limit, "next"))
    links.append(link(((total - 1) // limit) * limit if total else 0, "last"))
    links.append(link(0, "first"))
    if offset > 0:
        links.append(link(max(offset - limit, 0), "prev"))
    return ", ".join(links)


def _profile(provider: TestProvider, api: str, scopes: dict[str, str]) -> Any:
    """getProfile with profile.readonly; putProfile (the whole Profile) with profile.update."""
    if request.method == "PUT":
        token, error = _bearer(provider, api, scopes["profile.update"])
        if error is not None:
            return error
        body = request.get_json(silent=True)
        types = body.get("type") if isinstance(body, dict) else None
        if "Profile" not in ([types] if isinstance(types, str) else types or []):
            return _error(provider, api, 400, "The body must be a Profile.")
        provider.profiles[token.learner] = body
        return body
    token, error = _bearer(provider, api, scopes["profile.readonly"])
    if error is not None:
        return error
    return provider.learner_profile(token.learner)


def _basic_client_id() -> str | None:
    auth = request.authorization
    return auth.username if auth is not None and auth.type == "basic" else None
