"""What's next on a pathway: the open requirements closest to completing their group."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

from wallet.services.pathway_rules.progress import StepProgress, group_fraction
from wallet.services.pathway_rules.rules import Group


@dataclass
class NextStep:
    """An open requirement worth doing next, with what meeting it would bring."""

    progress: StepProgress
    parent: StepProgress
    # The parent group's fraction once this requirement is met, and the pathway's gain.
    parent_after: Fraction
    gain: Fraction

    @property
    def gain_percent(self) -> int:
        return int(self.gain * 100)


def whats_next(root: StepProgress, limit: int = 3) -> list[NextStep]:
    """Return the open requirements closest to completion: those that finish most of their group first.

    Only requirements still needed are considered: none under a group that is already met, and no
    more from one group than it still needs. Ties go to the larger gain for the whole pathway, then
    to document order.
    """
    candidates: list[tuple[tuple[Fraction, Fraction, int], NextStep]] = []
    for order, (node, path) in enumerate(_open_requirements(root, [])):
        parent = path[-1]
        after = _fractions_if_met(path, node)
        step = NextStep(progress=node, parent=parent, parent_after=after[-1], gain=after[0] - root.fraction)
        if step.gain <= 0:
            continue  # an "any N" group already has N better steps; this one adds nothing
        candidates.append(((-step.parent_after, -step.gain, order), step))
    candidates.sort(key=lambda item: item[0])
    chosen: list[NextStep] = []
    per_parent: dict[int, int] = {}
    for _, step in candidates:
        # No more suggestions from one group than it still needs: any one of three electives is enough.
        still_needed = step.parent.required - step.parent.met_count
        if per_parent.get(id(step.parent), 0) >= still_needed:
            continue
        per_parent[id(step.parent)] = per_parent.get(id(step.parent), 0) + 1
        chosen.append(step)
        if len(chosen) == limit:
            break
    return chosen


def _open_requirements(node: StepProgress, path: list[StepProgress]) -> Iterator[tuple[StepProgress, list[StepProgress]]]:
    if node.is_met:
        return
    if not node.is_group:
        yield node, path
        return
    for child in node.children:
        yield from _open_requirements(child, [*path, node])


def _fractions_if_met(path: list[StepProgress], leaf: StepProgress) -> list[Fraction]:
    """Return each ancestor's fraction (root first) if `leaf` were met."""
    value = Fraction(1)
    below = leaf
    after: list[Fraction] = []
    for ancestor in reversed(path):
        fractions = [value if child is below else child.fraction for child in ancestor.children]
        if isinstance(ancestor.step, Group):  # always: only groups have children
            value = group_fraction(ancestor.step, fractions)
        after.append(value)
        below = ancestor
    after.reverse()
    return after
