"""Wallet as an OB 3.0 and CLR 2.0 Host (Service Provider Read and Write): /ims/ob/v3p0 and /ims/clr/v2p0.

Tokens come from the real OAuth services (tests/support/oauth.py); credentials are signed with real
keys (did:jwk VC-JWTs, did:key eddsa-rdfc-2022), so every upsert is verified like any import.
"""
from __future__ import annotations

import io
import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from tests.support.credentials import JwtIssuer, LdIssuer, bake_png_jwt, tampered_jwt
from tests.support.oauth import grant_access
from tests.verification.test_clr import clr_credential, member
from tests.verification.test_vc import Signer
from wallet.models.credential import Credential
from wallet.services.oauth import grants, scopes

OB = "/ims/ob/v3p0"
CLR = "/ims/clr/v2p0"
ALL_OB = scopes.OB3_SCOPES
READ = scopes.OB3_CREDENTIAL_READONLY
UPSERT = scopes.OB3_CREDENTIAL_UPSERT


def bearer(token: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **headers}


def held(session, owner_id: int) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Credential).where(Credential.owner_id == owner_id))


def imsx(response) -> tuple[str, str, str]:
    body = response.get_json()
    field = body["imsx_codeMinor"]["imsx_codeMinorField"][0]
    assert field["imsx_codeMinorFieldName"] == "Wallet" and body["imsx_description"]
    return body["imsx_codeMajor"], body["imsx_severity"], field["imsx_codeMinorFieldValue"]


def links(response) -> dict[str, str]:
    return {rel: url for url, rel in re.findall(r'<([^>]+)>; rel="([a-z]+)"', response.headers.get("Link", ""))}


@pytest.fixture
def learner(make_user):
    return make_user(email="ada@example.org", display_name="Ada Lovelace")


@pytest.fixture
def token(session, learner) -> str:
    return grant_access(session, learner, ALL_OB)


@pytest.fixture
def issuer() -> JwtIssuer:
    return JwtIssuer(name="Riverside College")


def post_jws(client, token: str, jws: str, path: str = OB):
    return client.post(f"{path}/credentials", data=jws, headers=bearer(token, **{"Content-Type": "text/plain"}))


def post_json(client, token: str, text: str, path: str = OB, content_type: str = "application/json"):
    return client.post(f"{path}/credentials", data=text.encode(),
                       headers=bearer(token, **{"Content-Type": content_type}))


# ---------------------------------------------------------------------------------------------
# Scopes and tokens


def test_host_credentials_without_token_is_401_imsx_with_bearer_challenge(client):
    response = client.get(f"{OB}/credentials")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="Wallet"'
    assert imsx(response) == ("failure", "error", "unauthorizedrequest")


def test_host_unknown_token_is_401_invalid_token(client):
    response = client.get(f"{CLR}/profile", headers=bearer("not-a-token"))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_host_personal_access_token_is_not_an_oauth_token(client, learner, api_token):
    assert client.get(f"{OB}/credentials", headers=bearer(api_token(learner))).status_code == 401


def test_host_readonly_token_cannot_upsert_and_nothing_is_written(client, session, learner, issuer):
    readonly = grant_access(session, learner, [READ])
    response = post_jws(client, readonly, issuer.jwt())
    assert response.status_code == 403
    assert response.headers["WWW-Authenticate"] == (
        f'Bearer realm="Wallet", error="insufficient_scope", scope="{UPSERT}"')
    assert imsx(response) == ("failure", "error", "forbidden")
    assert held(session, learner.id) == 0
    assert client.get(f"{OB}/credentials", headers=bearer(readonly)).status_code == 200


