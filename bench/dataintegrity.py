"""Measure Data Integrity verification: Ed25519, canonicalisation, first verification, re-verification.

Run: .venv/bin/python bench/dataintegrity.py [--count 300] [--repeat 3]

Prints operations per second (best of --repeat runs):
- Ed25519 raw signature verifications;
- RDFC-1.0 canonicalisations of distinct OB 3.0 credentials with plain pyld (contexts loaded
  on every call, as a naive verifier does), plain pyld with its shared context cache, and
  Wallet's jsonld.canonize (memoised context processing; content memo not hit);
- verify_document_proofs on distinct freshly signed OB 3.0 credentials (did:key issuer);
- re-verification of one stored credential (memoised pure results).
"""
from __future__ import annotations

import argparse
import sys
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
from pyld import jsonld as pyld  # noqa: E402

from wallet.services.verification import dataintegrity, jsonld  # noqa: E402
from wallet.services.verification.context import Context  # noqa: E402

OB3_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"


def credential(issuer: str, number: int) -> dict[str, Any]:
    """Return an unsigned OB 3.0 credential; each number gives different ids, names and dates."""
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2", OB3_CONTEXT],
        "id": f"urn:uuid:{uuid.uuid4()}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": issuer, "type": ["Profile"], "name": f"Example College {number}"},
        "validFrom": f"2026-{1 + number % 12:02d}-{1 + number % 28:02d}T10:00:00Z",
        "name": f"Badge {number}",
        "credentialSubject": {
            "id": f"did:example:learner{number}",
            "type": ["AchievementSubject"],
            "achievement": {
                "id": f"https://college.example/achievements/{number}",
                "type": ["Achievement"],
                "name": f"Achievement {number}",
                "description": "Completed the course with distinction.",
                "criteria": {"narrative": "Pass every module."},
            },
        },
    }


def rate(operation: Callable[[], None], count: int, repeat: int) -> float:
    """Return the best operations per second over `repeat` runs of `count` operations."""
    best = 0.0
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(count):
            operation()
        best = max(best, count / (time.perf_counter() - start))
    return best


def over(items: list[Any], action: Callable[[Any], Any]) -> Callable[[], None]:
    """Return an operation that applies `action` to the next item on each call (cycling)."""
    position = iter(range(10**12))

    def step() -> None:
        action(items[next(position) % len(items)])

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300, help="credentials per run")
    parser.add_argument("--repeat", type=int, default=3, help="runs; the best is reported")
    args = parser.parse_args()
    count, repeat = args.count, args.repeat

    private_key = Ed25519PrivateKey.generate()
    issuer = dataintegrity.did_key_for(private_key.public_key())
    method = f"{issuer}#{issuer.removeprefix('did:key:')}"
    message = b"x" * 64
    signature = private_key.sign(message)
    public_key = private_key.public_key()
    raw = rate(lambda: public_key.verify(signature, message), 5000, repeat)
    print(f"Ed25519 raw verifications/s:            {raw:8.0f}")

    unsigned = [credential(issuer, n) for n in range(count * repeat)]

    def plain(doc: dict[str, Any], cached: bool) -> str:
        def load(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
            remote = jsonld.document_loader(url, options)
            return remote if cached else {**remote, "tag": None}
        return pyld.normalize(doc, {"algorithm": "URDNA2015", "format": "application/n-quads", "documentLoader": load})

    naive = rate(over(unsigned, lambda d: plain(d, False)), count, repeat)
    print(f"canonicalisations/s, plain pyld:         {naive:8.0f}")
    shared = rate(over(unsigned, lambda d: plain(d, True)), count, repeat)
    print(f"canonicalisations/s, pyld shared cache:  {shared:8.0f}")
    jsonld.clear_caches()
    print(f"canonicalisations/s, jsonld.canonize:    {rate(over(unsigned, jsonld.canonize), count, repeat):8.0f}")

    # Distinct creation times too, so no two proof configurations are alike.
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    signed = [dataintegrity.sign_document(doc, private_key=private_key, verification_method=method,
                                          created=start + timedelta(seconds=n))
              for n, doc in enumerate(unsigned)]
    warm = dataintegrity.sign_document(credential(issuer, -1), private_key=private_key,
                                       verification_method=method, created=start - timedelta(days=1))
    jsonld.clear_caches()
    dataintegrity.verify_document_proofs(warm, issuer_id=issuer, context=Context())

    def verify(doc: dict[str, Any]) -> None:
        outcome = dataintegrity.verify_document_proofs(doc, issuer_id=issuer, context=Context())
        if not outcome.ok:
            raise SystemExit(f"verification failed: {[c.message for c in outcome.checks]}")

    # Each signed credential is verified once: every run uses credentials not seen before.
    first = rate(over(signed, verify), count, repeat)
    print(f"verify_document_proofs/s, distinct:      {first:8.0f}")
    again = rate(lambda: verify(signed[0]), count * 10, repeat)
    print(f"re-verifications/s, same credential:     {again:8.0f}  ({again / first:.1f}x the first verification)")


if __name__ == "__main__":
    main()
