"""Which stored files (blobs) a learner's rows name, and whether any other row still names them.

Every column that refers to a blob by its sha256 is listed once, in BLOB_REFERENCES, with the way
from its row to the learner who owns it. A new table that keeps blob digests adds one line there;
deleting an account then removes that table's files too, and keeps the ones another learner's rows
still name (blobs are shared by content: two learners holding the same badge store it once).
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session

from wallet.models import Credential, CredentialVersion, Evidence, Portfolio, VerificationRecord

_SHA256 = re.compile(r"[0-9a-f]{64}")
# Digests per IN (...) query: well under every database's limit on bound parameters.
_CHUNK = 500


@dataclass(frozen=True)
class BlobReference:
    """A column naming blobs: a sha256 string, or JSON whose "sha256" keys do (`in_json`).

    `owner` is the users.id column of the learner the row belongs to; when it lives on another
    table, `join` is the relationship that leads there from the column's table.
    """

    column: InstrumentedAttribute[Any]
    owner: InstrumentedAttribute[Any]
    join: InstrumentedAttribute[Any] | None = None
    in_json: bool = False


BLOB_REFERENCES: tuple[BlobReference, ...] = (
    BlobReference(Credential.original_sha256, Credential.owner_id),
    BlobReference(Credential.image_sha256, Credential.owner_id),
    # Earlier copies of a credential, replaced by a copy that verifies (docs/importing.md).
    BlobReference(CredentialVersion.original_sha256, Credential.owner_id, join=CredentialVersion.credential),
    BlobReference(Evidence.file_sha256, Evidence.owner_id),
    BlobReference(Portfolio.photo_sha256, Portfolio.owner_id),
    # Documents fetched to verify a credential (issuer profiles, keys, status lists), named in the report.
    BlobReference(VerificationRecord.report, Credential.owner_id, join=VerificationRecord.credential, in_json=True),
)


def owned_digests(session: Session, owner_id: int) -> set[str]:
    """Return the digest of every blob the learner's rows name."""
    digests: set[str] = set()
    for reference in BLOB_REFERENCES:
        query = select(reference.column)
        if reference.join is not None:
            query = query.join(reference.join)
        values = session.scalars(query.where(reference.owner == owner_id).execution_options(yield_per=_CHUNK))
        digests.update(_digests_in(values, in_json=reference.in_json))
    return digests


def all_digests(session: Session) -> set[str]:
    """Return the digest of every blob any row names (what a backup must hold)."""
    digests: set[str] = set()
    for reference in BLOB_REFERENCES:
        values = session.scalars(select(reference.column).execution_options(yield_per=_CHUNK))
        digests.update(_digests_in(values, in_json=reference.in_json))
    return digests


def referenced(session: Session, digests: Iterable[str]) -> set[str]:
    """Return those of `digests` that some row (of any learner) still names."""
    wanted = set(digests)
    found: set[str] = set()
    for reference in BLOB_REFERENCES:
        if not wanted - found:
            break
        if reference.in_json:
            # A JSON column cannot be searched the same way on every database: read it through once.
            rows = session.scalars(select(reference.column).execution_options(yield_per=_CHUNK))
            found.update(_digests_in(rows, in_json=True) & wanted)
            continue
        pending = sorted(wanted - found)
        for start in range(0, len(pending), _CHUNK):
            chunk = pending[start:start + _CHUNK]
            found.update(session.scalars(select(reference.column).where(reference.column.in_(chunk)).distinct()))
    return found


def _digests_in(values: Iterable[Any], *, in_json: bool) -> set[str]:
    digests: set[str] = set()
    for value in values:
        if in_json:
            digests.update(_json_digests(value))
        elif isinstance(value, str) and _SHA256.fullmatch(value):
            digests.add(value)
    return digests


def _json_digests(value: Any) -> Iterator[str]:
    # Walk nested reports too (CLR members and endorsements keep their own "documents").
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            digest = item.get("sha256")
            if isinstance(digest, str) and _SHA256.fullmatch(digest):
                yield digest
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
