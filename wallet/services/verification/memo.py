"""Re-verification that does not redo work whose inputs have not changed.

A verdict rests on the credential's bytes, the learner's identities, every document fetched, and the
clock. A result is remembered only when verification fetched nothing (nor tried to: an offline
issuer such as did:key or did:jwk, no status list), so its inputs are the bytes and the identities
alone; it is reused only while the clock stays on the same side of every date the verdict could
turn on (validity dates, JWT nbf/exp/iat, proof created/expires), with a margin wider than the
verifiers' leeway. Anything else is verified afresh: status lists and keys that must be fetched are
re-checked every time (their own pure steps are memoised further down, by content hash).
"""
from __future__ import annotations

import base64
import hashlib
import json
import pickle
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from wallet.services.verification.caches import MB, ByteLRU, estimate_size
from wallet.services.verification.result import Status, VerificationResult

# Wider than any leeway a verifier applies (60 s), so a reused verdict never straddles a boundary.
MARGIN = timedelta(minutes=5)
_TIME_KEYS = frozenset({
    "validFrom", "validUntil", "issuanceDate", "expirationDate", "awardedDate", "issuedOn", "expires",
    "created", "nbf", "exp", "iat",
})
# Bounded by bytes: a result holds its whole credential, which may be a large CLR.
RESULTS_BYTES = 32 * MB
# A result is sized by its pickled length, times what Python objects take over their pickled form:
# about 4.9x for an OB 3.0 result (18.5 KB walked by caches.estimate_size, 3.8 KB pickled), less
# for text-heavy ones. Pickling is C code, ten times quicker than walking the result.
_MEMORY_PER_PICKLED_BYTE = 5


def _result_size(remembered: _Remembered) -> int:
    try:
        return _MEMORY_PER_PICKLED_BYTE * len(pickle.dumps(remembered, protocol=pickle.HIGHEST_PROTOCOL))
    except (pickle.PicklingError, TypeError, AttributeError, RecursionError):
        return estimate_size(remembered)


RESULTS: ByteLRU[_Remembered] = ByteLRU(RESULTS_BYTES, size_of=_result_size)


@dataclass(frozen=True)
class _Remembered:
    result: VerificationResult
    verified_at: datetime  # the clock the verdict was reached at (the context's `now`)
    boundaries: tuple[datetime, ...]


def key_for(data: bytes, *, content_type: str | None, filename: str | None, source_url: str | None,
            recipients: Iterable[str]) -> bytes:
    """Return the memo key of one verification's inputs (other than the clock)."""
    digest = hashlib.sha256(data)
    for part in (content_type or "", filename or "", source_url or "", *sorted(recipients)):
        digest.update(b"\x00" + part.encode("utf-8", "surrogatepass"))
    return digest.digest()


def recall(key: bytes, now: datetime) -> VerificationResult | None:
    """Return a copy of the remembered result, checked again at `now`, if nothing it rests on changed."""
    remembered = RESULTS.get(key)
    if remembered is None:
        return None
    then = remembered.verified_at
    if not all(_same_side(then, now, moment) for moment in remembered.boundaries):
        return None
    return _checked_at(remembered.result, datetime.now(timezone.utc))


def remember(key: bytes, result: VerificationResult, *, now: datetime, fetched_anything: bool) -> None:
    """Keep `result` for re-verification if its only inputs were the bytes and identities."""
    if fetched_anything or result.format is None or result.status in (Status.ERROR, Status.NO_CREDENTIAL):
        return
    RESULTS.put(key, _Remembered(_checked_at(result, result.checked_at), now, tuple(_boundaries(result))))


def clear() -> None:
    """Forget every remembered result (for measurements and tests)."""
    RESULTS.clear()


def _same_side(then: datetime, now: datetime, moment: datetime) -> bool:
    return (moment + MARGIN < then and moment + MARGIN < now) or (moment - MARGIN > then and moment - MARGIN > now)


def _checked_at(result: VerificationResult, moment: datetime) -> VerificationResult:
    # Fresh lists and nested results, so whoever holds one copy cannot change another.
    return replace(result, checks=list(result.checks), documents=list(result.documents),
                   nested=[_checked_at(n, moment) for n in result.nested], checked_at=moment)


def _boundaries(result: VerificationResult) -> Iterator[datetime]:
    meta = result.metadata
    yield from (moment for moment in (meta.issued, meta.valid_from, meta.expires) if moment is not None)
    yield from _dates_in(result.credential)
    if result.compact:
        yield from _dates_in(_claims(result.compact))
    for nested in result.nested:
        yield from _boundaries(nested)


def _dates_in(value: Any) -> list[datetime]:
    """Every time under a time key (_TIME_KEYS) anywhere in `value`, in no particular order."""
    found: list[datetime] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for name, inner in item.items():
                if name in _TIME_KEYS:
                    moment = _as_datetime(inner)
                    if moment is not None:
                        found.append(moment)
                if isinstance(inner, (dict, list)):
                    stack.append(inner)
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _as_datetime(value: Any) -> datetime | None:
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, timezone.utc)
        if isinstance(value, str):
            moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
            return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    except (ValueError, OverflowError, OSError):
        return None
    return None


def _claims(compact: str) -> Any:
    try:
        payload = compact.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return None
