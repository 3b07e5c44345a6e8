"""The guarded fetcher against real servers on 127.0.0.1 (docs/security.md A1-A16).

Happy paths run with `allow_private_network=True` so the fetcher may reach a loopback server.
Guard rules run with the address rule on: `socket.getaddrinfo` is patched so test names resolve to
chosen addresses (and real DNS is never asked), and `RecordingFetcher` notes every address the
fetcher connects to and, for a "public" host, opens the socket to a loopback stand-in server
instead, so no test traffic leaves the machine.
"""
from __future__ import annotations

import datetime
import gzip
import logging
import re
import socket
import socketserver
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, BinaryIO

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.support.servers import DocumentServer, Response
from wallet.services.errors import FetchError, TooLargeError, UnsafeURLError
from wallet.services.http import ACCEPT, MB, REFUSED_MESSAGE, GuardedFetcher, fetcher_from_config
from wallet.services.verification.errors import RemoteError

PUBLIC_IP = "93.184.215.14"
PUBLIC_IP6 = "2606:2800:21f:cb07:6820:80da:af6b:8b2c"
DOC = b'{"type": "Profile", "name": "Example Issuer"}'
REAL_GETADDRINFO = socket.getaddrinfo


class FakeDNS:
    """Answer chosen names with chosen addresses; numeric hosts are parsed, nothing goes to DNS."""

    def __init__(self) -> None:
        self.answers: dict[str, list[list[str]]] = {}
        self.calls: list[str] = []

    def add(self, name: str, *answers: list[str]) -> None:
        """Answer `name` with each list of addresses in turn, repeating the last one."""
        self.answers[name] = list(answers)

    def __call__(self, host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0,
                 flags: int = 0) -> list[tuple[Any, ...]]:
        self.calls.append(host)
        queue = self.answers.get(host)
        if queue is None:
            return REAL_GETADDRINFO(host, port, family, type, proto, flags | socket.AI_NUMERICHOST)
        ips = queue.pop(0) if len(queue) > 1 else queue[0]
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (ip, port, 0, 0)) if ":" in ip
            else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))
            for ip in ips
        ]


class RecordingFetcher(GuardedFetcher):
    """The real fetcher, noting each address it connects to; `reroute_port` plays public hosts locally."""

    def __init__(self, *, reroute_port: int | None = None, **settings: Any) -> None:
        super().__init__(**settings)
        self.connections: list[tuple[Any, ...]] = []
        self.reroute_port = reroute_port

    def open_socket(self, family: int, sockaddr: tuple[Any, ...], timeout: float) -> socket.socket:
        self.connections.append(tuple(sockaddr[:2]))
        if self.reroute_port is not None:
            family, sockaddr = socket.AF_INET, ("127.0.0.1", self.reroute_port)
        return super().open_socket(family, sockaddr, timeout)


