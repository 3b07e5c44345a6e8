"""Importing credentials: paste, upload, ZIP, URL; idempotency, atomicity, recipient flag, images."""
from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.support.credentials import HostedIssuer, JwtIssuer, LdIssuer, bake_png_jwt, png_image, tampered_jwt, zip_of
from tests.support.servers import Response
from wallet.formatting import describe_size
from wallet.models import Credential, VerificationRecord
from wallet.services import importing, versions
from wallet.services.blobs import blob_store_from_config
from wallet.services.errors import FetchError, ImportRejectedError, UnsafeURLError
from wallet.services.http import fetcher_from_config
from wallet.services.importing import DUPLICATE, IMPORTED, KEPT, REJECTED, REPLACED, Upload
from wallet.services.sanitize import safe_filename


@pytest.fixture
def issuer() -> JwtIssuer:
    return JwtIssuer()


@pytest.fixture
def learner(make_user):
    return make_user(email="learner@example.org")


@pytest.fixture
def importer(app, session, learner):
    """Return a factory of Importers for the learner (or another owner) with the app's real fetcher."""

    def make(owner=None) -> importing.Importer:
        owner = owner or learner
        return importing.Importer(fetch=fetcher_from_config(app.config),
                                  blobs=blob_store_from_config(app.config, app.instance_path),
                                  owner_id=owner.id, recipients=owner.verified_addresses)

    return make


def _count(session, model=Credential) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_import_paste_signed_jwt_is_stored_verified_with_original_bytes(session, importer, issuer, app):
    token = issuer.jwt(name="Python Basics")
    item = importing.import_paste(session, importer(), "  " + token + "\n")
    session.commit()
    credential = item.credential
    assert item.state == IMPORTED
    assert (credential.status, credential.format_id, credential.name) == ("valid", "ob3", "Python Basics")
    assert credential.issuer_id == issuer.did and credential.verified_issuer == issuer.did
    assert credential.recipient_state == "matched"
    stored = blob_store_from_config(app.config, app.instance_path).get(credential.original_sha256)
    assert stored == token.encode()
    assert [r.status for r in credential.verifications] == ["valid"]
    assert credential.verifications[0].report["checks"]


def test_import_paste_same_credential_twice_is_one_duplicate(session, importer, issuer):
    token = issuer.jwt()
    first = importing.import_paste(session, importer(), token)
    session.commit()
    again = importing.import_paste(session, importer(), token)
    assert again.state == DUPLICATE and again.credential.id == first.credential.id
    assert again.message == "Already in your wallet."
    assert _count(session) == 1


def test_import_upload_baked_png_of_pasted_jwt_is_a_duplicate(session, importer, issuer):
    token = issuer.jwt()
    importing.import_paste(session, importer(), token)
    session.commit()
    item = importing.import_upload(session, importer(), Upload("badge.png", bake_png_jwt(token), "image/png"))
    assert item.state == DUPLICATE
    assert _count(session) == 1


def test_import_same_credential_for_two_learners_gives_each_their_own(session, importer, issuer, make_user):
    token = issuer.jwt()
    other = make_user(email="other@example.org")
    a = importing.import_paste(session, importer(), token)
    b = importing.import_paste(session, importer(other), token)
    session.commit()
    assert a.state == b.state == IMPORTED and a.credential.id != b.credential.id


def test_import_upload_baked_png_keeps_image_and_original(session, importer, issuer, app):
    png = bake_png_jwt(issuer.jwt(), png_image("red", (300, 300)))
    item = importing.import_upload(session, importer(), Upload("badge.png", png, "image/png"))
    session.commit()
    credential = item.credential
    blobs = blob_store_from_config(app.config, app.instance_path)
    assert credential.container == "png" and credential.original_type == "image/png"
    assert blobs.get(credential.original_sha256) == png
    assert credential.image_type == "image/png" and b"openbadgecredential" not in blobs.get(credential.image_sha256)


