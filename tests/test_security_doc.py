"""docs/security.md names, for every case, the test that fails if its defence is removed: each named test exists."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROW = re.compile(r"^\| ([A-F]\d+) \|(.*)\|(.*)\|(.*)\|\s*$", re.M)
REFERENCE = re.compile(r"(?:([\w/]+\.py))?::(\w+)")


def _rows() -> dict[str, str]:
    return {case: tests for case, _attack, _defence, tests in ROW.findall((ROOT / "docs/security.md").read_text())}


def test_security_doc_has_every_case_with_a_test() -> None:
    rows = _rows()
    assert len(rows) >= 80
    assert [case for case, tests in rows.items() if "::" not in tests] == []


def test_security_doc_every_named_test_exists() -> None:
    missing = []
    for case, tests in _rows().items():
        current = None
        for file, name in REFERENCE.findall(tests):
            current = file or current
            assert current, f"{case}: a test without its file: {name}"
            source = ROOT / "tests" / current
            if not source.exists() or not re.search(rf"^(async )?def {name}\(", source.read_text(), re.M):
                missing.append(f"{case}: {current}::{name}")
    assert missing == []