class RawServer:
    """A TCP server on 127.0.0.1 that reads a request head, then lets `answer` write raw bytes."""

    def __init__(self, answer: Callable[[BinaryIO], None], host: str = "127.0.0.1") -> None:
        self.requests: list[bytes] = []
        outer = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                head = b""
                while not head.endswith(b"\r\n\r\n"):
                    line = self.rfile.readline(65537)
                    if not line:
                        return
                    head += line
                outer.requests.append(head)
                try:
                    answer(self.wfile)
                except OSError:
                    pass  # the fetcher hung up, as it should

        self._server = socketserver.ThreadingTCPServer((host, 0), Handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDNS:
    fake = FakeDNS()
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return fake


@pytest.fixture
def raw_server() -> Iterator[Callable[[Callable[[BinaryIO], None]], RawServer]]:
    servers: list[RawServer] = []

    def start(answer: Callable[[BinaryIO], None]) -> RawServer:
        servers.append(RawServer(answer))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def public_server() -> Iterator[DocumentServer]:
    """The loopback stand-in for every public host a `public_fetcher` connects to."""
    server = DocumentServer()
    yield server
    server.close()


@pytest.fixture
def public_fetcher(public_server: DocumentServer, document_server: DocumentServer,
                   dns: FakeDNS) -> RecordingFetcher:
    """A fetcher with the address rule on; `document_server` is the private victim, on an allowed port."""
    dns.add("issuer.example", [PUBLIC_IP])
    return RecordingFetcher(reroute_port=public_server.port, ports=frozenset({80, 443, document_server.port}))


@pytest.fixture(scope="module")
def quiet_servers() -> Iterator[tuple[DocumentServer, DocumentServer]]:
    """A private victim and a public stand-in shared by refusal tests: neither may ever see a request."""
    victim, stand_in = DocumentServer(), DocumentServer()
    yield victim, stand_in
    victim.close()
    stand_in.close()


@pytest.fixture
def guard_fetcher(quiet_servers: tuple[DocumentServer, DocumentServer], dns: FakeDNS) -> RecordingFetcher:
    """Like `public_fetcher`, on the shared quiet servers."""
    victim, stand_in = quiet_servers
    dns.add("issuer.example", [PUBLIC_IP])
    return RecordingFetcher(reroute_port=stand_in.port, ports=frozenset({80, 443, victim.port}))


@pytest.fixture
def local_fetcher() -> GuardedFetcher:
    return GuardedFetcher(allow_private_network=True)


def _json_route(body: bytes = DOC, **headers: str) -> Response:
    return Response(body, content_type="application/ld+json; charset=UTF-8", headers=headers)


def _redirect(location: str, **headers: str) -> Response:
    return Response(b"", status=302, content_type="", headers={"Location": location, **headers})


def _rewriting_fetcher(server: DocumentServer) -> GuardedFetcher:
    """A fetcher that serves https://issuer.example/ from `server`."""
    rewrite = {"https://issuer.example/": server.url("/")}
    return GuardedFetcher(allow_private_network=True, url_rewrite=rewrite)


def _sequence(*responses: Response) -> Callable[[BaseHTTPRequestHandler], Response]:
    """Answer with each response in turn, repeating the last one."""
    queue = list(responses)
    return lambda handler: queue.pop(0) if len(queue) > 1 else queue[0]


# --- Happy paths -------------------------------------------------------------------------------

def test_fetch_json_document_returns_body_and_media_type(local_fetcher, document_server):
    document_server.routes["/issuer.json"] = _json_route()
    url = document_server.url("/issuer.json")

    fetched = local_fetcher(url)

    assert (fetched.body, fetched.status_code, fetched.from_cache) == (DOC, 200, False)
    assert fetched.content_type == "application/ld+json"
    assert fetched.url == fetched.final_url == url
    assert fetched.headers["content-length"] == str(len(DOC))
    _, path, headers = document_server.requests[0]
    assert path == "/issuer.json"
    assert headers["Host"] == f"127.0.0.1:{document_server.port}"
    assert headers["User-Agent"].startswith("Wallet/")
    assert headers["Accept-Encoding"] == "identity"
    assert "Cookie" not in headers and "Authorization" not in headers


@pytest.mark.parametrize("kind, media_type", [("json", "application/ld+json"), ("jwt", "text/plain"),
                                              ("image", "image/png"), ("any", "*/*")])
def test_fetch_kind_sets_accept_header(local_fetcher, document_server, kind, media_type):
    document_server.routes["/doc"] = Response(b"x", content_type=media_type)

    local_fetcher(document_server.url("/doc"), kind=kind)

    accept = document_server.requests[0][2]["Accept"]
    assert accept == ACCEPT[kind] and media_type in accept


def test_fetch_unknown_kind_raises_value_error(local_fetcher, document_server):
    with pytest.raises(ValueError):
        local_fetcher(document_server.url("/doc"), kind="html")  # type: ignore[arg-type]
    assert document_server.requests == []


def test_fetch_ignores_proxy_environment_and_netrc(local_fetcher, document_server, monkeypatch, tmp_path):
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine 127.0.0.1 login admin password secret\n")
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    document_server.routes["/doc"] = _json_route()

    assert local_fetcher(document_server.url("/doc")).body == DOC
    assert "Authorization" not in document_server.requests[0][2]


# --- Size caps (A10, A11) ----------------------------------------------------------------------

def test_fetch_json_over_cap_is_too_large_but_image_of_same_size_is_not(local_fetcher, document_server):
    document_server.routes["/big"] = Response(b"x" * (MB + 1))

    with pytest.raises(TooLargeError, match="larger than 1 MB"):
        local_fetcher(document_server.url("/big"), kind="json")
    assert len(local_fetcher(document_server.url("/big"), kind="image").body) == MB + 1


def test_fetch_declared_length_over_cap_is_refused_before_reading(local_fetcher, raw_server):
    def answer(out: BinaryIO) -> None:
        out.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
        out.write(b"Content-Length: 1000000000\r\n\r\n{}")

    server = raw_server(answer)
    with pytest.raises(TooLargeError):
        local_fetcher(server.url("/huge"))


def test_fetch_body_past_short_content_length_is_never_read(local_fetcher, raw_server):
    def answer(out: BinaryIO) -> None:
        out.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\n")
        out.write(b'{"a": 1}' + b" " * (2 * MB))

    fetched = local_fetcher(raw_server(answer).url("/liar"))

    assert fetched.body == b'{"a":'


def test_fetch_body_without_length_over_cap_is_too_large(local_fetcher, raw_server):
    def answer(out: BinaryIO) -> None:
        out.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n")
        out.write(b" " * (2 * MB))

    with pytest.raises(TooLargeError):
        local_fetcher(raw_server(answer).url("/unsized"))


def test_fetch_endless_chunked_body_is_too_large(local_fetcher, raw_server):
    def answer(out: BinaryIO) -> None:
        out.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b" " * 65536
        for _ in range(1600):  # 100 MB at most, so a broken cap fails instead of hanging
            out.write(b"10000\r\n" + chunk + b"\r\n")
        out.write(b"0\r\n\r\n")

    with pytest.raises(TooLargeError):
        local_fetcher(raw_server(answer).url("/endless"))


def test_fetch_gzip_bomb_counts_decoded_bytes(local_fetcher, document_server):
    bomb = gzip.compress(b"\0" * (10 * MB))
    document_server.routes["/bomb"] = Response(bomb, headers={"Content-Encoding": "gzip"})

    with pytest.raises(TooLargeError):
        local_fetcher(document_server.url("/bomb"))


def test_fetch_max_bytes_setting_lowers_every_cap(document_server):
    fetcher = GuardedFetcher(allow_private_network=True, max_bytes=10)
    document_server.routes["/doc"] = _json_route()

    with pytest.raises(TooLargeError, match="larger than 10 bytes"):
        fetcher(document_server.url("/doc"), kind="image")


# --- Deadlines (A12) ---------------------------------------------------------------------------

def test_fetch_slow_drip_body_is_cut_at_total_deadline(raw_server):
    def answer(out: BinaryIO) -> None:
        out.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n")
        for _ in range(40):  # 4 s in all: a fetcher without a total deadline gets the whole body
            out.write(b" ")
            time.sleep(0.1)

    fetcher = GuardedFetcher(allow_private_network=True, total_timeout=1.0)
    with pytest.raises(FetchError, match="did not answer in time"):
        fetcher(raw_server(answer).url("/drip"))


def test_fetch_slow_drip_headers_are_cut_at_total_deadline(raw_server):
    def answer(out: BinaryIO) -> None:
        out.write(b"HTTP/1.1 200 OK\r\n")
        for _ in range(40):
            out.write(b"X-Drip: a\r\n")
            time.sleep(0.1)
        out.write(b"Content-Length: 2\r\n\r\n{}")

    fetcher = GuardedFetcher(allow_private_network=True, total_timeout=1.0)
    with pytest.raises(FetchError, match="did not answer in time"):
        fetcher(raw_server(answer).url("/drip"))


def test_fetch_short_deadline_behind_a_long_one_is_cut_on_time(raw_server):
    def answer(out: BinaryIO) -> None:
        out.write(b"HTTP/1.1 200 OK\r\n")
        for _ in range(40):  # 4 s of headers
            out.write(b"X-Drip: a\r\n")
            time.sleep(0.1)
        out.write(b"Content-Length: 2\r\n\r\n{}")

    server = raw_server(answer)
    patient = GuardedFetcher(allow_private_network=True, total_timeout=30.0)
    background = threading.Thread(target=lambda: patient(server.url("/slow")), daemon=True)
    background.start()
    time.sleep(0.2)  # the 30 s deadline is the earliest one waiting now
    hasty = GuardedFetcher(allow_private_network=True, total_timeout=1.0)

    started = time.monotonic()
    with pytest.raises(FetchError, match="did not answer in time"):
        hasty(server.url("/drip"))
    assert time.monotonic() - started < 3.0
    background.join()


def test_fetch_silent_server_times_out(raw_server):
    fetcher = GuardedFetcher(allow_private_network=True, read_timeout=0.5, total_timeout=5.0)
    server = raw_server(lambda out: time.sleep(3))

    with pytest.raises(FetchError, match="did not answer in time"):
        fetcher(server.url("/silent"))


# --- Errors and retries ------------------------------------------------------------------------

def test_fetch_gone_raises_remote_error_with_status_and_no_remote_text(local_fetcher, document_server):
    document_server.routes["/revoked"] = Response(b"<h1>internal detail</h1>", status=410,
                                                  content_type="text/html")
    url = document_server.url("/revoked")

    with pytest.raises(RemoteError) as caught:
        local_fetcher(url)

    assert (caught.value.status_code, caught.value.url) == (410, url)
    assert "internal detail" not in str(caught.value)
    assert len(document_server.requests) == 1


def test_fetch_not_found_is_not_retried(local_fetcher, document_server):
    with pytest.raises(RemoteError) as caught:
        local_fetcher(document_server.url("/missing"))
    assert caught.value.status_code == 404
    assert len(document_server.requests) == 1


def test_fetch_unavailable_once_is_retried_once(local_fetcher, document_server):
    document_server.routes["/flaky"] = _sequence(Response(b"", status=503), _json_route())

    assert local_fetcher(document_server.url("/flaky")).body == DOC
    assert len(document_server.requests) == 2


def test_fetch_unavailable_twice_raises_after_one_retry(local_fetcher, document_server):
    document_server.routes["/down"] = Response(b"", status=503)

    with pytest.raises(RemoteError) as caught:
        local_fetcher(document_server.url("/down"))
    assert caught.value.status_code == 503
    assert len(document_server.requests) == 2


def test_fetch_closed_port_fails_after_one_retry():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    fetcher = RecordingFetcher(allow_private_network=True)

    with pytest.raises(FetchError, match="Could not reach the server at 127.0.0.1"):
        fetcher(f"http://127.0.0.1:{port}/doc")
    assert fetcher.connections == [("127.0.0.1", port)] * 2


def test_fetch_unknown_host_is_a_fetch_error(dns):
    with pytest.raises(FetchError, match="Could not find the server") as caught:
        GuardedFetcher()("https://no-such-host.example/doc")
    assert not isinstance(caught.value, UnsafeURLError)


# --- Redirects (A6) ----------------------------------------------------------------------------

def _chain(server: DocumentServer, hops: int) -> str:
    for hop in range(hops):
        server.routes[f"/hop{hop}"] = _redirect(f"/hop{hop + 1}" if hop + 1 < hops else "/end")
    server.routes["/end"] = _json_route()
    return server.url("/hop0")


def test_fetch_five_redirects_are_followed(local_fetcher, document_server):
    fetched = local_fetcher(_chain(document_server, 5))

    assert fetched.body == DOC
    assert fetched.final_url == document_server.url("/end")
    assert fetched.url == document_server.url("/hop0")
    assert len(document_server.requests) == 6


def test_fetch_six_redirects_are_refused(local_fetcher, document_server):
    with pytest.raises(UnsafeURLError, match="redirected too many times"):
        local_fetcher(_chain(document_server, 6))
    assert len(document_server.requests) == 6
    assert ("GET", "/end") not in [(method, path) for method, path, _ in document_server.requests]


def test_fetch_redirect_loop_is_refused(local_fetcher, document_server):
    document_server.routes["/loop"] = _redirect("/loop")

    with pytest.raises(UnsafeURLError):
        local_fetcher(document_server.url("/loop"))
    assert len(document_server.requests) == 6


@pytest.mark.parametrize("location", [
    "http://169.254.169.254/latest/meta-data/",
    "http://127.0.0.1:{victim}/admin",
    "http://[::ffff:169.254.169.254]/",
    "file:///etc/passwd",
    "gopher://issuer.example:70/_x",
    "http://admin@issuer.example/",
    "http://issuer.example:22/",
])
def test_fetch_redirect_to_refused_destination_is_refused(public_fetcher, public_server, document_server,
                                                          location):
    public_server.routes["/badge.json"] = _redirect(location.replace("{victim}", str(document_server.port)))

    with pytest.raises(UnsafeURLError, match="^" + re.escape(REFUSED_MESSAGE)):
        public_fetcher("http://issuer.example/badge.json")
    assert len(public_server.requests) == 1
    assert public_fetcher.connections == [(PUBLIC_IP, 80)]
    assert document_server.requests == []


def test_fetch_https_to_http_redirect_is_refused(document_server):
    fetcher = _rewriting_fetcher(document_server)
    document_server.routes["/start"] = _redirect("http://issuer.example/next")
    document_server.routes["/next"] = _json_route()

    with pytest.raises(UnsafeURLError):
        fetcher("https://issuer.example/start")
    assert [path for _, path, _ in document_server.requests] == ["/start"]


def test_fetch_redirect_sends_no_cookie_to_next_hop(local_fetcher, document_server):
    document_server.routes["/login"] = _redirect("/doc", **{"Set-Cookie": "session=abc; Path=/"})
    document_server.routes["/doc"] = _json_route()

    local_fetcher(document_server.url("/login"))

    assert "Cookie" not in document_server.requests[1][2]


# --- URL rewrite -------------------------------------------------------------------------------

def test_fetch_rewritten_url_reports_original_urls(document_server):
    fetcher = _rewriting_fetcher(document_server)
    document_server.routes["/old.json"] = _redirect(document_server.url("/badge.json"))
    document_server.routes["/badge.json"] = _json_route()

    fetched = fetcher("https://issuer.example/old.json")

    assert fetched.body == DOC
    assert fetched.url == "https://issuer.example/old.json"
    assert fetched.final_url == "https://issuer.example/badge.json"
    assert [path for _, path, _ in document_server.requests] == ["/old.json", "/badge.json"]


def test_fetch_rewrite_longest_prefix_wins(document_server):
    fetcher = GuardedFetcher(allow_private_network=True, url_rewrite={
        "https://issuer.example/": document_server.url("/site/"),
        "https://issuer.example/keys/": document_server.url("/keyring/"),
    })
    document_server.routes["/keyring/1.json"] = _json_route()

    assert fetcher("https://issuer.example/keys/1.json").body == DOC


def test_fetch_rewrite_does_not_lift_url_rules(document_server):
    fetcher = _rewriting_fetcher(document_server)

    with pytest.raises(UnsafeURLError):
        fetcher("https://admin@issuer.example/doc")
    assert document_server.requests == []


def test_fetch_rewrite_to_private_address_is_refused_without_private_network(document_server):
    fetcher = RecordingFetcher(url_rewrite={"https://issuer.example/": document_server.url("/")},
                               ports=frozenset({80, 443, document_server.port}))

    with pytest.raises(UnsafeURLError):
        fetcher("https://issuer.example/doc")
    assert fetcher.connections == [] and document_server.requests == []


# --- The address guard (A1-A5, A7-A9), all refused before any connection -------------------------

REFUSED_URLS = [
    # A1
    "http://127.0.0.1:{victim}/admin", "http://localhost:{victim}/", "http://[::1]:{victim}/",
    "http://0.0.0.0:{victim}/",
    # A2
    "http://10.0.0.1:{victim}/", "http://172.16.0.1:{victim}/", "http://192.168.1.1:{victim}/",
    "http://100.64.0.1:{victim}/", "http://169.254.169.254/latest/meta-data/",
    "http://metadata.google.internal/", "http://[fd00:ec2::254]/", "http://[fc00::1]/", "http://[fe80::1]/",
    "http://224.0.0.1/", "http://[ff02::1]/",
    "http://240.0.0.1/", "http://255.255.255.255/", "http://192.0.0.8/", "http://198.18.0.1/", "http://[::]/",
    "http://192.0.2.1/",
    # A3
    "http://2130706433:{victim}/", "http://0x7f000001:{victim}/", "http://0177.0.0.1:{victim}/",
    "http://127.1:{victim}/", "http://[::ffff:127.0.0.1]:{victim}/", "http://[::ffff:7f00:1]:{victim}/",
    "http://[64:ff9b::7f00:1]:{victim}/", "http://[2002:7f00:1::]:{victim}/", "http://[2002:a00:1::]/",
    "http://[::127.0.0.1]:{victim}/", "http://[fe80::1%25eth0]/",
    "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
    "http://\uff11\uff12\uff17.\uff10.\uff10.\uff11:{victim}/", "http://\u2460\u2461\u2466.0.0.1/",
    # A7
    "file:///etc/passwd", "gopher://issuer.example:70/_x", "ftp://issuer.example/",
    "dict://issuer.example:11211/",
    "ldap://issuer.example/", "jar:http://issuer.example/x.jar!/", "data:application/json,{}",
    "javascript:alert(1)", "//issuer.example/badge.json", "issuer.example/badge.json", "",
    # A8
    "https://issuer.example:22/", "http://issuer.example:6379/", "http://issuer.example:25/",
    "http://issuer.example:11211/", "http://issuer.example:8080/",
    # A9
    "http://evil@issuer.example/", "http://user:pass@issuer.example/", "http://@issuer.example/",
    "http://127.0.0.1:{victim}#@issuer.example/", "http://issuer.example\\@evil.example/",
    "http://issuer.example/\r\nX-Injected: 1", "http://issuer.example/a b", "http://issuer.example/\ta",
    " http://issuer.example/", "http://issuer.example/\x00", "http://issuer.example/\u2028",
    "http://issu%65r.example/", "http://intranet/",
]


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_fetch_refused_destination_is_refused_before_connecting(guard_fetcher, quiet_servers, url):
    victim, stand_in = quiet_servers

    with pytest.raises(UnsafeURLError) as caught:
        guard_fetcher(url.replace("{victim}", str(victim.port)))

    assert str(caught.value) == REFUSED_MESSAGE
    assert guard_fetcher.connections == []
    assert victim.requests == [] and stand_in.requests == []


def test_fetch_public_host_connects_to_checked_address_with_host_name(public_fetcher, public_server, dns):
    public_server.routes["/issuer.json"] = _json_route()

    fetched = public_fetcher("http://issuer.example/issuer.json")

    assert fetched.body == DOC
    assert public_fetcher.connections == [(PUBLIC_IP, 80)]
    assert public_server.requests[0][2]["Host"] == "issuer.example"
    assert dns.calls.count("issuer.example") == 1


@pytest.mark.parametrize("addresses", [
    ["10.1.2.3"], ["127.0.0.1"], ["169.254.169.254"], ["::1"], ["fd00::5"],
    [PUBLIC_IP, "127.0.0.1"], ["127.0.0.1", PUBLIC_IP], [PUBLIC_IP6, "::1"], [PUBLIC_IP, "::ffff:10.0.0.1"],
])
def test_fetch_host_with_any_private_record_is_refused(guard_fetcher, quiet_servers, dns, addresses):
    victim, stand_in = quiet_servers
    dns.add("mixed.example", addresses)

    with pytest.raises(UnsafeURLError, match="^" + re.escape(REFUSED_MESSAGE)):
        guard_fetcher(f"http://mixed.example:{victim.port}/")
    assert guard_fetcher.connections == []
    assert victim.requests == [] and stand_in.requests == []


def test_fetch_dns_rebinding_connects_to_checked_address(public_fetcher, public_server, document_server, dns):
    dns.add("rebind.example", [PUBLIC_IP], ["127.0.0.1"])
    public_server.routes["/doc"] = _json_route()

    fetched = public_fetcher(f"http://rebind.example:{document_server.port}/doc")

    assert fetched.body == DOC
    assert public_fetcher.connections == [(PUBLIC_IP, document_server.port)]
    assert dns.calls.count("rebind.example") == 1
    assert document_server.requests == []


def test_fetch_pins_connection_to_first_answer_on_real_sockets(document_server, dns):
    # Two real servers on one port: 127.0.0.1 (checked) and 127.0.0.2 (what DNS says afterwards).
    other = ThreadingHTTPServer(("127.0.0.2", document_server.port), BaseHTTPRequestHandler)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    dns.add("rebind.example", ["127.0.0.1"], ["127.0.0.2"])
    document_server.routes["/doc"] = _json_route()
    try:
        fetched = GuardedFetcher(allow_private_network=True)(
            f"http://rebind.example:{document_server.port}/doc")
    finally:
        other.shutdown()
        other.server_close()

    assert fetched.body == DOC
    assert document_server.requests[0][2]["Host"] == f"rebind.example:{document_server.port}"
    assert dns.calls.count("rebind.example") == 1


def test_fetch_private_network_setting_keeps_other_rules(document_server):
    fetcher = GuardedFetcher(allow_private_network=True)

    for url in (f"http://admin@127.0.0.1:{document_server.port}/", "file:///etc/passwd",
                f"http://127.0.0.1:{document_server.port}/\n"):
        with pytest.raises(UnsafeURLError):
            fetcher(url)
    assert document_server.requests == []


def test_fetch_refusal_is_logged_with_control_characters_escaped(guard_fetcher, caplog):
    with caplog.at_level(logging.WARNING, logger="wallet.services.http"):
        with pytest.raises(UnsafeURLError):
            guard_fetcher("http://issuer.example/\nFAKE LOG LINE")

    messages = [record.getMessage() for record in caplog.records]
    assert any("\\nFAKE LOG LINE" in message for message in messages)
    assert not any("\n" in message for message in messages)


# --- TLS: SNI and certificate checked against the host name, socket to the checked address --------

def _tls_files(tmp_path: Path, host: str) -> tuple[Path, Path, Path]:
    now = datetime.datetime.now(datetime.timezone.utc)
    day = datetime.timedelta(days=1)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Wallet Test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - day).not_valid_after(now + day)
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(
              digital_signature=False, content_commitment=False, key_encipherment=False,
              data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
              encipher_only=False, decipher_only=False,
          ), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    leaf = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - day).not_valid_after(now + day)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = (tmp_path / "ca.pem", tmp_path / "cert.pem", tmp_path / "key.pem")
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[ThreadingHTTPServer, Path, list[str], list[str]]]:
    """An HTTPS server on 127.0.0.1 for issuer.example: (server, CA file, SNI names, Host headers)."""
    ca_path, cert_path, key_path = _tls_files(tmp_path, "issuer.example")
    server_names: list[str] = []
    hosts: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server API)
            hosts.append(self.headers["Host"])
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(DOC)))
            self.end_headers()
            self.wfile.write(DOC)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    context.sni_callback = lambda sock, name, ctx: server_names.append(name) and None
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server, ca_path, server_names, hosts
    server.shutdown()
    server.server_close()


