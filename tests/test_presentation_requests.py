"""Answering a verifier's presentation request: only the logged-in learner (or their own API token),
after seeing who asks and choosing what goes out, gets a presentation signed for authentication."""
from __future__ import annotations

import html
import json
import re

import pytest
from sqlalchemy import func, select

from tests.support.accounts import bearer
from tests.support.credentials import JwtIssuer
from tests.support.portfolios import add_credential, ld_credential
from wallet import create_app
from wallet.db import get_engine
from wallet.models import LearnerKey
from wallet.services import presentation_requests as requests_service
from wallet.services.errors import ValidationError
from wallet.services.verification import dataintegrity, make_context, verify_bytes

VPR = {"verifiablePresentationRequest": {
    "query": [{"type": "QueryByExample", "credentialQuery": {
        "reason": "Show us your degree to apply.", "example": {"type": "OpenBadgeCredential"}}}],
    "challenge": "3b2c1a-vpr", "domain": "jobs.example"}}
PRESENTATION_EXCHANGE = {
    "options": {"challenge": "pe-77f1", "domain": "https://verify.example"},
    "presentation_definition": {"id": "degree", "input_descriptors": [
        {"id": "ob", "name": "A university degree", "purpose": "We check that you graduated.",
         "constraints": {"fields": [{"path": ["$.type"]}]}}]}}


@pytest.fixture
def learner(make_user, login):
    user = make_user(email="learner@example.org", display_name="Annie Easley")
    login(user)
    return user


@pytest.fixture
def credential_ids(client, learner) -> list[int]:
    token = JwtIssuer(name="Cleveland State").jwt(name="Mathematics Degree")
    genuine = add_credential(client, token)
    document = ld_credential(name="Genuine name")
    document["name"] = "Forged Certificate"
    tampered = add_credential(client, json.dumps(document))
    return [genuine, tampered]


def presentation_on_page(body: str) -> dict:
    """Return the signed presentation shown on the result page (in its read-only text box)."""
    found = re.search(r'<textarea[^>]*id="presentation-json"[^>]*>(.*?)</textarea>', body, re.DOTALL)
    assert found, "no presentation on the page"
    return json.loads(html.unescape(found.group(1)))


def signatures(session) -> int:
    return session.scalar(select(func.count()).select_from(LearnerKey))


# --- reading requests -------------------------------------------------------------------------------


def test_read_request_vc_api_verifiable_presentation_request():
    request = requests_service.read_request(json.dumps(VPR))
    assert (request.challenge, request.domain, request.shape) == ("3b2c1a-vpr", "jobs.example", "vpr")
    assert request.asks_for == ("OpenBadgeCredential",) and request.reasons == ("Show us your degree to apply.",)


def test_read_request_presentation_exchange_definition():
    request = requests_service.read_request(json.dumps(PRESENTATION_EXCHANGE))
    assert (request.challenge, request.domain, request.shape) == ("pe-77f1", "https://verify.example",
                                                                  "presentation-exchange")
    assert request.asks_for == ("A university degree",) and request.reasons == ("We check that you graduated.",)


def test_read_request_plain_challenge_and_domain():
    request = requests_service.read_request(None, challenge="abc-123", domain="login.example")
    assert (request.challenge, request.domain, request.shape, request.asks_for) == (
        "abc-123", "login.example", "plain", ())


@pytest.mark.parametrize(("text", "challenge", "domain", "message"), [
    ("{not json", None, None, "not valid JSON"),
    ('{"challenge": "a", "challenge": "b", "domain": "x.example"}', None, None, "twice"),
    ("[1, 2]", None, None, "JSON object"),
    (json.dumps({"verifiablePresentationRequest": {"domain": "x.example"}}), None, None, "challenge"),
    (json.dumps({"verifiablePresentationRequest": {"challenge": "c1"}}), None, None, "domain"),
    (None, "has spaces", "x.example", "challenge must be"),
    (None, "c1", "", "domain"),
    (None, None, None, "Paste the request"),
])
def test_read_request_refuses_what_it_cannot_answer_safely(text, challenge, domain, message):
    with pytest.raises(ValidationError, match=message):
        requests_service.read_request(text, challenge=challenge, domain=domain)


# --- the learner's page -----------------------------------------------------------------------------


def test_request_page_shows_who_asks_and_signs_nothing(client, session, learner, credential_ids):
    page = client.get("/present", query_string={"request": json.dumps(VPR)})
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "jobs.example" in body and "3b2c1a-vpr" in body and "Show us your degree to apply." in body
    assert "Mathematics Degree" in body
    # The tampered credential is listed with its state, and cannot be chosen.
    assert "Forged Certificate" in body and "Not genuine" in body
    assert f'value="{credential_ids[1]}"' not in body
    # Nothing is pre-ticked, and nothing was signed.
    assert "checked" not in body.split('name="credential"', 1)[1].split(">", 1)[0]
    assert '"proofValue"' not in body and signatures(session) == 0


