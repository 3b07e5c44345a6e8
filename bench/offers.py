"""Credential offers: receiving through OpenID for VC Issuance beside pasting the same credentials.

Run: .venv/bin/python bench/offers.py [--offers 40] [--database-url URL]

One fresh instance (SQLite file, or a PostgreSQL server) and the test issuer of tests/support/issuer (a
real OID4VCI 1.0 issuer and authorization server on 127.0.0.1), for each credential format:
- offer: N pre-authorized offers, each taken with `POST /api/v1/offers` by a first learner: the offer
  read, issuer and authorization server metadata fetched, the code redeemed, a nonce fetched, a proof
  signed with the learner's wallet key, the credential requested, checked for its holder and imported;
- baseline: the N credentials that arrived, pasted with `POST /api/v1/credentials` by a second learner
  (the same import and verification, no protocol).
Reported: the time per credential each way and the ratio offer / paste (the protocol's cost).
"""
from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from bench.bulk_import import database  # noqa: E402
from tests.support.accounts import create_api_token, create_user  # noqa: E402
from tests.support.issuer import TestIssuer  # noqa: E402
from tests.support.issuer.specs import JWT_VC, LDP_VC, SD_JWT  # noqa: E402
from wallet import create_app  # noqa: E402
from wallet.db import get_engine, get_session  # noqa: E402
from wallet.models import Credential  # noqa: E402
from wallet.schema import upgrade_database  # noqa: E402
from wallet.wiring import collaborators  # noqa: E402

FORMATS = {JWT_VC: "jwt_vc_json", LDP_VC: "ldp_vc", SD_JWT: "dc+sd-jwt"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offers", type=int, default=40)
    parser.add_argument("--database-url", default=None, help="a PostgreSQL server URL (default: a SQLite file)")
    args = parser.parse_args()
    count = args.offers
    folder = Path(tempfile.mkdtemp(prefix="wallet-bench-offers-"))
    settings = {
        "DATABASE_URL": database(folder, args.database_url), "INSTANCE_PATH": str(folder / "instance"),
        "SECRET_KEY": "bench-secret", "WTF_CSRF_ENABLED": False, "RECHECK_SCHEDULE": False,
        "ALLOW_PRIVATE_NETWORK": True,  # the issuer listens on 127.0.0.1
        "IMPORT_RATE_LIMIT": 100 * count,
    }
    issuer = TestIssuer()
    rows = []
    try:
        app = create_app(settings)
        logging.disable(logging.INFO)  # each fetch is logged at INFO: not what is measured
        upgrade_database(get_engine(app))
        with app.app_context():
            session = get_session()
            http = app.test_client()
            for configuration, label in FORMATS.items():
                taker = create_user(session, email=issuer.learner["email"])
                paster = create_user(session)
                session.commit()
                taking, pasting = create_api_token(session, taker), create_api_token(session, paster)
                session.commit()
                offers = [issuer.offer((configuration,)).uri for _ in range(count)]
                started = time.perf_counter()
                for uri in offers:
                    answer = http.post("/api/v1/offers", json={"offer": uri},
                                       headers={"Authorization": f"Bearer {taking}"})
                    assert answer.status_code == 201, answer.get_json()
                offer_time = time.perf_counter() - started
                session.rollback()
                blobs = collaborators(app).blobs
                received = [blobs.get(c.original_sha256).decode() for c in
                            session.scalars(select(Credential).where(Credential.owner_id == taker.id))]
                assert len(received) == count
                started = time.perf_counter()
                for text in received:
                    answer = http.post("/api/v1/credentials", json={"credential": text},
                                       headers={"Authorization": f"Bearer {pasting}"})
                    assert answer.status_code == 201, answer.get_json()
                paste_time = time.perf_counter() - started
                rows.append((label, offer_time / count * 1000, paste_time / count * 1000))
                issuer.learner["email"] = f"next-{len(rows)}@example.org"
            get_session().close()
        get_engine(app).dispose()
    finally:
        issuer.close()
    print(f"{count} pre-authorized offers per format ({'PostgreSQL' if args.database_url else 'SQLite'})")
    for label, offer_ms, paste_ms in rows:
        print(f"{label:12} offer {offer_ms:7.1f} ms each, paste {paste_ms:7.1f} ms each, "
              f"ratio (offer / paste) {offer_ms / paste_ms:.2f}x")


if __name__ == "__main__":
    main()