def test_fetch_https_checks_certificate_against_host_name(tls_server, dns):
    server, ca_path, server_names, hosts = tls_server
    port = server.server_address[1]
    dns.add("issuer.example", ["127.0.0.1"])
    fetcher = GuardedFetcher(allow_private_network=True, ca_file=str(ca_path))

    fetched = fetcher(f"https://issuer.example:{port}/issuer.json")

    assert fetched.body == DOC
    assert server_names == ["issuer.example"]
    assert hosts == [f"issuer.example:{port}"]


def test_fetch_https_kept_alive_connection_is_reused_without_a_second_handshake(tls_server, dns):
    server, ca_path, server_names, hosts = tls_server
    server.RequestHandlerClass.protocol_version = "HTTP/1.1"  # keep the connection open
    port = server.server_address[1]
    dns.add("issuer.example", ["127.0.0.1"])
    fetcher = GuardedFetcher(allow_private_network=True, ca_file=str(ca_path))

    bodies = [fetcher(f"https://issuer.example:{port}/doc{n}.json").body for n in range(3)]

    assert bodies == [DOC] * 3
    assert server_names == ["issuer.example"]  # one TLS handshake for the three fetches
    assert hosts == [f"issuer.example:{port}"] * 3
    assert dns.calls.count("issuer.example") == 3  # every fetch still resolves and checks the name


