"""Carrying a whole wallet out and back: export ZIP, import report, round trip between instances."""
from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.support.accounts import bearer, create_api_token, create_user
from tests.support.credentials import HostedIssuer
from tests.support.instances import _other_template, other_app, other_database_url  # noqa: F401
from tests.support.wallets import fill_wallet
from wallet.db import get_session
from wallet.models import Credential, CredentialShare, Evidence, Pathway, Portfolio
from wallet.services import portability
from wallet.services.blobs import blob_store_from_config


@pytest.fixture(autouse=True)
def hosted(document_server, app_config) -> HostedIssuer:
    """An OB 2.0 issuer on 127.0.0.1, reachable by this test's apps (set up before any app is built)."""
    issuer = HostedIssuer(document_server)
    app_config.update(ALLOW_PRIVATE_NETWORK=True, URL_REWRITE=issuer.rewrite)
    return issuer


@pytest.fixture
def wallet(hosted, app, session, make_user):
    return fill_wallet(app, session, make_user(email="learner@example.org"), hosted=hosted)


def read_zip(data: bytes) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Return the manifest and the blobs (by sha256) of an export."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        blobs = {name.removeprefix("blobs/"): archive.read(name) for name in archive.namelist()
                 if name.startswith("blobs/")}
    return manifest, blobs


def export_via_api(client, token: str) -> bytes:
    with client.get("/api/v1/export", headers=bearer(token)) as response:
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.mimetype == "application/zip"
        assert "attachment" in response.headers["Content-Disposition"]
        return response.get_data()


def import_via_api(client, token: str, data: bytes, filename: str = "export.zip"):
    return client.post("/api/v1/import", headers=bearer(token),
                       data={"file": (io.BytesIO(data), filename)}, content_type="multipart/form-data")


def learner_view(manifest: dict[str, Any], blobs: dict[str, bytes]) -> dict[str, Any]:
    """What must survive a round trip, keyed by the original's sha256 (ids differ between wallets)."""
    view = {}
    for entry in manifest["credentials"]:
        evidence = [(e["kind"], e["title"], e["text"], e["url"],
                     blobs[e["file"]["sha256"]] if e["file"] else None) for e in entry["evidence"]]
        view[entry["original"]["sha256"]] = {
            "original": blobs[entry["original"]["sha256"]], "learner": entry["learner"], "evidence": evidence,
            "earlier_copies": [(blobs[c["original"]["sha256"]], c["status"]) for c in entry["earlier_copies"]],
            "share": entry["share"] and (entry["share"]["include_evidence"], entry["share"]["show_originals"])}
    return view


# --- Export ------------------------------------------------------------------------------------


def test_export_api_zip_holds_every_original_document_file_and_word(client, app, session, wallet, api_token):
    data = export_via_api(client, api_token(wallet.user))
    manifest, blobs = read_zip(data)
    assert (manifest["format"], manifest["version"]) == ("wallet-export", 1)
    # Every file is named by the sha256 of its bytes, and listed once.
    assert all(hashlib.sha256(body).hexdigest() == digest for digest, body in blobs.items())
    assert sorted(b["sha256"] for b in manifest["blobs"]) == sorted(blobs)
    assert manifest["missing_blobs"] == []
    held = session.scalars(select(Credential).where(Credential.owner_id == wallet.user.id)).all()
    for credential in held:
        entry = next(e for e in manifest["credentials"] if e["id"] == credential.id)
        assert entry["original"]["sha256"] == credential.original_sha256 in blobs
        assert entry["verification_history"]["sha256"] in blobs
    hosted_entry = next(e for e in manifest["credentials"] if e["format"] == "ob2")
    assert hosted_entry["source_url"].endswith("/assertions/1.json")
    # The documents the verifier fetched (assertion, badge class, issuer profile...) are kept.
    assert len(hosted_entry["documents"]) >= 3 and all(d["sha256"] in blobs for d in hosted_entry["documents"])
    first = next(e for e in manifest["credentials"] if e["id"] == wallet.credential_ids[0])
    assert first["learner"] == {"description": "I *loved* this course.", "reflection": "Joins were hard at first.",
                                "tags": ["favourite", "2026"]}
    assert [e["kind"] for e in first["evidence"]] == ["text", "link", "file"]
    assert blobs[first["evidence"][2]["file"]["sha256"]].startswith(b"%PDF-")
    (pathway,) = manifest["pathways"]
    assert pathway["template"]["format"] == "wallet-pathway" and pathway["template"]["title"] == "Analyst track"
    (portfolio,) = manifest["portfolios"]
    assert portfolio["visibility"] == "unlisted" and portfolio["photo"]["sha256"] in blobs
    assert {"pathway": wallet.pathway_id} in portfolio["items"]
    shared = next(e for e in manifest["credentials"] if e["id"] == wallet.credential_ids[1])
    assert shared["share"] == {"include_evidence": True, "show_originals": True, "expires_at": None, "active": True}
    assert manifest["account"]["emails"][0]["address"] == "learner@example.org"


