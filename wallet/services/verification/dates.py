"""Dates in credentials: XML Schema dateTimes, JWT NumericDates and the validity period (VCDM 2.0 §4.9).

Shared by vc.py, securing.py (JWT claims mirror the dates) and status.py (a status list has its own
validity period).
"""
from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone
from typing import Any

from wallet.services.verification.result import Check, Status

# docs/security.md D19: the clock-skew allowance for every date (jwcrypto's default).
LEEWAY = timedelta(seconds=60)
# XML Schema dateTime with a mandatory offset (VCDM 2.0 §4.9 dateTimeStamp); naive times are refused (D19).
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})")


def parse_datetime(value: Any) -> datetime | None:
    """Parse an XML Schema dateTime that carries a time zone; None for anything else (D19)."""
    if not isinstance(value, str) or not _DATETIME.fullmatch(value):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def validity_check(credential: dict[str, Any], now: datetime, claims: dict[str, Any] | None = None) -> Check:
    """Compare the validity period (validFrom/validUntil, VC 1.1 dates, JWT nbf/exp) with `now`."""
    valid_from, valid_until = validity_period(credential, claims)
    detail = {"valid_from": valid_from, "valid_until": valid_until, "checked_at": now}
    outcome = period_status(valid_from, valid_until, now)
    if outcome is Status.EXPIRED:
        return Check.failed("validity", f"Expired on {when(valid_until)}.", outcome=outcome, **detail)
    if outcome is Status.NOT_YET_VALID:
        return Check.failed("validity", f"Not valid until {when(valid_from)}.", outcome=outcome, **detail)
    if valid_until is not None:
        return Check.passed("validity", f"Valid until {when(valid_until)}.", **detail)
    return Check.passed("validity", "Valid now; it has no expiry date.", **detail)


def validity_period(
    credential: dict[str, Any], claims: dict[str, Any] | None = None
) -> tuple[datetime | None, datetime | None]:
    """Return the (start, end) of validity: the latest start and earliest end any date field gives."""
    claims = claims or {}
    starts = [d for d in (first_date(credential, ("validFrom",)), first_date(credential, ("issuanceDate",)),
                          numeric_date(claims.get("nbf"))) if d is not None]
    ends = [d for d in (first_date(credential, ("validUntil",)), first_date(credential, ("expirationDate",)),
                        numeric_date(claims.get("exp"))) if d is not None]
    return (max(starts) if starts else None), (min(ends) if ends else None)


def period_status(valid_from: datetime | None, valid_until: datetime | None, now: datetime) -> Status | None:
    """Return EXPIRED or NOT_YET_VALID when `now` is outside the period (with LEEWAY), else None."""
    if valid_until is not None and now > valid_until + LEEWAY:
        return Status.EXPIRED
    if valid_from is not None and now < valid_from - LEEWAY:
        return Status.NOT_YET_VALID
    return None


def first_date(credential: dict[str, Any], names: tuple[str, ...]) -> datetime | None:
    for name in names:
        parsed = parse_datetime(credential.get(name))
        if parsed is not None:
            return parsed
    return None


def numeric_date(value: Any) -> datetime | None:
    """RFC 7519 §2 NumericDate: seconds since the epoch, UTC."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    try:
        return datetime.fromtimestamp(value, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def same_second(a: datetime, b: datetime) -> bool:
    # NumericDate is usually whole seconds while a dateTime may carry milliseconds.
    return abs((a - b).total_seconds()) < 1


def when(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%d %B %Y, %H:%M UTC").lstrip("0")
