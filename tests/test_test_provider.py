"""The test provider (tests/support/provider.py) speaks OB 3.0, CLR 2.0 and Badge Connect 2.1 to a plain
Authlib OAuth2Session client over real HTTP, so a failing Wallet client test points at the client."""
from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session

from tests.support.provider import (BADGE_CONNECT, BC_SCOPES, CLR, CLR_SCOPES, OB3_SCOPES, TestProvider,
                                    host_provider)  # noqa: F401 (fixture)
from wallet.services.verification import make_context, verify_bytes
from wallet.services.verification.result import Status

REDIRECT = "https://client.example/callback"
TIMEOUT = 10
OB3_READ = OB3_SCOPES["credential.readonly"]
OB3_PROFILE = OB3_SCOPES["profile.readonly"]


def registration(scope: str, **overrides: Any) -> dict[str, Any]:
    """Return an OB 3.0 registration request (security section, "Register with Authorization Server")."""
    return {
        "client_name": "Example Wallet", "client_uri": "https://client.example/",
        "logo_uri": "https://client.example/logo.png", "tos_uri": "https://client.example/terms",
        "policy_uri": "https://client.example/privacy", "software_id": "c88b6ed8-269e-448e-99be-7e2ff47167d1",
        "software_version": "1.0", "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "client_secret_basic",
        "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"], "scope": scope,
        **overrides}


def discover(url: str) -> dict[str, str]:
    """Read a Service Description Document: registration, authorization, token and refresh URLs."""
    document = requests.get(url, timeout=TIMEOUT).json()
    scheme = document["components"]["securitySchemes"]["OAuth2ACG"]
    flow = scheme["flows"]["authorizationCode"]
    return {"registration": scheme["x-imssf-registrationUrl"], "authorization": flow["authorizationUrl"],
            "token": flow["tokenUrl"], "refresh": flow["refreshUrl"], "scopes": " ".join(flow["scopes"])}


def register(url: str, scope: str) -> dict[str, Any]:
    response = requests.post(url, json=registration(scope), timeout=TIMEOUT)
    assert response.status_code == 201, response.text
    return response.json()


def session_for(client: dict[str, Any], scope: str) -> OAuth2Session:
    return OAuth2Session(client["client_id"], client["client_secret"], scope=scope, redirect_uri=REDIRECT,
                         code_challenge_method="S256", token_endpoint_auth_method="client_secret_basic")


def authorize(session: OAuth2Session, authorization_url: str, verifier: str) -> str:
    """Send the 'browser' to the authorization URL; return where the provider redirects it."""
    url, _ = session.create_authorization_url(authorization_url, code_verifier=verifier)
    response = requests.get(url, allow_redirects=False, timeout=TIMEOUT)
    assert response.status_code == 302, response.text
    return response.headers["Location"]


def connect(provider: TestProvider, scope: str, discovery: str | None = None) -> tuple[OAuth2Session, dict[str, str]]:
    """Discover, register, authorize (auto-consent) and exchange the code; return the session and the URLs."""
    urls = discover(discovery or provider.ob3_discovery_url)
    client = register(urls["registration"], scope)
    session = session_for(client, scope)
    verifier = generate_token(48)
    location = authorize(session, urls["authorization"], verifier)
    session.fetch_token(urls["token"], authorization_response=location, code_verifier=verifier)
    return session, urls


def test_provider_ob3_flow_discovers_registers_authorizes_and_lists_pages(host_provider: TestProvider) -> None:
    ids = [host_provider.add_credential(host_provider.ld_issuer.signed(name=f"Badge {n}")) for n in range(3)]
    jwt = host_provider.issue_ob3(proof="jwt", name="Badge JWT")
    session, urls = connect(host_provider, f"{OB3_READ} {OB3_PROFILE}")

    assert urls["registration"] == host_provider.url("/oauth/register")
    assert host_provider.token_requests[0]["form"]["code_verifier"]
    assert host_provider.token_requests[0]["client_id"] == host_provider.clients[0].client_id  # Basic auth
    first = session.get(host_provider.url("/ims/ob/v3p0/credentials?limit=2&offset=0"), timeout=TIMEOUT)
    assert first.status_code == 200
    assert first.headers["X-Total-Count"] == "4"
    links = links_of(first)
    assert set(links) == {"next", "last", "first"}
    assert links["next"].endswith("/ims/ob/v3p0/credentials?limit=2&offset=2")
    assert [c["id"] for c in first.json()["credential"]] == ids[:2]
    assert first.json()["compactJwsString"] == []

    second = session.get(links["next"], timeout=TIMEOUT)
    links = links_of(second)
    assert set(links) == {"last", "first", "prev"}
    assert links["prev"].endswith("offset=0")
    assert [c["id"] for c in second.json()["credential"]] == ids[2:]
    assert second.json()["compactJwsString"] == [jwt]

    profile = session.get(host_provider.url("/ims/ob/v3p0/profile"), timeout=TIMEOUT)
    assert profile.json()["type"] == "Profile" and profile.json()["email"] == "learner@example.org"


