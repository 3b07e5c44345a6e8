"""Per-learner quotas (docs/security.md C11): credentials kept and evidence bytes, checked in the insert transaction."""
from __future__ import annotations

import io
import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from tests.support.accounts import bearer
from tests.support.credentials import JwtIssuer, bake_png_jwt, png_image
from tests.support.jobs import job_page
from tests.support.servers import Response
from wallet.db import get_engine
from wallet.models import Credential, CredentialTag, Evidence, VerificationRecord
from wallet.services import evidence as evidence_service
from wallet.services import importing
from wallet.services.blobs import blob_store_from_config, sha256_hex
from wallet.services.errors import QuotaExceededError
from wallet.services.http import fetcher_from_config

FULL_MESSAGE = "Your wallet holds 2 credentials, the most it can hold."
KB = 1024


@pytest.fixture
def learner(make_user):
    return make_user(email="learner@example.org")


@pytest.fixture
def issuer() -> JwtIssuer:
    return JwtIssuer()


@pytest.fixture
def blobs(app):
    return blob_store_from_config(app.config, app.instance_path)


def _count(session, model=Credential) -> int:
    return session.scalar(select(func.count()).select_from(model))


def _blob_files(blobs) -> set[str]:
    return {p.name for p in blobs.root.rglob("*") if p.is_file()} if blobs.root.exists() else set()


@pytest.fixture
def full_wallet(app, client, session, learner, login, issuer):
    """The learner's wallet at a quota of two credentials, both used (imported through the page)."""
    app.config["MAX_CREDENTIALS_PER_USER"] = 2
    login(learner)
    tokens = [issuer.jwt(name=f"Kept {n}", tags=["kept"]) for n in range(2)]
    for token in tokens:
        assert client.post("/credentials/add/paste", data={"credential": token}).status_code == 302
    return tokens


# ---------------------------------------------------------------------------------------------
# Credentials


def test_web_import_into_a_full_wallet_is_422_with_a_clear_message_and_nothing_written(
        client, session, full_wallet, issuer, blobs) -> None:
    before = (_count(session), _count(session, VerificationRecord), _count(session, CredentialTag), _blob_files(blobs))
    response = client.post("/credentials/add/paste", data={"credential": issuer.jwt(name="One too many",
                                                                                   tags=["new"])})
    assert response.status_code == 422 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert FULL_MESSAGE in page and "Delete credentials you no longer need" in page
    after = (_count(session), _count(session, VerificationRecord), _count(session, CredentialTag), _blob_files(blobs))
    assert after == before


def test_api_import_into_a_full_wallet_is_422_quota_exceeded_json(client, session, learner, full_wallet, issuer,
                                                                  api_token) -> None:
    response = client.post("/api/v1/credentials", json={"credential": issuer.jwt()},
                           headers=bearer(api_token(learner)))
    assert response.status_code == 422
    assert response.get_json() == {"error": "QuotaExceeded", "message": FULL_MESSAGE + " Delete credentials you no "
                                   "longer need before adding new ones."}
    assert _count(session) == 2


def test_import_of_a_credential_already_kept_in_a_full_wallet_is_found_not_refused(
        client, learner, full_wallet, api_token) -> None:
    response = client.post("/api/v1/credentials", json={"credential": full_wallet[0]},
                           headers=bearer(api_token(learner)))
    assert response.status_code == 200 and response.get_json()["duplicate"] is True


def test_full_wallet_after_a_delete_takes_one_more(client, session, full_wallet, issuer) -> None:
    first = session.scalars(select(Credential.id).order_by(Credential.id)).first()
    client.post(f"/credentials/{first}/delete")
    assert client.post("/credentials/add/paste", data={"credential": issuer.jwt()}).status_code == 302
    assert client.post("/credentials/add/paste", data={"credential": issuer.jwt()}).status_code == 422


