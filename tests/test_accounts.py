"""Accounts: registration, log-in and lockout, redirects after log-in, CSRF, reset links, email confirmation, mail."""
from __future__ import annotations

import logging
import socket
from datetime import timedelta

import pytest
from argon2 import PasswordHasher

from tests.support.accounts import DEFAULT_PASSWORD, SmtpSink, mailed_link
from wallet import create_app
from wallet.db import get_engine, utcnow
from wallet.models import AccountToken, EmailAddress, OutboxMessage, User
from wallet.routes.auth import is_safe_next
from wallet.services import accounts, passwords
from wallet.services.accounts import FailureWindow, LoginPolicy
from wallet.services.mail import MailSettings, send_mail
from wallet.services.tokens import hash_secret

REGISTRATION = {"display_name": "Ada Lovelace", "email": "Ada@Example.org",
                "password": "analytical engine notes", "confirm": "analytical engine notes"}


def _logged_in_as(client) -> str | None:
    """Return the display name the dashboard greets, or None for a visitor."""
    page = client.get("/").get_data(as_text=True)
    marker = "Welcome, "
    return page.split(marker, 1)[1].split("<", 1)[0] if marker in page else None


# Registration


def test_register_valid_form_creates_account_logs_in_and_mails_link(client, session) -> None:
    response = client.post("/register", data=REGISTRATION)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    user = session.query(User).one()
    assert user.display_name == "Ada Lovelace"
    assert [(e.address, e.is_primary, e.is_verified) for e in user.emails] == [("ada@example.org", True, False)]
    assert user.password_hash.startswith("$argon2id$")
    assert _logged_in_as(client) == "Ada Lovelace"
    assert mailed_link(session, "ada@example.org").startswith("/email/confirm/")


def test_register_duplicate_email_is_refused_without_second_user(client, session, make_user) -> None:
    make_user(email="ada@example.org")
    response = client.post("/register", data=dict(REGISTRATION, email="  ADA@example.org "))
    assert response.status_code == 400
    assert "An account already uses this email address" in response.get_data(as_text=True)
    assert 'aria-invalid="true"' in response.get_data(as_text=True)
    assert session.query(User).count() == 1
    assert _logged_in_as(client) is None


@pytest.mark.parametrize(("password", "confirm", "message"), [
    ("", "", "Choose a password."),
    ("short one", "short one", "Use at least 10 characters."),
    ("qwertyuiop", "qwertyuiop", "one of the most common"),
    ("Password123", "Password123", "one of the most common"),
    ("ada@example.org", "ada@example.org", "cannot be your email address"),
    ("analytical engine notes", "analytical engine notez", "The two passwords are not the same."),
    ("          ", "          ", "cannot be only spaces"),
])
def test_register_bad_password_is_refused(client, session, password: str, confirm: str, message: str) -> None:
    response = client.post("/register", data=dict(REGISTRATION, password=password, confirm=confirm))
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert session.query(User).count() == 0
    assert session.query(OutboxMessage).count() == 0


@pytest.mark.parametrize(("field", "value", "message"), [
    ("email", "not-an-address", "Enter an email address like name@example.org."),
    ("email", "a@b", "Enter an email address like name@example.org."),
    ("email", "", "Enter your email address."),
    ("display_name", "   ", "Enter the name to show on your wallet."),
    ("display_name", "x" * 121, "at most 120 characters"),
])
def test_register_bad_name_or_email_is_refused(client, session, field: str, value: str, message: str) -> None:
    response = client.post("/register", data=dict(REGISTRATION, **{field: value}))
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert session.query(User).count() == 0


def test_register_page_labels_every_input(client) -> None:
    page = client.get("/register").get_data(as_text=True)
    for field in ("display_name", "email", "password", "confirm"):
        assert f'<label for="{field}">' in page
        assert f'id="{field}"' in page


# Logging in and out