def links_of(response: requests.Response) -> dict[str, str]:
    return {rel: url for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', response.headers.get("Link", ""))}


def test_provider_credentials_are_signed_with_real_keys_and_verify_offline(host_provider: TestProvider) -> None:
    issued = [host_provider.issue_ob3(), host_provider.issue_ob3(proof="jwt"), host_provider.issue_clr(),
              host_provider.issue_clr(proof="jwt")]
    for credential in issued:
        data = credential.encode() if isinstance(credential, str) else json.dumps(credential).encode()
        result = verify_bytes(data, context=make_context(recipients=["learner@example.org"]))
        assert result.status is Status.VALID, (result.format, [(c.id, c.message) for c in result.checks])
    assert [r.format for r in (verify_bytes(json.dumps(issued[2]).encode()),)] == ["clr2"]


def pkce_less_authorization_url(urls: dict[str, str], client: dict[str, Any], scope: str, **extra: str) -> str:
    session = OAuth2Session(client["client_id"], client["client_secret"], scope=scope, redirect_uri=REDIRECT)
    url, _ = session.create_authorization_url(urls["authorization"], **extra)
    return url


@pytest.mark.parametrize("pkce", [{}, {"code_challenge": "x" * 43, "code_challenge_method": "plain"},
                                  {"code_challenge": "x" * 43}])
def test_provider_authorization_without_s256_pkce_is_refused(host_provider: TestProvider, pkce: dict[str, str]) -> None:
    urls = discover(host_provider.ob3_discovery_url)
    client = register(urls["registration"], OB3_READ)
    response = requests.get(pkce_less_authorization_url(urls, client, OB3_READ, **pkce), allow_redirects=False,
                            timeout=TIMEOUT)
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["error"] == ["invalid_request"] and "code" not in query


def test_provider_token_without_or_with_a_wrong_code_verifier_is_refused(host_provider: TestProvider) -> None:
    urls = discover(host_provider.ob3_discovery_url)
    client = register(urls["registration"], OB3_READ)
    for sent, error in ((None, "invalid_request"), ("w" * 48, "invalid_grant")):
        session = session_for(client, OB3_READ)
        location = authorize(session, urls["authorization"], generate_token(48))
        code = parse_qs(urlsplit(location).query)["code"][0]
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
        if sent:
            form["code_verifier"] = sent
        response = requests.post(urls["token"], data=form, auth=(client["client_id"], client["client_secret"]),
                                 timeout=TIMEOUT)
        assert (response.status_code, response.json()["error"]) == (400, error)
    assert not host_provider.tokens


def test_provider_authorization_redirect_carries_code_scope_and_state(host_provider: TestProvider) -> None:
    urls = discover(host_provider.ob3_discovery_url)
    client = register(urls["registration"], OB3_READ)
    session = session_for(client, f"{OB3_READ} {OB3_PROFILE}")  # profile.readonly was not registered
    location = authorize(session, urls["authorization"], generate_token(48))
    query = parse_qs(urlsplit(location).query)
    assert location.startswith(REDIRECT + "?")
    assert set(query) == {"code", "scope", "state"}
    assert query["scope"] == [OB3_READ]


def test_provider_unknown_redirect_uri_is_shown_not_redirected_to(host_provider: TestProvider) -> None:
    urls = discover(host_provider.ob3_discovery_url)
    client = register(urls["registration"], OB3_READ)
    session = OAuth2Session(client["client_id"], client["client_secret"], scope=OB3_READ,
                            redirect_uri="https://attacker.example/cb", code_challenge_method="S256")
    url, _ = session.create_authorization_url(urls["authorization"], code_verifier=generate_token(48))
    response = requests.get(url, allow_redirects=False, timeout=TIMEOUT)
    assert response.status_code == 400 and "Location" not in response.headers
    assert "Redirect URI https://attacker.example/cb is not supported" in response.text


def test_provider_code_used_twice_is_refused_and_its_token_revoked(host_provider: TestProvider) -> None:
    urls = discover(host_provider.ob3_discovery_url)
    client = register(urls["registration"], OB3_READ)
    session = session_for(client, OB3_READ)
    verifier = generate_token(48)
    location = authorize(session, urls["authorization"], verifier)
    token = session.fetch_token(urls["token"], authorization_response=location, code_verifier=verifier)
    code = parse_qs(urlsplit(location).query)["code"][0]
    again = requests.post(urls["token"], data={"grant_type": "authorization_code", "code": code,
                                               "redirect_uri": REDIRECT, "code_verifier": verifier},
                          auth=(client["client_id"], client["client_secret"]), timeout=TIMEOUT)
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")
    listed = requests.get(host_provider.url("/ims/ob/v3p0/credentials"), timeout=TIMEOUT,
                          headers={"Authorization": f"Bearer {token['access_token']}"})
    assert listed.status_code == 401


def test_provider_refresh_rotates_and_the_old_refresh_token_is_refused(host_provider: TestProvider) -> None:
    session, urls = connect(host_provider, OB3_READ)
    first = dict(session.token)
    second = session.refresh_token(urls["refresh"])
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert session.get(host_provider.url("/ims/ob/v3p0/credentials"), timeout=TIMEOUT).status_code == 200
    old = requests.get(host_provider.url("/ims/ob/v3p0/credentials"), timeout=TIMEOUT,
                       headers={"Authorization": f"Bearer {first['access_token']}"})
    assert old.status_code == 401
    client = host_provider.clients[0]
    replay = requests.post(urls["token"], data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
                           auth=(client.client_id, client.client_secret), timeout=TIMEOUT)
    assert (replay.status_code, replay.json()["error"]) == (400, "invalid_grant")


def test_provider_expired_access_token_is_refused_until_refreshed(host_provider: TestProvider) -> None:
    host_provider.issue_ob3()
    session, urls = connect(host_provider, OB3_READ)
    host_provider.expire_access_tokens()
    expired = requests.get(host_provider.url("/ims/ob/v3p0/credentials"), timeout=TIMEOUT,
                           headers={"Authorization": f"Bearer {session.token['access_token']}"})
    assert expired.status_code == 401
    assert expired.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert expired.json()["imsx_codeMinor"]["imsx_codeMinorField"][0]["imsx_codeMinorFieldValue"] == \
        "unauthorizedrequest"
    session.refresh_token(urls["refresh"])
    assert len(session.get(host_provider.url("/ims/ob/v3p0/credentials"), timeout=TIMEOUT).json()["credential"]) == 1


def test_provider_short_access_token_lifetime_is_announced(host_provider: TestProvider) -> None:
    host_provider.access_token_lifetime = 1
    session, _ = connect(host_provider, OB3_READ)
    assert session.token["expires_in"] == 1


def test_provider_revoked_tokens_are_refused(host_provider: TestProvider) -> None:
    session, urls = connect(host_provider, OB3_READ)
    access, refresh = session.token["access_token"], session.token["refresh_token"]
    session.revoke_token(host_provider.url("/oauth/revoke"), refresh, token_type_hint="refresh_token")
    assert host_provider.revocations == [{"token": refresh, "token_type_hint": "refresh_token",
                                          "client_id": host_provider.clients[0].client_id, "found": True,
                                          "status": 200}]
    listed = requests.get(host_provider.url("/ims/ob/v3p0/credentials"), timeout=TIMEOUT,
                          headers={"Authorization": f"Bearer {access}"})
    assert listed.status_code == 401
    client = host_provider.clients[0]
    refreshed = requests.post(urls["token"], data={"grant_type": "refresh_token", "refresh_token": refresh},
                              auth=(client.client_id, client.client_secret), timeout=TIMEOUT)
    assert refreshed.status_code == 400
    # RFC 7009 section 2.2: an unknown token is answered 200 as well.
    unknown = requests.post(host_provider.url("/oauth/revoke"), data={"token": "unknown"},
                            auth=(client.client_id, client.client_secret), timeout=TIMEOUT)
    assert unknown.status_code == 200 and host_provider.revocations[-1]["found"] is False


def test_provider_scopes_are_enforced_with_imsx_status_info(host_provider: TestProvider) -> None:
    session, _ = connect(host_provider, OB3_PROFILE)
    response = session.get(host_provider.url("/ims/ob/v3p0/credentials"), timeout=TIMEOUT)
    assert response.status_code == 403
    assert response.headers["WWW-Authenticate"] == f'Bearer error="insufficient_scope", scope="{OB3_READ}"'
    body = response.json()
    assert (body["imsx_codeMajor"], body["imsx_severity"]) == ("failure", "error")
    assert body["imsx_codeMinor"]["imsx_codeMinorField"][0]["imsx_codeMinorFieldValue"] == "forbidden"
    assert requests.get(host_provider.url("/ims/ob/v3p0/credentials"), timeout=TIMEOUT).status_code == 401
    assert session.get(host_provider.url("/ims/clr/v2p0/profile"), timeout=TIMEOUT).status_code == 403


def test_provider_tokens_reach_only_their_learner(host_provider: TestProvider) -> None:
    host_provider.issue_ob3(name="Ada's badge")
    host_provider.issue_ob3(learner="grace@example.org", name="Grace's badge")
    session, _ = connect(host_provider, OB3_READ)
    host_provider.learner = "grace@example.org"
    other, _ = connect(host_provider, OB3_READ)
    names = [[c["name"] for c in s.get(host_provider.url("/ims/ob/v3p0/credentials"), timeout=TIMEOUT)
              .json()["credential"]] for s in (session, other)]
    assert names == [["Ada's badge"], ["Grace's badge"]]


def test_provider_registration_missing_a_required_property_is_refused(host_provider: TestProvider) -> None:
    body = registration(OB3_READ)
    del body["software_id"]
    response = requests.post(host_provider.url("/oauth/register"), json=body, timeout=TIMEOUT)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client_metadata" and "software_id" in response.json()[
        "error_description"]
    unknown = requests.post(host_provider.url("/oauth/register"), json=registration("https://example.org/scope"),
                            timeout=TIMEOUT)
    assert unknown.status_code == 400
    assert host_provider.clients == []


