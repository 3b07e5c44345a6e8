"""Strict JSON reading (docs/security.md D1-D4)."""
from __future__ import annotations

import re

import pytest

from wallet.services.errors import ImportRejectedError
from wallet.services.verification.errors import MalformedJSONError
from wallet.services.verification.jsonutil import loads_strict


def test_loads_strict_plain_object_is_parsed() -> None:
    assert loads_strict(b'{"a": [1, 2.5, "x", true, null]}') == {"a": [1, 2.5, "x", True, None]}


def test_loads_strict_text_input_is_parsed() -> None:
    assert loads_strict('["\u00e9"]') == ["\u00e9"]


def test_loads_strict_utf8_bom_is_stripped() -> None:
    assert loads_strict("\ufeff{}".encode()) == {}


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_loads_strict_non_finite_number_is_rejected(literal: str) -> None:
    with pytest.raises(MalformedJSONError, match=literal):
        loads_strict(f'{{"a": {literal}}}')


def test_loads_strict_duplicate_key_is_rejected() -> None:
    with pytest.raises(MalformedJSONError, match='"issuer" twice'):
        loads_strict(b'{"issuer": "A", "issuer": "B"}')


def test_loads_strict_nested_duplicate_key_is_rejected() -> None:
    with pytest.raises(MalformedJSONError, match="twice"):
        loads_strict(b'{"a": [{"b": 1, "b": 1}]}')


def test_loads_strict_deep_nesting_is_rejected_without_recursion_error() -> None:
    with pytest.raises(MalformedJSONError, match="nested more than 64"):
        loads_strict("[" * 100_000 + "]" * 100_000)


def test_loads_strict_depth_at_limit_is_accepted() -> None:
    assert loads_strict("[" * 64 + "]" * 64) is not None


def test_loads_strict_brackets_inside_strings_do_not_count_as_depth() -> None:
    text = '{"a": "' + "[" * 200 + '\\"{{"}'
    assert loads_strict(text) == {"a": "[" * 200 + '"{{'}


def test_loads_strict_custom_depth_is_enforced() -> None:
    with pytest.raises(MalformedJSONError, match="nested more than 2"):
        loads_strict('{"a": {"b": {}}}', max_depth=2)


def test_loads_strict_huge_integer_is_rejected() -> None:
    with pytest.raises(MalformedJSONError, match="integer 99999999999999999999… .1,000,000 characters.*too large"):
        loads_strict("[" + "9" * 1_000_000 + "]")


@pytest.mark.parametrize("literal", ["9007199254740992", "-9007199254740992", "18446744073709551616"])
def test_loads_strict_integer_beyond_2_53_is_rejected(literal: str) -> None:
    with pytest.raises(MalformedJSONError, match=f"integer {literal}, which is too large"):
        loads_strict(f'{{"id": {literal}}}')


def test_loads_strict_largest_safe_integer_is_accepted() -> None:
    assert loads_strict("[9007199254740991, -9007199254740991, 0, -0]") == [2**53 - 1, -(2**53 - 1), 0, 0]


@pytest.mark.parametrize("literal", ["1e400", "-1e400", "1.5E+309"])
def test_loads_strict_number_overflowing_a_double_is_rejected(literal: str) -> None:
    with pytest.raises(MalformedJSONError, match=re.escape(f"number {literal}, which is too large")):
        loads_strict(f"[{literal}]")


def test_loads_strict_large_finite_float_is_accepted() -> None:
    assert loads_strict("[1e300, 2.5e-400]") == [1e300, 0.0]


def test_loads_strict_trailing_data_is_rejected() -> None:
    with pytest.raises(MalformedJSONError, match="not valid JSON"):
        loads_strict(b'{"a": 1} {"b": 2}')


def test_loads_strict_truncated_input_is_rejected() -> None:
    with pytest.raises(MalformedJSONError, match="line 1"):
        loads_strict(b'{"a": ')


def test_loads_strict_non_utf8_bytes_are_rejected() -> None:
    with pytest.raises(MalformedJSONError, match="UTF-8"):
        loads_strict('{"a": "\u00e9"}'.encode("latin-1"))


def test_loads_strict_error_is_an_import_rejection() -> None:
    with pytest.raises(ImportRejectedError):
        loads_strict(b"not json")
