"""The one outbound HTTP client: every URL Wallet fetches goes through a `GuardedFetcher`.

docs/security.md A1-A16. Each hop is parsed once (urllib3's parser,
IDNA through `idna`) and must be http(s) with no userinfo, whitespace or control characters, on port
80 or 443, to a host whose every address is global unicast. The socket then goes to an address that
was checked (no second DNS lookup, so no rebinding) while the Host header, TLS SNI and certificate
check use the host name. Redirects are followed by hand and checked like the first hop. Bodies are
streamed under a size cap and a total deadline. Requests go out through a `requests.Session` that
never reads the environment (no proxy variables, no .netrc), keeps no cookies and follows no
redirect itself (A6, A15), mounted with Wallet's own transport adapter: it keeps connections alive
in one pool per (scheme, host, port, checked addresses), so a pooled connection is only ever reused
for the addresses that were checked for this fetch, and it puts each fetch's deadline on the socket
whether the connection is new or reused. One fetcher is shared by every thread of the process.

Kept whole (about 870 lines): it is the one gate for every outbound request, and its steps (parse,
resolve, pin, connect, redirect, cap, cache) are reviewed together; split up, a caller could reach
one step without the others.
"""
from __future__ import annotations

import functools
import heapq
import http.client
import http.cookiejar
import ipaddress
import itertools
import logging
import os
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urljoin

import certifi
import requests
import requests.adapters
import urllib3.exceptions
from requests.structures import CaseInsensitiveDict
from urllib3._collections import RecentlyUsedContainer
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util import parse_url

from wallet.services.errors import FetchError, ImportTimeoutError, TooLargeError, UnsafeURLError
from wallet.services.verification.caches import ByteLRU
from wallet.services.verification.errors import RemoteError
from wallet.services.verification.fetching import Fetch, Fetched, Kind

log = logging.getLogger(__name__)

MB = 1024 * 1024
USER_AGENT = "Wallet/0.1 (Open Badges and Verifiable Credentials wallet)"
REFUSED_MESSAGE = "This address is not allowed: Wallet only fetches public http(s) addresses."
MAX_REDIRECTS = 5
MAX_URL_LENGTH = 2048
# docs/security.md A10: caps on the decoded body, per kind of document.
SIZE_CAPS: dict[str, int] = {"json": 1 * MB, "jwt": 1 * MB, "image": 5 * MB, "any": 5 * MB}
ACCEPT: dict[str, str] = {
    "json": "application/ld+json, application/json;q=0.9, */*;q=0.1",
    # OB 3.0 serves a JWT as text/plain; VC-JOSE-COSE registers application/vc+jwt.
    "jwt": "application/vc+jwt, application/jwt;q=0.9, text/plain;q=0.8, */*;q=0.1",
    "image": "image/png, image/svg+xml;q=0.9, image/*;q=0.5",
    "any": "*/*",
}
# Issuer profiles, keys and status lists are re-read on every verification; images are not.
CACHED_KINDS = frozenset({"json", "jwt"})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_RETRIED_STATUSES = frozenset({502, 503, 504})
_RETRY_BACKOFF = 0.25
_CHUNK = 64 * 1024
# Keep-alive: idle connections kept per pool, and pools kept (least recently used dropped first).
POOL_CONNECTIONS = 16
POOL_COUNT = 64
# A finished answer's body up to this size is read to its end so its connection can be reused.
_DRAIN = 64 * 1024

# Whitespace (ASCII or not), C0/C1 controls and the backslash some parsers read as "/" (A9).
_UNSAFE_CHARACTERS = re.compile(r"[\s\x00-\x1f\x7f-\x9f\\]")
_HOST_NAME = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*\.?")
# Names that only mean something inside a network: RFC 6761, RFC 6762, RFC 8375, ICANN ".internal".
_LOCAL_SUFFIXES = ("localhost", "local", "localdomain", "internal", "home.arpa")
# Python 3.11's `is_global` misses several of these (fixed in 3.12.4), so they are listed outright
# from the IANA special-purpose address registries.
_DENIED_NETWORKS = tuple(ipaddress.ip_network(network) for network in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
    "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
    # IPv4-compatible and unspecified/loopback, local-use NAT64, discard, IETF protocol assignments
    # (with Teredo, which hides an IPv4 host in the address), documentation, SRv6, ULA (with AWS's
    # fd00:ec2::254), link-local, site-local, multicast.
    "::/96", "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:db8::/32", "3fff::/20", "5f00::/16",
    "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
))
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")

Address = tuple[int, tuple[Any, ...]]  # (socket family, sockaddr) as getaddrinfo gives them


class _Refused(Exception):
    """A URL broke a guard rule; the reason goes to the log, never to the learner (A16)."""


class _ConnectFailed(Exception):
    """No TCP connection could be opened to any checked address (the one error worth a retry)."""


