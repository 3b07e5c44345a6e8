"""Wallet as a Service Consumer: connecting a provider's Host or Badge Connect backpack and pulling from it.

Every test runs against the test provider (tests/support/provider.py), a real HTTP server on 127.0.0.1,
through the app's guarded fetcher; the learner's browser is the test client (Wallet's pages) plus
`requests` (the provider's authorization page, which redirects back at once).
"""
from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import select

from tests.support.jobs import drain_jobs
from tests.support.provider import OB3, TestProvider, host_provider  # noqa: F401 (fixture)
from wallet.models import Credential, Job
from wallet.models.provider import ProviderConnection
from wallet.services import providers
from wallet.services.http import GuardedFetcher
from wallet.services.errors import ImportRejectedError, UnsafeURLError
from wallet.services.providers.discovery import discover
from wallet.services.verification.errors import RemoteError
from wallet.services.providers.secrets import Sealer
from wallet.wiring import collaborators

LEARNER = "learner@example.org"
TIMEOUT = 10


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    # The test provider listens on 127.0.0.1: lift the address rule (every other rule of the fetcher stays).
    app_config.update(ALLOW_PRIVATE_NETWORK=True)
    return app_config


@pytest.fixture
def learner(make_user, login):
    user = make_user(email=LEARNER)
    login(user)
    return user


def start(client, url: str):
    """Submit the connect form; return Wallet's answer (a redirect to the provider's authorization page)."""
    return client.post("/settings/providers/connect", data={"url": url})


def consent(authorization_url: str) -> str:
    """Be the learner's browser at the provider: return the callback path and query it redirects back to."""
    answer = requests.get(authorization_url, allow_redirects=False, timeout=TIMEOUT)
    assert answer.status_code == 302, answer.text
    parts = urlsplit(answer.headers["Location"])
    return f"{parts.path}?{parts.query}"


def connect(app, client, url: str, *, run: bool = True):
    """Connect the provider at `url` end to end; run the first sync; return the callback's answer."""
    response = start(client, url)
    assert response.status_code == 303, response.get_data(as_text=True)
    answer = client.get(consent(response.headers["Location"]))
    if run:
        drain_jobs(app)
    return answer


def connection_of(session, user) -> ProviderConnection:
    session.expire_all()
    return session.scalars(select(ProviderConnection).where(ProviderConnection.owner_id == user.id)).one()


def credentials_of(session, user) -> list[Credential]:
    session.expire_all()
    return list(session.scalars(select(Credential).where(Credential.owner_id == user.id).order_by(Credential.id)))


# ---------------------------------------------------------------------------------------------
# Connecting


def test_connect_ob3_host_credentials_arrive_verified(app, client, session, learner, host_provider):
    host_provider.issue_ob3(name="Algebra II")
    host_provider.issue_ob3(name="Robotics", proof="jwt")

    response = start(client, host_provider.base_url)
    authorization = urlsplit(response.headers["Location"])
    query = parse_qs(authorization.query)
    answer = client.get(consent(response.headers["Location"]))
    assert answer.status_code == 303
    assert "/settings/providers/syncs/" in answer.headers["Location"]
    drain_jobs(app)

    assert authorization.path == "/oauth/authorize"
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert query["redirect_uri"] == ["http://localhost/settings/providers/callback"]
    registered = host_provider.clients[0].metadata
    assert registered["client_name"] == "Wallet"
    assert registered["redirect_uris"] == ["http://localhost/settings/providers/callback"]
    assert set(registered["scope"].split()) == {"https://purl.imsglobal.org/spec/ob/v3p0/scope/credential.readonly",
                                                "https://purl.imsglobal.org/spec/ob/v3p0/scope/profile.readonly"}
    stored = credentials_of(session, learner)
    assert sorted(c.name for c in stored) == ["Algebra II", "Robotics"]
    assert {c.status for c in stored} == {"valid"}
    connection = connection_of(session, learner)
    assert connection.state == "connected" and connection.kind == "ob3" and connection.name == "Riverside College"
    assert connection.last_counts == {"imported": 2} and connection.last_error is None
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "Sync finished" in page and "2 added" in page


