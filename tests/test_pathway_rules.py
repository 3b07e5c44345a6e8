"""The pathway core: matching rules, progress arithmetic, "what's next" and the template format."""
from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wallet.services.errors import ValidationError
from wallet.services.pathway_rules import (
    MAX_DEPTH,
    MAX_DOCUMENT_BYTES,
    MAX_STEPS,
    AchievementRule,
    Alignment,
    CredentialFacts,
    CredentialRule,
    Group,
    IssuerRule,
    NameRule,
    Requirement,
    SkillRule,
    TagRule,
    TemplateError,
    evaluate,
    insert_step,
    iter_steps,
    parse_template,
    pathway_root,
    remove_step,
    steps_to_json,
    validate_steps,
    whats_next,
)

TEMPLATES = Path(__file__).resolve().parent.parent / "wallet" / "pathway_templates"


def facts(id: int = 1, name: str = "Badge", status: str = "valid", **kwargs: Any) -> CredentialFacts:
    return CredentialFacts(id=id, name=name, status=status, **kwargs)


def req(step_id: str, rule: Any, title: str | None = None) -> Requirement:
    return Requirement(id=step_id, title=title or step_id, rule=rule)


def document(steps: list[Any], **fields: Any) -> str:
    return json.dumps({"format": "wallet-pathway", "version": 1, "title": "A pathway", "steps": steps, **fields})


def template_errors(text: str) -> list[str]:
    with pytest.raises(TemplateError) as caught:
        parse_template(text)
    return caught.value.errors


# --- matching rules -----------------------------------------------------------------------------


def test_credential_rule_matches_only_that_credential() -> None:
    rule = CredentialRule(credential_id=7)
    assert rule.matches(facts(id=7))
    assert not rule.matches(facts(id=8))


def test_achievement_rule_ignores_host_case_and_trailing_slash() -> None:
    rule = AchievementRule(id="https://Example.org/achievements/html/")
    assert rule.matches(facts(achievement_id="https://example.org/achievements/html"))
    assert not rule.matches(facts(achievement_id="https://example.org/achievements/css"))
    assert not rule.matches(facts(achievement_id=None))


def test_issuer_rule_matches_id_verified_did_or_exact_domain() -> None:
    from_url = facts(issuer_ids=("https://badges.example.org/issuer.json",))
    from_did = facts(issuer_ids=("did:web:example.org",))
    assert IssuerRule(id="https://badges.example.org/issuer.json").matches(from_url)
    assert IssuerRule(id="badges.example.org").matches(from_url)
    assert IssuerRule(id="example.org").matches(from_did)
    assert IssuerRule(id="did:web:example.org").matches(from_did)


def test_issuer_rule_domain_does_not_match_subdomain_or_lookalike() -> None:
    rule = IssuerRule(id="example.org")
    assert not rule.matches(facts(issuer_ids=("https://badges.example.org/issuer",)))
    assert not rule.matches(facts(issuer_ids=("https://example.org.evil.test/issuer",)))
    assert not rule.matches(facts(issuer_ids=("did:key:z6Mkexample.org",)))


def test_skill_rule_matches_by_url_code_or_name() -> None:
    esco = Alignment(name="Use spreadsheets software", framework="ESCO",
                     url="http://data.europa.eu/esco/skill/1973c966-f236-40c9-b2d4-5d71a89019be")
    onet = Alignment(name="Programming", framework="O*NET-SOC", code="2.B.3.e")
    soft = Alignment(name="Teamwork", framework="Soft skills")
    credential = facts(alignments=(esco, onet, soft))
    assert SkillRule(url="http://data.europa.eu/esco/skill/1973c966-f236-40c9-b2d4-5d71a89019be/").matches(credential)
    assert SkillRule(framework="o*net-soc", code="2.b.3.E").matches(credential)
    assert SkillRule(framework="Soft skills", name="teamwork").matches(credential)
    assert not SkillRule(framework="ESCO", code="2.B.3.e").matches(credential)
    assert not SkillRule(url="http://data.europa.eu/esco/skill/other").matches(credential)


def test_skill_rule_for_alignment_matches_that_alignment() -> None:
    for alignment in (Alignment(name="A", url="https://skills.example/a"), Alignment(name="B", framework="F", code="1"),
                      Alignment(name="Listening", framework="Soft skills")):
        assert SkillRule.for_alignment(alignment).matches(facts(alignments=(alignment,)))