@pytest.mark.parametrize(("granted", "method", "path", "needed"), [
    ([UPSERT], "get", f"{OB}/credentials", READ),
    ([READ], "get", f"{OB}/profile", scopes.OB3_PROFILE_READONLY),
    ([scopes.OB3_PROFILE_READONLY], "put", f"{OB}/profile", scopes.OB3_PROFILE_UPDATE),
    ([scopes.OB3_PROFILE_UPDATE], "get", f"{OB}/profile", scopes.OB3_PROFILE_READONLY),
    # An Open Badges token does not open the CLR API, nor the other way round.
    (list(ALL_OB), "get", f"{CLR}/credentials", scopes.CLR_CREDENTIAL_READONLY),
    (list(scopes.CLR_SCOPES), "get", f"{OB}/profile", scopes.OB3_PROFILE_READONLY),
])
def test_host_each_endpoint_needs_its_own_scope(client, session, learner, granted, method, path, needed):
    limited = grant_access(session, learner, granted)
    response = getattr(client, method)(path, json={"type": "Profile", "name": "Mallory"}, headers=bearer(limited))
    assert response.status_code == 403
    assert f'scope="{needed}"' in response.headers["WWW-Authenticate"]
    assert client.get(f"{OB}/profile", headers=bearer(grant_access(session, learner, ALL_OB))).get_json()["name"] \
        == "Ada Lovelace"


def test_host_token_after_the_learner_revokes_the_app_is_401(client, session, learner, token):
    assert client.get(f"{OB}/credentials", headers=bearer(token)).status_code == 200
    app = grants.connected_apps(session, owner_id=learner.id)[0]
    grants.revoke_grant(session, owner_id=learner.id, grant_id=app.grant_id)
    session.commit()
    response = client.get(f"{OB}/credentials", headers=bearer(token))
    assert response.status_code == 401 and imsx(response)[2] == "unauthorizedrequest"


def test_host_learner_a_token_never_reaches_learner_b(client, session, make_user, issuer):
    alice, bob = make_user(email="alice@example.org"), make_user(email="bob@example.org")
    alice_token, bob_token = grant_access(session, alice, ALL_OB), grant_access(session, bob, ALL_OB)
    bob_badge = issuer.jwt(name="Bob's badge", email="bob@example.org")
    assert post_jws(client, bob_token, bob_badge).status_code == 201
    listed = client.get(f"{OB}/credentials", headers=bearer(alice_token))
    assert listed.headers["X-Total-Count"] == "0"
    assert listed.get_json() == {"credential": [], "compactJwsString": []}
    # Alice's token pushing the same credential puts it in Alice's wallet, not Bob's.
    assert post_jws(client, alice_token, bob_badge).status_code == 201
    assert (held(session, alice.id), held(session, bob.id)) == (1, 1)
    assert client.get(f"{OB}/profile", headers=bearer(alice_token)).get_json()["email"] == "alice@example.org"


def test_host_posts_need_no_csrf_token(app_config, session, learner, issuer):
    from wallet import create_app
    from wallet.db import get_engine

    csrf_app = create_app(dict(app_config, WTF_CSRF_ENABLED=True))
    with csrf_app.app_context():
        response = post_jws(csrf_app.test_client(), grant_access(session, learner, ALL_OB), issuer.jwt())
    get_engine(csrf_app).dispose()
    assert response.status_code == 201


# ---------------------------------------------------------------------------------------------
# upsertCredential and getCredentials: read back exactly what was sent


def test_host_upsert_jws_is_201_then_200_and_listed_as_sent(client, session, learner, token, issuer):
    jws = issuer.jwt(name="Robotics Level 1", email="ada@example.org")
    first = post_jws(client, token, jws + "\n")
    assert (first.status_code, first.mimetype, first.get_data(as_text=True)) == (201, "text/plain", jws)
    again = post_jws(client, token, jws)
    assert (again.status_code, again.get_data(as_text=True)) == (200, jws)
    assert held(session, learner.id) == 1
    listed = client.get(f"{OB}/credentials", headers=bearer(token))
    assert listed.status_code == 200 and listed.mimetype == "application/json"
    assert listed.get_json() == {"credential": [], "compactJwsString": [jws]}
    assert listed.headers["X-Total-Count"] == "1"