def test_connect_tokens_and_client_secret_are_sealed_at_rest(app, client, session, learner, host_provider):
    host_provider.issue_ob3()
    connect(app, client, host_provider.base_url)

    connection = connection_of(session, learner)
    token = host_provider.tokens[-1]
    secret = host_provider.clients[0].client_secret
    row = json.dumps({column: str(getattr(connection, column)) for column in
                      ("client_secret", "access_token", "refresh_token")})
    assert token.access_token not in row and token.refresh_token not in row and secret not in row
    sealer = Sealer(app.config["SECRET_KEY"])
    assert sealer.open(connection.access_token) == token.access_token
    assert sealer.open(connection.client_secret) == secret
    with pytest.raises(Exception, match="can no longer read"):
        Sealer("another-secret-key").open(connection.access_token)


def test_connect_clr_host_clr_credential_arrives_verified(app, client, session, learner, host_provider):
    host_provider.issue_clr(name="Transcript")

    connect(app, client, host_provider.clr_discovery_url)

    assert connection_of(session, learner).kind == "clr"
    stored = credentials_of(session, learner)
    assert [(c.name, c.status) for c in stored] == [("Transcript", "valid")]
    assert host_provider.clients[0].metadata["scope"].startswith("https://purl.imsglobal.org/spec/clr/v2p0/scope/")


@pytest.mark.parametrize("flavour", ["spec", "badgr"])
def test_connect_badge_connect_backpack_assertions_arrive_verified(app, client, session, learner, flavour):
    provider = TestProvider(badge_connect_flavour=flavour)
    try:
        provider.issue_ob2(name="Hosted Badge")
        provider.issue_ob2(name="Second Badge")

        connect(app, client, provider.badge_connect_manifest_url)

        connection = connection_of(session, learner)
        assert connection.kind == "badgeconnect"
        assert "https://purl.imsglobal.org/spec/ob/v2p1/scope/assertion.readonly" in connection.scopes
        stored = credentials_of(session, learner)
        assert sorted((c.name, c.status) for c in stored) == [("Hosted Badge", "valid"),
                                                              ("Second Badge", "valid")]
    finally:
        provider.close()


def test_connect_learner_declines_nothing_connected(app, client, session, learner, host_provider):
    host_provider.consent = "deny"
    host_provider.issue_ob3()

    answer = connect(app, client, host_provider.base_url)

    assert answer.status_code == 302 and answer.headers["Location"].endswith("/settings/providers/")
    connection = connection_of(session, learner)
    assert connection.state == "pending" and connection.access_token is None
    assert "you declined" in connection.last_error
    assert credentials_of(session, learner) == []
    assert not any(r["form"].get("grant_type") == "authorization_code" for r in host_provider.token_requests)


def test_providers_page_lets_the_connect_form_redirect_to_the_provider_only(app, client, learner):
    page = client.get("/settings/providers/")

    policy = page.headers["Content-Security-Policy"]
    assert "form-action 'self' https: http:" in policy  # http: only because private networks are allowed here
    assert "form-action 'self';" in client.get("/settings/").headers["Content-Security-Policy"]


# ---------------------------------------------------------------------------------------------
# State: bound to the learner's session, single use


def test_callback_replayed_is_refused_and_exchanges_nothing(app, client, session, learner, host_provider):
    response = start(client, host_provider.base_url)
    callback = consent(response.headers["Location"])
    assert client.get(callback).status_code == 303
    exchanges = len(host_provider.token_requests)

    again = client.get(callback)

    assert again.status_code == 400
    assert "already used" in again.get_data(as_text=True)
    assert len(host_provider.token_requests) == exchanges


def test_callback_state_mismatch_is_refused(app, client, session, learner, host_provider):
    response = start(client, host_provider.base_url)
    callback = consent(response.headers["Location"])
    forged = callback.replace("state=", "state=x")

    answer = client.get(forged)

    assert answer.status_code == 400
    assert host_provider.token_requests == []
    assert connection_of(session, learner).state == "pending"


def test_callback_in_another_learners_session_is_refused(app, client, session, learner, make_user, login,
                                                        host_provider):
    response = start(client, host_provider.base_url)
    callback = consent(response.headers["Location"])
    other = app.test_client()
    login(make_user(), client=other)

    answer = other.get(callback)

    assert answer.status_code == 400
    assert host_provider.token_requests == []


# ---------------------------------------------------------------------------------------------
# Syncing