def test_provider_registration_answers_every_property_and_credentials(host_provider: TestProvider) -> None:
    sent = registration(OB3_READ)
    client = register(host_provider.url("/oauth/register"), OB3_READ)
    assert {k: client[k] for k in sent} == sent
    assert client["client_id"] and client["client_secret"] and client["client_secret_expires_at"] == 0
    assert host_provider.clients[0].name == "Example Wallet"


def test_provider_token_endpoint_accepts_only_client_secret_basic(host_provider: TestProvider) -> None:
    urls = discover(host_provider.ob3_discovery_url)
    client = register(urls["registration"], OB3_READ)
    session = session_for(client, OB3_READ)
    verifier = generate_token(48)
    code = parse_qs(urlsplit(authorize(session, urls["authorization"], verifier)).query)["code"][0]
    response = requests.post(urls["token"], data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier,
        "client_id": client["client_id"], "client_secret": client["client_secret"]}, timeout=TIMEOUT)
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")


def test_provider_consent_deny_redirects_with_access_denied(host_provider: TestProvider) -> None:
    host_provider.consent = "deny"
    urls = discover(host_provider.ob3_discovery_url)
    client = register(urls["registration"], OB3_READ)
    location = authorize(session_for(client, OB3_READ), urls["authorization"], generate_token(48))
    query = parse_qs(urlsplit(location).query)
    assert query["error"] == ["access_denied"] and "state" in query