def test_host_upsert_json_is_listed_byte_for_byte(client, session, learner, token):
    # Spacing and key order of its own: a re-serialised copy would not match the text.
    text = json.dumps(LdIssuer(name="Linked Data Academy").signed(name="Ethics 101"), indent=3, sort_keys=False)
    response = post_json(client, token, text, content_type="application/ld+json")
    assert (response.status_code, response.mimetype, response.get_data(as_text=True)) == (201, "application/json", text)
    listed = client.get(f"{OB}/credentials", headers=bearer(token)).get_data(as_text=True)
    assert listed == '{"credential":[' + text + '],"compactJwsString":[]}'
    assert json.loads(listed)["credential"][0]["name"] == "Ethics 101"


def test_host_upsert_newer_copy_of_a_credential_replaces_it_with_200(client, session, learner, token, issuer):
    credential = issuer.credential(name="Algebra II", credential_id="urn:uuid:7d1e1c1a-0000-4000-8000-000000000001")
    assert post_jws(client, token, issuer.sign(credential)).status_code == 201
    credential["name"] = "Algebra II (with honours)"
    newer = issuer.sign(credential)
    response = post_jws(client, token, newer)
    assert (response.status_code, response.get_data(as_text=True)) == (200, newer)
    assert held(session, learner.id) == 1
    assert client.get(f"{OB}/credentials", headers=bearer(token)).get_json()["compactJwsString"] == [newer]


def test_host_upsert_expired_copy_of_a_valid_credential_is_409_and_the_valid_one_stays(client, session, learner,
                                                                                        token, issuer):
    from datetime import datetime, timedelta, timezone

    now = datetime.now(timezone.utc).replace(microsecond=0)
    same = "urn:uuid:7d1e1c1a-0000-4000-8000-000000000002"
    valid = issuer.jwt(name="Welding", credential_id=same)
    assert post_jws(client, token, valid).status_code == 201
    expired = issuer.jwt(name="Welding", credential_id=same, valid_from=now - timedelta(days=400),
                         valid_until=now - timedelta(days=35))
    response = post_jws(client, token, expired)
    assert response.status_code == 409 and imsx(response)[2] == "unknown"
    assert client.get(f"{OB}/credentials", headers=bearer(token)).get_json()["compactJwsString"] == [valid]


def test_host_list_answers_credentials_received_other_ways_as_received(client, session, learner, token, issuer,
                                                                       api_token):
    from tests.support.accounts import bearer as api_bearer

    baked_jws = issuer.jwt(name="Baked badge")
    png = bake_png_jwt(baked_jws)
    auth = api_bearer(api_token(learner))
    assert client.post("/api/v1/credentials", data={"file": (io.BytesIO(png), "badge.png")},
                       headers=auth).status_code == 201
    # A forgery the learner added by hand is kept in the wallet (shown as not genuine) but never listed.
    forged = tampered_jwt(issuer.jwt(name="Real"), name="Forged")
    assert client.post("/api/v1/credentials", json={"credential": forged}, headers=auth).status_code == 201
    listed = client.get(f"{OB}/credentials", headers=bearer(token))
    assert listed.get_json() == {"credential": [], "compactJwsString": [baked_jws]}
    assert listed.headers["X-Total-Count"] == "1"


# ---------------------------------------------------------------------------------------------
# Bad bodies: a clear Imsx error, and nothing written


@pytest.mark.parametrize(("content_type", "body", "status", "words"), [
    ("application/json", b'{"@context": [', 400, "not valid JSON"),
    ("application/json", b"[1, 2]", 400, "JSON object"),
    ("application/json", b'{"hello": "world"}', 400, ""),
    ("application/json", b"\xff\xfe{}", 400, "UTF-8"),
    ("text/plain", b"not-a-jws", 400, "compact JWS"),
    ("text/plain", b"aGVhZGVy.cGF5bG9hZA.c2ln", 400, ""),
    ("application/xml", b"<credential/>", 415, "application/json"),
    ("text/plain", b"a." * 600_000, 413, "MB"),
])
def test_host_upsert_bad_body_is_refused_and_nothing_written(client, session, learner, token, content_type, body,
                                                             status, words):
    response = client.post(f"{OB}/credentials", data=body, headers=bearer(token, **{"Content-Type": content_type}))
    assert response.status_code == status, response.get_data(as_text=True)
    assert imsx(response)[:2] == ("failure", "error")
    assert words in response.get_json()["imsx_description"]
    assert held(session, learner.id) == 0


