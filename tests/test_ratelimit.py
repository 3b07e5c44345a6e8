"""Rate limits: the limiter itself, account mail (F6, F12) and imports (A19), on the real app."""
from __future__ import annotations

import io
import threading
from datetime import timedelta

import pytest
import redis
from sqlalchemy import func, select

from tests.conftest import redis_prefix
from tests.support.accounts import bearer
from tests.support.credentials import HostedIssuer, JwtIssuer, bake_png_jwt, zip_of
from tests.support.jobs import job_items
from wallet.db import utcnow
from wallet.models import Credential, EmailAddress, OutboxMessage, User
from wallet.services.ratelimit import Limiters, RateLimiter, describe_wait, key_salt

MAIL_LIMIT_MESSAGE = "Too many emails were requested for this address or from your network."
IMPORT_LIMIT_MESSAGE = "You added many credentials in a short time."


# ---------------------------------------------------------------------------------------------
# The limiter


@pytest.fixture(params=["memory", "redis"])
def make_limiter(request, manual_clock):
    """Return a factory of limiters reading `manual_clock`, kept in memory or in a real Redis."""
    if request.param == "memory":
        registry = Limiters(manual_clock)
    else:
        registry = Limiters(manual_clock, redis_url=request.getfixturevalue("redis_url"), key_prefix=redis_prefix())
    return lambda limit, window: registry.get("test", limit, window)


def test_rate_limiter_take_under_the_limit_counts_and_allows(make_limiter) -> None:
    limiter = make_limiter(3, 60)
    assert [limiter.take("a") for _ in range(3)] == [0, 0, 0]
    assert limiter.is_blocked("a")
    assert not limiter.is_blocked("b")


def test_rate_limiter_take_at_the_limit_returns_the_wait_and_counts_nothing(make_limiter, manual_clock) -> None:
    limiter = make_limiter(2, 60)
    limiter.take("a")
    manual_clock.advance(10)
    limiter.take("a")
    manual_clock.advance(5)
    assert limiter.take("a") == 45  # the first event leaves the window 60 s after it happened
    assert limiter.retry_after("a") == 45
    manual_clock.advance(45.5)
    assert limiter.take("a") == 0  # refused takes were not counted: one slot is free again
    assert limiter.take("a") == 10


def test_rate_limiter_window_passed_allows_again(make_limiter, manual_clock) -> None:
    limiter = make_limiter(1, 600)
    limiter.take("a")
    manual_clock.advance(599.5)
    assert limiter.retry_after("a") == 1  # partial seconds round up, never to 0 while blocked
    manual_clock.advance(0.5)
    assert limiter.retry_after("a") == 1  # an event is inside its window up to and including its end
    manual_clock.advance(0.001)
    assert limiter.retry_after("a") == 0 and limiter.take("a") == 0


def test_rate_limiter_record_past_the_limit_stays_blocked_until_the_counted_events_leave(make_limiter,
                                                                                        manual_clock) -> None:
    limiter = make_limiter(2, 60)
    for _ in range(5):
        limiter.record("a")
        manual_clock.advance(1)
    assert limiter.retry_after("a") == 55
    manual_clock.advance(56)
    assert not limiter.is_blocked("a")


def test_rate_limiter_explicit_now_overrides_the_clock(make_limiter) -> None:
    limiter = make_limiter(1, 60)
    start = utcnow() - timedelta(days=1)
    limiter.record("a", now=start)
    assert limiter.is_blocked("a", now=start + timedelta(seconds=59))
    assert not limiter.is_blocked("a")


