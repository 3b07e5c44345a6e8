"""Pathway rules: what the matcher knows about a credential, the rules a requirement uses, and the step tree.

Pure: no Flask, no database, no I/O. A requirement is met when at least one credential that currently
verifies matches its rule (docs/pathway-format.md).
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

from wallet.services.verification.caches import cache_short_strings
from wallet.services.verification.result import Status
from wallet.services.verification.states import state_of

RULE_KINDS = ("credential", "achievement", "issuer", "skill", "tag", "name")
GROUP_MODES = ("all", "any")
NAME_MATCHES = ("contains", "exact")

# Only a credential that verifies right now counts (issue: "only credentials that currently verify
# count"). `unverifiable` does not count either: Wallet could not establish that it is genuine, so the
# step says it is waiting for verification instead of claiming it.
COUNTING_STATUSES = frozenset({Status.VALID.value})
WAITING = "Waiting for verification: "


def waiting_for(status: str) -> str:
    """Say that a credential in `status` waits for verification, in the state's own word."""
    label = state_of(status).label
    return WAITING + label[:1].lower() + label[1:]


# Why a matching credential does not count, when the caller gives no more precise reason: the state's
# word from services/verification/states.py.
STATUS_REASONS = {
    Status.REVOKED.value: state_of(Status.REVOKED).label,
    Status.INVALID.value: state_of(Status.INVALID).label,
    Status.EXPIRED.value: state_of(Status.EXPIRED).label,
    Status.NOT_YET_VALID.value: state_of(Status.NOT_YET_VALID).label,
    Status.UNVERIFIABLE.value: waiting_for(Status.UNVERIFIABLE),
    Status.ERROR.value: waiting_for(Status.ERROR),
    Status.NO_CREDENTIAL.value: state_of(Status.NO_CREDENTIAL).label + ": not a credential Wallet could read",
}

NOT_ISSUED_TO_LEARNER = "Not issued to one of your verified email addresses or identifiers"


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
    # False when it names a recipient who is none of the learner's verified identities (docs/security.md D18).
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
