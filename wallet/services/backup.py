"""Operator backups: a consistent snapshot of the database plus the blob store, and restoring one.

The database is copied first and the blobs second. Blobs are append-only and content-addressed, so
every blob a row of the snapshot refers to is already in the store when the copy of the store
starts: a backup taken while learners import never has a row pointing at a missing file.

- SQLite: the online backup API (sqlite3 `Connection.backup`) copies the whole database in one step,
  under one read transaction.
- PostgreSQL: `pg_dump --format=custom` of a snapshot exported from a REPEATABLE READ transaction
  (`pg_export_snapshot()`), in which the row counts and blob references are read too.

A backup folder holds `backup.json` (written last: a folder without it is not a backup),
`database.sqlite3` or `database.pgdump`, and `blobs/ab/abcdef…`.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from wallet.db import Base, utcnow
import wallet.models  # noqa: F401 (registers every table on Base.metadata)
from wallet.schema import current_revision, upgrade_database
from wallet.services import blob_references
from wallet.services.blobs import _SHA256, BlobStore
from wallet.services.errors import WalletError

FORMAT_NAME = "wallet-backup"
FORMAT_VERSION = 1
MANIFEST = "backup.json"
SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.pgdump"
BLOB_FOLDER = "blobs"
CHUNK = 1024 * 1024


class BackupError(WalletError):
    """A backup or restore cannot be done; the message says why and what to do."""


def referenced_blobs(connection: Connection) -> set[str]:
    """Return every sha256 the database's rows refer to (services/blob_references.py lists where)."""
    with Session(bind=connection) as session:
        return blob_references.all_digests(session)


def missing_blobs(connection: Connection, blobs: BlobStore) -> list[str]:
    """Return the sha256 values rows refer to that the blob store does not hold (should be none)."""
    return sorted(digest for digest in referenced_blobs(connection) if not blobs.exists(digest))


def row_counts(connection: Connection) -> dict[str, int]:
    """Return the number of rows of every table."""
    return {table.name: int(connection.execute(select(func.count()).select_from(table)).scalar_one())
            for table in Base.metadata.sorted_tables}


def _software_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("wallet")
    except PackageNotFoundError:
        return None


# ---------------------------------------------------------------------------------------------
# Taking a backup


def take_backup(engine: Engine, blobs: BlobStore, target: str | os.PathLike[str]) -> dict[str, Any]:
    """Write a backup of the database and the blob store into `target` (new or empty); return its manifest."""
    folder = Path(target)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise BackupError(f"{folder} is not empty. Back up into a new or empty folder.")
    folder.mkdir(parents=True, exist_ok=True)
    if engine.dialect.name == "sqlite":
        database = _backup_sqlite(engine, folder / SQLITE_FILE)
    elif engine.dialect.name == "postgresql":
        database = _backup_postgresql(engine, folder / PG_FILE)
    else:
        raise BackupError(f"Backups of {engine.dialect.name} databases are not supported.")
    # Second: the blobs. Every blob the snapshot's rows refer to was written before its row (blobs.py).
    copied, size = _copy_blobs(blobs.root, folder / BLOB_FOLDER, verify=False)
    backup_store = BlobStore(folder / BLOB_FOLDER)
    references = database.pop("references")
    missing = sorted(d for d in references if not backup_store.exists(d))
    manifest = {
        "format": FORMAT_NAME, "version": FORMAT_VERSION, "created_at": utcnow().isoformat(),
        "software": {"name": "wallet", "version": _software_version()},
        "database": database, "blobs": {"folder": BLOB_FOLDER, "count": copied, "bytes": size},
        "missing_blobs": missing,
    }
    tmp = folder / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(manifest, indent=2))
    os.replace(tmp, folder / MANIFEST)
    return manifest


def _backup_sqlite(engine: Engine, path: Path) -> dict[str, Any]:
    raw = engine.raw_connection()
    try:
        target = sqlite3.connect(path)
        try:
            raw.driver_connection.backup(target)  # one step: a consistent copy
        finally:
            target.close()
    finally:
        raw.close()
    copy = create_engine(f"sqlite:///{path}")
    try:
        with copy.connect() as connection:
            info = {"dialect": "sqlite", "file": path.name, "revision": current_revision(copy),
                    "counts": row_counts(connection), "references": referenced_blobs(connection)}
    finally:
        copy.dispose()
    return info


def _libpq(engine: Engine) -> tuple[str, dict[str, str]]:
    """Return a libpq URI without the password, and an environment carrying it (never on the command line)."""
    url = engine.url.set(drivername="postgresql")
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return url.set(password=None).render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} was not found. Install the PostgreSQL client tools (e.g. postgresql-client).")
    return found


def _backup_postgresql(engine: Engine, path: Path) -> dict[str, Any]:
    dsn, env = _libpq(engine)
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection:
        with connection.begin():
            snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            # pg_dump sees exactly this transaction's snapshot, while it stays open.
            done = subprocess.run([_tool("pg_dump"), "--format=custom", f"--snapshot={snapshot}", "--no-owner",
                                   f"--file={path}", f"--dbname={dsn}"], env=env, capture_output=True, text=True)
            if done.returncode != 0:
                raise BackupError(f"pg_dump failed: {done.stderr.strip()[:2000]}")
            revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
            info = {"dialect": "postgresql", "file": path.name, "revision": revision,
                    "counts": row_counts(connection), "references": referenced_blobs(connection)}
    return info


