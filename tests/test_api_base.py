"""The JSON API base: bearer tokens, /api/v1/me, the OpenAPI document and its assembly."""
from __future__ import annotations

import re
import types
from datetime import timedelta

import pytest
from openapi_spec_validator import validate

from tests.support.accounts import bearer
from wallet import create_app
from wallet.db import get_engine, utcnow
from wallet.models import ApiToken
from wallet.routes.api import AREA_MODULES
from wallet.routes.api.openapi import build_document
from wallet.services import tokens
from wallet.services.errors import ValidationError


def test_me_with_valid_token_describes_the_owner(client, make_user, api_token) -> None:
    user = make_user(email="ada@example.org", display_name="Ada Lovelace")
    response = client.get("/api/v1/me", headers=bearer(api_token(user)))
    assert response.status_code == 200
    body = response.get_json()
    assert body["id"] == user.id
    assert body["display_name"] == "Ada Lovelace"
    assert body["emails"] == [{"address": "ada@example.org", "verified": True, "primary": True}]
    assert "Set-Cookie" not in response.headers


def test_me_without_token_is_401_json_with_bearer_challenge(client) -> None:
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="Wallet"'
    assert response.get_json()["error"] == "Unauthorized"
    assert "Bearer" in response.get_json()["message"]


@pytest.mark.parametrize("header", [
    "Bearer wlt_not-a-real-token",
    "Bearer not-even-the-format",
    "Bearer " + "wlt_" + "a" * 300,
    "Basic dXNlcjpwYXNz",
    "Bearer",
])
def test_me_with_wrong_token_is_401(client, make_user, api_token, header: str) -> None:
    api_token(make_user())
    response = client.get("/api/v1/me", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert set(response.get_json()) == {"error", "message"}


def test_me_with_revoked_token_is_401(client, session, make_user, api_token) -> None:
    user = make_user()
    raw = api_token(user)
    assert client.get("/api/v1/me", headers=bearer(raw)).status_code == 200
    token = session.query(ApiToken).filter_by(user_id=user.id).one()
    tokens.revoke_token(session, owner_id=user.id, token_id=token.id)
    session.commit()
    response = client.get("/api/v1/me", headers=bearer(raw))
    assert response.status_code == 401
    assert "invalid_token" in response.headers["WWW-Authenticate"]
    assert response.get_json()["message"] == "That token was revoked."


def test_me_with_expired_token_is_401(client, session, make_user) -> None:
    user = make_user()
    token, raw = tokens.create_token(session, owner_id=user.id, name="short", expires_at=utcnow() + timedelta(hours=1))
    token.expires_at = utcnow() - timedelta(seconds=1)
    session.commit()
    response = client.get("/api/v1/me", headers=bearer(raw))
    assert response.status_code == 401
    assert response.get_json()["message"] == "That token has expired."


def test_token_use_records_last_used(client, session, make_user, api_token) -> None:
    user = make_user()
    raw = api_token(user)
    token = session.query(ApiToken).filter_by(user_id=user.id).one()
    assert token.last_used_at is None
    client.get("/api/v1/me", headers=bearer(raw))
    session.expire_all()
    assert session.get(ApiToken, token.id).last_used_at is not None


def test_api_token_does_not_log_in_the_browser_session(client, make_user, api_token) -> None:
    user = make_user()
    client.get("/api/v1/me", headers=bearer(api_token(user)))
    response = client.get("/settings/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_api_session_cookie_alone_is_not_enough(client, make_user, login) -> None:
    login(make_user())
    assert client.get("/settings/").status_code == 200
    assert client.get("/api/v1/me").status_code == 401


def test_api_post_needs_no_csrf_token_but_pages_do(app_config, app) -> None:
    """Bearer-token API views are CSRF-exempt; the same POST outside the API blueprint is refused."""
    csrf_app = create_app(dict(app_config, WTF_CSRF_ENABLED=True))
    csrf_app.add_url_rule("/api/v1/echo", endpoint="api.echo", view_func=lambda: {"ok": True}, methods=["POST"])
    csrf_app.add_url_rule("/echo", endpoint="echo", view_func=lambda: {"ok": True}, methods=["POST"])
    client = csrf_app.test_client()
    api_response, page_response = client.post("/api/v1/echo"), client.post("/echo")
    get_engine(csrf_app).dispose()
    assert api_response.status_code == 200 and api_response.get_json() == {"ok": True}
    assert page_response.status_code == 400


def test_token_secret_is_stored_only_as_sha256(session, make_user) -> None:
    user = make_user()
    token, raw = tokens.create_token(session, owner_id=user.id, name="laptop")
    assert raw.startswith("wlt_") and len(raw) >= 40
    assert token.token_hash == tokens.hash_secret(raw) and raw not in token.token_hash
    assert token.prefix == raw[:12]


def test_create_token_without_name_is_refused(session, make_user) -> None:
    user = make_user()
    with pytest.raises(ValidationError, match="name"):
        tokens.create_token(session, owner_id=user.id, name="   ")
    assert tokens.list_tokens(session, owner_id=user.id) == []


def test_openapi_document_is_valid_openapi_31(client) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    validate(document)  # raises on any schema violation
    assert document["openapi"] == "3.1.0"
    assert {"/me", "/openapi.json"} <= set(document["paths"])
    assert document["components"]["schemas"]["Error"]["required"] == ["error", "message"]
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert document["paths"]["/openapi.json"]["get"]["security"] == []


def test_openapi_describes_every_api_route(app, client) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    described = {(path, method) for path, item in document["paths"].items() for method in item
                 if method in ("get", "post", "put", "patch", "delete")}
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api."):
            continue
        # Werkzeug's "<int:credential_id>" is OpenAPI's "{credential_id}".
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method.lower()) in described, f"{method} {rule.rule} is not in the OpenAPI document"


def test_openapi_merges_area_fragments() -> None:
    area = types.ModuleType("wallet.routes.api.example")
    area.OPENAPI_PATHS = {"/examples": {"get": {"operationId": "listExamples", "responses": {
        "200": {"description": "ok", "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Example"}}}}}}}}
    area.OPENAPI_SCHEMAS = {"Example": {"type": "object"}}
    document = build_document([*AREA_MODULES, area])
    validate(document)
    assert "/examples" in document["paths"] and "/me" in document["paths"]
    assert "Example" in document["components"]["schemas"]


def test_openapi_refuses_an_operation_described_twice() -> None:
    area = types.ModuleType("wallet.routes.api.clash")
    area.OPENAPI_PATHS = {"/me": {"get": {"responses": {"200": {"description": "again"}}}}}
    with pytest.raises(RuntimeError, match="GET /me is described twice"):
        build_document([*AREA_MODULES, area])


def test_openapi_refuses_a_schema_defined_twice() -> None:
    area = types.ModuleType("wallet.routes.api.clash")
    area.OPENAPI_SCHEMAS = {"Error": {"type": "object"}}
    with pytest.raises(RuntimeError, match="'Error' is defined twice"):
        build_document([*AREA_MODULES, area])
