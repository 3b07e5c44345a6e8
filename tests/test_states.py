"""One table of state words (services/verification/states.py): every place that says a state says it from there."""
from __future__ import annotations

import html
import json
import re
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import unquote_plus

import pytest
from flask import render_template_string

from tests.support.credentials import JwtIssuer
from tests.support.portfolios import add_credential
from wallet.cli import _report_text
from wallet.models import Credential
from wallet.services import pathway_rules as rules
from wallet.services import pathways, presentations
from wallet.services.importing import RESULT_WORDS
from wallet.services.verification.result import Metadata, Status, VerificationResult
from wallet.services.verification.states import STATES, state_label, state_of
from wallet.templating import format_date

WALLET = Path(__file__).resolve().parents[1] / "wallet"
ENDS = datetime(2025, 1, 31, tzinfo=timezone.utc)
STARTS = datetime(2027, 6, 1, tzinfo=timezone.utc)
CHECKED = datetime(2026, 2, 1, 9, tzinfo=timezone.utc)
# The product vocabulary (docs/verification.md section 1), dated where the state has a date.
VOCABULARY = {
    "valid": ("Verified", "Verified", "green", "✓"),
    "revoked": ("Revoked by issuer", "Revoked by issuer", "red", "✕"),
    "invalid": ("Not genuine", "Not genuine", "red", "✕"),
    "expired": ("Expired", "Expired on 31 January 2025", "grey", "◷"),
    "not_yet_valid": ("Valid from a later date", "Valid from 1 June 2027", "grey", "◷"),
    "unverifiable": ("Couldn't verify", "Couldn't verify", "amber", "!"),
    "no_credential": ("Couldn't check", "Couldn't check", "amber", "!"),
    "error": ("Couldn't check", "Couldn't check", "amber", "!"),
}
# Words that drifted before the table; no page, command or script may say them again.
OLD_WORDS = ("Not valid yet", "Not yet valid", "Revoked by its issuer", "Could not be verified",
             "No credential found", "Could not be checked")


def _dated(status: str) -> str:
    return state_label(status, expires=format_date(ENDS), valid_from=format_date(STARTS))


def test_states_table_covers_every_status_with_the_product_vocabulary() -> None:
    assert set(STATES) == {status.value for status in Status} == set(VOCABULARY)
    for status, (label, dated, tone, icon) in VOCABULARY.items():
        state = state_of(status)
        assert (state.label, _dated(status), state.tone, state.icon, state.chip) == (
            label, dated, tone, icon, f"state-{status}")
        assert state.explanation.endswith(".") and len(state.explanation.split()) >= 5


def test_state_of_unknown_status_says_couldnt_check() -> None:
    assert state_of("made-up").label == state_of(None).label == "Couldn't check"


@pytest.mark.parametrize("status", list(VOCABULARY))
def test_state_word_macro_says_the_table_words(app, status: str) -> None:
    template = ('{% from "credentials/_state.html" import state_word, state_chip %}'
                "[{{ state_word(status) }}][{{ state_word(status, ends, starts) }}]{{ state_chip(credential) }}")
    credential = SimpleNamespace(status=status, expires_at=ENDS, valid_from=None, issued_at=STARTS,
                                 checked_at=CHECKED, recheck_failed_at=None)
    with app.test_request_context():
        html = render_template_string(template, status=status, ends=ENDS, starts=STARTS, credential=credential)
    assert html.startswith(f"[{state_of(status).label}][{_dated(status)}]".replace("'", "&#39;"))
    chip = re.search(r'<span class="state ([^"]+)" data-status="[^"]+">([^<]+)</span>', html)
    assert chip.groups() == (state_of(status).chip, _dated(status).replace("'", "&#39;"))


@pytest.mark.parametrize("status", list(Status))
def test_cli_report_says_the_table_icon_and_words(status: Status) -> None:
    result = VerificationResult("ob3", status, metadata=Metadata(name="Badge", expires=ENDS, valid_from=STARTS),
                                nested=[VerificationResult("ob3", status, metadata=Metadata(name="Member"))])
    lines = _report_text("badge.jwt", result).splitlines()
    state = state_of(status)
    assert lines[1].startswith(f"  {state.icon} {_dated(status)}")
    assert lines[-1] == f"    {state.icon} nested ob3 Member: {state.label}"