def test_sync_again_adds_nothing_twice(app, client, session, learner, host_provider):
    for number in range(3):
        host_provider.issue_ob3(name=f"Badge {number}")
    connect(app, client, host_provider.base_url)
    connection = connection_of(session, learner)

    response = client.post(f"/settings/providers/{connection.id}/sync")
    drain_jobs(app)

    assert response.status_code == 303
    assert len(credentials_of(session, learner)) == 3
    assert connection_of(session, learner).last_counts == {"duplicate": 3}
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "0 added, 3 already in your wallet" in page


def test_sync_follows_pages_until_the_last(app, client, session, learner):
    provider = TestProvider(page_size=2)
    try:
        for number in range(5):
            provider.issue_ob3(name=f"Badge {number}")

        connect(app, client, provider.base_url)

        assert len(credentials_of(session, learner)) == 5
        offsets = [parse_qs(urlsplit(path).query).get("offset") for method, path, _ in provider.requests
                   if urlsplit(path).path == "/ims/ob/v3p0/credentials"]
        assert offsets == [["0"], ["2"], ["4"]]
        job = session.scalars(select(Job).where(Job.owner_id == learner.id)).one()
        assert job.total == 5 and job.done == 5
    finally:
        provider.close()


def test_sync_expired_access_token_is_refreshed_and_rotated_refresh_token_kept(app, client, session, learner,
                                                                              host_provider):
    host_provider.issue_ob3()
    connect(app, client, host_provider.base_url)
    first = connection_of(session, learner)
    sealer = Sealer(app.config["SECRET_KEY"])
    old_refresh = sealer.open(first.refresh_token)
    host_provider.issue_ob3(name="Later badge")
    host_provider.expire_access_tokens()

    client.post(f"/settings/providers/{first.id}/sync")
    drain_jobs(app)

    refreshes = [r for r in host_provider.token_requests if r["form"].get("grant_type") == "refresh_token"]
    assert len(refreshes) == 1 and refreshes[0]["status"] == 200
    connection = connection_of(session, learner)
    new_refresh = sealer.open(connection.refresh_token)
    assert new_refresh != old_refresh and new_refresh == refreshes[0]["response"]["refresh_token"]
    assert connection.last_counts == {"duplicate": 1, "imported": 1}


@pytest.mark.parametrize("fault, words", [("500", "answered with an error (500)"),
                                          ("bad_json", "in a form Wallet could not read")])
def test_sync_failing_page_keeps_earlier_credentials_and_says_why(app, client, session, learner, fault, words):
    provider = TestProvider(page_size=2)
    try:
        for number in range(4):
            provider.issue_ob3(name=f"Badge {number}")
        provider.fail_page(offset=2, fault=fault, times=1)  # the next sync finds the page again

        answer = connect(app, client, provider.base_url)

        assert len(credentials_of(session, learner)) == 2
        connection = connection_of(session, learner)
        assert words in connection.last_error and "received before it are kept" in connection.last_error
        job_page = client.get(answer.headers["Location"]).get_data(as_text=True)
        assert "The sync did not finish" in job_page and words in job_page
        settings_page = client.get("/settings/providers/").get_data(as_text=True)
        assert words in settings_page

        client.post(f"/settings/providers/{connection.id}/sync")
        drain_jobs(app)
        assert len(credentials_of(session, learner)) == 4
        assert connection_of(session, learner).last_error is None
    finally:
        provider.close()


def test_sync_invalid_credential_is_recorded_and_the_others_arrive(app, client, session, learner, host_provider):
    host_provider.issue_ob3(name="Good one")
    tampered = host_provider.ld_issuer.signed(email=LEARNER, name="Tampered")
    tampered["name"] = "Changed after signing"
    host_provider.add_credential(tampered, api=OB3)
    host_provider.add_credential({"not": "a credential"}, api=OB3)
    signed = host_provider.jwt_issuer.jwt(email=LEARNER, name="Forged")
    host_provider.add_credential(signed[:-6] + ("AAAAAA" if not signed.endswith("AAAAAA") else "BBBBBB"), api=OB3)
    host_provider.issue_ob3(name="Good two")

    answer = connect(app, client, host_provider.base_url)

    stored = credentials_of(session, learner)
    verified = sorted(c.name for c in stored if c.status == "valid")
    assert verified == ["Good one", "Good two"]
    job = session.scalars(select(Job).where(Job.owner_id == learner.id)).one()
    assert job.state == "done" and job.done == 5
    # A credential that does not verify is kept as received, marked invalid (as for any import); what is not
    # a credential is not added; each is one line of the job.
    outcomes = [(item["state"], item.get("name"), item.get("status")) for item in job.items]
    assert outcomes == [("imported", "Good one", "valid"), ("imported", "Changed after signing", "invalid"),
                        ("rejected", None, None), ("imported", "Good two", "valid"), ("imported", "Forged", "invalid")]
    assert all(item["filename"].startswith("Riverside College › credential ") for item in job.items)
    assert client.get(answer.headers["Location"]).status_code == 200


