"""Importing SD-JWT VCs: paste, upload and the API keep the string verbatim with every disclosure."""
from __future__ import annotations

import base64
import json
import re

import pytest
from jwcrypto.jwk import JWK
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


# --- presenting ------------------------------------------------------------------------------------


def _learner_bound_sd_jwt(issuer: SdJwtIssuer, app, session, learner) -> str:
    from wallet.services import presentations

    key = presentations.learner_key(session, learner.id, secret_key=app.config["SECRET_KEY"])
    session.commit()
    holder = JWK.from_pyca(presentations.signing_key(key, secret_key=app.config["SECRET_KEY"]).public_key())
    return issuer.issue({}, disclosable={"given_name": "Ada", "family_name": "Lovelace", "grade": "First"},
                        holder=holder, vct="https://issuer.example/types/BachelorDegree")


def test_presenting_an_sd_jwt_sends_only_the_claims_the_learner_ticks(issuer, app, client, login, learner,
                                                                       session) -> None:
    from tests.test_presentation_requests import presentation_on_page
    from wallet.services.verification import make_context, sdjwt

    login(learner)
    token = _learner_bound_sd_jwt(issuer, app, session, learner)
    client.post("/credentials/add/paste", data={"credential": token})
    credential = session.scalar(select(Credential))
    assert credential.status == "valid" and credential.recipient_state == "matched"

    review = client.get("/present", query_string={"challenge": "c-42", "domain": "jobs.example"}).get_data(as_text=True)
    assert "Given name" in review and "Family name" in review and "Grade" in review
    boxes = re.findall(r'<input type="checkbox" name="disclose"[^>]*>', review)
    assert len(boxes) == 3 and not any("checked" in box for box in boxes)  # nothing chosen for the learner

    parts = sdjwt.split(token)
    family = next(d for d in parts.disclosures if "Lovelace" in base64.urlsafe_b64decode(d + "==").decode())
    response = client.post("/present/sign", data={
        "challenge": "c-42", "domain": "jobs.example", "credential": [str(credential.id)],
        "disclose": [f"{credential.id}:{sdjwt.disclosure_digest(family)}"]})
    assert response.status_code == 200, response.get_data(as_text=True)
    envelope = presentation_on_page(response.get_data(as_text=True))["verifiableCredential"][0]
    assert envelope["type"] == "EnvelopedVerifiableCredential"
    presented = envelope["id"].removeprefix("data:application/dc+sd-jwt,")
    assert sdjwt.split(presented).disclosures == (family,)
    fetch = fetcher_from_config(app.config)
    result = sdjwt.verify_sd_jwt(presented, make_context(fetch), audience="jobs.example", nonce="c-42")
    assert result.status.value == "valid", result.to_dict()["checks"]
    assert result.credential.get("family_name") == "Lovelace" and "given_name" not in result.credential
    replayed = sdjwt.verify_sd_jwt(presented, make_context(fetch), audience="jobs.example", nonce="c-43")
    assert replayed.status.value == "invalid"


def test_presenting_an_sd_jwt_with_nothing_ticked_discloses_nothing(issuer, app, client, login, learner,
                                                                    session) -> None:
    from tests.test_presentation_requests import presentation_on_page
    from wallet.services.verification import sdjwt

    login(learner)
    client.post("/credentials/add/paste", data={"credential": _learner_bound_sd_jwt(issuer, app, session, learner)})
    credential = session.scalar(select(Credential))
    response = client.post("/present/sign", data={"challenge": "c-1", "domain": "jobs.example",
                                                  "credential": [str(credential.id)]})
    envelope = presentation_on_page(response.get_data(as_text=True))["verifiableCredential"][0]
    assert sdjwt.split(envelope["id"].removeprefix("data:application/dc+sd-jwt,")).disclosures == ()


def test_public_page_original_of_an_sd_jwt_carries_no_disclosure(issuer, client, learner, api_token,
                                                                 session) -> None:
    from wallet.services.verification import make_context, sdjwt

    token = degree(issuer)
    headers = {"Authorization": f"Bearer {api_token(learner)}"}
    credential_id = client.post("/api/v1/credentials", json={"credential": token}, headers=headers).get_json()["id"]
    share = client.put(f"/api/v1/shares/{credential_id}", headers=headers, json={}).get_json()
    response = client.get(share["url"].removeprefix("http://localhost") + "/original")
    assert response.status_code == 200
    published = response.get_data(as_text=True)
    assert published == sdjwt.split(token).issuer_jwt + "~"
    assert "Lovelace" not in str(sdjwt.unverified_claims(published))
    assert response.headers["Content-Disposition"].endswith('.sd-jwt"') or ".sd-jwt" in response.headers[
        "Content-Disposition"]
    assert sdjwt.verify_sd_jwt(published, make_context()).status.value != "invalid"


def test_import_url_serving_an_sd_jwt_is_recognised(issuer, document_server, session, importer) -> None:
    document_server.routes["/credentials/7"] = Response(degree(issuer).encode(), content_type="application/dc+sd-jwt")
    item = importing.import_url(session, importer, f"{ISSUER}/credentials/7")
    session.commit()
    assert (item.state, item.credential.format_id, item.credential.status) == (IMPORTED, "sdjwt", "valid")


def test_import_url_page_linking_its_sd_jwt_is_followed(issuer, document_server, session, importer) -> None:
    document_server.routes["/credentials/8.sd-jwt"] = Response(degree(issuer).encode(),
                                                               content_type="application/dc+sd-jwt")
    document_server.routes["/credentials/8"] = Response(
        b'<html><head><link rel="alternate" type="application/dc+sd-jwt" href="/credentials/8.sd-jwt"></head></html>',
        content_type="text/html")
    item = importing.import_url(session, importer, f"{ISSUER}/credentials/8")
    assert (item.credential.format_id, item.credential.status) == ("sdjwt", "valid")


def test_presenting_a_nested_claim_brings_the_disclosure_that_holds_it(issuer) -> None:
    from tests.support.sdjwt import digest, sign
    from wallet.services import disclosures
    from wallet.services.verification import sdjwt

    locality = make_disclosure("locality", "London")
    address = make_disclosure("address", {"_sd": [digest(locality)], "country": "GB"})
    given = make_disclosure("given_name", "Ada")
    payload = {"iss": ISSUER, "vct": f"{ISSUER}/types/degree", "iat": 1_700_000_000,
               "_sd": sorted([digest(address), digest(given)])}
    token = sign(payload, issuer.key, {"typ": "dc+sd-jwt", "kid": issuer.key.get("kid")})
    token = f"{token}~{given}~{address}~{locality}~"
    presented = disclosures.present(token, {sdjwt.disclosure_digest(locality)})
    assert set(sdjwt.split(presented).disclosures) == {address, locality}
    claims = sdjwt.unverified_claims(presented)
    assert claims["address"] == {"locality": "London", "country": "GB"} and "given_name" not in claims
    assert sdjwt.disclose(payload, sdjwt.split(presented).disclosures).problems == []
