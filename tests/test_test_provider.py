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
from authlib.oauth2.rfc7636 import create_s256_code_challenge

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
