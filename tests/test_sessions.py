"""Log-in sessions kept on the server: log-out, a password reset and "log out everywhere" end them for good."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.support.accounts import DEFAULT_PASSWORD, bearer, mailed_link
from wallet.models import ApiToken, LoginSession
from wallet.services.tokens import hash_secret

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def ada(make_user):
    return make_user(email="ada@example.org", display_name="Ada")


def _log_in(client, remember: bool = False, agent: str = "Firefox on Linux"):
    data = {"email": "ada@example.org", "password": DEFAULT_PASSWORD}
    if remember:
        data["remember"] = "y"
    response = client.post("/login", data=data, headers={"User-Agent": agent})
    assert response.status_code == 302
    return response


def _is_logged_in(client) -> bool:
    return client.get("/settings/").status_code == 200


def _copy_cookie(source, target, name: str) -> None:
    target.set_cookie(name, source.get_cookie(name).value)


def test_logout_copied_session_cookie_stops_working(app, client, ada) -> None:
    _log_in(client)
    thief = app.test_client()
    _copy_cookie(client, thief, "wallet_session")
    assert _is_logged_in(thief)
    client.post("/logout")
    assert not _is_logged_in(client)
    assert not _is_logged_in(thief)


def test_logout_copied_remember_cookie_stops_working(app, client, ada) -> None:
    _log_in(client, remember=True)
    thief = app.test_client()
    _copy_cookie(client, thief, "remember_token")
    assert _is_logged_in(thief)
    client.post("/logout")
    restarted = app.test_client()
    _copy_cookie(thief, restarted, "remember_token")
    assert not _is_logged_in(restarted)


def test_login_session_stores_only_the_hash_of_the_cookie_secret(client, session, ada) -> None:
    _log_in(client, agent="Safari on iPhone")
    with client.session_transaction() as flask_session:
        secret = flask_session["_user_id"]
    record = session.scalars(select(LoginSession)).one()
    assert record.user_id == ada.id and record.user_agent == "Safari on iPhone"
    assert record.secret_hash == hash_secret(secret) and secret not in record.secret_hash


def test_login_session_unused_past_its_lifetime_is_ended(app, client, session, ada) -> None:
    _log_in(client)
    record = session.scalars(select(LoginSession)).one()
    record.last_seen_at -= app.config["PERMANENT_SESSION_LIFETIME"] + timedelta(minutes=1)
    session.commit()
    assert not _is_logged_in(client)
    assert session.scalars(select(LoginSession)).all() == []


def test_reset_password_ends_every_session_and_revokes_every_token(app, client, session, ada, api_token) -> None:
    token = api_token(ada)
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    laptop, phone = app.test_client(), app.test_client()
    _log_in(laptop)
    _log_in(phone, remember=True)
    stolen_remember = phone.get_cookie("remember_token").value

    client.post("/password/forgot", data={"email": "ada@example.org"})
    link = mailed_link(session, "ada@example.org")
    response = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "logged out everywhere" in page and "1 access token was revoked" in page

    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401
    assert not _is_logged_in(laptop) and not _is_logged_in(phone)
    restarted = app.test_client()
    restarted.set_cookie("remember_token", stolen_remember)
    assert not _is_logged_in(restarted)
    session.expire_all()
    assert session.scalars(select(LoginSession)).all() == []
    assert all(t.revoked_at is not None for t in session.scalars(select(ApiToken)))


def test_reset_mail_says_sessions_end_and_tokens_are_revoked(client, session, ada) -> None:
    from wallet.models import OutboxMessage

    client.post("/password/forgot", data={"email": "ada@example.org"})
    body = session.scalars(select(OutboxMessage)).one().body
    assert "logs you out everywhere" in body and "access tokens" in body


def test_log_out_everywhere_ends_every_session_and_revokes_every_token(app, client, session, ada, api_token) -> None:
    token = api_token(ada)
    phone = app.test_client()
    _log_in(phone, remember=True)
    _log_in(client)
    response = client.post("/settings/sessions/end-all", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "You are logged out everywhere" in page and "1 access token was revoked" in page
    assert not _is_logged_in(client) and not _is_logged_in(phone)
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401
    session.expire_all()
    assert session.scalars(select(LoginSession)).all() == []


IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Version/17.0 Mobile/15E148 Safari/604.1")
WINDOWS_FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"


def test_settings_lists_active_sessions_with_this_one_marked(app, client, ada) -> None:
    phone = app.test_client()
    _log_in(phone, agent=IPHONE)
    _log_in(client, agent=WINDOWS_FIREFOX)
    page = client.get("/settings/").get_data(as_text=True)
    sessions_part = page.split('id="sessions"', 1)[1].split("</section>", 1)[0]
    assert ">Mobile Safari on iOS (iPhone)<" in sessions_part and ">Firefox on Windows<" in sessions_part
    assert sessions_part.count("This device") == 1
    assert sessions_part.index("This device") > sessions_part.index("Firefox on Windows")
    assert "Log out everywhere" in sessions_part


def test_settings_log_out_one_other_device(app, client, session, ada) -> None:
    phone = app.test_client()
    _log_in(phone, agent=IPHONE)
    _log_in(client, agent=WINDOWS_FIREFOX)
    phone_session = session.scalars(select(LoginSession).where(LoginSession.user_agent == IPHONE)).one()
    response = client.post(f"/settings/sessions/{phone_session.id}/end")
    assert response.status_code == 302
    assert not _is_logged_in(phone) and _is_logged_in(client)


def test_settings_log_out_another_learners_session_is_404(app, client, session, ada, make_user, login) -> None:
    grace = make_user(email="grace@example.org")
    other = app.test_client()
    login(grace, client=other)
    grace_session = session.scalars(select(LoginSession).where(LoginSession.user_id == grace.id)).one()
    _log_in(client)
    assert client.post(f"/settings/sessions/{grace_session.id}/end").status_code == 404
    assert _is_logged_in(other)


def test_change_password_keeps_this_session_and_the_tokens(app, client, session, ada, api_token) -> None:
    token = api_token(ada)
    other = app.test_client()
    _log_in(other)
    _log_in(client)
    response = client.post("/settings/password", data={"password-current": DEFAULT_PASSWORD,
                                                       "password-new": NEW_PASSWORD, "password-confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert _is_logged_in(client) and not _is_logged_in(other)
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    session.expire_all()
    assert len(session.scalars(select(LoginSession)).all()) == 1