def test_fetch_https_certificate_for_other_host_is_refused(tls_server, dns):
    server, ca_path, server_names, hosts = tls_server
    dns.add("other.example", ["127.0.0.1"])
    fetcher = GuardedFetcher(allow_private_network=True, ca_file=str(ca_path))

    with pytest.raises(FetchError, match="secure connection"):
        fetcher(f"https://other.example:{server.server_address[1]}/issuer.json")
    assert server_names == ["other.example"]
    assert hosts == []


# --- Cache -------------------------------------------------------------------------------------

def test_fetch_cache_hit_makes_no_second_request(local_fetcher, document_server):
    document_server.routes["/issuer.json"] = _json_route()
    url = document_server.url("/issuer.json")

    first, second = local_fetcher(url), local_fetcher(url)

    assert (first.from_cache, second.from_cache) == (False, True)
    assert second.body == DOC and second.url == url
    assert len(document_server.requests) == 1


def test_fetch_cache_keys_on_kind(local_fetcher, document_server):
    document_server.routes["/doc"] = _json_route()

    local_fetcher(document_server.url("/doc"), kind="json")
    local_fetcher(document_server.url("/doc"), kind="jwt")

    assert len(document_server.requests) == 2


@pytest.mark.parametrize("kind, headers", [
    ("image", {}), ("any", {}), ("json", {"Cache-Control": "no-store"}),
])
def test_fetch_images_and_no_store_answers_are_not_cached(local_fetcher, document_server, kind, headers):
    document_server.routes["/doc"] = _json_route(**headers)

    local_fetcher(document_server.url("/doc"), kind=kind)
    second = local_fetcher(document_server.url("/doc"), kind=kind)

    assert not second.from_cache
    assert len(document_server.requests) == 2