@pytest.mark.parametrize("text, message", [
    ("hello there", "neither credential JSON nor a JWT"),
    ("", "Paste the credential"),
    ('{"name": "not a credential"}', "not an Open Badge"),
    ('{"a": 1, "a": 2}', "twice"),
])
def test_import_paste_not_a_credential_is_rejected_and_nothing_is_stored(session, importer, text, message, app):
    with pytest.raises(ImportRejectedError, match=message):
        importing.import_paste(session, importer(), text)
    session.commit()
    assert _count(session) == 0 and _count(session, VerificationRecord) == 0
    blob_dir = blob_store_from_config(app.config, app.instance_path).root
    assert not blob_dir.exists() or not any(p.is_file() for p in blob_dir.rglob("*"))


def test_import_paste_credential_for_someone_else_is_kept_and_flagged(session, importer, issuer):
    item = importing.import_paste(session, importer(), issuer.jwt(email="stranger@example.org"))
    session.commit()
    assert item.state == IMPORTED
    assert item.credential.recipient_state == "mismatch"


def test_import_paste_tampered_jwt_is_stored_as_not_genuine(session, importer, issuer):
    header, payload, signature = issuer.jwt().split(".")
    forged = ".".join([header, payload, signature[:-4] + ("AAAA" if not signature.endswith("AAAA") else "BBBB")])
    item = importing.import_paste(session, importer(), forged)
    session.commit()
    assert item.credential.status == "invalid"


def test_import_paste_expired_credential_is_stored_expired(session, importer, issuer):
    from datetime import datetime, timedelta, timezone

    now = datetime.now(timezone.utc).replace(microsecond=0)
    token = issuer.jwt(valid_from=now - timedelta(days=400), valid_until=now - timedelta(days=5))
    item = importing.import_paste(session, importer(), token)
    assert item.credential.status == "expired" and item.credential.expires_at < now


def test_import_paste_object_that_is_no_credential_is_rejected(session, importer):
    with pytest.raises(ImportRejectedError):
        # An unsigned credential object is read, but it is refused only if it is not a credential at all.
        importing.import_paste(session, importer(), {"hello": "world"})


def test_import_upload_oversized_file_is_refused(session, importer, issuer):
    small = importing.Importer(**{**importer().__dict__, "max_file_bytes": 100})
    with pytest.raises(ImportRejectedError, match="larger than"):
        importing.import_upload(session, small, Upload("big.json", b"{" + b" " * 200 + b"}"))


# --- URLs ------------------------------------------------------------------------------------------


@pytest.fixture
def hosted(document_server, app_config) -> HostedIssuer:
    issuer = HostedIssuer(document_server)
    app_config.update(ALLOW_PRIVATE_NETWORK=True, URL_REWRITE=issuer.rewrite)
    return issuer


def test_import_url_hosted_assertion_is_fetched_verified_and_deduplicated(hosted, session, importer, app):
    url = hosted.assertion(name="Robotics")
    item = importing.import_url(session, importer(), url)
    session.commit()
    credential = item.credential
    assert item.state == IMPORTED
    assert (credential.format_id, credential.status, credential.name) == ("ob2", "valid", "Robotics")
    assert credential.source_url == url and credential.image_sha256 is not None
    assert importing.import_url(session, importer(), url).state == DUPLICATE
    # Documents the verifier fetched are kept verbatim too.
    blobs = blob_store_from_config(app.config, app.instance_path)
    assert all(blobs.exists(doc["sha256"]) for doc in credential.verifications[0].report["documents"])


def test_import_url_html_page_with_alternate_link_imports_the_credential(hosted, session, importer):
    url = hosted.assertion(name="Linked Badge")
    page = f'<!doctype html><html><head><link rel="alternate" type="application/ld+json" href="{url}"></head></html>'
    hosted.serve("/my-badge", page.encode(), "text/html")
    item = importing.import_url(session, importer(), "https://issuer.example/my-badge")
    assert item.state == IMPORTED and item.credential.name == "Linked Badge"
    assert item.credential.source_url == url


