"""The app factory, configuration, security headers and error pages."""
from __future__ import annotations

from pathlib import Path

from wallet import create_app
from wallet.schema import current_revision
from wallet.db import get_engine


def test_create_app_without_secret_key_generates_and_keeps_one(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("WALLET_SECRET_KEY", raising=False)
    config = {"DATABASE_URL": f"sqlite:///{tmp_path}/a.db", "INSTANCE_PATH": str(tmp_path / "instance")}
    first, second = create_app(config), create_app(config)
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert len(first.config["SECRET_KEY"]) >= 40
    assert (tmp_path / "instance" / "secret_key").stat().st_mode & 0o077 == 0


def test_database_url_defaults_to_sqlite_in_instance_folder(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("WALLET_DATABASE_URL", raising=False)
    app = create_app({"INSTANCE_PATH": str(tmp_path / "inst"), "SECRET_KEY": "k" * 40})
    assert app.config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'inst' / 'wallet.db'}"


def test_config_from_environment_overrides_defaults(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WALLET_ALLOW_PRIVATE_NETWORK", "1")
    monkeypatch.setenv("WALLET_URL_REWRITE", '{"https://example.org/": "http://127.0.0.1:9/"}')
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/b.db", "SECRET_KEY": "x" * 40})
    assert app.config["ALLOW_PRIVATE_NETWORK"] == 1
    assert app.config["URL_REWRITE"] == {"https://example.org/": "http://127.0.0.1:9/"}


def test_database_is_migrated_to_head(app) -> None:
    assert current_revision(get_engine(app)) is not None


def test_security_headers_on_every_page(client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_unknown_page_is_a_friendly_404(client) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert b"couldn't find that page" in response.data
    assert b"There is no page at this address." in response.data
    assert b"requested URL was not found" not in response.data


def test_unknown_api_path_is_json_404(client) -> None:
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.get_json() == {"error": "NotFound", "message": response.get_json()["message"]}


def test_unexpected_error_is_a_generic_500_page(app, client) -> None:
    app.config["SHOW_ERROR_PAGES"] = True

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret detail")

    response = client.get("/boom")
    assert response.status_code == 500
    assert b"secret detail" not in response.data
    assert b"Something went wrong" in response.data


def test_trusted_proxy_headers_are_used_only_when_configured(make_app) -> None:
    seen: dict[str, tuple[str | None, str]] = {}

    def capture(name: str, app) -> None:
        @app.get("/whoami")
        def whoami():
            from flask import request

            seen[name] = (request.remote_addr, request.scheme)
            return "ok"

    headers = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    direct, proxied = make_app(), make_app(TRUSTED_PROXIES=1)
    capture("direct", direct)
    capture("proxied", proxied)
    direct.test_client().get("/whoami", headers=headers, environ_base={"REMOTE_ADDR": "10.0.0.2"})
    proxied.test_client().get("/whoami", headers=headers, environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert seen["direct"] == ("10.0.0.2", "http")  # a client cannot claim another address by itself
    assert seen["proxied"] == ("203.0.113.9", "https")
