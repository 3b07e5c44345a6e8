"""The credentials API: import (idempotent), read, patch, delete, verify, evidence, OpenAPI."""
from __future__ import annotations

import io
import json

import pytest

from tests.support.accounts import bearer
from tests.support.credentials import HostedIssuer, JwtIssuer, bake_png_jwt, tampered_jwt

PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture
def learner(make_user):
    return make_user(email="learner@example.org")


@pytest.fixture
def auth(learner, api_token) -> dict[str, str]:
    return bearer(api_token(learner))


@pytest.fixture
def issuer() -> JwtIssuer:
    return JwtIssuer(name="API Academy")


def test_post_credential_jwt_string_is_201_then_200_duplicate(client, auth, issuer):
    token = issuer.jwt(name="API Badge")
    first = client.post("/api/v1/credentials", json={"credential": token}, headers=auth)
    assert first.status_code == 201
    body = first.get_json()
    assert (body["status"], body["format"], body["name"], body["duplicate"]) == ("valid", "ob3", "API Badge", False)
    assert body["issuer"]["verified_id"] == issuer.did and body["report"]["checks"]
    again = client.post("/api/v1/credentials", json={"credential": token}, headers=auth)
    assert again.status_code == 200 and again.get_json()["id"] == body["id"] and again.get_json()["duplicate"]


def test_post_credential_multipart_baked_png_is_imported(client, auth, issuer):
    response = client.post("/api/v1/credentials", data={"file": (io.BytesIO(bake_png_jwt(issuer.jwt())), "b.png")},
                           headers=auth, content_type="multipart/form-data")
    assert response.status_code == 201 and response.get_json()["container"] == "png"


def test_post_credential_url_from_hosted_issuer(client, auth, document_server, make_app):
    hosted = HostedIssuer(document_server)
    app = make_app(ALLOW_PRIVATE_NETWORK=True, URL_REWRITE=hosted.rewrite)
    response = app.test_client().post("/api/v1/credentials", json={"url": hosted.assertion(name="Hosted")},
                                      headers=auth)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["format"] == "ob2" and response.get_json()["source_url"].startswith("https://issuer.example")


@pytest.mark.parametrize("body, status, code", [
    ({"url": "http://127.0.0.1/admin"}, 422, "UnsafeURL"),
    ({"url": "file:///etc/passwd"}, 422, "UnsafeURL"),
    ({"credential": {"hello": "world"}}, 422, None),
    ({"credential": "not.a.jwt!"}, 422, "ImportRejected"),
    ({"something": "else"}, 400, "Validation"),
])
def test_post_credential_refused_input_gets_error_json(client, auth, body, status, code):
    response = client.post("/api/v1/credentials", json=body, headers=auth)
    assert response.status_code == status
    error = response.get_json()
    assert set(error) == {"error", "message"} and error["message"]
    if code:
        assert error["error"] == code


def test_post_credential_too_large_is_413(client, auth, app):
    app.config["MAX_UPLOAD_FILE_BYTES"] = 1000
    response = client.post("/api/v1/credentials", data={"file": (io.BytesIO(b"{" + b" " * 2000 + b"}"), "x.json")},
                           headers=auth, content_type="multipart/form-data")
    assert response.status_code == 413 and response.get_json()["error"] == "TooLarge"


def test_post_credential_without_token_is_401(client, issuer):
    assert client.post("/api/v1/credentials", json={"credential": issuer.jwt()}).status_code == 401


