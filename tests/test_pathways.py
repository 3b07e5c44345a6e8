"""Pathways end to end on a real database: service, pages, dashboard, skills view and API."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.support.credentials import HostedIssuer
from tests.support.servers import Response
from wallet.models import Credential, CredentialTag, Pathway
from wallet.services import credentials as credential_service
from wallet.services import importing
from wallet.services import pathways as service
from wallet.services import skills as skill_service
from wallet.services.blobs import blob_store_from_config
from wallet.services.errors import NotFoundError
from wallet.services.http import fetcher_from_config
from wallet.services.pathway_rules import TemplateError

WEB = "web-developer-certificate"
HTML_ID = "https://college.example.org/achievements/semantic-html-accessibility"
CSS_ID = "https://college.example.org/achievements/responsive-css"


def add_credential(session: Any, owner: Any, *, name: str = "Badge", status: str = "valid",
                   achievement_id: str | None = None, alignments: list[dict[str, Any]] | None = None,
                   tags: list[str] = (), issuer_id: str = "did:web:college.example.org", **columns: Any) -> Credential:
    """Store a credential row as an import would leave it (metadata in `details`, issuer tags)."""
    credential = Credential(
        owner_id=owner.id, dedupe_key=hashlib.sha256(f"{owner.id}{name}{achievement_id}".encode()).hexdigest(),
        format_id="ob3", original_sha256="0" * 64, original_type="application/json", name=name,
        issuer_id=issuer_id, verified_issuer=issuer_id, status=status, recipient_state="matched",
        details={"achievement_id": achievement_id, "alignments": alignments or [], "tags": list(tags)},
        tags=[CredentialTag(kind="issuer", name=t) for t in tags], **columns)
    session.add(credential)
    session.commit()
    return credential


@pytest.fixture
def learner(make_user):
    return make_user(email="learner@example.org")


@pytest.fixture
def web_pathway(session, learner) -> Pathway:
    pathway = service.create_from_example(session, learner.id, WEB)
    session.commit()
    return pathway


def _count(session) -> int:
    return session.scalar(select(func.count()).select_from(Pathway))


# --- service ------------------------------------------------------------------------------------


def test_example_templates_load_and_have_slugs() -> None:
    slugs = [example.slug for example in service.example_templates()]
    assert sorted(slugs) == ["data-literacy-series", "teaching-assistant-qualification", WEB]


def test_pathway_progress_rises_as_credentials_are_added(session, learner, web_pathway) -> None:
    before = service.pathway_progress(session, learner.id, web_pathway.id)
    assert before.progress.fraction == 0
    add_credential(session, learner, name="Semantic HTML", achievement_id=HTML_ID)
    add_credential(session, learner, name="JavaScript", alignments=[{"name": "Programming", "framework": "SFIA 8",
                                                                     "code": "PROG"}])
    after = service.pathway_progress(session, learner.id, web_pathway.id)
    assert after.progress.find("core").met_count == 2
    assert after.progress.fraction > before.progress.fraction
    assert after.progress.percent == 16  # core 2/4 counts a third of the pathway: 1/6
    assert [c.name for c in after.counting_credentials] == ["Semantic HTML", "JavaScript"]


def test_pathway_progress_drops_when_credential_is_revoked_or_deleted(session, learner, web_pathway) -> None:
    credential = add_credential(session, learner, name="Semantic HTML", achievement_id=HTML_ID,
                                checked_at=datetime(2026, 5, 3, 9, 0, tzinfo=timezone.utc))
    assert service.pathway_progress(session, learner.id, web_pathway.id).progress.find("html").is_met
    credential.status = "revoked"  # what a re-verification that finds it revoked stores
    session.commit()
    step = service.pathway_progress(session, learner.id, web_pathway.id).progress.find("html")
    assert step.lost and not step.is_met
    assert step.not_counting[0].reason == "Revoked by issuer (found when checked on 3 May 2026)"
    session.delete(credential)
    session.commit()
    step = service.pathway_progress(session, learner.id, web_pathway.id).progress.find("html")
    assert not step.lost and step.not_counting == []


@pytest.fixture
def hosted(document_server, app_config) -> HostedIssuer:
    issuer = HostedIssuer(document_server)
    app_config.update(ALLOW_PRIVATE_NETWORK=True, URL_REWRITE=issuer.rewrite)
    return issuer


def test_pathway_progress_follows_real_import_and_reverification(hosted, app, session, learner) -> None:
    fetch, blobs = fetcher_from_config(app.config), blob_store_from_config(app.config, app.instance_path)
    importer = importing.Importer(fetch=fetch, blobs=blobs, owner_id=learner.id, recipients=learner.verified_addresses)
    pathway = service.import_template(session, learner.id, json.dumps({
        "format": "wallet-pathway", "version": 1, "title": "Hosted", "steps": [
            {"id": "badge", "title": "The hosted badge", "rule": {"kind": "achievement", "id": "https://issuer.example/badges/1.json"}},
            {"id": "issuer", "title": "Anything from the issuer", "rule": {"kind": "issuer", "id": "issuer.example"}}]}))
    item = importing.import_url(session, importer, hosted.assertion(name="Robotics"))
    session.commit()
    assert service.pathway_progress(session, learner.id, pathway.id).progress.is_met
    hosted.server.routes["/assertions/1.json"] = Response(b"gone", 410, "text/plain")
    recheck = credential_service.reverify_credential(session, learner.id, item.credential.id, fetch=fetch, blobs=blobs)
    session.commit()
    assert recheck.credential.status == "revoked"
    progress = service.pathway_progress(session, learner.id, pathway.id).progress
    assert progress.fraction == 0
    assert [node.lost for node in progress.children] == [True, True]
    assert progress.find("badge").not_counting[0].reason.startswith("Revoked by issuer")


def test_status_reason_says_dates_in_words(session, learner) -> None:
    expired = add_credential(session, learner, name="Old", status="expired",
                             expires_at=datetime(2025, 1, 31, tzinfo=timezone.utc))
    unverifiable = add_credential(session, learner, name="Unknown", status="unverifiable",
                                  checked_at=datetime(2026, 2, 1, tzinfo=timezone.utc))
    assert service.status_reason(expired) == "Expired on 31 January 2025"
    assert service.status_reason(unverifiable) == "Waiting for verification: couldn't verify when checked on 1 February 2026"


def test_credential_of_another_learner_never_counts(session, learner, make_user, web_pathway) -> None:
    add_credential(session, make_user(), name="Semantic HTML", achievement_id=HTML_ID)
    assert service.pathway_progress(session, learner.id, web_pathway.id).progress.fraction == 0


def test_pathway_of_another_learner_is_not_found(session, make_user, web_pathway) -> None:
    other = make_user()
    with pytest.raises(NotFoundError):
        service.pathway_progress(session, other.id, web_pathway.id)
    with pytest.raises(NotFoundError):
        service.delete_pathway(session, other.id, web_pathway.id)


def test_import_template_invalid_creates_nothing(session, learner) -> None:
    with pytest.raises(TemplateError) as caught:
        service.import_template(session, learner.id, json.dumps({"format": "wallet-pathway", "version": 1,
                                                                 "title": "X", "steps": [{"title": "a"}]}))
    assert caught.value.errors == ['steps[0]: must have either a "rule" (a requirement) or a "group" ("all" or "any"), not neither']
    session.commit()
    assert _count(session) == 0


def test_export_then_import_gives_the_same_document(session, learner, web_pathway) -> None:
    exported = service.export_document(web_pathway)
    copy = service.import_template(session, learner.id, json.dumps(exported))
    session.commit()
    assert service.export_document(copy) == exported
    assert copy.source_template == "upload" and web_pathway.source_template == WEB


def test_add_requirement_and_group_then_remove(session, learner) -> None:
    pathway = service.create_pathway(session, learner.id, title="My data career", goal="Analyst job")
    service.add_step(session, learner.id, pathway.id, parent_id=None,
                     step=service.group_step("Electives", "any", "2"))
    group_id = pathway.steps[0]["id"]
    step = service.requirement_from_form({"kind": "tag", "value": "#sql", "title": ""})
    service.add_step(session, learner.id, pathway.id, parent_id=group_id, step=step)
    session.commit()
    assert pathway.steps[0]["steps"][0]["rule"] == {"kind": "tag", "tag": "sql"}
    assert pathway.steps[0]["steps"][0]["title"] == "Tagged sql"
    add_credential(session, learner, name="SQL basics", tags=["SQL"])
    progress = service.pathway_progress(session, learner.id, pathway.id).progress
    assert progress.find(group_id).fraction == 0.5  # any 2 of a group that has one step so far
    service.remove_step(session, learner.id, pathway.id, pathway.steps[0]["steps"][0]["id"])
    assert pathway.steps == []


@pytest.mark.parametrize("form, message", [
    ({"kind": "tag", "value": " "}, "Fill in the tag that meets this step."),
    ({"kind": "credential", "credential_id": "x"}, "Choose the credential that meets this step."),
    ({"kind": "colour", "value": "red"}, "Choose what meets this step."),
])
def test_requirement_from_form_says_what_is_missing(form: dict[str, str], message: str) -> None:
    with pytest.raises(Exception) as caught:
        service.requirement_from_form(form)
    assert str(caught.value) == message


def test_requirement_from_form_skill_value_is_url_or_code() -> None:
    by_url = service.requirement_from_form({"kind": "skill", "value": "https://skills.example/x", "title": "X"})
    by_code = service.requirement_from_form({"kind": "skill", "value": "PROG", "framework": "SFIA 8"})
    assert by_url["rule"] == {"kind": "skill", "url": "https://skills.example/x"}
    assert by_code["rule"] == {"kind": "skill", "framework": "SFIA 8", "code": "PROG"}


def test_replace_steps_text_reports_path_and_keeps_old_steps(session, learner, web_pathway) -> None:
    before = web_pathway.steps
    with pytest.raises(TemplateError) as caught:
        service.replace_steps_text(session, learner.id, web_pathway.id,
                                   '[{"title": "A", "rule": {"kind": "tag"}}]')
    assert caught.value.errors == ["steps[0].rule.tag: is required"]
    session.rollback()
    assert session.get(Pathway, web_pathway.id).steps == before


# --- skills -------------------------------------------------------------------------------------


def test_skills_group_by_framework_and_link_evidence(session, learner) -> None:
    prog = {"name": "Programming/software development", "framework": "SFIA 8", "code": "PROG"}
    first = add_credential(session, learner, name="JavaScript", alignments=[prog])
    second = add_credential(session, learner, name="Python", alignments=[{**prog, "name": "Programming"}],
                            status="revoked")
    add_credential(session, learner, name="Spreadsheets", alignments=[
        {"name": "Use spreadsheets", "url": "http://data.europa.eu/esco/skill/abc"}, {"name": "Teamwork"}])
    frameworks = skill_service.skills_of(session, learner.id)
    assert [f.name for f in frameworks] == ["data.europa.eu", "SFIA 8", "Other skills"]
    sfia = frameworks[1].skills
    assert len(sfia) == 1 and [c.id for c in sfia[0].credentials] == [first.id, second.id]
    assert [c.id for c in sfia[0].verified] == [first.id]
    assert sfia[0].rule == {"kind": "skill", "framework": "SFIA 8", "code": "PROG",
                            "name": "Programming/software development"}


# --- pages --------------------------------------------------------------------------------------


def test_pages_need_login(client) -> None:
    for path in ("/pathways/", "/pathways/new", "/skills/"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_new_page_lists_examples(client, login, learner) -> None:
    login(learner)
    page = client.get("/pathways/new").get_data(as_text=True)
    assert "Front-End Web Developer Certificate" in page and "Teaching Assistant" in page


def test_example_pathway_page_shows_tree_and_whats_next(client, login, learner, session) -> None:
    login(learner)
    response = client.post("/pathways/new/example", data={"slug": WEB})
    assert response.status_code == 302
    pathway_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    add_credential(session, learner, name="Semantic HTML", achievement_id=HTML_ID)
    add_credential(session, learner, name="Responsive CSS", achievement_id=CSS_ID, status="revoked")
    page = client.get(f"/pathways/{pathway_id}").get_data(as_text=True)
    assert 'id="step-html" data-state="met"' in page
    assert 'id="step-css" data-state="open"' in page
    assert "Does not count: Revoked by issuer" in page
    assert "What's next" in page and 'href="#step-css"' in page
    assert 'data-percent="8"' in page  # 1 of 4 core units = 1/12 of the pathway
    assert "<script" not in page.split("<main", 1)[1].split("</main>", 1)[0]


def test_import_page_malformed_template_lists_errors_and_creates_nothing(client, login, learner, session) -> None:
    login(learner)
    bad = {"format": "wallet-pathway", "version": 1, "title": "Bad",
           "steps": [{"title": "A", "rule": {"kind": "colour"}}, {"title": "B", "group": "any", "n": 3,
                                                                    "steps": [{"title": "C", "rule": {"kind": "tag", "tag": "x"}}]}]}
    response = client.post("/pathways/new/import", data={"template_text": json.dumps(bad)})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "steps[0].rule.kind: must be one of" in page
    assert "steps[1].n: must be a whole number from 1 to 1" in page
    assert "Nothing was created" in page
    assert _count(session) == 0


def test_import_page_uploaded_file_creates_pathway(client, login, learner, session) -> None:
    import io

    login(learner)
    example = next(e for e in service.example_templates() if e.slug == "data-literacy-series")
    data = json.dumps(example.document.to_json()).encode()
    response = client.post("/pathways/new/import", data={"template": (io.BytesIO(data), "series.json")},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    assert session.scalar(select(Pathway.title)) == "Data Literacy Micro-credential Series"


def test_edit_steps_json_with_errors_keeps_text_and_old_steps(client, login, learner, web_pathway, session) -> None:
    login(learner)
    before = web_pathway.steps
    response = client.post(f"/pathways/{web_pathway.id}/steps", data={"steps": '[{"title": "A", "group": "some"}]'})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "steps[0].group: must be one of all, any" in page
    assert "&#34;group&#34;: &#34;some&#34;" in page or '"group": "some"' in page
    session.expire_all()
    assert session.get(Pathway, web_pathway.id).steps == before


def test_add_requirement_form_and_remove(client, login, learner, session) -> None:
    login(learner)
    client.post("/pathways/new", data={"title": "First aid"})
    pathway = session.scalar(select(Pathway))
    response = client.post(f"/pathways/{pathway.id}/steps/requirement",
                           data={"parent": "pathway", "kind": "name", "value": "first aid", "title": "First aid course"})
    assert response.status_code == 302
    session.expire_all()
    step = session.get(Pathway, pathway.id).steps[0]
    assert step["rule"] == {"kind": "name", "text": "first aid", "match": "contains"}
    missing = client.post(f"/pathways/{pathway.id}/steps/requirement", data={"kind": "issuer", "value": ""})
    assert missing.status_code == 400 and "Fill in the issuer" in missing.get_data(as_text=True)
    client.post(f"/pathways/{pathway.id}/steps/{step['id']}/remove")
    session.expire_all()
    assert session.get(Pathway, pathway.id).steps == []


def test_export_downloads_template_json(client, login, learner, web_pathway) -> None:
    login(learner)
    response = client.get(f"/pathways/{web_pathway.id}/export")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == 'attachment; filename="front-end-web-developer-certificate.pathway.json"'
    assert response.get_json()["format"] == "wallet-pathway"


def test_other_learners_pathway_pages_are_404(client, login, make_user, web_pathway, session) -> None:
    login(make_user())
    for method, path in (("get", ""), ("get", "/edit"), ("get", "/export"), ("post", "/delete"),
                         ("post", "/steps/core/remove"), ("post", "/steps")):
        response = getattr(client, method)(f"/pathways/{web_pathway.id}{path}", data={"steps": "[]"})
        assert response.status_code == 404, path
    assert session.get(Pathway, web_pathway.id) is not None


def test_delete_pathway_keeps_credentials(client, login, learner, web_pathway, session) -> None:
    login(learner)
    add_credential(session, learner, name="Semantic HTML", achievement_id=HTML_ID)
    assert client.post(f"/pathways/{web_pathway.id}/delete").status_code == 302
    assert _count(session) == 0
    assert session.scalar(select(func.count()).select_from(Credential)) == 1


def test_dashboard_shows_pathway_cards(client, login, learner, web_pathway, session) -> None:
    login(learner)
    add_credential(session, learner, name="Semantic HTML", achievement_id=HTML_ID)
    page = client.get("/").get_data(as_text=True)
    assert "Your pathways" in page and "Front-End Web Developer Certificate" in page
    assert 'value="8"' in page


def test_skills_page_links_evidence_and_adds_requirement(client, login, learner, web_pathway, session) -> None:
    login(learner)
    credential = add_credential(session, learner, name="Team project", alignments=[
        {"name": "Teamwork", "framework": "Soft skills"}])
    page = client.get("/skills/").get_data(as_text=True)
    assert "Soft skills" in page and "Teamwork" in page and "Team project" in page
    response = client.post("/pathways/add-skill", data={"pathway_id": web_pathway.id, "title": "Teamwork",
                                                        "framework": "Soft skills", "name": "Teamwork"})
    assert response.status_code == 302
    progress = service.pathway_progress(session, learner.id, web_pathway.id).progress
    added = progress.children[-1]
    assert added.step.title == "Teamwork" and [f.id for f in added.meeting] == [credential.id]


# --- API ----------------------------------------------------------------------------------------


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_api_create_list_progress_update_delete(client, learner, api_token, session) -> None:
    headers = _auth(api_token(learner))
    example = next(e for e in service.example_templates() if e.slug == WEB).document.to_json()
    created = client.post("/api/v1/pathways", data=json.dumps(example), headers=headers, content_type="application/json")
    assert created.status_code == 201
    pathway_id = created.get_json()["id"]
    assert created.headers["Location"].endswith(f"/api/v1/pathways/{pathway_id}")
    add_credential(session, learner, name="Semantic HTML", achievement_id=HTML_ID)
    listed = client.get("/api/v1/pathways", headers=headers).get_json()["pathways"]
    assert [(p["id"], p["progress"]["percent"]) for p in listed] == [(pathway_id, 8)]
    progress = client.get(f"/api/v1/pathways/{pathway_id}/progress?next=2", headers=headers).get_json()
    html = progress["progress"]["steps"][0]["steps"][0]
    assert html["state"] == "met" and html["credentials"][0]["name"] == "Semantic HTML"
    assert len(progress["next"]) == 2
    example["title"] = "Renamed"
    replaced = client.put(f"/api/v1/pathways/{pathway_id}", data=json.dumps(example), headers=headers)
    assert replaced.status_code == 200 and replaced.get_json()["title"] == "Renamed"
    assert client.delete(f"/api/v1/pathways/{pathway_id}", headers=headers).status_code == 204
    assert client.get(f"/api/v1/pathways/{pathway_id}", headers=headers).status_code == 404


def test_api_malformed_document_lists_errors_by_path(client, learner, api_token, session) -> None:
    headers = _auth(api_token(learner))
    response = client.post("/api/v1/pathways", data='{"format": "wallet-pathway", "version": 1, "title": "T", '
                           '"steps": [{"title": "x", "rule": {"kind": "skill"}}]}', headers=headers)
    body = response.get_json()
    assert response.status_code == 400
    assert body["error"] == "Template"
    assert body["errors"] == ["steps[0].rule: a skill rule needs a url, a code or a name"]
    assert _count(session) == 0


def test_api_needs_token_and_hides_other_learners(client, learner, make_user, api_token, web_pathway) -> None:
    assert client.get("/api/v1/pathways").status_code == 401
    other = _auth(api_token(make_user()))
    assert client.get(f"/api/v1/pathways/{web_pathway.id}/progress", headers=other).status_code == 404
    assert client.delete(f"/api/v1/pathways/{web_pathway.id}", headers=other).status_code == 404


def test_api_skills_lists_frameworks(client, learner, api_token, session) -> None:
    add_credential(session, learner, name="Data", alignments=[{"name": "Evaluating data", "framework": "DigComp 2.2",
                                                               "code": "1.2"}])
    body = client.get("/api/v1/skills", headers=_auth(api_token(learner))).get_json()
    assert body["frameworks"][0]["name"] == "DigComp 2.2"
    assert body["frameworks"][0]["skills"][0]["credentials"][0]["counts"] is True


def test_openapi_document_describes_pathways(client) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    assert {"/pathways", "/pathways/{pathway_id}", "/pathways/{pathway_id}/progress", "/skills"} <= set(document["paths"])
    assert document["paths"]["/pathways"]["post"]["responses"]["400"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/TemplateError"}
    assert "PathwayDocument" in document["components"]["schemas"]