def test_tag_rule_ignores_case_and_hash() -> None:
    assert TagRule(tag="#Python").matches(facts(tags=("python", "data")))
    assert not TagRule(tag="java").matches(facts(tags=("javascript",)))


def test_name_rule_contains_and_exact() -> None:
    credential = facts(name="Intro to  HTML and CSS")
    assert NameRule(text="html and css").matches(credential)
    assert not NameRule(text="html", match="exact").matches(credential)
    assert NameRule(text="INTRO TO HTML AND CSS", match="exact").matches(credential)


# --- arithmetic ---------------------------------------------------------------------------------


def test_evaluate_all_group_is_mean_of_steps() -> None:
    root = pathway_root("P", [req("a", TagRule("a")), req("b", TagRule("b")), req("c", TagRule("c"))])
    progress = evaluate(root, [facts(1, tags=("a",)), facts(2, tags=("c",))])
    assert progress.fraction == Fraction(2, 3)
    assert progress.percent == 66
    assert (progress.met_count, progress.required, progress.state) == (2, 3, "partial")


def test_evaluate_any_n_group_counts_best_n_and_caps_at_one() -> None:
    group = Group(id="g", title="Two electives", mode="any", n=2,
                  steps=(req("a", TagRule("a")), req("b", TagRule("b")), req("c", TagRule("c"))))
    one = evaluate(group, [facts(1, tags=("a",))])
    three = evaluate(group, [facts(1, tags=("a", "b", "c"))])
    assert one.fraction == Fraction(1, 2) and one.state == "partial"
    assert three.fraction == 1 and three.met_count == 2 and three.state == "met"


def test_evaluate_nested_groups_combine_fractions() -> None:
    electives = Group(id="e", title="E", mode="any", n=2,
                      steps=(req("e1", TagRule("e1")), req("e2", TagRule("e2")), req("e3", TagRule("e3"))))
    core = Group(id="c", title="C", mode="all", steps=(req("c1", TagRule("c1")), req("c2", TagRule("c2"))))
    root = pathway_root("P", [core, electives])
    progress = evaluate(root, [facts(1, tags=("c1", "e3"))])
    assert progress.find("c").fraction == Fraction(1, 2)
    assert progress.find("e").fraction == Fraction(1, 2)
    assert progress.fraction == Fraction(1, 2)
    assert progress.met_count == 0
    complete = evaluate(root, [facts(1, tags=("c1", "c2", "e1", "e3"))])
    assert complete.is_met and complete.percent == 100


def test_evaluate_revoked_credential_drops_out_with_reason() -> None:
    root = pathway_root("P", [req("a", TagRule("html"))])
    revoked = facts(3, name="HTML basics", status="revoked", tags=("html",),
                    status_reason="Revoked by issuer on 3 May 2026")
    progress = evaluate(root, [revoked])
    step = progress.find("a")
    assert progress.fraction == 0
    assert step.state == "open" and step.lost
    assert step.meeting == []
    assert [(f.id, f.reason) for f in step.not_counting] == [(3, "Revoked by issuer on 3 May 2026")]


@pytest.mark.parametrize("status", ["revoked", "invalid", "expired", "not_yet_valid", "unverifiable", "error"])
def test_evaluate_only_valid_credentials_count(status: str) -> None:
    progress = evaluate(pathway_root("P", [req("a", TagRule("x"))]), [facts(1, status=status, tags=("x",))])
    assert progress.fraction == 0
    assert progress.find("a").not_counting[0].reason  # the page can always say why


def test_evaluate_credential_issued_to_someone_else_does_not_count() -> None:
    progress = evaluate(pathway_root("P", [req("a", TagRule("x"))]), [facts(1, tags=("x",), issued_to_learner=False)])
    assert progress.fraction == 0
    assert progress.find("a").not_counting[0].reason.startswith("Not issued to one of your verified")


def test_evaluate_unverifiable_says_waiting_for_verification() -> None:
    progress = evaluate(pathway_root("P", [req("a", TagRule("x"))]), [facts(1, status="unverifiable", tags=("x",))])
    assert progress.find("a").not_counting[0].reason == "Waiting for verification: couldn't verify"


def test_evaluate_one_credential_meets_many_steps() -> None:
    credential = facts(9, name="Data analysis with Python", tags=("python",), achievement_id="urn:a:1")
    root = pathway_root("P", [req("a", TagRule("python")), req("b", NameRule("data analysis")),
                              req("c", AchievementRule("urn:a:1")), req("d", TagRule("r"))])
    progress = evaluate(root, [credential])
    assert [node.step.id for node in progress.children if node.is_met] == ["a", "b", "c"]
    assert progress.fraction == Fraction(3, 4)


