"""Re-checking 10,000 stored credentials from 20 issuers over loopback: one sweep, against the old loop.

Run: .venv/bin/python bench/recheck.py [--credentials 10000] [--issuers 20] [--baseline 500]
                                       [--ob3 eddsa-rdfc-2022|vc-jwt] [--database-url URL] [--base-ref REF]

Stores N credentials for 10 learners straight into a fresh database (as an import would store them,
without the import's own verification): half hosted OB 2.0 assertions (each issuer's assertions,
BadgeClass and profile served over HTTP), half OB 3.0 credentials with a BitstringStatusList entry
(each issuer's signed status list served over HTTP; issuer keys are did:key), spread over the
issuers. Every document is served on 127.0.0.1 by a separate process (HTTP/1.1, keep-alive), each
issuer under its own host name (URL_REWRITE maps https://issuerN.example/ to it), so a sweep limits
each issuer host on its own.

Then, in one run, with every in-process cache emptied before each step:
- baseline: `wallet reverify` as it was before re-check sweeps, the sequential loop (one
  credential after another, a commit after each) through the guarded fetcher of --base-ref
  (a new connection per request), over the first --baseline credentials (half of each kind);
- sweep: services/recheck.py's `sweep` over all N credentials with the app's settings.
Both record what `reverify_credential` records. Reported: seconds, credentials per second, ms per
credential, and the ratio; the goal is the N credentials in under 60 s on 2 cores.
"""
from __future__ import annotations

import argparse
import base64
import gzip
import json
import logging
import os
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
from jwcrypto.jwk import JWK  # noqa: E402
from sqlalchemy import create_engine, make_url, select, text  # noqa: E402

from bench.loopback import DocumentProcess, fetcher_module, wait_for  # noqa: E402
from wallet import create_app  # noqa: E402
from wallet.db import get_engine, get_session  # noqa: E402
from wallet.models.credential import Credential  # noqa: E402
from wallet.schema import upgrade_database  # noqa: E402
from wallet.services import accounts  # noqa: E402
from wallet.services.blobs import sha256_hex  # noqa: E402
from wallet.services.credentials import reverify_stale  # noqa: E402
from wallet.services.recheck import sweep  # noqa: E402
from wallet.services.verification import caches, dataintegrity, jose  # noqa: E402
from wallet.wiring import collaborators  # noqa: E402

