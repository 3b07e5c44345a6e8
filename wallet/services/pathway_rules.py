"""Pathway rules: the step tree, which credentials meet a requirement, progress, and the template format.

Pure: no Flask, no database, no I/O. The service builds `CredentialFacts` from the learner's
credentials and hands them to `evaluate`; the same code serves the page, the dashboard and the API.

Arithmetic (documented in docs/pathway-format.md):
- a requirement is met (1) when at least one credential that currently verifies matches its rule, else 0;
- an "all" group is the mean of its steps; an "any N" group is the sum of its N best steps divided by N;
- the pathway is an "all" group of its top-level steps.
Fractions are exact (`fractions.Fraction`), so "met" means exactly 1 and progress never drifts.
"""
from __future__ import annotations

import copy
import heapq
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, ClassVar, Literal
from urllib.parse import unquote, urlsplit

from wallet.services.errors import ValidationError
from wallet.services.verification.caches import cache_short_strings
from wallet.services.verification.errors import MalformedJSONError
from wallet.services.verification.jsonutil import loads_strict

FORMAT_NAME = "wallet-pathway"
FORMAT_VERSION = 1

RULE_KINDS = ("credential", "achievement", "issuer", "skill", "tag", "name")
GROUP_MODES = ("all", "any")
NAME_MATCHES = ("contains", "exact")

# Only a credential that verifies right now counts (issue: "only credentials that currently verify
# count"). `unverifiable` does not count either: Wallet could not establish that it is genuine, so the
# step says it is waiting for verification instead of claiming it.
COUNTING_STATUSES = frozenset({"valid"})

# Why a matching credential does not count, when the caller gives no more precise reason (DESIGN.md words).
STATUS_REASONS = {
    "revoked": "Revoked by issuer",
    "invalid": "Not genuine",
    "expired": "Expired",
    "not_yet_valid": "Not valid yet",
    "unverifiable": "Waiting for verification: couldn't verify",
    "error": "Waiting for verification: it could not be checked",
    "no_credential": "Not a credential Wallet could read",
}

NOT_ISSUED_TO_LEARNER = "Not issued to one of your verified email addresses or identifiers"

# Limits: a template is untrusted input (security.md C8, E8).
MAX_DOCUMENT_BYTES = 256 * 1024
MAX_DEPTH = 6  # groups inside groups, counting the top-level steps as depth 1
MAX_STEPS = 300
MAX_TITLE = 200
MAX_TEXT = 4000
MAX_VALUE = 2048
MAX_ERRORS = 50
STEP_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

State = Literal["met", "partial", "open"]


# ---------------------------------------------------------------------------------------------
# What the matcher looks at
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Alignment:
    """A skill or competency a credential claims: an OB alignment or an achievement skill."""

    name: str | None = None
    url: str | None = None
    framework: str | None = None
    code: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class CredentialFacts:
    """What the matcher knows about one credential in the wallet."""

    id: int
    name: str
    status: str = "valid"
    # Plain words for why it does not count ("Revoked by issuer on 3 May 2026"); "" = use the default.
    status_reason: str = ""
    # Every identifier the issuer is known by: the issuer id and the verified issuer (DID or domain).
    issuer_ids: tuple[str, ...] = ()
    issuer_name: str | None = None
    achievement_id: str | None = None
    alignments: tuple[Alignment, ...] = ()
    tags: tuple[str, ...] = ()
    # False when it names a recipient who is none of the learner's verified identities (security.md D18).
    issued_to_learner: bool = True

    @property
    def counts(self) -> bool:
        """Return whether this credential currently verifies, is the learner's, and so counts toward progress."""
        return self.status in COUNTING_STATUSES and self.issued_to_learner

    @property
    def reason(self) -> str:
        """Say why this credential does not count (empty when it does)."""
        if self.counts:
            return ""
        if self.status in COUNTING_STATUSES:
            return NOT_ISSUED_TO_LEARNER
        return self.status_reason or STATUS_REASONS.get(self.status, "Not verified")


