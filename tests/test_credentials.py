"""The wallet pages: adding, listing and filtering, the credential page, downloads, edits, re-verification."""
from __future__ import annotations

import base64
import io
import json
import re
import zipfile
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from tests.support.jobs import job_items, job_page
from tests.support.credentials import HostedIssuer, JwtIssuer, bake_png_jwt, png_image, tampered_jwt
from tests.support.servers import Response
from wallet.models import Credential, Evidence
from wallet.services.verification import verify_bytes


@pytest.fixture
def learner(make_user, login):
    user = make_user(email="learner@example.org")
    login(user)
    return user


@pytest.fixture
def issuer() -> JwtIssuer:
    return JwtIssuer(name="Riverside College")


def paste(client, text: str):
    return client.post("/credentials/add/paste", data={"credential": text})


def add(client, issuer: JwtIssuer, **kwargs) -> int:
    return add_token(client, issuer.jwt(**kwargs))


def add_token(client, token: str) -> int:
    response = paste(client, token)
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[-1])


def test_index_empty_wallet_teaches_how_to_add(client, learner):
    page = client.get("/credentials/").get_data(as_text=True)
    assert "Your wallet is empty" in page
    assert "/credentials/add?tab=files" in page and "Paste" in page


def test_add_page_has_three_working_forms_without_script(client, learner):
    page = client.get("/credentials/add").get_data(as_text=True)
    for action in ("/credentials/add/url", "/credentials/add/files", "/credentials/add/paste"):
        assert f'action="{action}"' in page


def test_add_paste_shows_credential_with_report(client, learner, issuer):
    response = paste(client, issuer.jwt(name="Data Analysis"))
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Added to your wallet." in page and "Data Analysis" in page
    assert "state-valid" in page and "Verified" in page and "checked" in page
    assert issuer.did[:30] in page  # the verified issuer identifier next to the name
    assert 'class="checks"' in page


def test_add_paste_twice_says_already_in_wallet(client, learner, issuer, session):
    token = issuer.jwt()
    paste(client, token)
    page = client.get(paste(client, token).headers["Location"]).get_data(as_text=True)
    assert "Already in your wallet." in page
    assert session.scalar(select(func.count()).select_from(Credential)) == 1


def test_add_paste_garbage_is_refused_with_clear_message(client, learner):
    response = paste(client, "this is not a credential")
    assert response.status_code == 422
    assert "neither credential JSON nor a JWT" in response.get_data(as_text=True)


def test_add_files_without_script_lists_each_result(app, client, learner, issuer):
    token = issuer.jwt(name="Baked One")
    data = {"files": [(io.BytesIO(bake_png_jwt(token)), "baked.png"), (io.BytesIO(b"nope"), "notes.txt"),
                      (io.BytesIO(token.encode()), "same.jwt")]}
    page = job_page(app, client, client.post("/credentials/add/files", data=data, content_type="multipart/form-data"))
    assert page.count('class="result result-imported"') == 1
    assert page.count('class="result result-rejected"') == 1
    assert page.count('class="result result-duplicate"') == 1


def test_add_files_zip_job_records_one_result_per_entry(app, client, learner, issuer, session):
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("a.jwt", issuer.jwt(name="A"))
        z.writestr("b.png", bake_png_jwt(issuer.jwt(name="B")))
    response = client.post("/credentials/add/files", data={"files": [(io.BytesIO(archive.getvalue()), "two.zip")]},
                           content_type="multipart/form-data", headers={"Accept": "application/x-ndjson"})
    assert response.status_code == 202 and response.mimetype == "application/json"
    items = job_items(app, session, response)
    assert [(item["state"], item["name"]) for item in items] == [("imported", "A"), ("imported", "B")]
    assert all(session.get(Credential, item["credential_id"]).name == item["name"] for item in items)


def test_add_files_none_chosen_is_refused(client, learner):
    assert client.post("/credentials/add/files", data={}, content_type="multipart/form-data").status_code == 400


