"""The log-in lockout holds when wrong passwords arrive at once, at two server processes on one database."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.support.accounts import DEFAULT_PASSWORD
from wallet.models import User

# One process of the app on a free port of 127.0.0.1, configured by WALLET_* variables; it prints its port.
_SERVE = """
from werkzeug.serving import make_server
from wallet import create_app
server = make_server("127.0.0.1", 0, create_app(), threaded=True)
print(server.server_port, flush=True)
server.serve_forever()
"""
MAX_FAILURES = 5


class ServerProcess:
    """The app served by its own Python process, as a second machine behind a load balancer would be."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self._log = log.open("w")
        self.process = subprocess.Popen([sys.executable, "-c", _SERVE], env=env, stdout=subprocess.PIPE,
                                        stderr=self._log, text=True)
        line = [""]
        reader = threading.Thread(target=lambda: line.__setitem__(0, self.process.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout=60)
        if not line[0].strip().isdigit():
            self.stop()
            pytest.fail(f"the server process did not start; see {log}")
        self.url = f"http://127.0.0.1:{int(line[0])}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()
        self._log.close()


@pytest.fixture
def two_servers(database_url: str, tmp_path: Path) -> Iterator[list[ServerProcess]]:
    """Start two server processes on this test's database with the same secret key."""
    env = dict(os.environ, WALLET_DATABASE_URL=database_url, WALLET_SECRET_KEY="one key for both processes",
               WALLET_INSTANCE_PATH=str(tmp_path / "instance"), WALLET_WTF_CSRF_ENABLED="false",
               WALLET_LOGIN_MAX_FAILURES=str(MAX_FAILURES))
    env.pop("WALLET_MAIL_SERVER", None)
    servers: list[ServerProcess] = []
    try:
        for number in range(2):
            servers.append(ServerProcess(env, tmp_path / f"server-{number}.log"))
        yield servers
    finally:
        for server in servers:
            server.stop()


def _log_in(url: str, password: str) -> requests.Response:
    return requests.post(f"{url}/login", data={"email": "ada@example.org", "password": password},
                         allow_redirects=False, timeout=60)


def test_login_parallel_wrong_passwords_on_two_processes_lock_the_account(two_servers, make_user, session) -> None:
    user = make_user(email="ada@example.org")
    start = threading.Barrier(10)

    def guess(number: int) -> int:
        start.wait()
        return _log_in(two_servers[number % 2].url, f"wrong guess {number}").status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(guess, range(10)))

    # Every guess was counted: at most MAX_FAILURES - 1 were answered "wrong password" before the lock.
    assert sorted(statuses) == [400] * (MAX_FAILURES - 1) + [429] * (10 - MAX_FAILURES + 1)
    for server in two_servers:
        response = _log_in(server.url, DEFAULT_PASSWORD)
        assert response.status_code == 429
        assert "this account is locked" in response.text
    session.expire_all()
    locked = session.get(User, user.id)
    assert locked.locked_until is not None and locked.last_login_at is None