def test_learner_approves_and_gets_an_authentication_presentation(app, client, session, learner, credential_ids,
                                                                   tmp_path):
    response = client.post("/present/sign", data={"challenge": "3b2c1a-vpr", "domain": "jobs.example",
                                                  "credential": [str(credential_ids[0])]})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_data(as_text=True)
    assert "jobs.example" in body
    holder = session.scalar(select(LearnerKey.did).where(LearnerKey.owner_id == learner.id))
    document = presentation_on_page(body)
    proof = document["proof"]
    assert document["holder"] == holder and proof["cryptosuite"] == "eddsa-rdfc-2022"
    assert (proof["proofPurpose"], proof["challenge"], proof["domain"]) == ("authentication", "3b2c1a-vpr", "jobs.example")
    assert proof["verificationMethod"].startswith(holder + "#")
    outcome = dataintegrity.verify_document_proofs(document, issuer_id=holder, context=make_context(),
                                                   purpose="authentication")
    assert outcome.ok
    path = tmp_path / "answer.json"
    path.write_text(json.dumps(document))
    result = app.test_cli_runner().invoke(args=["verify", "--json", str(path)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["format"] == "vp" and report["status"] == "valid"
    assert any("3b2c1a-vpr" in c["message"] and "jobs.example" in c["message"] for c in report["checks"])


def test_a_credential_that_does_not_verify_cannot_be_chosen(client, session, learner, credential_ids):
    response = client.post("/present/sign", data={"challenge": "c-1", "domain": "jobs.example",
                                                  "credential": [str(c) for c in credential_ids]})
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "Forged Certificate" in body and "Not genuine" in body
    assert '"proofValue"' not in body and signatures(session) == 0


def test_answer_needs_at_least_one_credential(client, session, learner, credential_ids):
    response = client.post("/present/sign", data={"challenge": "c-1", "domain": "jobs.example"})
    assert response.status_code == 400 and "Choose at least one credential" in response.get_data(as_text=True)
    assert signatures(session) == 0


def test_answer_page_needs_a_logged_in_learner(client, learner, credential_ids):
    client.post("/logout")
    for response in (client.get("/present"), client.post("/present/sign", data={
            "challenge": "c-1", "domain": "jobs.example", "credential": [str(credential_ids[0])]})):
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_another_learner_cannot_sign_someone_elses_credentials(client, session, learner, credential_ids, make_user,
                                                              login):
    login(make_user(email="other@example.org"))
    response = client.post("/present/sign", data={"challenge": "c-1", "domain": "jobs.example",
                                                  "credential": [str(credential_ids[0])]})
    assert response.status_code == 404
    assert signatures(session) == 0


@pytest.fixture
def csrf_client(app_config, app):
    csrf_app = create_app(dict(app_config, WTF_CSRF_ENABLED=True))
    yield csrf_app.test_client()
    get_engine(csrf_app).dispose()


def test_signing_without_the_forms_csrf_token_is_refused(csrf_client, session, learner, credential_ids):
    from tests.support.accounts import log_in

    log_in(csrf_client, learner)
    response = csrf_client.post("/present/sign", data={"challenge": "c-1", "domain": "jobs.example",
                                                       "credential": [str(credential_ids[0])]})
    assert response.status_code == 400
    assert signatures(session) == 0


# --- the API ----------------------------------------------------------------------------------------


def test_api_answers_a_request_for_the_tokens_owner(client, session, learner, credential_ids, api_token):
    response = client.post("/api/v1/presentations", headers=bearer(api_token(learner)),
                           json={"request": PRESENTATION_EXCHANGE, "credentials": [credential_ids[0]]})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    holder = session.scalar(select(LearnerKey.did).where(LearnerKey.owner_id == learner.id))
    proof = body["presentation"]["proof"]
    assert body["holder"] == holder and body["domain"] == "https://verify.example"
    assert (proof["proofPurpose"], proof["challenge"], proof["domain"]) == ("authentication", "pe-77f1",
                                                                           "https://verify.example")
    result = verify_bytes(json.dumps(body["presentation"]).encode(), context=make_context())
    assert result.status == "valid"


def test_api_token_of_one_learner_cannot_answer_with_anothers_credentials(client, session, learner, credential_ids,
                                                                         make_user, api_token):
    other = make_user(email="other@example.org")
    response = client.post("/api/v1/presentations", headers=bearer(api_token(other)),
                           json={"challenge": "c-1", "domain": "jobs.example", "credentials": [credential_ids[0]]})
    assert response.status_code == 404 and response.get_json()["error"] == "NotFound"
    # Neither learner's key signed anything.
    assert signatures(session) == 0


def test_api_refuses_a_credential_that_does_not_verify(client, session, learner, credential_ids, api_token):
    response = client.post("/api/v1/presentations", headers=bearer(api_token(learner)),
                           json={"challenge": "c-1", "domain": "jobs.example", "credentials": credential_ids})
    assert response.status_code == 400 and "Forged Certificate" in response.get_json()["message"]
    assert signatures(session) == 0


def test_api_answer_needs_a_token(client, learner, credential_ids):
    response = client.post("/api/v1/presentations", json={"challenge": "c-1", "domain": "jobs.example",
                                                          "credentials": [credential_ids[0]]})
    assert response.status_code == 401


def test_api_portfolio_presentation_ignores_challenge_and_domain(client, learner, credential_ids, api_token):
    headers = bearer(api_token(learner))
    portfolio = client.post("/api/v1/portfolios", headers=headers,
                            json={"title": "T", "credentials": credential_ids}).get_json()
    body = client.get(f"/api/v1/portfolios/{portfolio['id']}/presentation", headers=headers,
                      query_string={"challenge": "steal-me", "domain": "bank.example"}).get_json()
    proof = body["presentation"]["proof"]
    assert proof["proofPurpose"] == "assertionMethod" and "challenge" not in proof and "domain" not in proof
    assert [entry["credential_id"] for entry in body["left_out"]] == [credential_ids[1]]
    assert body["left_out"][0]["reason"].startswith("Not genuine")