_NETWORK_ERRORS = (_ConnectFailed, OSError, http.client.HTTPException, urllib3.exceptions.HTTPError,
                   requests.RequestException)


@dataclass(frozen=True)
class _Target:
    url: str  # urllib3's normalised form of the URL
    scheme: str
    host: str  # ASCII host name or IP address, IPv6 without brackets
    port: int
    request_uri: str  # path and query, no fragment

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == (443 if self.scheme == "https" else 80) else f"{host}:{self.port}"


@dataclass(frozen=True)
class _Entry:
    fetched: Fetched
    fresh_until: float  # time.monotonic() value
    etag: str | None
    last_modified: str | None


class _Deadline:
    """The total time one fetch may take (A12: socket timeouts bound each read, not the fetch).

    When time is up the process's watchdog thread shuts the fetch's sockets down, which unblocks
    any read in progress, even one inside the TLS handshake or the response headers.
    """

    def __init__(self, seconds: float) -> None:
        self._at = time.monotonic() + seconds
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self.expired = False
        self.closed = False
        _WATCHDOG.watch(self, self._at)

    def left(self) -> float:
        return self._at - time.monotonic()

    def limit(self, seconds: float) -> float:
        """Return `seconds` cut to the time left; raise TimeoutError when none is left."""
        left = self.left()
        if left <= 0:
            raise TimeoutError("total deadline passed")
        return min(seconds, left)

    def watch(self, sock: socket.socket) -> None:
        # A duplicate descriptor: TLS detaches the original socket object (and a TLS socket cannot
        # be dup()ed), but shutdown() acts on the connection itself, whichever descriptor it is called on.
        with self._lock:
            self._sockets.append(socket.fromfd(sock.fileno(), sock.family, sock.type))
            if self.expired:
                self._shutdown()

    def close(self) -> None:
        with self._lock:
            self.closed = True
            for sock in self._sockets:
                sock.close()
            self._sockets.clear()

    def expire(self) -> None:
        """Shut the fetch's sockets down (the watchdog calls this when time is up)."""
        with self._lock:
            if self.closed:
                return
            self.expired = True
            self._shutdown()

    def _shutdown(self) -> None:
        for sock in self._sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Watchdog:
    """One thread per process that expires every fetch's deadline on time (a thread per fetch costs more).

    Deadlines wait in a heap ordered by when they fall due; one closed before then is dropped when
    it reaches the top. A process forked from this one starts its own thread on first use.
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._heap: list[tuple[float, int, _Deadline]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def watch(self, deadline: _Deadline, at: float) -> None:
        with self._condition:
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="fetch-deadlines", daemon=True)
                self._thread.start()
            heapq.heappush(self._heap, (at, next(self._order), deadline))
            if self._heap[0][2] is deadline:
                self._condition.notify()

    def _run(self) -> None:
        while True:
            with self._condition:
                while True:
                    while self._heap and self._heap[0][2].closed:
                        heapq.heappop(self._heap)
                    if not self._heap:
                        self._condition.wait()
                        continue
                    wait = self._heap[0][0] - time.monotonic()
                    if wait <= 0:
                        break
                    self._condition.wait(wait)
                _, _, due = heapq.heappop(self._heap)
            due.expire()


_WATCHDOG = _Watchdog()


@dataclass
class _Pin:
    """What one request carries down to the transport: where it may connect, and until when."""

    target: _Target
    addresses: tuple[Address, ...]
    deadline: _Deadline
    reused: bool = False  # the request went out on a kept-alive connection
    fresh: bool = False  # open a new connection even if an idle one is pooled


# The request the current thread is sending: the transport's connections read it (one at a time per thread).
_current = threading.local()


def _current_pin() -> _Pin:
    pin: _Pin | None = getattr(_current, "pin", None)
    if pin is None:
        raise RuntimeError("a pinned connection was used outside a guarded fetch")
    return pin


class _Pinned:
    """Connect to the addresses the guard checked instead of resolving the host again (A5)."""

    timeout: Any
    sock: Any

    def __init__(self, *args: Any, addresses: Sequence[Address] = (),
                 opener: Callable[..., socket.socket] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._addresses, self._opener = tuple(addresses), opener

    def _new_conn(self) -> socket.socket:
        deadline = _current_pin().deadline
        error: OSError = OSError("no address to connect to")
        for family, sockaddr in self._addresses:
            try:
                # Each address gets the connect timeout, but together no more than the fetch has left.
                sock = self._opener(family, sockaddr, deadline.limit(self.timeout))  # type: ignore[misc]
            except OSError as failure:
                error = failure
                continue
            deadline.watch(sock)
            return sock
        raise _ConnectFailed(str(error)) from error

    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        # A kept-alive connection goes into delayed-ACK ("pingpong") mode once requests follow
        # answers; a server that writes the headers and the body apart with Nagle's algorithm on
        # then holds the body until our ACK, up to 40 ms later, on every request. The request is
        # sent: ask Linux to acknowledge at once while this answer arrives.
        if self.sock is not None and _QUICKACK is not None:
            try:
                self.sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
            except OSError:
                pass
        return super().getresponse(*args, **kwargs)  # type: ignore[misc]


_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)  # Linux only


class _PinnedHTTPConnection(_Pinned, HTTPConnection):
    pass


class _PinnedHTTPSConnection(_Pinned, HTTPSConnection):
    pass


class _PinnedPoolMixin:
    """A keep-alive pool for one host at its checked addresses; a reused socket joins the fetch's deadline."""

    def _get_conn(self, timeout: float | None = None) -> Any:
        connection = super()._get_conn(timeout)  # type: ignore[misc]
        if connection.sock is not None:
            pin = _current_pin()
            if pin.fresh:
                connection.close()
            else:
                pin.reused = True
                pin.deadline.watch(connection.sock)
        return connection


