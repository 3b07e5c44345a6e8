"""Rate limits: the limiter itself and account mail (F6, F12), on the real app."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from wallet.db import utcnow
from wallet.models import EmailAddress, OutboxMessage, User
from wallet.services.ratelimit import Limiters, RateLimiter, describe_wait

MAIL_LIMIT_MESSAGE = "Too many emails were requested for this address or from your network."


# ---------------------------------------------------------------------------------------------
# The limiter


def test_rate_limiter_take_under_the_limit_counts_and_allows(manual_clock) -> None:
    limiter = RateLimiter(3, 60, clock=manual_clock)
    assert [limiter.take("a") for _ in range(3)] == [0, 0, 0]
    assert limiter.is_blocked("a")
    assert not limiter.is_blocked("b")


def test_rate_limiter_take_at_the_limit_returns_the_wait_and_counts_nothing(manual_clock) -> None:
    limiter = RateLimiter(2, 60, clock=manual_clock)
    limiter.take("a")
    manual_clock.advance(10)
    limiter.take("a")
    manual_clock.advance(5)
    assert limiter.take("a") == 45  # the first event leaves the window 60 s after it happened
    assert limiter.retry_after("a") == 45
    manual_clock.advance(45)
    assert limiter.take("a") == 0  # refused takes were not counted: one slot is free again
    assert limiter.take("a") == 10


def test_rate_limiter_window_passed_allows_again(manual_clock) -> None:
    limiter = RateLimiter(1, 600, clock=manual_clock)
    limiter.take("a")
    manual_clock.advance(599.5)
    assert limiter.retry_after("a") == 1  # partial seconds round up, never to 0 while blocked
    manual_clock.advance(0.5)
    assert limiter.retry_after("a") == 0 and limiter.take("a") == 0


def test_rate_limiter_record_counts_past_the_limit(manual_clock) -> None:
    limiter = RateLimiter(2, 60, clock=manual_clock)
    for _ in range(5):
        limiter.record("a")
    assert limiter.retry_after("a") == 60


def test_rate_limiter_explicit_now_overrides_the_clock() -> None:
    limiter = RateLimiter(1, 60)
    start = utcnow() - timedelta(days=1)
    limiter.record("a", now=start)
    assert limiter.is_blocked("a", now=start + timedelta(seconds=59))
    assert not limiter.is_blocked("a")


def test_rate_limiter_forgets_the_least_recently_used_keys_past_its_bound(manual_clock) -> None:
    limiter = RateLimiter(1, 60, max_keys=2, clock=manual_clock)
    for key in ("a", "b", "c"):
        limiter.take(key)
    assert not limiter.is_blocked("a")
    assert limiter.is_blocked("b") and limiter.is_blocked("c")


def test_rate_limiter_shared_by_threads_never_allows_more_than_the_limit(manual_clock) -> None:
    limiter = RateLimiter(100, 60, clock=manual_clock)
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
    rate_clock.advance(1)
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
    rate_clock.advance(60)
    assert client.post("/login", data=good).status_code == 302
