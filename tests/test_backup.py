"""Operator backups: `wallet backup DIR` takes a consistent snapshot while learners import;
`wallet restore DIR` brings it back into an empty instance, with every file its rows name."""
from __future__ import annotations

import hashlib
import json
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.support.accounts import bearer, create_api_token
from tests.support.credentials import JwtIssuer, png_image
from tests.support.instances import _other_template, other_app, other_database_url  # noqa: F401
from tests.support.wallets import fill_wallet, importer_for
from wallet.db import get_engine, get_session
from wallet.models import Credential, Evidence
from wallet.services import backup, evidence, importing
from wallet.services.blobs import blob_store_from_config


def _store(app):
    return blob_store_from_config(app.config, app.instance_path)


def run_cli(app, *args: str):
    """Run a `wallet` command against `app` (its own app context: the test's is another app's)."""
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args))


def _missing(app) -> list[str]:
    with get_engine(app).connect() as connection:
        return backup.missing_blobs(connection, _store(app))


class Importing(threading.Thread):
    """Import credentials with an evidence file each, one commit per credential, until stopped."""

    def __init__(self, app, user_id: int) -> None:
        super().__init__(daemon=True)
        self.app, self.user_id = app, user_id
        self.done = 0
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        issuer = JwtIssuer()
        try:
            with self.app.app_context():
                session = get_session()
                from wallet.models import User

                user = session.get(User, self.user_id)
                importer = importer_for(self.app, user)
                while not self.stop.is_set() and self.done < 400:
                    item = importing.import_paste(session, importer, issuer.jwt(name=f"Course {self.done}"))
                    evidence.add_file(session, user.id, item.credential.id, filename="work.txt",
                                      data=f"work number {self.done} {time.time()}\n".encode(), blobs=importer.blobs)
                    session.commit()
                    self.done += 1
                session.close()
        except BaseException as error:  # reported by the test
            self.error = error


def test_backup_during_imports_restores_into_empty_instance_with_every_file(app, session, make_user, tmp_path,
                                                                             other_app):
    wallet = fill_wallet(app, session, make_user(email="learner@example.org"))
    token = create_api_token(session, wallet.user)
    session.commit()
    worker = Importing(app, wallet.user.id)
    worker.start()
    while worker.done < 3 and worker.is_alive():
        time.sleep(0.02)
    folder = tmp_path / "backup"
    result = app.test_cli_runner().invoke(args=["backup", str(folder)])
    during = worker.done
    worker.stop.set()
    worker.join(timeout=60)
    assert worker.error is None, worker.error
    assert result.exit_code == 0, result.output
    assert worker.done > during or worker.done >= 3  # imports ran around the backup

    manifest = json.loads((folder / "backup.json").read_text())
    assert manifest["format"] == "wallet-backup" and manifest["missing_blobs"] == []
    assert manifest["database"]["revision"] is not None
    backed_up = manifest["database"]["counts"]["credentials"]
    assert 3 + 3 <= backed_up  # the wallet's three and at least three from the thread

    other = other_app()
    restored = run_cli(other, "restore", str(folder))
    assert restored.exit_code == 0, restored.output
    with other.app_context():
        other_session = get_session()
        assert other_session.scalar(select(func.count()).select_from(Credential)) == backed_up
        assert other_session.scalar(select(func.count()).select_from(Evidence)) == \
            manifest["database"]["counts"]["evidence"]
        assert _missing(other) == []
        credential = other_session.scalars(select(Credential).order_by(Credential.id)).first()
        original_sha = credential.original_sha256
        credential_id = credential.id
    # The restored app serves: the token from before the backup works, originals download intact.
    client = other.test_client()
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    listed = client.get("/api/v1/credentials", headers=bearer(token)).get_json()
    assert listed["count"] == backed_up
    original = client.get(f"/api/v1/credentials/{credential_id}/original", headers=bearer(token))
    assert hashlib.sha256(original.get_data()).hexdigest() == original_sha

    # A second restore into the now filled instance is refused and changes nothing.
    again = run_cli(other, "restore", str(folder))
    assert again.exit_code == 1 and "not empty" in again.output


def test_backup_into_non_empty_folder_is_refused(app, tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "something").write_text("x")
    result = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "full")])
    assert result.exit_code == 1 and "not empty" in result.output


def test_restore_of_folder_without_manifest_is_refused(app, tmp_path):
    (tmp_path / "half").mkdir()
    result = app.test_cli_runner().invoke(args=["restore", str(tmp_path / "half")])
    assert result.exit_code == 1 and "no backup.json" in result.output


def test_restore_with_altered_blob_is_refused(app, session, make_user, tmp_path, other_app):
    fill_wallet(app, session, make_user())
    folder = tmp_path / "backup"
    assert app.test_cli_runner().invoke(args=["backup", str(folder)]).exit_code == 0
    victim = next(p for p in (folder / "blobs").rglob("*") if p.is_file())
    victim.write_bytes(png_image("red"))
    result = run_cli(other_app(), "restore", str(folder))
    assert result.exit_code == 1 and "does not match its sha256" in result.output


# Columns named *sha256 that hold a hash of content rather than the name of a stored file.
NOT_BLOBS = {("credential_versions", "content_sha256")}


def test_blob_references_cover_every_sha256_column():
    from wallet.db import Base
    from wallet.services.blob_references import BLOB_REFERENCES

    named = {(table.name, column.name) for table in Base.metadata.sorted_tables for column in table.columns
             if column.name.endswith("sha256")}
    listed = {(ref.column.class_.__table__.name, ref.column.key) for ref in BLOB_REFERENCES if not ref.in_json}
    assert named - NOT_BLOBS == listed


@pytest.mark.parametrize("name", ["blobs.tmp", "zz"])
def test_backup_copies_only_blob_files(app, session, make_user, tmp_path, name):
    fill_wallet(app, session, make_user())
    store = _store(app)
    (store.root / name).mkdir(parents=True, exist_ok=True)
    (store.root / name / "stray.txt").write_text("not a blob")
    folder = tmp_path / "backup"
    assert app.test_cli_runner().invoke(args=["backup", str(folder)]).exit_code == 0
    assert not list((folder / "blobs").rglob("stray.txt"))
    assert all(p.name == hashlib.sha256(p.read_bytes()).hexdigest()
               for p in Path(folder / "blobs").rglob("*") if p.is_file())
