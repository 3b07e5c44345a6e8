"""The guarded fetcher's `send` (requests carrying a body or credentials) and `check`, over real sockets."""
from __future__ import annotations

import json

import pytest

from tests.support.servers import DocumentServer, Response
from wallet.services.errors import TooLargeError, UnsafeURLError
from wallet.services.http import GuardedFetcher
from wallet.services.verification.errors import RemoteError


@pytest.fixture
def server():
    server = DocumentServer()
    yield server
    server.close()


def test_send_posts_body_and_headers_and_returns_an_error_answer(server):
    bodies = []

    def token(handler):
        bodies.append((handler.request_body, handler.headers.get("Authorization"), handler.headers.get("Content-Type")))
        return Response(b'{"error": "invalid_grant"}', 400)

    server.routes["/token"] = token
    fetcher = GuardedFetcher(allow_private_network=True)

    answer = fetcher.send("POST", server.url("/token"), headers={"content-type": "application/x-www-form-urlencoded",
                                                                  "Authorization": "Basic abc"}, body=b"a=1&b=2")

    assert answer.status_code == 400 and json.loads(answer.body) == {"error": "invalid_grant"}
    assert bodies == [(b"a=1&b=2", "Basic abc", "application/x-www-form-urlencoded")]


def test_send_does_not_follow_a_redirect_with_credentials(server):
    server.routes["/api"] = Response(b"", 302, headers={"Location": server.url("/elsewhere")})
    fetcher = GuardedFetcher(allow_private_network=True)

    with pytest.raises(RemoteError, match="does not follow"):
        fetcher.send("GET", server.url("/api"), headers={"Authorization": "Bearer secret"})

    assert [path for _, path, _ in server.requests] == ["/api"]


def test_send_to_a_private_address_is_refused_before_connecting(server):
    fetcher = GuardedFetcher()

    with pytest.raises(UnsafeURLError):
        fetcher.send("POST", server.url("/register"), body=b"{}")

    assert server.requests == []


def test_send_answer_over_the_cap_is_refused(server):
    server.routes["/big"] = Response(b"x" * (1024 * 1024 + 1))
    fetcher = GuardedFetcher(allow_private_network=True)

    with pytest.raises(TooLargeError):
        fetcher.send("GET", server.url("/big"))


@pytest.mark.parametrize("url", ["http://127.0.0.1/", "https://10.0.0.1/token", "https://[::1]/x",
                                 "https://169.254.169.254/latest", "https://localhost/", "ftp://example.org/"])
def test_check_refuses_what_a_fetch_would_refuse(url):
    with pytest.raises(UnsafeURLError):
        GuardedFetcher().check(url)


def test_check_with_private_networks_allowed_accepts_loopback(server):
    GuardedFetcher(allow_private_network=True).check(server.url("/token"))
    assert server.requests == []  # nothing was sent
