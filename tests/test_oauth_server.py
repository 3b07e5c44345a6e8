"""Wallet's OAuth 2.0 authorization server over real HTTP: an Authlib client registers, gets a learner's
consent, exchanges the code, refreshes (rotation) and revokes, against a live server with CSRF on.

The learner's side is a requests session logged in through the real log-in form, posting the real
consent form; the client is Authlib's OAuth2Session.
"""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from sqlalchemy import func, select

from wallet.services import ratelimit
from wallet.models import OAuthAuthorizationCode, OAuthClient, OAuthGrant, OAuthToken
from wallet.services.errors import AuthenticationError, InsufficientScopeError
from wallet.services.oauth.access import authenticate_access_token
from wallet.services.oauth.scopes import ALL_SCOPES, OB3_CREDENTIAL_READONLY, OB3_CREDENTIAL_UPSERT, OB3_PROFILE_READONLY
from tests.support.accounts import DEFAULT_PASSWORD

REDIRECT_URI = "https://college.example/wallet/callback"
SCOPE = f"{OB3_CREDENTIAL_READONLY} {OB3_CREDENTIAL_UPSERT}"


def register(base: str, **metadata: Any) -> requests.Response:
    body = {"client_name": "Riverside College", "redirect_uris": [REDIRECT_URI],
            "grant_types": ["authorization_code", "refresh_token"], "scope": " ".join(ALL_SCOPES),
            "client_uri": "https://college.example/", "logo_uri": "https://college.example/logo.png", **metadata}
    return requests.post(f"{base}/oauth/register", json=body, timeout=10)


