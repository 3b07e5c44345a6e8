"""Pathway rules: the step tree, which credentials meet a requirement, progress, and the template format.

Pure: no Flask, no database, no I/O. The service builds `CredentialFacts` from the learner's
credentials and hands them to `evaluate`; the same code serves the page, the dashboard and the API.
One module per part, each name re-exported here (`from wallet.services import pathway_rules as rules`):

- `rules`: what the matcher knows about a credential, the rule kinds, and the step tree;
- `progress`: how far each step is (docs/pathway-format.md gives the arithmetic);
- `suggestions`: what's next, the open requirements closest to completion;
- `template`: the template format, parsed and validated with errors by JSON path, exported and edited.
"""
from __future__ import annotations

from wallet.services.pathway_rules.progress import State, StepProgress, evaluate, group_fraction
from wallet.services.pathway_rules.rules import (
    COUNTING_STATUSES,
    GROUP_MODES,
    NAME_MATCHES,
    NOT_ISSUED_TO_LEARNER,
    ROOT_ID,
    RULE_KINDS,
    STATUS_REASONS,
    WAITING,
    AchievementRule,
    Alignment,
    CredentialFacts,
    CredentialRule,
    Group,
    IssuerRule,
    NameRule,
    Requirement,
    Rule,
    SkillRule,
    Step,
    TagRule,
    _fold,
    issuer_domain,
    iter_steps,
    normalize_identifier,
    pathway_root,
    rule_to_json,
    step_to_json,
    steps_to_json,
    waiting_for,
)
from wallet.services.pathway_rules.suggestions import NextStep, whats_next
from wallet.services.pathway_rules.template import (
    FORMAT_NAME,
    FORMAT_VERSION,
    MAX_DEPTH,
    MAX_DOCUMENT_BYTES,
    MAX_ERRORS,
    MAX_STEPS,
    MAX_TEXT,
    MAX_TITLE,
    MAX_VALUE,
    STEP_ID_PATTERN,
    PathwayDocument,
    TemplateError,
    insert_step,
    loads_steps,
    new_step_id,
    parse_template,
    remove_step,
    rule_fields,
    validate_details,
    validate_document,
    validate_steps,
)

__all__ = [
    "COUNTING_STATUSES", "FORMAT_NAME", "FORMAT_VERSION", "GROUP_MODES", "MAX_DEPTH", "MAX_DOCUMENT_BYTES",
    "MAX_ERRORS", "MAX_STEPS", "MAX_TEXT", "MAX_TITLE", "MAX_VALUE", "NAME_MATCHES", "NOT_ISSUED_TO_LEARNER",
    "ROOT_ID", "RULE_KINDS", "STATUS_REASONS", "STEP_ID_PATTERN", "WAITING",
    "AchievementRule", "Alignment", "CredentialFacts", "CredentialRule", "Group", "IssuerRule", "NameRule",
    "NextStep", "PathwayDocument", "Requirement", "Rule", "SkillRule", "State", "Step", "StepProgress", "TagRule",
    "TemplateError",
    "evaluate", "group_fraction", "insert_step", "issuer_domain", "iter_steps", "loads_steps", "new_step_id",
    "normalize_identifier", "parse_template", "pathway_root", "remove_step", "rule_fields", "rule_to_json",
    "step_to_json", "steps_to_json", "validate_details", "validate_document", "validate_steps", "waiting_for",
    "whats_next",
]