def test_get_list_filters_and_detail(client, auth, issuer):
    client.post("/api/v1/credentials", json={"credential": issuer.jwt(name="One", tags=["alpha"])}, headers=auth)
    client.post("/api/v1/credentials", json={"credential": issuer.jwt(name="Two")}, headers=auth)
    listing = client.get("/api/v1/credentials", headers=auth).get_json()
    assert listing["count"] == 2
    assert [c["name"] for c in client.get("/api/v1/credentials?tag=alpha", headers=auth).get_json()["credentials"]] == ["One"]
    detail = client.get(listing["credentials"][0]["url"], headers=auth).get_json()
    assert detail["credential"]["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert detail["original"]["content_type"] == "application/jwt"


def test_patch_changes_only_learner_fields(client, auth, issuer):
    credential_id = client.post("/api/v1/credentials", json={"credential": issuer.jwt()}, headers=auth).get_json()["id"]
    response = client.patch(f"/api/v1/credentials/{credential_id}", headers=auth,
                            json={"description": "Mine", "reflection": None, "tags": ["x", "y"]})
    assert response.status_code == 200
    assert (response.get_json()["description"], response.get_json()["learner_tags"]) == ("Mine", ["x", "y"])
    refused = client.patch(f"/api/v1/credentials/{credential_id}", headers=auth, json={"status": "valid", "owner_id": 9})
    assert refused.status_code == 400 and "owner_id" in refused.get_json()["message"]
    assert client.patch(f"/api/v1/credentials/{credential_id}", headers=auth, json={"tags": "x"}).status_code == 400


def test_verify_and_delete(client, auth, issuer):
    credential_id = client.post("/api/v1/credentials", json={"credential": issuer.jwt()}, headers=auth).get_json()["id"]
    verified = client.post(f"/api/v1/credentials/{credential_id}/verify", headers=auth)
    assert verified.status_code == 200 and verified.get_json()["conclusive"] is True
    assert verified.get_json()["report"]["checked_at"] >= verified.get_json()["imported_at"][:19]
    assert client.delete(f"/api/v1/credentials/{credential_id}", headers=auth).status_code == 204
    assert client.get(f"/api/v1/credentials/{credential_id}", headers=auth).status_code == 404


def test_download_original_returns_exact_bytes(client, auth, issuer):
    token = issuer.jwt()
    credential = client.post("/api/v1/credentials", json={"credential": token}, headers=auth).get_json()
    assert client.get(credential["original"]["url"], headers=auth).data == token.encode()


def test_evidence_endpoints_add_order_download_delete(client, auth, issuer):
    credential_id = client.post("/api/v1/credentials", json={"credential": issuer.jwt()}, headers=auth).get_json()["id"]
    base = f"/api/v1/credentials/{credential_id}/evidence"
    text = client.post(base, json={"kind": "text", "title": "Notes", "text": "Hello"}, headers=auth)
    link = client.post(base, json={"kind": "link", "url": "https://example.org/p"}, headers=auth)
    file = client.post(base, data={"file": (io.BytesIO(PDF), "r.pdf")}, headers=auth, content_type="multipart/form-data")
    assert (text.status_code, link.status_code, file.status_code) == (201, 201, 201)
    assert client.post(base, json={"kind": "link", "url": "javascript:alert(1)"}, headers=auth).status_code == 400
    ids = [text.get_json()["id"], link.get_json()["id"], file.get_json()["id"]]
    ordered = client.put(base + "/order", json={"order": ids[::-1]}, headers=auth)
    assert [e["id"] for e in ordered.get_json()["evidence"]] == ids[::-1]
    download = client.get(file.get_json()["download_url"], headers=auth)
    assert download.data == PDF and download.mimetype == "application/pdf"
    assert client.delete(f"{base}/{ids[0]}", headers=auth).status_code == 204
    assert [e["id"] for e in client.get(base, headers=auth).get_json()["evidence"]] == ids[:0:-1]


def test_openapi_document_describes_credential_endpoints(client):
    document = client.get("/api/v1/openapi.json").get_json()
    paths = document["paths"]
    assert {"get", "post"} <= set(paths["/credentials"])
    assert {"get", "patch", "delete"} <= set(paths["/credentials/{credential_id}"])
    assert "post" in paths["/credentials/{credential_id}/verify"]
    assert {"get", "post"} <= set(paths["/credentials/{credential_id}/evidence"])
    assert "Credential" in document["components"]["schemas"]


def test_post_credential_object_with_duplicate_keys_is_refused_and_nothing_stored(client, auth, issuer):
    # docs/importing.md: a JSON object in the request body is read as strictly as a pasted one; the
    # whole body is refused (400, like every API body holding a key twice: wallet/inputs.py).
    credential = json.dumps(issuer.credential(name="Twice"))
    body = '{"credential": ' + credential.replace('"issuer":', '"issuer": "https://impostor.example/", "issuer":', 1) + "}"
    response = client.post("/api/v1/credentials", data=body, content_type="application/json", headers=auth)
    assert response.status_code == 400, response.get_json()
    assert '"issuer" twice' in response.get_json()["message"]
    assert client.get("/api/v1/credentials", headers=auth).get_json()["count"] == 0


def test_post_credential_versions_201_then_200_replaced_then_409_kept(client, auth, issuer, make_user, api_token):
    token = issuer.jwt(name="Versioned")
    forged = tampered_jwt(token, name="Forged")
    first = client.post("/api/v1/credentials", json={"credential": forged}, headers=auth)
    assert first.status_code == 201 and first.get_json()["status"] == "invalid"
    assert first.get_json()["import"]["state"] == "imported"

    replaced = client.post("/api/v1/credentials", json={"credential": token}, headers=auth)
    body = replaced.get_json()
    assert replaced.status_code == 200 and body["id"] == first.get_json()["id"]
    assert (body["import"]["state"], body["duplicate"], body["status"]) == ("replaced", False, "valid")
    assert body["report"]["status"] == "valid"
    assert [(v["current"], v["status"]) for v in body["versions"]] == [(True, "valid"), (False, "invalid")]
    assert client.get(body["versions"][1]["original"]["url"], headers=auth).data == forged.encode()

    kept = client.post("/api/v1/credentials", json={"credential": forged}, headers=auth)
    error = kept.get_json()
    assert kept.status_code == 409 and error["error"] == "ExistingCopyKept"
    assert error["message"] == "This file does not verify; your wallet already holds a genuine copy."
    assert error["credential"]["status"] == "valid" and error["report"]["status"] == "invalid"
    same = client.post("/api/v1/credentials", json={"credential": token}, headers=auth)
    assert same.status_code == 200 and same.get_json()["duplicate"] is True
    assert len(client.get(f"/api/v1/credentials/{body['id']}", headers=auth).get_json()["versions"]) == 2
    # Another learner's token cannot read the history.
    other = bearer(api_token(make_user(email="other@example.org")))
    assert client.get(body["versions"][1]["original"]["url"], headers=other).status_code == 404


def test_openapi_document_describes_versions_and_the_kept_answer(client):
    document = client.get("/api/v1/openapi.json").get_json()
    post = document["paths"]["/credentials"]["post"]
    assert {"200", "201", "409", "422"} <= set(post["responses"])
    assert "get" in document["paths"]["/credentials/{credential_id}/versions/{version_id}/original"]
    assert {"CredentialVersion", "ExistingCopyKept"} <= set(document["components"]["schemas"])