def test_full_wallet_of_one_learner_leaves_another_learner_free(app, session, full_wallet, issuer, make_user,
                                                                api_token) -> None:
    other = make_user()
    response = app.test_client().post("/api/v1/credentials", json={"credential": issuer.jwt()},
                                      headers=bearer(api_token(other)))
    assert response.status_code == 201


def test_import_files_counts_credentials_added_earlier_in_the_same_transaction(app, client, session, learner, login,
                                                                               issuer) -> None:
    app.config["MAX_CREDENTIALS_PER_USER"] = 2
    login(learner)
    files = [(io.BytesIO(bake_png_jwt(issuer.jwt(name=f"Badge {n}"))), f"badge{n}.png") for n in range(3)]
    response = client.post("/credentials/add/files", data={"files": files}, content_type="multipart/form-data")
    page = job_page(app, client, response)
    assert page.count("result-imported") == 2
    assert page.count("result-rejected") == 1 and FULL_MESSAGE in page
    assert _count(session) == 2


def test_import_quota_check_in_the_insert_transaction_sees_rows_the_first_check_missed(
        session, learner, issuer, blobs, document_server) -> None:
    # The badge image is fetched between the early check and the insert. Here another import of the
    # same learner lands during that fetch, so only the check inside the insert transaction sees it.
    document_server.routes["/badge.png"] = Response(png_image(), content_type="image/png")
    fetch = fetcher_from_config({"ALLOW_PRIVATE_NETWORK": True})
    image_url = document_server.url("/badge.png")

    def importer(fetcher) -> importing.Importer:
        return importing.Importer(fetch=fetcher, blobs=blobs, owner_id=learner.id, max_credentials=1)

    def fetch_while_another_import_lands(url: str, *, kind: str = "json"):
        if url == image_url:
            importing.import_paste(session, importer(fetch), issuer.jwt(name="Arrived meanwhile"))
        return fetch(url, kind=kind)

    with pytest.raises(QuotaExceededError, match="holds 1 credentials"):
        importing.import_paste(session, importer(fetch_while_another_import_lands), issuer.jwt(image=image_url))
    assert any(path == "/badge.png" for _, path, _ in document_server.requests)
    session.commit()
    assert session.scalars(select(Credential.name)).all() == ["Arrived meanwhile"]