class _PinnedHTTPPool(_PinnedPoolMixin, HTTPConnectionPool):
    ConnectionCls = _PinnedHTTPConnection


class _PinnedHTTPSPool(_PinnedPoolMixin, HTTPSConnectionPool):
    ConnectionCls = _PinnedHTTPSConnection


class _PinnedAdapter(requests.adapters.HTTPAdapter):
    """Wallet's transport: one keep-alive pool per (scheme, host, port, checked addresses), nothing else.

    requests' own choices are all switched off here: no proxy is ever selected (A15), no CA bundle
    is loaded behind the fetcher's TLS context, and the request line is the guard's parse of the URL.
    """

    def __init__(self, opener: Callable[..., socket.socket], ssl_context: ssl.SSLContext) -> None:
        super().__init__(pool_connections=1, pool_maxsize=POOL_CONNECTIONS, max_retries=0)
        self._opener = opener
        self._ssl_context = ssl_context
        self._lock = threading.Lock()
        self._pools: RecentlyUsedContainer[tuple[Any, ...], HTTPConnectionPool] = RecentlyUsedContainer(
            POOL_COUNT, dispose_func=lambda pool: pool.close())

    def get_connection_with_tls_context(self, request: requests.PreparedRequest, verify: Any,
                                        proxies: Any = None, cert: Any = None) -> HTTPConnectionPool:
        pin: _Pin = request.pin  # type: ignore[attr-defined]
        target = pin.target
        key = (target.scheme, target.host, target.port, pin.addresses)
        with self._lock:
            pool = self._pools.get(key)
            if pool is None:
                settings: dict[str, Any] = {"maxsize": POOL_CONNECTIONS, "block": False, "retries": False,
                                            "addresses": pin.addresses, "opener": self._opener}
                if target.scheme == "https":
                    pool = _PinnedHTTPSPool(target.host, target.port, cert_reqs="CERT_REQUIRED",
                                            ssl_context=self._ssl_context, server_hostname=target.host,
                                            **settings)
                else:
                    pool = _PinnedHTTPPool(target.host, target.port, **settings)
                self._pools[key] = pool
        return pool

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        """Leave TLS to the pool's context (the fetcher's CA file): nothing is read from the environment."""

    def request_url(self, request: requests.PreparedRequest, proxies: Any) -> str:
        return request.pin.target.request_uri  # type: ignore[attr-defined,no-any-return]

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        pin: _Pin = request.pin  # type: ignore[attr-defined]
        _current.pin = pin
        try:
            try:
                return super().send(request, **kwargs)
            except requests.ConnectionError as error:
                # A kept-alive connection the server closed while it sat idle: send again on a new one.
                if not pin.reused or isinstance(error, requests.Timeout) or pin.deadline.expired:
                    raise
                pin.reused, pin.fresh = False, True
                return super().send(request, **kwargs)
        finally:
            _current.pin = None

    def close(self) -> None:
        with self._lock:
            self._pools.clear()


class _NoCookies(http.cookiejar.CookiePolicy):
    """Refuse every cookie, both ways (A6)."""

    netscape = True
    rfc2965 = hide_cookie2 = False

    def set_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False

    def return_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False

    def domain_return_ok(self, domain: str, request: Any) -> bool:
        return False

    def path_return_ok(self, path: str, request: Any) -> bool:
        return False


class _Session(requests.Session):
    """A session that never follows a redirect itself: the fetcher checks each hop (A6)."""

    def get_redirect_target(self, resp: requests.Response) -> None:
        # requests would otherwise read a redirect's whole body, past every cap, to prepare the next hop.
        return None