def test_css_gives_each_state_the_table_icon_and_tone() -> None:
    css = (WALLET / "static" / "css" / "wallet.css").read_text(encoding="utf-8")
    icons, colours = {}, {}
    for selectors, body in re.findall(r"([^{}]+)\{([^}]*)\}", css):
        for selector in selectors.split(","):
            if match := re.fullmatch(r"\.state-(\w+)::before", selector.strip()):
                icons[match.group(1)] = re.search(r'content:\s*"([^"]+)"', body).group(1)
            elif (match := re.fullmatch(r"\.state-(\w+)", selector.strip())) and match.group(1) in STATES:
                colours[match.group(1)] = re.search(r"color:\s*var\(--(\w+)\)", body).group(1)
    tones = {"green": "ok", "red": "bad", "grey": "grey", "amber": "warn"}
    assert icons == {status: state.icon for status, state in STATES.items()}
    assert colours == {status: tones[state.tone] for status, state in STATES.items()}


def test_add_page_gives_its_script_the_table_as_a_json_data_block(client, make_user, login) -> None:
    login(make_user())
    page = client.get("/credentials/add").get_data(as_text=True)
    block = re.search(r'<script type="application/json" id="state-words">(.*?)</script>', page, re.S).group(1)
    assert json.loads(block) == {status: state.to_dict() for status, state in STATES.items()}
    results = re.search(r'<script type="application/json" id="result-words">(.*?)</script>', page, re.S).group(1)
    assert json.loads(results) == RESULT_WORDS
    script = (WALLET / "static" / "js" / "collect.js").read_text(encoding="utf-8")
    assert 'readJSON("state-words")' in script and 'readJSON("result-words")' in script
    assert not any(state.label in script for state in STATES.values())
    assert not any(word in script for word in RESULT_WORDS.values())


@pytest.mark.parametrize("status", list(VOCABULARY))
def test_presentation_and_pathway_reasons_start_with_the_table_words(status: str) -> None:
    credential = Credential(status=status, expires_at=ENDS, valid_from=STARTS, issued_at=CHECKED, checked_at=CHECKED)
    assert presentations.state_words(credential) == _dated(status)
    if status != "valid":
        assert presentations.not_presentable_reason(credential).startswith(_dated(status) + ":")
        label = state_of(status).label
        reason = pathways.status_reason(credential)
        assert reason.startswith(_dated(status)) or reason.startswith(rules.WAITING + label[0].lower() + label[1:])
        assert rules.STATUS_REASONS[status].startswith((label, rules.WAITING))


def test_shared_credential_preview_says_the_table_words(client, make_user, login, session) -> None:
    login(make_user(email="learner@example.org"))
    credential_id = add_credential(client, JwtIssuer(name="Riverside College").jwt(name="Compilers"))
    client.post(f"/portfolios/credentials/{credential_id}/share")
    share = client.get(f"/portfolios/credentials/{credential_id}/share").get_data(as_text=True)
    slug = re.search(r'id="share-link" value="http://localhost/c/([A-Za-z0-9_-]+)"', share).group(1)
    session.get(Credential, credential_id).status = Status.REVOKED.value
    session.commit()
    page = client.get(f"/c/{slug}").get_data(as_text=True)
    assert '<meta property="og:description" content="Issued by Riverside College. Revoked by issuer on Wallet.">' in page
    # The texts of the "post on" links say the state too.
    links = " ".join(unquote_plus(html.unescape(href)) for href in re.findall(r'href="([^"]+)"', page))
    assert "Compilers, from Riverside College. Revoked by issuer on Wallet." in links and "Verified" not in links


def test_no_page_command_or_script_says_a_drifted_state_word() -> None:
    sources = [path for pattern in ("**/*.py", "templates/**/*.html", "static/**/*.js") for path in WALLET.glob(pattern)]
    said = {(str(path.relative_to(WALLET)), word) for path in sources for word in OLD_WORDS
            if word in path.read_text(encoding="utf-8")}
    assert said == set()
