"""First verifications of OB 3.0 eddsa-rdfc-2022 credentials: Wallet beside Digital Bazaar's verifier on Node.

Run: .venv/bin/python bench/rdfc_node.py [--count 1000] [--rounds 3] [--out DIR]

1. Signs --count distinct OB 3.0 OpenBadgeCredentials with eddsa-rdfc-2022, each by its own did:key
   issuer (a fresh Ed25519 key, tests/support/credentials.py's LdIssuer), with varied names, dates,
   tags and skills, and writes them (one JSON per line) to DIR/credentials.jsonl; a few tampered
   copies (a changed name, the signature kept) go to DIR/tampered.jsonl.
2. Wallet: `verify_bytes` (the whole pipeline: extraction, format detection, OB 3.0 checks, the
   proof, did:key resolution) on each credential's bytes, once. Content caches (canonical forms,
   results, signatures, keys) are emptied after signing; pinned contexts are processed once by a
   first, unrelated credential, as in a running server.
3. Digital Bazaar: bench/node/verify.mjs (@digitalbazaar/vc verifyCredential with a
   DataIntegrityProof of @digitalbazaar/eddsa-rdfc-2022-cryptosuite) on the same file, with a
   document loader serving the same pinned contexts from Wallet's package and resolving did:key
   locally: nothing is fetched. Its packages are installed by `npm ci` into bench/node/node_modules
   (git-ignored) on the first run; Node 20 or later must be on the PATH.

Steps 2 and 3 alternate for --rounds rounds (each Wallet round starts from emptied caches, each
Node round is a new process) and the best rate of each is kept, so that a burst of load from
elsewhere on the machine does not decide the ratio. Both must accept every credential and reject
every tampered one, or the script stops. Prints each round's rates and ratio, both best rates
(credentials per second, parsing included), Wallet's best against Digital Bazaar's best, and the
median of the rounds' ratios (each round's two runs are next to each other in time, so on a machine
whose load changes this is the steadier figure). The rate is what the goal counts; the CPU time per
credential (Wallet's process, and Node's whole process: V8 also compiles and collects garbage on
helper threads) is printed beside it, as it depends less on what else the machine is doing.
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.credentials import LdIssuer  # noqa: E402
from wallet.services.verification import make_context, verify_bytes  # noqa: E402
from wallet.services.verification.caches import REGISTRY  # noqa: E402
from wallet.services.verification.result import Status  # noqa: E402

NODE_DIR = ROOT / "bench" / "node"
CONTEXTS_DIR = ROOT / "wallet" / "services" / "verification" / "contexts"
TAMPERED = 5
SKILLS = ("Data analysis", "Statistics", "Python", "Visualisation", "Teamwork", "Writing")


def signed_credentials(count: int) -> list[dict[str, Any]]:
    """Return `count` distinct signed credentials (the first is the warm-up one), each by its own issuer."""
    start = datetime(2025, 1, 1, tzinfo=timezone.utc)
    credentials = []
    for number in range(count + 1):
        issuer = LdIssuer(name=f"College {number}")
        credentials.append(issuer.signed(
            name=f"Badge {number}: {SKILLS[number % len(SKILLS)]}",
            description=f"Awarded for completing course {number} with {number % 5 + 1} projects.",
            email=f"learner{number}@example.org",
            criteria=f"Pass all {number % 7 + 2} modules.",
            tags=[f"tag{number % 11}", "course"][: 1 + number % 2],
            skills=list(SKILLS[: number % 4]),
            valid_from=start + timedelta(hours=number),
            valid_until=start + timedelta(days=3650 + number) if number % 3 == 0 else None,
        ))
    return credentials


def tampered(credential: dict[str, Any]) -> dict[str, Any]:
    """Return a copy with the credential's name changed and its proof kept."""
    return {**credential, "name": credential["name"] + " (with honours)"}


def wallet_rate(lines: list[bytes], tampered_lines: list[bytes]) -> tuple[float, float, int, int]:
    """Verify each credential once; return (credentials per second, CPU ms each, accepted, tampered rejected)."""
    REGISTRY.clear_all()  # nothing left from signing: no canonical form, result or key is known
    warm, timed = lines[0], lines[1:]
    if verify_bytes(warm, content_type="application/json", context=make_context()).status is not Status.VALID:
        raise SystemExit("Wallet did not accept the warm-up credential")
    accepted = 0
    cpu_start, start = time.process_time(), time.perf_counter()
    for data in timed:
        result = verify_bytes(data, content_type="application/json", context=make_context())
        accepted += result.status is Status.VALID
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    rejected = sum(verify_bytes(data, content_type="application/json", context=make_context()).status
                   is Status.INVALID for data in tampered_lines)
    return len(timed) / seconds, 1000 * cpu_seconds / len(timed), accepted, rejected