# ---------------------------------------------------------------------------------------------
# Rules
# ---------------------------------------------------------------------------------------------


# The same names, tags and ids are compared for every step of a tree. They come from credentials,
# so only short ones are kept: the caches stay a few megabytes whatever a credential holds.
@cache_short_strings(maxsize=4096, max_chars=200)
def _fold(text: str | None) -> str:
    """Compare text without case or repeated whitespace."""
    return " ".join((text or "").split()).casefold()


@cache_short_strings(maxsize=4096, max_chars=200)
def normalize_identifier(value: str | None) -> str:
    """Normalise an id or URL for comparison: http(s) scheme and host lower-cased, no trailing slash."""
    value = (value or "").strip()
    parts = urlsplit(value)
    if parts.scheme.lower() in ("http", "https") and parts.netloc:
        path = parts.path.rstrip("/")
        rebuilt = f"{parts.scheme.lower()}://{parts.netloc.lower()}{path}"
        if parts.query:
            rebuilt += f"?{parts.query}"
        if parts.fragment:
            rebuilt += f"#{parts.fragment}"
        return rebuilt
    return value


def issuer_domain(identifier: str) -> str | None:
    """Return the domain an issuer identifier lives on (URL host or did:web host), if any."""
    identifier = identifier.strip()
    if identifier.startswith("did:web:"):
        # did:web: the first segment is the host, a port is encoded as %3A (DID Web method §3.1).
        host = unquote(identifier[len("did:web:"):].split(":", 1)[0])
        return host.split(":", 1)[0].lower() or None
    parts = urlsplit(identifier)
    if parts.scheme.lower() in ("http", "https") and parts.hostname:
        return parts.hostname.lower()
    if _is_bare_domain(identifier):
        return identifier.lower()
    return None


def _is_bare_domain(value: str) -> bool:
    return bool(re.fullmatch(r"(?i)[a-z0-9-]+(\.[a-z0-9-]+)+", value))


@dataclass(frozen=True)
class CredentialRule:
    """Met by one particular credential of this wallet."""

    kind: ClassVar[str] = "credential"
    credential_id: int

    def matches(self, facts: CredentialFacts) -> bool:
        return facts.id == self.credential_id

    def describe(self) -> str:
        return f"The credential #{self.credential_id} in your wallet"


@dataclass(frozen=True)
class AchievementRule:
    """Met by a credential for one achievement (OB 3.0 Achievement id, OB 2.0 BadgeClass id)."""

    kind: ClassVar[str] = "achievement"
    id: str

    def matches(self, facts: CredentialFacts) -> bool:
        return bool(facts.achievement_id) and normalize_identifier(facts.achievement_id) == normalize_identifier(self.id)

    def describe(self) -> str:
        return f"The achievement {self.id}"


@dataclass(frozen=True)
class IssuerRule:
    """Met by any credential from one issuer: its id (URL or DID) or a bare domain."""

    kind: ClassVar[str] = "issuer"
    id: str

    def matches(self, facts: CredentialFacts) -> bool:
        wanted = normalize_identifier(self.id)
        if any(normalize_identifier(known) == wanted for known in facts.issuer_ids):
            return True
        # A bare domain matches issuer ids on exactly that host (not subdomains: a subdomain can be
        # someone else's, as on shared hosting).
        if _is_bare_domain(self.id.strip()):
            domain = self.id.strip().lower()
            return any(issuer_domain(known) == domain for known in facts.issuer_ids)
        return False

    def describe(self) -> str:
        return f"Any credential from {self.id}"