def test_fetch_error_answers_are_not_cached(local_fetcher, document_server):
    document_server.routes["/doc"] = _sequence(Response(b"", status=404), _json_route())

    with pytest.raises(RemoteError):
        local_fetcher(document_server.url("/doc"))
    assert local_fetcher(document_server.url("/doc")).body == DOC


def _conditional(etag: str, body: bytes = DOC) -> Callable[[BaseHTTPRequestHandler], Response]:
    def route(handler: BaseHTTPRequestHandler) -> Response:
        if handler.headers.get("If-None-Match") == etag:
            return Response(b"", status=304, content_type="")
        return _json_route(body, ETag=etag, **{"Last-Modified": "Tue, 01 Sep 2026 10:00:00 GMT"})
    return route


def test_fetch_stale_entry_is_revalidated_and_reused_on_not_modified(document_server):
    fetcher = GuardedFetcher(allow_private_network=True, fresh_seconds=0)
    document_server.routes["/keys.json"] = _conditional('"v1"')

    first = fetcher(document_server.url("/keys.json"))
    second = fetcher(document_server.url("/keys.json"))

    assert (second.body, second.from_cache, second.status_code) == (DOC, True, 200)
    assert second.content_type == first.content_type == "application/ld+json"
    headers = document_server.requests[1][2]
    assert headers["If-None-Match"] == '"v1"'
    assert headers["If-Modified-Since"] == "Tue, 01 Sep 2026 10:00:00 GMT"