def test_import_url_html_page_without_credential_link_is_rejected(hosted, session, importer):
    hosted.serve("/page", b"<!doctype html><html><head><title>Hi</title></head></html>", "text/html")
    with pytest.raises(ImportRejectedError, match="does not link to a credential"):
        importing.import_url(session, importer(), "https://issuer.example/page")


def test_import_url_private_address_is_refused_before_connecting(session, importer, document_server):
    document_server.routes["/x.json"] = Response(b"{}")
    with pytest.raises(UnsafeURLError):
        importing.import_url(session, importer(), document_server.url("/x.json"))
    assert document_server.requests == []


def test_import_url_unreachable_hosted_assertion_fails_and_stores_nothing(hosted, session, importer):
    url = hosted.assertion()
    hosted.server.routes.pop("/assertions/1.json")
    hosted.server.routes["/assertions/1.json"] = Response(b"down", 503, "text/plain")
    with pytest.raises(FetchError):
        importing.import_url(session, importer(), url)
    session.commit()
    assert _count(session) == 0


def test_import_url_badge_image_with_script_svg_is_kept_as_svg(hosted, session, importer, app):
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" onload="window.__pwned=1"><script>window.__pwned=1</script></svg>'
    image_url = hosted.serve("/evil.svg", svg, "image/svg+xml")
    item = importing.import_url(session, importer(), hosted.assertion(image=image_url))
    assert item.credential.image_type == "image/svg+xml"


# --- files and ZIPs --------------------------------------------------------------------------------



def test_import_files_zip_reports_each_file(session, importer, issuer):
    token = issuer.jwt(name="From ZIP")
    archive = zip_of({
        "../../etc/badge.jwt": issuer.jwt(name="Zip JWT").encode(),
        "badges/baked.png": bake_png_jwt(token),
        "again.png": bake_png_jwt(token),
        "notes.txt": b"just some notes",
        "inner.zip": zip_of({"x.json": b"{}"}),
    }, symlinks=("link.json",))
    items = list(importing.import_files(session, importer(), [Upload("batch.zip", archive)]))
    session.commit()
    by_name = {item.filename.split(" › ")[1]: item for item in items}
    assert by_name["badge.jwt"].state == IMPORTED  # the path inside the archive is dropped
    assert by_name["baked.png"].state == IMPORTED
    assert by_name["again.png"].state == DUPLICATE
    assert by_name["notes.txt"].state == REJECTED
    assert by_name["inner.zip"].state == REJECTED and "ZIP inside a ZIP" in by_name["inner.zip"].message
    assert by_name["link.json"].state == REJECTED and "Links" in by_name["link.json"].message
    assert _count(session) == 2


def test_import_files_bad_file_does_not_stop_the_others(session, importer, issuer):
    items = list(importing.import_files(session, importer(), [
        Upload("broken.png", b"\x89PNG\r\n\x1a\nnot really"), Upload("good.jwt", issuer.jwt().encode())]))
    assert [i.state for i in items] == [REJECTED, IMPORTED]


def test_expand_zip_too_many_entries_is_refused():
    with pytest.raises(ImportRejectedError, match="more than 3 files"):
        importing.expand_zip(zip_of({f"{i}.json": b"{}" for i in range(4)}), max_entries=3)


def test_expand_zip_entry_over_size_limit_is_not_read():
    entries = importing.expand_zip(zip_of({"big.json": b" " * 5000, "ok.json": b"{}"}), max_file=1000)
    assert entries[0].error and "larger than" in entries[0].error and entries[1].data == b"{}"


def test_expand_zip_highly_compressed_entry_is_not_opened():
    entries = importing.expand_zip(zip_of({"bomb.json": b"0" * (4 * 1024 * 1024)}))
    assert entries[0].error and "suspiciously" in entries[0].error


