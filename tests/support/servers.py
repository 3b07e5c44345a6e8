"""Real HTTP servers on 127.0.0.1 for tests: issuers, providers, key and status-list hosts."""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Response:
    body: bytes = b""
    status: int = 200
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


Route = Response | Callable[[BaseHTTPRequestHandler], Response]


class DocumentServer:
    """Serve a mutable map of path -> Response (or a callable making one) over real HTTP.

    `server.routes["/badge.json"] = Response(json_bytes)`; `server.url("/badge.json")` is its URL.
    Every request is recorded in `server.requests` as (method, path, headers), and the client's
    (address, port) in `server.peers`. `keep_alive=True` speaks HTTP/1.1 and keeps connections open.
    """

    def __init__(self, *, keep_alive: bool = False) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.peers: list[tuple[str, int]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"

            def do_GET(self) -> None:  # noqa: N802 (http.server API)
                self._answer(send_body=True)

            def do_HEAD(self) -> None:  # noqa: N802
                self._answer(send_body=False)

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                self.request_body = self.rfile.read(length) if length else b""
                self._answer(send_body=True)

            def _answer(self, send_body: bool) -> None:
                path = self.path.split("?", 1)[0]
                outer.requests.append((self.command, self.path, dict(self.headers.items())))
                outer.peers.append(self.client_address[:2])
                route = outer.routes.get(self.path) or outer.routes.get(path)
                response = Response(b'{"error": "not found"}', 404) if route is None else (
                    route(self) if callable(route) else route)
                self.send_response(response.status)
                if response.content_type:
                    self.send_header("Content-Type", response.content_type)
                for name, value in response.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(response.body)))
                self.end_headers()
                if send_body:
                    self.wfile.write(response.body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return self.base_url + path

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