def test_provider_consent_form_approves_or_denies(host_provider: TestProvider) -> None:
    host_provider.consent = "form"
    urls = discover(host_provider.ob3_discovery_url)
    client = register(urls["registration"], OB3_READ)
    for decision, expected in (("approve", "code"), ("deny", "error")):
        session = session_for(client, OB3_READ)
        url, _ = session.create_authorization_url(urls["authorization"], code_verifier=generate_token(48))
        form = requests.get(url, timeout=TIMEOUT)
        assert form.status_code == 200 and "Example Wallet" in form.text and OB3_READ in form.text
        answer = requests.post(url, data={"decision": decision}, allow_redirects=False, timeout=TIMEOUT)
        assert answer.status_code == 302
        assert expected in parse_qs(urlsplit(answer.headers["Location"]).query)


def test_provider_discovery_lists_the_specification_fields(host_provider: TestProvider) -> None:
    document = requests.get(host_provider.ob3_discovery_url, timeout=TIMEOUT).json()
    assert document["openapi"].startswith("3.0")
    info = document["info"]
    assert {"title", "termsOfService", "x-imssf-privacyPolicyUrl", "x-imssf-image", "version"} <= set(info)
    scheme = document["components"]["securitySchemes"]["OAuth2ACG"]
    assert scheme["type"] == "oauth2"
    assert document["servers"][0]["url"] == host_provider.url("/ims/ob/v3p0")
    assert document["paths"]["/credentials"]["post"]["security"] == [{"OAuth2ACG": [OB3_SCOPES["credential.upsert"]]}]
    assert set(scheme["flows"]["authorizationCode"]["scopes"]) == set(OB3_SCOPES.values())
    clr = requests.get(host_provider.clr_discovery_url, timeout=TIMEOUT).json()
    assert set(clr["components"]["securitySchemes"]["OAuth2ACG"]["flows"]["authorizationCode"]["scopes"]) == \
        set(CLR_SCOPES.values())