def test_host_upsert_forged_credential_is_400_invalid_data_and_nothing_written(client, session, learner, token,
                                                                             issuer):
    response = post_jws(client, token, tampered_jwt(issuer.jwt(name="Real"), name="Forged"))
    assert response.status_code == 400
    assert imsx(response) == ("failure", "error", "invalid_data")
    assert "not genuine" in response.get_json()["imsx_description"]
    assert held(session, learner.id) == 0


def test_host_upsert_credential_of_the_other_api_is_400(client, session, learner, issuer):
    both = grant_access(session, learner, [*ALL_OB, *scopes.CLR_SCOPES])
    response = post_jws(client, both, issuer.jwt(), path=CLR)
    assert response.status_code == 400 and "ClrCredential" in response.get_json()["imsx_description"]
    registrar, school = Signer(), Signer()
    record = json.dumps(registrar.sign_ld(clr_credential(registrar.did, [school.sign_ld(member(school, "Art"))])))
    response = post_json(client, both, record, path=OB)
    assert response.status_code == 400 and "AchievementCredential" in response.get_json()["imsx_description"]
    assert held(session, learner.id) == 0


def test_host_upsert_of_another_kind_is_refused_before_anything_is_fetched_or_counted(make_app, document_server,
                                                                                      issuer):
    from tests.support.accounts import create_user
    from tests.support.credentials import HostedIssuer
    from wallet.db import get_session

    hosted = HostedIssuer(document_server)
    url = hosted.assertion(name="Hosted OB 2.0")
    assertion = document_server.routes["/assertions/1.json"].body.decode()
    app = make_app(ALLOW_PRIVATE_NETWORK=True, URL_REWRITE=hosted.rewrite, IMPORT_RATE_LIMIT=1)
    with app.app_context():
        session = get_session()
        user = create_user(session, email="kinds@example.org")
        session.commit()
        token = grant_access(session, user, ALL_OB)
        response = post_json(app.test_client(), token, assertion)
        assert response.status_code == 400 and "AchievementCredential" in response.get_json()["imsx_description"]
        assert document_server.requests == [] and url.startswith("https://issuer.example/")
        # Nothing was counted against the learner's import rate either: one import is still allowed.
        assert post_jws(app.test_client(), token, issuer.jwt()).status_code == 201


def test_host_upsert_counts_against_the_import_rate(app_config, make_app, make_user, issuer):
    app = make_app(IMPORT_RATE_LIMIT=1)
    from wallet.db import get_session

    with app.app_context():
        session = get_session()
        from tests.support.accounts import create_user

        user = create_user(session, email="rate@example.org")
        session.commit()
        token = grant_access(session, user, ALL_OB)
        client = app.test_client()
        assert post_jws(client, token, issuer.jwt()).status_code == 201
        response = post_jws(client, token, issuer.jwt())
        assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0
        assert imsx(response)[2] == "server_busy"


def test_host_upsert_into_a_full_wallet_is_403_forbidden(app_config, make_app, issuer):
    app = make_app(MAX_CREDENTIALS_PER_USER=1)
    from wallet.db import get_session

    with app.app_context():
        session = get_session()
        from tests.support.accounts import create_user

        user = create_user(session, email="full@example.org")
        session.commit()
        token = grant_access(session, user, ALL_OB)
        client = app.test_client()
        assert post_jws(client, token, issuer.jwt()).status_code == 201
        response = post_jws(client, token, issuer.jwt())
        assert response.status_code == 403 and imsx(response)[2] == "forbidden"
        assert "holds 1 credentials" in response.get_json()["imsx_description"]
        assert "WWW-Authenticate" not in response.headers


