"""Evidence: text, http(s) links and checked files, in the learner's order, served safely."""
from __future__ import annotations

import io

import pytest

from tests.support.credentials import JwtIssuer, png_image
from wallet.models import Evidence
from wallet.services import evidence as evidence_service
from wallet.services import importing
from wallet.services.blobs import blob_store_from_config
from wallet.services.errors import NotFoundError, TooLargeError, ValidationError
from wallet.services.http import fetcher_from_config

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def learner(make_user):
    return make_user(email="learner@example.org")


@pytest.fixture
def blobs(app):
    return blob_store_from_config(app.config, app.instance_path)


@pytest.fixture
def credential(app, session, learner, blobs):
    importer = importing.Importer(fetch=fetcher_from_config(app.config), blobs=blobs, owner_id=learner.id,
                                  recipients=learner.verified_addresses)
    item = importing.import_paste(session, importer, JwtIssuer().jwt())
    session.commit()
    return item.credential


def test_add_text_link_and_file_keep_order(session, learner, credential, blobs):
    a = evidence_service.add_text(session, learner.id, credential.id, title="Notes", text="I did **this**.")
    b = evidence_service.add_link(session, learner.id, credential.id, url="https://example.org/project")
    c = evidence_service.add_file(session, learner.id, credential.id, filename="../report.pdf", data=PDF, blobs=blobs)
    session.commit()
    assert [e.id for e in credential.evidence] == [a.id, b.id, c.id]
    assert b.title == "https://example.org/project"
    assert (c.filename, c.content_type, c.size) == ("report.pdf", "application/pdf", len(PDF))
    assert blobs.get(c.file_sha256) == PDF


@pytest.mark.parametrize("url", ["javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,x", "ftp://x.example/f",
                                 "not a url", "java\tscript:alert(1)"])
def test_add_link_non_http_url_is_refused(session, learner, credential, url):
    with pytest.raises(ValidationError, match="https://"):
        evidence_service.add_link(session, learner.id, credential.id, url=url)
    assert credential.evidence == []


@pytest.mark.parametrize("data", [
    b"<!doctype html><script>alert(1)</script>",
    b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00",
    b"PK\x03\x04macro document",
])
def test_add_file_disallowed_type_is_refused_and_not_stored(session, learner, credential, blobs, data):
    with pytest.raises(ValidationError, match="can't be added"):
        evidence_service.add_file(session, learner.id, credential.id, filename="x.pdf", data=data, blobs=blobs)
    assert not blobs.root.exists() or not any(p.name == __import__("hashlib").sha256(data).hexdigest()
                                              for p in blobs.root.rglob("*"))


def test_add_file_over_limit_is_refused(session, learner, credential, blobs):
    with pytest.raises(TooLargeError):
        evidence_service.add_file(session, learner.id, credential.id, filename="big.txt", data=b"a" * 2000,
                                  blobs=blobs, max_bytes=1000)


def test_add_text_empty_is_refused(session, learner, credential):
    with pytest.raises(ValidationError):
        evidence_service.add_text(session, learner.id, credential.id, title="", text="   ")


def test_reorder_and_move_change_positions(session, learner, credential):
    ids = [evidence_service.add_text(session, learner.id, credential.id, title=t, text=t).id for t in "abc"]
    evidence_service.reorder_evidence(session, learner.id, credential.id, [ids[2], ids[0], ids[1]])
    evidence_service.move_evidence(session, learner.id, credential.id, ids[1], "up")
    session.commit()
    session.expire_all()
    assert [e.title for e in credential.evidence] == ["c", "b", "a"]


def test_reorder_with_missing_or_foreign_ids_is_refused(session, learner, credential):
    ids = [evidence_service.add_text(session, learner.id, credential.id, title=t, text=t).id for t in "ab"]
    for order in ([ids[0]], [ids[0], ids[1], 999], ["x", "y"]):
        with pytest.raises(ValidationError):
            evidence_service.reorder_evidence(session, learner.id, credential.id, order)


def test_remove_evidence_of_another_learner_is_not_found(session, learner, credential, make_user):
    item = evidence_service.add_text(session, learner.id, credential.id, title="t", text="t")
    other = make_user()
    with pytest.raises(NotFoundError):
        evidence_service.remove_evidence(session, other.id, credential.id, item.id)
    evidence_service.remove_evidence(session, learner.id, credential.id, item.id)
    assert session.get(Evidence, item.id) is None


def test_evidence_file_route_sends_detected_type_with_safe_headers(client, login, learner, credential):
    login(learner)
    client.post(f"/credentials/{credential.id}/evidence", data={
        "kind": "file", "title": "Screenshot", "file": (io.BytesIO(png_image()), "shot.html")},
        content_type="multipart/form-data")
    client.post(f"/credentials/{credential.id}/evidence", data={
        "kind": "file", "file": (io.BytesIO(b"plain notes\n"), "notes.html")}, content_type="multipart/form-data")
    image, text = credential.evidence
    response = client.get(f"/credentials/{credential.id}/evidence/{image.id}/file")
    assert response.mimetype == "image/png" and response.data == png_image()
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    response = client.get(f"/credentials/{credential.id}/evidence/{text.id}/file")
    assert response.mimetype == "text/plain" and response.headers["Content-Disposition"].startswith("attachment")


def test_evidence_form_javascript_link_shows_clear_error(client, login, learner, credential):
    login(learner)
    response = client.post(f"/credentials/{credential.id}/evidence", data={"kind": "link", "url": "javascript:alert(1)"})
    assert response.status_code == 400
    assert "https://" in response.get_data(as_text=True)


def test_evidence_page_shows_items_with_move_and_remove(client, login, learner, credential, session):
    login(learner)
    for text in ("first <script>window.__pwned=1</script>", "second"):
        client.post(f"/credentials/{credential.id}/evidence", data={"kind": "text", "title": text, "text": text})
    second = credential.evidence[1]
    client.post(f"/credentials/{credential.id}/evidence/{second.id}/move", data={"direction": "up"})
    page = client.get(f"/credentials/{credential.id}").get_data(as_text=True)
    assert page.index("second") < page.index("first")
    assert "<script>window" not in page
    client.post(f"/credentials/{credential.id}/evidence/{second.id}/delete")
    session.expire_all()
    assert len(credential.evidence) == 1 and credential.evidence[0].title.startswith("first")
