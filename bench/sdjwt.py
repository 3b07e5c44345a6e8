"""SD-JWT VCs: Wallet's verifier beside the OpenWallet Foundation's `sd-jwt` library, in one run.

Run: .venv/bin/python bench/sdjwt.py [--count 500] [--claims 8] [--repeat 3]

Makes N distinct SD-JWT VCs (ES256, a did:jwk issuer so the key resolves offline, `--claims`
selectively disclosable claims each, and a decoy digest), then measures, best of --repeat:
- wallet: `verify_bytes` over each, the whole pipeline a pasted SD-JWT goes through (detection,
  parsing with size caps, the issuer key from the did:jwk, the signature through jwcrypto, every
  disclosure against its digest, dates, recipient, the disclosed claims for display);
- baseline: the `sd-jwt` library's `SDJWTVerifier` over the same strings, given the issuer key directly
  (parsing, the signature through jwcrypto, the disclosures; it checks no dates, no DID, no status).
Reported: verifications per second each, and the ratio wallet / library.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from jwcrypto.jwk import JWK  # noqa: E402
from sd_jwt.verifier import SDJWTVerifier  # noqa: E402

from tests.support.sdjwt import SdJwtIssuer, b64url  # noqa: E402
from wallet.services.verification import make_context, memo, verify_bytes  # noqa: E402
from wallet.services.verification.result import Status  # noqa: E402


def credentials(count: int, claims: int) -> tuple[JWK, list[str]]:
    key = JWK.generate(kty="EC", crv="P-256")
    did = "did:jwk:" + b64url(json.dumps(key.export_public(as_dict=True)).encode())
    issuer = SdJwtIssuer(iss=did, key=key)
    made = [issuer.issue({"degree_level": "Certificate III"},
                         disclosable={f"unit_{c}": f"Unit {c} of learner {n}" for c in range(claims)},
                         header={"kid": f"{did}#0"}) for n in range(count)]
    return key, made


def best(runs: int, work) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--claims", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    key, made = credentials(args.count, args.claims)
    public = JWK.from_json(key.export_public())

    def wallet() -> None:
        memo.clear()  # each run verifies afresh, as a first import does
        for text in made:
            result = verify_bytes(text.encode(), context=make_context(None))
            if result.status is not Status.VALID:
                raise SystemExit(f"not valid: {result.status}")

    def library() -> None:
        for text in made:
            payload = SDJWTVerifier(text, lambda _iss, _header: public).get_verified_payload()
            if "unit_0" not in payload:
                raise SystemExit("the library did not disclose the claims")

    wallet_time = best(args.repeat, wallet)
    library_time = best(args.repeat, library)
    print(f"{args.count} SD-JWT VCs, {args.claims} disclosures each (ES256, did:jwk issuer)")
    print(f"wallet verify_bytes:        {args.count / wallet_time:8.1f} /s  ({wallet_time * 1000 / args.count:.2f} ms each)")
    print(f"sd-jwt library SDJWTVerifier:{args.count / library_time:8.1f} /s  ({library_time * 1000 / args.count:.2f} ms each)")
    print(f"ratio (wallet rate / library rate): {library_time / wallet_time:.2f}x")


if __name__ == "__main__":
    main()
