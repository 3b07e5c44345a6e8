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

    from wallet.services.verification import make_context, verify_bytes, verify_url
    from wallet.wiring import collaborators

    fetch = collaborators().fetcher
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
    meta = result.metadata
    how = ", ".join(part for part in (result.format, result.container, result.securing) if part)
    icon, word = _state_words(result)
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
        nested_icon, nested_word = _state_words(nested)
        lines.append(f"    {nested_icon} nested {nested.format or ''} {nested.metadata.name or ''}: {nested_word}")
    return "\n".join(lines)


def _state_words(result) -> tuple[str, str]:
    """Return a result's state icon and words, as every page says them (services/verification/states.py)."""
    from wallet.services.verification.states import state_label, state_of
    from wallet.templating import format_date

    meta = result.metadata
    word = state_label(result.status, expires=format_date(meta.expires),
                       valid_from=format_date(meta.valid_from or meta.issued))
    return state_of(result.status).icon, word


@click.command("create-user")
@click.argument("email")
@click.option("--name", default=None, help="Display name (default: the part of EMAIL before the @).")
@with_appcontext
def create_user_command(email: str, name: str | None) -> None:
    """Create an account with a verified EMAIL; the password is read from standard input."""
    from wallet.services import accounts
    from wallet.services.errors import WalletError

    import sys

    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    session = db.get_session()
    try:
        # An operator typed this address, so it counts as verified.
        user = accounts.register(session, display_name=name or email.partition("@")[0], email=email,
                                 password=password, verified=True,
                                 password_min_length=int(current_app.config["PASSWORD_MIN_LENGTH"]))
    except WalletError as error:
        raise click.ClickException(str(error)) from error
    session.commit()
    click.echo(f"Created account {user.id} for {user.primary_email.address}.")


@click.command("create-token")
@click.argument("email")
@click.option("--name", default="command line", show_default=True, help="Name shown in Settings.")
@with_appcontext
def create_token_command(email: str, name: str) -> None:
    """Create a personal access token for the account with EMAIL and print only the token."""
    from wallet.services import accounts, tokens
    from wallet.services.errors import WalletError

    session = db.get_session()
    user = accounts.find_user_by_email(session, email)
    if user is None:
        raise click.ClickException(f"No account has the address {email}.")
    try:
        _, raw = tokens.create_token(session, owner_id=user.id, name=name)
    except WalletError as error:
        raise click.ClickException(str(error)) from error
    session.commit()
    click.echo(raw)


@click.command("demo")
@click.option("--base-url", default="http://127.0.0.1:5000", show_default=True,
              help="Where the app is served, for the printed links (PUBLIC_URL wins when set).")
@with_appcontext
def demo_command(base_url: str) -> None:
    """Create the demo learner (once) with credentials, a pathway, a portfolio and a share link; print the links."""
    from pathlib import Path

    from wallet.services.demo import (
        DEMO_EMAIL,
        DEMO_KEYS_FILE,
        ensure_demo_credentials,
        ensure_demo_learner,
        ensure_demo_showcase,
    )
    from wallet.services.pathways import pathway_progress
    from wallet.services.portfolios import is_public
    from wallet.services.share_links import is_share_public
    from wallet.web import external_url
    from wallet.wiring import collaborators

    session = db.get_session()
    user, password = ensure_demo_learner(session)
    session.flush()
    blobs = collaborators().blobs
    items = ensure_demo_credentials(session, user, blobs=blobs, keys_path=Path(current_app.instance_path) / DEMO_KEYS_FILE)
    showcase = ensure_demo_showcase(session, user, items)
    session.commit()
    added = sum(item.created for item in items)
    click.echo(f"Demo credentials: {added} added, {len(items) - added} already in the wallet.")
    progress = pathway_progress(session, user.id, showcase.pathway.id).progress
    click.echo(f"Demo pathway: {showcase.pathway.title}, {progress.percent}% done.")
    # The links are built as a request to the served app would build them.
    with current_app.test_request_context("/", base_url=base_url):
        if is_public(showcase.portfolio):
            click.echo(f"Demo portfolio: {external_url('public.portfolio', slug=showcase.portfolio.slug)}")
        else:
            click.echo("Demo portfolio: not published now (publish it again from the Portfolios page).")
        if is_share_public(showcase.share):
            click.echo(f"Demo shared credential: {external_url('public.shared', slug=showcase.share.slug)}")
    click.echo(f"Demo learner: log in as {DEMO_EMAIL} with the password {password}")


@click.command("reverify")
@click.option("--stale-after", type=click.FloatRange(min=0), default=24.0, show_default=True, metavar="HOURS",
              help="Re-check credentials last checked more than HOURS ago (0: all of them).")
@click.option("--enqueue", is_flag=True, help="Queue the re-checks as background sweeps (run by `wallet worker`, "
                                              "or by the app process without Redis) instead of doing them now.")