def test_evaluate_several_credentials_meet_one_requirement() -> None:
    progress = evaluate(pathway_root("P", [req("a", TagRule("python"))]),
                        [facts(1, tags=("python",)), facts(2, tags=("python",)), facts(3, status="expired", tags=("python",))])
    step = progress.find("a")
    assert [f.id for f in step.meeting] == [1, 2]
    assert [f.id for f in step.not_counting] == [3]
    assert step.is_met and not step.lost


def test_to_json_reports_tree_with_credentials() -> None:
    root = pathway_root("P", [req("a", TagRule("x"), title="X")])
    data = evaluate(root, [facts(4, name="X badge", tags=("x",))]).to_json()
    assert data["fraction"] == 1.0 and data["percent"] == 100 and data["state"] == "met"
    assert data["steps"][0]["credentials"] == [{"id": 4, "name": "X badge"}]
    assert data["steps"][0]["rule"] == {"kind": "tag", "tag": "x"}


# --- what's next --------------------------------------------------------------------------------


def test_whats_next_prefers_step_that_completes_its_group() -> None:
    almost = Group(id="almost", title="Almost", mode="all",
                   steps=(req("a1", TagRule("a1")), req("a2", TagRule("a2")), req("a3", TagRule("a3"))))
    fresh = Group(id="fresh", title="Fresh", mode="all", steps=(req("f1", TagRule("f1")), req("f2", TagRule("f2"))))
    progress = evaluate(pathway_root("P", [fresh, almost]), [facts(1, tags=("a1", "a2"))])
    ranked = whats_next(progress, limit=3)
    assert [n.progress.step.id for n in ranked] == ["a3", "f1", "f2"]
    assert ranked[0].parent_after == 1
    assert ranked[0].gain == Fraction(1, 6)


def test_whats_next_skips_met_groups_and_useless_electives() -> None:
    electives = Group(id="e", title="E", mode="any", n=1, steps=(req("e1", TagRule("e1")), req("e2", TagRule("e2"))))
    progress = evaluate(pathway_root("P", [electives, req("r", TagRule("r"))]), [facts(1, tags=("e1",))])
    assert [n.progress.step.id for n in whats_next(progress)] == ["r"]


def test_evaluate_empty_pathway_has_not_started() -> None:
    progress = evaluate(pathway_root("P", []), [facts(1)])
    assert (progress.fraction, progress.state) == (0, "open")


def test_whats_next_suggests_no_more_from_a_group_than_it_needs() -> None:
    electives = Group(id="e", title="E", mode="any", n=1,
                      steps=(req("e1", TagRule("e1")), req("e2", TagRule("e2")), req("e3", TagRule("e3"))))
    core = Group(id="c", title="C", mode="all", steps=(req("c1", TagRule("c1")), req("c2", TagRule("c2"))))
    progress = evaluate(pathway_root("P", [core, electives]), [])
    assert [n.progress.step.id for n in whats_next(progress, limit=5)] == ["e1", "c1", "c2"]


def test_whats_next_is_empty_when_complete() -> None:
    progress = evaluate(pathway_root("P", [req("a", TagRule("a"))]), [facts(1, tags=("a",))])
    assert whats_next(progress) == []


# --- properties ---------------------------------------------------------------------------------

TAGS = ["t0", "t1", "t2", "t3", "t4", "t5"]
STATUSES = ["valid", "revoked", "expired", "invalid", "unverifiable"]