def test_scheduled_sync_queues_connections_due(app, client, session, learner, host_provider):
    from datetime import timedelta

    from wallet import tasks
    from wallet.db import utcnow

    host_provider.issue_ob3()
    connect(app, client, host_provider.base_url)
    connection = connection_of(session, learner)
    assert tasks.queue_provider_syncs(app, session, utcnow()) == []  # just synced: not due

    connection.last_sync_at = utcnow() - timedelta(seconds=app.config["PROVIDER_SYNC_SECONDS"] + 1)
    session.commit()
    queued = tasks.queue_provider_syncs(app, session, utcnow())
    assert len(queued) == 1
    assert tasks.queue_provider_syncs(app, session, utcnow()) == []  # already queued: not twice
    session.commit()  # the tick ends its transaction before the work runs
    drain_jobs(app)

    synced = connection_of(session, learner)
    assert synced.last_sync_job_id == queued[0] and synced.last_counts == {"duplicate": 1}
    assert session.get(Job, queued[0]).state == "done"


# ---------------------------------------------------------------------------------------------
# Disconnecting and isolation


def publish_metadata(provider: TestProvider) -> None:
    """Make the provider publish RFC 8414 metadata naming its revocation endpoint."""
    provider.app.add_url_rule("/.well-known/oauth-authorization-server", "metadata", lambda: {
        "issuer": provider.base_url, "token_endpoint": provider.url("/oauth/token"),
        "revocation_endpoint": provider.url("/oauth/revoke")})


def test_disconnect_revokes_at_the_provider_and_keeps_credentials(app, client, session, learner, host_provider):
    publish_metadata(host_provider)
    host_provider.issue_ob3()
    connect(app, client, host_provider.base_url)
    connection = connection_of(session, learner)
    token = host_provider.tokens[-1]

    response = client.post(f"/settings/providers/{connection.id}/disconnect", follow_redirects=True)

    assert "access was revoked there" in response.get_data(as_text=True)
    assert {r["token_type_hint"] for r in host_provider.revocations} == {"refresh_token", "access_token"}
    assert all(r["status"] == 200 and r["found"] for r in host_provider.revocations)
    assert token.is_revoked()
    session.expire_all()
    assert session.scalars(select(ProviderConnection)).all() == []
    assert len(credentials_of(session, learner)) == 1


def test_disconnect_badge_connect_revokes_at_its_token_revocation_url(app, client, session, learner, host_provider):
    host_provider.issue_ob2()
    connect(app, client, host_provider.badge_connect_manifest_url)
    connection = connection_of(session, learner)

    response = client.post(f"/settings/providers/{connection.id}/disconnect", follow_redirects=True)

    assert "access was revoked there" in response.get_data(as_text=True)
    assert host_provider.revocations and all(r["found"] for r in host_provider.revocations)
    assert all(token.is_revoked() for token in host_provider.tokens)


def test_disconnect_without_advertised_revocation_forgets_tokens_and_says_so(app, client, session, learner,
                                                                            host_provider):
    host_provider.issue_ob3()
    connect(app, client, host_provider.base_url)
    connection = connection_of(session, learner)

    response = client.post(f"/settings/providers/{connection.id}/disconnect", follow_redirects=True)

    assert "did not confirm the revocation" in response.get_data(as_text=True)
    assert host_provider.revocations == []
    session.expire_all()
    assert session.scalars(select(ProviderConnection)).all() == []
    assert len(credentials_of(session, learner)) == 1


