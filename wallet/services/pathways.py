"""A learner's pathways: create, import, edit, export and delete them, and compute their progress.

Progress is never stored: every view computes it from the learner's credentials as they verify now
(pathway_rules.evaluate), so adding, re-verifying or deleting a credential shows at once. Every
query is scoped to the acting learner (docs/security.md F3): another learner's pathway is "not found".
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from wallet.db import utcnow
from wallet.models.credential import RECIPIENT_MISMATCH, TAG_ISSUER, TAG_LEARNER, Credential
from wallet.models.pathway import Pathway
from wallet.services import pathway_rules as rules
from wallet.services.errors import NotFoundError, ValidationError
from wallet.services.pathway_rules import (
    Alignment,
    CredentialFacts,
    NextStep,
    PathwayDocument,
    Step,
    StepProgress,
    TemplateError,
)
from wallet.formatting import credential_state, format_date
from wallet.services.verification.result import Status
from wallet.services.verification.states import state_of

MAX_PATHWAYS = 100
TEMPLATE_PACKAGE = "wallet"
TEMPLATE_FOLDER = "pathway_templates"
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,80}$")


# ---------------------------------------------------------------------------------------------
# Credentials as the matcher sees them


def status_reason(credential: Credential) -> str:
    """Say in plain words why a credential does not count toward progress now ("" if it does).

    Each reason starts with the state's word (services/verification/states.py), then says when it was found.
    """
    status, checked = credential.status, format_date(credential.checked_at)
    if status == Status.VALID:
        return ""
    if status == Status.REVOKED:
        return f"{state_of(status).label} (found when checked on {checked})"
    if status in (Status.EXPIRED, Status.NOT_YET_VALID):
        return credential_state(credential)
    if status == Status.INVALID:
        return f"{state_of(status).label}: it failed verification on {checked}"
    if status == Status.UNVERIFIABLE:
        return f"{rules.waiting_for(status)} when checked on {checked}"
    return rules.STATUS_REASONS.get(status, "Not verified")


def credential_facts(credential: Credential) -> CredentialFacts:
    """Return what the pathway rules match on for one credential."""
    details = credential.details or {}
    alignments = tuple(
        Alignment(**{key: _text(item.get(key)) for key in ("name", "url", "framework", "code", "description")})
        for item in details.get("alignments") or [] if isinstance(item, dict)
    )
    return CredentialFacts(
        id=credential.id,
        name=credential.name,
        status=credential.status,
        status_reason=status_reason(credential),
        issuer_ids=tuple(dict.fromkeys(i for i in (credential.issuer_id, credential.verified_issuer) if i)),
        issuer_name=credential.issuer_name,
        achievement_id=_text(details.get("achievement_id")),
        alignments=alignments,
        # The issuer's tags and the learner's own; skill names are matched by skill rules instead.
        tags=tuple(t.name for t in credential.tags if t.kind in (TAG_ISSUER, TAG_LEARNER)),
        issued_to_learner=credential.recipient_state != RECIPIENT_MISMATCH,
    )


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def wallet_credentials(session: Session, owner_id: int) -> list[Credential]:
    """Return all of the learner's credentials, with their tags, oldest first."""
    query = (select(Credential).where(Credential.owner_id == owner_id)
             .options(selectinload(Credential.tags)).order_by(Credential.id))
    return list(session.scalars(query))


# ---------------------------------------------------------------------------------------------
# Reading pathways


def list_pathways(session: Session, owner_id: int) -> list[Pathway]:
    """Return the learner's pathways, most recently changed first."""
    query = select(Pathway).where(Pathway.owner_id == owner_id).order_by(Pathway.updated_at.desc(), Pathway.id.desc())
    return list(session.scalars(query))


def get_pathway(session: Session, owner_id: int, pathway_id: int) -> Pathway:
    """Return the learner's pathway; NotFoundError if there is none by that id for them."""
    pathway = session.scalar(select(Pathway).where(Pathway.id == pathway_id, Pathway.owner_id == owner_id))
    if pathway is None:
        raise NotFoundError("There is no such pathway in your wallet.")
    return pathway


