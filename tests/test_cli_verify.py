"""`wallet verify SOURCE... [--json] [--recipient EMAIL]`."""
from __future__ import annotations

import json
from pathlib import Path

from tests.support.credentials import JwtIssuer, bake_png_jwt, png_image
from tests.support.servers import DocumentServer, Response


def _files(tmp_path: Path) -> tuple[Path, Path, Path]:
    issuer = JwtIssuer()
    good = tmp_path / "good.jwt"
    good.write_text(issuer.jwt(email="learner@example.org"))
    baked = tmp_path / "badge.png"
    baked.write_bytes(bake_png_jwt(issuer.jwt(), png_image()))
    header, payload, signature = issuer.jwt().split(".")
    forged = tmp_path / "forged.jwt"
    forged.write_text(f"{header}.{payload}.{signature[:-4]}AAAA")
    return good, baked, forged


def test_verify_json_prints_one_object_per_source_in_order_and_exits_0_when_all_valid(app, tmp_path: Path) -> None:
    good, baked, _ = _files(tmp_path)
    result = app.test_cli_runner().invoke(args=["verify", "--json", str(good), str(baked)])
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [line["source"] for line in lines] == [str(good), str(baked)]
    assert [(line["format"], line["status"]) for line in lines] == [("ob3", "valid"), ("ob3", "valid")]
    assert all(line["checks"] for line in lines)
    assert result.exit_code == 0


def test_verify_any_source_not_valid_exits_1(app, tmp_path: Path) -> None:
    good, _, forged = _files(tmp_path)
    result = app.test_cli_runner().invoke(args=["verify", "--json", str(good), str(forged)])
    statuses = [json.loads(line)["status"] for line in result.output.splitlines()]
    assert statuses == ["valid", "invalid"]
    assert result.exit_code == 1


def test_verify_readable_report_names_the_state_and_each_check(app, tmp_path: Path) -> None:
    good, _, forged = _files(tmp_path)
    result = app.test_cli_runner().invoke(args=["verify", str(good), str(forged)])
    assert "✓ Verified" in result.output
    assert "✕ Not genuine" in result.output
    assert "Issuer:" in result.output and "did:jwk:" in result.output
    assert result.exit_code == 1


def test_verify_recipient_option_checks_the_recipient(app, tmp_path: Path) -> None:
    good, _, _ = _files(tmp_path)
    runner = app.test_cli_runner()
    matched = json.loads(runner.invoke(args=["verify", "--json", "--recipient", "learner@example.org", str(good)]).output)
    other = json.loads(runner.invoke(args=["verify", "--json", "--recipient", "someone@example.org", str(good)]).output)
    recipient = {c["id"]: c["status"] for c in matched["checks"]}["recipient"]
    assert recipient == "passed"
    assert {c["id"]: c["status"] for c in other["checks"]}["recipient"] == "failed"


def test_verify_url_source_goes_through_the_guarded_fetcher(app_config, request, tmp_path: Path) -> None:
    server = DocumentServer()
    try:
        server.routes["/badge.jwt"] = Response(JwtIssuer().jwt().encode(), content_type="text/plain")
        # The app builds its fetcher from its config when it starts.
        app_config.update(ALLOW_PRIVATE_NETWORK=True, URL_REWRITE={"https://provider.example/": server.url("/")})
        app = request.getfixturevalue("app")
        result = app.test_cli_runner().invoke(args=["verify", "--json", "https://provider.example/badge.jwt"])
        line = json.loads(result.output)
        assert (line["source"], line["status"]) == ("https://provider.example/badge.jwt", "valid")
        assert result.exit_code == 0
    finally:
        server.close()


def test_verify_blocked_url_is_refused_and_exits_1(app) -> None:
    result = app.test_cli_runner().invoke(args=["verify", "--json", "http://169.254.169.254/latest/meta-data/"])
    line = json.loads(result.output)
    assert line["status"] == "error"
    assert result.exit_code == 1


def test_verify_usage_errors_exit_2(app, tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    assert runner.invoke(args=["verify"]).exit_code == 2
    missing = runner.invoke(args=["verify", str(tmp_path / "missing.json")])
    assert missing.exit_code == 2
    assert "no such file" in missing.output