def test_provider_discovery_can_point_elsewhere(host_provider: TestProvider) -> None:
    host_provider.endpoint_overrides.update(registration="http://10.0.0.1/register",
                                            authorization="http://127.0.0.1:9/authorize")
    urls = discover(host_provider.ob3_discovery_url)
    assert (urls["registration"], urls["authorization"]) == ("http://10.0.0.1/register", "http://127.0.0.1:9/authorize")
    manifest = requests.get(host_provider.badge_connect_manifest_url, timeout=TIMEOUT).json()
    assert manifest["badgeConnectAPI"][0]["registrationUrl"] == "http://10.0.0.1/register"


def test_provider_page_faults_answer_500_bad_json_and_slowly(host_provider: TestProvider) -> None:
    for n in range(3):
        host_provider.issue_ob3(name=f"Badge {n}")
    host_provider.slow_seconds = 0.2
    host_provider.fail_page(offset=0, fault="500", times=1)
    host_provider.fail_page(offset=1, fault="bad_json")
    host_provider.fail_page(offset=2, fault="slow")
    session, _ = connect(host_provider, OB3_READ)
    url = host_provider.url("/ims/ob/v3p0/credentials?limit=1&offset={}")
    failed = session.get(url.format(0), timeout=TIMEOUT)
    assert failed.status_code == 500
    assert failed.json()["imsx_codeMinor"]["imsx_codeMinorField"][0]["imsx_codeMinorFieldValue"] == \
        "internal_server_error"
    assert session.get(url.format(0), timeout=TIMEOUT).status_code == 200  # only once
    bad = session.get(url.format(1), timeout=TIMEOUT)
    assert bad.status_code == 200
    with pytest.raises(ValueError):
        bad.json()
    with pytest.raises(requests.Timeout):
        session.get(url.format(2), timeout=0.05)
    assert len(session.get(url.format(2), timeout=TIMEOUT).json()["credential"]) == 1


def test_provider_bad_paging_parameters_are_refused(host_provider: TestProvider) -> None:
    session, _ = connect(host_provider, OB3_READ)
    for query in ("limit=0", "offset=-1", "limit=ten"):
        response = session.get(host_provider.url(f"/ims/ob/v3p0/credentials?{query}"), timeout=TIMEOUT)
        assert response.status_code == 400, query