def test_fetch_short_max_age_overrides_fresh_period(local_fetcher, document_server):
    document_server.routes["/status.json"] = lambda handler: (
        Response(b"", status=304, content_type="") if handler.headers.get("If-None-Match") == '"s1"'
        else _json_route(ETag='"s1"', **{"Cache-Control": "max-age=0"}))

    local_fetcher(document_server.url("/status.json"))
    second = local_fetcher(document_server.url("/status.json"))

    assert second.from_cache and second.body == DOC
    assert len(document_server.requests) == 2


def test_fetch_changed_document_replaces_stale_entry(document_server):
    fetcher = GuardedFetcher(allow_private_network=True, fresh_seconds=0)
    document_server.routes["/doc"] = _conditional('"v1"')
    fetcher(document_server.url("/doc"))
    document_server.routes["/doc"] = _conditional('"v2"', body=b'{"v": 2}')

    second = fetcher(document_server.url("/doc"))

    assert (second.body, second.from_cache) == (b'{"v": 2}', False)


def test_fetch_clear_cache_forgets_documents(local_fetcher, document_server):
    document_server.routes["/doc"] = _json_route()
    local_fetcher(document_server.url("/doc"))

    local_fetcher.clear_cache()

    assert not local_fetcher(document_server.url("/doc")).from_cache
    assert len(document_server.requests) == 2


