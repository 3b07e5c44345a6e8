"""Demo data: two providers with real keys, five credentials imported for real, idempotent."""
from __future__ import annotations

from sqlalchemy import func, select

from wallet.models import Credential, Evidence
from wallet.services.blobs import blob_store_from_config
from wallet.services.demo import DEMO_KEYS_FILE, demo_providers, ensure_demo_credentials, ensure_demo_learner


def test_ensure_demo_credentials_imports_verified_credentials_once(app, session, tmp_path):
    user, _ = ensure_demo_learner(session)
    session.flush()
    blobs = blob_store_from_config(app.config, app.instance_path)
    first = ensure_demo_credentials(session, user, blobs=blobs, keys_path=tmp_path / DEMO_KEYS_FILE)
    session.commit()
    assert [item.state for item in first] == ["imported"] * 5
    credentials = session.scalars(select(Credential).order_by(Credential.id)).all()
    assert {c.format_id for c in credentials} == {"ob3"}
    assert {c.securing for c in credentials} == {"eddsa-rdfc-2022", "vc-jwt"}
    assert sorted(c.status for c in credentials) == ["expired", "valid", "valid", "valid", "valid"]
    assert {c.recipient_state for c in credentials} == {"matched"}
    assert sum(c.image_sha256 is not None for c in credentials) == 4
    assert {c.issuer_name for c in credentials} == {"Northwind Academy", "Riverside College"}
    assert session.scalar(select(func.count()).select_from(Evidence)) == 4

    again = ensure_demo_credentials(session, user, blobs=blobs, keys_path=tmp_path / DEMO_KEYS_FILE)
    assert [item.state for item in again] == ["duplicate"] * 5
    assert session.scalar(select(func.count()).select_from(Credential)) == 5


def test_demo_providers_keys_are_generated_once_and_kept(tmp_path):
    path = tmp_path / DEMO_KEYS_FILE
    first = demo_providers(path)
    assert path.stat().st_mode & 0o077 == 0
    second = demo_providers(path)
    assert (first.ld_did, first.jwt_did) == (second.ld_did, second.jwt_did)
    assert first.ld_did.startswith("did:key:z6Mk") and first.jwt_did.startswith("did:jwk:")


def test_wallet_demo_command_prints_login_and_fills_wallet(app, session):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "Demo credentials: 5 added" in result.output
    assert runner.invoke(args=["demo"]).output.startswith("Demo credentials: 0 added, 5 already in the wallet.")