def _copy_blobs(source: Path, target: Path, *, verify: bool) -> tuple[int, int]:
    """Copy every blob file (`ab/abcdef…`) from `source` to `target`; skip temporary files and others."""
    count = size = 0
    if not source.is_dir():
        return 0, 0
    for digest, path in _blob_files(source):
        destination = target / digest[:2] / digest
        if destination.exists():
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        tmp = destination.with_name(f".{digest}.tmp")
        hasher = hashlib.sha256()
        with open(path, "rb") as reader, open(tmp, "wb") as writer:
            while chunk := reader.read(CHUNK):
                hasher.update(chunk)
                writer.write(chunk)
            writer.flush()
            os.fsync(writer.fileno())
        if verify and hasher.hexdigest() != digest:
            tmp.unlink()
            raise BackupError(f"The backup's file {digest} does not match its sha256: the backup is damaged.")
        os.replace(tmp, destination)
        count += 1
        size += destination.stat().st_size
    return count, size


def _blob_files(root: Path) -> Iterable[tuple[str, Path]]:
    for folder in sorted(root.iterdir()):
        if not folder.is_dir() or folder.is_symlink() or len(folder.name) != 2:
            continue
        for path in sorted(folder.iterdir()):
            if _SHA256.fullmatch(path.name) and path.name.startswith(folder.name) and path.is_file() \
                    and not path.is_symlink():
                yield path.name, path


# ---------------------------------------------------------------------------------------------
# Restoring


def read_manifest(source: str | os.PathLike[str]) -> dict[str, Any]:
    """Return the backup's manifest; BackupError if the folder is not a whole backup."""
    path = Path(source) / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise BackupError(f"{source} is not a Wallet backup (no {MANIFEST}; an interrupted backup has none).") from None
    except ValueError:
        raise BackupError(f"{path} is damaged.") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise BackupError(f"{source} is not a Wallet backup.")
    if manifest.get("version") != FORMAT_VERSION:
        raise BackupError(f"This backup is format version {manifest.get('version')}; this Wallet reads "
                          f"version {FORMAT_VERSION}.")
    return manifest


def _is_empty(engine: Engine) -> tuple[bool, dict[str, int]]:
    with engine.connect() as connection:
        existing = set(engine.dialect.get_table_names(connection))
        counts = {table.name: int(connection.execute(select(func.count()).select_from(table)).scalar_one())
                  for table in Base.metadata.sorted_tables if table.name in existing}
    return not any(counts.values()), counts


def restore_backup(engine: Engine, blobs: BlobStore, source: str | os.PathLike[str]) -> dict[str, Any]:
    """Restore a backup into an empty instance; refuse (BackupError) one that holds any rows.

    Returns {"revision", "counts", "blobs", "missing_blobs"}. The database is migrated to this
    version's newest revision afterwards, if the backup is older.
    """
    folder = Path(source)
    manifest = read_manifest(folder)
    database = manifest.get("database") or {}
    empty, counts = _is_empty(engine)
    if not empty:
        held = ", ".join(f"{n:,} {t}" for t, n in counts.items() if n)
        raise BackupError(f"This instance is not empty ({held}). Restore only into a new, empty database; "
                          "nothing was changed.")
    if database.get("dialect") != engine.dialect.name:
        raise BackupError(f"This backup is of a {database.get('dialect')} database; this instance uses "
                          f"{engine.dialect.name}. Restore it into the same kind of database.")
    dump = folder / str(database.get("file") or "")
    if not dump.is_file() or dump.name not in (SQLITE_FILE, PG_FILE):
        raise BackupError(f"The backup's database file is missing from {folder}.")
    # Blobs first this time: once the rows are in, every file they name must be there.
    copied, size = _copy_blobs(folder / BLOB_FOLDER, blobs.root, verify=True)
    engine.dispose()
    if engine.dialect.name == "sqlite":
        _restore_sqlite(engine, dump)
    else:
        _restore_postgresql(engine, dump)
    engine.dispose()
    upgrade_database(engine)
    with engine.connect() as connection:
        return {"revision": current_revision(engine), "counts": row_counts(connection),
                "blobs": {"count": copied, "bytes": size}, "missing_blobs": missing_blobs(connection, blobs)}


def _restore_sqlite(engine: Engine, dump: Path) -> None:
    database = make_url(str(engine.url)).database
    if not database or database == ":memory:":
        raise BackupError("Restore needs a SQLite database file, not an in-memory database.")
    source = sqlite3.connect(f"file:{dump}?mode=ro", uri=True)
    target = sqlite3.connect(database)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()


def _restore_postgresql(engine: Engine, dump: Path) -> None:
    dsn, env = _libpq(engine)
    done = subprocess.run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges",
                           "--single-transaction", "--exit-on-error", f"--dbname={dsn}", str(dump)],
                          env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"pg_restore failed: {done.stderr.strip()[:2000]}")
