"""Threat-model cases (docs/security.md) that no other test pins: each fails if its defence is removed."""
from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy import select
from flask import request

from tests.support.accounts import bearer, create_api_token, create_user
from tests.support.credentials import JwtIssuer
from tests.support.portfolios import add_credential
from tests.support.servers import DocumentServer, Response
from wallet.db import get_session
from wallet.models import CredentialShare
from wallet.services import sanitize
from wallet.services.errors import FetchError, UnsafeURLError
from wallet.services.http import REFUSED_MESSAGE, GuardedFetcher
from wallet.services.verification.context import MAX_DEPTH as MAX_NESTING
from wallet.services.verification.context import MAX_FETCHES, Context


# --- A16: what a refused or failed fetch tells the learner ---------------------------------------

@pytest.mark.parametrize("url", [
    "http://127.0.0.1/admin",
    "http://10.0.0.5/",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::ffff:127.0.0.1]/",
    "https://example.org:6379/",
    "ftp://example.org/badge.json",
    "http://user@example.org/",
    "http://localhost./",
])
def test_fetch_every_refusal_has_one_message_without_the_reason(url: str, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="wallet.services.http")
    with pytest.raises(UnsafeURLError) as caught:
        GuardedFetcher()(url)
    # The learner (or an attacker mapping a network) learns nothing about which rule refused it.
    assert str(caught.value) == REFUSED_MESSAGE
    assert "refused to fetch" in caplog.text  # the reason is in the server log only


def test_fetch_refused_private_server_is_never_contacted(document_server: DocumentServer) -> None:
    document_server.routes["/secret"] = Response(b"internal", 200, "text/plain")
    with pytest.raises(UnsafeURLError):
        GuardedFetcher()(document_server.url("/secret"))
    assert document_server.requests == []


def test_fetch_unknown_host_message_names_only_the_host_asked_for() -> None:
    # RFC 6761 §6.4: ".invalid" never resolves, on any network.
    with pytest.raises(FetchError) as caught:
        GuardedFetcher()("https://no-such-issuer.invalid/badge.json")
    assert str(caught.value) == "Could not find the server no-such-issuer.invalid."


def test_fetch_remote_error_body_is_never_echoed(document_server: DocumentServer) -> None:
    document_server.routes["/badge.json"] = Response(b"<h1>db password is hunter2</h1>", 500, "text/html")
    fetcher = GuardedFetcher(allow_private_network=True)
    with pytest.raises(Exception) as caught:
        fetcher(document_server.url("/badge.json"))
    assert "hunter2" not in str(caught.value) and "500" in str(caught.value)


# --- C8: request size limits ----------------------------------------------------------------------

def test_api_body_over_max_content_length_is_413_json(make_app) -> None:
    app = make_app(MAX_CONTENT_LENGTH=4096)
    with app.app_context():
        session = get_session()
        token = create_api_token(session, create_user(session, email="big@example.org"))
        session.commit()
    response = app.test_client().post("/api/v1/credentials", data=b'{"credential": "' + b"a" * 8192 + b'"}',
                                      headers=bearer(token), content_type="application/json")
    assert response.status_code == 413 and response.get_json()["error"] == "TooLarge"


def test_form_with_more_parts_than_allowed_is_413(client, login, make_user) -> None:
    login(make_user())
    fields = {f"field{i}": "x" for i in range(1001)}  # MAX_FORM_PARTS is 1000
    response = client.post("/credentials/add/paste", data=fields, content_type="multipart/form-data")
    assert response.status_code == 413


# --- E6: no styles from outside -------------------------------------------------------------------

@pytest.mark.parametrize("markup", [
    '<p style="background:url(//evil.example/x)">hi</p>',
    '<span style="color:red;position:fixed">hi</span>',
    "</style><style>body{display:none}</style>hi",
])
def test_render_markdown_never_emits_style(markup: str) -> None:
    html = str(sanitize.render_markdown(markup))
    assert not re.search(r"<style|<[a-z][^>]*\sstyle=", html, re.IGNORECASE)


def test_pages_allow_only_own_stylesheets(client) -> None:
    policy = client.get("/").headers["Content-Security-Policy"]
    assert "style-src 'self'" in policy and "unsafe-inline" not in policy.split("style-src", 1)[1].split(";")[0]


# --- F14: errors and logs -------------------------------------------------------------------------

def test_api_unexpected_error_is_generic_json_500_and_logged(app, client, caplog) -> None:
    app.config["SHOW_ERROR_PAGES"] = True

    @app.get("/api/v1/boom")
    def boom():
        raise RuntimeError("secret detail")

    caplog.set_level(logging.ERROR, logger="wallet.errors")
    response = client.get("/api/v1/boom")
    assert response.status_code == 500
    assert response.get_json()["error"] == "InternalError" and "secret detail" not in response.get_data(as_text=True)
    assert "secret detail" in caplog.text


def test_logged_path_cannot_forge_a_log_line(app, client, caplog) -> None:
    app.config["SHOW_ERROR_PAGES"] = True

    @app.before_request
    def boom() -> None:
        if "forged" in request.path:
            raise RuntimeError("x")

    caplog.set_level(logging.ERROR, logger="wallet.errors")
    client.get("/boom/a%0A2026-01-01 INFO forged")
    assert "\n2026-01-01 INFO forged" not in caplog.text and "a\\n2026-01-01" in caplog.text


# --- A13: a bound on what one verification may fetch ----------------------------------------------

def test_verification_fetch_budget_is_shared_and_refuses_the_26th(document_server: DocumentServer) -> None:
    document_server.routes["/doc.json"] = Response(b"{}", 200)
    fetcher = GuardedFetcher(allow_private_network=True, fresh_seconds=0)
    context = Context(fetch_fn=fetcher)
    nested = context.nested()  # an endorsement or a CLR member spends from the same budget
    for number in range(MAX_FETCHES):
        (nested if number % 2 else context).fetch(document_server.url(f"/doc.json?n={number}"))
    with pytest.raises(FetchError, match="Too many documents"):
        context.fetch(document_server.url("/doc.json?n=last"))
    assert len(document_server.requests) == MAX_FETCHES


def test_verification_nesting_is_bounded() -> None:
    context = Context()
    for _ in range(MAX_NESTING):
        context = context.nested()
    with pytest.raises(FetchError, match="nested too deeply"):
        context.nested()


# --- D16: the verified identifier always stands next to the name an issuer gives itself -----------

def test_issuer_claiming_a_famous_name_is_shown_with_its_verified_identifier(app, client, session, login,
                                                                            make_user) -> None:
    login(make_user(email="learner@example.org"))
    impostor = JwtIssuer(name="Harvard University")
    credential_id = add_credential(client, impostor.jwt(name="Doctorate"))
    for page in (f"/credentials/{credential_id}", "/credentials/"):
        text = client.get(page).get_data(as_text=True)
        assert "Harvard University" in text and impostor.did[:24] in text, page
    assert client.post(f"/portfolios/credentials/{credential_id}/share", data={}).status_code == 302
    slug = session.scalar(select(CredentialShare.slug).where(CredentialShare.credential_id == credential_id))
    public = app.test_client().get(f"/c/{slug}").get_data(as_text=True)  # what an employer sees
    assert "Harvard University" in public and impostor.did[:24] in public
