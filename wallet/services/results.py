"""What a verification writes on a stored credential: its metadata and tags, the recipient state and a
dated record of the whole report; and the fetch wrapper that keeps every body a verification read.

Shared by the import (importing.py) and re-checks (credentials.py), so a credential reads the same
whichever of them verified it last.
"""
from __future__ import annotations

from wallet.models.credential import (
    RECIPIENT_MATCHED,
    RECIPIENT_MISMATCH,
    RECIPIENT_UNKNOWN,
    TAG_ISSUER,
    TAG_SKILL,
    Credential,
    CredentialTag,
    VerificationRecord,
)
from wallet.services.errors import FetchError, ImportTimeoutError
from wallet.services.http import ImportDeadline
from wallet.services.sanitize import clean_text
from wallet.services.verification.fetching import Fetch, Fetched, Kind
from wallet.services.verification.result import CheckStatus, VerificationResult


class RecordingFetch:
    """Wrap the fetcher to keep every fetched body (to store verbatim) and note unreachable resources."""

    def __init__(self, fetch: Fetch) -> None:
        # docs/security.md A12: one deadline for every fetch of this import, the badge image's included.
        self._fetch = fetch.begin() if isinstance(fetch, ImportDeadline) else fetch
        self.bodies: dict[str, bytes] = {}
        self.unreachable: list[str] = []
        self.timed_out: ImportTimeoutError | None = None

    def __call__(self, url: str, *, kind: Kind = "json") -> Fetched:
        try:
            fetched = self._fetch(url, kind=kind)
        except FetchError as error:
            if isinstance(error, ImportTimeoutError):
                self.timed_out = error
            # OB 2.0: 410 Gone is the issuer's answer (revoked), not an unreachable server.
            if getattr(error, "status_code", None) != 410:
                self.unreachable.append(url)
            raise
        self.bodies[fetched.sha256] = fetched.body
        return fetched


def recipient_state(result: VerificationResult) -> str:
    """Return whether the credential was issued to one of the learner's verified identities."""
    check = next((c for c in result.checks if c.id == "recipient"), None)
    if check is None or check.status is CheckStatus.SKIPPED:
        return RECIPIENT_UNKNOWN
    if check.status is CheckStatus.FAILED:
        return RECIPIENT_MISMATCH
    return RECIPIENT_MATCHED if check.status is CheckStatus.PASSED else RECIPIENT_UNKNOWN


def record_for(result: VerificationResult, *, trigger: str, conclusive: bool = True) -> VerificationRecord:
    """Return a dated verification record holding the whole report."""
    return VerificationRecord(checked_at=result.checked_at, status=str(result.status), conclusive=conclusive,
                              trigger=trigger, report=result.to_dict())


def apply_metadata(credential: Credential, result: VerificationResult) -> None:
    """Copy the normalised metadata of `result` onto the credential, with its issuer tags and skills."""
    meta = result.metadata
    credential.document = result.credential
    credential.name = clean_text(meta.name, limit=500) or "Untitled credential"
    credential.description = meta.description
    credential.issuer_id = _cap(meta.issuer_id)
    credential.issuer_name = clean_text(meta.issuer_name, limit=500) or None
    credential.issuer_url = _cap(meta.issuer_url)
    credential.verified_issuer = _cap(meta.verified_issuer)
    credential.credential_uri = _cap(meta.credential_id)
    credential.issued_at = meta.issued
    credential.valid_from = meta.valid_from
    credential.expires_at = meta.expires
    credential.details = meta.to_dict()
    wanted = {(TAG_ISSUER, clean_text(t, limit=200)) for t in meta.tags[:50] if isinstance(t, str)}
    wanted |= {(TAG_SKILL, clean_text(a.get("name"), limit=200)) for a in meta.alignments[:100]
               if isinstance(a, dict) and isinstance(a.get("name"), str)}
    wanted = {(kind, name) for kind, name in wanted if name}
    credential.tags = [t for t in credential.tags if t.kind not in (TAG_ISSUER, TAG_SKILL) or (t.kind, t.name) in wanted]
    have = {(t.kind, t.name) for t in credential.tags}
    credential.tags.extend(CredentialTag(kind=kind, name=name) for kind, name in sorted(wanted - have))


def _cap(value: str | None, limit: int = 2048) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None