@dataclass(frozen=True)
class SkillRule:
    """Met by a credential aligned to a skill: its target URL, or framework + code, or framework + name."""

    kind: ClassVar[str] = "skill"
    url: str | None = None
    framework: str | None = None
    code: str | None = None
    name: str | None = None

    def matches(self, facts: CredentialFacts) -> bool:
        return any(self.matches_alignment(alignment) for alignment in facts.alignments)

    def matches_alignment(self, alignment: Alignment) -> bool:
        """Return whether one alignment is this skill."""
        if self.url and alignment.url and normalize_identifier(self.url) == normalize_identifier(alignment.url):
            return True
        if self.framework and _fold(self.framework) != _fold(alignment.framework):
            return False
        if self.code:
            return _fold(self.code) == _fold(alignment.code)
        # A name is only used when no identifier was given: names of skills differ between providers.
        if self.name and not self.url:
            return _fold(self.name) == _fold(alignment.name)
        return False

    @classmethod
    def for_alignment(cls, alignment: Alignment) -> SkillRule:
        """Return the rule that matches this alignment by its most stable identifier."""
        if alignment.url:
            return cls(url=alignment.url, framework=alignment.framework, name=alignment.name)
        if alignment.code:
            return cls(framework=alignment.framework, code=alignment.code, name=alignment.name)
        return cls(framework=alignment.framework, name=alignment.name)

    def describe(self) -> str:
        label = self.name or self.code or self.url or "a skill"
        if self.code and self.name:
            label = f"{self.name} ({self.code})"
        return f"A credential showing the skill {label}" + (f" in {self.framework}" if self.framework else "")


@dataclass(frozen=True)
class TagRule:
    """Met by a credential carrying a tag (the issuer's tags or the learner's)."""

    kind: ClassVar[str] = "tag"
    tag: str

    def matches(self, facts: CredentialFacts) -> bool:
        wanted = _fold(self.tag.lstrip("#"))
        return any(_fold(tag.lstrip("#")) == wanted for tag in facts.tags)

    def describe(self) -> str:
        return f"A credential tagged “{self.tag}”"


@dataclass(frozen=True)
class NameRule:
    """Met by a credential whose name contains (or exactly is) a text, ignoring case."""

    kind: ClassVar[str] = "name"
    text: str
    match: str = "contains"

    def matches(self, facts: CredentialFacts) -> bool:
        wanted, name = _fold(self.text), _fold(facts.name)
        return name == wanted if self.match == "exact" else bool(wanted) and wanted in name

    def describe(self) -> str:
        verb = "named" if self.match == "exact" else "whose name contains"
        return f"A credential {verb} “{self.text}”"


Rule = CredentialRule | AchievementRule | IssuerRule | SkillRule | TagRule | NameRule

# kind -> (class, {json field: (type, required)}); the template validator and the parser share it.
_RULES: dict[str, tuple[type, dict[str, tuple[type, bool]]]] = {
    "credential": (CredentialRule, {"credential_id": (int, True)}),
    "achievement": (AchievementRule, {"id": (str, True)}),
    "issuer": (IssuerRule, {"id": (str, True)}),
    "skill": (SkillRule, {"url": (str, False), "framework": (str, False), "code": (str, False), "name": (str, False)}),
    "tag": (TagRule, {"tag": (str, True)}),
    "name": (NameRule, {"text": (str, True), "match": (str, False)}),
}


def rule_to_json(rule: Rule) -> dict[str, Any]:
    """Return the template form of a rule."""
    fields = _RULES[rule.kind][1]
    data: dict[str, Any] = {"kind": rule.kind}
    for name in fields:
        value = getattr(rule, name)
        if value is not None:
            data[name] = value
    return data


# ---------------------------------------------------------------------------------------------
# The step tree
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Requirement:
    """A step met by credentials that match its rule."""

    id: str
    title: str
    rule: Rule
    description: str = ""


@dataclass(frozen=True)
class Group:
    """A step made of steps: all of them, or any `n` of them."""

    id: str
    title: str
    mode: str
    steps: tuple[Step, ...]
    n: int | None = None
    description: str = ""

    @property
    def required(self) -> int:
        """Return how many of its steps must be met."""
        return len(self.steps) if self.mode == "all" else int(self.n or 1)


