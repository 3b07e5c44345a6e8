"""Wallet as Host, used by a provider exactly as OB 3.0 describes (docs: "Open Badges API" and its security
section): an Authlib OAuth 2.0 client discovers Wallet, registers itself (RFC 7591), sends the learner to
the authorization URL, where the learner logs in and approves in a real browser; it exchanges the code
with PKCE, pushes credentials signed with real keys, lists them back, reads and updates the profile,
refreshes the token (the old refresh token is then refused), revokes it (RFC 7009) and is refused
afterwards. The learner sees the app under Settings, "Connected apps", and can revoke it there.

These are the tests of the OB 3.0 Host certification (cert/host.md) done end to end by a client over real
sockets: Service Provider (Read) 1-5 (authorize with the right scopes sent back, getCredentials plain and
paged, getProfile, revocation) and Service Provider (Write) 1-4 (upsertCredential preserving sent data,
putProfile, revocation), repeated with the refreshed access token as the certification system does. CLR 2.0
the same way under /ims/clr/v2p0/ with ClrCredentials."""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from playwright.sync_api import expect

from tests.support.accounts import DEFAULT_PASSWORD
from tests.support.credentials import JwtIssuer, LdIssuer, png_image
from tests.support.provider import signed_clr
from tests.support.servers import DocumentServer, Response

pytestmark = pytest.mark.browser

OB3 = "https://purl.imsglobal.org/spec/ob/v3p0/scope/"
CLR = "https://purl.imsglobal.org/spec/clr/v2p0/scope/"
READ, UPSERT = OB3 + "credential.readonly", OB3 + "credential.upsert"
PROFILE_READ, PROFILE_UPDATE = OB3 + "profile.readonly", OB3 + "profile.update"
EMAIL = "learner@example.org"
TIMEOUT = 10


def registration_request(client_site: DocumentServer) -> dict[str, Any]:
    """The provider's registration request: every property OB 3.0 marks required, on the provider's host."""
    return {
        "client_name": "Riverside College",
        "client_uri": client_site.url("/"),
        "logo_uri": "https://riverside.example/logo.png",  # Wallet wants an https logo
        "tos_uri": client_site.url("/terms"),
        "policy_uri": client_site.url("/privacy"),
        "software_id": "7d3b0a55-0d2c-4a51-9e2f-6f5e3c1a9b10",
        "software_version": "2.4.1",
        "redirect_uris": [client_site.url("/callback")],
        "token_endpoint_auth_method": "client_secret_basic",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "scope": " ".join([READ, UPSERT, PROFILE_READ, PROFILE_UPDATE]),
    }


