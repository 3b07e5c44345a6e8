"""The skills behind a learner's credentials, grouped by framework, each with its evidence.

Skills come from OB 2.0 `alignment`, OB 3.0 `alignment` and achievement skills, as the verification
core normalises them into each credential's metadata. The same skill from several providers shows
once when they name it by the same target URL, or by the same framework and code.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from wallet.services.pathway_rules import Alignment, CredentialFacts, SkillRule, normalize_identifier, rule_to_json
from wallet.services.pathways import credential_facts, wallet_credentials

NO_FRAMEWORK = "Other skills"


@dataclass
class Skill:
    """One skill or competency, with the credentials that evidence it."""

    name: str
    framework: str
    alignment: Alignment
    credentials: list[CredentialFacts] = field(default_factory=list)

    @property
    def verified(self) -> list[CredentialFacts]:
        """Return the evidencing credentials that currently count."""
        return [f for f in self.credentials if f.counts]

    @property
    def rule(self) -> dict[str, Any]:
        """Return the pathway rule (template form) that this skill meets."""
        return rule_to_json(SkillRule.for_alignment(self.alignment))


@dataclass
class Framework:
    """A framework (ESCO, SFIA, DigComp, O*NET, a provider's own...) and its skills in this wallet."""

    name: str
    skills: list[Skill]


def skill_key(alignment: Alignment) -> tuple[str, ...]:
    """Return what makes two alignments the same skill: the target URL, else framework + code or name."""
    if alignment.url:
        return ("url", normalize_identifier(alignment.url))
    framework = (alignment.framework or "").casefold().strip()
    if alignment.code:
        return ("code", framework, alignment.code.casefold().strip())
    return ("name", framework, " ".join((alignment.name or "").split()).casefold())


def framework_label(alignment: Alignment) -> str:
    """Return the framework's name, or the host of the target URL when the credential names none."""
    if alignment.framework:
        return alignment.framework
    host = urlsplit(alignment.url or "").hostname
    return host or NO_FRAMEWORK


def collect_skills(facts: Iterable[CredentialFacts]) -> list[Framework]:
    """Group the credentials' alignments by framework and skill, most evidenced skills first."""
    skills: dict[tuple[str, ...], Skill] = {}
    for credential in facts:
        for alignment in credential.alignments:
            if not (alignment.url or alignment.code or alignment.name):
                continue
            key = skill_key(alignment)
            skill = skills.get(key)
            if skill is None:
                name = alignment.name or alignment.code or alignment.url or ""
                skill = skills[key] = Skill(name=name, framework=framework_label(alignment), alignment=alignment)
            if all(existing.id != credential.id for existing in skill.credentials):
                skill.credentials.append(credential)
    frameworks: dict[str, list[Skill]] = {}
    for skill in skills.values():
        frameworks.setdefault(skill.framework, []).append(skill)
    ordered = sorted(frameworks.items(), key=lambda item: (item[0] == NO_FRAMEWORK, item[0].casefold()))
    return [
        Framework(name, sorted(items, key=lambda s: (-len(s.verified), -len(s.credentials), s.name.casefold())))
        for name, items in ordered
    ]


def skills_of(session: Session, owner_id: int) -> list[Framework]:
    """Return the skills behind the learner's credentials, grouped by framework."""
    return collect_skills(credential_facts(c) for c in wallet_credentials(session, owner_id))