def test_login_right_password_redirects_to_dashboard(client, make_user) -> None:
    make_user(email="ada@example.org", display_name="Ada")
    response = client.post("/login", data={"email": "ADA@example.org", "password": DEFAULT_PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert _logged_in_as(client) == "Ada"


def test_login_clears_the_session_it_started_with(client, make_user) -> None:
    make_user(email="ada@example.org")
    with client.session_transaction() as flask_session:
        flask_session["planted"] = "by someone else"
    client.post("/login", data={"email": "ada@example.org", "password": DEFAULT_PASSWORD})
    with client.session_transaction() as flask_session:
        assert "planted" not in flask_session
        assert flask_session["_user_id"]


def test_login_wrong_password_and_unknown_email_get_the_same_answer(client, make_user) -> None:
    make_user(email="ada@example.org")
    wrong = client.post("/login", data={"email": "ada@example.org", "password": "not the password"})
    unknown = client.post("/login", data={"email": "nobody@example.org", "password": "not the password"})
    assert wrong.status_code == unknown.status_code == 400
    message = "The email address or password is not right."
    assert message in wrong.get_data(as_text=True) and message in unknown.get_data(as_text=True)
    assert _logged_in_as(client) is None


def test_login_locks_account_after_max_failures(app, client, session, make_user) -> None:
    app.config["LOGIN_MAX_FAILURES"] = 3
    user = make_user(email="ada@example.org")
    statuses = [client.post("/login", data={"email": "ada@example.org", "password": f"wrong {i}"}).status_code
                for i in range(3)]
    assert statuses == [400, 400, 429]
    response = client.post("/login", data={"email": "ada@example.org", "password": DEFAULT_PASSWORD})
    assert response.status_code == 429
    assert "this account is locked for 15 minutes" in response.get_data(as_text=True)
    assert _logged_in_as(client) is None
    session.refresh(user)
    assert user.locked_until is not None and user.locked_until > utcnow()


def test_login_after_lockout_expires_works(app, client, session, make_user) -> None:
    user = make_user(email="ada@example.org")
    user.locked_until = utcnow() - timedelta(seconds=1)
    session.commit()
    response = client.post("/login", data={"email": "ada@example.org", "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    session.refresh(user)
    assert user.locked_until is None and user.failed_logins == 0 and user.last_login_at is not None


def test_login_success_resets_the_failure_count(client, session, make_user) -> None:
    user = make_user(email="ada@example.org")
    client.post("/login", data={"email": "ada@example.org", "password": "wrong"})
    session.refresh(user)
    assert user.failed_logins == 1
    client.post("/login", data={"email": "ada@example.org", "password": DEFAULT_PASSWORD})
    session.refresh(user)
    assert user.failed_logins == 0


def test_login_many_failures_from_one_address_are_throttled(app, client, make_user) -> None:
    app.config["LOGIN_IP_MAX_FAILURES"] = 2
    make_user(email="ada@example.org")
    for address in ("one@example.org", "two@example.org"):
        assert client.post("/login", data={"email": address, "password": "guess guess"}).status_code == 400
    response = client.post("/login", data={"email": "ada@example.org", "password": DEFAULT_PASSWORD})
    assert response.status_code == 429
    assert "Too many failed log-ins from your network" in response.get_data(as_text=True)
    assert _logged_in_as(client) is None


def test_failure_window_forgets_old_failures() -> None:
    window = FailureWindow(limit=2, window_seconds=60)
    start = utcnow()
    window.record("10.0.0.1", now=start)
    window.record("10.0.0.1", now=start + timedelta(seconds=1))
    assert window.is_blocked("10.0.0.1", now=start + timedelta(seconds=2))
    assert not window.is_blocked("10.0.0.2", now=start + timedelta(seconds=2))
    assert not window.is_blocked("10.0.0.1", now=start + timedelta(seconds=61))


def test_login_rehashes_a_password_hashed_with_old_parameters(client, session, make_user) -> None:
    user = make_user(email="ada@example.org")
    user.password_hash = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(DEFAULT_PASSWORD)
    session.commit()
    assert passwords.needs_rehash(user.password_hash)
    client.post("/login", data={"email": "ada@example.org", "password": DEFAULT_PASSWORD})
    session.refresh(user)
    assert not passwords.needs_rehash(user.password_hash)
    assert passwords.verify_password(user.password_hash, DEFAULT_PASSWORD)


def test_authenticate_unknown_email_returns_generic_error(session) -> None:
    result = accounts.authenticate(session, email="nobody@example.org", password="x", policy=LoginPolicy())
    assert result.user is None and result.error == "The email address or password is not right."


def test_logout_is_post_only_and_ends_the_session(client, make_user, login) -> None:
    login(make_user(display_name="Ada"))
    assert client.get("/logout").status_code == 405
    assert _logged_in_as(client) == "Ada"
    response = client.post("/logout")
    assert response.status_code == 302
    assert _logged_in_as(client) is None


def test_login_page_when_logged_in_redirects(client, make_user, login) -> None:
    login(make_user())
    response = client.get("/login")
    assert response.status_code == 302 and response.headers["Location"] == "/"


# F1: where to go after log-in


@pytest.mark.parametrize("target", ["/settings/", "/settings/?tab=tokens#tokens", "/credentials/12"])
def test_login_with_safe_next_goes_there(client, make_user, target: str) -> None:
    make_user(email="ada@example.org")
    response = client.post("/login", data={"email": "ada@example.org", "password": DEFAULT_PASSWORD, "next": target})
    assert response.headers["Location"] == target


EVIL_NEXT = [
    "https://evil.example",
    "http://evil.example/settings",
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\/\\/evil.example",
    "\\\\evil.example",
    "https:evil.example",
    "https:/evil.example",
    "javascript:alert(1)",
    "%2F%2Fevil.example",
    "/%2F%2Fevil.example",
    "/%5Cevil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "settings",
    "",
]


@pytest.mark.parametrize("target", EVIL_NEXT)
def test_login_with_unsafe_next_goes_to_dashboard(client, make_user, target: str) -> None:
    make_user(email="ada@example.org")
    response = client.post("/login", data={"email": "ada@example.org", "password": DEFAULT_PASSWORD, "next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("target", EVIL_NEXT)
def test_is_safe_next_refuses_other_hosts(target: str) -> None:
    assert not is_safe_next(target)


def test_login_next_from_query_is_carried_through_the_form(client, make_user) -> None:
    make_user(email="ada@example.org")
    page = client.get("/settings/")
    assert page.status_code == 302
    form = client.get(page.headers["Location"]).get_data(as_text=True)
    assert 'name="next" type="hidden" value="/settings/"' in form
    response = client.post("/login", data={"email": "ada@example.org", "password": DEFAULT_PASSWORD,
                                           "next": "/settings/"})
    assert response.headers["Location"] == "/settings/"


def test_login_with_evil_next_in_query_when_already_logged_in_goes_home(client, make_user, login) -> None:
    login(make_user())
    response = client.get("/login?next=https://evil.example")
    assert response.headers["Location"] == "/"


# CSRF (F2): the live app has CSRF on; the test app turns it off, so build one with it on.


@pytest.fixture
def csrf_client(app_config, app):
    """A client of a second app on the same database, with CSRF protection on."""
    csrf_app = create_app(dict(app_config, WTF_CSRF_ENABLED=True))
    yield csrf_app.test_client()
    get_engine(csrf_app).dispose()


CSRF_MESSAGE = "This form has expired or was sent from somewhere else. Reload the page and try again."


def test_register_without_csrf_token_is_refused(csrf_client, session) -> None:
    response = csrf_client.post("/register", data=REGISTRATION)
    assert response.status_code == 400
    assert CSRF_MESSAGE in response.get_data(as_text=True)
    assert session.query(User).count() == 0


def test_login_without_csrf_token_is_refused(csrf_client, make_user) -> None:
    make_user(email="ada@example.org")
    response = csrf_client.post("/login", data={"email": "ada@example.org", "password": DEFAULT_PASSWORD})
    assert response.status_code == 400
    assert CSRF_MESSAGE in response.get_data(as_text=True)
    with csrf_client.session_transaction() as flask_session:
        assert "_user_id" not in flask_session


def test_logout_without_csrf_token_is_refused(csrf_client, make_user, login) -> None:
    login(make_user(display_name="Ada"), client=csrf_client)
    response = csrf_client.post("/logout")
    assert response.status_code == 400
    assert _logged_in_as(csrf_client) == "Ada"


def test_csrf_failure_asked_for_json_answers_json(csrf_client) -> None:
    response = csrf_client.post("/logout", headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert response.get_json() == {"error": "CSRFFailed", "message": CSRF_MESSAGE}


def test_login_with_csrf_token_from_the_form_works(csrf_client, make_user) -> None:
    make_user(email="ada@example.org", display_name="Ada")
    page = csrf_client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]
    response = csrf_client.post("/login", data={"email": "ada@example.org", "password": DEFAULT_PASSWORD,
                                                "csrf_token": token})
    assert response.status_code == 302
    assert _logged_in_as(csrf_client) == "Ada"


# Password reset


def test_forgot_password_answers_the_same_for_known_and_unknown_addresses(client, session, make_user) -> None:
    make_user(email="ada@example.org")
    known = client.post("/password/forgot", data={"email": "ada@example.org"}, follow_redirects=True)
    unknown = client.post("/password/forgot", data={"email": "nobody@example.org"}, follow_redirects=True)
    assert known.status_code == unknown.status_code == 200
    assert known.request.path == unknown.request.path == "/login"
    assert known.get_data() == unknown.get_data()
    assert [m.recipient for m in session.query(OutboxMessage)] == ["ada@example.org"]


def test_reset_link_sets_new_password_once_and_ends_sessions(client, session, make_user, login) -> None:
    user = make_user(email="ada@example.org")
    other_device = client.application.test_client()
    login(user, client=other_device)
    client.post("/password/forgot", data={"email": "ada@example.org"})
    link = mailed_link(session, "ada@example.org")
    assert client.get(link).status_code == 200
    response = client.post(link, data={"password": "a brand new passphrase", "confirm": "a brand new passphrase"})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    session.refresh(user)
    assert passwords.verify_password(user.password_hash, "a brand new passphrase")
    assert not passwords.verify_password(user.password_hash, DEFAULT_PASSWORD)
    assert _logged_in_as(other_device) is None
    again = client.post(link, data={"password": "another new passphrase", "confirm": "another new passphrase"})
    assert again.status_code == 400
    assert "This link was already used" in again.get_data(as_text=True)
    session.refresh(user)
    assert passwords.verify_password(user.password_hash, "a brand new passphrase")


def test_reset_link_stores_only_the_hash(client, session, make_user) -> None:
    make_user(email="ada@example.org")
    client.post("/password/forgot", data={"email": "ada@example.org"})
    secret = mailed_link(session, "ada@example.org").rsplit("/", 1)[1]
    token = session.query(AccountToken).one()
    assert token.purpose == "reset_password"
    assert token.token_hash == hash_secret(secret) and secret not in token.token_hash


def test_reset_link_expired_is_refused(client, session, make_user) -> None:
    user = make_user(email="ada@example.org")
    client.post("/password/forgot", data={"email": "ada@example.org"})
    link = mailed_link(session, "ada@example.org")
    session.query(AccountToken).one().expires_at = utcnow() - timedelta(seconds=1)
    session.commit()
    assert "This link has expired" in client.get(link).get_data(as_text=True)
    response = client.post(link, data={"password": "a brand new passphrase", "confirm": "a brand new passphrase"})
    assert response.status_code == 400
    session.refresh(user)
    assert passwords.verify_password(user.password_hash, DEFAULT_PASSWORD)


def test_reset_link_unknown_token_is_refused(client) -> None:
    response = client.get("/password/reset/made-up-token")
    assert response.status_code == 400
    assert "This link is not valid" in response.get_data(as_text=True)


def test_reset_link_older_one_stops_working_when_a_new_one_is_sent(client, session, make_user) -> None:
    make_user(email="ada@example.org")
    client.post("/password/forgot", data={"email": "ada@example.org"})
    first = mailed_link(session, "ada@example.org")
    client.post("/password/forgot", data={"email": "ada@example.org"})
    second = mailed_link(session, "ada@example.org")
    assert first != second
    assert client.get(first).status_code == 400
    assert client.get(second).status_code == 200


def test_reset_link_weak_password_is_refused_and_link_still_works(client, session, make_user) -> None:
    make_user(email="ada@example.org")
    client.post("/password/forgot", data={"email": "ada@example.org"})
    link = mailed_link(session, "ada@example.org")
    response = client.post(link, data={"password": "short", "confirm": "short"})
    assert response.status_code == 400
    assert "Use at least 10 characters." in response.get_data(as_text=True)
    assert session.query(AccountToken).one().used_at is None
    assert client.get(link).status_code == 200


def test_reset_unlocks_a_locked_account_and_confirms_the_address(client, session, make_user) -> None:
    user = make_user(email="ada@example.org", verified=False)
    user.locked_until = utcnow() + timedelta(minutes=10)
    session.commit()
    client.post("/password/forgot", data={"email": "ada@example.org"})
    link = mailed_link(session, "ada@example.org")
    client.post(link, data={"password": "a brand new passphrase", "confirm": "a brand new passphrase"})
    response = client.post("/login", data={"email": "ada@example.org", "password": "a brand new passphrase"})
    assert response.status_code == 302
    session.refresh(user)
    assert user.verified_addresses == ["ada@example.org"]


def test_reset_link_uses_public_url_not_the_host_header(app, client, session, make_user) -> None:
    app.config["PUBLIC_URL"] = "https://wallet.example.org"
    make_user(email="ada@example.org")
    client.post("/password/forgot", data={"email": "ada@example.org"}, headers={"Host": "evil.example"})
    body = session.query(OutboxMessage).one().body
    assert "https://wallet.example.org/password/reset/" in body
    assert "evil.example" not in body


def test_public_url_with_https_makes_cookies_secure(app_config) -> None:
    secure = create_app(dict(app_config, PUBLIC_URL="https://wallet.example.org"))
    plain = create_app(dict(app_config, PUBLIC_URL="http://localhost:5000"))
    assert secure.config["SESSION_COOKIE_SECURE"] and secure.config["REMEMBER_COOKIE_SECURE"]
    assert not plain.config["SESSION_COOKIE_SECURE"]


def _set_cookies(response) -> dict[str, list[str]]:
    """Return each cookie the response sets: name -> its attributes, lower-cased."""
    cookies = {}
    for header in response.headers.getlist("Set-Cookie"):
        pair, *attributes = [part.strip() for part in header.split(";")]
        cookies[pair.split("=", 1)[0]] = [a.lower() for a in attributes]
    return cookies


def test_public_url_https_cookies_get_the_host_prefix_path_root_and_no_domain(make_app, make_user) -> None:
    make_user(email="ada@example.org", display_name="Ada")
    secure = make_app(PUBLIC_URL="https://wallet.example.org")
    client = secure.test_client()
    client.environ_base.update({"wsgi.url_scheme": "https", "HTTP_HOST": "wallet.example.org"})
    response = client.post("/login", data={"email": "ada@example.org", "password": DEFAULT_PASSWORD, "remember": "y"})
    cookies = _set_cookies(response)
    assert set(cookies) == {"__Host-wallet_session", "__Host-remember_token"}
    for attributes in cookies.values():
        assert {"secure", "httponly", "path=/"} <= set(attributes)
        assert not any(a.startswith("domain=") for a in attributes)
    assert "samesite=lax" in cookies["__Host-wallet_session"]
    assert _logged_in_as(client) == "Ada"
    client.post("/logout")
    assert client.get_cookie("__Host-remember_token") is None and _logged_in_as(client) is None


def test_public_url_http_cookies_keep_their_plain_names(client, make_user) -> None:
    make_user(email="ada@example.org", display_name="Ada")
    response = client.post("/login", data={"email": "ada@example.org", "password": DEFAULT_PASSWORD, "remember": "y"})
    cookies = _set_cookies(response)
    assert set(cookies) == {"wallet_session", "remember_token"}
    assert "secure" not in cookies["wallet_session"] and "httponly" in cookies["wallet_session"]


@pytest.mark.parametrize(("settings", "session_name", "remember_name"), [
    ({}, "__Host-wallet_session", "__Host-remember_token"),
    ({"SESSION_COOKIE_DOMAIN": "example.org"}, "wallet_session", "__Host-remember_token"),
    ({"SESSION_COOKIE_NAME": "campus_wallet"}, "campus_wallet", "__Host-remember_token"),
    ({"APPLICATION_ROOT": "/wallet"}, "wallet_session", "__Host-remember_token"),
    ({"REMEMBER_COOKIE_PATH": "/app"}, "__Host-wallet_session", "remember_token"),
])
def test_public_url_https_keeps_plain_names_where_browsers_would_refuse_the_prefix(
        app_config, settings: dict, session_name: str, remember_name: str) -> None:
    config = create_app(dict(app_config, PUBLIC_URL="https://wallet.example.org", **settings)).config
    assert config["SESSION_COOKIE_NAME"] == session_name
    assert config.get("REMEMBER_COOKIE_NAME", "remember_token") == remember_name
    assert config["SESSION_COOKIE_SECURE"] and config["REMEMBER_COOKIE_SECURE"]


# Email confirmation


def test_confirm_link_get_changes_nothing_post_confirms(client, session, make_user, login) -> None:
    client.post("/register", data=REGISTRATION)
    link = mailed_link(session, "ada@example.org")
    page = client.get(link)
    assert page.status_code == 200 and "Confirm ada@example.org" in page.get_data(as_text=True)
    assert session.query(EmailAddress).one().verified_at is None
    response = client.post(link)
    assert response.status_code == 302
    session.expire_all()
    assert session.query(User).one().verified_addresses == ["ada@example.org"]
    assert client.post(link).status_code == 400


def test_confirm_link_for_someone_elses_address_is_refused(client, session, make_user, login) -> None:
    client.post("/register", data=REGISTRATION)
    link = mailed_link(session, "ada@example.org")
    client.post("/logout")
    login(make_user(email="mallory@example.org"))
    for response in (client.get(link), client.post(link)):
        assert response.status_code == 403
        assert "for a different account" in response.get_data(as_text=True)
    assert session.query(EmailAddress).filter_by(address="ada@example.org").one().verified_at is None


def test_confirm_link_when_logged_out_asks_to_log_in_first(client, session) -> None:
    client.post("/register", data=REGISTRATION)
    link = mailed_link(session, "ada@example.org")
    client.post("/logout")
    response = client.get(link)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    response = client.post("/login", data={"email": "ada@example.org", "password": REGISTRATION["password"],
                                           "next": link})
    assert response.headers["Location"] == link


def test_confirm_link_expired_is_refused(client, session) -> None:
    client.post("/register", data=REGISTRATION)
    link = mailed_link(session, "ada@example.org")
    session.query(AccountToken).one().expires_at = utcnow() - timedelta(seconds=1)
    session.commit()
    response = client.post(link)
    assert response.status_code == 400
    assert "This link has expired" in response.get_data(as_text=True)
    assert session.query(EmailAddress).one().verified_at is None


# Mail


def test_send_mail_by_smtp_delivers_and_keeps_no_outbox_copy(session) -> None:
    sink = SmtpSink(username="wallet", password="smtp secret")
    try:
        settings = MailSettings(sender="Wallet <wallet@example.org>", server="127.0.0.1", port=sink.port,
                                username="wallet", password="smtp secret", use_tls=False)
        assert send_mail(session, settings, to="ada@example.org", subject="Hello", body="Line one\n.\nLine two\n")
    finally:
        sink.close()
    assert len(sink.messages) == 1
    message = sink.messages[0]
    assert message.sender == "wallet@example.org" and message.recipients == ["ada@example.org"]
    assert "Subject: Hello" in message.data and "Line one\r\n.\r\nLine two" in message.data
    assert session.query(OutboxMessage).count() == 0


def test_send_mail_smtp_failure_keeps_the_message_in_the_outbox(session) -> None:
    sink = SmtpSink(username="wallet", password="right")
    try:
        settings = MailSettings(sender="wallet@example.org", server="127.0.0.1", port=sink.port,
                                username="wallet", password="wrong", use_tls=False)
        assert not send_mail(session, settings, to="ada@example.org", subject="Hello", body="Body")
    finally:
        sink.close()
    assert sink.messages == []
    assert session.query(OutboxMessage).one().subject == "Hello"


def test_send_mail_refuses_header_injection(session) -> None:
    with pytest.raises(ValueError, match="line breaks"):
        send_mail(session, MailSettings(sender="wallet@example.org"), to="a@example.org\r\nBcc: x@example.org",
                  subject="Hi", body="Body")
    assert session.query(OutboxMessage).count() == 0


def test_registration_mail_goes_by_smtp_when_configured(app, client, session) -> None:
    sink = SmtpSink()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=sink.port, MAIL_USE_TLS=False)
    try:
        client.post("/register", data=REGISTRATION)
    finally:
        sink.close()
    assert [m.recipients for m in sink.messages] == [["ada@example.org"]]
    assert "/email/confirm/" in sink.messages[0].data
    assert session.query(OutboxMessage).count() == 0


def test_send_mail_without_smtp_logs_neither_body_nor_address(client, session, caplog) -> None:
    client.post("/register", data=REGISTRATION)
    client.post("/logout")
    with caplog.at_level(logging.DEBUG):
        client.post("/password/forgot", data={"email": "ada@example.org"})
    link = mailed_link(session, "ada@example.org")
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "Reset your Wallet password" in logged
    assert link.rsplit("/", 1)[1] not in logged
    assert "/password/reset/" not in logged and "Open this link" not in logged
    assert "ada@example.org" not in logged


def test_send_mail_smtp_failure_logs_no_address(session, caplog) -> None:
    settings = MailSettings(sender="wallet@example.org", server="127.0.0.1", port=_closed_port(), use_tls=False)
    with caplog.at_level(logging.DEBUG):
        assert not send_mail(session, settings, to="ada@example.org", subject="Hello", body="secret link")
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "Hello" in logged and "ada@example.org" not in logged and "secret link" not in logged


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_outbox_page_is_off_by_default(client, session) -> None:
    client.post("/register", data=REGISTRATION)
    response = client.get("/dev/outbox", environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert response.status_code == 404
    assert "Confirm your email address" not in response.get_data(as_text=True)


def test_outbox_page_lists_mail_with_clickable_links(app, client, session) -> None:
    app.config["MAIL_OUTBOX"] = True
    client.post("/register", data=REGISTRATION)
    link = mailed_link(session, "ada@example.org")
    page = client.get("/dev/outbox").get_data(as_text=True)
    assert "Confirm your email address for Wallet" in page
    assert f'<a href="http://localhost{link}">' in page


@pytest.mark.parametrize(("config", "remote"), [
    ({"MAIL_OUTBOX": True, "MAIL_SERVER": "smtp.example.org"}, "127.0.0.1"),
    ({"MAIL_OUTBOX": False}, "127.0.0.1"),
    ({"MAIL_OUTBOX": True}, "203.0.113.9"),
])
def test_outbox_page_is_hidden_unless_local_development(app, client, config: dict, remote: str) -> None:
    app.config.update(config)
    response = client.get("/dev/outbox", environ_base={"REMOTE_ADDR": remote})
    assert response.status_code == 404


def test_outbox_escapes_mail_text(app, client, session) -> None:
    app.config["MAIL_OUTBOX"] = True
    session.add(OutboxMessage(recipient="a@example.org", subject="<script>x</script>",
                              body='Look: <img src=x onerror=alert(1)> https://example.org/"onmouseover=alert(1)'))
    session.commit()
    page = client.get("/dev/outbox").get_data(as_text=True)
    assert "<script>x</script>" not in page and "<img src=x" not in page
    assert '<a href="https://example.org/">' in page


def test_logout_deletes_the_remember_me_cookie(client, make_user) -> None:
    make_user(email="ada@example.org", display_name="Ada")
    client.post("/login", data={"email": "ada@example.org", "password": DEFAULT_PASSWORD, "remember": "y"})
    assert client.get_cookie("remember_token") is not None
    client.post("/logout")
    assert client.get_cookie("remember_token") is None
    assert _logged_in_as(client) is None


def test_remember_me_cookie_stops_working_after_password_change(client, session, make_user) -> None:
    user = make_user(email="ada@example.org", display_name="Ada")
    client.post("/login", data={"email": "ada@example.org", "password": DEFAULT_PASSWORD, "remember": "y"})
    remember = client.get_cookie("remember_token").value
    accounts.change_password(session, owner_id=user.id, current=DEFAULT_PASSWORD, new="a fresh passphrase here",
                             confirm="a fresh passphrase here")
    session.commit()
    browser_restarted = client.application.test_client()
    browser_restarted.set_cookie("remember_token", remember)
    assert _logged_in_as(browser_restarted) is None
