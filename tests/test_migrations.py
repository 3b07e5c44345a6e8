"""Migrations keep a learner's data: every revision upgrades and downgrades with rows in place.

SQLite rebuilds a table to alter it (Alembic batch mode: copy, drop, rename). With foreign keys
enforced, dropping the old `users` table would cascade-delete every row that refers to it, so a
migration that alters `users` would silently empty the wallet.
"""
from __future__ import annotations

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import func, select

from tests.support.credentials import JwtIssuer
from tests.support.wallets import importer_for
from wallet.db import get_engine
from wallet.models import Credential, EmailAddress, Evidence, User
from wallet.schema import alembic_config, current_revision
from wallet.services import importing


def _counts(session) -> dict[str, int]:
    return {model.__name__: session.scalar(select(func.count()).select_from(model))
            for model in (User, EmailAddress, Credential, Evidence)}


def test_migrations_down_to_0004_and_up_again_keep_every_learner_row(app, session, make_user) -> None:
    user = make_user()
    credential = importing.import_paste(session, importer_for(app, user), JwtIssuer().jwt()).credential
    session.add(Evidence(credential_id=credential.id, owner_id=user.id, kind="text", title="Notes", text="Mine"))
    session.commit()
    before = _counts(session)
    assert before["Credential"] == 1 and before["Evidence"] == 1
    session.close()

    config = alembic_config(get_engine(app))
    command.downgrade(config, "0004")
    command.upgrade(config, "head")

    assert current_revision(get_engine(app)) == ScriptDirectory.from_config(config).get_current_head()
    assert _counts(session) == before