def test_export_api_another_learners_things_are_not_in_it(client, session, wallet, make_user, api_token):
    other = make_user()
    manifest, blobs = read_zip(export_via_api(client, api_token(other)))
    assert manifest["credentials"] == manifest["pathways"] == manifest["portfolios"] == []
    assert blobs == {}


def test_export_api_without_token_is_401(client):
    assert client.get("/api/v1/export").status_code == 401


def test_export_page_builds_in_background_reports_progress_and_downloads(client, login, wallet):
    import time

    login(wallet.user)
    response = client.post("/settings/export")
    assert response.status_code == 303
    page_url = response.headers["Location"]
    job_id = page_url.rsplit("/", 1)[-1]
    for _ in range(200):
        status = client.get(f"/settings/export/{job_id}/status").get_json()
        if status["state"] != "running":
            break
        time.sleep(0.05)
    assert status["state"] == "ready", status
    assert status["done"] == status["total"] == 4 + 1 + 1
    page = client.get(page_url).get_data(as_text=True)
    assert "Your export is ready" in page and status["download_url"] in page
    with client.get(status["download_url"]) as download:
        assert download.status_code == 200 and download.mimetype == "application/zip"
        manifest, _ = read_zip(download.get_data())
    assert len(manifest["credentials"]) == 4


def test_export_page_of_another_learner_is_not_found(client, login, wallet, make_user, app):
    job_id = portability.start_export(app.extensions["wallet.sessionmaker"], wallet.user.id,
                                      blob_store_from_config(app.config, app.instance_path),
                                      Path(app.instance_path) / "exports", background=False)
    assert portability.job_state(Path(app.instance_path) / "exports", job_id, wallet.user.id)["state"] == "ready"
    login(make_user())
    assert client.get(f"/settings/export/{job_id}").status_code == 404
    assert client.get(f"/settings/export/{job_id}/download").status_code == 404
    assert client.get("/settings/export/not-a-job/status").status_code == 404


def test_export_page_without_script_refreshes_while_running(client, login, make_user, app):
    user = make_user()
    login(user)
    folder = Path(app.instance_path) / "exports"
    folder.mkdir(parents=True)
    (folder / ("r" * 32 + ".json")).write_text(json.dumps({"owner_id": user.id, "state": "running", "done": 3,
                                                           "total": 10}))
    page = client.get("/settings/export/" + "r" * 32).get_data(as_text=True)
    assert '<meta http-equiv="refresh" content="2">' in page
    assert 'value="3"' in page and "of 10 items" in page


# --- Round trip --------------------------------------------------------------------------------