def test_rate_limiter_keys_are_stored_only_as_salted_hashes(redis_url) -> None:
    prefix = redis_prefix()
    registry = Limiters(redis_url=redis_url, key_prefix=prefix, salt=key_salt("one secret"))
    registry.get("login-client", 3, 60).record("198.51.100.7")
    stored = redis.Redis.from_url(redis_url).keys(f"{prefix}:*")
    assert len(stored) == 1 and b"198.51.100.7" not in stored[0]
    # Processes sharing SECRET_KEY share the count; another secret gives other keys.
    same = Limiters(redis_url=redis_url, key_prefix=prefix, salt=key_salt("one secret")).get("login-client", 3, 60)
    other = Limiters(redis_url=redis_url, key_prefix=prefix, salt=key_salt("another")).get("login-client", 3, 60)
    same.record("198.51.100.7")
    same.record("198.51.100.7")
    assert same.is_blocked("198.51.100.7") and not other.is_blocked("198.51.100.7")


def test_rate_limiter_shared_by_threads_never_allows_more_than_the_limit(make_limiter) -> None:
    limiter = make_limiter(100, 60)
    allowed: list[int] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        allowed.append(sum(1 for _ in range(50) if limiter.take("shared") == 0))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(allowed) == 100


@pytest.mark.parametrize(("limit", "window"), [(0, 60), (-1, 60), (5, 0)])
def test_rate_limiter_without_a_usable_limit_is_refused(limit: int, window: int) -> None:
    with pytest.raises(ValueError):
        RateLimiter(limit, window)


def test_limiters_same_name_and_settings_give_one_limiter_reading_the_shared_clock(manual_clock) -> None:
    registry = Limiters()
    first = registry.get("imports", 1, 60)
    assert registry.get("imports", 1, 60) is first
    assert registry.get("imports", 2, 60) is not first
    first.take("a")
    registry.clock = manual_clock
    manual_clock.advance(-3600)  # the clock is read at each call, so replacing it takes effect at once
    assert first.retry_after("a") > 3600


@pytest.mark.parametrize(("seconds", "words"), [(1, "1 minute"), (60, "1 minute"), (61, "2 minutes"),
                                                (3600, "60 minutes")])
def test_describe_wait_rounds_up_to_whole_minutes(seconds: int, words: str) -> None:
    assert describe_wait(seconds) == words


# ---------------------------------------------------------------------------------------------
# Account mail (F6): password reset, registration confirmation, address confirmation


def _outbox(session) -> int:
    return session.scalar(select(func.count()).select_from(OutboxMessage))


def test_forgot_password_over_the_address_limit_is_429_with_a_clear_message(app, client, session, make_user,
                                                                            rate_clock) -> None:
    app.config["MAIL_RATE_LIMIT_PER_ADDRESS"] = 2
    make_user(email="ada@example.org")
    for _ in range(2):
        assert client.post("/password/forgot", data={"email": "ada@example.org"}).status_code == 302
    response = client.post("/password/forgot", data={"email": " ADA@example.org"})
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3600"
    page = response.get_data(as_text=True)
    assert MAIL_LIMIT_MESSAGE in page and "Wait 60 minutes before asking again." in page
    assert _outbox(session) == 2


def test_forgot_password_limit_answers_known_and_unknown_addresses_alike(app, client, session, make_user,
                                                                        rate_clock) -> None:
    app.config["MAIL_RATE_LIMIT_PER_ADDRESS"] = 1
    make_user(email="ada@example.org")
    answers = []
    for address in ("ada@example.org", "nobody@example.org"):
        first = client.post("/password/forgot", data={"email": address}, follow_redirects=True)
        second = client.post("/password/forgot", data={"email": address})
        answers.append((first.status_code, first.request.path, second.status_code, second.headers["Retry-After"],
                        second.get_data(as_text=True).replace(address, "ADDRESS")))
    assert answers[0] == answers[1]
    assert answers[0][:4] == (200, "/login", 429, "3600")
    assert _outbox(session) == 1