def test_index_filters_by_issuer_tag_status_and_text(client, learner, issuer):
    other = JwtIssuer(name="Northwind Academy")
    add(client, issuer, name="Team Leadership", tags=["soft-skills"])
    add(client, other, name="Python Basics", skills=["Python"])
    now = datetime.now(timezone.utc).replace(microsecond=0)
    add(client, other, name="Old Course", valid_from=now - timedelta(days=900), valid_until=now - timedelta(days=1))

    def names(**query) -> list[str]:
        page = client.get("/credentials/", query_string={"view": "list", **query}).get_data(as_text=True)
        return sorted(n for n in ("Team Leadership", "Python Basics", "Old Course") if f">{n}</a>" in page)

    assert names() == ["Old Course", "Python Basics", "Team Leadership"]
    assert names(issuer=other.did) == ["Old Course", "Python Basics"]
    assert names(tag="python") == ["Python Basics"]
    assert names(tag="soft-skills") == ["Team Leadership"]
    assert names(status="expired") == ["Old Course"]
    assert names(q="leader") == ["Team Leadership"]
    assert names(q="100%_") == []
    page = client.get("/credentials/", query_string={"sort": "name"}).get_data(as_text=True)
    assert page.index("Old Course") < page.index("Python Basics") < page.index("Team Leadership")


def test_show_issuer_metadata_with_markup_is_shown_as_text(client, learner, issuer):
    evil = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=1">'
    credential_id = add(client, issuer, name="Badge " + evil, description="Desc " + evil,
                        criteria="[click](javascript:window.__pwned=1) " + evil)
    page = client.get(f"/credentials/{credential_id}").get_data(as_text=True)
    assert "<script>window.__pwned" not in page and "<img src=x" not in page
    assert not re.search(r"""href=["']?\s*javascript""", page, re.I)
    assert "&lt;script&gt;" in page


def test_image_route_serves_svg_only_under_sandbox_csp(client, learner, issuer):
    svg = '<svg xmlns="http://www.w3.org/2000/svg"><script>window.__pwned=1</script></svg>'
    credential_id = add(client, issuer, image="data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode())
    response = client.get(f"/credentials/{credential_id}/image")
    assert response.mimetype == "image/svg+xml"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_image_route_without_image_sends_placeholder(client, learner, issuer):
    response = client.get(f"/credentials/{add(client, issuer)}/image")
    assert response.status_code == 302 and "badge-placeholder" in response.headers["Location"]


def test_download_original_is_byte_for_byte_attachment(client, learner, issuer):
    token = issuer.jwt()
    credential_id = int(paste(client, token).headers["Location"].rsplit("/", 1)[-1])
    response = client.get(f"/credentials/{credential_id}/download")
    assert response.data == token.encode()
    assert response.headers["Content-Disposition"].startswith("attachment")


def test_baked_download_carries_the_same_credential(client, learner, issuer):
    token = issuer.jwt(image="data:image/png;base64," + base64.b64encode(png_image()).decode())
    credential_id = int(paste(client, token).headers["Location"].rsplit("/", 1)[-1])
    response = client.get(f"/credentials/{credential_id}/baked")
    assert response.mimetype == "image/png" and response.headers["Content-Disposition"].startswith("attachment")
    result = verify_bytes(response.data)
    assert result.container == "png" and result.compact == token and result.is_valid


def test_edit_learner_text_is_rendered_sanitised(client, learner, issuer, session):
    credential_id = add(client, issuer)
    client.post(f"/credentials/{credential_id}/edit", data={
        "description": "I **built** [a thing](https://example.org/work) <script>window.__pwned=1</script>",
        "reflection": "[bad](javascript:window.__pwned=1) <a href=x onclick=alert(1)>x</a>",
        "tags": "data, python, data, #sql"})
    page = client.get(f"/credentials/{credential_id}").get_data(as_text=True)
    assert "<strong>built</strong>" in page
    assert 'href="https://example.org/work" rel="nofollow noopener noreferrer ugc"' in page
    assert "<script>window" not in page and not re.search(r"<[^>]*(onclick|href=\"javascript)", page)
    assert session.get(Credential, credential_id).learner_tags == ["data", "python", "sql"]


def test_delete_needs_confirmation_then_removes_everything(client, learner, issuer, session):
    credential_id = add(client, issuer)
    client.post(f"/credentials/{credential_id}/evidence", data={"kind": "text", "text": "notes"})
    confirm = client.get(f"/credentials/{credential_id}/delete")
    assert confirm.status_code == 200 and "Delete for good" in confirm.get_data(as_text=True)
    assert session.get(Credential, credential_id) is not None
    assert client.post(f"/credentials/{credential_id}/delete").status_code == 302
    session.expire_all()
    assert session.get(Credential, credential_id) is None
    assert session.scalar(select(func.count()).select_from(Evidence)) == 0
    assert client.get(f"/credentials/{credential_id}").status_code == 404


# --- re-verification ------------------------------------------------------------------------------


@pytest.fixture
def hosted(document_server, app_config) -> HostedIssuer:
    issuer = HostedIssuer(document_server)
    app_config.update(ALLOW_PRIVATE_NETWORK=True, URL_REWRITE=issuer.rewrite)
    return issuer


def _add_url(client, url: str) -> int:
    response = client.post("/credentials/add/url", data={"url": url})
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("/", 1)[-1])


