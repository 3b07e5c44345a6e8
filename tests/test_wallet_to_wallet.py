"""Two Wallets speak the Open Badges 3.0 API to each other, each side as its specification says.

A college runs Wallet as its learners' Host (served over real HTTP on 127.0.0.1, CSRF on), and the
college's badge platform pushes into it with an OAuth client. The learner's own wallet is another
Wallet instance acting as Service Consumer: it discovers the college's Host, registers itself (DCR),
sends the learner to the college's consent page (PKCE S256), pulls the credentials as a job and later
disconnects, which revokes its token at the college. Neither side knows the other is Wallet: each
only follows the discovery document and the OAuth endpoints the other publishes.
"""
from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import select

from tests.conftest import LiveServer
from tests.support.accounts import create_user
from tests.support.credentials import JwtIssuer, LdIssuer
from tests.support.instances import _other_template, other_app, other_database_url  # noqa: F401
from tests.support.jobs import drain_jobs
from tests.support.oauth import grant_access
from tests.test_oauth_server import consent, learner_browser
from wallet.db import get_session
from wallet.models import Credential, OAuthGrant, OAuthToken
from wallet.models.provider import ProviderConnection
from wallet.wiring import collaborators
from wallet.services.oauth.scopes import OB3_CREDENTIAL_READONLY, OB3_CREDENTIAL_UPSERT, OB3_PROFILE_READONLY

# The learner's own wallet answers on a loopback address: the college's Host accepts an http
# redirect URI only for a loopback IP (RFC 8252 §7.3), as a public deployment would use https.
OWN_WALLET = "http://127.0.0.1:8"
LEARNER_AT_HOME = "ada@example.org"
LEARNER_AT_COLLEGE = "ada.lovelace@college.example"
TIMEOUT = 10


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    # The learner's wallet reaches the college's Host on 127.0.0.1: lift the address rule only.
    app_config.update(ALLOW_PRIVATE_NETWORK=True, PUBLIC_URL=OWN_WALLET)
    return app_config


@pytest.fixture
def college(other_app):
    """The college's Wallet: its own database, served over real HTTP, named by its own address."""
    server = LiveServer(other_app(WTF_CSRF_ENABLED=True, SHOW_ERROR_PAGES=True, PUBLIC_URL=None,
                                  ALLOW_PRIVATE_NETWORK=False)).start()
    yield server
    server.stop()


def at_college(college: LiveServer):
    """Return a session on the college's database (in its own app context)."""
    return college.app.app_context()


def push(college_url: str, token: str, body: str, content_type: str) -> requests.Response:
    return requests.post(f"{college_url}/ims/ob/v3p0/credentials", data=body.encode(),
                         headers={"Authorization": f"Bearer {token}", "Content-Type": content_type}, timeout=TIMEOUT)


def test_wallet_connects_to_another_wallets_host_and_pulls_what_the_college_pushed(
        app, client, session, make_user, login, college) -> None:
    at_home = make_user(email=LEARNER_AT_HOME)
    with at_college(college):
        college_db = get_session()
        student = create_user(college_db, email=LEARNER_AT_COLLEGE)
        # The college's badge platform pushes two credentials, one of each securing, into its Host.
        platform = grant_access(college_db, student, [OB3_CREDENTIAL_UPSERT], client_name="Riverside badge platform")
        college_db.commit()
        student_id = student.id
    jws = JwtIssuer(name="Riverside College").jwt(name="Welding Safety", email=LEARNER_AT_HOME)
    document = json.dumps(LdIssuer(name="Riverside College").signed(name="Blueprint Reading", email=LEARNER_AT_HOME),
                          indent=2)
    assert push(college.url, platform, jws, "text/plain").status_code == 201
    assert push(college.url, platform, document, "application/json").status_code == 201

    # The learner connects their own wallet to the college's Host.
    login(at_home)
    started = client.post("/settings/providers/connect", data={"url": college.url})
    assert started.status_code == 303, started.get_data(as_text=True)
    authorization = started.headers["Location"]
    assert authorization.startswith(f"{college.url}/oauth/authorize?")
    asked = parse_qs(urlsplit(authorization).query)
    assert asked["code_challenge_method"] == ["S256"]
    assert asked["redirect_uri"] == [f"{OWN_WALLET}/settings/providers/callback"]

    # At the college, the learner logs in and reads who asks for what before approving.
    browser = learner_browser(college.url, LEARNER_AT_COLLEGE)
    page = browser.get(authorization, timeout=TIMEOUT).text
    assert "Wallet wants to see the credentials in your wallet and see your profile" in page
    back = consent(browser, authorization)
    assert back.startswith(f"{OWN_WALLET}/settings/providers/callback?")
    parts = urlsplit(back)
    answer = client.get(f"{parts.path}?{parts.query}")
    assert answer.status_code == 303
    drain_jobs(app)

    # Both credentials arrive in the learner's wallet, verified, as the college holds them: the JWS to
    # the byte, the JSON credential member for member (it came inside the API's JSON array, whose
    # spacing is the Host's, not the credential's).
    session.expire_all()
    arrived = list(session.scalars(select(Credential).where(Credential.owner_id == at_home.id)
                                   .order_by(Credential.name)))
    assert [(c.name, c.status) for c in arrived] == [("Blueprint Reading", "valid"), ("Welding Safety", "valid")]
    blobs = collaborators(app).blobs
    assert json.loads(blobs.get(arrived[0].original_sha256)) == json.loads(document)
    assert blobs.get(arrived[1].original_sha256).decode() == jws
    connection = session.scalars(select(ProviderConnection).where(ProviderConnection.owner_id == at_home.id)).one()
    assert connection.state == "connected" and connection.last_counts == {"imported": 2}

    # At the college, the learner's wallet is a connected app, with what it may do.
    with at_college(college):
        grant = get_session().scalars(select(OAuthGrant).join(OAuthGrant.client).where(
            OAuthGrant.user_id == student_id, OAuthGrant.revoked_at.is_(None)).order_by(OAuthGrant.id.desc())).first()
        assert grant is not None and grant.client.client_name == "Wallet"
        assert set(grant.scope.split()) == {OB3_CREDENTIAL_READONLY, OB3_PROFILE_READONLY}
        grant_id = grant.id

    # A second sync adds nothing twice.
    assert client.post(f"/settings/providers/{connection.id}/sync").status_code == 303
    drain_jobs(app)
    session.expire_all()
    assert len(session.scalars(select(Credential).where(Credential.owner_id == at_home.id)).all()) == 2

    # Disconnecting revokes the wallet's tokens at the college (RFC 7009, found through RFC 8414 metadata).
    assert client.post(f"/settings/providers/{connection.id}/disconnect").status_code == 303
    with at_college(college):
        assert get_session().scalars(select(OAuthToken).where(OAuthToken.grant_id == grant_id,
                                                              OAuthToken.revoked_at.is_(None))).all() == []
    session.expire_all()
    assert session.scalars(select(ProviderConnection).where(ProviderConnection.owner_id == at_home.id)).all() == []
    assert len(session.scalars(select(Credential).where(Credential.owner_id == at_home.id)).all()) == 2
