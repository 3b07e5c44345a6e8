"""The `wallet` command: database, accounts, verification and demo data."""
from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from wallet import db


def _create_app() -> Flask:
    from wallet import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=True, add_version_option=False)
def main() -> None:
    """Wallet: collect, verify and share learning credentials."""


@click.group("db")
def db_group() -> None:
    """Manage the database schema."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    from wallet.schema import current_revision, upgrade_database

    engine = db.get_engine(current_app)
    upgrade_database(engine, revision)
    click.echo(f"Database at revision {current_revision(engine)} ({engine.url.render_as_string()}).")


def register(app: Flask) -> None:
    """Attach every command to the app's CLI (so `flask --app wsgi` sees them too)."""
    app.cli.add_command(db_group)