Step = Requirement | Group
ROOT_ID = "pathway"


def pathway_root(title: str, steps: Sequence[Step]) -> Group:
    """Return the whole pathway as one "all of" group of its top-level steps."""
    return Group(id=ROOT_ID, title=title, mode="all", steps=tuple(steps))


def iter_steps(steps: Iterable[Step]) -> Iterator[Step]:
    """Yield every step of a tree, depth first, in document order."""
    for step in steps:
        yield step
        if isinstance(step, Group):
            yield from iter_steps(step.steps)


def step_to_json(step: Step) -> dict[str, Any]:
    """Return the template form of a step."""
    data: dict[str, Any] = {"id": step.id, "title": step.title}
    if step.description:
        data["description"] = step.description
    if isinstance(step, Requirement):
        data["rule"] = rule_to_json(step.rule)
    else:
        data["group"] = step.mode
        if step.mode == "any":
            data["n"] = step.required
        data["steps"] = [step_to_json(child) for child in step.steps]
    return data


def steps_to_json(steps: Iterable[Step]) -> list[dict[str, Any]]:
    """Return the template form of a list of steps."""
    return [step_to_json(step) for step in steps]


# ---------------------------------------------------------------------------------------------
# Progress
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# The template format: parsing and validation with errors by JSON path
# ---------------------------------------------------------------------------------------------


class TemplateError(ValidationError):
    """A pathway document or step list was refused; `errors` lists each problem as "path: message"."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        count = len(errors)
        summary = errors[0] if count == 1 else f"{errors[0]} (and {count - 1} more)"
        super().__init__(f"The pathway was not saved because of {count} problem{'s' if count > 1 else ''}: {summary}")


@dataclass(frozen=True)
class PathwayDocument:
    """A validated pathway template."""

    title: str
    steps: tuple[Step, ...]
    description: str = ""
    goal: str = ""
    publisher: str = ""

    def to_json(self) -> dict[str, Any]:
        """Return the document in the template format."""
        data: dict[str, Any] = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "title": self.title}
        for name in ("description", "goal", "publisher"):
            if getattr(self, name):
                data[name] = getattr(self, name)
        data["steps"] = steps_to_json(self.steps)
        return data


_DOCUMENT_FIELDS = {"format", "version", "title", "description", "goal", "publisher", "steps"}
_STEP_FIELDS = {"id", "title", "description", "rule", "group", "n", "steps"}


def parse_template(text: str | bytes) -> PathwayDocument:
    """Parse and validate a template document; raise TemplateError listing every problem by path."""
    size = len(text.encode("utf-8") if isinstance(text, str) else text)
    if size > MAX_DOCUMENT_BYTES:
        raise TemplateError([f"$: the file is {size:,} bytes; a pathway template may be at most {MAX_DOCUMENT_BYTES:,}"])
    try:
        # The same strict reader as credentials: no duplicate keys, NaN or runaway nesting (security.md D1-D4).
        data = loads_strict(text)
    except MalformedJSONError as error:
        raise TemplateError([f"$: {error}"]) from None
    return validate_document(data)


def validate_document(data: Any) -> PathwayDocument:
    """Validate a decoded template document; raise TemplateError listing every problem by path."""
    errors = _Errors()
    if not isinstance(data, dict):
        raise TemplateError(["$: must be a JSON object"])
    for key in sorted(set(data) - _DOCUMENT_FIELDS, key=str):
        errors.add(_key_path("", key), "unknown field")
    if data.get("format") != FORMAT_NAME:
        errors.add("format", f"must be \"{FORMAT_NAME}\"")
    version = data.get("version")
    if version != FORMAT_VERSION or isinstance(version, bool):
        errors.add("version", f"must be {FORMAT_VERSION}")
    details = _details(data, errors)
    steps = _Walk(errors, draft=False).steps(data.get("steps"), "steps")
    errors.raise_if_any()
    return PathwayDocument(steps=steps, **details)


def validate_details(title: Any, description: Any = "", goal: Any = "") -> PathwayDocument:
    """Validate a pathway's own fields with the template's rules; the result has no steps."""
    errors = _Errors()
    details = _details({"title": title, "description": description, "goal": goal}, errors)
    errors.raise_if_any()
    return PathwayDocument(steps=(), **details)


def validate_steps(data: Any, path: str = "steps", *, draft: bool = False) -> tuple[Step, ...]:
    """Validate a list of steps (the editor's and the API's form); raise TemplateError by path.

    A `draft` is a learner's pathway being built: it may have no steps yet, empty groups, and
    "any N" groups with fewer than N steps so far. A published template may not.
    """
    errors = _Errors()
    steps = _Walk(errors, draft=draft).steps(data, path)
    errors.raise_if_any()
    return steps


def loads_steps(text: str | bytes, path: str = "steps") -> Any:
    """Parse the JSON text of a step list (the editor's), strictly; raise TemplateError at `path`."""
    if len(text) > MAX_DOCUMENT_BYTES:
        raise TemplateError([f"{path}: the text is too long; at most {MAX_DOCUMENT_BYTES:,} bytes are allowed"])
    try:
        return loads_strict(text)
    except MalformedJSONError as error:
        raise TemplateError([f"{path}: {error}"]) from None


class _Errors:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, path: str, message: str) -> None:
        if len(self.items) < MAX_ERRORS:
            self.items.append(f"{path or '$'}: {message}")

    def raise_if_any(self) -> None:
        if self.items:
            raise TemplateError(self.items)


