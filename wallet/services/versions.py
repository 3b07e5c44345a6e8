"""Versions of a credential: what is the same credential, the same version, and which copy to keep.

docs/importing.md: one rule for every format says what is the same credential (`dedupe_key`: the
OB 2.0 assertion id, else credential id + issuer) and what is the same version of it
(`version_key`: a hash of the signed content, whatever carried it). The same version again is a
duplicate. Another version replaces the one held only if it verifies better (`rank`): a genuine
copy replaces a broken one, which stays in the credential's history; a copy that does not verify
never replaces a genuine one. The import service (importing.py) writes what this module decides.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from wallet.models.credential import Credential, CredentialVersion
from wallet.services.blobs import BlobStore
from wallet.services.errors import WalletError
from wallet.services.verification import make_context
from wallet.services.verification.extract import content_sha256, extract
from wallet.services.verification.result import Status, VerificationResult

# What an imported copy of a credential already held does (ImportItem states).
REPLACED = "replaced"  # another version, now the credential's current version
DUPLICATE = "duplicate"  # this version is already held
KEPT = "kept"  # another version that verifies no better: the wallet keeps its own, nothing is stored

ALREADY_HELD = "Already in your wallet."
REPLACED_BROKEN = ("This copy verifies, so it replaces the one in your wallet that did not. "
                   "The earlier copy stays in the credential's history.")
REPLACED_UPDATE = ("This copy of the credential replaces the one in your wallet. "
                   "The earlier copy stays in the credential's history.")
IN_HISTORY = "Already in your wallet: an earlier copy, kept in the credential's history."
GENUINE_HELD = "This file does not verify; your wallet already holds a genuine copy."
NEITHER_VERIFIES = "This file does not verify either; your wallet keeps the copy it already holds."
NOT_IN_FORCE = "This copy has expired or is not yet valid; your wallet keeps the copy it already holds."

# How far a verification shows the credential to be the issuer's (see `rank`).
RANK_NOT_GENUINE, RANK_UNKNOWN, RANK_NOT_IN_FORCE, RANK_IN_FORCE = range(4)


def dedupe_key(result: VerificationResult, original: bytes) -> str:
    """Return what makes a credential the same credential (sha256 hex), one rule for every format.

    docs/importing.md: OB 2.0 = the assertion id; any other credential = its id + its issuer, however
    it is secured (VC-JWT, Data Integrity, CLR); without an id, its signed content (`version_key`),
    so that each such copy is a credential of its own. Copies with the same key are versions of one
    credential (a tampered copy, a re-signed one, a hosted assertion the issuer changed).
    """
    document = result.credential or {}
    credential_id = result.metadata.credential_id or document.get("id")
    issuer_id = result.metadata.issuer_id or _issuer_id(document)
    if result.format == "ob2" and isinstance(credential_id, str) and credential_id:
        material = "ob2\n" + credential_id
    elif isinstance(credential_id, str) and credential_id and issuer_id:
        material = f"vc\n{credential_id}\n{issuer_id}"
    else:
        material = "version\n" + version_key(result, original)
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def version_key(result: VerificationResult, original: bytes) -> str:
    """Return what makes a copy the same version (sha256 hex): its signed content, whatever carried it.

    The compact JWS, or the canonical JSON with its proof (extract.content_sha256); the bytes
    themselves only when verification found no content to hash.
    """
    return result.content_sha256 or hashlib.sha256(original).hexdigest()


def legacy_key(result: VerificationResult) -> str | None:
    # Before versions, a JWT's key was its compact text (docs/importing.md, last section).
    if not result.compact:
        return None
    return hashlib.sha256(("jws\n" + result.compact.strip()).encode("utf-8")).hexdigest()


def _issuer_id(document: dict[str, Any]) -> str | None:
    issuer = document.get("issuer")
    if isinstance(issuer, dict):
        issuer = issuer.get("id")
    return issuer if isinstance(issuer, str) else None


def rank(status: str, checks: Iterable[Mapping[str, Any]]) -> int:
    """Return how far a verification shows a copy to be the issuer's, and in force.

    Not genuine (a failed signature, structure or binding) < unknown (could not be checked) <
    genuine but expired or not yet valid < genuine and valid, or revoked (the issuer's own word).
    """
    outcomes = {check.get("outcome") for check in checks if check.get("status") == "failed"}
    if outcomes & {Status.INVALID.value, Status.ERROR.value, Status.NO_CREDENTIAL.value}:
        return RANK_NOT_GENUINE
    if Status.UNVERIFIABLE.value in outcomes:
        return RANK_UNKNOWN
    return RANK_IN_FORCE if status in (Status.VALID.value, Status.REVOKED.value) else RANK_NOT_IN_FORCE


def _held_rank(credential: Credential) -> int:
    conclusive = [r for r in credential.verifications if r.conclusive]
    record = max(conclusive, key=lambda r: (r.checked_at, r.id or 0), default=None)
    if record is None:
        return RANK_UNKNOWN
    return rank(record.status, record.report.get("checks") or [])


def compare_versions(credential: Credential, result: VerificationResult, content: str,
                     blobs: BlobStore) -> tuple[str, str]:
    """Decide what an imported copy of a credential already held does: (state, message to the learner).

    DUPLICATE when it is the current version (or an earlier one that verifies as well); REPLACED when
    it verifies better than the current version, or as well (valid) and is new: the issuer's newer
    copy; otherwise KEPT: a copy that verifies worse never replaces the one held.
    """
    current = credential.current_version
    if current is not None and content_of(current, blobs) == content:
        return DUPLICATE, ALREADY_HELD
    held = _held_rank(credential)
    offered = rank(str(result.status), [check.to_dict() for check in result.checks])
    in_history = any(v.content_sha256 == content for v in credential.versions)
    if offered > held or (offered == held == RANK_IN_FORCE and not in_history):
        return REPLACED, REPLACED_BROKEN if held < RANK_NOT_IN_FORCE else REPLACED_UPDATE
    if in_history and offered == held:
        return DUPLICATE, IN_HISTORY
    if offered >= RANK_NOT_IN_FORCE:
        return KEPT, NOT_IN_FORCE
    return KEPT, GENUINE_HELD if held >= RANK_NOT_IN_FORCE else NEITHER_VERIFIES


def content_of(version: CredentialVersion, blobs: BlobStore) -> str | None:
    """Return the version's content hash, working it out (and keeping it) from its original if it
    predates the column; None if the original cannot be read offline."""
    if version.content_sha256 is None:
        try:
            presented = extract(blobs.get(version.original_sha256), content_type=version.original_type,
                                filename=version.original_filename, context=make_context())
        except (WalletError, OSError):  # e.g. a baked URL, which cannot be read offline
            return None
        version.content_sha256 = content_sha256(presented)
    return version.content_sha256
