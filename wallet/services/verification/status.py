"""Credential status: Bitstring Status List v1.0, StatusList2021 and the 1EdTech Revocation List.

A status list is fetched only after the credential's own signature has been confirmed (docs/security.md
A17; vc.py calls `check_status` only then). A list that cannot be fetched, or that is not signed by
the credential's issuer and current, never means "not revoked": the check fails as UNVERIFIABLE
(Bitstring Status List §3.2, docs/security.md D20).
"""
from __future__ import annotations

import base64
import binascii
import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from wallet.services.verification import dates, jose, keys, securing, values
from wallet.services.verification.caches import MB, ByteLRU
from wallet.services.verification.context import Context
from wallet.services.verification.errors import FetchError, MalformedJSONError, StatusListError
from wallet.services.verification.jsonutil import loads_strict
from wallet.services.verification.result import Check, CheckStatus, Status

# Bitstring Status List §6.1: a list has at least 131,072 entries, so that no one stands out in it.
MIN_BITS = 131_072
# A bound on the decompressed list, so a small gzip bomb cannot fill memory (16 MB = 134M entries).
MAX_DECODED_BYTES = 16 * 1024 * 1024
# Verified, decoded lists kept by (URL, document sha256, list kind): an unchanged list is not
# verified twice, and one verified as one kind never answers for the other. Bounded by the bytes
# the lists take (a list may be 16 MB decoded), not by how many there are.
CACHE_BYTES = 64 * MB

REVOCATION_LIST_TYPE = "1EdTechRevocationList"


@dataclass(frozen=True)
class ListKind:
    """One family of bitstring status lists: the entry type and what its list credential looks like."""

    entry_type: str
    credential_type: str
    subject_type: str


BITSTRING = ListKind("BitstringStatusListEntry", "BitstringStatusListCredential", "BitstringStatusList")
STATUS_LIST_2021 = ListKind("StatusList2021Entry", "StatusList2021Credential", "StatusList2021")
_KINDS = {kind.entry_type: kind for kind in (BITSTRING, STATUS_LIST_2021)}


@dataclass(frozen=True)
class StatusList:
    """A verified status list credential, decoded."""

    issuer_id: str
    purposes: tuple[str, ...]
    valid_from: datetime | None
    valid_until: datetime | None
    bits: bytes

    @property
    def size(self) -> int:
        return len(self.bits) * 8


CACHE: ByteLRU[StatusList] = ByteLRU(CACHE_BYTES)


def check_status(credential: dict[str, Any], *, issuer_id: str, context: Context) -> list[Check]:
    """Check every `credentialStatus` entry of a credential whose signature is already confirmed."""
    entries = values.as_list(credential.get("credentialStatus"))
    if not entries:
        return [Check.skipped("status", "The issuer publishes no revocation status for this credential.")]
    checks: list[Check] = []
    for entry in entries:
        entry_type = values.types_of(entry.get("type")) if isinstance(entry, dict) else []
        kind = next((_KINDS[t] for t in entry_type if t in _KINDS), None)
        if kind is not None:
            checks += _check_bitstring_entry(entry, kind, issuer_id, context)
        elif REVOCATION_LIST_TYPE in entry_type:
            checks.append(_check_revocation_list(entry, credential, context))
        else:
            shown = ", ".join(entry_type) or "none"
            checks.append(_unknown(f"Wallet cannot read this kind of status entry (type {shown[:80]})."))
    return checks


