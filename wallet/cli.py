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


STATE_WORDS = {
    "valid": ("✓", "Verified"),
    "revoked": ("✕", "Revoked by issuer"),
    "invalid": ("✕", "Not genuine"),
    "expired": ("◷", "Expired"),
    "not_yet_valid": ("◷", "Not yet valid"),
    "unverifiable": ("!", "Couldn't verify"),
    "no_credential": ("!", "No credential found"),
    "error": ("!", "Could not be checked"),
}
CHECK_MARKS = {"passed": "✓", "failed": "✕", "warning": "!", "skipped": "-"}


@click.command("verify")
@click.argument("sources", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per line per SOURCE, in order.")
@click.option("--recipient", "recipients", multiple=True, metavar="EMAIL",
              help="An email, URL or DID the credential should be issued to (repeatable).")
@with_appcontext
def verify_command(sources: tuple[str, ...], as_json: bool, recipients: tuple[str, ...]) -> None:
    """Verify credentials from files or http(s) URLs; exit 0 only if every one is valid."""
    import json
    import sys
    from pathlib import Path

    from wallet.services.http import fetcher_from_config
    from wallet.services.verification import make_context, verify_bytes, verify_url

    fetch = fetcher_from_config(current_app.config)
    all_valid = True
    for source in sources:
        context = make_context(fetch, recipients=recipients)
        if source.startswith(("http://", "https://")):
            result = verify_url(source, context=context)
        else:
            path = Path(source)
            if not path.is_file():
                raise click.BadParameter(f"no such file: {source}", param_hint="SOURCE")
            result = verify_bytes(path.read_bytes(), filename=path.name, context=context)
        all_valid = all_valid and result.is_valid
        if as_json:
            click.echo(json.dumps({"source": source, **result.to_dict()}, ensure_ascii=False))
        else:
            click.echo(_report_text(source, result))
    sys.exit(0 if all_valid else 1)


def _report_text(source: str, result) -> str:
    """Render a verification result as a readable report for the terminal."""
    icon, word = STATE_WORDS.get(str(result.status), ("?", str(result.status)))
    meta = result.metadata
    how = ", ".join(part for part in (result.format, result.container, result.securing) if part)
    lines = [f"{source}", f"  {icon} {word}" + (f"  ({how})" if how else "")]
    if meta.name:
        lines.append(f"  Name:    {meta.name}")
    if meta.issuer_name or meta.issuer_id:
        verified = f"verified as {meta.verified_issuer}" if meta.verified_issuer else "issuer not confirmed"
        lines.append(f"  Issuer:  {meta.issuer_name or '(no name)'} [{meta.issuer_id or '?'}; {verified}]")
    if meta.issued:
        lines.append(f"  Issued:  {meta.issued.isoformat()}")
    if meta.expires:
        lines.append(f"  Expires: {meta.expires.isoformat()}")
    for check in result.checks:
        lines.append(f"  {CHECK_MARKS.get(str(check.status), '?')} {check.id}: {check.message}")
    for nested in result.nested:
        nested_icon, nested_word = STATE_WORDS.get(str(nested.status), ("?", str(nested.status)))
        lines.append(f"    {nested_icon} nested {nested.format or ''} {nested.metadata.name or ''}: {nested_word}")
    return "\n".join(lines)


def register(app: Flask) -> None:
    """Attach every command to the app's CLI (so `flask --app wsgi` sees them too)."""
    app.cli.add_command(db_group)
    app.cli.add_command(verify_command)
