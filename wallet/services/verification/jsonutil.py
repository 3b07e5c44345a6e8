"""Strict JSON reading for untrusted input (docs/security.md D1-D4).

Python's `json` accepts things that other parsers read differently: `NaN`/`Infinity`, duplicate
keys (the last one wins here, the first one elsewhere), numbers beyond what an IEEE 754 double holds
exactly, and arbitrarily deep nesting. An attacker can use such a parser differential to show one
issuer and verify another, so all of it is refused.
"""
from __future__ import annotations

import json
import math
import re
from typing import Any, NoReturn

from wallet.services.verification.errors import DuplicateKeyError, MalformedJSONError

MAX_DEPTH = 64
# RFC 7493 §2.2 (I-JSON): integers beyond ±(2^53 - 1) are read differently by other parsers, and
# RFC 8785 canonical JSON (the idempotency key of a credential) cannot represent them.
MAX_SAFE_INTEGER = 2**53 - 1
_BOM = "\ufeff"
# A JSON string literal (unrolled loop: linear time, no catastrophic backtracking).
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


def loads_strict(data: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON, refusing NaN/Infinity, duplicate keys, deep nesting and numbers out of I-JSON range.

    Raises MalformedJSONError with a plain-words reason. A leading UTF-8 byte order mark is dropped.
    """
    text = _decode(data)
    _check_depth(text, max_depth)
    try:
        return json.loads(text, object_pairs_hook=_unique_object, parse_constant=_refuse_constant,
                          parse_int=_safe_int, parse_float=_finite_float)
    except MalformedJSONError:
        raise
    except RecursionError:  # cannot happen after the depth check; kept so a worker never dies on it
        _fail(f"The JSON is nested more than {max_depth} levels deep.")
    except json.JSONDecodeError as error:
        _fail(f"The file is not valid JSON ({error.msg} at line {error.lineno}, column {error.colno}).")
    except ValueError:  # int() refusing a number of thousands of digits (CVE-2020-10735)
        _fail("The JSON contains a number that is too long.")


def _decode(data: bytes | str) -> str:
    if isinstance(data, (bytes, bytearray, memoryview)):
        try:
            # RFC 8259 §8.1: JSON exchanged between systems is UTF-8.
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            _fail("The JSON is not UTF-8 text.")
    else:
        text = data
    return text[1:] if text.startswith(_BOM) else text


def _check_depth(text: str, max_depth: int) -> None:
    """Refuse nesting deeper than `max_depth` before the parser recurses into it (D2)."""
    if text.count("{") + text.count("[") <= max_depth:
        return  # nesting can never be deeper than the number of openers (the common, cheap case)
    depth = 0
    for match in _BRACKET.finditer(_STRING.sub('""', text)):
        if match.group() in "[{":
            depth += 1
            if depth > max_depth:
                _fail(f"The JSON is nested more than {max_depth} levels deep.")
        else:
            depth -= 1


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKeyError(
                    f'The JSON has the key "{key[:80]}" twice in one object. Programs read such JSON '
                    "differently (one takes the first value, another the last), so Wallet does not accept it.")
            seen.add(key)
    return result


def _safe_int(literal: str) -> int:
    # Checked on the digits first: int() of a literal of thousands of digits is slow (CVE-2020-10735).
    if len(literal.lstrip("-")) > len(str(MAX_SAFE_INTEGER)) or abs(int(literal)) > MAX_SAFE_INTEGER:
        _fail(f"The JSON contains the integer {_shown(literal)}, which is too large (at most 2^53 - 1).")
    return int(literal)


def _finite_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):  # 1e400 would otherwise be read as Infinity
        _fail(f"The JSON contains the number {_shown(literal)}, which is too large.")
    return value


def _shown(literal: str) -> str:
    return literal if len(literal) <= 40 else f"{literal[:20]}… ({len(literal):,} characters)"


def _refuse_constant(name: str) -> NoReturn:
    _fail(f"The JSON contains {name}, which is not a valid JSON number.")


def _fail(message: str) -> NoReturn:
    raise MalformedJSONError(message)
