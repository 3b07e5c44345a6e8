"""A content-addressed store for original bytes: credentials, fetched documents, images, evidence.

docs/reliability.md §1-2: bytes are kept verbatim under their sha256, outside the web root
(`<instance>/blobs/ab/abcdef…`), written to a temporary file, fsynced and renamed, so a blob is
either whole or absent. A blob is removed only when the last row naming it goes with a deleted
account (services/blob_references.py); an orphan (its import failed after the write) is harmless
and can be collected later.
"""
from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from wallet.services.errors import NotFoundError

_SHA256 = re.compile(r"[0-9a-f]{64}")


def sha256_hex(data: bytes) -> str:
    """Return the lower-case hex SHA-256 of `data`."""
    return hashlib.sha256(data).hexdigest()


class BlobStore:
    """Files named by the SHA-256 of their content, under one root directory."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def path(self, digest: str) -> Path:
        """Return where the blob `digest` lives; refuse anything that is not a sha256 hex string."""
        if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
            raise NotFoundError("No such file.")
        return self.root / digest[:2] / digest

    def put(self, data: bytes) -> str:
        """Store `data` (once) and return its sha256."""
        digest = sha256_hex(data)
        target = self.path(digest)
        if target.exists():
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.parent / f".{digest}.{secrets.token_hex(6)}.tmp"
        try:
            with open(tmp, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        _fsync_dir(target.parent)
        return digest

    def get(self, digest: str) -> bytes:
        """Return the bytes of blob `digest`; NotFoundError if it is missing."""
        try:
            return self.path(digest).read_bytes()
        except FileNotFoundError:
            raise NotFoundError("The stored file is missing.") from None

    def exists(self, digest: str) -> bool:
        """Return whether blob `digest` is stored."""
        return self.path(digest).is_file()

    def delete(self, digest: str) -> bool:
        """Remove blob `digest`; return whether there was one. Only for blobs no row names any more."""
        try:
            self.path(digest).unlink()
        except FileNotFoundError:
            return False
        return True


def _fsync_dir(directory: Path) -> None:
    # Make the rename itself durable (POSIX); not possible on every platform.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def blob_store_from_config(config: Mapping[str, Any], instance_path: str) -> BlobStore:
    """Return the store at BLOB_DIR, or `<instance>/blobs` when it is not set."""
    return BlobStore(config.get("BLOB_DIR") or Path(instance_path) / "blobs")
