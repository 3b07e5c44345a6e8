"""docs/api.md names, for each Host certification check, the tests that cover it: each named test exists."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKS = re.compile(r"^## 1EdTech Host certification.*", re.M | re.S)
NAME = re.compile(r"`(test_\w+)`")


def _defined_tests() -> set[str]:
    return {match for path in (ROOT / "tests").rglob("test_*.py")
            for match in re.findall(r"^(?:async )?def (test_\w+)\(", path.read_text(), re.M)}


def test_api_doc_every_certification_row_names_a_test() -> None:
    section = CHECKS.search((ROOT / "docs/api.md").read_text())
    assert section is not None
    rows = [line for line in section.group(0).splitlines() if line.startswith("| ") and not line.startswith("| Cert")]
    assert len(rows) >= 15
    assert [row for row in rows if not NAME.search(row)] == []


def test_api_doc_every_named_test_exists() -> None:
    named = set(NAME.findall((ROOT / "docs/api.md").read_text()))
    assert named
    assert sorted(named - _defined_tests()) == []