def test_other_learner_cannot_see_sync_or_disconnect_a_connection(app, client, session, learner, make_user, login,
                                                                 host_provider):
    host_provider.issue_ob3(name="Private badge")
    answer = connect(app, client, host_provider.base_url)
    connection = connection_of(session, learner)
    other = app.test_client()
    login(make_user(), client=other)

    assert other.post(f"/settings/providers/{connection.id}/sync").status_code == 404
    assert other.post(f"/settings/providers/{connection.id}/disconnect").status_code == 404
    assert other.get(answer.headers["Location"]).status_code == 404
    assert "Riverside College" not in other.get("/settings/providers/").get_data(as_text=True)
    assert host_provider.revocations == []
    assert connection_of(session, learner).state == "connected"


# ---------------------------------------------------------------------------------------------
# Untrusted discovery documents


def test_connect_private_address_refused_when_private_networks_are_not_allowed(make_app, session, make_user,
                                                                              host_provider):
    strict = make_app(ALLOW_PRIVATE_NETWORK=False)
    client = strict.test_client()
    from tests.support.accounts import log_in

    with strict.app_context():
        user = make_user()
        log_in(client, user)
        response = start(client, f"https://127.0.0.1:{host_provider.port}/")
        plain = start(client, host_provider.base_url)

    assert response.status_code == 422 and plain.status_code == 422
    assert "private or local network address" in response.get_data(as_text=True)
    assert host_provider.requests == []
    session.expire_all()
    assert session.scalars(select(ProviderConnection)).all() == []


@pytest.mark.parametrize("endpoint", ["registration", "authorization", "token", "revocation", "api_base"])
def test_discovery_naming_a_private_address_is_refused_and_nothing_stored(app, session, learner, host_provider,
                                                                         endpoint):
    # The document is read from a server the test reaches (standing in for a public host), but every
    # URL in it is checked by the fetcher's own rules with private networks refused.
    host_provider.endpoint_overrides[endpoint] = "https://10.1.2.3/oauth/endpoint"
    strict = GuardedFetcher(allow_private_network=False)
    permissive = GuardedFetcher(allow_private_network=True)

    def check(url: str) -> None:
        # The provider's own host stands for a public one; every other address meets the strict rules.
        if not url.startswith(host_provider.base_url):
            strict.check(url)

    client = providers.ProviderClient(fetch=permissive, send=permissive.send, check=check,
                                      sealer=Sealer("key"), client_name="Wallet",
                                      redirect_uri="https://wallet.example/callback", require_https=False)
    url = host_provider.badge_connect_manifest_url if endpoint in ("revocation", "api_base") else host_provider.base_url

    with pytest.raises(UnsafeURLError, match="private or local network address.*Nothing was saved"):
        providers.begin_connect(session, client, learner.id, url)

    assert host_provider.clients == []  # no registration was sent
    assert session.scalars(select(ProviderConnection)).all() == []


def test_discovery_with_plain_http_endpoints_refused_when_https_is_required(app, session, learner, host_provider):
    permissive = GuardedFetcher(allow_private_network=True)
    client = providers.ProviderClient(fetch=permissive, send=permissive.send, check=permissive.check,
                                      sealer=Sealer("key"), client_name="Wallet",
                                      redirect_uri="https://wallet.example/callback", require_https=True)

    with pytest.raises(UnsafeURLError, match="not an https address"):
        providers.begin_connect(session, client, learner.id, host_provider.base_url)

    assert host_provider.clients == []


def test_connect_address_with_no_discovery_document_says_so(app, client, session, learner, document_server):
    response = start(client, document_server.url("/"))

    assert response.status_code == 422
    assert "No Open Badges 3.0, CLR 2.0 or Badge Connect service was found" in response.get_data(as_text=True)
    assert session.scalars(select(ProviderConnection)).all() == []


def test_connect_discovery_document_not_json_is_refused(app, client, session, learner, document_server):
    from tests.support.servers import Response

    document_server.routes["/ims/ob/v3p0/discovery"] = Response(b'{"openapi": "3.0.1",', 200)

    response = start(client, document_server.url("/"))

    assert response.status_code == 422
    assert "is not valid JSON" in response.get_data(as_text=True)
    assert session.scalars(select(ProviderConnection)).all() == []


def test_connect_discovery_document_over_the_size_cap_is_refused(app, client, session, learner, document_server):
    from tests.support.servers import Response

    document_server.routes["/ims/ob/v3p0/discovery"] = Response(b'{"x": "' + b"a" * (1024 * 1024 + 10) + b'"}')

    response = start(client, document_server.url("/"))

    assert response.status_code == 422
    assert "larger than 1 MB" in response.get_data(as_text=True)
    assert session.scalars(select(ProviderConnection)).all() == []