def test_expand_zip_damaged_archive_is_refused():
    with pytest.raises(ImportRejectedError, match="damaged"):
        importing.expand_zip(b"PK\x03\x04" + b"\x00" * 50)


# --- helpers ---------------------------------------------------------------------------------------


def test_discover_alternate_only_credential_types_are_followed():
    html = (b'<html><head><link rel="alternate" type="text/html" href="/other">'
            b'<link rel="stylesheet" href="/s.css"><link rel="Alternate" type="application/json" href="/c.json">')
    assert importing.discover_alternate(html, "https://issuer.example/page") == "https://issuer.example/c.json"


def test_discover_alternate_javascript_href_is_ignored():
    html = b'<link rel="alternate" type="application/json" href="javascript:alert(1)">'
    assert importing.discover_alternate(html, "https://issuer.example/") is None


@pytest.mark.parametrize("name, expected", [
    ("../../app.py", "app.py"), ("C:\\x\\badge.png", "badge.png"), ("a\u202egnp.exe", "agnp.exe"),
    ("x" * 500, "x" * 119 + "…"), ("", "file"), ("..", "file"),
])
def test_safe_filename_paths_and_controls_are_removed(name, expected):
    assert safe_filename(name) == expected


def test_dedupe_key_same_jwt_same_key_different_bytes_elsewhere(issuer):
    from wallet.services.verification import verify_bytes

    token = issuer.jwt()
    a = verify_bytes(token.encode())
    b = verify_bytes(bake_png_jwt(token))
    assert importing.dedupe_key(a, token.encode()) == importing.dedupe_key(b, b"other bytes")
    assert importing.dedupe_key(a, b"") != importing.dedupe_key(verify_bytes(issuer.jwt().encode()), b"")
    assert json.dumps(a.to_dict())  # the report is storable as JSON


@pytest.mark.parametrize("size, words", [(10 * 1024 * 1024, "10 MB"), (200 * 1024, "200 KB"), (100, "1 KB"),
                                         (int(2.5 * 1024 * 1024), "2.5 MB")])
def test_describe_size_says_limits_in_plain_words(size, words):
    assert describe_size(size) == words


def test_import_files_oversized_zip_is_reported_too_large(session, importer, issuer):
    small = importing.Importer(**{**importer().__dict__, "max_file_bytes": 300})
    archive = zip_of({"a.jwt": issuer.jwt().encode()})
    items = list(importing.import_files(session, small, [Upload("big.zip", archive[:301])]))
    assert [(i.state, i.error) for i in items] == [(REJECTED, "TooLarge")]


# --- OB 2.0: 410 Gone at the import URL ------------------------------------------------------------


def _gone(hosted: HostedIssuer, path: str, body: bytes, content_type: str = "application/json") -> None:
    hosted.server.routes[path] = Response(body, 410, content_type, {"Cache-Control": "no-store"})


def test_import_url_hosted_assertion_answering_410_is_stored_revoked(hosted, session, importer):
    url = hosted.assertion(name="Withdrawn Badge")
    # The issuer answers 410 Gone and still sends the assertion it revoked.
    _gone(hosted, "/assertions/1.json", hosted.server.routes["/assertions/1.json"].body)
    item = importing.import_url(session, importer(), url)
    session.commit()
    credential = item.credential
    assert item.state == IMPORTED
    assert (credential.format_id, credential.status, credential.name) == ("ob2", "revoked", "Withdrawn Badge")
    report = credential.verifications[0].report
    hosted_check = next(c for c in report["checks"] if c["id"] == "hosted")
    assert hosted_check["outcome"] == "revoked" and "410 Gone" in hosted_check["message"]


def test_import_url_answering_410_without_a_copy_is_refused_as_revoked(hosted, session, importer):
    url = hosted.assertion()
    _gone(hosted, "/assertions/1.json", b"gone", "text/plain")
    with pytest.raises(ImportRejectedError, match="revoked"):
        importing.import_url(session, importer(), url)
    session.commit()
    assert _count(session) == 0