def test_round_trip_into_fresh_instance_keeps_originals_evidence_and_words(client, app, wallet, api_token,
                                                                          other_app, hosted, session):
    # The learner kept the originals off their share link and portfolio (they name their address).
    session.scalars(select(CredentialShare)).one().show_originals = False
    session.get(Portfolio, wallet.portfolio_id).show_originals = False
    session.commit()
    first_export = export_via_api(client, api_token(wallet.user))
    earlier = [c for entry in read_zip(first_export)[0]["credentials"] for c in entry["earlier_copies"]]
    assert [c["status"] for c in earlier] == ["invalid"]
    other = other_app(ALLOW_PRIVATE_NETWORK=True, URL_REWRITE=hosted.rewrite)
    with other.app_context():
        other_session = get_session()
        newcomer = create_user(other_session, email="learner@example.org")
        other_session.commit()
        token = create_api_token(other_session, newcomer)
        other_session.commit()
    other_client = other.test_client()
    response = import_via_api(other_client, token, first_export)
    assert response.status_code == 200, response.get_data(as_text=True)
    report = response.get_json()
    assert report["refused"] == []
    assert report["restored"] == {"credentials": 4, "evidence": 5, "pathways": 1, "portfolios": 1, "share_links": 1}
    second_export = export_via_api(other_client, token)

    before, before_blobs = read_zip(first_export)
    after, after_blobs = read_zip(second_export)
    assert learner_view(after, after_blobs) == learner_view(before, before_blobs)
    # Pathway steps point at the same credentials, under their new numbers.
    ids_before = {e["id"]: e["original"]["sha256"] for e in before["credentials"]}
    ids_after = {e["id"]: e["original"]["sha256"] for e in after["credentials"]}
    step_before = before["pathways"][0]["template"]["steps"][0]["rule"]["credential_id"]
    step_after = after["pathways"][0]["template"]["steps"][0]["rule"]["credential_id"]
    assert ids_after[step_after] == ids_before[step_before]
    # Portfolios come back private with a new link; share links withdrawn with a new one.
    with other.app_context():
        other_session = get_session()
        (portfolio,) = other_session.scalars(select(Portfolio)).all()
        assert portfolio.visibility == "private" and portfolio.published_at is None
        (share,) = other_session.scalars(select(CredentialShare)).all()
        assert share.revoked_at is not None and share.include_evidence and not share.show_originals
        assert not portfolio.show_originals
        assert portfolio.contact_url == "https://example.org/me" and portfolio.photo_sha256
    with app.app_context():
        old = get_session().get(Portfolio, wallet.portfolio_id)
        old_share = get_session().scalars(select(CredentialShare)).one()
        assert portfolio.slug != old.slug and share.slug != old_share.slug
    def items(manifest: dict[str, Any], ids: dict[int, str]) -> list[Any]:
        return [(ids[i["credential"]], i["include_evidence"]) if "credential" in i else "pathway"
                for i in manifest["portfolios"][0]["items"]]

    assert items(after, ids_after) == items(before, ids_before)

    # Importing the same export again adds nothing.
    again = import_via_api(other_client, token, first_export).get_json()
    assert sum(again["restored"].values()) == 0 and again["refused"] == []
    assert again["unchanged"]["credentials"] == 4 and again["unchanged"]["evidence"] == 5
    with other.app_context():
        other_session = get_session()
        counts = [other_session.scalar(select(func.count()).select_from(m))
                  for m in (Credential, Evidence, Pathway, Portfolio, CredentialShare)]
        assert counts == [4, 5, 1, 1, 1]


# --- Import: the ZIP is untrusted input (docs/security.md C12) ---------------------------------------


def make_export(app, session, user) -> bytes:
    out = io.BytesIO()
    portability.write_export(session, user.id, blob_store_from_config(app.config, app.instance_path), out)
    session.rollback()
    return out.getvalue()