def test_reverify_revoked_hosted_assertion_becomes_revoked(hosted, client, learner, session):
    url = hosted.assertion()
    credential_id = _add_url(client, url)
    hosted.server.routes["/assertions/1.json"] = Response(b"gone", 410, "text/plain", {"Cache-Control": "no-store"})
    client.post(f"/credentials/{credential_id}/verify")
    session.expire_all()
    credential = session.get(Credential, credential_id)
    assert credential.status == "revoked" and credential.recheck_failed_at is None
    assert [r.trigger for r in credential.verifications] == ["manual", "import"]
    assert "Revoked by issuer" in client.get(f"/credentials/{credential_id}").get_data(as_text=True)


def test_reverify_unreachable_issuer_keeps_last_state_and_says_so(hosted, client, learner, session):
    credential_id = _add_url(client, hosted.assertion())
    hosted.server.routes.clear()
    hosted.server.routes["/assertions/1.json"] = Response(b"down", 503, "text/plain", {"Cache-Control": "no-store"})
    response = client.post(f"/credentials/{credential_id}/verify", follow_redirects=True)
    page = response.get_data(as_text=True)
    session.expire_all()
    credential = session.get(Credential, credential_id)
    assert credential.status == "valid" and credential.recheck_failed_at is not None
    assert credential.latest_verification.conclusive is False
    assert "could not re-check at" in page and "Not genuine" not in page.split('id="report"')[0]


def test_cli_reverify_rechecks_stale_credentials(app, client, learner, issuer, session):
    credential_id = add(client, issuer)
    runner = app.test_cli_runner()
    fresh = runner.invoke(args=["reverify", "--stale-after", "24"])
    assert fresh.exit_code == 0 and "Re-verified 0 credential(s)" in fresh.output
    result = runner.invoke(args=["reverify", "--stale-after", "0"])
    assert result.exit_code == 0, result.output
    assert "Re-verified 1 credential(s): 0 changed, 1 unchanged" in result.output
    session.expire_all()
    assert len(session.get(Credential, credential_id).verifications) == 2


def test_add_files_oversized_file_is_reported_and_others_imported(client, learner, issuer, app):
    app.config["MAX_UPLOAD_FILE_BYTES"] = 4096
    data = {"files": [(io.BytesIO(b"{" + b" " * 5000 + b"}"), "big.json"), (io.BytesIO(issuer.jwt().encode()), "ok.jwt")]}
    page = job_page(app, client, client.post("/credentials/add/files", data=data, content_type="multipart/form-data"))
    assert "The file is larger than 4 KB." in page
    assert page.count('class="result result-imported"') == 1