def read_status(bits: bytes, index: int, size: int = 1) -> int:
    """Return the `size`-bit value at entry `index`, counting from the first byte's most significant bit."""
    value = 0
    for position in range(index * size, (index + 1) * size):
        byte = bits[position // 8]
        value = (value << 1) | ((byte >> (7 - position % 8)) & 1)
    return value


def decode_list(encoded: Any) -> bytes:
    """Decode an `encodedList`: multibase "u" + base64url(GZIP(bitstring)), or the older form without "u"."""
    if not isinstance(encoded, str) or not encoded:
        raise StatusListError("the status list has no encoded list")
    # A GZIP stream in base64 starts with "H4sI", so a leading "u" can only be the multibase prefix.
    text = encoded[1:] if encoded.startswith("u") else encoded
    text = text.strip().replace("+", "-").replace("/", "_").rstrip("=")
    try:
        compressed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as error:
        raise StatusListError("the status list is not valid base64") from error
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        # One byte over the cap is enough to know the list is too large; nothing more is inflated.
        bits = inflater.decompress(compressed, MAX_DECODED_BYTES + 1)
    except zlib.error as error:
        raise StatusListError("the status list is not valid GZIP data") from error
    if len(bits) > MAX_DECODED_BYTES or inflater.unconsumed_tail:
        raise StatusListError(f"the status list is larger than {MAX_DECODED_BYTES // (1024 * 1024)} MB "
                              "when decompressed, so it was refused")
    if not inflater.eof:
        raise StatusListError("the status list's GZIP data is cut short")
    return bits


def clear_cache() -> None:
    """Forget every decoded status list (tests, and after a configuration change)."""
    CACHE.clear()


# --- Bitstring Status List and StatusList2021 ---------------------------------------------------


def _check_bitstring_entry(entry: dict[str, Any], kind: ListKind, issuer_id: str, context: Context) -> list[Check]:
    url = entry.get("statusListCredential")
    purpose = entry.get("statusPurpose")
    # Some StatusList2021 issuers capitalise the purpose ("Revocation"); its meaning is the same.
    purpose = purpose.lower() if isinstance(purpose, str) else None
    index = _non_negative_int(entry.get("statusListIndex"))
    size = _non_negative_int(entry.get("statusSize", 1))
    if not isinstance(url, str) or not isinstance(purpose, str) or index is None or not size:
        return [_unknown("The credential's status entry is incomplete (it needs statusListCredential, "
                         "statusPurpose and a whole-number statusListIndex).")]
    detail = {"list": url, "index": index, "purpose": purpose}
    try:
        status_list = _load_list(url, kind, context)
        _check_list_fits(status_list, issuer_id=issuer_id, purpose=purpose, now=context.now)
    except StatusListError as error:
        return [_unknown(f"Could not check revocation: {error}.", **detail)]
    checks: list[Check] = []
    if status_list.size < MIN_BITS:
        # Bitstring Status List §6.1 sets the minimum for privacy; a shorter list still answers.
        checks.append(Check.warning("status-list", f"The issuer's status list has only {status_list.size:,} "
                                    f"entries (the standard asks for at least {MIN_BITS:,}), which makes "
                                    "it easier to tell credentials apart.", list=url))
    if (index + 1) * size > status_list.size:
        checks.append(_unknown("Could not check revocation: the credential's place in the status list "
                               "is beyond its end.", **detail))
        return checks
    value = read_status(status_list.bits, index, size)
    detail["value"] = value
    checks.append(_status_from_value(entry, purpose, value, detail))
    return checks


def _status_from_value(entry: dict[str, Any], purpose: str, value: int, detail: dict[str, Any]) -> Check:
    message = _status_message(entry, value)
    if purpose in ("revocation", "suspension"):
        # Bitstring Status List §2.1: these purposes cancel or pause the credential's validity. Any
        # value other than 0 does so, whatever the statusSize; a statusMessage only explains it.
        revoked = purpose == "revocation"
        if value:
            # Wallet has no separate "suspended" state; a suspended credential must not show as valid.
            text = f"{'Revoked' if revoked else 'Suspended'} by the issuer" + (f": {message}." if message else ".")
            return Check.failed("status", text, outcome=Status.REVOKED, **detail)
        return Check.passed("status", f"Not {'revoked' if revoked else 'suspended'}: the issuer's status list "
                            "was checked.", **detail)
    # Bitstring Status List §2.1: other purposes ("message", "refresh"...) carry information for
    # the reader and do not change whether the credential is valid.
    text = f'The issuer\'s status list gives the status {value:#x} for "{purpose[:40]}"'
    return Check.passed("status", f"{text}: {message}." if message else f"{text}.", status_message=message, **detail)


def _status_message(entry: dict[str, Any], value: int) -> str | None:
    for item in values.as_list(entry.get("statusMessage")):
        if not isinstance(item, dict) or not isinstance(item.get("message"), str):
            continue
        try:
            if int(str(item.get("status")), 16) == value:
                return item["message"][:200]
        except ValueError:
            continue
    return None


def _load_list(url: str, kind: ListKind, context: Context) -> StatusList:
    try:
        fetched = context.fetch(url, kind="json", role="status-list")
    except FetchError as error:
        raise StatusListError("the issuer's status list could not be fetched") from error
    cache_key = (url, fetched.sha256, kind.entry_type)
    cached = CACHE.get(cache_key)
    if cached is not None:
        return cached
    status_list = _verify_list(fetched.body, kind, context)
    CACHE.put(cache_key, status_list)
    return status_list


def _verify_list(body: bytes, kind: ListKind, context: Context) -> StatusList:
    """Verify a status list credential like any credential, then decode its list."""
    document, secured = _secure(body, context)
    if not secured.ok:
        failed = next((c for c in secured.checks if c.status is CheckStatus.FAILED), None)
        reason = f" ({failed.message.rstrip('.')})" if failed is not None else ""
        raise StatusListError(f"the status list's signature could not be confirmed{reason}")
    if kind.credential_type not in values.types_of(document.get("type")):
        raise StatusListError(f"the status list is not a {kind.credential_type}")
    subject = values.first_subject(document) or {}
    if kind.subject_type not in values.types_of(subject.get("type")):
        raise StatusListError(f"the status list's subject is not a {kind.subject_type}")
    purposes = tuple(p.lower() for p in values.as_list(subject.get("statusPurpose")) if isinstance(p, str))
    valid_from, valid_until = dates.validity_period(document)
    return StatusList(
        issuer_id=keys.issuer_of(document) or "",
        purposes=purposes,
        valid_from=valid_from,
        valid_until=valid_until,
        bits=decode_list(subject.get("encodedList")),
    )


def _secure(body: bytes, context: Context) -> tuple[dict[str, Any], securing.Secured]:
    try:
        text = body.decode("utf-8").strip()
    except UnicodeDecodeError as error:
        raise StatusListError("the status list is not text") from error
    if jose.looks_like_compact_jws(text):
        document, secured = securing.secure_jwt(text, context)
        if document is None:
            raise StatusListError("the status list is not a readable signed token")
        return document, secured
    try:
        document = loads_strict(text)
    except MalformedJSONError as error:
        raise StatusListError("the status list is not valid JSON") from error
    if not isinstance(document, dict):
        raise StatusListError("the status list is not a JSON object")
    return document, securing.secure_document(document, context)


def _check_list_fits(status_list: StatusList, *, issuer_id: str, purpose: str, now: datetime) -> None:
    """Apply the rules that depend on the credential and the clock, not only on the list."""
    if status_list.issuer_id != issuer_id:
        # docs/security.md D20: only the credential's issuer may say it is revoked or not.
        raise StatusListError(f"the status list was issued by {status_list.issuer_id[:100] or 'no one'}, "
                              "not by the credential's issuer")
    period = dates.period_status(status_list.valid_from, status_list.valid_until, now)
    if period is Status.EXPIRED:
        raise StatusListError("the issuer's status list has expired")
    if period is Status.NOT_YET_VALID:
        raise StatusListError("the issuer's status list is not valid yet")
    if purpose not in status_list.purposes:
        raise StatusListError(f'the status list is not for "{purpose[:40]}"')


def _non_negative_int(value: Any) -> int | None:
    # Bitstring Status List §2.1: statusListIndex is a string holding a base-10 integer.
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 12:
        return int(value)
    return None


def _unknown(message: str, **detail: Any) -> Check:
    return Check.failed("status", message, outcome=Status.UNVERIFIABLE, **detail)


# --- 1EdTech Revocation List (VCRL 1.0) ------------------------------------------------------------


def _check_revocation_list(entry: dict[str, Any], credential: dict[str, Any], context: Context) -> Check:
    """VCRL 1.0: the list at the entry's id names revoked credentials by id, with optional reasons."""
    url = entry.get("id")
    credential_id = credential.get("id")
    if not isinstance(url, str) or not isinstance(credential_id, str):
        return _unknown("Could not check revocation: the status entry has no list address, or the "
                        "credential has no id to look up.")
    detail = {"list": url}
    try:
        fetched = context.fetch(url, kind="json", role="status-list")
        document = loads_strict(fetched.body)
    except FetchError:
        return _unknown("Could not check revocation: the issuer's revocation list could not be fetched.", **detail)
    except MalformedJSONError:
        return _unknown("Could not check revocation: the issuer's revocation list is not valid JSON.", **detail)
    revoked = document.get("revokedCredentials") if isinstance(document, dict) else None
    if not isinstance(revoked, list):
        return _unknown("Could not check revocation: the issuer's revocation list has no "
                        "revokedCredentials.", **detail)
    for item in revoked:
        item_id = item.get("id") if isinstance(item, dict) else item
        if item_id != credential_id:
            continue
        # VCRL 1.0: listed with "revoked" true or omitted means revoked.
        if isinstance(item, dict) and item.get("revoked", True) is not True:
            continue
        reason = item.get("revocationReason") if isinstance(item, dict) else None
        message = "Revoked by the issuer" + (f": {reason[:200]}" if isinstance(reason, str) and reason else "") + "."
        return Check.failed("status", message, outcome=Status.REVOKED, reason=reason, **detail)
    return Check.passed("status", "Not revoked: the issuer's revocation list was checked.", **detail)
