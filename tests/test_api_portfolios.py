"""Portfolios and share links over the JSON API, and their part of the OpenAPI document."""
from __future__ import annotations

import pytest
from openapi_spec_validator import validate

from tests.support.accounts import bearer
from tests.support.credentials import JwtIssuer
from tests.support.portfolios import add_credential
from wallet.services.verification import make_context
from wallet.services.verification.vp import verify as verify_presentation
from wallet.services.verification.extract import Presented


@pytest.fixture
def owner(make_user, login, client):
    user = make_user(email="learner@example.org", display_name="Mary Jackson")
    login(user)
    return user


@pytest.fixture
def headers(owner, api_token):
    return bearer(api_token(owner))


@pytest.fixture
def credential_ids(client, owner) -> list[int]:
    issuer = JwtIssuer(name="Langley College")
    return [add_credential(client, issuer.jwt(name=f"Badge {n}")) for n in range(2)]


def test_create_read_update_delete_portfolio(client, headers, credential_ids):
    created = client.post("/api/v1/portfolios", headers=headers, json={
        "title": "Engineer application", "headline": "Wind tunnels", "about": "**Hi**",
        "credentials": [credential_ids[1], {"id": credential_ids[0], "include_evidence": False}]})
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert created.headers["Location"] == f"/api/v1/portfolios/{body['id']}"
    assert body["visibility"] == "private" and body["link_works"] is False
    assert [(i["credential_id"], i["include_evidence"]) for i in body["items"]] == [
        (credential_ids[1], True), (credential_ids[0], False)]
    assert client.get(body["url"].removeprefix("http://localhost")).status_code == 404

    updated = client.patch(f"/api/v1/portfolios/{body['id']}", headers=headers, json={"visibility": "unlisted"})
    assert updated.status_code == 200 and updated.get_json()["link_works"] is True
    assert updated.get_json()["items"] == body["items"]
    assert client.get(body["url"].removeprefix("http://localhost")).status_code == 200

    listed = client.get("/api/v1/portfolios", headers=headers).get_json()["portfolios"]
    assert [p["id"] for p in listed] == [body["id"]]
    assert client.delete(f"/api/v1/portfolios/{body['id']}", headers=headers).status_code == 204
    assert client.get(f"/api/v1/portfolios/{body['id']}", headers=headers).status_code == 404


def test_link_regenerate_and_revoke(client, headers, credential_ids):
    body = client.post("/api/v1/portfolios", headers=headers, json={
        "title": "T", "visibility": "unlisted", "credentials": credential_ids}).get_json()
    renewed = client.post(f"/api/v1/portfolios/{body['id']}/link/regenerate", headers=headers).get_json()
    assert renewed["url"] != body["url"] and client.get(body["url"].removeprefix("http://localhost")).status_code == 404
    revoked = client.post(f"/api/v1/portfolios/{body['id']}/link/revoke", headers=headers).get_json()
    assert revoked["link_works"] is False and revoked["link_revoked_at"]
    assert client.get(renewed["url"].removeprefix("http://localhost")).status_code == 404


def test_bad_input_is_refused_and_nothing_is_written(client, session, headers, credential_ids):
    cases = [
        {"headline": "no title"},
        {"title": 42},
        {"title": "T", "is_admin": True},
        {"title": "T", "visibility": "everyone"},
        {"title": "T", "credentials": ["1"]},
        {"title": "T", "credentials": [999999]},
        {"title": "T", "expires_at": "2020-01-01T00:00:00Z"},
        {"title": "T", "expires_at": "2030-01-01T00:00:00"},
    ]
    for payload in cases:
        response = client.post("/api/v1/portfolios", headers=headers, json=payload)
        assert response.status_code in (400, 404), (payload, response.status_code)
        assert response.get_json()["message"]
        # The test app shares one session across requests; a real request ends with a rollback.
        session.rollback()
    assert client.get("/api/v1/portfolios", headers=headers).get_json()["portfolios"] == []
    assert client.post("/api/v1/portfolios", headers=headers, data="not json").status_code == 400


