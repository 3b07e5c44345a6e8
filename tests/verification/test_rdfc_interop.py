"""eddsa-rdfc-2022 between Wallet and Digital Bazaar's libraries, with control characters in literals.

Canonical N-Quads write control characters other than \\t, \\n and \\r as \\b, \\f or \\uXXXX
(rdfc.py); a signature over text escaped differently does not verify. The fixture in
tests/fixtures/digitalbazaar/ was signed by jsonld.js and @digitalbazaar/vc (README beside it);
the other direction runs bench/node/verify.mjs when Node and its packages are installed
(`npm ci` in bench/node).
"""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.credentials import LdIssuer
from wallet.services.verification import make_context, verify_bytes
from wallet.services.verification.caches import REGISTRY
from wallet.services.verification.result import Status

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "digitalbazaar"
NODE_DIR = ROOT / "bench" / "node"
CONTEXTS_DIR = ROOT / "wallet" / "services" / "verification" / "contexts"
CONTROL = "\u0000\u0001\u0007\b\t\n\u000b\f\r\u000e\u001b\u001f\u007f"


def _verify(doc: dict[str, Any]) -> Status:
    REGISTRY.clear_all()  # no canonical form or result from an earlier test
    return verify_bytes(json.dumps(doc).encode(), content_type="application/json", context=make_context()).status


def test_verify_bytes_digital_bazaar_signed_control_characters_is_valid() -> None:
    signed = json.loads((FIXTURES / "control-characters.json").read_text("utf-8"))
    assert "\u0000" in signed["credentialSubject"]["achievement"]["description"]
    assert "\b" in signed["name"] and "\u001f" in signed["name"]
    assert _verify(signed) is Status.VALID


def test_verify_bytes_digital_bazaar_signed_control_character_changed_is_invalid() -> None:
    signed = json.loads((FIXTURES / "control-characters.json").read_text("utf-8"))
    signed["name"] = signed["name"].replace("\u001f", "\u001e")
    assert _verify(signed) is Status.INVALID


@pytest.mark.skipif(shutil.which("node") is None or not (NODE_DIR / "node_modules" / "@digitalbazaar" / "vc").is_dir(),
                    reason="Node and bench/node's packages (npm ci in bench/node) are not installed")
def test_node_verifier_wallet_signed_control_characters_is_valid(tmp_path: Path) -> None:
    signed = LdIssuer(name=f"College{CONTROL}").signed(name=f"Badge{CONTROL}", description=f"About{CONTROL}end",
                                                        criteria=f"Do{CONTROL}it", tags=[f"tag{CONTROL}"])
    assert _verify(signed) is Status.VALID
    changed = {**signed, "name": signed["name"].replace("\u001f", "\u001e")}
    # verify.mjs times all but the first line: the credential is given twice.
    (tmp_path / "signed.jsonl").write_text(f"{json.dumps(signed)}\n{json.dumps(signed)}\n", "utf-8")
    (tmp_path / "changed.jsonl").write_text(json.dumps(changed) + "\n", "utf-8")
    completed = subprocess.run(
        ["node", str(NODE_DIR / "verify.mjs"), str(CONTEXTS_DIR), str(tmp_path / "signed.jsonl"),
         str(tmp_path / "changed.jsonl")], cwd=NODE_DIR, check=True, capture_output=True, text=True, timeout=120)
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    assert report["errors"] == [] and report["accepted"] == 1
    assert report["rejected_tampered"] == 1