def install_node_packages() -> None:
    """Install the pinned Digital Bazaar packages into bench/node/node_modules, once."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise SystemExit("Node.js 20 or later (node and npm) must be on the PATH")
    if not (NODE_DIR / "node_modules" / "@digitalbazaar" / "vc").is_dir():
        print("installing Digital Bazaar's packages (npm ci) ...", flush=True)
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=NODE_DIR, check=True)


def node_rate(credentials_path: Path, tampered_path: Path) -> tuple[float, float, int, int, list[str]]:
    """Run the Node verifier; return (credentials per second, CPU ms each, accepted, tampered rejected, errors)."""
    completed = subprocess.run(
        ["node", str(NODE_DIR / "verify.mjs"), str(CONTEXTS_DIR), str(credentials_path), str(tampered_path)],
        cwd=NODE_DIR, check=True, capture_output=True, text=True)
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    return (report["count"] / report["seconds"], 1000 * report["cpu_seconds"] / report["count"], report["accepted"],
            report["rejected_tampered"], report["errors"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="distinct credentials to verify")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; the best rate of each is kept")
    parser.add_argument("--out", type=Path, help="folder for the credential files (default: a temporary one)")
    args = parser.parse_args()
    install_node_packages()

    print(f"signing {args.count} distinct credentials ...", flush=True)
    credentials = signed_credentials(args.count)
    lines = [json.dumps(credential).encode("utf-8") for credential in credentials]
    tampered_lines = [json.dumps(tampered(credential)).encode("utf-8") for credential in credentials[1:TAMPERED + 1]]
    with tempfile.TemporaryDirectory(prefix="wallet-rdfc-") as scratch:
        folder = args.out or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        credentials_path, tampered_path = folder / "credentials.jsonl", folder / "tampered.jsonl"
        credentials_path.write_bytes(b"\n".join(lines) + b"\n")
        tampered_path.write_bytes(b"\n".join(tampered_lines) + b"\n")

        wallet = node = 0.0
        wallet_cpu = node_cpu = float("inf")
        round_ratios = []
        for round_ in range(args.rounds):
            wallet_round, wallet_round_cpu, wallet_accepted, wallet_rejected = wallet_rate(lines, tampered_lines)
            node_round, node_round_cpu, node_accepted, node_rejected, node_errors = node_rate(
                credentials_path, tampered_path)
            wallet, node = max(wallet, wallet_round), max(node, node_round)
            wallet_cpu, node_cpu = min(wallet_cpu, wallet_round_cpu), min(node_cpu, node_round_cpu)
            round_ratios.append(wallet_round / node_round)
            print(f"round {round_ + 1}: Wallet {wallet_round:.1f}/s ({wallet_round_cpu:.2f} ms CPU each), "
                  f"Digital Bazaar {node_round:.1f}/s ({node_round_cpu:.2f} ms CPU each) "
                  f"(ratio {round_ratios[-1]:.2f}x)", flush=True)

    timed = len(lines) - 1
    print(f"Wallet verify_bytes:             {wallet:8.1f} credentials/s  "
          f"(accepted {wallet_accepted}/{timed}, rejected {wallet_rejected}/{len(tampered_lines)} tampered)")
    print(f"Digital Bazaar verifyCredential: {node:8.1f} credentials/s  "
          f"(accepted {node_accepted}/{timed}, rejected {node_rejected}/{len(tampered_lines)} tampered)")
    if wallet_accepted != timed or node_accepted != timed:
        raise SystemExit(f"not every credential was accepted; Digital Bazaar said: {node_errors}")
    if wallet_rejected != len(tampered_lines) or node_rejected != len(tampered_lines):
        raise SystemExit("a tampered credential was accepted")
    print(f"ratio Wallet / Digital Bazaar:   {wallet / node:8.2f}x  (best against best; "
          f"median of the rounds' ratios {statistics.median(round_ratios):.2f}x)")
    print(f"CPU per credential (least):      Wallet {wallet_cpu:.2f} ms, Digital Bazaar {node_cpu:.2f} ms "
          f"(all of Node's threads), ratio {node_cpu / wallet_cpu:.2f}x")


if __name__ == "__main__":
    main()