def test_forgot_password_over_the_client_limit_refuses_any_address(app, client, session, make_user,
                                                                  rate_clock) -> None:
    app.config["MAIL_RATE_LIMIT_PER_CLIENT"] = 3
    make_user(email="ada@example.org")
    for number in range(3):
        client.post("/password/forgot", data={"email": f"probe{number}@example.org"})
    response = client.post("/password/forgot", data={"email": "ada@example.org"})
    assert response.status_code == 429 and MAIL_LIMIT_MESSAGE in response.get_data(as_text=True)
    assert _outbox(session) == 0
    other_client = client.post("/password/forgot", data={"email": "ada@example.org"},
                               environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other_client.status_code == 302 and _outbox(session) == 1


def test_forgot_password_refused_client_does_not_use_up_the_address_allowance(app, client, session, make_user,
                                                                             rate_clock) -> None:
    app.config.update(MAIL_RATE_LIMIT_PER_CLIENT=1, MAIL_RATE_LIMIT_PER_ADDRESS=1)
    make_user(email="ada@example.org")
    client.post("/password/forgot", data={"email": "someone@example.org"})
    for _ in range(3):
        assert client.post("/password/forgot", data={"email": "ada@example.org"}).status_code == 429
    owner = client.post("/password/forgot", data={"email": "ada@example.org"}, environ_base={"REMOTE_ADDR": "192.0.2.9"})
    assert owner.status_code == 302 and _outbox(session) == 1


def test_forgot_password_limit_lifts_when_the_window_has_passed(app, client, session, make_user, rate_clock) -> None:
    app.config.update(MAIL_RATE_LIMIT_PER_ADDRESS=1, MAIL_RATE_WINDOW_SECONDS=600)
    make_user(email="ada@example.org")
    client.post("/password/forgot", data={"email": "ada@example.org"})
    rate_clock.advance(599)
    refused = client.post("/password/forgot", data={"email": "ada@example.org"})
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
    rate_clock.advance(1.001)  # just past the end of the window (its last instant still counts)
    assert client.post("/password/forgot", data={"email": "ada@example.org"}).status_code == 302
    assert _outbox(session) == 2


def test_forgot_password_malformed_address_is_not_counted(app, client, session, make_user, rate_clock) -> None:
    app.config["MAIL_RATE_LIMIT_PER_CLIENT"] = 1
    make_user(email="ada@example.org")
    for _ in range(3):
        client.post("/password/forgot", data={"email": "not an address"})
    assert client.post("/password/forgot", data={"email": "ada@example.org"}).status_code == 302


REGISTRATION = {"display_name": "Ada Lovelace", "email": "ada@example.org",
                "password": "analytical engine notes", "confirm": "analytical engine notes"}


def test_register_over_the_limit_answers_the_same_for_a_used_and_a_free_address(app, session, make_user,
                                                                              rate_clock) -> None:
    app.config["MAIL_RATE_LIMIT_PER_CLIENT"] = 2
    make_user(email="taken@example.org")
    for number in range(2):
        app.test_client().post("/register", data=dict(REGISTRATION, email=f"learner{number}@example.org"))
    answers = []
    for address in ("taken@example.org", "free@example.org"):
        response = app.test_client().post("/register", data=dict(REGISTRATION, email=address))
        answers.append((response.status_code, response.headers["Retry-After"],
                        response.get_data(as_text=True).replace(address, "ADDRESS")))
    assert answers[0] == answers[1]
    assert answers[0][0] == 429 and MAIL_LIMIT_MESSAGE in answers[0][2]
    assert session.scalar(select(func.count()).select_from(User)) == 3
    assert session.scalar(select(EmailAddress).where(EmailAddress.address == "free@example.org")) is None
    assert _outbox(session) == 2


def test_register_confirmation_mail_counts_against_the_address(app, client, session, rate_clock) -> None:
    app.config["MAIL_RATE_LIMIT_PER_ADDRESS"] = 2
    assert client.post("/register", data=REGISTRATION).status_code == 302
    client.post("/logout")
    assert client.post("/password/forgot", data={"email": "ada@example.org"}).status_code == 302
    assert client.post("/password/forgot", data={"email": "ada@example.org"}).status_code == 429
    assert _outbox(session) == 2


def _add_address(client, session, address: str) -> EmailAddress | None:
    client.post("/settings/emails", data={"email-address": address})
    return session.scalar(select(EmailAddress).where(EmailAddress.address == address))


def test_resend_confirmation_over_the_limit_is_429_with_a_clear_message(app, client, session, make_user, login,
                                                                       rate_clock) -> None:
    app.config["MAIL_RATE_LIMIT_PER_ADDRESS"] = 3
    login(make_user(email="ada@example.org"))
    email = _add_address(client, session, "ada@school.example")  # the first confirmation mail
    for _ in range(2):
        assert client.post(f"/settings/emails/{email.id}/resend").status_code == 302
    response = client.post(f"/settings/emails/{email.id}/resend")
    assert response.status_code == 429 and response.headers["Retry-After"] == "3600"
    assert MAIL_LIMIT_MESSAGE in response.get_data(as_text=True)
    assert _outbox(session) == 3


def test_add_email_over_the_client_limit_is_refused_and_nothing_is_added(app, client, session, make_user, login,
                                                                        rate_clock) -> None:
    app.config["MAIL_RATE_LIMIT_PER_CLIENT"] = 1
    user = make_user(email="ada@example.org")
    login(user)
    assert _add_address(client, session, "ada@work.example") is not None
    response = client.post("/settings/emails", data={"email-address": "ada@home.example"})
    assert response.status_code == 429
    assert MAIL_LIMIT_MESSAGE in response.get_data(as_text=True)
    session.expire_all()
    assert sorted(e.address for e in session.get(User, user.id).emails) == ["ada@example.org", "ada@work.example"]
    assert _outbox(session) == 1


def test_login_failures_from_one_client_wait_for_the_shared_clock(app, client, make_user, rate_clock) -> None:
    app.config.update(LOGIN_IP_MAX_FAILURES=1, LOGIN_LOCKOUT_SECONDS=60)
    make_user(email="ada@example.org")
    client.post("/login", data={"email": "other@example.org", "password": "guess guess"})
    good = {"email": "ada@example.org", "password": "correct horse battery staple"}
    assert client.post("/login", data=good).status_code == 429
    rate_clock.advance(60.001)
    assert client.post("/login", data=good).status_code == 302


# ---------------------------------------------------------------------------------------------
# Imports (A19)


@pytest.fixture
def learner(make_user):
    return make_user(email="learner@example.org")


@pytest.fixture
def issuer() -> JwtIssuer:
    return JwtIssuer()


def _stored(session) -> int:
    return session.scalar(select(func.count()).select_from(Credential))


def test_api_import_over_the_limit_is_429_with_retry_after(app, client, session, learner, api_token, issuer,
                                                           rate_clock) -> None:
    app.config["IMPORT_RATE_LIMIT"] = 2
    auth = bearer(api_token(learner))
    for _ in range(2):
        assert client.post("/api/v1/credentials", json={"credential": issuer.jwt()}, headers=auth).status_code == 201
    rate_clock.advance(30)
    response = client.post("/api/v1/credentials", json={"credential": issuer.jwt()}, headers=auth)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "570"
    body = response.get_json()
    assert body["error"] == "RateLimited" and body["message"].startswith(IMPORT_LIMIT_MESSAGE)
    assert "Wait 10 minutes" in body["message"]
    assert _stored(session) == 2
    rate_clock.advance(570.001)
    assert client.post("/api/v1/credentials", json={"credential": issuer.jwt()}, headers=auth).status_code == 201


def test_import_limit_is_shared_by_the_page_and_the_api(app, client, session, learner, login, api_token, issuer,
                                                        rate_clock) -> None:
    app.config["IMPORT_RATE_LIMIT"] = 2
    auth = bearer(api_token(learner))
    login(learner)
    assert client.post("/api/v1/credentials", json={"credential": issuer.jwt()}, headers=auth).status_code == 201
    assert client.post("/credentials/add/paste", data={"credential": issuer.jwt()}).status_code == 302
    page = client.post("/credentials/add/paste", data={"credential": issuer.jwt()})
    assert page.status_code == 429 and page.mimetype == "text/html"
    assert IMPORT_LIMIT_MESSAGE in page.get_data(as_text=True)
    assert client.post("/api/v1/credentials", json={"credential": issuer.jwt()}, headers=auth).status_code == 429
    assert _stored(session) == 2


def test_import_limit_is_per_learner(app, client, session, learner, make_user, api_token, issuer, rate_clock) -> None:
    app.config["IMPORT_RATE_LIMIT"] = 1
    first, second = bearer(api_token(learner)), bearer(api_token(make_user()))
    assert client.post("/api/v1/credentials", json={"credential": issuer.jwt()}, headers=first).status_code == 201
    assert client.post("/api/v1/credentials", json={"credential": issuer.jwt()}, headers=first).status_code == 429
    assert client.post("/api/v1/credentials", json={"credential": issuer.jwt()}, headers=second).status_code == 201


def test_import_refused_attempts_count_too(app, client, learner, api_token, rate_clock) -> None:
    app.config["IMPORT_RATE_LIMIT"] = 2
    auth = bearer(api_token(learner))
    for _ in range(2):
        assert client.post("/api/v1/credentials", json={"credential": "{}"}, headers=auth).status_code == 422
    assert client.post("/api/v1/credentials", json={"credential": "{}"}, headers=auth).status_code == 429


def test_api_url_import_over_the_limit_fetches_nothing(make_app, document_server, learner, api_token) -> None:
    hosted = HostedIssuer(document_server)
    app = make_app(ALLOW_PRIVATE_NETWORK=True, URL_REWRITE=hosted.rewrite, IMPORT_RATE_LIMIT=1)
    client, auth = app.test_client(), bearer(api_token(learner))
    assert client.post("/api/v1/credentials", json={"url": hosted.assertion()}, headers=auth).status_code == 201
    fetched = len(document_server.requests)
    response = client.post("/api/v1/credentials", json={"url": hosted.assertion(name="Second")}, headers=auth)
    assert response.status_code == 429 and 0 < int(response.headers["Retry-After"]) <= 600
    assert len(document_server.requests) == fetched



def test_import_files_zip_entries_count_one_by_one(app, client, session, learner, login, issuer, rate_clock) -> None:
    app.config["IMPORT_RATE_LIMIT"] = 3
    login(learner)
    archive = zip_of({f"badge{n}.png": bake_png_jwt(issuer.jwt(name=f"Badge {n}")) for n in range(4)})
    response = client.post("/credentials/add/files", data={"files": (io.BytesIO(archive), "badges.zip")},
                           headers={"Accept": "application/json"}, content_type="multipart/form-data")
    assert response.status_code == 202  # a ZIP is imported as a background job, under the same limit
    states = job_items(app, session, response)
    assert [s["state"] for s in states] == ["imported", "imported", "imported", "rejected"]
    assert states[3]["error"] == "RateLimited" and states[3]["message"].startswith(IMPORT_LIMIT_MESSAGE)
    assert states[3]["filename"] == "badges.zip › badge3.png"
    assert _stored(session) == 3


def test_import_files_when_already_at_the_limit_is_429_before_reading(app, client, session, learner, login, issuer,
                                                                    rate_clock) -> None:
    app.config["IMPORT_RATE_LIMIT"] = 1
    login(learner)
    client.post("/credentials/add/paste", data={"credential": issuer.jwt()})
    archive = zip_of({"badge.png": bake_png_jwt(issuer.jwt())})
    response = client.post("/credentials/add/files", data={"files": (io.BytesIO(archive), "badges.zip")},
                           content_type="multipart/form-data")
    assert response.status_code == 429 and response.headers["Retry-After"] == "600"
    assert IMPORT_LIMIT_MESSAGE in response.get_data(as_text=True)
    assert _stored(session) == 1