# ---------------------------------------------------------------------------------------------
# Paging (OB 3.0 §6.4)


def test_host_credentials_pages_with_total_and_links_oldest_first(client, session, learner, token, issuer):
    sent = [issuer.jwt(name=f"Badge {n}") for n in range(5)]
    for jws in sent:
        assert post_jws(client, token, jws).status_code == 201
    first = client.get(f"{OB}/credentials?limit=2", headers=bearer(token))
    assert first.get_json()["compactJwsString"] == sent[:2]
    assert first.headers["X-Total-Count"] == "5"
    base = "http://localhost/ims/ob/v3p0/credentials"
    assert links(first) == {"first": f"{base}?limit=2&offset=0", "last": f"{base}?limit=2&offset=4",
                            "next": f"{base}?limit=2&offset=2"}
    middle = client.get(links(first)["next"], headers=bearer(token))
    assert middle.get_json()["compactJwsString"] == sent[2:4]
    assert links(middle)["prev"] == f"{base}?limit=2&offset=0" and links(middle)["next"] == f"{base}?limit=2&offset=4"
    last = client.get(links(middle)["next"], headers=bearer(token))
    assert last.get_json()["compactJwsString"] == sent[4:]
    assert "next" not in links(last) and links(last)["prev"] == f"{base}?limit=2&offset=2"
    beyond = client.get(f"{OB}/credentials?limit=2&offset=9", headers=bearer(token))
    assert beyond.get_json()["compactJwsString"] == [] and beyond.headers["X-Total-Count"] == "5"
    assert links(beyond)["prev"] == f"{base}?limit=2&offset=4"


def test_host_credentials_links_use_the_public_url(make_app, issuer):
    app = make_app(PUBLIC_URL="https://wallet.example")
    from tests.support.accounts import create_user
    from wallet.db import get_session

    with app.app_context():
        session = get_session()
        user = create_user(session, email="public@example.org")
        session.commit()
        token = grant_access(session, user, ALL_OB)
        response = app.test_client().get(f"{OB}/credentials?limit=5", headers=bearer(token, Host="evil.example"))
        assert links(response)["first"] == "https://wallet.example/ims/ob/v3p0/credentials?limit=5&offset=0"