# --- duplicate keys (docs/importing.md) --------------------------------------------------------------


def _with_duplicate_issuer(text: str) -> str:
    """Add a second "issuer" member before the first: Python's json would keep the last one."""
    assert '"issuer":' in text
    return text.replace('"issuer":', '"issuer": "https://impostor.example/", "issuer":', 1)


def _signed_bytes(issuer: JwtIssuer, payload: bytes, header: str | None = None) -> str:
    from wallet.services.verification.jose import sign_compact

    token = sign_compact(payload, issuer.key, "EdDSA", header={"typ": "JWT", "kid": issuer.did + "#0"})
    if header is None:
        return token
    _, body, signature = token.split(".")
    return ".".join([base64.urlsafe_b64encode(header.encode()).rstrip(b"=").decode(), body, signature])


def _duplicate_key_inputs(issuer: JwtIssuer) -> dict[str, tuple[str, Any]]:
    """Every way a credential arrives, each carrying a credential with the key "issuer" twice."""
    from wallet.services.verification.extract import OB3_KEYWORD, bake_png

    credential = json.dumps(issuer.credential())
    duplicated = _with_duplicate_issuer(credential)
    claims = json.loads(base64.urlsafe_b64decode(issuer.jwt().split(".")[1] + "=="))
    payload = _with_duplicate_issuer(json.dumps(claims["vc"]))
    jwt_payload = json.dumps({**claims, "vc": "VC"}).replace('"VC"', payload).encode()
    # Baked by hand: bake_svg itself refuses to bake JSON that is not strict.
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0" '
           f'width="8" height="8"><openbadges:credential><![CDATA[{duplicated}]]></openbadges:credential></svg>')
    return {
        "paste": ("paste", duplicated),
        "file": ("upload", Upload("badge.json", duplicated.encode())),
        "png": ("upload", Upload("badge.png", bake_png(png_image(), duplicated, OB3_KEYWORD))),
        "svg": ("upload", Upload("badge.svg", svg.encode())),
        "jwt payload": ("paste", _signed_bytes(issuer, jwt_payload)),
        "jwt header": ("paste", _signed_bytes(issuer, json.dumps(claims).encode(),
                                              header='{"alg":"EdDSA","kid":"a","kid":"b"}')),
    }


@pytest.mark.parametrize("way", ["paste", "file", "png", "svg", "jwt payload", "jwt header"])
def test_import_credential_with_duplicate_keys_is_refused_and_nothing_is_stored(session, importer, issuer, app, way):
    how, value = _duplicate_key_inputs(issuer)[way]
    with pytest.raises(ImportRejectedError, match="twice"):
        if how == "paste":
            importing.import_paste(session, importer(), value)
        else:
            importing.import_upload(session, importer(), value)
    session.commit()
    assert _count(session) == 0 and _count(session, VerificationRecord) == 0
    blob_dir = blob_store_from_config(app.config, app.instance_path).root
    assert not blob_dir.exists() or not any(p.is_file() for p in blob_dir.rglob("*"))


def test_import_url_credential_with_duplicate_keys_is_refused(hosted, session, importer, issuer):
    url = hosted.serve("/credential.json", _with_duplicate_issuer(json.dumps(issuer.credential())).encode())
    with pytest.raises(ImportRejectedError, match="twice"):
        importing.import_url(session, importer(), url)
    session.commit()
    assert _count(session) == 0


# --- versions: a genuine copy replaces a broken one, never the other way round ---------------------

GENUINE_HELD = "This file does not verify; your wallet already holds a genuine copy."


def _versions(credential) -> list[tuple[str, bool]]:
    """(status, is current) of each version, newest first."""
    return [(v.status, v.replaced_at is None) for v in credential.history]