@with_appcontext
def reverify_command(stale_after: float, enqueue: bool) -> None:
    """Re-verify stored credentials; an unreachable issuer keeps the last result, marked as such."""
    from datetime import timedelta

    from wallet.services.credentials import stale_credentials
    from wallet.services.recheck import sweep
    from wallet.wiring import collaborators

    config = current_app.config
    if enqueue:
        from wallet.tasks import queue_sweeps

        session = db.get_session()
        ids = [credential_id for _, credential_id in stale_credentials(session, timedelta(hours=stale_after))]
        session.commit()
        jobs = queue_sweeps(current_app, session, ids)
        where = "for `wallet worker`" if config.get("REDIS_URL") else "in this process"
        click.echo(f"Queued {len(ids)} credential(s) in {len(jobs)} sweep(s) {where}.")
        if not config.get("REDIS_URL"):
            collaborators().queue.drain()  # without Redis, this process is the worker: wait for it
        return
    with current_app.extensions["wallet.sessionmaker"]() as session:
        ids = [credential_id for _, credential_id in stale_credentials(session, timedelta(hours=stale_after))]
    # One sweep: concurrent, at most RECHECK_PER_HOST requests at once per issuer host, each document once;
    # each batch is committed as it is done, so a crash keeps what was already re-checked.
    summary = sweep(current_app.extensions["wallet.sessionmaker"], ids, fetch=collaborators().revalidating_fetch(),
                    blobs=collaborators().blobs, per_host=int(config["RECHECK_PER_HOST"]),
                    workers=int(config["RECHECK_WORKERS"]))
    for outcome in summary.unreachable:
        click.echo(f"  ! {outcome.credential_id} {outcome.name}: could not re-check (issuer unreachable)")
    for outcome in summary.changed:
        click.echo(f"  * {outcome.credential_id} {outcome.name}: now {outcome.status}")
    click.echo(f"Re-verified {summary.checked} credential(s): {len(summary.changed)} changed, "
               f"{summary.unchanged} unchanged, {len(summary.unreachable)} could not be re-checked.")
    if summary.failed:
        click.echo(f"{summary.failed} credential(s) could not be re-checked because of an error (see the log).")


@click.command("worker")
@click.option("--burst", is_flag=True, help="Run what is queued (and what is due now), then exit.")
@with_appcontext
def worker_command(burst: bool) -> None:
    """Run background jobs from the Redis queue (imports, re-checks) and tick the re-check schedule."""
    from wallet.queue import RedisQueue, Scheduler
    from wallet.wiring import collaborators

    queue = collaborators().queue
    if not isinstance(queue, RedisQueue):
        raise click.ClickException("Set WALLET_REDIS_URL to run a worker; without Redis, jobs run inside the app "
                                   "process.")
    schedule = bool(current_app.config.get("RECHECK_SCHEDULE"))
    if burst:
        if schedule:
            from wallet.tasks import tick

            tick()  # queue what is due now, then empty the queue
        queue.drain()
        return
    scheduler = Scheduler(queue, float(current_app.config["RECHECK_TICK_SECONDS"])).start() if schedule else None
    try:
        queue.worker().work(logging_level="INFO")
    finally:
        if scheduler is not None:
            scheduler.stop()


@click.command("backup")
@click.argument("directory", type=click.Path(file_okay=False))
@with_appcontext
def backup_command(directory: str) -> None:
    """Back up the database (a consistent snapshot) and then the blob store into DIRECTORY (new or empty)."""
    from wallet.services.backup import BackupError, take_backup
    from wallet.wiring import collaborators

    try:
        manifest = take_backup(db.get_engine(current_app),
                               collaborators().blobs, directory)
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    database = manifest["database"]
    rows = sum(database["counts"].values())
    click.echo(f"Backed up the {database['dialect']} database (revision {database['revision']}, {rows:,} rows, "
               f"{database['counts'].get('credentials', 0):,} credentials) and {manifest['blobs']['count']:,} "
               f"files ({manifest['blobs']['bytes']:,} bytes) into {directory}.")
    if manifest["missing_blobs"]:
        click.echo(f"Warning: {len(manifest['missing_blobs'])} file(s) the database refers to were already "
                   "missing from the blob store; they are listed in backup.json.", err=True)
    click.echo("Keep WALLET_SECRET_KEY (or the instance's secret_key file) with it: learners' wallet keys need it.")


@click.command("restore")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@with_appcontext
def restore_command(directory: str) -> None:
    """Restore a backup from DIRECTORY into this instance, whose database must be empty."""
    from wallet.services.backup import BackupError, restore_backup
    from wallet.wiring import collaborators

    try:
        outcome = restore_backup(db.get_engine(current_app),
                                 collaborators().blobs, directory)
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    counts = outcome["counts"]
    click.echo(f"Restored {counts.get('users', 0):,} accounts, {counts.get('credentials', 0):,} credentials and "
               f"{outcome['blobs']['count']:,} files; database at revision {outcome['revision']}.")
    if outcome["missing_blobs"]:
        raise click.ClickException(f"{len(outcome['missing_blobs'])} file(s) the database refers to are missing.")


def register(app: Flask) -> None:
    """Attach every command to the app's CLI (so `flask --app wsgi` sees them too)."""
    app.cli.add_command(db_group)
    app.cli.add_command(create_user_command)
    app.cli.add_command(create_token_command)
    app.cli.add_command(demo_command)
    app.cli.add_command(verify_command)
    app.cli.add_command(reverify_command)
    app.cli.add_command(worker_command)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
