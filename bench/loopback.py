"""Helpers the network benchmarks share: a document server in its own process, and an earlier fetcher.

- `DocumentProcess`: serves a fixed map of path -> (body, media type) over HTTP/1.1 with keep-alive
  on 127.0.0.1, from a forked process, so serving does not take the measured process's CPU or GIL.
- `fetcher_module(ref)`: wallet/services/http.py as it was at a git commit, loaded as a module of its
  own, so a benchmark can run the fetcher from before a change beside today's in the same run.
"""
from __future__ import annotations

import importlib.util
import multiprocessing
import socket
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _serve(documents: dict[str, tuple[bytes, str]], ready: Any, sock: socket.socket, naive: bool) -> None:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # Answers go out in one write with Nagle off, as a production server sends them: no
            # 40 ms wait for a delayed ACK between the headers and the body.
            if not naive:
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_GET(self) -> None:  # noqa: N802 (http.server API)
            found = documents.get(self.path)
            body, media_type = found if found is not None else (b'{"error": "not found"}', "application/json")
            if naive:  # http.server's own way: headers, then the body, in two writes, Nagle on
                self.send_response(200 if found is not None else 404)
                self.send_header("Content-Type", media_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "max-age=300")
                self.end_headers()
                self.wfile.write(body)
                return
            status = "200 OK" if found is not None else "404 Not Found"
            close = self.headers.get("Connection", "").lower() == "close"
            self.close_connection = close
            head = (f"HTTP/1.1 {status}\r\nContent-Type: {media_type}\r\nContent-Length: {len(body)}\r\n"
                    f"Cache-Control: max-age=300\r\n{'Connection: close' + chr(13) + chr(10) if close else ''}\r\n")
            self.wfile.write(head.encode("ascii") + body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(sock.getsockname(), Handler, bind_and_activate=False)
    server.daemon_threads = True
    server.socket.close()
    server.socket = sock  # bound and listening in the parent, so its port is known there
    ready.set()
    server.serve_forever()


class DocumentProcess:
    """Serve `documents` (path -> (body, media type)) on 127.0.0.1 from a forked process.

    `naive=True` answers as Python's http.server does by default (headers and body in two writes,
    Nagle's algorithm on), like the test suite's DocumentServer.
    """

    def __init__(self, documents: dict[str, tuple[bytes, str]], sock: socket.socket | None = None, *,
                 naive: bool = False) -> None:
        self._socket = sock or listening_socket()
        self.port = self._socket.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        context = multiprocessing.get_context("fork")
        ready = context.Event()
        self._process = context.Process(target=_serve, args=(documents, ready, self._socket, naive), daemon=True)
        self._process.start()
        if not ready.wait(30):
            raise RuntimeError("the document server did not start")

    def close(self) -> None:
        self._process.terminate()
        self._process.join(10)
        self._socket.close()


def listening_socket() -> socket.socket:
    """Return a TCP socket listening on a free port of 127.0.0.1 (to learn the port before serving)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


def fetcher_module(ref: str) -> ModuleType:
    """Return wallet/services/http.py as it was at git commit `ref`, as a separate module."""
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{ref}:wallet/services/http.py"],
                            check=True, capture_output=True, text=True).stdout
    name = f"wallet_http_at_{ref[:12]}"
    spec = importlib.util.spec_from_loader(name, loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    exec(compile(source, f"{ref[:12]}:wallet/services/http.py", "exec"), module.__dict__)
    return module


def wait_for(url: str, seconds: float = 10.0) -> None:
    """Wait until a plain TCP connection to `url`'s port is accepted."""
    port = int(url.rsplit(":", 1)[1].split("/", 1)[0])
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing answers at {url}")