def test_fetch_cache_evicts_least_recently_used_past_its_bounds(document_server):
    # Room for one small document with its headers (about 1.3 KB counted), not two.
    fetcher = GuardedFetcher(allow_private_network=True, cache_bytes=2000)
    document_server.routes["/a"] = document_server.routes["/b"] = _json_route()

    fetcher(document_server.url("/a"))
    fetcher(document_server.url("/b"))

    assert fetcher(document_server.url("/b")).from_cache
    assert not fetcher(document_server.url("/a")).from_cache


def test_fetch_cache_many_large_documents_stay_under_its_byte_budget(document_server):
    fetcher = GuardedFetcher(allow_private_network=True, cache_bytes=1 * MB)
    for number in range(20):
        document_server.routes[f"/big/{number}"] = _json_route(b'{"pad": "' + b"x" * 200_000 + b'"}')
        fetcher(document_server.url(f"/big/{number}"))
        assert fetcher.cache.size <= 1 * MB
    assert 3 <= len(fetcher.cache) <= 5
    # Each entry is counted with its body, at least.
    assert fetcher.cache.size >= len(fetcher.cache) * 200_000
    assert not fetcher(document_server.url("/big/0")).from_cache
    assert fetcher(document_server.url("/big/19")).from_cache


def test_fetch_document_larger_than_the_cache_is_served_but_not_kept(document_server):
    fetcher = GuardedFetcher(allow_private_network=True, cache_bytes=100_000)
    document_server.routes["/big"] = _json_route(b'{"pad": "' + b"x" * 200_000 + b'"}')
    assert len(fetcher(document_server.url("/big")).body) > 200_000
    assert len(fetcher.cache) == 0 and fetcher.cache.size == 0
    assert not fetcher(document_server.url("/big")).from_cache


def test_fetch_concurrent_fetches_share_the_cache_safely(document_server):
    fetcher = GuardedFetcher(allow_private_network=True, cache_bytes=3000)  # two entries of four
    for name in "abcd":
        document_server.routes[f"/{name}"] = _json_route(f'{{"id": "{name}"}}'.encode())
    results: list[tuple[str, bytes]] = []
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            for _ in range(5):
                results.append((name, fetcher(document_server.url(f"/{name}")).body))
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(name,)) for name in "abcd" * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(results) == 40
    assert all(body == f'{{"id": "{name}"}}'.encode() for name, body in results)


# --- Kept-alive connections -----------------------------------------------------------------------

@pytest.fixture
def keep_alive_server() -> Iterator[DocumentServer]:
    server = DocumentServer(keep_alive=True)
    yield server
    server.close()


def test_fetch_keep_alive_server_serves_many_fetches_on_one_connection(keep_alive_server):
    fetcher = RecordingFetcher(allow_private_network=True)
    for number in range(5):
        keep_alive_server.routes[f"/doc{number}"] = _json_route(f'{{"n": {number}}}'.encode())

    bodies = [fetcher(keep_alive_server.url(f"/doc{number}")).body for number in range(5)]

    assert bodies == [f'{{"n": {number}}}'.encode() for number in range(5)]
    assert fetcher.connections == [("127.0.0.1", keep_alive_server.port)]
    assert len(set(keep_alive_server.peers)) == 1 and len(keep_alive_server.peers) == 5


def test_fetch_kept_alive_connection_is_never_reused_for_other_checked_addresses(dns, keep_alive_server):
    # Both answers are public: the second fetch may go ahead, but only to the address it checked (A5).
    other_ip = "93.184.215.15"
    dns.add("issuer.example", [PUBLIC_IP], [other_ip])
    fetcher = RecordingFetcher(reroute_port=keep_alive_server.port, ports=frozenset({80, 443}))
    keep_alive_server.routes["/doc"] = _json_route()

    fetcher("http://issuer.example/doc")
    fetcher("http://issuer.example/doc", revalidate=True)

    assert fetcher.connections == [(PUBLIC_IP, 80), (other_ip, 80)]
    assert len(set(keep_alive_server.peers)) == 2