def test_another_owners_portfolio_is_404(client, headers, credential_ids, make_user, api_token):
    body = client.post("/api/v1/portfolios", headers=headers, json={"title": "Mine"}).get_json()
    other = bearer(api_token(make_user()))
    for method, path in (("get", ""), ("patch", ""), ("delete", ""), ("post", "/link/revoke"), ("get", "/presentation")):
        response = getattr(client, method)(f"/api/v1/portfolios/{body['id']}{path}", headers=other, json={})
        assert response.status_code == 404, (method, path)
    assert client.patch(f"/api/v1/portfolios/{body['id']}", headers=other,
                        json={"credentials": credential_ids}).status_code == 404
    assert client.put(f"/api/v1/shares/{credential_ids[0]}", headers=other, json={}).status_code == 404


def test_presentation_over_the_api_is_signed_by_the_owner(client, headers, credential_ids):
    body = client.post("/api/v1/portfolios", headers=headers, json={"title": "T", "credentials": credential_ids}).get_json()
    answer = client.get(f"/api/v1/portfolios/{body['id']}/presentation", headers=headers).get_json()
    document = answer["presentation"]
    assert document["holder"] == answer["holder"] and document["proof"]["proofPurpose"] == "assertionMethod"
    result = verify_presentation(Presented(document, None, "json", b""), make_context())
    assert result.status == "valid" and answer["left_out"] == []


def test_originals_setting_and_publishing_notes_over_the_api(client, headers, credential_ids):
    body = client.post("/api/v1/portfolios", headers=headers, json={
        "title": "T", "visibility": "unlisted", "credentials": credential_ids, "show_originals": False}).get_json()
    assert body["show_originals"] is False and body["not_verified"] == []
    assert body["originals_reveal"] == "2 originals name you by your e-mail address learner@example.org."
    slug = body["url"].rsplit("/", 1)[-1]
    assert client.get(f"/p/{slug}/credentials/{credential_ids[0]}/original").status_code == 404
    assert client.get(f"/p/{slug}/presentation.json").status_code == 404
    assert client.patch(f"/api/v1/portfolios/{body['id']}", headers=headers,
                        json={"show_originals": "no"}).status_code == 400
    share = client.put(f"/api/v1/shares/{credential_ids[0]}", headers=headers, json={"show_originals": False}).get_json()
    assert share["show_originals"] is False
    assert client.get(share["url"].removeprefix("http://localhost") + "/original").status_code == 404
    # Left out of the next PUT, the choice stays.
    share = client.put(f"/api/v1/shares/{credential_ids[0]}", headers=headers, json={"include_evidence": True}).get_json()
    assert share["show_originals"] is False


def test_share_a_credential_over_the_api(client, headers, credential_ids):
    credential_id = credential_ids[0]
    share = client.put(f"/api/v1/shares/{credential_id}", headers=headers, json={"include_evidence": True})
    assert share.status_code == 200
    data = share.get_json()
    assert data["link_works"] and data["url"].startswith("http://localhost/c/")
    assert data["linkedin_add_to_profile"].startswith("https://www.linkedin.com/profile/add?startTask=CERTIFICATION_NAME")
    assert data["embed_html"].startswith("<iframe ")
    assert client.get(data["url"].removeprefix("http://localhost")).status_code == 200
    assert [s["credential_id"] for s in client.get("/api/v1/shares", headers=headers).get_json()["shares"]] == [credential_id]
    renewed = client.post(f"/api/v1/shares/{credential_id}/regenerate", headers=headers).get_json()
    assert renewed["url"] != data["url"]
    assert client.delete(f"/api/v1/shares/{credential_id}", headers=headers).status_code == 204
    assert client.get(renewed["url"].removeprefix("http://localhost")).status_code == 404
    assert client.put(f"/api/v1/shares/{credential_id}", headers=headers, json={"include_evidence": "yes"}).status_code == 400


def test_api_without_token_is_401(client):
    assert client.get("/api/v1/portfolios").status_code == 401
    assert client.get("/api/v1/shares").status_code == 401


def test_openapi_document_describes_portfolios_and_is_valid(client):
    document = client.get("/api/v1/openapi.json").get_json()
    validate(document)
    for path in ("/portfolios", "/portfolios/{portfolio_id}", "/portfolios/{portfolio_id}/presentation",
                 "/shares", "/shares/{credential_id}"):
        assert path in document["paths"], path
    assert {"Portfolio", "PortfolioInput", "Share"} <= set(document["components"]["schemas"])
