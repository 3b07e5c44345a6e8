"""Pathway progress: how far each step of the tree is, from the wallet's credentials.

Arithmetic (documented in docs/pathway-format.md):
- a requirement is met (1) when at least one credential that currently verifies matches its rule, else 0;
- an "all" group is the mean of its steps; an "any N" group is the sum of its N best steps divided by N;
- the pathway is an "all" group of its top-level steps.
Fractions are exact (`fractions.Fraction`), so "met" means exactly 1 and progress never drifts.
"""
from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Literal

from wallet.services.pathway_rules.rules import CredentialFacts, Group, Requirement, Step, rule_to_json

State = Literal["met", "partial", "open"]


@dataclass
class StepProgress:
    """How far one step is, with the credentials behind it."""

    step: Step
    fraction: Fraction
    met_count: int  # requirement: 1 or 0; group: steps met, at most `required`
    required: int
    # Credentials that match and currently verify.
    meeting: list[CredentialFacts] = field(default_factory=list)
    # Credentials that match but do not count (revoked, expired, ...); each says why.
    not_counting: list[CredentialFacts] = field(default_factory=list)
    children: list[StepProgress] = field(default_factory=list)

    @property
    def state(self) -> State:
        """Return "met", "partial" or "open"."""
        if self.fraction >= 1:
            return "met"
        return "partial" if self.fraction > 0 else "open"

    @property
    def is_met(self) -> bool:
        return self.fraction >= 1

    @property
    def percent(self) -> int:
        """Return progress as a whole percent, rounded down so 100 means done."""
        return int(self.fraction * 100)

    @property
    def is_group(self) -> bool:
        return isinstance(self.step, Group)

    @property
    def lost(self) -> bool:
        """Return whether matching credentials exist but none of them counts."""
        return not self.meeting and bool(self.not_counting)

    def walk(self) -> Iterator[StepProgress]:
        """Yield this node and every node below it, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()

    def find(self, step_id: str) -> StepProgress | None:
        """Return the node of a step by id."""
        return next((node for node in self.walk() if node.step.id == step_id), None)

    def to_json(self) -> dict[str, Any]:
        """Return a JSON view for the API."""
        data: dict[str, Any] = {
            "id": self.step.id,
            "title": self.step.title,
            "type": "group" if self.is_group else "requirement",
            "state": self.state,
            "fraction": float(self.fraction),
            "percent": self.percent,
            "met": self.met_count,
            "required": self.required,
        }
        if isinstance(self.step, Requirement):
            data["rule"] = rule_to_json(self.step.rule)
            data["credentials"] = [{"id": f.id, "name": f.name} for f in self.meeting]
            data["not_counting"] = [
                {"id": f.id, "name": f.name, "status": f.status, "reason": f.reason} for f in self.not_counting
            ]
        else:
            data["group"] = self.step.mode
            data["steps"] = [child.to_json() for child in self.children]
        return data


def evaluate(step: Step, facts: Iterable[CredentialFacts]) -> StepProgress:
    """Compute the progress of a step (usually `pathway_root(...)`) from the wallet's credentials."""
    return _evaluate(step, tuple(facts))


def _evaluate(step: Step, facts: tuple[CredentialFacts, ...]) -> StepProgress:
    if isinstance(step, Requirement):
        matching = [f for f in facts if step.rule.matches(f)]
        meeting = [f for f in matching if f.counts]
        met = 1 if meeting else 0
        return StepProgress(step, Fraction(met), met, 1, meeting, [f for f in matching if not f.counts])
    children = [_evaluate(child, facts) for child in step.steps]
    fraction = group_fraction(step, [child.fraction for child in children])
    met_count = min(step.required, sum(1 for child in children if child.is_met))
    return StepProgress(step, fraction, met_count, step.required, children=children)


def group_fraction(group: Group, fractions: Sequence[Fraction]) -> Fraction:
    """Combine the fractions of a group's steps: mean for "all", best `n` over `n` for "any"."""
    if not fractions:
        return Fraction(0)  # a pathway with no steps yet has not started
    if group.mode == "all":
        return sum(fractions, Fraction(0)) / len(fractions)
    n = group.required
    return sum(heapq.nlargest(n, fractions), Fraction(0)) / n