def links_of(response: requests.Response) -> dict[str, str]:
    return {rel: url for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', response.headers.get("Link", ""))}


def serve_client_site(client_site: DocumentServer) -> None:
    """The provider's own web site: its redirect endpoint and its logo."""
    client_site.routes["/callback"] = Response(b"<!doctype html><title>Riverside College</title><p>Connected.</p>",
                                               content_type="text/html")
    client_site.routes["/logo.png"] = Response(png_image("maroon"), content_type="image/png")


def log_in(page: Any) -> None:
    """Log the learner in on Wallet's login page, where an authorization request for a logged-out learner leads."""
    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()


def connect_in_browser(page: Any, base: str, client_site: DocumentServer, *, api: str = "/ims/ob/v3p0",
                       scope: str = READ) -> tuple[OAuth2Session, dict[str, Any], dict[str, Any]]:
    """Discover, register, have the learner log in and allow in the browser, and get the tokens."""
    scheme = requests.get(f"{base}{api}/discovery", timeout=TIMEOUT).json()[
        "components"]["securitySchemes"]["OAuth2ACG"]
    flow = scheme["flows"]["authorizationCode"]
    sent = dict(registration_request(client_site), scope=scope)
    registered = requests.post(scheme["x-imssf-registrationUrl"], json=sent, timeout=TIMEOUT)
    assert registered.status_code == 201, registered.text
    client = registered.json()
    oauth = OAuth2Session(client["client_id"], client["client_secret"], scope=scope,
                          redirect_uri=sent["redirect_uris"][0], code_challenge_method="S256")
    verifier = generate_token(64)
    authorization_url, _ = oauth.create_authorization_url(flow["authorizationUrl"], code_verifier=verifier)
    page.goto(authorization_url)
    log_in(page)
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url(re.compile(re.escape(sent["redirect_uris"][0]) + r"\?"))
    oauth.fetch_token(flow["tokenUrl"], authorization_response=page.url, code_verifier=verifier)
    return oauth, client, flow


def test_provider_registers_gets_consent_pushes_lists_refreshes_and_revokes(
        live_server, page, make_user, document_server: DocumentServer) -> None:
    make_user(email=EMAIL, display_name="Ada Lovelace")
    base = live_server.url
    client_site = document_server  # the provider's own web site: its pages and its redirect endpoint
    serve_client_site(client_site)

    # 1. Discovery: the Service Description Document, unauthenticated.
    discovery = requests.get(f"{base}/ims/ob/v3p0/discovery", headers={"Accept": "application/json"},
                             timeout=TIMEOUT)
    assert discovery.status_code == 200, discovery.text
    sdd = discovery.json()
    assert sdd["openapi"].startswith("3.0")
    assert {"title", "termsOfService", "x-imssf-privacyPolicyUrl"} <= set(sdd["info"])
    scheme = sdd["components"]["securitySchemes"]["OAuth2ACG"]
    flow = scheme["flows"]["authorizationCode"]
    assert set(flow["scopes"]) == {READ, UPSERT, PROFILE_READ, PROFILE_UPDATE}

    # 2. Dynamic Client Registration (RFC 7591), no initial access token.
    sent = registration_request(client_site)
    registered = requests.post(scheme["x-imssf-registrationUrl"], json=sent, timeout=TIMEOUT)
    assert registered.status_code == 201, registered.text
    client = registered.json()
    assert client["client_id"] and client["client_secret"]
    assert client["redirect_uris"] == sent["redirect_uris"] and client["client_name"] == "Riverside College"

    # 3. Authorization request with PKCE S256; the learner logs in and approves in the browser.
    scope = " ".join([READ, UPSERT, PROFILE_READ, PROFILE_UPDATE])
    oauth = OAuth2Session(client["client_id"], client["client_secret"], scope=scope,
                          redirect_uri=sent["redirect_uris"][0], code_challenge_method="S256",
                          token_endpoint_auth_method="client_secret_basic")
    verifier = generate_token(64)
    authorization_url, state = oauth.create_authorization_url(flow["authorizationUrl"], code_verifier=verifier)
    page.goto(authorization_url)
    log_in(page)
    # The consent page says in plain words which system asks for what; its name is its own claim.
    expect(page.get_by_role("heading", level=1)).to_contain_text("Riverside College wants to")
    expect(page.get_by_text(re.compile("add credentials to your wallet", re.I)).first).to_be_visible()
    expect(page.get_by_text("its own claim").first).to_be_visible()
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url(re.compile(re.escape(sent["redirect_uris"][0]) + r"\?"))
    callback = parse_qs(urlsplit(page.url).query)
    assert callback["state"] == [state] and callback["code"]
    # OB 3.0 "Authorization Response": code, scope and state are all required (checked last, below).

    # 4. Token request: the code with its PKCE verifier, client_secret_basic.
    token = oauth.fetch_token(flow["tokenUrl"], authorization_response=page.url, code_verifier=verifier)
    assert token["token_type"].lower() == "bearer" and token["refresh_token"]
    assert set(token["scope"].split()) == set(scope.split())

    # 5. upsertCredential: a VC-JWT as text/plain and a Data Integrity credential as JSON, signed with real keys.
    jwt = JwtIssuer(name="Riverside College").jwt(email=EMAIL, name="Data Analysis Fundamentals")
    pushed = oauth.post(f"{base}/ims/ob/v3p0/credentials", data=jwt,
                        headers={"Content-Type": "text/plain", "Accept": "text/plain"}, timeout=TIMEOUT)
    assert pushed.status_code == 201, pushed.text
    assert pushed.text == jwt
    signed = LdIssuer(name="Riverside College").signed(email=EMAIL, name="Team Leadership")
    pushed = oauth.post(f"{base}/ims/ob/v3p0/credentials", json=signed, timeout=TIMEOUT)
    assert pushed.status_code == 201, pushed.text
    assert pushed.json() == signed
    again = oauth.post(f"{base}/ims/ob/v3p0/credentials", json=signed, timeout=TIMEOUT)
    assert again.status_code == 200, again.text  # the same credential again replaces, nothing is added

    # 6. getCredentials, plain and paged: exactly what was sent. 7. getProfile.
    def read_back() -> None:
        listed = oauth.get(f"{base}/ims/ob/v3p0/credentials", timeout=TIMEOUT)
        assert listed.status_code == 200, listed.text
        assert listed.headers["X-Total-Count"] == "2"
        assert listed.json() == {"credential": [signed], "compactJwsString": [jwt]}
        first = oauth.get(f"{base}/ims/ob/v3p0/credentials?limit=1&offset=0", timeout=TIMEOUT)
        assert set(links_of(first)) >= {"next", "last", "first"}
        second = oauth.get(links_of(first)["next"], timeout=TIMEOUT)
        assert "prev" in links_of(second)
        paged = first.json()["credential"] + second.json()["credential"]
        jws = first.json()["compactJwsString"] + second.json()["compactJwsString"]
        assert (paged, jws) == ([signed], [jwt])
        profile = oauth.get(f"{base}/ims/ob/v3p0/profile", timeout=TIMEOUT)
        assert profile.status_code == 200, profile.text
        assert "Profile" in ([profile.json()["type"]] if isinstance(profile.json()["type"], str)
                             else profile.json()["type"])

    read_back()

    # putProfile (optional in the certification): the learner's name as the provider knows it.
    profile = oauth.get(f"{base}/ims/ob/v3p0/profile", timeout=TIMEOUT).json()
    updated = oauth.put(f"{base}/ims/ob/v3p0/profile", json={**profile, "name": "Ada King"}, timeout=TIMEOUT)
    assert updated.status_code == 200, updated.text
    assert updated.json()["name"] == "Ada King"
    assert oauth.get(f"{base}/ims/ob/v3p0/profile", timeout=TIMEOUT).json() == updated.json()

    # The learner finds the pushed credentials in the wallet, verified, and the app under Settings,
    # "Connected apps", with what it may do and when it was last used.
    page.goto(f"{base}/credentials")
    expect(page.get_by_text("Team Leadership").first).to_be_visible()
    page.get_by_role("link", name=re.compile("Data Analysis Fundamentals")).first.click()
    expect(page.get_by_role("heading", name="Data Analysis Fundamentals")).to_be_visible()
    expect(page.locator(".credential-hero .state-valid")).to_have_text("Verified")
    page.goto(f"{base}/settings")
    page.get_by_role("link", name="Connected apps").click()
    app = page.locator(".app-item").filter(has_text="Riverside College")
    expect(app).to_have_count(1)
    expect(app.get_by_role("heading", name="Riverside College")).to_be_visible()
    expect(app).to_contain_text("last used")
    expect(app.locator("ul li")).to_have_count(4)  # one line of plain words per granted scope

    # 8. Refresh: new tokens that work.
    old = dict(oauth.token)
    refreshed = oauth.refresh_token(flow["refreshUrl"])
    assert refreshed["access_token"] != old["access_token"]
    assert refreshed["refresh_token"] != old["refresh_token"]
    read_back()  # the certification repeats its reads with the refreshed access token
    assert oauth.post(f"{base}/ims/ob/v3p0/credentials", json=signed, timeout=TIMEOUT).status_code == 200

    # 9. Revocation (RFC 7009) at the endpoint the authorization server metadata names (RFC 8414).
    metadata = requests.get(f"{base}/.well-known/oauth-authorization-server", timeout=TIMEOUT).json()
    revoked = oauth.revoke_token(metadata["revocation_endpoint"], oauth.token["refresh_token"],
                                 token_type_hint="refresh_token")
    assert revoked.status_code == 200
    refused = oauth.get(f"{base}/ims/ob/v3p0/credentials", timeout=TIMEOUT)
    assert refused.status_code == 401
    body = refused.json()
    assert body["imsx_codeMajor"] == "failure"
    assert body["imsx_codeMinor"]["imsx_codeMinorField"][0]["imsx_codeMinorFieldValue"] == "unauthorizedrequest"
    # "a revocation MUST cause all of subsequent calls to return an error" (cert/host.md)
    assert oauth.get(f"{base}/ims/ob/v3p0/profile", timeout=TIMEOUT).status_code == 401
    assert oauth.post(f"{base}/ims/ob/v3p0/credentials", json=signed, timeout=TIMEOUT).status_code == 401
    assert oauth.put(f"{base}/ims/ob/v3p0/profile", json=updated.json(), timeout=TIMEOUT).status_code == 401
    for refresh_token in (oauth.token["refresh_token"], old["refresh_token"]):  # revoked; rotated away
        again = requests.post(flow["tokenUrl"], auth=(client["client_id"], client["client_secret"]), timeout=TIMEOUT,
                              data={"grant_type": "refresh_token", "refresh_token": refresh_token})
        assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")

    # OB 3.0 "Authorization Response": "redirect the browser back to the redirect_uri with the code, scope,
    # and state query string parameters" (scope: Required).
    assert set(callback.get("scope", [""])[0].split()) == set(scope.split()), "no scope in the authorization response"


def test_learner_revokes_a_connected_app_and_its_token_is_refused(
        live_server, page, make_user, document_server: DocumentServer) -> None:
    make_user(email=EMAIL, display_name="Ada Lovelace")
    base = live_server.url
    serve_client_site(document_server)
    oauth, client, flow = connect_in_browser(page, base, document_server)
    assert oauth.get(f"{base}/ims/ob/v3p0/credentials", timeout=TIMEOUT).status_code == 200

    page.goto(f"{base}/settings/apps")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke Riverside College").click()
    expect(page.locator(".app-item")).to_have_count(0)

    refused = oauth.get(f"{base}/ims/ob/v3p0/credentials", timeout=TIMEOUT)
    assert refused.status_code == 401
    assert refused.json()["imsx_codeMinor"]["imsx_codeMinorField"][0]["imsx_codeMinorFieldValue"] == \
        "unauthorizedrequest"
    again = requests.post(flow["tokenUrl"], auth=(client["client_id"], client["client_secret"]), timeout=TIMEOUT,
                          data={"grant_type": "refresh_token", "refresh_token": oauth.token["refresh_token"]})
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")


def test_provider_pushes_clr_records_through_the_clr_api(
        live_server, page, make_user, document_server: DocumentServer) -> None:
    make_user(email=EMAIL, display_name="Ada Lovelace")
    base = live_server.url
    serve_client_site(document_server)
    scope = " ".join([CLR + "credential.readonly", CLR + "credential.upsert", CLR + "profile.readonly"])
    oauth, _, _ = connect_in_browser(page, base, document_server, api="/ims/clr/v2p0", scope=scope)
    assert set(oauth.token["scope"].split()) == set(scope.split())

    registrar, school = LdIssuer(name="Riverside Registrar"), LdIssuer(name="Riverside College")
    record = signed_clr(registrar, school, email=EMAIL, name="Transcript of Ada Lovelace")
    record_jwt = signed_clr(JwtIssuer(name="Riverside Registrar"), school, email=EMAIL, name="Certificate",
                            achievements=("First Aid",))
    pushed = oauth.post(f"{base}/ims/clr/v2p0/credentials", json=record, timeout=TIMEOUT)
    assert (pushed.status_code, pushed.json()) == (201, record)
    pushed = oauth.post(f"{base}/ims/clr/v2p0/credentials", data=record_jwt, timeout=TIMEOUT,
                        headers={"Content-Type": "text/plain"})
    assert (pushed.status_code, pushed.text) == (201, record_jwt)
    # An OpenBadgeCredential is not a ClrCredential: the CLR API refuses it, and the OB 3.0 API needs its own scope.
    badge = LdIssuer(name="Riverside College").signed(email=EMAIL)
    assert oauth.post(f"{base}/ims/clr/v2p0/credentials", json=badge, timeout=TIMEOUT).status_code == 400
    assert oauth.get(f"{base}/ims/ob/v3p0/credentials", timeout=TIMEOUT).status_code == 403

    listed = oauth.get(f"{base}/ims/clr/v2p0/credentials", timeout=TIMEOUT)
    assert listed.headers["X-Total-Count"] == "2"
    assert listed.json() == {"credential": [record], "compactJwsString": [record_jwt]}
    assert oauth.get(f"{base}/ims/clr/v2p0/profile", timeout=TIMEOUT).status_code == 200

    page.goto(f"{base}/credentials")
    expect(page.get_by_text("Transcript of Ada Lovelace").first).to_be_visible()