def test_show_lists_endorsements_from_the_report(client, learner, issuer, session):
    endorser = JwtIssuer(name="Endorsing Body")
    credential = issuer.credential(name="Endorsed Badge")
    endorsement = endorser.credential(name="We vouch for this badge")
    endorsement["type"] = ["VerifiableCredential", "EndorsementCredential"]
    endorsement["credentialSubject"] = {"id": credential["credentialSubject"]["achievement"]["id"],
                                        "type": ["EndorsementSubject"], "endorsementComment": "Solid."}
    credential["credentialSubject"]["achievement"]["endorsementJwt"] = [endorser.sign(endorsement)]
    response = paste(client, issuer.sign(credential))
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Endorsements and included credentials" in page
    assert "We vouch for this badge" in page and "Endorsing Body" in page


def test_show_offers_sharing_the_credential(client, learner, issuer):
    credential_id = add(client, issuer)
    page = client.get(f"/credentials/{credential_id}").get_data(as_text=True)
    assert f'href="/portfolios/credentials/{credential_id}/share"' in page


# --- versions and history --------------------------------------------------------------------------


def test_show_genuine_copy_after_tampered_one_lists_both_copies_with_downloads(client, learner, issuer, make_user,
                                                                                login, session):
    token = issuer.jwt(name="Robotics")
    forged = tampered_jwt(token, name="Robotics (Distinction)")
    credential_id = int(paste(client, forged).headers["Location"].rsplit("/", 1)[-1])
    response = paste(client, token)
    assert response.headers["Location"].endswith(f"/credentials/{credential_id}")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "replaces the one in your wallet that did not" in page
    history = page.split('id="history"')[1].split("</section>")[0]
    assert "Copies of this credential" in page and history.count("Download this copy") == 2
    assert "Verified" in history and "Not genuine" in history and "current" in history
    links = re.findall(r'href="(/credentials/\d+/versions/\d+/download)"', history)
    assert [client.get(link).data for link in links] == [token.encode(), forged.encode()]
    # Another learner gets a 404 for the same links.
    other = make_user(email="other@example.org")
    login(other)
    assert [client.get(link).status_code for link in links] == [404, 404]


def test_add_paste_tampered_copy_of_genuine_one_says_so_plainly(client, learner, issuer, session):
    token = issuer.jwt()
    credential_id = add_token(client, token)
    response = paste(client, tampered_jwt(token, name="Forged"))
    assert response.headers["Location"].endswith(f"/credentials/{credential_id}")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "This file does not verify; your wallet already holds a genuine copy." in page
    assert "Already in your wallet" not in page and 'id="history"' not in page
    assert session.scalar(select(func.count()).select_from(Credential)) == 1


def test_add_files_stream_reports_replaced_and_kept_copies(client, learner, issuer):
    token = issuer.jwt()
    forged = tampered_jwt(token, name="Forged")
    lines = []
    for name, data in (("forged.jwt", forged), ("genuine.jwt", token), ("forged-again.jwt", forged)):
        response = client.post("/credentials/add/files", data={"files": [(io.BytesIO(data.encode()), name)]},
                               headers={"Accept": "application/x-ndjson"}, content_type="multipart/form-data")
        lines += [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    assert [(line["state"], line["status"]) for line in lines] == [
        ("imported", "invalid"), ("replaced", "valid"), ("kept", "valid")]
    assert lines[2]["file_status"] == "invalid" and len({line["id"] for line in lines}) == 1


def test_reverify_updates_the_state_of_the_current_copy_only(hosted, client, learner, session):
    url = hosted.assertion()
    document = json.loads(hosted.server.routes["/assertions/1.json"].body)
    forged = {**document, "issuedOn": "2020-01-01T00:00:00Z"}
    client.post("/credentials/add/files", data={"files": [(io.BytesIO(json.dumps(forged).encode()), "a.json")]},
                content_type="multipart/form-data")
    credential_id = _add_url(client, url)
    hosted.server.routes["/assertions/1.json"] = Response(b"gone", 410, "text/plain", {"Cache-Control": "no-store"})
    client.post(f"/credentials/{credential_id}/verify")
    session.expire_all()
    credential = session.get(Credential, credential_id)
    assert credential.status == "revoked"
    assert [(v.status, v.replaced_at is None) for v in credential.history] == [("revoked", True), ("invalid", False)]