def pathway_steps(pathway: Pathway) -> tuple[Step, ...]:
    """Return the pathway's step tree (stored validated; checked again as it is read)."""
    return rules.validate_steps(pathway.steps, draft=True) if pathway.steps else ()


@dataclass
class PathwayProgress:
    """A pathway with its computed progress, its next steps and the credentials behind them."""

    pathway: Pathway
    progress: StepProgress
    next_steps: list[NextStep]
    credentials: dict[int, Credential]

    @property
    def counting_credentials(self) -> list[Credential]:
        """Return the credentials that currently count toward the pathway, each once."""
        ids = dict.fromkeys(f.id for node in self.progress.walk() for f in node.meeting)
        return [self.credentials[i] for i in ids if i in self.credentials]


def progress_of(pathway: Pathway, credentials: Sequence[Credential], *, next_limit: int = 3) -> PathwayProgress:
    """Compute a pathway's progress from the given credentials (the learner's own)."""
    facts = [credential_facts(c) for c in credentials]
    progress = rules.evaluate(rules.pathway_root(pathway.title, pathway_steps(pathway)), facts)
    return PathwayProgress(pathway, progress, rules.whats_next(progress, limit=next_limit),
                           {c.id: c for c in credentials})


def pathway_progress(session: Session, owner_id: int, pathway_id: int, *, next_limit: int = 3) -> PathwayProgress:
    """Return one pathway of the learner with its progress computed now."""
    pathway = get_pathway(session, owner_id, pathway_id)
    return progress_of(pathway, wallet_credentials(session, owner_id), next_limit=next_limit)


def all_progress(session: Session, owner_id: int) -> list[PathwayProgress]:
    """Return every pathway of the learner with its progress (the credentials are read once)."""
    pathways = list_pathways(session, owner_id)
    if not pathways:
        return []
    credentials = wallet_credentials(session, owner_id)
    return [progress_of(pathway, credentials) for pathway in pathways]


# ---------------------------------------------------------------------------------------------
# Creating, importing and exporting


def create_pathway(
    session: Session, owner_id: int, *, title: str, description: str = "", goal: str = ""
) -> Pathway:
    """Create a pathway with no steps yet; raise TemplateError for a missing or too long title."""
    document = rules.validate_details(title, description, goal)
    return _add(session, owner_id, document, steps=[], source_template=None)


def import_template(session: Session, owner_id: int, text: str | bytes, *, source: str = "upload") -> Pathway:
    """Create a pathway from a template document; raise TemplateError (nothing created) if it is invalid."""
    return create_from_document(session, owner_id, rules.parse_template(text), source=source)


def create_from_document(session: Session, owner_id: int, document: PathwayDocument, *, source: str | None) -> Pathway:
    """Create a pathway from a validated document."""
    return _add(session, owner_id, document, steps=rules.steps_to_json(document.steps), source_template=source)


def create_from_example(session: Session, owner_id: int, slug: str) -> Pathway:
    """Create a pathway from one of the example templates shipped with Wallet."""
    example = next((e for e in example_templates() if e.slug == slug), None)
    if example is None:
        raise NotFoundError("There is no such example pathway.")
    return create_from_document(session, owner_id, example.document, source=example.slug)


def _add(session: Session, owner_id: int, document: PathwayDocument, *, steps: list[dict[str, Any]],
         source_template: str | None) -> Pathway:
    count = session.scalar(select(func.count()).select_from(Pathway).where(Pathway.owner_id == owner_id)) or 0
    if count >= MAX_PATHWAYS:
        raise ValidationError(f"You can keep at most {MAX_PATHWAYS} pathways. Delete one you no longer follow first.")
    pathway = Pathway(owner_id=owner_id, title=document.title, description=document.description,
                      goal=document.goal, publisher=document.publisher, steps=steps,
                      source_template=source_template)
    session.add(pathway)
    session.flush()
    return pathway


