"""getCredentials and upsertCredential of the Host APIs (OB 3.0 §6.2.2-6.2.3, CLR 2.0 the same).

What is listed (docs/api.md "Which credentials are listed"): the learner's credentials of the API's
format (OB 3.0 for /ims/ob/v3p0, CLR 2.0 for /ims/clr/v2p0) that are not known forgeries, oldest
first by the order Wallet received them (`Credential.id`), so a credential added while a client
pages through never shifts a page it has not read yet. Each is answered as it was received: a
VC-JWT as its compact JWS in `compactJwsString`, JSON as its stored text in `credential`; a
credential that came baked into an image is answered as the JSON or JWS baked into it.

An upsert goes through the same import as every other credential (services/importing.py): the
learner's import rate and wallet size count, it is verified, stored verbatim and found again by
its identity. Only a genuine credential of the API's own kind is kept; anything else is refused
before anything is written.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from datetime import datetime, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wallet.models.credential import Credential
from wallet.services import importing
from wallet.services.blobs import BlobStore
from wallet.services.errors import ConflictError, ImportRejectedError, QueryParameterError, TooLargeError, WalletError
from wallet.services.host.apis import Api
from wallet.services.verification import extract, make_context, values, vc
from wallet.services.verification.result import CheckStatus, Status, VerificationResult

DEFAULT_LIMIT = 50
# A page of up to this many credentials (each up to 1 MB, importing.MAX_PASTE_CHARS); a larger
# `limit` is answered with pages of this size, and the Link header says so.
MAX_LIMIT = 100
# OB 3.0 OpenAPI: limit and offset are int32.
_INT32_MAX = 2**31 - 1
_DIGITS = re.compile(r"^[0-9]{1,10}$")

# Credentials Wallet holds and does not list: verification showed they are not what they claim.
_NOT_LISTED = (str(Status.INVALID), str(Status.ERROR), str(Status.NO_CREDENTIAL))
# What an upsert keeps: a genuine credential, current or not (its state is shown to the learner).
_KEPT_STATUSES = (Status.VALID, Status.EXPIRED, Status.NOT_YET_VALID, Status.REVOKED)

# OB 3.0 §6.2.3.1: the content types of the upsertCredential body.
JSON_TYPES = frozenset({"application/json", "application/ld+json", "application/vc+ld+json"})
JWS_TYPE = "text/plain"
BODY_TYPES = JSON_TYPES | {JWS_TYPE}
MAX_BODY_BYTES = importing.MAX_PASTE_CHARS
_COMPACT_JWS = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")


# ---------------------------------------------------------------------------------------------
# getCredentials


@dataclass(frozen=True)
class Paging:
    """The page asked for: at most `limit` credentials from `offset`, issued after `since` if given."""

    limit: int = DEFAULT_LIMIT
    offset: int = 0
    since: datetime | None = None
    since_text: str | None = None  # as sent, for the Link header


def parse_paging(limit: str | None, offset: str | None, since: str | None) -> Paging:
    """Read the query parameters `limit`, `offset` and `since`; QueryParameterError names a bad one."""
    size = DEFAULT_LIMIT if limit is None else _whole_number("limit", limit, minimum=1)
    start = 0 if offset is None else _whole_number("offset", offset, minimum=0)
    moment = None if since is None else _timestamp(since)
    return Paging(limit=min(size, MAX_LIMIT), offset=start, since=moment, since_text=since if moment else None)


def _whole_number(name: str, text: str, *, minimum: int) -> int:
    # OB 3.0 OpenAPI: limit is an int32 of at least 1, offset one of at least 0.
    if not _DIGITS.match(text) or not minimum <= int(text) <= _INT32_MAX:
        kind = "a positive whole number" if minimum else "a whole number, 0 or more"
        raise QueryParameterError(f'The query parameter "{name}" must be {kind}; it was "{text[:40]}".')
    return int(text)


def _timestamp(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or "T" not in text:
        raise QueryParameterError('The query parameter "since" must be a date and time like 2024-05-01T00:00:00Z; '
                                  f'it was "{text[:40]}".')
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class Page:
    """One page of getCredentials: the credentials as received, and how many there are in all."""

    total: int
    credentials: list[str]  # JSON texts, each one credential as received
    compact_jws: list[str]

    def body(self) -> str:
        """Return the response body (GetOpenBadgeCredentialsResponse / GetClrCredentialsResponse).

        The JSON credentials are written into it as the text they were received as, so a client gets
        back exactly what was sent (OB 3.0 Host certification: "they MUST preserve sent data").
        """
        jws = ",".join(json.dumps(token) for token in self.compact_jws)
        return f'{{"credential":[{",".join(self.credentials)}],"compactJwsString":[{jws}]}}'


def list_credentials(session: Session, blobs: BlobStore, owner_id: int, api: Api, paging: Paging) -> Page:
    """Return one page of the learner's credentials of `api`'s kind, oldest first."""
    query = select(Credential).where(Credential.owner_id == owner_id, Credential.format_id == api.format_id,
                                     Credential.status.not_in(_NOT_LISTED))
    if paging.since is not None:
        # OB 3.0 §6.2.2.1 since: "Only include OpenBadgeCredentials issued after this timestamp."
        query = query.where(Credential.issued_at > paging.since)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    found = session.scalars(query.order_by(Credential.id).offset(paging.offset).limit(paging.limit))
    credentials: list[str] = []
    compact: list[str] = []
    for credential in found:
        kind, text = as_received(credential, blobs)
        (compact if kind == "jws" else credentials).append(text)
    return Page(total=total, credentials=credentials, compact_jws=compact)


def as_received(credential: Credential, blobs: BlobStore) -> tuple[str, str]:
    """Return ("jws", compact JWS) or ("json", JSON text): the credential as Wallet received it."""
    data = blobs.get(credential.original_sha256)
    if credential.original_type == "application/jwt":
        return "jws", "".join(data.decode("utf-8-sig").split())
    if credential.original_type == "application/json":
        return "json", data.decode("utf-8-sig").strip()
    # Baked into a PNG or SVG image: what the issuer baked into it (OB 3.0 §5.3), read again offline.
    try:
        presented = extract.extract(data, content_type=credential.original_type, context=make_context())
    except WalletError:
        return "json", json.dumps(credential.document, ensure_ascii=False)
    if presented.jws:
        return "jws", presented.jws
    return "json", json.dumps(presented.document, ensure_ascii=False)


def page_offsets(paging: Paging, total: int) -> dict[str, int]:
    """Return the offset of each page the Link header names (OB 3.0 §6.4): next, last, first and prev."""
    last = ((total - 1) // paging.limit) * paging.limit if total else 0
    offsets = {"first": 0, "last": last}
    if paging.offset + paging.limit < total:
        offsets["next"] = paging.offset + paging.limit
    if paging.offset > 0:
        offsets["prev"] = max(min(paging.offset - paging.limit, last), 0)
    return offsets


# ---------------------------------------------------------------------------------------------
# upsertCredential


@dataclass(frozen=True)
class Upserted:
    """What an upsert did: created a credential (201) or found or replaced one held already (200)."""

    created: bool
    credential: Credential
    body: str  # the credential as sent, the response body (OB 3.0 §6.2.3.2)
    content_type: str


def upsert_credential(session: Session, importer: importing.Importer, api: Api, body: bytes,
                      content_type: str) -> Upserted:
    """Import a credential sent to upsertCredential: JSON or, as text/plain, a compact JWS.

    Raises TooLargeError, ImportRejectedError (not a genuine credential of the API's kind; nothing is
    written), ConflictError (the wallet holds a copy of it that verifies better and keeps it),
    RateLimitedError and QuotaExceededError as every import does.
    """
    if len(body) > MAX_BODY_BYTES:
        raise TooLargeError(f"The credential is larger than {MAX_BODY_BYTES // 1024 // 1024} MB.")
    try:
        text = body.decode("utf-8").removeprefix("\ufeff").strip()
    except UnicodeDecodeError:
        raise ImportRejectedError("The body is not UTF-8 text.") from None
    if content_type == JWS_TYPE:
        if not _COMPACT_JWS.match(text):
            raise ImportRejectedError("A text/plain body must be one credential as a compact JWS "
                                      "(header.payload.signature).")
        answer_type = JWS_TYPE
    else:
        if not text.startswith("{"):
            raise ImportRejectedError(f"An {content_type} body must be one {api.credential_class} as a JSON object.")
        answer_type = "application/json"
    _refuse_other_kinds(api, text)
    item = importing.import_paste(session, replace(importer, accept=lambda result: _accept(api, result)), text)
    if item.state == importing.KEPT:
        raise ConflictError(item.message)
    assert item.credential is not None
    return Upserted(created=item.created, credential=item.credential, body=text, content_type=answer_type)


def _refuse_other_kinds(api: Api, text: str) -> None:
    """Refuse a body that is not a credential of the API's kind before the import fetches or counts anything.

    Read offline: a JSON document or a JWS payload says its own `type`; nothing is verified yet, so
    the import checks the same again on the verified document (`_accept`).
    """
    try:
        presented = extract.extract(text.encode("utf-8"), context=make_context())
    except ImportRejectedError:
        raise
    except WalletError as error:  # e.g. a JWS whose header or payload cannot be read
        raise ImportRejectedError(str(error)) from None
    if not any(t in values.types_of(vc.credential_of(presented).get("type")) for t in api.credential_types):
        raise ImportRejectedError(_other_kind(api))


def _other_kind(api: Api) -> str:
    return (f"This is not an {api.credential_class}: {api.path}/credentials takes {api.title} "
            f"{api.credential_class}s only.")


def _accept(api: Api, result: VerificationResult) -> None:
    """Refuse, before anything is written, a credential of another kind or one that is not genuine."""
    types = values.types_of((result.credential or {}).get("type"))
    if result.format != api.format_id or not any(t in types for t in api.credential_types):
        raise ImportRejectedError(_other_kind(api))
    if result.status not in _KEPT_STATUSES:
        reason = next((c.message for c in result.checks if c.status is CheckStatus.FAILED), None)
        raise ImportRejectedError("Wallet keeps only credentials it can verify, and this one "
                                  f"{'is not genuine' if result.status is Status.INVALID else 'could not be verified'}"
                                  f"{': ' + reason if reason else '.'}")