def _key_path(base: str, key: Any) -> str:
    key = str(key)
    name = key if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) else json.dumps(key)[:60]
    return f"{base}.{name}" if base else name


def _details(data: dict[str, Any], errors: _Errors) -> dict[str, str]:
    return {
        "title": _text(data, "title", "", errors, required=True, limit=MAX_TITLE),
        "description": _text(data, "description", "", errors, limit=MAX_TEXT),
        "goal": _text(data, "goal", "", errors, limit=MAX_TEXT),
        "publisher": _text(data, "publisher", "", errors, limit=MAX_TITLE),
    }


def _text(data: dict[str, Any], key: str, base: str, errors: _Errors, *, required: bool = False, limit: int) -> str:
    path = _key_path(base, key)
    value = data.get(key)
    if value is None:
        if required:
            errors.add(path, "is required")
        return ""
    if not isinstance(value, str):
        errors.add(path, "must be text")
        return ""
    value = value.strip()
    if required and not value:
        errors.add(path, "must not be empty")
    if len(value) > limit:
        errors.add(path, f"is {len(value)} characters long; at most {limit} are allowed")
    return value


class _Walk:
    """One validation pass over a step list: collects errors, counts steps, knows if it is a draft."""

    def __init__(self, errors: _Errors, *, draft: bool) -> None:
        self.errors = errors
        self.draft = draft
        self.count = 0

    def steps(self, data: Any, path: str) -> tuple[Step, ...]:
        if not isinstance(data, list):
            self.errors.add(path, "must be a list of steps" if data is not None else "is required")
            return ()
        if not data and not self.draft:
            self.errors.add(path, "must have at least one step")
            return ()
        raw = [self.step(item, f"{path}[{index}]", 1) for index, item in enumerate(data)]
        steps = tuple(step for step in raw if step is not None)
        if self.count > MAX_STEPS:
            self.errors.add(path, f"has {self.count} steps in all; at most {MAX_STEPS} are allowed")
        if self.errors.items:
            return steps
        return _assign_ids(steps, path, self.errors)

    def step(self, data: Any, path: str, depth: int) -> Step | None:
        errors = self.errors
        self.count += 1
        if self.count > MAX_STEPS:
            return None
        if not isinstance(data, dict):
            errors.add(path, "must be an object with a title and either a rule or a group")
            return None
        for key in sorted(set(data) - _STEP_FIELDS, key=str):
            errors.add(_key_path(path, key), "unknown field")
        step_id = data.get("id")
        if step_id is not None and (not isinstance(step_id, str) or not STEP_ID_PATTERN.match(step_id)):
            errors.add(f"{path}.id", "must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit")
        title = _text(data, "title", path, errors, required=True, limit=MAX_TITLE)
        description = _text(data, "description", path, errors, limit=MAX_TEXT)
        has_rule, has_group = "rule" in data, "group" in data
        if has_rule == has_group:
            errors.add(path, "must have either a \"rule\" (a requirement) or a \"group\" (\"all\" or \"any\"), not "
                       + ("both" if has_rule else "neither"))
            return None
        if has_rule:
            for key in ("n", "steps"):
                if key in data:
                    errors.add(f"{path}.{key}", "only a group has this field")
            rule = _rule(data["rule"], f"{path}.rule", errors)
            return Requirement(id=step_id or "", title=title, description=description, rule=rule) if rule else None
        mode = data["group"]
        if mode not in GROUP_MODES:
            errors.add(f"{path}.group", "must be one of " + ", ".join(GROUP_MODES))
            return None
        if depth >= MAX_DEPTH:
            errors.add(f"{path}.steps", f"groups are nested too deeply; at most {MAX_DEPTH} levels are allowed")
            return None
        children_data = data.get("steps")
        if not isinstance(children_data, list) or not (children_data or self.draft):
            errors.add(f"{path}.steps", "must be a list of at least one step")
            return None
        children = tuple(
            child for index, item in enumerate(children_data)
            if (child := self.step(item, f"{path}.steps[{index}]", depth + 1)) is not None
        )
        n = data.get("n")
        # A draft's "any N" group may have fewer than N steps so far; it cannot be met until it has them.
        most = max(len(children_data), 1) if not self.draft else MAX_STEPS
        if mode == "all":
            if n is not None:
                errors.add(f"{path}.n", "only an \"any\" group has n")
            n = None
        elif not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= most:
            errors.add(f"{path}.n", f"must be a whole number from 1 to {most}"
                       + ("" if self.draft else " (the number of its steps)"))
            return None
        return Group(id=step_id or "", title=title, description=description, mode=mode, n=n, steps=children)