def test_provider_clr_flow_serves_clr_credentials(host_provider: TestProvider) -> None:
    record = host_provider.issue_clr(achievements=("Algebra II",))
    jwt = host_provider.issue_clr(proof="jwt")
    scope = f"{CLR_SCOPES['credential.readonly']} {CLR_SCOPES['profile.readonly']}"
    session, _ = connect(host_provider, scope, discovery=host_provider.clr_discovery_url)
    response = session.get(host_provider.url("/ims/clr/v2p0/credentials"), timeout=TIMEOUT)
    assert response.status_code == 200 and response.headers["X-Total-Count"] == "2"
    assert response.json() == {"credential": [record], "compactJwsString": [jwt]}
    assert host_provider.credentials(CLR) == [record, jwt]
    assert session.get(host_provider.url("/ims/clr/v2p0/profile"), timeout=TIMEOUT).json()["type"] == "Profile"
    ob3 = session.get(host_provider.url("/ims/ob/v3p0/credentials"), timeout=TIMEOUT)
    assert ob3.status_code == 403


@pytest.mark.parametrize("flavour, results_key", [("spec", "assertions"), ("badgr", "results")])
def test_provider_badge_connect_flow_serves_hosted_assertions(host_provider: TestProvider, flavour: str,
                                                              results_key: str) -> None:
    host_provider.badge_connect_flavour = flavour
    assertions = [host_provider.issue_ob2(name=f"Badge {n}") for n in range(3)]
    signed = host_provider.issue_ob2(name="Signed", signed=True)
    manifest = requests.get(host_provider.badge_connect_manifest_url, timeout=TIMEOUT).json()["badgeConnectAPI"][0]
    assert manifest["scopesOffered"] == list(BC_SCOPES.values())
    scope = BC_SCOPES["assertion.readonly"]
    client = register(manifest["registrationUrl"], scope)
    session = session_for(client, scope)
    verifier = generate_token(48)
    location = authorize(session, manifest["authorizationUrl"], verifier)
    session.fetch_token(manifest["tokenUrl"], authorization_response=location, code_verifier=verifier)

    first = session.get(manifest["apiBase"] + "/assertions?limit=2", timeout=TIMEOUT)
    assert first.status_code == 200
    assert first.json()["status"] == {"error": None, "statusCode": 200, "statusText": "OK"}
    assert first.json()[results_key] == assertions[:2]
    assert first.headers["X-Total-Count"] == "4" and "next" in links_of(first)
    rest = session.get(links_of(first)["next"], timeout=TIMEOUT)
    assert rest.json()[results_key] == assertions[2:]
    if flavour == "spec":
        assert rest.json()["signedAssertions"] == [signed]
    # The assertion is hosted: its id, badge and issuer answer on the provider.
    badge = requests.get(requests.get(assertions[0]["id"], timeout=TIMEOUT).json()["badge"], timeout=TIMEOUT).json()
    assert badge["name"] == "Badge 0" and requests.get(badge["image"], timeout=TIMEOUT).status_code == 200

    session.revoke_token(manifest["tokenRevocationUrl"], session.token["access_token"], token_type_hint="access_token")
    refused = session.get(manifest["apiBase"] + "/assertions", timeout=TIMEOUT)
    assert refused.status_code == 401
    assert refused.json()["status"]["statusText"] == "UNAUTHENTICATED"
    assert host_provider.credentials(BADGE_CONNECT) == [*assertions, signed]


def test_provider_remove_credential_takes_it_off_the_list(host_provider: TestProvider) -> None:
    kept, dropped = host_provider.issue_ob3(name="Kept"), host_provider.issue_ob3(name="Dropped")
    host_provider.remove_credential(dropped["id"])
    session, _ = connect(host_provider, OB3_READ)
    assert session.get(host_provider.url("/ims/ob/v3p0/credentials"), timeout=TIMEOUT).json()["credential"] == [kept]


def test_provider_ob2_assertions_verify_through_the_guarded_fetcher(host_provider: TestProvider) -> None:
    from wallet.services.http import GuardedFetcher

    hosted, signed = host_provider.issue_ob2(name="Hosted"), host_provider.issue_ob2(name="Signed", signed=True)
    context = make_context(GuardedFetcher(allow_private_network=True), recipients=["learner@example.org"])
    for presented in (json.dumps(hosted), signed):
        result = verify_bytes(presented.encode(), context=context)
        assert result.status is Status.VALID, (result.format, [(c.id, c.message) for c in result.checks])
    assert host_provider.credentials(BADGE_CONNECT) == [hosted, signed]