def export_document(pathway: Pathway) -> dict[str, Any]:
    """Return the pathway in the template format (docs/pathway-format.md)."""
    document = PathwayDocument(title=pathway.title, description=pathway.description, goal=pathway.goal,
                               publisher=pathway.publisher, steps=pathway_steps(pathway))
    return document.to_json()


def export_filename(pathway: Pathway) -> str:
    """Return a safe download name for the exported template."""
    slug = re.sub(r"[^a-z0-9]+", "-", pathway.title.lower()).strip("-")[:60] or "pathway"
    return f"{slug}.pathway.json"


@dataclass(frozen=True)
class ExampleTemplate:
    """A template that ships with Wallet."""

    slug: str
    document: PathwayDocument

    @property
    def step_count(self) -> int:
        return sum(1 for step in rules.iter_steps(self.document.steps) if isinstance(step, rules.Requirement))


@cache
def example_templates() -> tuple[ExampleTemplate, ...]:
    """Return the example templates in wallet/pathway_templates, by title (read once per process)."""
    folder = resources.files(TEMPLATE_PACKAGE) / TEMPLATE_FOLDER
    examples = [
        ExampleTemplate(entry.name.removesuffix(".json"), rules.parse_template(entry.read_bytes()))
        for entry in folder.iterdir() if entry.name.endswith(".json") and _SLUG.match(entry.name.removesuffix(".json"))
    ]
    return tuple(sorted(examples, key=lambda e: e.document.title))


# ---------------------------------------------------------------------------------------------
# Editing


def update_details(session: Session, owner_id: int, pathway_id: int, *, title: str, description: str = "",
                   goal: str = "") -> Pathway:
    """Change the title, description and goal; raise TemplateError for a missing or too long field."""
    pathway = get_pathway(session, owner_id, pathway_id)
    document = rules.validate_details(title, description, goal)
    pathway.title, pathway.description, pathway.goal = document.title, document.description, document.goal
    return _touch(session, pathway)


def replace_steps(session: Session, owner_id: int, pathway_id: int, steps: Any) -> Pathway:
    """Replace the whole step tree (a list in the template form); raise TemplateError by path."""
    pathway = get_pathway(session, owner_id, pathway_id)
    pathway.steps = rules.steps_to_json(rules.validate_steps(steps, draft=True))
    return _touch(session, pathway)


def replace_steps_text(session: Session, owner_id: int, pathway_id: int, text: str) -> Pathway:
    """Replace the step tree from the editor's JSON text; raise TemplateError by path."""
    get_pathway(session, owner_id, pathway_id)  # someone else's pathway is "not found", not "bad JSON"
    return replace_steps(session, owner_id, pathway_id, rules.loads_steps(text))


def replace_document(session: Session, owner_id: int, pathway_id: int, document: PathwayDocument) -> Pathway:
    """Replace everything about a pathway with a validated document."""
    pathway = get_pathway(session, owner_id, pathway_id)
    pathway.title, pathway.description, pathway.goal = document.title, document.description, document.goal
    pathway.publisher = document.publisher
    pathway.steps = rules.steps_to_json(document.steps)
    return _touch(session, pathway)


def add_step(session: Session, owner_id: int, pathway_id: int, *, parent_id: str | None, step: dict[str, Any]) -> Pathway:
    """Add a requirement or group (template form) under `parent_id` (None: the top level)."""
    pathway = get_pathway(session, owner_id, pathway_id)
    used = {s.id for s in rules.iter_steps(pathway_steps(pathway))}
    step = {"id": rules.new_step_id(used, _slug_for(step.get("title"))), **step}
    return replace_steps(session, owner_id, pathway_id, rules.insert_step(pathway.steps, parent_id, step))


def remove_step(session: Session, owner_id: int, pathway_id: int, step_id: str) -> Pathway:
    """Remove a step and everything under it."""
    pathway = get_pathway(session, owner_id, pathway_id)
    return replace_steps(session, owner_id, pathway_id, rules.remove_step(pathway.steps, step_id))


def delete_pathway(session: Session, owner_id: int, pathway_id: int) -> None:
    """Delete the learner's pathway (their credentials stay as they are)."""
    session.delete(get_pathway(session, owner_id, pathway_id))
    session.flush()


