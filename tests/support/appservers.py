"""App servers in real processes: gunicorn serving wsgi:app on a free loopback port, configured by env."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wallet_env(config: dict[str, Any]) -> dict[str, str]:
    """Return this process's environment with `config` as WALLET_* settings (how an operator configures)."""
    env = dict(os.environ)
    for key, value in config.items():
        env[f"WALLET_{key}"] = value if isinstance(value, str) else json.dumps(value)
    return env


def wallet_command(config: dict[str, Any], *args: str) -> subprocess.Popen[bytes]:
    """Start the `wallet` command with `args` in a process of its own, configured by `config`."""
    return subprocess.Popen([str(Path(sys.executable).with_name("wallet")), *args], cwd=ROOT, env=wallet_env(config),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


class AppServer:
    """One gunicorn process (one worker) serving the app with `config` as WALLET_* settings."""

    def __init__(self, config: dict[str, Any], log: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = wallet_env(config)
        self._log = log.open("ab")
        self._process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", "1", "--worker-class", "gthread", "--threads", "2",
             "--bind", f"127.0.0.1:{self.port}", "--log-level", "warning", "wsgi:app"],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline or self._process.poll() is not None:
                self.stop()
                raise RuntimeError(f"the app server did not start; see {log}")
            time.sleep(0.1)

    def stop(self) -> None:
        self._process.terminate()
        try:
            self._process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._log.close()