# The last commit before the fetcher kept connections alive and re-checks ran as sweeps.
BASE_REF = "87b45c4"
OB2 = "https://w3id.org/openbadges/v2"
OB3_CONTEXTS = ["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]
LEARNERS = 10
LIST_LENGTH = 131_072  # the smallest BitstringStatusList (VC Bitstring Status List §3.1)


def host(number: int) -> str:
    return f"https://issuer{number}.example"


def ob2_issuer(number: int, documents: dict[str, tuple[bytes, str]]) -> None:
    origin, prefix = host(number), f"/i{number}"
    documents[f"{prefix}/issuer"] = (json.dumps({
        "@context": OB2, "id": f"{origin}/issuer", "type": "Issuer", "name": f"Academy {number}",
        "url": origin + "/", "email": f"badges@issuer{number}.example"}).encode(), "application/json")
    documents[f"{prefix}/badge"] = (json.dumps({
        "@context": OB2, "id": f"{origin}/badge", "type": "BadgeClass", "name": f"Robotics {number}",
        "description": "Built a robot.", "image": f"{origin}/badge.png",
        "criteria": {"narrative": "Build a robot."}, "issuer": f"{origin}/issuer"}).encode(), "application/json")


def ob2_assertion(number: int, serial: int, email: str, documents: dict[str, tuple[bytes, str]]) -> tuple[bytes, str]:
    origin = host(number)
    url = f"{origin}/assertions/{serial}"
    body = json.dumps({
        "@context": OB2, "type": "Assertion", "id": url,
        "recipient": {"type": "email", "hashed": False, "identity": email},
        "badge": f"{origin}/badge", "issuedOn": "2026-01-05T10:00:00Z", "verification": {"type": "HostedBadge"},
    }).encode()
    documents[f"/i{number}/assertions/{serial}"] = (body, "application/json")
    return body, url


class Ob3Issuer:
    """An OB 3.0 issuer (did:key, Ed25519) with one signed BitstringStatusList served over HTTP."""

    def __init__(self, number: int, securing: str, documents: dict[str, tuple[bytes, str]]) -> None:
        self.key = Ed25519PrivateKey.generate()
        self.did = dataintegrity.did_key_for(self.key.public_key())
        self.method = f"{self.did}#{self.did.removeprefix('did:key:')}"
        self.securing = securing
        self.list_url = f"{host(number)}/status/1"
        bits = base64.urlsafe_b64encode(gzip.compress(bytes(LIST_LENGTH // 8), mtime=0)).rstrip(b"=").decode()
        status_list = dataintegrity.sign_document({
            "@context": ["https://www.w3.org/ns/credentials/v2"], "id": self.list_url,
            "type": ["VerifiableCredential", "BitstringStatusListCredential"], "issuer": self.did,
            "validFrom": "2026-01-01T00:00:00Z",
            "credentialSubject": {"id": f"{self.list_url}#list", "type": "BitstringStatusList",
                                  "statusPurpose": "revocation", "encodedList": "u" + bits},
        }, private_key=self.key, verification_method=self.method)
        documents[f"/i{number}/status/1"] = (json.dumps(status_list).encode(), "application/json")
        self.name = f"College {number}"

    def credential(self, serial: int, email: str) -> tuple[bytes, str, str]:
        """Return (bytes, media type, file name) of a distinct credential with a status entry."""
        document = {
            "@context": OB3_CONTEXTS, "id": f"urn:uuid:{uuid.uuid4()}",
            "type": ["VerifiableCredential", "OpenBadgeCredential"],
            "issuer": {"id": self.did, "type": ["Profile"], "name": self.name},
            "validFrom": "2026-01-05T10:00:00Z", "name": f"Badge {serial}",
            "credentialSubject": {
                "type": ["AchievementSubject"],
                "identifier": [{"type": "IdentityObject", "identityHash": email, "identityType": "emailAddress",
                                "hashed": False}],
                "achievement": {"id": f"{host(0)}/achievements/{serial}", "type": ["Achievement"],
                                "name": f"Achievement {serial}", "description": "Completed the course.",
                                "criteria": {"narrative": "Pass every module."}}},
            "credentialStatus": {"id": f"{self.list_url}#{serial}", "type": "BitstringStatusListEntry",
                                 "statusPurpose": "revocation", "statusListIndex": str(serial % LIST_LENGTH),
                                 "statusListCredential": self.list_url},
        }
        if self.securing == "vc-jwt":
            token = jose.sign_compact(document, JWK.from_pyca(self.key), "EdDSA",
                                      {"kid": self.method, "typ": "vc+jwt"})
            return token.encode(), "application/vc+jwt", "badge.jwt"
        signed = dataintegrity.sign_document(document, private_key=self.key, verification_method=self.method)
        return json.dumps(signed).encode(), "application/json", "badge.json"


def make_app(folder: Path, database_url: str | None, rewrite: dict[str, str]):
    if database_url:
        url = make_url(database_url)
        admin = create_engine(url.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text('DROP DATABASE IF EXISTS "bench_recheck" WITH (FORCE)'))
            connection.execute(text('CREATE DATABASE "bench_recheck"'))
        admin.dispose()
        db_url = url.set(database="bench_recheck").render_as_string(hide_password=False)
    else:
        db_url = f"sqlite:///{folder / 'wallet.db'}"
    app = create_app({"DATABASE_URL": db_url, "INSTANCE_PATH": str(folder), "SECRET_KEY": "bench",
                      "ALLOW_PRIVATE_NETWORK": True, "URL_REWRITE": rewrite})
    upgrade_database(get_engine(app))
    logging.getLogger("wallet").setLevel(logging.WARNING)  # a line per fetch would be measured too
    return app


def store(app, rows: list[dict[str, Any]]) -> list[int]:
    """Insert the credentials as an import stores them (state valid, original kept verbatim)."""
    blobs = collaborators(app).blobs
    with app.app_context():
        session = get_session()
        owners = [accounts.register(session, display_name=f"Learner {n}", email=f"learner{n}@example.org",
                                    password="a long bench passphrase", verified=True) for n in range(LEARNERS)]
        session.flush()
        for index, row in enumerate(rows):
            data = row.pop("data")
            session.add(Credential(owner_id=owners[index % LEARNERS].id, dedupe_key=sha256_hex(data),
                                   original_sha256=blobs.put(data), status="valid", **row))
            if index % 1000 == 999:
                session.commit()
        session.commit()
        return list(session.scalars(select(Credential.id).order_by(Credential.id)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--credentials", type=int, default=10_000)
    parser.add_argument("--issuers", type=int, default=20, help="half OB 2.0 hosted, half OB 3.0 with a status list")
    parser.add_argument("--baseline", type=int, default=500, help="credentials the sequential baseline re-checks")
    parser.add_argument("--ob3", choices=("eddsa-rdfc-2022", "vc-jwt"), default="eddsa-rdfc-2022")
    parser.add_argument("--database-url", help="a PostgreSQL server (default: SQLite in a temporary folder)")
    parser.add_argument("--base-ref", default=BASE_REF, help="git commit whose fetcher the baseline uses")
    parser.add_argument("--workers", type=int, help="sweep threads (default: WALLET_RECHECK_WORKERS)")
    parser.add_argument("--per-host", type=int, help="requests at once per issuer host (default: WALLET_RECHECK_PER_HOST)")
    args = parser.parse_args()

    documents: dict[str, tuple[bytes, str]] = {}
    ob2_count = args.issuers // 2
    ob3_issuers = [Ob3Issuer(ob2_count + n, args.ob3, documents) for n in range(args.issuers - ob2_count)]
    for number in range(ob2_count):
        ob2_issuer(number, documents)
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    for serial in range(args.credentials):
        email = f"learner{serial % LEARNERS}@example.org"
        if serial % 2 == 0:  # alternate kinds, so any prefix (the baseline's) has half of each
            number = (serial // 2) % ob2_count
            data, url = ob2_assertion(number, serial, email, documents)
            rows.append({"data": data, "format_id": "ob2", "container": "url", "source_url": url,
                         "original_type": "application/json", "original_filename": None, "name": f"Robotics {number}"})
        else:
            issuer = ob3_issuers[(serial // 2) % len(ob3_issuers)]
            data, media_type, filename = issuer.credential(serial, email)
            rows.append({"data": data, "format_id": "ob3", "container": "jwt" if args.ob3 == "vc-jwt" else "json",
                         "source_url": None, "original_type": media_type, "original_filename": filename,
                         "name": f"Badge {serial}"})
    print(f"made {args.credentials} credentials ({args.ob3} for OB 3.0) in {time.perf_counter() - started:.1f} s",
          flush=True)

    server = DocumentProcess(documents)
    wait_for(server.base_url)
    rewrite = {host(n) + "/": f"{server.base_url}/i{n}/" for n in range(args.issuers)}
    with tempfile.TemporaryDirectory() as folder:
        app = make_app(Path(folder), args.database_url, rewrite)
        ids = store(app, rows)
        print(f"stored {len(ids)} credentials for {LEARNERS} learners; {os.cpu_count()} CPUs", flush=True)
        blobs = collaborators(app).blobs
        try:
            # Baseline: the loop `wallet reverify` ran before, through the fetcher of --base-ref.
            old = fetcher_module(args.base_ref)
            old_fetcher = old.GuardedFetcher(allow_private_network=True, url_rewrite=rewrite)
            subset = set(ids[:args.baseline])
            caches.REGISTRY.clear_all()
            with app.app_context():
                session = get_session()
                # Only the subset is stale: push the others' last check into the future for this step.
                session.execute(text("UPDATE credentials SET checked_at = :later WHERE id > :last"),
                                {"later": "2999-01-01 00:00:00", "last": max(subset)})
                session.commit()
                begun, cpu = time.perf_counter(), time.process_time()
                done = 0
                statuses: dict[str, int] = {}
                for recheck in reverify_stale(session, stale_after=timedelta(0), fetch=old_fetcher.revalidating(),
                                              blobs=blobs):
                    session.commit()
                    done += 1
                    statuses[recheck.credential.status] = statuses.get(recheck.credential.status, 0) + 1
                base_seconds, base_cpu = time.perf_counter() - begun, time.process_time() - cpu
                session.execute(text("UPDATE credentials SET checked_at = :earlier WHERE id > :last"),
                                {"earlier": "2000-01-01 00:00:00", "last": max(subset)})
                session.commit()
            base_rate = done / base_seconds
            print(f"baseline (sequential loop, fetcher at {args.base_ref}): {done} credentials in {base_seconds:.1f} s"
                  f" = {base_rate:.0f}/s, {1000 / base_rate:.2f} ms each ({base_cpu:.1f} s of CPU); states {statuses}; "
                  f"{args.credentials} would take {args.credentials / base_rate:.0f} s", flush=True)

            caches.REGISTRY.clear_all()
            config = app.config
            workers = args.workers or int(config["RECHECK_WORKERS"])
            per_host = args.per_host or int(config["RECHECK_PER_HOST"])
            begun, cpu = time.perf_counter(), time.process_time()
            summary = sweep(app.extensions["wallet.sessionmaker"], ids, fetch=collaborators(app).revalidating_fetch(),
                            blobs=blobs, workers=workers, per_host=per_host)
            seconds, cpu = time.perf_counter() - begun, time.process_time() - cpu
            rate = summary.checked / seconds
            with app.app_context():
                session = get_session()
                states = dict(session.execute(text("SELECT status, count(*) FROM credentials GROUP BY status")).all())
                records = session.execute(text("SELECT count(*) FROM verification_records")).scalar_one()
            print(f"sweep ({workers} threads, {per_host} per host): {summary.checked} credentials in {seconds:.1f} s"
                  f" = {rate:.0f}/s, {1000 / rate:.2f} ms each ({cpu:.1f} s of CPU in this process); "
                  f"{summary.fetches} fetches; states {states}; "
                  f"{records} verification records; {len(summary.unreachable)} unreachable, {summary.failed} failed",
                  flush=True)
            print(f"\nThe sweep re-checks {rate / base_rate:.1f}x as many credentials per second as the sequential "
                  f"loop before it; {args.credentials} credentials took {seconds:.1f} s (goal: under 60 s); "
                  f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs.")
        finally:
            server.close()
            get_engine(app).dispose()


if __name__ == "__main__":
    main()
