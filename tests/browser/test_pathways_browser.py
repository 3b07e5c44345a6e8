"""Pathways in a real browser: adopt an example template, add matching credentials, watch progress rise;
a malformed template is refused with errors by JSON path and creates nothing."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select

from tests.support.accounts import log_in_page
from wallet.models import Pathway
from wallet.services import importing
from wallet.services.blobs import blob_store_from_config
from wallet.services.http import fetcher_from_config
from wallet.services.verification import dataintegrity

pytestmark = pytest.mark.browser

EMAIL = "learner@example.org"
COLLEGE = "https://college.example.org/achievements/"


def signed_badge(key: Ed25519PrivateKey, name: str, achievement: str, alignment: dict[str, str] | None = None) -> str:
    """Return an OB 3.0 credential for EMAIL, signed eddsa-rdfc-2022 by the did:key of `key`."""
    did = dataintegrity.did_key_for(key.public_key())
    achievement_node: dict[str, Any] = {"id": COLLEGE + achievement, "type": ["Achievement"], "name": name,
                                        "description": f"Awarded for {name}.", "criteria": {"narrative": "Pass the unit."}}
    if alignment:
        achievement_node["alignment"] = [{"type": ["Alignment"], **alignment}]
    credential = {
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
        "id": f"urn:uuid:{uuid.uuid4()}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": did, "type": ["Profile"], "name": "Northbridge College"},
        "validFrom": (datetime.now(timezone.utc) - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "name": name,
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [{"type": "IdentityObject", "identityType": "emailAddress", "hashed": False,
                            "identityHash": EMAIL}],
            "achievement": achievement_node,
        },
    }
    signed = dataintegrity.sign_document(credential, private_key=key, verification_method=f"{did}#{did.split(':')[-1]}")
    return json.dumps(signed)


def _percent(page: Any) -> int:
    return int(page.locator("#overall").get_attribute("data-percent"))


def test_pathway_from_template_progress_rises_as_credentials_arrive(
    live_server, page, app, session, make_user, tmp_path: Path
) -> None:
    learner = make_user(email=EMAIL)
    base = live_server.url
    log_in_page(page, base, EMAIL)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Pathways").click()
    page.get_by_role("link", name="Start a pathway").click()
    page.get_by_role("button", name="Use the template Front-End Web Developer Certificate").click()
    assert page.get_by_role("heading", name="Front-End Web Developer Certificate", level=1).is_visible()
    assert _percent(page) == 0
    assert page.locator("#step-html").get_attribute("data-state") == "open"
    pathway_url = page.url

    # A malformed template: every problem is listed by its JSON path, and nothing is created.
    malformed = {"format": "wallet-pathway", "version": 1, "title": "Broken",
                 "steps": [{"title": "Fine", "rule": {"kind": "tag", "tag": "ok"}},
                           {"title": "Unknown kind", "rule": {"kind": "colour"}},
                           {"title": "Electives", "group": "any", "n": 5,
                            "steps": [{"title": "Only one", "rule": {"kind": "tag", "tag": "x"}}]}]}
    page.goto(f"{base}/pathways/new")
    page.get_by_label("Or paste the template").fill(json.dumps(malformed))
    page.get_by_role("button", name="Import template").click()
    errors = page.locator(".template-errors")
    assert "Nothing was created" in errors.inner_text()
    assert errors.get_by_text("steps[1].rule.kind: must be one of credential, achievement, issuer, skill, tag, name").is_visible()
    assert errors.get_by_text("steps[2].n: must be a whole number from 1 to 1 (the number of its steps)").is_visible()
    broken_file = tmp_path / "broken.json"
    broken_file.write_text('{"format": "wallet-pathway", "version": 1, "title": "B", "steps": [{"title": "x", "rule": 7}]}')
    page.get_by_label("Template file").set_input_files(str(broken_file))
    page.get_by_role("button", name="Import template").click()
    assert page.locator(".template-errors").get_by_text('steps[0].rule: must be an object with a "kind"').is_visible()
    assert session.scalar(select(func.count()).select_from(Pathway)) == 1

    # Credentials arrive through the real import service, verified with real keys.
    importer = importing.Importer(fetch=fetcher_from_config(app.config),
                                  blobs=blob_store_from_config(app.config, app.instance_path),
                                  owner_id=learner.id, recipients=learner.verified_addresses)
    college = Ed25519PrivateKey.generate()
    item = importing.import_paste(session, importer, signed_badge(college, "Semantic HTML", "semantic-html-accessibility"))
    session.commit()
    assert item.credential.status == "valid"
    page.goto(pathway_url)
    first = _percent(page)
    assert first == 8  # one of four core units: a third of a quarter
    assert page.locator("#step-html").get_attribute("data-state") == "met"
    assert "Semantic HTML" in page.locator("#step-html .step-credentials").inner_text()

    other_provider = Ed25519PrivateKey.generate()
    importing.import_paste(session, importer, signed_badge(
        other_provider, "JavaScript for the web", "javascript",
        {"targetName": "Programming/software development", "targetFramework": "SFIA 8", "targetCode": "PROG",
         "targetUrl": "https://sfia-online.org/en/sfia-8/skills/programming-software-development"}))
    session.commit()
    page.reload()
    assert _percent(page) == 16 > first
    assert page.locator("#step-javascript").get_attribute("data-state") == "met"
    assert page.locator("#step-core").get_attribute("data-state") == "partial"
    next_steps = page.get_by_role("region", name="What's next")
    assert next_steps.get_by_role("link").first.is_visible()

    page.goto(base + "/")
    card = page.locator(".pathway-card").filter(has_text="Front-End Web Developer Certificate")
    assert card.locator("progress").get_attribute("value") == "16"

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Skills").click()
    skill = page.locator(".skill").filter(has_text="Programming/software development")
    assert skill.get_by_text("JavaScript for the web").is_visible()