class GuardedFetcher:
    """Fetch public http(s) URLs safely and cache what is re-read; Wallet's one `Fetch`.

    Raises UnsafeURLError for a refused URL or redirect, TooLargeError over the size cap,
    RemoteError (with `status_code`) for a non-2xx answer and FetchError for network failures.
    """

    def __init__(
        self,
        *,
        allow_private_network: bool = False,
        url_rewrite: Mapping[str, str] | None = None,
        connect_timeout: float = 3.0,
        read_timeout: float = 10.0,
        total_timeout: float = 20.0,
        max_bytes: int = 5 * MB,
        fresh_seconds: float = 300.0,
        cache_bytes: int = 32 * MB,
        ports: frozenset[int] = frozenset({80, 443}),
        ca_file: str | None = None,
    ) -> None:
        # Lifts the address and port rules only (development and tests); every other rule stays.
        self.allow_private_network = allow_private_network
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.total_timeout = total_timeout
        self.fresh_seconds = fresh_seconds
        self.ports = ports
        self.caps = {kind: min(cap, max_bytes) for kind, cap in SIZE_CAPS.items()}
        rules = dict(url_rewrite or {})
        self._rewrites = sorted(rules.items(), key=lambda rule: len(rule[0]), reverse=True)
        self._unrewrites = sorted(((new, old) for old, new in rules.items()),
                                  key=lambda rule: len(rule[0]), reverse=True)
        self._ssl_context = ssl.create_default_context(cafile=ca_file or certifi.where())
        # Fetched documents by (URL, kind), bounded by the bytes they hold with their headers.
        self.cache: ByteLRU[_Entry] = ByteLRU(cache_bytes)
        # No environment (proxies, .netrc, CA bundle variables), no cookies, no redirects (A6, A15).
        self._session = _Session()
        self._session.trust_env = False
        self._session.cookies.set_policy(_NoCookies())
        self._session.headers.clear()
        for prefix in list(self._session.adapters):
            self._session.adapters.pop(prefix).close()
        adapter = _PinnedAdapter(self.open_socket, self._ssl_context)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)

    def __call__(self, url: str, *, kind: Kind = "json", revalidate: bool = False,
                 time_limit: float | None = None) -> Fetched:
        """Fetch `url` as `kind`: from memory while fresh, otherwise through the guard.

        `revalidate` skips the fresh period and asks the server again (conditionally: an unchanged
        document costs a 304), for re-checks a person asked for, so a revocation is seen at once.
        `time_limit` shortens the total deadline of this fetch (what is left of an import's).
        """
        if kind not in self.caps:
            raise ValueError(f"unknown kind of document: {kind!r}")
        entry = self.cache.get((url, kind)) if kind in CACHED_KINDS else None
        if entry is not None and not revalidate and entry.fresh_until > time.monotonic():
            return replace(entry.fetched, from_cache=True)
        deadline = _Deadline(self.total_timeout if time_limit is None else min(self.total_timeout, time_limit))
        try:
            return self._fetch(url, kind, entry, deadline)
        except _Refused as refusal:
            log.warning("refused to fetch %s: %s", _for_log(url), _for_log(str(refusal)))
            raise UnsafeURLError(REFUSED_MESSAGE) from None
        except _NETWORK_ERRORS as error:
            raise _network_error(url, error, deadline) from None
        finally:
            deadline.close()

    def check(self, url: str) -> None:
        """Raise UnsafeURLError unless `url` passes every rule a fetch of it would meet (no request is sent)."""
        try:
            self._resolve(_parse(_swap_prefix(_parse(url).url, self._rewrites)))
        except _Refused as refusal:
            log.warning("refused the address %s: %s", _for_log(url), _for_log(str(refusal)))
            raise UnsafeURLError(REFUSED_MESSAGE) from None

    def send(self, method: str, url: str, *, headers: Mapping[str, str] | None = None, body: bytes | None = None,
             kind: Kind = "json") -> Fetched:
        """Send one request that carries a body or credentials (an OAuth form, an API call) through the guard.

        Every rule of a fetch applies (address, port, size cap for `kind`, total deadline). Nothing is
        cached, nothing is retried, and a redirect is never followed, since it would carry the
        credentials elsewhere: it raises RemoteError. Any other answer, 4xx and 5xx too, is returned
        (OAuth errors are answered in a 400's body, RFC 6749 5.2).
        """
        deadline = _Deadline(self.total_timeout)
        try:
            target = _parse(url)
            actual = _parse(_swap_prefix(url, self._rewrites))
            addresses = self._resolve(actual)
            given = {name.title(): value for name, value in (headers or {}).items()}
            sent = {"Host": actual.host_header, "User-Agent": USER_AGENT, "Accept": ACCEPT[kind],
                    "Accept-Encoding": "identity", **given}
            if body is not None:
                sent["Content-Length"] = str(len(body))
            request = requests.PreparedRequest()
            request.method, request.url, request.body = method.upper(), actual.url, body
            request.headers = CaseInsensitiveDict(sent)
            request.pin = _Pin(actual, addresses, deadline)  # type: ignore[attr-defined]
            timeout = (deadline.limit(self.connect_timeout), deadline.limit(self.read_timeout))
            response = self._session.send(request, stream=True, allow_redirects=False, timeout=timeout, proxies={})
            try:
                status = response.status_code
                if status in _REDIRECTS:
                    raise RemoteError(f"The server at {target.host} answered with a redirect, which Wallet "
                                      "does not follow for this request.", url=url, status_code=status)
                data = self._read(response, kind, deadline, target.host)
            finally:
                _finish(response, deadline)
            answer = {name.lower(): value for name, value in response.raw.headers.itermerged()}
            log.info("%s %s: %d, %d bytes", method.upper(), _for_log(url), status, len(data))
            return Fetched(url=url, final_url=url, status_code=status, body=data, headers=answer,
                           content_type=answer.get("content-type", "").split(";", 1)[0].strip().lower())
        except _Refused as refusal:
            log.warning("refused to send to %s: %s", _for_log(url), _for_log(str(refusal)))
            raise UnsafeURLError(REFUSED_MESSAGE) from None
        except _NETWORK_ERRORS as error:
            raise _network_error(url, error, deadline) from None
        finally:
            deadline.close()

    def revalidating(self) -> Fetch:
        """Return this fetcher as a `Fetch` that revalidates every cached document (for re-checks)."""
        return functools.partial(self, revalidate=True)

    def clear_cache(self) -> None:
        """Forget every cached document."""
        self.cache.clear()

    def close(self) -> None:
        """Close every kept-alive connection (the fetcher stays usable: it opens new ones)."""
        self._session.close()

    def open_socket(self, family: int, sockaddr: tuple[Any, ...], timeout: float) -> socket.socket:
        """Open a TCP connection to one checked address: the only place a fetch connects."""
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(timeout)
            sock.connect(sockaddr)
        except BaseException:
            sock.close()
            raise
        return sock

    def _fetch(self, url: str, kind: str, entry: _Entry | None, deadline: _Deadline) -> Fetched:
        current, previous = url, None
        redirects, retried = 0, False  # docs/reliability.md §6: one retry, only for connect errors and 502/503/504
        while True:
            # Every rule but the address one sees the URL as asked, before any rewrite.
            target = _parse(current)
            if previous is not None and previous.scheme == "https" and target.scheme == "http":
                raise _Refused(f"redirect from https to http: {current}")
            actual = _parse(_swap_prefix(current, self._rewrites))
            addresses = self._resolve(actual)
            try:
                response = self._send(actual, addresses, kind, entry, deadline)
            except _ConnectFailed:
                if retried or deadline.left() <= _RETRY_BACKOFF:
                    raise
                retried = True
                time.sleep(_RETRY_BACKOFF)
                continue
            try:
                status = response.status_code
                if status in _RETRIED_STATUSES and not retried and deadline.left() > _RETRY_BACKOFF:
                    retried = True
                    time.sleep(_RETRY_BACKOFF)
                    continue
                if status in _REDIRECTS:
                    redirects += 1
                    location = response.raw.headers.get("Location")
                    if redirects > MAX_REDIRECTS:
                        log.warning("refused to fetch %s: over %d redirects", _for_log(url), MAX_REDIRECTS)
                        raise UnsafeURLError("The address redirected too many times.")
                    if not location:
                        raise RemoteError(f"The server at {target.host} sent a redirect without a target.",
                                          url=url, status_code=status)
                    previous, current = target, _swap_prefix(urljoin(actual.url, location), self._unrewrites)
                    continue
                if status == 304 and entry is not None:
                    return self._revalidated((url, kind), entry, response)
                if not 200 <= status < 300:
                    gone = self._gone_body(response, kind, deadline, target.host) if status == 410 else None
                    raise RemoteError(f"The server at {target.host} answered with an error ({status}).",
                                      url=url, status_code=status, body=gone)
                body = self._read(response, kind, deadline, target.host)
            finally:
                _finish(response, deadline)
            headers = {name.lower(): value for name, value in response.raw.headers.itermerged()}
            fetched = Fetched(
                url=url, final_url=current, status_code=status, body=body, headers=headers,
                content_type=headers.get("content-type", "").split(";", 1)[0].strip().lower(),
            )
            log.info("fetched %s: %d, %d bytes", _for_log(current), status, len(body))
            self._remember((url, kind), fetched)
            return fetched

    def _resolve(self, target: _Target) -> tuple[Address, ...]:
        """Resolve the host once and check every address (A1-A5, A8); return those to connect to."""
        if not self.allow_private_network:
            if target.port not in self.ports:
                raise _Refused(f"port {target.port}")
            if _ip_literal(target.host) is None:
                _check_name(target.host)
        try:
            records = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as error:
            log.info("could not resolve %s: %s", _for_log(target.host), error)
            raise FetchError(f"Could not find the server {target.host}.") from None
        addresses = tuple(dict.fromkeys(
            (family, sockaddr) for family, _, _, _, sockaddr in records
            if family in (socket.AF_INET, socket.AF_INET6)
        ))
        shown = ", ".join(str(sockaddr[0]) for _, sockaddr in addresses)
        if not self.allow_private_network:
            if not addresses or not all(_is_public(sockaddr) for _, sockaddr in addresses):
                raise _Refused(f"{target.host} resolves to {shown or 'nothing'}: not every address is public")
        if not addresses:
            raise FetchError(f"Could not find the server {target.host}.")
        log.info("connecting to %s:%d at %s", _for_log(target.host), target.port, shown)
        return addresses

    def _send(self, target: _Target, addresses: tuple[Address, ...], kind: str, entry: _Entry | None,
              deadline: _Deadline) -> requests.Response:
        """Send the GET on a pinned connection (kept alive, or new) and return the response, body unread."""
        # No cookies and no credentials, ever (A6, A15); identity encoding keeps the cap honest (A11).
        headers = {"Host": target.host_header, "User-Agent": USER_AGENT, "Accept": ACCEPT[kind],
                   "Accept-Encoding": "identity"}
        if entry is not None and entry.etag:
            headers["If-None-Match"] = entry.etag
        if entry is not None and entry.last_modified:
            headers["If-Modified-Since"] = entry.last_modified
        # Built by hand, not by requests' prepare(): the URL goes out exactly as the guard parsed it.
        request = requests.PreparedRequest()
        request.method, request.url, request.body = "GET", target.url, None
        request.headers = CaseInsensitiveDict(headers)
        request.pin = _Pin(target, addresses, deadline)  # type: ignore[attr-defined]
        timeout = (deadline.limit(self.connect_timeout), deadline.limit(self.read_timeout))
        return self._session.send(request, stream=True, allow_redirects=False, timeout=timeout, proxies={})

    def _read(self, response: requests.Response, kind: str, deadline: _Deadline, host: str) -> bytes:
        """Stream the body, cut at the cap for `kind` whatever Content-Length claims (A10)."""
        cap = self.caps[kind]
        declared = response.raw.headers.get("Content-Length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > cap:
            raise _too_large(host, cap, f"Content-Length {declared}")
        body = bytearray()
        # Decoded as it arrives, so the cap counts what a compressed body would become (A11).
        for chunk in response.raw.stream(_CHUNK, decode_content=True):
            body += chunk
            if len(body) > cap:
                raise _too_large(host, cap, f"more than {cap} bytes sent")
        if deadline.expired:
            # The timer's shutdown can look like the clean end of a body that runs to the close.
            raise TimeoutError("total deadline passed while reading")
        return bytes(body)

    def _gone_body(self, response: requests.Response, kind: str, deadline: _Deadline, host: str) -> bytes | None:
        """Read what a 410 Gone answer carries (OB 2.0: an issuer may still send the revoked assertion)."""
        try:
            return self._read(response, kind, deadline, host)
        except (TooLargeError, *_NETWORK_ERRORS):
            return None  # the answer is still "gone"; only its copy is missing

    def _remember(self, key: tuple[str, str], fetched: Fetched) -> None:
        if key[1] not in CACHED_KINDS or fetched.status_code != 200:
            return
        lifetime = _lifetime(fetched.headers, self.fresh_seconds)
        etag, last_modified = fetched.headers.get("etag"), fetched.headers.get("last-modified")
        if lifetime is None or (lifetime <= 0 and not (etag or last_modified)):
            self.cache.pop(key)
            return
        self.cache.put(key, _Entry(fetched, time.monotonic() + lifetime, etag, last_modified))

    def _revalidated(self, key: tuple[str, str], entry: _Entry, response: requests.Response) -> Fetched:
        """Keep the cached body after a 304 Not Modified, fresh again for as long as the server says."""
        headers = {name.lower(): value for name, value in response.raw.headers.itermerged()}
        lifetime = _lifetime(headers, self.fresh_seconds)
        if lifetime is None:
            self.cache.pop(key)
        else:
            self.cache.put(key, replace(entry, fresh_until=time.monotonic() + lifetime,
                                        etag=headers.get("etag", entry.etag)))
        log.info("revalidated %s: not modified", _for_log(key[0]))
        return replace(entry.fetched, from_cache=True)


class ImportDeadline:
    """A `Fetch` for imports: every fetch of one import shares one total deadline (A12, §2.6).

    `begin()` starts the clock when an import starts (importing.py calls it for each link, paste
    and file); each fetch may then take at most what is left, and never more than its own total
    timeout. A fetch asked for, or cut short, once the time is up raises ImportTimeoutError, so
    the import can stop and keep nothing. One per Importer: imports through it run one at a time.
    """

    def __init__(self, fetcher: GuardedFetcher, seconds: float) -> None:
        self.fetcher = fetcher
        self.seconds = seconds
        self._at = time.monotonic() + seconds

    def begin(self) -> ImportDeadline:
        """Start the deadline of a new import; return self."""
        self._at = time.monotonic() + self.seconds
        return self

    def left(self) -> float:
        """Return the seconds left before the deadline (0 or less once it has passed)."""
        return self._at - time.monotonic()

    def __call__(self, url: str, *, kind: Kind = "json") -> Fetched:
        if self.left() <= 0:
            raise self._timed_out(url)
        try:
            return self.fetcher(url, kind=kind, time_limit=self.left())
        except FetchError:
            if self.left() <= 0:
                raise self._timed_out(url) from None
            raise

    def _timed_out(self, url: str) -> ImportTimeoutError:
        log.info("import deadline of %ss passed before fetching %s", self.seconds, _for_log(url))
        return ImportTimeoutError(
            f"Adding this credential took too long (over {self.seconds:g} seconds): the issuer's servers "
            "answered too slowly, so nothing was added. Please try again later.")


def fetcher_from_config(config: Mapping[str, Any]) -> GuardedFetcher:
    """Return the process-wide fetcher for a Flask config's FETCH settings (one per distinct setting)."""
    allow = config.get("ALLOW_PRIVATE_NETWORK", False)
    rewrite = config.get("URL_REWRITE") or {}
    if not isinstance(rewrite, Mapping):
        raise ValueError("URL_REWRITE must be a JSON object of URL prefix -> replacement prefix")
    return _shared_fetcher(
        # A security switch: only a real true value (bool or JSON true/1) lifts the address rule.
        isinstance(allow, (bool, int)) and bool(allow),
        tuple(sorted((str(prefix), str(replacement)) for prefix, replacement in rewrite.items())),
        float(config.get("FETCH_CONNECT_TIMEOUT", 3.0)),
        float(config.get("FETCH_READ_TIMEOUT", 10.0)),
        float(config.get("FETCH_TOTAL_TIMEOUT", 20.0)),
        int(config.get("FETCH_MAX_BYTES", 5 * MB)),
        int(config.get("FETCH_CACHE_BYTES", 32 * MB)),
    )


def import_fetch_from_config(config: Mapping[str, Any]) -> ImportDeadline:
    """Return the fetch an import uses: the shared fetcher under IMPORT_DEADLINE_SECONDS per import."""
    return ImportDeadline(fetcher_from_config(config), float(config.get("IMPORT_DEADLINE_SECONDS", 45.0)))


# A handful of distinct settings at most (one per app configuration), so a count bound suffices.
@functools.lru_cache(maxsize=16)
def _shared_fetcher(allow_private_network: bool, url_rewrite: tuple[tuple[str, str], ...],
                    connect_timeout: float, read_timeout: float, total_timeout: float,
                    max_bytes: int, cache_bytes: int) -> GuardedFetcher:
    return GuardedFetcher(allow_private_network=allow_private_network, url_rewrite=dict(url_rewrite),
                          connect_timeout=connect_timeout, read_timeout=read_timeout,
                          total_timeout=total_timeout, max_bytes=max_bytes, cache_bytes=cache_bytes)


def _parse(url: str) -> _Target:
    """Parse `url` once and apply the rules that need no DNS (A7, A9), or raise _Refused."""
    if len(url) > MAX_URL_LENGTH:
        raise _Refused("URL too long")
    if _UNSAFE_CHARACTERS.search(url):
        raise _Refused("whitespace, control character or backslash in the URL")
    try:
        parts = parse_url(url)
    except urllib3.exceptions.LocationParseError:
        raise _Refused("unparseable URL") from None
    scheme = (parts.scheme or "").lower()
    if scheme not in ("http", "https"):
        raise _Refused(f"scheme {scheme or 'none'}")
    rest = url[len(scheme) + 1:]
    authority = re.split(r"[/?#]", rest[2:], maxsplit=1)[0] if rest.startswith("//") else ""
    # "@" means userinfo, even empty; "%" would be a percent-encoded host or an IPv6 zone.
    if "@" in authority or "%" in authority:
        raise _Refused("userinfo or percent sign in the host part")
    host = parts.host or ""
    if host.startswith("["):
        host = host[1:-1]
        if not isinstance(_ip_literal(host), ipaddress.IPv6Address):
            raise _Refused("malformed IPv6 address")
    elif not _HOST_NAME.fullmatch(host) or len(host) > 253:
        raise _Refused("missing or malformed host")
    port = parts.port if parts.port is not None else (443 if scheme == "https" else 80)
    return _Target(parts.url, scheme, host, port, parts.request_uri)


def _check_name(host: str) -> None:
    """Refuse names that only resolve inside a network, before any DNS query is made."""
    name = host.rstrip(".")
    # A one-label name goes through the resolver's search domains: an intranet host or "metadata".
    if "." not in name:
        raise _Refused(f"single-label host name {name}")
    if any(name == suffix or name.endswith("." + suffix) for suffix in _LOCAL_SUFFIXES):
        raise _Refused(f"local host name {name}")


def _ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _is_public(sockaddr: tuple[Any, ...]) -> bool:
    """Return whether a resolved address is global unicast (a scoped IPv6 address never is)."""
    address = _ip_literal(str(sockaddr[0]))
    if address is None or (len(sockaddr) > 3 and sockaddr[3]):
        return False
    return _is_global_unicast(address)


def _is_global_unicast(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            return False
        # IPv4-mapped, 6to4 and NAT64 addresses reach the IPv4 host inside them: judge that one (A3).
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return _is_global_unicast(embedded)
    if any(address in network for network in _DENIED_NETWORKS):
        return False
    return address.is_global and not (
        address.is_multicast or address.is_reserved or address.is_loopback or address.is_link_local
        or address.is_unspecified or address.is_private
    )


def _swap_prefix(url: str, rules: Sequence[tuple[str, str]]) -> str:
    """Replace the longest matching prefix (`rules` are sorted longest first)."""
    for prefix, replacement in rules:
        if url.startswith(prefix):
            return replacement + url[len(prefix):]
    return url


def _lifetime(headers: Mapping[str, str], default: float) -> float | None:
    """Return how long an answer stays fresh (RFC 9111 5.2.2), or None if it must not be stored."""
    directives: dict[str, str] = {}
    for part in headers.get("cache-control", "").lower().split(","):
        name, _, value = part.strip().partition("=")
        directives[name] = value.strip().strip('"')
    if "no-store" in directives:
        return None
    if "no-cache" in directives:
        return 0.0
    max_age = directives.get("max-age", "")
    if max_age.isascii() and max_age.isdigit():
        return min(default, float(max_age))
    return default


def _finish(response: requests.Response, deadline: _Deadline) -> None:
    """Give the connection back to its pool if the answer was read to its end, else close it.

    A short body left unread (a redirect's, an error page's, a 304's none) is read first, so the
    connection can serve the next request; a long one, or one cut by the deadline, costs the connection.
    """
    raw = response.raw
    declared = raw.headers.get("Content-Length", "")
    small = response.status_code in (204, 304) or (declared.isascii() and declared.isdigit()
                                                    and int(declared) <= _DRAIN)
    if small and raw.connection is not None and not deadline.expired:
        try:
            raw.read(decode_content=False)
        except _NETWORK_ERRORS:
            pass
    if raw.connection is not None or deadline.expired:
        response.close()  # closes the socket: it never returns to the pool half-read
    else:
        raw.release_conn()


def _too_large(host: str, cap: int, detail: str) -> TooLargeError:
    log.info("refused a body from %s: %s", _for_log(host), detail)
    size = f"{cap // MB} MB" if cap >= MB else f"{cap // 1024} KB" if cap >= 1024 else f"{cap} bytes"
    return TooLargeError(f"The document at {host} is larger than {size}, the most Wallet accepts for it.")


def _network_error(url: str, error: BaseException, deadline: _Deadline) -> FetchError:
    """Turn a network failure into a message safe to show; the details go to the log only (A16)."""
    host = parse_url(url).host or "this address"
    cause = error.__cause__ if isinstance(error, _ConnectFailed) else error
    log.info("fetch of %s failed: %s: %s", _for_log(url), type(cause).__name__, _for_log(str(cause)))
    causes = _causes(cause)
    if deadline.expired or any(isinstance(c, (TimeoutError, urllib3.exceptions.TimeoutError, requests.Timeout))
                               for c in causes):
        return FetchError(f"The server at {host} did not answer in time.")
    if any(isinstance(c, (ssl.SSLError, urllib3.exceptions.SSLError, requests.exceptions.SSLError)) for c in causes):
        return FetchError(f"Could not make a secure connection to the server at {host}.")
    return FetchError(f"Could not reach the server at {host}.")


def _causes(error: BaseException) -> list[BaseException]:
    """Return `error` and what it wraps: requests and urllib3 keep the socket's error in `args` or `reason`."""
    found: list[BaseException] = []
    pending: list[Any] = [error]
    while pending and len(found) < 10:
        item = pending.pop()
        if not isinstance(item, BaseException) or item in found:
            continue
        found.append(item)
        pending.extend([*item.args, getattr(item, "reason", None), item.__cause__, item.__context__])
    return found


def _for_log(text: str) -> str:
    """Escape control characters so a hostile URL cannot forge log lines."""
    return text[:500].encode("unicode_escape").decode("ascii")