def test_host_credentials_since_keeps_those_issued_after(client, session, learner, token, issuer):
    from datetime import datetime, timedelta, timezone

    now = datetime.now(timezone.utc).replace(microsecond=0)
    old, new = issuer.jwt(valid_from=now - timedelta(days=100)), issuer.jwt(valid_from=now - timedelta(days=2))
    for jws in (old, new):
        assert post_jws(client, token, jws).status_code == 201
    since = (now - timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    response = client.get(f"{OB}/credentials", query_string={"since": since}, headers=bearer(token))
    assert response.get_json()["compactJwsString"] == [new] and response.headers["X-Total-Count"] == "1"
    assert parse_qs(urlsplit(links(response)["first"]).query)["since"] == [since]


@pytest.mark.parametrize("query", ["limit=0", "limit=-1", "limit=abc", "limit=2.5", "limit=99999999999",
                                   "offset=-1", "offset=x", "limit=", "since=yesterday", "since=2024-05-01"])
def test_host_credentials_bad_paging_is_400_invalid_query_parameter(client, token, query):
    response = client.get(f"{OB}/credentials?{query}", headers=bearer(token))
    assert response.status_code == 400
    assert imsx(response) == ("failure", "error", "invalid_query_parameter")
    assert query.split("=")[0] in response.get_json()["imsx_description"]


def test_host_credentials_large_limit_is_answered_in_pages_of_the_maximum(client, token):
    response = client.get(f"{OB}/credentials?limit=100000", headers=bearer(token))
    assert response.status_code == 200 and "limit=100&" in links(response)["first"]


# ---------------------------------------------------------------------------------------------
# CLR 2.0


def test_host_clr_upsert_and_list_read_back_exactly(client, session, learner):
    token = grant_access(session, learner, scopes.CLR_SCOPES)
    registrar, school = Signer(), Signer()
    record = registrar.sign_ld(clr_credential(registrar.did, [school.sign_ld(member(school, "Robotics Level 1"))]))
    text = json.dumps(record, separators=(",", ":"))
    response = post_json(client, token, text, path=CLR)
    assert (response.status_code, response.get_data(as_text=True)) == (201, text)
    listed = client.get(f"{CLR}/credentials", headers=bearer(token))
    assert listed.get_data(as_text=True) == '{"credential":[' + text + '],"compactJwsString":[]}'
    # The record is not an Open Badge: the OB 3.0 list leaves it out.
    ob_token = grant_access(session, learner, ALL_OB)
    assert client.get(f"{OB}/credentials", headers=bearer(ob_token)).headers["X-Total-Count"] == "0"


# ---------------------------------------------------------------------------------------------
# Profile


def test_host_profile_is_the_learners_profile_with_their_wallet_did(client, session, learner, token):
    profile = client.get(f"{OB}/profile", headers=bearer(token)).get_json()
    assert profile["@context"] == ["https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]
    assert profile["type"] == ["Profile"] and profile["name"] == "Ada Lovelace"
    assert profile["email"] == "ada@example.org" and profile["id"].startswith("did:key:z6Mk")
    again = client.get(f"{CLR}/profile", headers=bearer(grant_access(session, learner, scopes.CLR_SCOPES)))
    assert again.get_json()["id"] == profile["id"]
    assert again.get_json()["@context"] == ["https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json"]


def test_host_profile_leaves_out_an_unconfirmed_email(client, session, make_user):
    user = make_user(email="new@example.org", verified=False)
    profile = client.get(f"{OB}/profile", headers=bearer(grant_access(session, user, ALL_OB))).get_json()
    assert "email" not in profile


def test_host_put_profile_changes_the_name_only(client, session, learner, token):
    sent = {"@context": ["https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"], "type": "Profile",
            "id": "https://elsewhere.example/people/1", "name": "  Ada   King ", "phone": "111-222-3333",
            "email": "other@example.org"}
    response = client.put(f"{OB}/profile", json=sent, headers=bearer(token))
    assert response.status_code == 200
    profile = response.get_json()
    assert profile["name"] == "Ada King" and profile["email"] == "ada@example.org"
    assert profile["id"].startswith("did:key:") and "phone" not in profile
    assert client.get(f"{OB}/profile", headers=bearer(token)).get_json() == profile


@pytest.mark.parametrize(("body", "words"), [
    ({"name": "No type"}, '"type"'),
    ({"type": "Profile", "name": 7}, "text"),
    ({"type": ["Profile"], "name": "   "}, "name"),
    ({"type": "Profile", "name": "x" * 500}, "characters"),
    (["Profile"], "JSON object"),
])
def test_host_put_profile_bad_body_is_400_and_changes_nothing(client, session, learner, token, body, words):
    response = client.put(f"{OB}/profile", json=body, headers=bearer(token))
    assert response.status_code == 400 and imsx(response)[2] == "invalid_data"
    assert words in response.get_json()["imsx_description"]
    assert client.get(f"{OB}/profile", headers=bearer(token)).get_json()["name"] == "Ada Lovelace"


def test_host_put_profile_not_json_is_refused(client, token):
    assert client.put(f"{OB}/profile", data="name=Eve", headers=bearer(token)).status_code == 415
    response = client.put(f"{OB}/profile", data="{nope", headers=bearer(token, **{"Content-Type": "application/json"}))
    assert response.status_code == 400 and imsx(response)[2] == "invalid_data"


# ---------------------------------------------------------------------------------------------
# Errors outside the views


def test_host_unknown_path_and_method_are_imsx(client, token):
    missing = client.get(f"{OB}/credentials/7", headers=bearer(token))
    assert missing.status_code == 404 and imsx(missing) == ("failure", "status", "not_found")
    wrong = client.delete(f"{OB}/credentials", headers=bearer(token))
    assert wrong.status_code == 405 and imsx(wrong)[2] == "not_allowed"
    assert set(wrong.headers["Allow"].split(", ")) >= {"GET", "POST"}



# ---------------------------------------------------------------------------------------------
# Discovery (OB 3.0 §6.3, §B.4)


@pytest.mark.parametrize(("path", "api_scopes", "credential_class"), [
    (OB, scopes.OB3_SCOPES, "AchievementCredential"), (CLR, scopes.CLR_SCOPES, "ClrCredential")])
def test_host_discovery_is_public_and_names_wallets_oauth_endpoints(make_app, path, api_scopes, credential_class):
    app = make_app(PUBLIC_URL="https://wallet.example")
    with app.app_context():
        response = app.test_client().get(f"{path}/discovery", headers={"Host": "evil.example"})
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    document = response.get_json()
    assert document["openapi"].startswith("3.0.")
    # §B.4.3 OpenApiInfo: termsOfService, title, version and x-imssf-privacyPolicyUrl are required.
    info = document["info"]
    assert (info["title"], info["termsOfService"], info["x-imssf-privacyPolicyUrl"], info["x-imssf-image"]) == (
        "Wallet", "https://wallet.example/terms", "https://wallet.example/privacy",
        "https://wallet.example/static/img/logo.svg")
    assert info["version"] == path.rsplit("/", 1)[1]
    assert document["servers"] == [{"url": f"https://wallet.example{path}"}]
    scheme = document["components"]["securitySchemes"]["OAuth2ACG"]
    assert scheme["type"] == "oauth2" and scheme["x-imssf-name"] == "Wallet"
    assert scheme["x-imssf-registrationUrl"] == "https://wallet.example/oauth/register"
    flow = scheme["flows"]["authorizationCode"]
    assert (flow["authorizationUrl"], flow["tokenUrl"], flow["refreshUrl"]) == (
        "https://wallet.example/oauth/authorize", "https://wallet.example/oauth/token",
        "https://wallet.example/oauth/token")
    assert set(flow["scopes"]) == set(api_scopes) and all(flow["scopes"].values())
    assert {(p, m) for p, item in document["paths"].items() for m in item} == {
        ("/credentials", "get"), ("/credentials", "post"), ("/profile", "get"), ("/profile", "put"),
        ("/discovery", "get")}
    assert document["paths"]["/credentials"]["post"]["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": f"#/components/schemas/{credential_class}"}


def test_host_discovery_every_operation_enforces_the_scope_it_declares(client, session, learner):
    for path, own in ((OB, scopes.OB3_SCOPES), (CLR, scopes.CLR_SCOPES)):
        document = client.get(f"{path}/discovery").get_json()
        for rule, item in document["paths"].items():
            for method, operation in item.items():
                if "security" not in operation:
                    continue
                (needed,) = operation["security"][0]["OAuth2ACG"]
                others = grant_access(session, learner, [s for s in own if s != needed])
                response = getattr(client, method)(f"{path}{rule}", json={"type": "Profile"}, headers=bearer(others))
                assert response.status_code == 403, (path, rule, method)
                assert f'scope="{needed}"' in response.headers["WWW-Authenticate"]


def test_host_discovery_names_the_operators_own_policies_when_set(make_app):
    app = make_app(PRIVACY_POLICY_URL="https://college.example/privacy",
                   TERMS_OF_SERVICE_URL="https://college.example/tos")
    with app.app_context():
        info = app.test_client().get(f"{OB}/discovery").get_json()["info"]
    assert (info["x-imssf-privacyPolicyUrl"], info["termsOfService"]) == (
        "https://college.example/privacy", "https://college.example/tos")


def test_host_privacy_and_terms_pages_are_public(client):
    privacy, terms = client.get("/privacy"), client.get("/terms")
    assert privacy.status_code == 200 and "Connected apps" in privacy.get_data(as_text=True)
    assert terms.status_code == 200 and "consent" in terms.get_data(as_text=True)
    assert 'href="/privacy"' in client.get("/").get_data(as_text=True)