def learner_browser(base: str, email: str) -> requests.Session:
    """Return a requests session logged in to the live server through the real form (CSRF on)."""
    browser = requests.Session()
    page = browser.get(f"{base}/login", timeout=10).text
    response = browser.post(f"{base}/login", data={"csrf_token": _csrf(page), "email": email,
                                                   "password": DEFAULT_PASSWORD}, allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text
    return browser


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def consent(browser: requests.Session, authorize_url: str, decision: str = "approve") -> str:
    """Open the consent page, answer it, and return where Wallet sends the browser back to."""
    page = browser.get(authorize_url, allow_redirects=False, timeout=10)
    assert page.status_code == 200, page.text
    answer = browser.post(authorize_url, data={"csrf_token": _csrf(page.text), "decision": decision},
                          allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def client_for(registered: dict[str, Any], scope: str = SCOPE) -> OAuth2Session:
    method = registered.get("token_endpoint_auth_method", "client_secret_basic")
    return OAuth2Session(registered["client_id"], registered.get("client_secret"), scope=scope,
                         redirect_uri=REDIRECT_URI, code_challenge_method="S256", token_endpoint_auth_method=method)


@pytest.fixture
def learner(make_user):
    return make_user(email="ada@example.org")


def _authorized(base: str, learner: Any, **metadata: Any) -> tuple[OAuth2Session, dict[str, Any], str, str]:
    """Register, consent and return (client, registration, redirect location, code verifier)."""
    registered = register(base, **metadata).json()
    client = client_for(registered)
    verifier = generate_token(48)
    url, _state = client.create_authorization_url(f"{base}/oauth/authorize", code_verifier=verifier)
    location = consent(learner_browser(base, learner.primary_email.address), url)
    return client, registered, location, verifier


def _fresh(session: Any) -> Any:
    session.rollback()  # see what the live server committed
    return session


def _authenticate(session: Any, raw: str, scope: str) -> Any:
    """Check a token as a resource endpoint does, and end the transaction (the live server writes too)."""
    session.rollback()
    try:
        return authenticate_access_token(session, raw, scope=scope)
    finally:
        session.commit()


def test_oauth_flow_register_consent_token_refresh_revoke(live_server, session, learner) -> None:
    base = live_server.url
    client, registered, location, verifier = _authorized(base, learner)
    assert registered["client_secret"] and registered["client_secret_expires_at"] == 0
    assert location.startswith(REDIRECT_URI + "?")
    token = client.fetch_token(f"{base}/oauth/token", authorization_response=location, code_verifier=verifier)
    assert token["token_type"].lower() == "bearer" and token["expires_in"] == 3600
    assert set(token["scope"].split()) == set(SCOPE.split())

    access = _authenticate(session, token["access_token"], OB3_CREDENTIAL_UPSERT)
    assert access.user.id == learner.id and access.client_name == "Riverside College"
    assert access.client_id == registered["client_id"]
    with pytest.raises(InsufficientScopeError):
        _authenticate(session, token["access_token"], OB3_PROFILE_READONLY)

    # Refresh rotates: a new refresh token, and the old one no longer works.
    refreshed = client.refresh_token(f"{base}/oauth/token", refresh_token=token["refresh_token"])
    assert refreshed["refresh_token"] != token["refresh_token"]
    assert refreshed["access_token"] != token["access_token"]
    assert _authenticate(session, refreshed["access_token"], OB3_CREDENTIAL_READONLY)

    revoked = client.revoke_token(f"{base}/oauth/revoke", token=refreshed["access_token"],
                                  token_type_hint="access_token")
    assert revoked.status_code == 200
    with pytest.raises(AuthenticationError, match="revoked"):
        _authenticate(session, refreshed["access_token"], OB3_CREDENTIAL_READONLY)
    # Nothing secret is stored: only hashes.
    stored = [value for row in session.scalars(select(OAuthToken))
              for value in (row.access_token_hash, row.refresh_token_hash)]
    assert token["access_token"] not in stored and token["refresh_token"] not in stored


def test_oauth_refresh_rotated_token_reused_revokes_the_grants_tokens(live_server, session, learner) -> None:
    base = live_server.url
    client, _registered, location, verifier = _authorized(base, learner)
    token = client.fetch_token(f"{base}/oauth/token", authorization_response=location, code_verifier=verifier)
    refreshed = client.refresh_token(f"{base}/oauth/token", refresh_token=token["refresh_token"])

    replay = requests.post(f"{base}/oauth/token", data={"grant_type": "refresh_token",
                                                        "refresh_token": token["refresh_token"]},
                           auth=(client.client_id, client.client_secret), timeout=10)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    # The thief's (or the client's) newer tokens stop working too.
    with pytest.raises(AuthenticationError, match="revoked"):
        _authenticate(session, refreshed["access_token"], OB3_CREDENTIAL_READONLY)
    again = requests.post(f"{base}/oauth/token", data={"grant_type": "refresh_token",
                                                       "refresh_token": refreshed["refresh_token"]},
                          auth=(client.client_id, client.client_secret), timeout=10)
    assert again.json()["error"] == "invalid_grant"


def test_oauth_public_client_with_pkce_gets_tokens(live_server, session, learner) -> None:
    base = live_server.url
    client, registered, location, verifier = _authorized(base, learner, token_endpoint_auth_method="none")
    assert "client_secret" not in registered
    token = client.fetch_token(f"{base}/oauth/token", authorization_response=location, code_verifier=verifier)
    assert _authenticate(session, token["access_token"], OB3_CREDENTIAL_READONLY)


def test_oauth_code_used_twice_is_refused_and_revokes_its_tokens(live_server, session, learner) -> None:
    base = live_server.url
    client, _registered, location, verifier = _authorized(base, learner)
    token = client.fetch_token(f"{base}/oauth/token", authorization_response=location, code_verifier=verifier)
    code = parse_qs(urlsplit(location).query)["code"][0]
    second = requests.post(f"{base}/oauth/token", data={"grant_type": "authorization_code", "code": code,
                                                        "redirect_uri": REDIRECT_URI, "code_verifier": verifier},
                           auth=(client.client_id, client.client_secret), timeout=10)
    assert second.status_code == 400 and second.json()["error"] == "invalid_grant"
    with pytest.raises(AuthenticationError, match="revoked"):
        _authenticate(session, token["access_token"], OB3_CREDENTIAL_READONLY)
    refresh = requests.post(f"{base}/oauth/token", data={"grant_type": "refresh_token",
                                                         "refresh_token": token["refresh_token"]},
                            auth=(client.client_id, client.client_secret), timeout=10)
    assert refresh.json()["error"] == "invalid_grant"


def test_oauth_token_wrong_redirect_uri_or_verifier_is_refused(live_server, session, learner) -> None:
    base = live_server.url
    client, _registered, location, verifier = _authorized(base, learner)
    code = parse_qs(urlsplit(location).query)["code"][0]
    wrong = requests.post(f"{base}/oauth/token", data={"grant_type": "authorization_code", "code": code,
                                                       "redirect_uri": "https://college.example/other",
                                                       "code_verifier": verifier},
                          auth=(client.client_id, client.client_secret), timeout=10)
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    assert _fresh(session).scalar(select(func.count()).select_from(OAuthToken)) == 0

    _client, _registered, location, _verifier = _authorized(base, learner)
    code = parse_qs(urlsplit(location).query)["code"][0]
    bad_verifier = requests.post(f"{base}/oauth/token", data={"grant_type": "authorization_code", "code": code,
                                                              "redirect_uri": REDIRECT_URI,
                                                              "code_verifier": generate_token(48)},
                                 auth=(_client.client_id, _client.client_secret), timeout=10)
    assert bad_verifier.status_code == 400 and bad_verifier.json()["error"] == "invalid_grant"
    assert _fresh(session).scalar(select(func.count()).select_from(OAuthToken)) == 0


@pytest.mark.parametrize("pkce", [{}, {"code_challenge_method": "plain"}, {"code_challenge_method": None}],
                         ids=["no-pkce", "plain", "no-method"])
def test_oauth_authorize_without_s256_pkce_is_refused(live_server, session, learner, pkce) -> None:
    base = live_server.url
    registered = register(base).json()
    params: dict[str, Any] = {"response_type": "code", "client_id": registered["client_id"],
                              "redirect_uri": REDIRECT_URI, "scope": SCOPE, "state": "xyz"}
    if pkce:
        params["code_challenge"] = create_s256_code_challenge(generate_token(48))
        if pkce["code_challenge_method"]:
            params["code_challenge_method"] = pkce["code_challenge_method"]
    browser = learner_browser(base, learner.primary_email.address)
    response = browser.get(f"{base}/oauth/authorize", params=params, allow_redirects=False, timeout=10)
    assert response.status_code == 302
    answer = parse_qs(urlsplit(response.headers["Location"]).query)
    assert answer["error"] == ["invalid_request"] and answer["state"] == ["xyz"]
    assert "code" not in answer
    assert _fresh(session).scalar(select(func.count()).select_from(OAuthAuthorizationCode)) == 0


def test_oauth_authorize_unregistered_redirect_uri_is_not_followed(live_server, learner) -> None:
    base = live_server.url
    registered = register(base).json()
    client = client_for(registered)
    client.redirect_uri = "https://attacker.example/steal"
    url, _state = client.create_authorization_url(f"{base}/oauth/authorize", code_verifier=generate_token(48))
    response = learner_browser(base, learner.primary_email.address).get(url, allow_redirects=False, timeout=10)
    assert response.status_code == 400
    assert "attacker.example" not in response.headers.get("Location", "")
    assert "This app cannot connect to your wallet" in response.text


def test_oauth_deny_redirects_with_access_denied_and_state(live_server, session, learner) -> None:
    base = live_server.url
    client = client_for(register(base).json())
    url, state = client.create_authorization_url(f"{base}/oauth/authorize", code_verifier=generate_token(48))
    location = consent(learner_browser(base, learner.primary_email.address), url, decision="deny")
    answer = parse_qs(urlsplit(location).query)
    assert answer["error"] == ["access_denied"] and answer["state"] == [state]
    assert _fresh(session).scalar(select(func.count()).select_from(OAuthGrant)) == 0


def test_oauth_consent_without_csrf_token_is_refused(live_server, session, learner) -> None:
    base = live_server.url
    client = client_for(register(base).json())
    url, _state = client.create_authorization_url(f"{base}/oauth/authorize", code_verifier=generate_token(48))
    browser = learner_browser(base, learner.primary_email.address)
    response = browser.post(url, data={"decision": "approve"}, allow_redirects=False, timeout=10)
    assert response.status_code == 400
    assert _fresh(session).scalar(select(func.count()).select_from(OAuthAuthorizationCode)) == 0


def test_oauth_consent_page_says_who_asks_for_what(live_server, learner) -> None:
    base = live_server.url
    client = client_for(register(base).json())
    url, _state = client.create_authorization_url(f"{base}/oauth/authorize", code_verifier=generate_token(48))
    page = learner_browser(base, learner.primary_email.address).get(url, timeout=10)
    text = re.sub(r"\s+", " ", page.text)
    assert "Riverside College</span> wants to add credentials to your wallet and see the credentials in your wallet" in text
    assert "Wallet has not checked them" in text
    assert 'src="https://college.example/logo.png"' in text
    assert "checked" not in re.findall(r"<input[^>]*>", text)[-1]  # nothing pre-ticked
    policy = page.headers["Content-Security-Policy"]
    assert "img-src 'self' data: https://college.example" in policy
    assert "form-action 'self' https://college.example" in policy


def test_oauth_authorize_logged_out_goes_to_login_and_back(client, make_user) -> None:
    make_user(email="ada@example.org")
    response = client.get("/oauth/authorize?response_type=code&client_id=abc&state=s")
    assert response.status_code == 302
    login_url = response.headers["Location"]
    assert login_url.startswith("/login?next=")
    next_value = parse_qs(urlsplit(login_url).query)["next"][0]
    assert next_value.startswith("/oauth/authorize?")
    back = client.post("/login", data={"email": "ada@example.org", "password": DEFAULT_PASSWORD, "next": next_value})
    assert back.headers["Location"] == next_value


def test_oauth_register_flood_gets_429_and_writes_nothing(live_server, session, rate_clock) -> None:
    live_server.app.config["OAUTH_REGISTER_RATE_LIMIT"] = 3
    ratelimit.limiters(live_server.app.extensions).clock = rate_clock
    answers = [register(live_server.url, client_name=f"Flood {n}") for n in range(5)]
    assert [a.status_code for a in answers] == [201, 201, 201, 429, 429]
    refused = answers[-1]
    assert refused.json()["error"] == "too_many_requests"
    assert "Too many client registrations" in refused.json()["error_description"]
    assert int(refused.headers["Retry-After"]) > 0
    assert _fresh(session).scalar(select(func.count()).select_from(OAuthClient)) == 3
    rate_clock.advance(3601)
    assert register(live_server.url).status_code == 201


@pytest.mark.parametrize(("change", "error"), [
    ({"redirect_uris": ["http://college.example/cb"]}, "invalid_redirect_uri"),
    ({"redirect_uris": ["https://college.example/cb#frag"]}, "invalid_redirect_uri"),
    ({"redirect_uris": ["com.college.app:/cb"]}, "invalid_redirect_uri"),
    ({"redirect_uris": ["http://localhost/cb"]}, "invalid_redirect_uri"),
    ({"redirect_uris": ["https://user:pw@college.example/cb"]}, "invalid_redirect_uri"),
    ({"redirect_uris": []}, "invalid_redirect_uri"),
    ({"scope": "https://purl.imsglobal.org/spec/ob/v3p0/scope/credential.delete"}, "invalid_client_metadata"),
    ({"logo_uri": "http://college.example/logo.png"}, "invalid_client_metadata"),
    ({"logo_uri": "https://college.example;script-src */logo.png"}, "invalid_client_metadata"),
    ({"client_uri": "javascript:alert(1)"}, "invalid_client_metadata"),
    ({"policy_uri": 12}, "invalid_client_metadata"),
    ({"tos_uri": "ftp://college.example/tos"}, "invalid_client_metadata"),
    ({"client_name": "  "}, "invalid_client_metadata"),
    ({"client_name": "x" * 201}, "invalid_client_metadata"),
    ({"grant_types": ["client_credentials"]}, "invalid_client_metadata"),
    ({"grant_types": ["refresh_token"]}, "invalid_client_metadata"),
    ({"response_types": ["token"]}, "invalid_client_metadata"),
    ({"token_endpoint_auth_method": "private_key_jwt"}, "invalid_client_metadata"),
])
def test_oauth_register_bad_metadata_is_refused_and_writes_nothing(live_server, session, change, error) -> None:
    response = register(live_server.url, **change)
    assert response.status_code == 400
    assert response.json()["error"] == error
    assert response.json()["error_description"]
    assert _fresh(session).scalar(select(func.count()).select_from(OAuthClient)) == 0


def test_oauth_register_loopback_http_redirect_is_accepted(live_server) -> None:
    response = register(live_server.url, redirect_uris=["http://127.0.0.1:8123/cb", "http://[::1]/cb"])
    assert response.status_code == 201
    assert response.json()["redirect_uris"] == ["http://127.0.0.1:8123/cb", "http://[::1]/cb"]


@pytest.mark.parametrize(("body", "content_type"), [
    (b'["not", "an", "object"]', "application/json"),
    (b"not json", "application/json"),
    (b'{"client_name": NaN}', "application/json"),
    (b"", "application/json"),
    (b"client_name=x", "application/x-www-form-urlencoded"),
], ids=["array", "not-json", "nan", "empty", "form"])
def test_oauth_register_body_not_a_json_object_is_refused_as_json(live_server, session, body, content_type) -> None:
    response = requests.post(f"{live_server.url}/oauth/register", data=body, headers={"Content-Type": content_type},
                             timeout=10)
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json()["error"] == "invalid_client_metadata"
    assert response.json()["error_description"]
    assert _fresh(session).scalar(select(func.count()).select_from(OAuthClient)) == 0


def test_oauth_metadata_names_endpoints_and_s256(client) -> None:
    document = client.get("/.well-known/oauth-authorization-server").get_json()
    assert document["issuer"] == "http://localhost"
    assert document["authorization_endpoint"] == "http://localhost/oauth/authorize"
    assert document["token_endpoint"] == "http://localhost/oauth/token"
    assert document["registration_endpoint"] == "http://localhost/oauth/register"
    assert document["revocation_endpoint"] == "http://localhost/oauth/revoke"
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert set(document["scopes_supported"]) == set(ALL_SCOPES)
    assert document["grant_types_supported"] == ["authorization_code", "refresh_token"]


def test_oauth_two_learners_of_one_client_each_get_only_their_own(live_server, session, make_user) -> None:
    base = live_server.url
    alice, bob = make_user(email="alice@example.org"), make_user(email="bob@example.org")
    registered = register(base).json()
    issued = {}
    for learner in (alice, bob):
        client = client_for(registered)
        verifier = generate_token(48)
        url, _state = client.create_authorization_url(f"{base}/oauth/authorize", code_verifier=verifier)
        location = consent(learner_browser(base, learner.primary_email.address), url)
        issued[learner.id] = client.fetch_token(f"{base}/oauth/token", authorization_response=location,
                                                code_verifier=verifier)["access_token"]
    assert _authenticate(session, issued[alice.id], OB3_CREDENTIAL_READONLY).user.id == alice.id
    assert _authenticate(session, issued[bob.id], OB3_CREDENTIAL_READONLY).user.id == bob.id


def test_oauth_revoke_by_another_client_is_refused_and_token_stays(live_server, session, learner) -> None:
    base = live_server.url
    client, _registered, location, verifier = _authorized(base, learner)
    token = client.fetch_token(f"{base}/oauth/token", authorization_response=location, code_verifier=verifier)
    other = register(base, client_name="Someone Else").json()
    refused = requests.post(f"{base}/oauth/revoke", data={"token": token["access_token"]},
                            auth=(other["client_id"], other["client_secret"]), timeout=10)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    assert _authenticate(session, token["access_token"], OB3_CREDENTIAL_READONLY).user.id == learner.id


def test_oauth_revoke_refresh_token_revokes_the_grants_access_tokens(live_server, session, learner) -> None:
    base = live_server.url
    client, _registered, location, verifier = _authorized(base, learner)
    token = client.fetch_token(f"{base}/oauth/token", authorization_response=location, code_verifier=verifier)
    assert client.revoke_token(f"{base}/oauth/revoke", token=token["refresh_token"],
                               token_type_hint="refresh_token").status_code == 200
    with pytest.raises(AuthenticationError, match="revoked"):
        _authenticate(session, token["access_token"], OB3_CREDENTIAL_READONLY)


@pytest.mark.parametrize("scope", ["", "https://purl.imsglobal.org/spec/ob/v3p0/scope/credential.delete"],
                         ids=["no-scope", "unknown-scope"])
def test_oauth_authorize_without_a_known_scope_is_sent_back_invalid_scope(live_server, learner, scope) -> None:
    base = live_server.url
    client = client_for(register(base, scope=OB3_CREDENTIAL_READONLY).json(), scope=scope)
    url, _state = client.create_authorization_url(f"{base}/oauth/authorize", code_verifier=generate_token(48))
    response = learner_browser(base, learner.primary_email.address).get(url, allow_redirects=False, timeout=10)
    assert response.status_code == 302
    assert parse_qs(urlsplit(response.headers["Location"]).query)["error"] == ["invalid_scope"]


def test_oauth_authorize_scope_beyond_the_registration_is_refused(live_server, learner) -> None:
    base = live_server.url
    client = client_for(register(base, scope=OB3_CREDENTIAL_READONLY).json(), scope=SCOPE)
    url, _state = client.create_authorization_url(f"{base}/oauth/authorize", code_verifier=generate_token(48))
    response = learner_browser(base, learner.primary_email.address).get(url, allow_redirects=False, timeout=10)
    assert parse_qs(urlsplit(response.headers["Location"]).query)["error"] == ["invalid_scope"]


def test_oauth_token_flood_gets_429(live_server, rate_clock) -> None:
    live_server.app.config["OAUTH_TOKEN_RATE_LIMIT"] = 2
    ratelimit.limiters(live_server.app.extensions).clock = rate_clock
    answers = [requests.post(f"{live_server.url}/oauth/token", data={"grant_type": "authorization_code", "code": "x"},
                             auth=("nobody", "nothing"), timeout=10) for _ in range(3)]
    assert [a.status_code for a in answers] == [401, 401, 429]
    assert answers[-1].json()["error"] == "too_many_requests"


def test_oauth_authorize_flood_per_learner_gets_429(live_server, learner, rate_clock) -> None:
    live_server.app.config["OAUTH_AUTHORIZE_RATE_LIMIT"] = 2
    ratelimit.limiters(live_server.app.extensions).clock = rate_clock
    client = client_for(register(live_server.url).json())
    url, _state = client.create_authorization_url(f"{live_server.url}/oauth/authorize",
                                                  code_verifier=generate_token(48))
    browser = learner_browser(live_server.url, learner.primary_email.address)
    answers = [browser.get(url, allow_redirects=False, timeout=10) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert "Too many authorization requests" in answers[-1].text
    assert int(answers[-1].headers["Retry-After"]) > 0


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/revoke", "/oauth/register"])
def test_oauth_machine_endpoint_refused_input_is_rfc_json(client, path) -> None:
    response = client.post(path, data={"grant_type": "authorization_code", "code": "a\x00b", "token": "a\x00b"})
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"
    assert response.get_json()["error_description"].startswith("The form was refused.")


def test_oauth_authorize_refused_input_is_the_learners_error_page(client, make_user, login) -> None:
    login(make_user())
    response = client.get("/oauth/authorize?response_type=code&client_id=a%00b")
    assert response.status_code == 400
    assert response.content_type.startswith("text/html")
    assert "The address was refused." in response.get_data(as_text=True)
