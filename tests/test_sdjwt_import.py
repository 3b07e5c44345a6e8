"""Importing SD-JWT VCs: paste, upload and the API keep the string verbatim with every disclosure."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from tests.support.sdjwt import SdJwtIssuer, make_disclosure
from tests.support.servers import DocumentServer, Response
from wallet.models import Credential
from wallet.services import importing
from wallet.services.blobs import blob_store_from_config
from wallet.services.http import fetcher_from_config
from wallet.services.importing import DUPLICATE, IMPORTED, Upload

ISSUER = "https://issuer.example"


@pytest.fixture
def issuer(document_server: DocumentServer, app_config) -> SdJwtIssuer:
    issuer = SdJwtIssuer(iss=ISSUER)
    document_server.routes["/.well-known/jwt-vc-issuer"] = Response(
        json.dumps(issuer.metadata()).encode(), headers={"Cache-Control": "no-store"})
    app_config.update(ALLOW_PRIVATE_NETWORK=True, URL_REWRITE={f"{ISSUER}/": document_server.url("/")})
    return issuer


@pytest.fixture
def learner(issuer, make_user):
    return make_user(email="learner@example.org")


@pytest.fixture
def importer(issuer, app, learner) -> importing.Importer:
    return importing.Importer(fetch=fetcher_from_config(app.config),
                              blobs=blob_store_from_config(app.config, app.instance_path),
                              owner_id=learner.id, recipients=learner.verified_addresses)


def degree(issuer: SdJwtIssuer) -> str:
    return issuer.issue({"degree_level": "Bachelor"}, disclosable={"given_name": "Ada", "family_name": "Lovelace"},
                        vct="https://issuer.example/types/BachelorDegree")


def test_import_paste_sd_jwt_is_stored_verbatim_and_verified(issuer, session, importer, app) -> None:
    token = degree(issuer)
    item = importing.import_paste(session, importer, "\n" + token + "  ")
    session.commit()
    credential = item.credential
    assert item.state == IMPORTED
    assert (credential.format_id, credential.status, credential.name) == ("sdjwt", "valid", "Bachelor degree"), \
        item.result.to_dict()["checks"]
    assert (credential.format_id, credential.status, credential.name) == ("sdjwt", "valid", "Bachelor degree")
    assert credential.original_type == "application/dc+sd-jwt"
    assert credential.verified_issuer == "issuer.example"
    stored = blob_store_from_config(app.config, app.instance_path).get(credential.original_sha256)
    assert stored == token.encode()  # every disclosure kept
    assert credential.document["given_name"] == "Ada"
    assert importing.import_paste(session, importer, token).state == DUPLICATE


def test_import_upload_sd_jwt_file_is_recognised(issuer, session, importer) -> None:
    item = importing.import_upload(session, importer, Upload("degree.sd-jwt", degree(issuer).encode() + b"\n"))
    session.commit()
    assert (item.state, item.credential.format_id, item.credential.status) == (IMPORTED, "sdjwt", "valid")


def test_import_paste_tampered_sd_jwt_is_stored_as_not_genuine(issuer, session, importer) -> None:
    token = degree(issuer) + make_disclosure("honours", "summa cum laude") + "~"
    item = importing.import_paste(session, importer, token)
    session.commit()
    assert item.credential.status == "invalid"
    assert "honours" not in (item.credential.document or {})


def test_api_import_sd_jwt_answers_201_with_its_verification(issuer, client, learner, api_token) -> None:
    token = api_token(learner)
    response = client.post("/api/v1/credentials", json={"credential": degree(issuer)},
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["status"], body["format"]) == ("valid", "sdjwt")


def test_add_page_paste_sd_jwt_shows_the_credential(issuer, client, login, learner, session) -> None:
    login(learner)
    response = client.post("/credentials/add/paste", data={"credential": degree(issuer)})
    assert response.status_code == 302
    assert session.scalar(select(func.count()).select_from(Credential)) == 1


def test_credential_page_shows_claims_with_labels_in_the_learners_language(issuer, document_server, client, login,
                                                                          learner, session) -> None:
    vct = f"{ISSUER}/types/BachelorDegree"
    document_server.routes["/types/BachelorDegree"] = Response(json.dumps({
        "vct": vct,
        "display": [{"locale": "en", "name": "Bachelor's degree"}, {"locale": "de", "name": "Bachelorabschluss"}],
        "claims": [{"path": ["given_name"], "display": [{"locale": "de", "label": "Vorname"},
                                                        {"locale": "en", "label": "First name"}]}],
    }).encode())
    login(learner)
    client.post("/credentials/add/paste", data={"credential": degree(issuer)})
    credential = session.scalar(select(Credential))
    german = client.get(f"/credentials/{credential.id}", headers={"Accept-Language": "de-CH, de;q=0.9, en;q=0.5"})
    page = german.get_data(as_text=True)
    assert "<h1>Bachelorabschluss</h1>" in page
    assert "<dt>Vorname</dt>" in page and "<dt>Family name</dt>" in page and "Lovelace" in page
    assert "<dt>Degree level</dt>" in page and "<dt>Iss</dt>" not in page
    english = client.get(f"/credentials/{credential.id}", headers={"Accept-Language": "en-GB"}).get_data(as_text=True)
    assert "<h1>Bachelor&#39;s degree</h1>" in english and "<dt>First name</dt>" in english