def _blob_files(app) -> set[str]:
    root = blob_store_from_config(app.config, app.instance_path).root
    return {p.name for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def test_import_genuine_jwt_after_tampered_copy_replaces_it_and_keeps_it_in_history(session, importer, issuer, app):
    from wallet.services import credentials as credential_service

    token = issuer.jwt(name="Robotics")
    forged = tampered_jwt(token, name="Robotics (Distinction)")
    first = importing.import_paste(session, importer(), forged)
    session.commit()
    assert (first.state, first.credential.status) == (IMPORTED, "invalid")
    credential_service.update_learner_text(session, first.credential.owner_id, first.credential.id,
                                           description="Built a line follower.", tags=["robots"])
    session.commit()

    item = importing.import_paste(session, importer(), token)
    session.commit()
    credential = item.credential
    assert item.state == REPLACED and item.result.status == "valid"
    assert "replaces" in item.message
    assert credential.id == first.credential.id and _count(session) == 1
    assert (credential.status, credential.name) == ("valid", "Robotics")
    assert blob_store_from_config(app.config, app.instance_path).get(credential.original_sha256) == token.encode()
    assert _versions(credential) == [("valid", True), ("invalid", False)]
    assert credential.history[1].original_sha256 == hashlib.sha256(forged.encode()).hexdigest()
    # The learner's own words stay with the credential.
    assert credential.learner_description == "Built a line follower." and credential.learner_tags == ["robots"]
    session.expire_all()
    assert [r.status for r in credential.verifications] == ["valid", "invalid"]


def test_import_tampered_jwt_after_genuine_is_refused_and_nothing_is_stored(session, importer, issuer, app):
    token = issuer.jwt()
    genuine = importing.import_paste(session, importer(), token)
    session.commit()
    blobs_before = _blob_files(app)

    item = importing.import_paste(session, importer(), tampered_jwt(token, name="Forged"))
    session.commit()
    assert item.state == KEPT and item.message == GENUINE_HELD
    assert item.result.status == "invalid"  # reported with its own verification result
    assert item.credential.id == genuine.credential.id and item.credential.status == "valid"
    assert _versions(item.credential) == [("valid", True)]
    assert _count(session) == 1 and _count(session, VerificationRecord) == 1
    assert _blob_files(app) == blobs_before


def test_import_data_integrity_tampered_then_genuine_is_replaced(session, importer):
    ld = LdIssuer()
    signed = ld.signed(name="Linked Badge")
    forged = {**signed, "name": "Forged Badge"}
    first = importing.import_paste(session, importer(), json.dumps(forged))
    session.commit()
    assert first.credential.status == "invalid"
    item = importing.import_upload(session, importer(), Upload("badge.json", json.dumps(signed, indent=2).encode()))
    session.commit()
    assert item.state == REPLACED and item.credential.id == first.credential.id
    assert item.credential.status == "valid" and _versions(item.credential) == [("valid", True), ("invalid", False)]
    # The same signed document again, with other white space: the same version.
    again = importing.import_paste(session, importer(), json.dumps(signed))
    assert again.state == DUPLICATE and again.message == "Already in your wallet."
    # And the forged copy again: refused, not "already in your wallet".
    refused = importing.import_paste(session, importer(), json.dumps(forged))
    assert (refused.state, refused.message) == (KEPT, GENUINE_HELD)


def test_import_hosted_assertion_after_tampered_file_replaces_it(hosted, session, importer):
    url = hosted.assertion(name="Hosted Original")
    document = json.loads(hosted.server.routes["/assertions/1.json"].body)
    forged = {**document, "issuedOn": "2020-01-01T00:00:00Z"}
    first = importing.import_upload(session, importer(), Upload("assertion.json", json.dumps(forged).encode()))
    session.commit()
    assert first.credential.status == "invalid"
    item = importing.import_url(session, importer(), url)
    session.commit()
    assert item.state == REPLACED and item.credential.id == first.credential.id
    assert item.credential.status == "valid" and item.credential.source_url == url
    assert _versions(item.credential) == [("valid", True), ("invalid", False)]


def test_credential_key_same_credential_in_every_format_version_key_by_content(issuer):
    from wallet.services.verification import verify_bytes

    ld = LdIssuer()
    token, signed = issuer.jwt(), ld.signed()
    pairs = [(token.encode(), tampered_jwt(token, name="Forged").encode()),
             (json.dumps(signed).encode(), json.dumps({**signed, "name": "Forged"}).encode())]
    for genuine, forged in pairs:
        a, b = verify_bytes(genuine), verify_bytes(forged)
        assert (a.status, b.status) == ("valid", "invalid")
        assert importing.dedupe_key(a, genuine) == importing.dedupe_key(b, forged)
        assert importing.version_key(a, genuine) != importing.version_key(b, forged)
    # Another container, the same signed content: the same version.
    assert importing.version_key(verify_bytes(bake_png_jwt(token)), b"") == importing.version_key(
        verify_bytes(token.encode()), token.encode())


def test_migration_0005_makes_each_held_credential_its_current_version_and_reimport_finds_it(
        app, session, importer, issuer):
    from alembic import command

    from wallet.db import get_engine
    from wallet.schema import alembic_config

    token = issuer.jwt()
    held = importing.import_paste(session, importer(), token).credential
    # As stored before versions: the key of the earlier rule (the JWT's compact text), no history.
    held.dedupe_key = hashlib.sha256(("jws\n" + token).encode()).hexdigest()
    session.commit()
    credential_id = held.id
    session.close()
    config = alembic_config(get_engine(app))
    command.downgrade(config, "0004")
    command.upgrade(config, "head")

    credential = session.get(Credential, credential_id)
    assert [(v.status, v.replaced_at, v.content_sha256) for v in credential.history] == [("valid", None, None)]
    assert credential.current_version.original_sha256 == credential.original_sha256
    again = importing.import_paste(session, importer(), token)
    session.commit()
    assert again.state == DUPLICATE and again.credential.id == credential_id
    assert credential.dedupe_key == importing.dedupe_key(again.result, token.encode())
    assert credential.current_version.content_sha256 == again.result.content_sha256
    # A tampered copy of it is now refused as for any genuine credential.
    assert importing.import_paste(session, importer(), tampered_jwt(token, name="X")).state == KEPT


def test_import_versions_of_one_id_a_valid_copy_replaces_an_expired_one_never_the_reverse(session, importer, issuer):
    from datetime import datetime, timedelta, timezone

    now = datetime.now(timezone.utc).replace(microsecond=0)
    same = "urn:uuid:5d8a3c1e-0000-4000-8000-000000000001"
    expired = issuer.jwt(credential_id=same, valid_from=now - timedelta(days=400), valid_until=now - timedelta(days=5))
    renewed = issuer.jwt(credential_id=same, valid_from=now - timedelta(days=4))
    resigned = issuer.jwt(credential_id=same, valid_from=now - timedelta(days=3), name="Renamed by the issuer")
    first = importing.import_paste(session, importer(), expired)
    assert first.credential.status == "expired"
    replaced = importing.import_paste(session, importer(), renewed)
    assert (replaced.state, replaced.credential.status) == (REPLACED, "valid")
    assert replaced.message == versions.REPLACED_UPDATE
    old = importing.import_paste(session, importer(), expired)
    assert (old.state, old.message) == (KEPT, versions.NOT_IN_FORCE)
    # The issuer's newer genuine copy replaces a genuine one; importing the earlier one again changes nothing.
    newer = importing.import_paste(session, importer(), resigned)
    assert (newer.state, newer.credential.name) == (REPLACED, "Renamed by the issuer")
    again = importing.import_paste(session, importer(), renewed)
    assert (again.state, again.message) == (DUPLICATE, versions.IN_HISTORY)
    session.commit()
    assert _count(session) == 1
    assert _versions(again.credential) == [("valid", True), ("valid", False), ("expired", False)]