# ---------------------------------------------------------------------------------------------
# Tokens the provider stops accepting, links elsewhere, limits


def test_sync_token_refused_before_its_expiry_is_refreshed_once_and_retried(app, client, session, learner,
                                                                           host_provider):
    host_provider.issue_ob3()
    connect(app, client, host_provider.base_url)
    connection = connection_of(session, learner)
    connection.token_expires_at = None  # Wallet does not know the token has expired: the provider answers 401
    session.commit()
    host_provider.expire_access_tokens()

    client.post(f"/settings/providers/{connection.id}/sync")
    drain_jobs(app)

    refreshes = [r for r in host_provider.token_requests if r["form"].get("grant_type") == "refresh_token"]
    assert len(refreshes) == 1
    lists = [path for method, path, _ in host_provider.requests if path.startswith("/ims/ob/v3p0/credentials")]
    assert len(lists) == 3  # the first sync, the refused one, the one after the refresh
    assert connection_of(session, learner).last_counts == {"duplicate": 1}


def test_sync_refresh_token_refused_asks_the_learner_to_connect_again(app, client, session, learner, host_provider):
    host_provider.issue_ob3()
    connect(app, client, host_provider.base_url)
    connection = connection_of(session, learner)
    for token in host_provider.tokens:
        token.access_revoked = token.refresh_revoked = True

    response = client.post(f"/settings/providers/{connection.id}/sync")
    drain_jobs(app)

    failed = connection_of(session, learner)
    assert "no longer accepts Wallet's access" in failed.last_error and "connect again" in failed.last_error
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The sync did not finish" in page and "connect again" in page
    assert len(credentials_of(session, learner)) == 1


def test_connect_provider_already_connected_is_refused_and_kept(app, client, session, learner, host_provider):
    connect(app, client, host_provider.base_url)
    token = connection_of(session, learner).access_token

    response = start(client, host_provider.base_url)

    assert response.status_code == 422
    assert "is already connected" in response.get_data(as_text=True)
    assert len(host_provider.clients) == 1
    assert connection_of(session, learner).access_token == token


def test_connect_attempts_are_rate_limited_per_learner(app, client, session, learner, document_server):
    app.config["PROVIDER_CONNECTS_PER_USER"] = 2
    for _ in range(2):
        assert start(client, document_server.url("/")).status_code == 422  # no provider there
    seen = len(document_server.requests)

    response = start(client, document_server.url("/"))

    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0
    assert "many times in a short while" in response.get_data(as_text=True)
    assert len(document_server.requests) == seen


def test_sync_next_link_to_another_server_is_not_followed(app, session, learner, document_server):
    from tests.support.servers import Response

    from wallet.models.provider import CONNECTED

    other = document_server.url("/elsewhere")
    page = {"credential": [], "compactJwsString": []}
    document_server.routes["/ims/ob/v3p0/credentials"] = Response(
        json.dumps(page).encode(), headers={"Link": f'<http://127.0.0.2:{document_server.port}/x>; rel="next"',
                                            "X-Total-Count": "20"})
    sealer = Sealer(app.config["SECRET_KEY"])
    connection = ProviderConnection(
        owner_id=learner.id, kind="ob3", name="Riverside College", discovery_url=other, scopes="", state=CONNECTED,
        endpoints={"api": document_server.url("/ims/ob/v3p0"), "token": document_server.url("/token")},
        access_token=sealer.seal("secret-access-token"), last_counts={})
    session.add(connection)
    session.commit()
    fetcher = GuardedFetcher(allow_private_network=True)
    client = providers.ProviderClient(fetch=fetcher, send=fetcher.send, check=fetcher.check, sealer=sealer,
                                      client_name="Wallet", require_https=False)

    with pytest.raises(Exception, match="pointed Wallet at another server"):
        providers.run_sync(session, client, collaborators(app).importer(session, learner.id), connection.id,
                           learner.id, on_item=lambda item: None)

    assert [path for _, path, _ in document_server.requests] == ["/ims/ob/v3p0/credentials?limit=20&offset=0"]
    assert "pointed Wallet at another server" in connection.last_error


