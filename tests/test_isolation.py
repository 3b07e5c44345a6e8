"""Two learners: neither can see or touch the other's credentials or evidence, by any route or endpoint."""
from __future__ import annotations

import io

import pytest

from tests.support.accounts import bearer
from tests.support.credentials import JwtIssuer
from wallet.models import Credential, Evidence
from wallet.services.blobs import blob_store_from_config

PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture
def owners(client, make_user, login, api_token, session):
    """Alice owns a credential with text and file evidence; Bob is logged in (and has a token)."""
    alice, bob = make_user(email="alice@example.org"), make_user(email="bob@example.org")
    login(alice)
    token = JwtIssuer().jwt(email="alice@example.org", name="Alice's Secret Badge")
    credential_id = int(client.post("/credentials/add/paste", data={"credential": token}).headers["Location"].rsplit("/", 1)[-1])
    client.post(f"/credentials/{credential_id}/evidence", data={"kind": "text", "text": "Alice's notes"})
    client.post(f"/credentials/{credential_id}/evidence", data={"kind": "file", "file": (io.BytesIO(PDF), "a.pdf")},
                content_type="multipart/form-data")
    evidence_ids = [e.id for e in session.get(Credential, credential_id).evidence]
    login(bob)
    return {"credential": credential_id, "evidence": evidence_ids, "bob_auth": bearer(api_token(bob))}


WEB_ROUTES = [
    ("GET", "/credentials/{c}"), ("POST", "/credentials/{c}/verify"), ("GET", "/credentials/{c}/download"),
    ("GET", "/credentials/{c}/baked"), ("GET", "/credentials/{c}/image"), ("GET", "/credentials/{c}/edit"),
    ("POST", "/credentials/{c}/edit"), ("GET", "/credentials/{c}/delete"), ("POST", "/credentials/{c}/delete"),
    ("POST", "/credentials/{c}/evidence"), ("POST", "/credentials/{c}/evidence/{e}/move"),
    ("POST", "/credentials/{c}/evidence/{e}/delete"), ("GET", "/credentials/{c}/evidence/{f}/file"),
]
API_ROUTES = [
    ("GET", "/api/v1/credentials/{c}"), ("PATCH", "/api/v1/credentials/{c}"), ("DELETE", "/api/v1/credentials/{c}"),
    ("POST", "/api/v1/credentials/{c}/verify"), ("GET", "/api/v1/credentials/{c}/original"),
    ("GET", "/api/v1/credentials/{c}/evidence"), ("POST", "/api/v1/credentials/{c}/evidence"),
    ("PUT", "/api/v1/credentials/{c}/evidence/order"), ("DELETE", "/api/v1/credentials/{c}/evidence/{e}"),
    ("GET", "/api/v1/credentials/{c}/evidence/{f}/file"),
]
FORM = {"kind": "text", "text": "Bob was here", "direction": "up", "description": "Bob", "tags": "bob"}
JSON = {"PATCH": {"description": "Bob"}, "POST": {"kind": "text", "text": "Bob was here"}, "PUT": {"order": [1, 2]}}


@pytest.mark.parametrize("method, template", WEB_ROUTES)
def test_web_route_other_learners_credential_is_404(client, owners, session, method, template):
    url = template.format(c=owners["credential"], e=owners["evidence"][0], f=owners["evidence"][1])
    response = client.open(url, method=method, data=FORM if method == "POST" else None)
    assert response.status_code == 404
    assert "Alice" not in response.get_data(as_text=True)
    session.expire_all()
    credential = session.get(Credential, owners["credential"])
    assert credential is not None and len(credential.evidence) == 2 and credential.learner_description is None


@pytest.mark.parametrize("method, template", API_ROUTES)
def test_api_endpoint_other_learners_credential_is_404(client, owners, session, method, template):
    url = template.format(c=owners["credential"], e=owners["evidence"][0], f=owners["evidence"][1])
    response = client.open(url, method=method, json=JSON.get(method),
                           headers=owners["bob_auth"])
    assert response.status_code == 404
    assert response.get_json()["error"] == "NotFound"
    session.expire_all()
    assert session.get(Credential, owners["credential"]) is not None
    assert all(session.get(Evidence, e) is not None for e in owners["evidence"])


def test_lists_show_only_own_credentials(client, owners):
    page = client.get("/credentials/").get_data(as_text=True)
    assert "Alice&#39;s Secret Badge" not in page and "Alice's Secret Badge" not in page
    assert "Your wallet is empty" in page
    api = client.get("/api/v1/credentials", headers=owners["bob_auth"]).get_json()
    assert api == {"credentials": [], "count": 0}


def test_same_credential_imported_by_both_stays_separate(client, owners, session):
    alice_credential = session.get(Credential, owners["credential"])
    original = blob_store_from_config(client.application.config, client.application.instance_path).get(
        alice_credential.original_sha256)
    response = client.post("/credentials/add/paste", data={"credential": original.decode()})
    bob_id = int(response.headers["Location"].rsplit("/", 1)[-1])
    assert bob_id != owners["credential"]
    session.expire_all()
    assert session.get(Credential, bob_id).recipient_state == "mismatch"