class _KeepAliveThenDrip(BaseHTTPRequestHandler):
    """HTTP/1.1: /fast answers at once on a kept-alive connection; /drip sends a header line every 0.1 s."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        if self.path == "/fast":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(DOC)))
            self.end_headers()
            self.wfile.write(DOC)
            return
        self.wfile.write(b"HTTP/1.1 200 OK\r\n")
        try:
            for _ in range(40):  # 4 s in all
                self.wfile.write(b"X-Drip: a\r\n")
                self.wfile.flush()
                time.sleep(0.1)
            self.wfile.write(b"Content-Length: 2\r\n\r\n{}")
        except OSError:
            pass  # the fetcher hung up, as it should

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_fetch_on_a_reused_connection_is_cut_at_total_deadline():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _KeepAliveThenDrip)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    fetcher = RecordingFetcher(allow_private_network=True, total_timeout=1.0)
    try:
        assert fetcher(f"http://127.0.0.1:{server.server_address[1]}/fast").body == DOC
        started = time.monotonic()
        with pytest.raises(FetchError, match="did not answer in time"):
            fetcher(f"http://127.0.0.1:{server.server_address[1]}/drip")
        elapsed = time.monotonic() - started
    finally:
        server.shutdown()
        server.server_close()

    assert len(fetcher.connections) == 1  # the slow answer came on the kept-alive connection
    assert elapsed < 3.0  # cut at the 1 s deadline, not after the 4 s the headers take


def test_fetch_connection_closed_by_the_server_while_idle_is_replaced(raw_server):
    # HTTP/1.1 without "Connection: close", then the server hangs up: the pooled connection is dead.
    server = raw_server(lambda out: out.write(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"))
    fetcher = RecordingFetcher(allow_private_network=True)

    first = fetcher(server.url("/a"))
    time.sleep(0.2)
    second = fetcher(server.url("/b"))

    assert first.body == second.body == b"{}"
    assert len(fetcher.connections) == 2
    assert len(server.requests) == 2


def test_fetch_redirect_with_endless_body_is_followed_without_reading_it(raw_server):
    servers: list[RawServer] = []

    def answer(out: BinaryIO) -> None:
        if b"GET /end " in servers[0].requests[-1]:
            out.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
                      b"Connection: close\r\n\r\n{}")
            return
        out.write(b"HTTP/1.1 302 Found\r\nLocation: /end\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in range(200):  # 20 s of body: reading it would pass the deadline
            out.write(b"10000\r\n" + b"x" * 65536 + b"\r\n")
            time.sleep(0.1)

    servers.append(raw_server(answer))
    fetcher = GuardedFetcher(allow_private_network=True, total_timeout=5.0)

    assert fetcher(servers[0].url("/start")).body == b"{}"


def test_fetch_concurrent_fetches_on_kept_alive_connections_get_their_own_bodies(keep_alive_server):
    fetcher = RecordingFetcher(allow_private_network=True)
    for number in range(40):
        keep_alive_server.routes[f"/doc{number}"] = _json_route(f'{{"n": {number}}}'.encode(), **{
            "Cache-Control": "no-store"})
    results: list[tuple[int, bytes]] = []
    errors: list[BaseException] = []

    def work(offset: int) -> None:
        try:
            for round_ in range(3):
                for number in range(offset, 40, 8):
                    results.append((number, fetcher(keep_alive_server.url(f"/doc{number}")).body))
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(offset,)) for offset in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(results) == 120
    assert all(body == f'{{"n": {number}}}'.encode() for number, body in results)
    assert len(fetcher.connections) <= 8 < len(keep_alive_server.requests)


# --- Configuration -----------------------------------------------------------------------------

def test_fetcher_from_config_shares_one_fetcher_per_distinct_setting():
    config = {"ALLOW_PRIVATE_NETWORK": False, "URL_REWRITE": {"https://a.example/": "http://127.0.0.1:9/"},
              "FETCH_CONNECT_TIMEOUT": 3.0, "FETCH_READ_TIMEOUT": 10.0, "FETCH_TOTAL_TIMEOUT": 20.0,
              "FETCH_MAX_BYTES": 5 * MB}

    fetcher = fetcher_from_config(config)

    assert fetcher_from_config(dict(config)) is fetcher
    assert fetcher_from_config(dict(config, FETCH_TOTAL_TIMEOUT=5)) is not fetcher
    assert (fetcher.connect_timeout, fetcher.read_timeout, fetcher.total_timeout) == (3.0, 10.0, 20.0)


def test_fetcher_from_config_reads_private_network_and_size(document_server):
    document_server.routes["/doc"] = _json_route()
    url = document_server.url("/doc")

    assert fetcher_from_config({"ALLOW_PRIVATE_NETWORK": True})(url).body == DOC
    with pytest.raises(TooLargeError):
        fetcher_from_config({"ALLOW_PRIVATE_NETWORK": True, "FETCH_MAX_BYTES": 10})(url)
    for value in (False, "yes", None):
        with pytest.raises(UnsafeURLError):
            fetcher_from_config({"ALLOW_PRIVATE_NETWORK": value})(url)
    assert len(document_server.requests) == 2


def test_fetcher_from_config_bad_rewrite_raises_value_error():
    with pytest.raises(ValueError, match="URL_REWRITE"):
        fetcher_from_config({"URL_REWRITE": "https://a.example/=http://127.0.0.1/"})


def test_revalidating_fetch_asks_again_within_the_fresh_period(document_server) -> None:
    document_server.routes["/list.json"] = Response(b'{"v": 1}', headers={"ETag": '"v1"', "Cache-Control": "max-age=300"})
    fetcher = GuardedFetcher(allow_private_network=True)
    url = document_server.url("/list.json")
    assert fetcher(url).body == b'{"v": 1}'
    assert fetcher(url).from_cache  # fresh: no request
    document_server.routes["/list.json"] = Response(b'{"v": 2}', headers={"ETag": '"v2"'})
    assert fetcher.revalidating()(url).body == b'{"v": 2}'
    conditional = [headers for method, path, headers in document_server.requests if path == "/list.json"][-1]
    assert conditional.get("If-None-Match") == '"v1"'