def rule_fields(kind: str) -> dict[str, tuple[type, bool]]:
    """Return a rule kind's fields as {name: (type, required)}; TemplateError for an unknown kind."""
    if kind not in _RULES:
        raise TemplateError(["rule.kind: must be one of " + ", ".join(RULE_KINDS)])
    return dict(_RULES[kind][1])


def _rule(data: Any, path: str, errors: _Errors) -> Rule | None:
    if not isinstance(data, dict):
        errors.add(path, "must be an object with a \"kind\"")
        return None
    kind = data.get("kind")
    if kind not in _RULES:
        errors.add(f"{path}.kind", "must be one of " + ", ".join(RULE_KINDS))
        return None
    cls, fields = _RULES[kind]
    values: dict[str, Any] = {}
    ok = True
    for key in sorted(set(data) - set(fields) - {"kind"}, key=str):
        errors.add(_key_path(path, key), f"unknown field for a {kind} rule")
        ok = False
    for name, (expected, required) in fields.items():
        value = data.get(name)
        field_path = f"{path}.{name}"
        if value is None:
            if required:
                errors.add(field_path, "is required")
                ok = False
            continue
        if expected is int:
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                errors.add(field_path, "must be a positive whole number")
                ok = False
                continue
        elif not isinstance(value, str) or not value.strip():
            errors.add(field_path, "must be non-empty text")
            ok = False
            continue
        elif len(value) > MAX_VALUE:
            errors.add(field_path, f"is {len(value)} characters long; at most {MAX_VALUE} are allowed")
            ok = False
            continue
        else:
            value = value.strip()
        values[name] = value
    if kind == "skill" and ok and not ({"url", "code", "name"} & set(values)):
        errors.add(path, "a skill rule needs a url, a code or a name")
        ok = False
    if kind == "name" and values.get("match", "contains") not in NAME_MATCHES:
        errors.add(f"{path}.match", "must be one of " + ", ".join(NAME_MATCHES))
        ok = False
    return cls(**values) if ok else None