def _trees(depth: int = 3) -> st.SearchStrategy[Any]:
    leaves = st.builds(lambda tag: req(tag, TagRule(tag)), st.sampled_from(TAGS))

    def groups(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return st.lists(children, min_size=1, max_size=4).flatmap(
            lambda steps: st.tuples(st.sampled_from(["all", "any"]), st.integers(1, len(steps))).map(
                lambda mode_n: Group(id="g", title="g", mode=mode_n[0], n=mode_n[1] if mode_n[0] == "any" else None,
                                     steps=tuple(steps))))

    return st.recursive(leaves, groups, max_leaves=12)


_credentials = st.lists(
    st.builds(lambda i, tags, status: facts(i, tags=tuple(tags), status=status),
              st.integers(1, 50), st.lists(st.sampled_from(TAGS), max_size=3), st.sampled_from(STATUSES)),
    max_size=6)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(tree=_trees(), credentials=_credentials)
def test_progress_property_always_between_zero_and_one(tree: Any, credentials: list[CredentialFacts]) -> None:
    progress = evaluate(pathway_root("P", [tree]), credentials)
    for node in progress.walk():
        assert 0 <= node.fraction <= 1
        assert 0 <= node.percent <= 100
        assert node.is_met == (node.percent == 100)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(tree=_trees(), credentials=_credentials, tags=st.lists(st.sampled_from(TAGS), min_size=1, max_size=3))
def test_progress_property_adding_valid_credential_never_lowers_it(
    tree: Any, credentials: list[CredentialFacts], tags: list[str]
) -> None:
    root = pathway_root("P", [tree])
    before = evaluate(root, credentials)
    after = evaluate(root, [*credentials, facts(99, tags=tuple(tags))])
    for old, new in zip(before.walk(), after.walk(), strict=True):
        assert new.fraction >= old.fraction
    assert after.fraction >= before.fraction


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(tree=_trees(), credentials=_credentials)
def test_whats_next_property_meeting_a_suggestion_raises_progress(tree: Any, credentials: list[CredentialFacts]) -> None:
    root = pathway_root("P", [tree])
    progress = evaluate(root, credentials)
    for suggestion in whats_next(progress, limit=10):
        tag = suggestion.progress.step.rule.tag
        after = evaluate(root, [*credentials, facts(100, tags=(tag,))])
        # At least the promised gain: the same tag may meet other requirements too.
        assert after.fraction >= progress.fraction + suggestion.gain > progress.fraction


# --- template format ----------------------------------------------------------------------------


def test_parse_template_assigns_ids_and_round_trips() -> None:
    text = document([{"title": "Core", "group": "all", "steps": [{"title": "HTML", "rule": {"kind": "tag", "tag": "html"}}]},
                     {"id": "portfolio", "title": "Portfolio", "rule": {"kind": "name", "text": "portfolio", "match": "exact"}}],
                    description="D", goal="G", publisher="Example College")
    parsed = parse_template(text)
    assert [step.id for step in iter_steps(parsed.steps)] == ["s1", "s1-1", "portfolio"]
    again = parse_template(json.dumps(parsed.to_json()))
    assert again == parsed
    assert again.publisher == "Example College"


def test_parse_template_reports_errors_by_path() -> None:
    errors = template_errors(document([
        {"title": "Fine", "rule": {"kind": "tag", "tag": "x"}},
        {"title": "Bad kind", "rule": {"kind": "colour", "value": "red"}},
        {"title": "Electives", "group": "any", "n": 4, "steps": [
            {"title": "No rule"},
            {"title": "Skill", "rule": {"kind": "skill", "framework": "ESCO"}},
        ]},
        {"title": "Typo", "rule": {"kind": "tag", "tga": "y"}},
    ]))
    assert errors == [
        "steps[1].rule.kind: must be one of credential, achievement, issuer, skill, tag, name",
        "steps[2].steps[0]: must have either a \"rule\" (a requirement) or a \"group\" (\"all\" or \"any\"), not neither",
        "steps[2].steps[1].rule: a skill rule needs a url, a code or a name",
        "steps[2].n: must be a whole number from 1 to 2 (the number of its steps)",
        "steps[3].rule.tga: unknown field for a tag rule",
        "steps[3].rule.tag: is required",
    ]


def test_parse_template_checks_header_fields() -> None:
    errors = template_errors(json.dumps({"format": "other", "version": 2, "title": "", "extra": 1, "steps": []}))
    assert errors == ["extra: unknown field", 'format: must be "wallet-pathway"', "version: must be 1",
                      "title: must not be empty", "steps: must have at least one step"]


@pytest.mark.parametrize("text, expected", [
    ("{not json", "$: The file is not valid JSON (Expecting property name enclosed in double quotes at line 1, column 2)."),
    ("[1, 2]", "$: must be a JSON object"),
    ("[" * 5000 + "]" * 5000, "$: The JSON is nested more than 64 levels deep."),
    (b"\xff{}", "$: The JSON is not UTF-8 text."),
    ('{"title": "a", "title": "b"}', '$: The JSON has the key "title" twice in one object. Programs read such JSON differently (one '
                                     'takes the first value, another the last), so Wallet does not accept it.'),
])
def test_parse_template_rejects_non_documents(text: str | bytes, expected: str) -> None:
    assert template_errors(text) == [expected]


def test_parse_template_rejects_oversized_document() -> None:
    errors = template_errors(document([{"title": "x" * MAX_DOCUMENT_BYTES, "rule": {"kind": "tag", "tag": "x"}}]))
    assert errors[0].startswith("$: the file is")


def test_parse_template_rejects_too_many_steps() -> None:
    steps = [{"title": f"S{i}", "rule": {"kind": "tag", "tag": "x"}} for i in range(MAX_STEPS + 1)]
    assert f"steps: has {MAX_STEPS + 1} steps in all; at most {MAX_STEPS} are allowed" in template_errors(document(steps))


def test_parse_template_rejects_deep_nesting_at_its_path() -> None:
    step: dict[str, Any] = {"title": "leaf", "rule": {"kind": "tag", "tag": "x"}}
    for _ in range(MAX_DEPTH):
        step = {"title": "g", "group": "all", "steps": [step]}
    errors = template_errors(document([step]))
    path = "steps[0]" + ".steps[0]" * (MAX_DEPTH - 1)
    assert errors == [f"{path}.steps: groups are nested too deeply; at most {MAX_DEPTH} levels are allowed"]


def test_parse_template_rejects_duplicate_and_malformed_ids() -> None:
    errors = template_errors(document([
        {"id": "a", "title": "A", "rule": {"kind": "tag", "tag": "x"}},
        {"id": "a", "title": "A again", "rule": {"kind": "tag", "tag": "y"}},
    ]))
    assert errors == ['steps[1].id: "a" is used twice']
    errors = template_errors(document([{"id": "no spaces", "title": "A", "rule": {"kind": "tag", "tag": "x"}}]))
    assert errors[0].startswith("steps[0].id: must be 1 to 64")


def test_parse_template_rejects_bad_rule_values() -> None:
    errors = template_errors(document([
        {"title": "A", "rule": {"kind": "credential", "credential_id": "12"}},
        {"title": "B", "rule": {"kind": "name", "text": "x", "match": "regex"}},
        {"title": "C", "rule": {"kind": "issuer", "id": "   "}},
        {"title": "D", "rule": "tag:x"},
    ]))
    assert errors == ["steps[0].rule.credential_id: must be a positive whole number",
                      "steps[1].rule.match: must be one of contains, exact",
                      "steps[2].rule.id: must be non-empty text",
                      'steps[3].rule: must be an object with a "kind"']


@pytest.mark.parametrize("path", sorted(TEMPLATES.glob("*.json")), ids=lambda p: p.stem)
def test_example_template_is_valid_and_uses_identifiers(path: Path) -> None:
    parsed = parse_template(path.read_bytes())
    requirements = [step for step in iter_steps(parsed.steps) if isinstance(step, Requirement)]
    assert len(requirements) >= 5
    assert any(isinstance(step.rule, SkillRule) and (step.rule.url or step.rule.code) for step in requirements)
    assert parsed.description and parsed.goal and parsed.publisher


def test_example_templates_ship() -> None:
    assert len(list(TEMPLATES.glob("*.json"))) >= 3


# --- editing ------------------------------------------------------------------------------------


def test_insert_and_remove_step_keep_tree_valid() -> None:
    steps = steps_to_json(validate_steps([
        {"id": "g", "title": "G", "group": "any", "n": 2, "steps": [
            {"id": "a", "title": "A", "rule": {"kind": "tag", "tag": "a"}},
            {"id": "b", "title": "B", "rule": {"kind": "tag", "tag": "b"}}]}]))
    added = insert_step(steps, "g", {"id": "c", "title": "C", "rule": {"kind": "tag", "tag": "c"}})
    assert [s.id for s in iter_steps(validate_steps(added))] == ["g", "a", "b", "c"]
    assert [s["id"] for s in steps[0]["steps"]] == ["a", "b"]  # the original is untouched
    removed = remove_step(steps, "b")
    assert removed[0]["n"] == 1
    validate_steps(removed)
    assert remove_step(remove_step(steps, "a"), "b") == []


def test_insert_step_into_a_requirement_is_refused() -> None:
    steps = [{"id": "a", "title": "A", "rule": {"kind": "tag", "tag": "a"}}]
    with pytest.raises(ValidationError, match="not part of this pathway"):
        insert_step(steps, "a", {"title": "x", "rule": {"kind": "tag", "tag": "x"}})
    with pytest.raises(ValidationError, match="not part of this pathway"):
        remove_step(steps, "missing")