def rebuild(data: bytes, *, manifest=None, replace: dict[str, bytes] | None = None,
            extra: list[tuple[zipfile.ZipInfo | str, bytes]] = ()) -> bytes:
    """Return the export with its manifest changed (a function of it), entries replaced or added."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name in source.namelist():
            body = source.read(name)
            if name == "manifest.json" and manifest is not None:
                body = json.dumps(manifest(json.loads(body))).encode()
            target.writestr(name, (replace or {}).get(name, body))
        for info, body in extra:
            target.writestr(info, body)
    return out.getvalue()


@pytest.fixture
def exported(app, session, wallet) -> bytes:
    return make_export(app, session, wallet.user)


@pytest.fixture
def newcomer(make_user, api_token):
    user = make_user(email="newcomer@example.org")
    return user, api_token(user)


def test_import_api_not_a_zip_is_refused(client, newcomer):
    response = import_via_api(client, newcomer[1], b"just some text")
    assert response.status_code == 422
    assert "not a readable ZIP" in response.get_json()["message"]


def test_import_api_zip_without_manifest_is_refused(client, newcomer):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("badge.json", b"{}")
    response = import_via_api(client, newcomer[1], out.getvalue())
    assert response.status_code == 422 and "no manifest.json" in response.get_json()["message"]


def test_import_api_symlink_entry_refuses_whole_archive(client, session, exported, newcomer):
    link = zipfile.ZipInfo("blobs/" + "a" * 64)
    link.external_attr = (0o120777 << 16)
    response = import_via_api(client, newcomer[1], rebuild(exported, extra=[(link, b"/etc/passwd")]))
    assert response.status_code == 422 and "symlink" in response.get_json()["message"]
    assert session.scalar(select(func.count()).select_from(Credential).where(
        Credential.owner_id == newcomer[0].id)) == 0


def test_import_api_zip_bomb_entry_refuses_whole_archive(client, session, exported, newcomer):
    bomb = b"\0" * (20 * 1024 * 1024)
    response = import_via_api(client, newcomer[1], rebuild(exported, extra=[("blobs/" + hashlib.sha256(bomb).hexdigest(), bomb)]))
    assert response.status_code == 422 and "ZIP bomb" in response.get_json()["message"]
    assert session.scalar(select(func.count()).select_from(Credential).where(
        Credential.owner_id == newcomer[0].id)) == 0


def test_import_api_paths_inside_are_ignored_never_written(client, exported, newcomer, tmp_path):
    evil = rebuild(exported, extra=[("../../escaped.txt", b"x"), ("/tmp/absolute.txt", b"x"), ("blobs/../../x", b"y")])
    report = import_via_api(client, newcomer[1], evil).get_json()
    assert report["ignored_entries"] == 3
    assert report["restored"]["credentials"] == 4
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path.parent / "escaped.txt").exists()


def test_import_api_blob_not_matching_its_sha256_name_is_refused(client, exported, newcomer):
    manifest, _ = read_zip(exported)
    target = manifest["credentials"][0]["original"]["sha256"]
    report = import_via_api(client, newcomer[1], rebuild(exported, replace={"blobs/" + target: b"altered"})).get_json()
    (refusal,) = [r for r in report["refused"] if r["item"] == "$.credentials[0]"]
    assert "does not match its sha256 name" in refusal["message"]
    assert report["restored"]["credentials"] == 3


def test_import_api_invalid_manifest_names_each_problem_by_json_path(client, exported, newcomer):
    def spoil(manifest):
        manifest["credentials"][0]["original"]["sha256"] = "not-a-digest"
        manifest["portfolios"][0]["items"].append({"credential": 999999})
        del manifest["pathways"][0]["template"]
        return manifest

    response = import_via_api(client, newcomer[1], rebuild(exported, manifest=spoil))
    assert response.status_code == 422
    message = response.get_json()["message"]
    assert "$.credentials[0].original.sha256" in message
    assert "$.pathways[0]: 'template' is a required property" in message


def test_import_api_manifest_cross_references_are_checked(client, exported, newcomer):
    def spoil(manifest):
        manifest["portfolios"][0]["items"].append({"credential": 999999})
        return manifest

    response = import_via_api(client, newcomer[1], rebuild(exported, manifest=spoil))
    assert response.status_code == 422
    assert "$.portfolios[0].items[3].credential: no credential has this id" in response.get_json()["message"]


def test_import_api_newer_format_version_says_to_update(client, exported, newcomer):
    response = import_via_api(client, newcomer[1], rebuild(exported, manifest=lambda m: {**m, "version": 2}))
    assert response.status_code == 422 and "Update Wallet" in response.get_json()["message"]


def test_import_api_duplicate_json_keys_in_manifest_are_refused(client, exported, newcomer):
    manifest, _ = read_zip(exported)
    text = json.dumps(manifest)[:-1] + ', "version": 1}'
    response = import_via_api(client, newcomer[1], rebuild(exported, replace={"manifest.json": text.encode()}))
    assert response.status_code == 422 and "$:" in response.get_json()["message"]


def test_import_api_more_credentials_than_quota_refuses_before_writing(client, app, exported, newcomer, session):
    app.config["MAX_CREDENTIALS_PER_USER"] = 3
    response = import_via_api(client, newcomer[1], exported)
    assert response.status_code == 422 and "at most 3" in response.get_json()["message"]
    assert session.scalar(select(func.count()).select_from(Credential).where(
        Credential.owner_id == newcomer[0].id)) == 0


def test_import_api_evidence_over_quota_is_refused_item_by_item(client, app, exported, newcomer):
    app.config["MAX_EVIDENCE_BYTES_PER_USER"] = 200
    report = import_via_api(client, newcomer[1], exported).get_json()
    refused = [r for r in report["refused"] if ".evidence[" in r["item"]]
    assert refused and all(r["error"] == "QuotaExceeded" for r in refused)
    assert report["restored"]["credentials"] == 4


def test_import_api_unpacked_size_over_limit_is_413(client, app, exported, newcomer):
    app.config["MAX_IMPORT_UNPACKED_BYTES"] = 1000
    assert import_via_api(client, newcomer[1], exported).status_code == 413


def test_import_api_body_over_import_limit_is_413(client, app, exported, newcomer):
    app.config["MAX_IMPORT_BYTES"] = 1000
    assert import_via_api(client, newcomer[1], exported).status_code == 413


def test_import_api_into_account_with_credentials_merges(client, app, session, exported, newcomer):
    from tests.support.credentials import JwtIssuer
    from tests.support.wallets import importer_for
    from wallet.services import importing

    user, token = newcomer
    importing.import_paste(session, importer_for(app, user), JwtIssuer().jwt(name="Already mine"))
    session.commit()
    report = import_via_api(client, token, exported).get_json()
    assert report["restored"]["credentials"] == 4
    names = set(session.scalars(select(Credential.name).where(Credential.owner_id == user.id)))
    assert "Already mine" in names and len(names) == 5


def test_import_api_counts_once_against_the_import_rate(client, app, exported, newcomer):
    app.config["IMPORT_RATE_LIMIT"] = 1
    assert import_via_api(client, newcomer[1], exported).status_code == 200
    response = import_via_api(client, newcomer[1], exported)
    assert response.status_code == 429


def wait_for(client, url: str) -> dict[str, Any]:
    import time

    for _ in range(600):
        status = client.get(url).get_json()
        if status["state"] != "running":
            return status
        time.sleep(0.05)
    raise AssertionError(f"still running: {status}")


def test_import_page_imports_in_background_then_shows_report(client, login, exported, newcomer):
    login(newcomer[0])
    assert "Wallet export (.zip)" in client.get("/settings/import").get_data(as_text=True)
    response = client.post("/settings/import", data={"file": (io.BytesIO(exported), "wallet.zip")},
                           content_type="multipart/form-data")
    assert response.status_code == 303
    page_url = response.headers["Location"]
    status = wait_for(client, page_url + "/status")
    assert status["state"] == "ready" and status["done"] == status["total"] == 6
    assert status["report"]["restored"]["credentials"] == 4
    page = client.get(page_url).get_data(as_text=True)
    assert "Import finished" in page and "<td>4</td>" in page
    # The uploaded file is not kept once imported.
    assert not list(Path(client.application.instance_path, "imports").glob("*.zip"))


def test_import_page_refused_file_is_shown_beside_the_form(client, login, newcomer, session):
    login(newcomer[0])
    response = client.post("/settings/import", data={"file": (io.BytesIO(b"not a zip"), "wallet.zip")},
                           content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "not a readable ZIP" in page and 'name="file"' in page
    assert not list(Path(client.application.instance_path, "imports").glob("*"))


def test_import_page_of_another_learner_is_not_found(client, session, login, exported, newcomer, make_user):
    login(newcomer[0])
    page_url = client.post("/settings/import", data={"file": (io.BytesIO(exported), "wallet.zip")},
                           content_type="multipart/form-data").headers["Location"]
    wait_for(client, page_url + "/status")
    # The test's requests share one database session; end its read snapshot, taken before the
    # background import wrote, so that it may write (SQLite cannot upgrade a stale read to a write).
    session.rollback()
    login(make_user())
    assert client.get(page_url).status_code == 404 and client.get(page_url + "/status").status_code == 404


def test_import_page_needs_csrf_token(app_config, make_app, exported, newcomer):
    from tests.support.accounts import log_in

    guarded = make_app(WTF_CSRF_ENABLED=True)
    browser = guarded.test_client()
    log_in(browser, newcomer[0])
    response = browser.post("/settings/import", data={"file": (io.BytesIO(exported), "wallet.zip")},
                            content_type="multipart/form-data")
    assert response.status_code == 400


def test_settings_page_offers_export_and_import(client, login, make_user):
    login(make_user())
    page = client.get("/settings/").get_data(as_text=True)
    assert "Export my wallet" in page and "/settings/import" in page


def test_export_job_silent_too_long_is_reported_failed(client, login, make_user, app):
    import os
    import time

    user = make_user()
    login(user)
    folder = Path(app.instance_path) / "exports"
    folder.mkdir(parents=True)
    state = folder / ("s" * 32 + ".json")
    state.write_text(json.dumps({"owner_id": user.id, "state": "running", "done": 3, "total": 10}))
    old = time.time() - 11 * 60
    os.utime(state, (old, old))
    status = client.get("/settings/export/" + "s" * 32 + "/status").get_json()
    assert status["state"] == "failed" and "start it again" in status["error"]
    assert "Try again" in client.get("/settings/export/" + "s" * 32).get_data(as_text=True)


def test_export_with_a_missing_stored_file_lists_it_and_import_refuses_only_that_credential(
        client, app, session, wallet, newcomer):
    credential = session.get(Credential, wallet.credential_ids[2])
    blob_store_from_config(app.config, app.instance_path).path(credential.original_sha256).unlink()
    data = make_export(app, session, wallet.user)
    manifest, blobs = read_zip(data)
    assert manifest["missing_blobs"] == [credential.original_sha256] and credential.original_sha256 not in blobs
    report = import_via_api(client, newcomer[1], data).get_json()
    assert [r["item"] for r in report["refused"]] == ["$.credentials[2]"]
    assert "missing from the export" in report["refused"][0]["message"]
    assert report["restored"]["credentials"] == 3


def test_import_api_too_many_tags_refuses_the_tags_but_keeps_the_words(client, exported, newcomer):
    def many_tags(manifest):
        manifest["credentials"][0]["learner"]["tags"] = [f"tag{n}" for n in range(150)]
        return manifest

    report = import_via_api(client, newcomer[1], rebuild(exported, manifest=many_tags)).get_json()
    assert [r["item"] for r in report["refused"]] == ["$.credentials[0].learner.tags"]
    manifest, _ = read_zip(export_via_api(client, newcomer[1]))
    first = next(e for e in manifest["credentials"] if e["name"] == "Data Analysis")
    assert first["learner"]["description"] == "I *loved* this course." and first["learner"]["tags"] == []