def _assign_ids(steps: tuple[Step, ...], path: str, errors: _Errors) -> tuple[Step, ...]:
    """Check given ids are unique and give each step without one a stable id from its position."""
    seen: dict[str, str] = {}
    for step_path, step in _with_paths(steps, path):
        if step.id:
            if step.id in seen or step.id == ROOT_ID:
                errors.add(f"{step_path}.id", f"\"{step.id}\" is used twice" if step.id in seen else f"\"{ROOT_ID}\" is reserved")
            seen[step.id] = step_path
    if errors.items:
        return steps
    used = set(seen)
    return tuple(_with_ids(step, str(index + 1), used) for index, step in enumerate(steps))


def _with_paths(steps: Sequence[Step], path: str) -> Iterator[tuple[str, Step]]:
    for index, step in enumerate(steps):
        step_path = f"{path}[{index}]"
        yield step_path, step
        if isinstance(step, Group):
            yield from _with_paths(step.steps, f"{step_path}.steps")


def _with_ids(step: Step, position: str, used: set[str]) -> Step:
    step_id = step.id or new_step_id(used, f"s{position}")
    used.add(step_id)
    if isinstance(step, Requirement):
        return Requirement(id=step_id, title=step.title, description=step.description, rule=step.rule)
    children = tuple(_with_ids(child, f"{position}-{index + 1}", used) for index, child in enumerate(step.steps))
    return Group(id=step_id, title=step.title, description=step.description, mode=step.mode, n=step.n, steps=children)


def new_step_id(used: set[str], base: str = "s") -> str:
    """Return `base`, or `base` with a number, that is not in `used`."""
    if base not in used and base != ROOT_ID:
        return base
    number = 2
    while f"{base}-{number}" in used:
        number += 1
    return f"{base}-{number}"


# ---------------------------------------------------------------------------------------------
# Editing the tree (on its JSON form, re-validated by the caller)
# ---------------------------------------------------------------------------------------------


def insert_step(steps: list[dict[str, Any]], parent_id: str | None, step: dict[str, Any]) -> list[dict[str, Any]]:
    """Return a copy of `steps` with `step` appended to the group `parent_id` (None: the top level)."""
    copied = copy.deepcopy(steps)
    if parent_id in (None, "", ROOT_ID):
        copied.append(step)
        return copied
    group = _find_json(copied, parent_id)
    if group is None or "group" not in group:
        raise ValidationError("That group is not part of this pathway.")
    group.setdefault("steps", []).append(step)
    return copied


def remove_step(steps: list[dict[str, Any]], step_id: str) -> list[dict[str, Any]]:
    """Return a copy of `steps` without the step `step_id` (and its own steps)."""
    copied = copy.deepcopy(steps)

    def prune(items: list[dict[str, Any]]) -> bool:
        for index, item in enumerate(items):
            if item.get("id") == step_id:
                del items[index]
                return True
            children = item.get("steps") or []
            if prune(children):
                if not children:
                    del items[index]  # a group with no steps left goes too
                elif item.get("group") == "any" and isinstance(item.get("n"), int):
                    item["n"] = min(item["n"], len(children))
                return True
        return False

    if not prune(copied):
        raise ValidationError("That step is not part of this pathway.")
    return copied


def _find_json(steps: list[dict[str, Any]], step_id: str) -> dict[str, Any] | None:
    for item in steps:
        if item.get("id") == step_id:
            return item
        found = _find_json(item.get("steps") or [], step_id)
        if found is not None:
            return found
    return None
