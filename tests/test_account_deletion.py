"""Deleting an account removes the learner's stored files, and keeps those another learner's rows name."""
from __future__ import annotations

import logging

import pytest

from tests.support.accounts import DEFAULT_PASSWORD
from tests.support.credentials import JwtIssuer
from wallet.models import Credential, User, VerificationRecord
from wallet.services import evidence as evidence_service
from wallet.services import importing
from wallet.services.blobs import blob_store_from_config
from wallet.services.http import fetcher_from_config

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def blobs(app):
    return blob_store_from_config(app.config, app.instance_path)


@pytest.fixture
def ada(make_user, login):
    user = make_user(email="ada@example.org", display_name="Ada Lovelace")
    login(user)
    return user


@pytest.fixture
def grace(make_user):
    return make_user(email="grace@example.org", display_name="Grace Hopper")


def _import(app, session, blobs, user: User, token: str) -> Credential:
    importer = importing.Importer(fetch=fetcher_from_config(app.config), blobs=blobs, owner_id=user.id,
                                  recipients=user.verified_addresses)
    credential = importing.import_paste(session, importer, token).credential
    session.commit()
    return credential


def _report_naming(session, credential: Credential, *digests: str) -> None:
    # A verification report names the documents fetched to verify the credential by their sha256.
    documents = [{"url": f"https://issuer.example/{d[:8]}", "sha256": d, "content_type": "application/json",
                  "role": "issuer"} for d in digests]
    session.add(VerificationRecord(credential_id=credential.id, status="verified", trigger="manual",
                                   report={"documents": documents, "nested": [{"documents": []}]}))
    session.commit()


def _delete(client, password: str = DEFAULT_PASSWORD):
    return client.post("/settings/delete", data={"delete-password": password, "delete-confirm": "y"})


@pytest.fixture
def two_learners_files(app, session, blobs, ada, grace):
    """Ada's files, some of which Grace's rows name too; return the digests by what they are."""
    issuer = JwtIssuer()
    shared_token = issuer.jwt(name="Shared Badge", email="ada@example.org")
    ada_shared = _import(app, session, blobs, ada, shared_token)
    grace_shared = _import(app, session, blobs, grace, shared_token)
    ada_own = _import(app, session, blobs, ada, issuer.jwt(name="Only Ada's", email="ada@example.org"))
    evidence = evidence_service.add_file(session, ada.id, ada_own.id, filename="report.pdf", data=PDF, blobs=blobs)
    session.commit()
    own_document, shared_document = blobs.put(b'{"issuer": "only ada"}'), blobs.put(b'{"issuer": "both"}')
    _report_naming(session, ada_own, own_document, shared_document)
    _report_naming(session, grace_shared, shared_document)
    assert ada_shared.original_sha256 == grace_shared.original_sha256
    return {"shared original": ada_shared.original_sha256, "own original": ada_own.original_sha256,
            "evidence": evidence.file_sha256, "own document": own_document, "shared document": shared_document}


def test_delete_account_removes_its_files_and_keeps_shared_ones(client, session, blobs, ada, grace,
                                                                two_learners_files) -> None:
    response = _delete(client)
    assert response.status_code == 302
    assert session.get(User, ada.id) is None
    present = {name: blobs.exists(digest) for name, digest in two_learners_files.items()}
    assert present == {"shared original": True, "own original": False, "evidence": False,
                       "own document": False, "shared document": True}
    grace_credential = session.query(Credential).filter_by(owner_id=grace.id).one()
    assert blobs.get(grace_credential.original_sha256)


def test_delete_account_logs_counts_without_personal_data(client, session, ada, two_learners_files,
                                                          caplog) -> None:
    with caplog.at_level(logging.INFO, logger="wallet"):
        _delete(client)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert f"Account {ada.id} deleted: 3 stored files removed, 2 kept" in logged
    assert "ada@example.org" not in logged and "Ada" not in logged
    assert not any(digest in logged for digest in two_learners_files.values())


def test_delete_account_wrong_password_removes_nothing(client, session, blobs, ada, two_learners_files) -> None:
    response = _delete(client, password="not my password")
    assert response.status_code == 400
    assert session.get(User, ada.id) is not None
    assert all(blobs.exists(digest) for digest in two_learners_files.values())