def test_provider_credentials_since_keeps_those_issued_after(host_provider: TestProvider) -> None:
    from datetime import datetime, timezone

    host_provider.issue_ob3(name="Old", valid_from=datetime(2025, 1, 1, tzinfo=timezone.utc))
    new = host_provider.issue_ob3(name="New", proof="jwt", valid_from=datetime(2026, 6, 1, tzinfo=timezone.utc))
    session, _ = connect(host_provider, OB3_READ)
    response = session.get(host_provider.url("/ims/ob/v3p0/credentials?since=2026-01-01T00:00:00Z"), timeout=TIMEOUT)
    assert response.json() == {"credential": [], "compactJwsString": [new]}
    assert response.headers["X-Total-Count"] == "1"
    assert "since=2026-01-01T00%3A00%3A00Z" in links_of(response)["first"]
    assert session.get(host_provider.url("/ims/ob/v3p0/credentials?since=yesterday"), timeout=TIMEOUT
                       ).status_code == 400


def test_provider_upsert_creates_then_replaces_and_lists_what_was_sent(host_provider: TestProvider) -> None:
    session, _ = connect(host_provider, f"{OB3_READ} {OB3_SCOPES['credential.upsert']}")
    url = host_provider.url("/ims/ob/v3p0/credentials")
    signed = host_provider.ld_issuer.signed(name="Pushed")
    jwt = host_provider.jwt_issuer.jwt(name="Pushed JWT")
    first = session.post(url, json=signed, timeout=TIMEOUT)
    assert (first.status_code, first.json()) == (201, signed)
    assert session.post(url, json=signed, timeout=TIMEOUT).status_code == 200
    pushed = session.post(url, data=jwt, headers={"Content-Type": "text/plain"}, timeout=TIMEOUT)
    assert (pushed.status_code, pushed.text) == (201, jwt)
    assert session.get(url, timeout=TIMEOUT).json() == {"credential": [signed], "compactJwsString": [jwt]}
    bad = session.post(url, data="not a jws", headers={"Content-Type": "text/plain"}, timeout=TIMEOUT)
    assert bad.status_code == 400


def test_provider_readonly_token_cannot_upsert(host_provider: TestProvider) -> None:
    session, _ = connect(host_provider, OB3_READ)
    response = session.post(host_provider.url("/ims/ob/v3p0/credentials"), json=host_provider.ld_issuer.signed(),
                            timeout=TIMEOUT)
    assert response.status_code == 403
    assert host_provider.credentials() == []


def test_provider_fail_path_breaks_discovery_then_recovers(host_provider: TestProvider) -> None:
    host_provider.fail_path("/ims/ob/v3p0/discovery", fault="500", times=1)
    host_provider.fail_path("/oauth/token", fault="bad_json", times=1)
    assert requests.get(host_provider.ob3_discovery_url, timeout=TIMEOUT).status_code == 500
    urls = discover(host_provider.ob3_discovery_url)
    client = register(urls["registration"], OB3_READ)
    session = session_for(client, OB3_READ)
    verifier = generate_token(48)
    code = parse_qs(urlsplit(authorize(session, urls["authorization"], verifier)).query)["code"][0]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier}
    broken = requests.post(urls["token"], data=form, auth=(client["client_id"], client["client_secret"]),
                           timeout=TIMEOUT)
    with pytest.raises(ValueError):
        broken.json()
    again = requests.post(urls["token"], data=form, auth=(client["client_id"], client["client_secret"]),
                          timeout=TIMEOUT)
    assert again.status_code == 200 and again.json()["access_token"]  # the broken answer used nothing up


def test_provider_under_a_path_prefix_names_every_url_under_it() -> None:
    provider = TestProvider(path_prefix="/tenant")
    try:
        provider.issue_ob3(name="Tenant badge")
        assert provider.ob3_discovery_url == provider.origin + "/tenant/ims/ob/v3p0/discovery"
        assert requests.get(provider.origin + "/ims/ob/v3p0/discovery", timeout=TIMEOUT).status_code == 404
        session, urls = connect(provider, OB3_READ)
        assert urls["token"] == provider.origin + "/tenant/oauth/token"
        listed = session.get(provider.url("/ims/ob/v3p0/credentials?limit=1"), timeout=TIMEOUT)
        assert listed.json()["credential"][0]["name"] == "Tenant badge"
        assert links_of(listed)["first"].startswith(provider.origin + "/tenant/ims/ob/v3p0/credentials?")
    finally:
        provider.close()
