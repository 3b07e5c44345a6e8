"""The account commands of the `wallet` CLI: create-user, create-token, demo."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.accounts import bearer
from wallet.models import ApiToken, User
from wallet.services import accounts, passwords
from wallet.services.demo import DEMO_EMAIL, DEMO_PASSWORD


def test_create_user_reads_password_from_stdin_and_verifies_email(app, session) -> None:
    result = app.test_cli_runner().invoke(args=["create-user", "Grace@Example.org", "--name", "Grace Hopper"],
                                          input="a long enough passphrase\n")
    assert result.exit_code == 0, result.output
    user = accounts.find_user_by_email(session, "grace@example.org")
    assert user is not None and user.display_name == "Grace Hopper"
    assert user.verified_addresses == ["grace@example.org"]
    assert passwords.verify_password(user.password_hash, "a long enough passphrase")
    assert "a long enough passphrase" not in result.output


def test_create_user_weak_password_fails_and_creates_nothing(app, session) -> None:
    result = app.test_cli_runner().invoke(args=["create-user", "weak@example.org"], input="tiny pw\n")
    assert result.exit_code == 1
    assert "Use at least 10 characters" in result.output
    assert session.query(User).count() == 0


def test_create_user_common_password_fails(app, session) -> None:
    result = app.test_cli_runner().invoke(args=["create-user", "weak@example.org"], input="qwertyuiop\n")
    assert result.exit_code == 1
    assert "most common" in result.output
    assert session.query(User).count() == 0


def test_create_user_existing_email_fails(app, session, make_user) -> None:
    make_user(email="taken@example.org")
    result = app.test_cli_runner().invoke(args=["create-user", "taken@example.org"], input="another passphrase\n")
    assert result.exit_code == 1
    assert "already uses this email address" in result.output
    assert session.query(User).count() == 1


def test_create_token_prints_only_a_working_token(app, client, session, make_user) -> None:
    user = make_user(email="ada@example.org")
    result = app.test_cli_runner().invoke(args=["create-token", "ada@example.org", "--name", "backup script"])
    assert result.exit_code == 0, result.output
    raw = result.output.strip()
    assert raw.startswith("wlt_") and "\n" not in raw
    assert session.query(ApiToken).filter_by(user_id=user.id).one().name == "backup script"
    assert client.get("/api/v1/me", headers=bearer(raw)).get_json()["id"] == user.id


def test_create_token_unknown_email_fails(app, session) -> None:
    result = app.test_cli_runner().invoke(args=["create-token", "nobody@example.org"])
    assert result.exit_code == 1
    assert "No account has the address nobody@example.org" in result.output
    assert session.query(ApiToken).count() == 0


def test_demo_creates_the_learner_once_and_prints_the_login(app, client, session) -> None:
    runner = app.test_cli_runner()
    first, second = runner.invoke(args=["demo"]), runner.invoke(args=["demo"])
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    assert DEMO_EMAIL in first.output and DEMO_PASSWORD in first.output
    assert session.query(User).count() == 1
    response = client.post("/login", data={"email": DEMO_EMAIL, "password": DEMO_PASSWORD})
    assert response.status_code == 302


def test_wallet_command_migrates_and_creates_the_demo_learner(tmp_path: Path) -> None:
    """`make run` runs these two commands on a fresh instance folder; so do we, as real processes."""
    wallet = Path(sys.executable).with_name("wallet")
    env = dict(os.environ, WALLET_INSTANCE_PATH=str(tmp_path / "instance"), WALLET_SECRET_KEY="k" * 40)
    env.pop("WALLET_DATABASE_URL", None)
    upgrade = subprocess.run([str(wallet), "db", "upgrade"], env=env, capture_output=True, text=True, timeout=120)
    assert upgrade.returncode == 0, upgrade.stderr
    demo = subprocess.run([str(wallet), "demo"], env=env, capture_output=True, text=True, timeout=120)
    assert demo.returncode == 0, demo.stderr
    assert f"log in as {DEMO_EMAIL}" in demo.stdout
    assert (tmp_path / "instance" / "wallet.db").exists()
