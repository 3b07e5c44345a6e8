"""Token Status List (draft-ietf-oauth-status-list): is an SD-JWT VC revoked or suspended?

The credential's `status.status_list` names a list (`uri`) and its place in it (`idx`). The list is a
signed token (`typ` `statuslist+jwt`) whose `status_list` holds `bits` per credential (1, 2, 4 or 8)
in `lst`: base64url of the ZLIB-compressed bytes, least significant bits first (§4.1). It must be
signed by the issuer of the credential and name its own address as `sub` (§8.3). A list that cannot
be fetched or trusted leaves the status unknown, never "not revoked" (docs/security.md D20).
"""
from __future__ import annotations

import base64
import binascii
import zlib
from typing import Any

from wallet.services.verification import dates, jose, keys
from wallet.services.verification.context import Context
from wallet.services.verification.errors import DuplicateKeyError, FetchError, JoseError, StatusListError
from wallet.services.verification.result import Check, Status

STATUS_LIST_TYPES = frozenset({"statuslist+jwt", "application/statuslist+jwt"})  # §5.1
# §7.1: 0 is VALID, 1 INVALID (revoked for good), 2 SUSPENDED; other values are for applications.
STATUS_VALID, STATUS_INVALID, STATUS_SUSPENDED = 0, 1, 2
# docs/security.md A11: a bound on the decompressed list (a ZLIB bomb stops here).
MAX_STATUS_LIST_BYTES = 16 * 1024 * 1024


def check_status(payload: dict[str, Any], candidates: list[keys.ResolvedKey], issuer_id: str,
                  context: Context) -> Check | None:
    """Read the credential's entry in its Token Status List (§8); None when it names no status."""
    status = payload.get("status")
    if status is None:
        return None
    entry = status.get("status_list") if isinstance(status, dict) else None
    if entry is None:
        return Check.skipped("status", "The credential names a kind of status Wallet does not read.")
    index, uri = entry.get("idx") if isinstance(entry, dict) else None, entry.get("uri") if isinstance(entry, dict) else None
    if not isinstance(index, int) or isinstance(index, bool) or index < 0 or not isinstance(uri, str):
        return _unknown("The credential's status entry is incomplete (it needs idx and uri).")
    detail = {"list": uri, "index": index}
    try:
        fetched = context.fetch(uri, kind="jwt", role="status-list")
    except FetchError:
        # Never "not revoked": a list that cannot be read leaves the status unknown (docs/security.md D20).
        return _unknown("Could not check revocation: the issuer's status list could not be fetched.", **detail)
    try:
        bits, values = _read_status_list(fetched.body.decode("utf-8", "replace").strip(), uri, candidates,
                                         issuer_id, context)
    except StatusListError as error:
        return _unknown(f"Could not check revocation: {error}.", **detail)
    if (index + 1) * bits > len(values) * 8:
        return _unknown("Could not check revocation: the credential's place is beyond the end of the status list.",
                        **detail)
    value = (values[index * bits // 8] >> (index * bits % 8)) & ((1 << bits) - 1)
    detail["value"] = value
    if value == STATUS_VALID:
        return Check.passed("status", "Not revoked: the issuer's status list was checked.", **detail)
    if value in (STATUS_INVALID, STATUS_SUSPENDED):
        word = "Revoked" if value == STATUS_INVALID else "Suspended"
        return Check.failed("status", f"{word} by the issuer (its status list says so).", outcome=Status.REVOKED,
                            **detail)
    return _unknown(f"The issuer's status list gives the status {value:#x}, which Wallet does not know.", **detail)


def _read_status_list(token: str, uri: str, candidates: list[keys.ResolvedKey], issuer_id: str,
                      context: Context) -> tuple[int, bytes]:
    """Verify a status list token and return (bits, the decompressed list) (Token Status List §5, §8.3)."""
    try:
        parsed = jose.parse_compact(token)
        claims = jose.decode_payload_json(parsed)
    except (JoseError, DuplicateKeyError) as error:
        raise StatusListError("the status list is not a signed token") from error
    if str(parsed.header.get("typ", "")).lower() not in STATUS_LIST_TYPES:
        raise StatusListError('the status list token is not of type "statuslist+jwt"')
    # The list must be the issuer's: signed by one of the keys that may sign its credentials.
    list_issuer = claims.get("iss", issuer_id)
    if list_issuer != issuer_id:
        raise StatusListError("the status list was issued by someone else")
    if not any(_signed_by(parsed, key) for key in candidates):
        raise StatusListError("the status list is not signed by the issuer")
    if claims.get("sub") != uri:
        raise StatusListError("the status list token is for another address")  # Token Status List §8.3 step 3
    expires = dates.numeric_date(claims.get("exp"))
    if expires is not None and context.now > expires + dates.LEEWAY:
        raise StatusListError("the issuer's status list has expired")
    status_list = claims.get("status_list")
    bits = status_list.get("bits") if isinstance(status_list, dict) else None
    lst = status_list.get("lst") if isinstance(status_list, dict) else None
    if bits not in (1, 2, 4, 8) or not isinstance(lst, str):
        raise StatusListError("the status list is malformed")
    try:
        decompressor = zlib.decompressobj()
        values = decompressor.decompress(base64.urlsafe_b64decode(lst + "=" * (-len(lst) % 4)), MAX_STATUS_LIST_BYTES)
    except (zlib.error, binascii.Error, ValueError) as error:
        raise StatusListError("the status list cannot be decompressed") from error
    if decompressor.unconsumed_tail:
        raise StatusListError("the status list is too large")
    return bits, values


def _unknown(message: str, **detail: Any) -> Check:
    return Check.failed("status", message, outcome=Status.UNVERIFIABLE, **detail)


def _signed_by(parsed: jose.ParsedJws, key: keys.ResolvedKey) -> bool:
    try:
        jose.verify_signature(parsed, key.jwk)
    except JoseError:
        return False
    return True
