"""Memory held by the verification caches after verifying many credentials with large status lists.

Run: .venv/bin/python bench/cache_memory.py [--count 40] [--list-mb 16] [--results 300]

1. Each credential is distinct, signed by a did:key issuer, and points at its own BitstringStatusList
   of --list-mb megabytes when decoded (the most Wallet accepts is 16 MB), served over loopback HTTP
   through the real guarded fetcher.
2. Then --results distinct offline credentials (did:key, no status list) with 100 KB of text each,
   whose whole results the re-verification memo may keep.
Reported for each: the memory still held (traced by tracemalloc) once every credential has been
verified, and the peak resident memory of the process.
"""
from __future__ import annotations

import argparse
import gc
import gzip
import json
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.servers import DocumentServer, Response  # noqa: E402
from tests.verification.test_vc import NOW, WEB_HOST, Signer, b64url, generic_vc, stamp  # noqa: E402
from wallet.wiring import Collaborators  # noqa: E402
from wallet.services.verification import make_context, status, verify_bytes  # noqa: E402

MB = 1024 * 1024


def status_list(signer: Signer, url: str, bits: bytes) -> dict[str, Any]:
    return signer.sign_ld({
        "@context": ["https://www.w3.org/ns/credentials/v2"], "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"], "issuer": signer.did,
        "validFrom": stamp(NOW.replace(year=2025)),
        "credentialSubject": {"id": f"{url}#list", "type": "BitstringStatusList", "statusPurpose": "revocation",
                              "encodedList": "u" + b64url(gzip.compress(bits))},
    })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--list-mb", type=int, default=16)
    parser.add_argument("--results", type=int, default=300)
    args = parser.parse_args()

    server = DocumentServer()
    # The app's fetcher for a config that lets it reach the loopback server (no blob is written).
    fetch = Collaborators({"ALLOW_PRIVATE_NETWORK": True, "URL_REWRITE": {f"{WEB_HOST}/": server.url("/")}},
                          tempfile.gettempdir()).fetcher
    signer = Signer()
    credentials = []
    bits = bytes(args.list_mb * MB)
    for number in range(args.count):
        path = f"/status/{number}"
        body = json.dumps(status_list(signer, WEB_HOST + path, bits)).encode()
        server.routes[path] = Response(body, headers={"Cache-Control": "no-store"})
        entry = {"id": f"{WEB_HOST}{path}#7", "type": "BitstringStatusListEntry", "statusPurpose": "revocation",
                 "statusListIndex": "7", "statusListCredential": WEB_HOST + path}
        credentials.append(json.dumps(signer.sign_ld(generic_vc(
            signer.did, id=f"urn:uuid:00000000-0000-4000-8000-{number:012d}", credentialStatus=entry))).encode())
    del bits
    status.clear_cache()
    gc.collect()

    tracemalloc.start()
    started = time.perf_counter()
    for data in credentials:
        result = verify_bytes(data, context=make_context(fetch, now=NOW))
        assert result.status.value == "valid", [c.message for c in result.checks]
    elapsed = time.perf_counter() - started
    gc.collect()
    held, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    cache = getattr(status, "CACHE", None)
    kept = len(cache) if cache is not None else len(getattr(status, "_cache", {}))
    print(f"{args.count} credentials, each with its own {args.list_mb} MB status list, in {elapsed:.1f} s")
    print(f"  status lists kept in memory: {kept}")
    print(f"  memory held after the run (tracemalloc): {held / MB:.1f} MB; traced peak {peak / MB:.1f} MB")
    print(f"  peak resident memory of the process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    server.close()

    texts = [json.dumps(signer.sign_ld(generic_vc(
        signer.did, id=f"urn:uuid:00000000-0000-4000-9000-{number:012d}", description=f"{number} " + "text " * 20_000
    ))).encode() for number in range(args.results)]
    gc.collect()
    tracemalloc.start()
    for data in texts:
        assert verify_bytes(data, context=make_context(now=NOW)).status.value == "valid"
    del data
    gc.collect()
    held, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{args.results} distinct offline credentials of 100 KB each")
    print(f"  memory held after the run (tracemalloc): {held / MB:.1f} MB; traced peak {peak / MB:.1f} MB")
    print(f"  peak resident memory of the process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