def test_concurrent_imports_never_exceed_the_quota(app, learner, issuer, blobs) -> None:
    limit, attempts = 3, 6
    tokens = [issuer.jwt(name=f"Racing {n}") for n in range(attempts)]
    engine = get_engine(app)
    outcomes: list[str] = []
    barrier = threading.Barrier(attempts)

    def import_one(token: str) -> None:
        importer = importing.Importer(fetch=fetcher_from_config(app.config), blobs=blobs, owner_id=learner.id,
                                      max_credentials=limit)
        with app.app_context(), importing_session(engine) as session:
            barrier.wait()
            try:
                importing.import_paste(session, importer, token)
                session.commit()
                outcomes.append("imported")
            except QuotaExceededError:
                outcomes.append("full")
            except OperationalError:
                # SQLite: a writer whose snapshot went stale is refused outright ("database is locked").
                outcomes.append("retry")

    threads = [threading.Thread(target=import_one, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with importing_session(engine) as session:
        stored = _count(session)
    assert stored == outcomes.count("imported") <= limit
    assert len(outcomes) == attempts
    if engine.dialect.name == "postgresql":
        # The row lock makes the checks take turns: exactly the quota fits, every other import is told why.
        assert (stored, outcomes.count("full")) == (limit, attempts - limit)


def importing_session(engine) -> Session:
    """Return a new session on `engine`, as another request would have."""
    return Session(engine, expire_on_commit=False)


# ---------------------------------------------------------------------------------------------
# Evidence bytes


@pytest.fixture
def credential(app, session, learner, blobs, issuer):
    importer = importing.Importer(fetch=fetcher_from_config(app.config), blobs=blobs, owner_id=learner.id)
    item = importing.import_paste(session, importer, issuer.jwt())
    session.commit()
    return item.credential


def _text_file(size: int, fill: bytes = b"a") -> bytes:
    return fill * size


def test_web_evidence_file_over_the_byte_quota_is_422_with_a_clear_message_and_nothing_stored(
        app, client, session, learner, login, credential, blobs) -> None:
    app.config["MAX_EVIDENCE_BYTES_PER_USER"] = 100 * KB
    login(learner)
    url = f"/credentials/{credential.id}/evidence"
    first = client.post(url, data={"kind": "file", "file": (io.BytesIO(_text_file(60 * KB)), "notes.txt")},
                        content_type="multipart/form-data")
    assert first.status_code == 302
    second_file = _text_file(50 * KB, b"b")
    response = client.post(url, data={"kind": "file", "file": (io.BytesIO(second_file), "more.txt")},
                           content_type="multipart/form-data")
    assert response.status_code == 422
    assert ("This file is 50 KB, but only 40 KB of the 100 KB your wallet has for evidence files is left. "
            "Remove evidence files you no longer need to make room.") in response.get_data(as_text=True)
    assert _count(session, Evidence) == 1
    assert not blobs.exists(sha256_hex(second_file))


def test_api_evidence_file_over_the_byte_quota_is_422_quota_exceeded(app, client, session, learner, credential,
                                                                     api_token) -> None:
    app.config["MAX_EVIDENCE_BYTES_PER_USER"] = 10 * KB
    response = client.post(f"/api/v1/credentials/{credential.id}/evidence", headers=bearer(api_token(learner)),
                           data={"file": (io.BytesIO(_text_file(11 * KB)), "big.txt")},
                           content_type="multipart/form-data")
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "QuotaExceeded" and "This file is 11 KB, but only 10 KB" in body["message"]
    assert _count(session, Evidence) == 0


def test_evidence_quota_full_refuses_new_files_but_not_text_or_links(session, learner, credential, blobs) -> None:
    evidence_service.add_file(session, learner.id, credential.id, filename="a.txt", data=_text_file(4 * KB),
                              blobs=blobs, max_total_bytes=4 * KB)
    with pytest.raises(QuotaExceededError, match="Your evidence files fill the 4 KB your wallet has for them."):
        evidence_service.add_file(session, learner.id, credential.id, filename="b.txt", data=b"tiny",
                                  blobs=blobs, max_total_bytes=4 * KB)
    evidence_service.add_text(session, learner.id, credential.id, title="Notes", text="What I learned.")
    evidence_service.add_link(session, learner.id, credential.id, url="https://example.org/project")
    session.commit()
    assert [e.kind for e in credential.evidence] == ["file", "text", "link"]


def test_evidence_same_file_again_takes_no_more_room(session, learner, credential, blobs) -> None:
    data = _text_file(4 * KB)
    for name in ("report.txt", "report-copy.txt"):
        evidence_service.add_file(session, learner.id, credential.id, filename=name, data=data, blobs=blobs,
                                  max_total_bytes=4 * KB)
    session.commit()
    assert len(credential.evidence) == 2
    assert evidence_service.evidence_bytes(session, learner.id) == 4 * KB


def test_evidence_bytes_count_only_the_learners_own_files(session, learner, credential, blobs, make_user,
                                                          issuer, app) -> None:
    other = make_user()
    importer = importing.Importer(fetch=fetcher_from_config(app.config), blobs=blobs, owner_id=other.id)
    theirs = importing.import_paste(session, importer, issuer.jwt()).credential
    evidence_service.add_file(session, other.id, theirs.id, filename="x.txt", data=_text_file(3 * KB), blobs=blobs)
    evidence_service.add_file(session, learner.id, credential.id, filename="y.txt", data=_text_file(2 * KB, b"y"),
                              blobs=blobs)
    session.commit()
    assert evidence_service.evidence_bytes(session, learner.id) == 2 * KB
    assert evidence_service.evidence_bytes(session, other.id) == 3 * KB