def requirement_from_form(form: Mapping[str, str]) -> dict[str, Any]:
    """Build a requirement (template form) from the add-requirement form's plain values.

    `kind` picks the rule; `value` is the achievement id, issuer, tag or name text, or for a skill its
    URL or code (explicit `url`, `code`, `framework`, `name` fields win); `credential_id` picks a
    credential; `exact` makes a name rule exact. Raises ValidationError with what to fill in.
    """
    kind = (form.get("kind") or "").strip()
    value = (form.get("value") or "").strip()
    rule: dict[str, Any] = {"kind": kind}
    if kind == "credential":
        credential_id = (form.get("credential_id") or "").strip()
        if not credential_id.isdigit():
            raise ValidationError("Choose the credential that meets this step.")
        rule["credential_id"] = int(credential_id)
    elif kind in ("achievement", "issuer"):
        rule["id"] = value
    elif kind == "tag":
        rule["tag"] = value.lstrip("#")
    elif kind == "name":
        rule.update(text=value, match="exact" if form.get("exact") else "contains")
    elif kind == "skill":
        for name in ("url", "framework", "code", "name"):
            if (form.get(name) or "").strip():
                rule[name] = form[name].strip()
        if value and not ({"url", "code"} & set(rule)):
            rule["url" if value.lower().startswith(("http://", "https://")) else "code"] = value
    else:
        raise ValidationError("Choose what meets this step.")
    if kind != "credential" and not any(rule.get(k) for k in ("id", "tag", "text", "url", "code", "name")):
        raise ValidationError(f"Fill in the {_VALUE_LABELS[kind]} that meets this step.")
    title = (form.get("title") or "").strip() or _default_title(kind, rule)
    step: dict[str, Any] = {"title": title, "rule": rule}
    if (form.get("description") or "").strip():
        step["description"] = form["description"].strip()
    return step


_VALUE_LABELS = {
    "achievement": "achievement or badge id",
    "issuer": "issuer (id, DID or domain)",
    "tag": "tag",
    "name": "text of the name",
    "skill": "skill URL, code or name",
}


def group_step(title: str, mode: str, n: int | str | None = None, description: str = "") -> dict[str, Any]:
    """Build a group with no steps yet in the template form (allowed while the pathway is a draft)."""
    step: dict[str, Any] = {"title": (title or "").strip(), "group": mode, "steps": []}
    if mode == "any":
        step["n"] = int(n) if isinstance(n, str) and n.isdigit() else n
    if description.strip():
        step["description"] = description.strip()
    return step


def _default_title(kind: str, rule: dict[str, Any]) -> str:
    value = next((str(rule[k]) for k in ("name", "text", "tag", "code", "id", "url", "credential_id") if rule.get(k)), "")
    label = {"credential": "Credential #", "tag": "Tagged ", "name": ""}.get(kind, "")
    return f"{label}{value}"[: rules.MAX_TITLE]


def _slug_for(title: Any) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", str(title or "").lower()).strip("-")[:40].strip("-")
    return slug or "step"


def _touch(session: Session, pathway: Pathway) -> Pathway:
    pathway.updated_at = utcnow()
    session.flush()
    return pathway


def steps_json_text(pathway: Pathway) -> str:
    """Return the step tree as indented JSON for the editor."""
    return json.dumps(pathway.steps, indent=2, ensure_ascii=False)


def pathways_for_picker(session: Session, owner_id: int) -> list[tuple[int, str]]:
    """Return (id, title) of the learner's pathways, for "add to pathway" choices."""
    return [(p.id, p.title) for p in list_pathways(session, owner_id)]


def groups_of(pathway: Pathway) -> list[tuple[str, str]]:
    """Return (id, title) of the groups a step can be added to, the top level first."""
    return [(rules.ROOT_ID, "Top level")] + [
        (step.id, step.title) for step in rules.iter_steps(pathway_steps(pathway)) if isinstance(step, rules.Group)
    ]