def test_callback_after_the_authorization_lifetime_exchanges_nothing(app, session, learner, host_provider):
    from datetime import timedelta

    from wallet.db import utcnow
    from wallet.services.providers.connections import AUTHORIZATION_LIFETIME

    built = collaborators(app)
    client = built.provider_client(redirect_uri="http://localhost/settings/providers/callback",
                                   urls={"client_uri": "http://localhost/", "logo_uri": "http://localhost/logo.svg",
                                         "tos_uri": "http://localhost/", "policy_uri": "http://localhost/"})
    started = utcnow()
    authorization = providers.begin_connect(session, client, learner.id, host_provider.base_url, now=started)
    callback = parse_qs(urlsplit(consent(authorization.url)).query)

    connection = providers.complete_connect(
        session, client, learner.id, state=callback["state"][0], expected_state=authorization.state,
        code=callback["code"][0], now=started + AUTHORIZATION_LIFETIME + timedelta(seconds=1))

    assert connection.state == "pending" and "took too long" in connection.last_error
    assert connection.auth_state_hash is None and connection.auth_verifier is None
    assert host_provider.token_requests == []


def test_tick_queues_the_provider_syncs_that_are_due(app, client, session, learner, host_provider):
    from datetime import timedelta

    from wallet import tasks
    from wallet.db import utcnow

    host_provider.issue_ob3()
    connect(app, client, host_provider.base_url)
    connection = connection_of(session, learner)
    first_job = connection.last_sync_job_id
    connection.last_sync_at = utcnow() - timedelta(days=2)
    session.commit()

    tasks.tick()
    drain_jobs(app)

    synced = connection_of(session, learner)
    assert synced.last_sync_job_id != first_job
    assert session.get(Job, synced.last_sync_job_id).state == "done"
    assert synced.last_sync_at > utcnow() - timedelta(minutes=1)


def test_deleting_the_account_removes_its_connections(app, client, session, learner, host_provider):
    from tests.support.accounts import DEFAULT_PASSWORD

    connect(app, client, host_provider.base_url)

    response = client.post("/settings/delete", data={"delete-password": DEFAULT_PASSWORD, "delete-confirm": "y"})

    assert response.status_code in (302, 303)
    session.expire_all()
    assert session.scalars(select(ProviderConnection)).all() == []


def test_connect_registration_refused_by_the_provider_keeps_nothing(app, client, session, learner, host_provider,
                                                                   document_server):
    from tests.support.servers import Response

    document_server.routes["/register"] = Response(b'{"error": "server_error"}', 500)
    host_provider.endpoint_overrides["registration"] = document_server.url("/register")

    response = start(client, host_provider.base_url)

    assert response.status_code == 502
    assert "Riverside College refused to register Wallet (500: server_error)" in response.get_data(as_text=True)
    assert session.scalars(select(ProviderConnection)).all() == []


def test_callback_token_endpoint_failing_leaves_the_connection_unconnected_and_says_why(
        app, client, session, learner, host_provider, document_server):
    from tests.support.servers import Response

    document_server.routes["/token"] = Response(b"<html>oops</html>", 500, content_type="text/html")
    host_provider.endpoint_overrides["token"] = document_server.url("/token")
    host_provider.issue_ob3()

    answer = connect(app, client, host_provider.base_url)

    assert answer.status_code == 302
    connection = connection_of(session, learner)
    assert connection.state == "pending" and connection.access_token is None
    assert connection.last_error == "Riverside College did not give Wallet an access token (500)."
    page = client.get("/settings/providers/").get_data(as_text=True)
    assert "did not give Wallet an access token" in page and "Connect again below" in page
    assert credentials_of(session, learner) == []


def test_discover_address_typed_without_a_scheme_is_read_as_https():
    asked = []

    def fetch(url, *, kind="json"):
        asked.append(url)
        raise RemoteError("not found", url=url, status_code=404)

    with pytest.raises(ImportRejectedError, match="No Open Badges 3.0, CLR 2.0 or Badge Connect service was found "
                                                  "at college.example.org"):
        discover(fetch, lambda url: None, "college.example.org/", require_https=True)

    assert asked == ["https://college.example.org/ims/ob/v3p0/discovery",
                     "https://college.example.org/ims/clr/v2p0/discovery",
                     "https://college.example.org/.well-known/badgeconnect.json"]
