"""Every offline case of the 1EdTech corpus gets a status from its `wallet_expect`.

Where Wallet's status is not in `wallet_expect`, DIFFERS says why, and the test pins Wallet's
status instead, so a change in either direction is noticed.
"""
from __future__ import annotations

import pytest

from tests.verification.conformance import CORPUS, MANIFEST, corpus_fetch
from wallet.services.verification import make_context, verify_bytes

# file -> (Wallet's status, why it differs from the manifest)
DIFFERS: dict[str, tuple[str, str]] = {}


@pytest.mark.parametrize("case", MANIFEST, ids=[c["file"] for c in MANIFEST])
def test_conformance_case_gets_expected_status(case: dict) -> None:
    context = make_context(corpus_fetch(case["url_map"]))
    path = CORPUS / case["file"]
    result = verify_bytes(path.read_bytes(), filename=path.name, context=context)
    report = [(c.id, c.status, c.message) for c in result.checks]
    if case["file"] in DIFFERS:
        expected, _why = DIFFERS[case["file"]]
        assert result.status == expected, report
    else:
        assert result.status in case["wallet_expect"], report
