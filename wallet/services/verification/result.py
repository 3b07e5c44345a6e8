"""What a verification produces: checks, an overall status, and the credential's metadata.

Pure data: no Flask, no models, no I/O. Every format module returns a VerificationResult.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    """The overall verdict. docs/design.md gives each one word, colour and icon."""

    VALID = "valid"
    INVALID = "invalid"
    REVOKED = "revoked"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    # Genuineness could not be established (a resource could not be fetched, or the key could
    # not be tied to the issuer). Never the same as invalid.
    UNVERIFIABLE = "unverifiable"
    NO_CREDENTIAL = "no_credential"
    ERROR = "error"


class CheckStatus(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    WARNING = "warning"
    SKIPPED = "skipped"


# When several checks fail, the overall status is the first of these that any failure implies.
STATUS_PRECEDENCE: tuple[Status, ...] = (
    Status.ERROR,
    Status.NO_CREDENTIAL,
    Status.INVALID,
    Status.REVOKED,
    Status.EXPIRED,
    Status.NOT_YET_VALID,
    Status.UNVERIFIABLE,
)


@dataclass
class Check:
    """One thing that was checked, with its result in words a learner understands."""

    id: str
    status: CheckStatus
    message: str
    # The overall status a failure leads to (INVALID, REVOKED, UNVERIFIABLE, ...); None otherwise.
    outcome: Status | None = None
    # What the check consulted: key id, issuer id, status list URL, document sha256, ...
    detail: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def passed(cls, id: str, message: str, **detail: Any) -> Check:
        return cls(id, CheckStatus.PASSED, message, None, detail)

    @classmethod
    def failed(cls, id: str, message: str, outcome: Status = Status.INVALID, **detail: Any) -> Check:
        return cls(id, CheckStatus.FAILED, message, outcome, detail)

    @classmethod
    def warning(cls, id: str, message: str, **detail: Any) -> Check:
        return cls(id, CheckStatus.WARNING, message, None, detail)

    @classmethod
    def skipped(cls, id: str, message: str, **detail: Any) -> Check:
        return cls(id, CheckStatus.SKIPPED, message, None, detail)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "status": str(self.status), "message": self.message}
        if self.outcome is not None:
            data["outcome"] = str(self.outcome)
        if self.detail:
            data["detail"] = _jsonable(self.detail)
        return data


@dataclass
class Metadata:
    """The credential's normalised metadata, as claimed by the (verified, where possible) document."""

    name: str | None = None
    description: str | None = None
    image: str | None = None  # URL or data: URI as given by the credential
    criteria_narrative: str | None = None
    criteria_url: str | None = None
    issuer_id: str | None = None
    issuer_name: str | None = None
    issuer_url: str | None = None
    issuer_image: str | None = None
    issuer_email: str | None = None
    # The identifier that verification tied the credential to: a DID or an https origin's host.
    # None when authorship could not be established. Shown beside the self-declared issuer_name.
    verified_issuer: str | None = None
    credential_id: str | None = None
    issued: datetime | None = None
    valid_from: datetime | None = None
    expires: datetime | None = None
    # {"type": "email"|"url"|"telephone"|"did"|..., "identity": str, "hashed": bool, "salt": str|None}
    recipient: dict[str, Any] | None = None
    achievement_id: str | None = None
    achievement_type: str | None = None
    # [{"name", "url", "framework", "code", "description"}] from OB alignments and achievement skills
    alignments: list[dict[str, Any]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    # [{"id", "name", "description", "narrative", "genre"}]
    evidence: list[dict[str, Any]] = field(default_factory=list)
    endorsements_count: int = 0
    # SD-JWT VC: each claim the credential states, for showing it (sdjwt.py `claim_entries`):
    # [{"path": [...], "value": ..., "labels": {language tag: label}, "disclosed": bool}]
    claims: list[dict[str, Any]] = field(default_factory=list)
    # SD-JWT VC type metadata `display`: {language tag: {"name", "description"}}.
    type_display: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        # Field by field, not asdict(): _jsonable copies every dict and list already, and asdict's deep
        # copy of the values first cost a re-check sweep a fifth of its time.
        return _jsonable({item.name: getattr(self, item.name) for item in fields(self)})


@dataclass
class VerificationResult:
    """The report of one verification."""

    format: str | None  # a FORMAT_ID ("ob2", "ob3", "clr2", "vc"), or None if nothing was found
    status: Status
    checks: list[Check] = field(default_factory=list)
    metadata: Metadata = field(default_factory=Metadata)
    # How the credential was carried and secured, for the report: container "json"|"jwt"|"png"|"svg"|"url",
    # securing e.g. "hosted", "jws", "vc-jwt", "vc-jose", "eddsa-rdfc-2022", "Ed25519Signature2020".
    container: str | None = None
    securing: str | None = None
    # The credential document that was verified (for a hosted OB 2.0 badge: the issuer's copy).
    credential: dict[str, Any] | None = None
    # The exact text of a compact JWS/JWT credential, kept as a string (never re-serialised).
    compact: str | None = None
    # sha256 hex of the signed content as presented (extract.content_sha256): equal for two copies of
    # the same version of a credential, whatever carried them (JSON, JWT, baked PNG or SVG).
    content_sha256: str | None = None
    # Documents consulted: [{"url", "sha256", "content_type", "role"}] (issuer profile, key, status list...).
    documents: list[dict[str, Any]] = field(default_factory=list)
    # Nested results: CLR member credentials and embedded endorsements.
    nested: list[VerificationResult] = field(default_factory=list)
    checked_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    def add(self, check: Check) -> Check:
        self.checks.append(check)
        return check

    def finish(self) -> VerificationResult:
        """Set `status` from the checks: the gravest failure wins, otherwise valid."""
        self.status = overall_status(self.checks, default=Status.VALID)
        return self

    @property
    def is_valid(self) -> bool:
        return self.status is Status.VALID

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "status": str(self.status),
            "container": self.container,
            "securing": self.securing,
            "checked_at": self.checked_at.isoformat(),
            "checks": [c.to_dict() for c in self.checks],
            "metadata": self.metadata.to_dict(),
            "documents": _jsonable(self.documents),
            "nested": [n.to_dict() for n in self.nested],
        }


def overall_status(checks: list[Check], default: Status = Status.VALID) -> Status:
    """Return the gravest outcome implied by any failed check, or `default`."""
    implied = {c.outcome for c in checks if c.status is CheckStatus.FAILED and c.outcome is not None}
    return next((s for s in STATUS_PRECEDENCE if s in implied), default)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (StrEnum,)):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value
