"""Which terms the (pinned or inline) OB 2.0 contexts define, and the `type` checks built on them."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from wallet.services.verification import jsonld, values
from wallet.services.verification.caches import REGISTRY
from wallet.services.verification.ob2.terms import (
    OB2_CONTEXTS,
    OBI,
    _ABSOLUTE_IRI,
    _EXTENSION_CONTEXT_PREFIXES,
    _HOSTED,
    _SIGNED,
)


# --- Vocabulary: which terms the (pinned or inline) contexts define -------------------------


@dataclass(frozen=True)
class _Vocabulary:
    terms: dict[str, str]

    def expand(self, value: str) -> str | None:
        """Return the IRI a type name stands for, or None if the contexts do not define it."""
        if value in self.terms:
            return self.terms[value]
        prefix, colon, suffix = value.partition(":")
        if colon and not suffix.startswith("//") and prefix in self.terms:
            return self.terms[prefix] + suffix
        if colon and _ABSOLUTE_IRI.match(value):
            return value
        return None


@dataclass
class _Problems:
    """What the data validation found: failures (invalid) and remarks (warnings)."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _is_ob2_context(entry: Any) -> bool:
    if isinstance(entry, str):
        return entry in OB2_CONTEXTS
    return isinstance(entry, dict) and entry.get("obi") == OBI


@REGISTRY.add
@cache
def _base_vocabulary() -> _Vocabulary:
    return _Vocabulary(_pinned_terms(OB2_CONTEXTS[0]))


def _pinned_context(url: str) -> dict[str, Any] | None:
    document = jsonld.KNOWN_CONTEXTS.get(url)
    context = document.get("@context") if isinstance(document, dict) else None
    return context if isinstance(context, dict) else None


@REGISTRY.add
@cache
def _pinned_terms(url: str) -> dict[str, str]:
    """Return the terms of a pinned context (pure: the pinned documents never change)."""
    return _context_terms(_pinned_context(url) or {})


def _context_terms(context: dict[str, Any]) -> dict[str, str]:
    """Map each term of one context object to its IRI, resolving compact IRIs against its prefixes."""
    raw: dict[str, str] = {}
    for term, definition in context.items():
        if term.startswith("@"):
            continue
        target = definition.get("@id") if isinstance(definition, dict) else definition
        if isinstance(target, str):
            raw[term] = target
    terms: dict[str, str] = {}
    for term, target in raw.items():
        prefix, colon, suffix = target.partition(":")
        if colon and prefix in raw and not suffix.startswith("//"):
            target = raw[prefix] + suffix
        terms[term] = target
    return terms


def _apply_context(value: Any, vocabulary: _Vocabulary, problems: _Problems, *, where: str,
                   in_extension: bool) -> _Vocabulary | None:
    """Return the vocabulary after `@context` `value`, or None if the subtree cannot be type-checked."""
    terms = dict(vocabulary.terms)
    for entry in values.as_list(value):
        if isinstance(entry, str):
            pinned = _pinned_context(entry) if (entry in OB2_CONTEXTS or entry.startswith(
                _EXTENSION_CONTEXT_PREFIXES)) else None
            if pinned is not None:
                terms.update(_pinned_terms(entry))
            elif entry.startswith(_EXTENSION_CONTEXT_PREFIXES) or in_extension:
                problems.warnings.append(f"The extension context {entry[:200]} is not one Wallet knows, "
                                         "so that extension was not checked.")
                return None
            else:
                # docs/security.md B1: contexts are never fetched; an unknown one could change any term.
                problems.errors.append(f"The {where} uses the context {entry[:200]}, which is not the "
                                       "Open Badges 2.0 context.")
                return None
        elif isinstance(entry, dict):
            inline = _context_terms(entry)
            for term, iri in inline.items():
                # docs/security.md B2: an inline context must not give an Open Badges term another meaning.
                if term in vocabulary.terms and vocabulary.terms[term] != iri and not in_extension:
                    problems.errors.append(f'The {where} redefines the term "{term}" in its context.')
            terms.update(inline)
        else:
            problems.errors.append(f"The {where} has a malformed @context.")
            return None
    return _Vocabulary(terms)


def _check_types(node: Any, vocabulary: _Vocabulary, problems: _Problems, *, where: str,
                 in_extension: bool = False) -> None:
    """Check that every `type` in the tree is defined by the contexts in force (the RDF type check)."""
    if isinstance(node, list):
        for item in node:
            _check_types(item, vocabulary, problems, where=where, in_extension=in_extension)
        return
    if not isinstance(node, dict) or "@value" in node:
        return
    if "@context" in node:
        applied = _apply_context(node["@context"], vocabulary, problems, where=where, in_extension=in_extension)
        if applied is None:
            return
        vocabulary = applied
    if "type" in node:
        types = values.as_list(node["type"])
        if not types:
            problems.errors.append(f"The {where} has an empty type.")
        for name in types:
            if not isinstance(name, str):
                problems.errors.append(f"The {where} has a type that is not a name.")
            elif vocabulary.expand(name) is None:
                problems.errors.append(f'The type "{name[:100]}" in the {where} is not defined by the '
                                       "Open Badges 2.0 context.")
    for key, value in node.items():
        if key in ("@context", "type", "recipient"):
            # An IdentityObject's "type" names the kind of identity (email, url...), not a class.
            continue
        _check_types(value, vocabulary, problems, where=where,
                     in_extension=in_extension or key.startswith("extensions:"))


def _types_of(node: dict[str, Any], vocabulary: _Vocabulary) -> set[str]:
    return {vocabulary.expand(t) or t for t in values.as_list(node.get("type")) if isinstance(t, str)}


def _verification_of(node: dict[str, Any]) -> dict[str, Any]:
    # The OB 2.0 context makes "verify" an alias of "verification".
    verification = node.get("verification", node.get("verify"))
    return verification if isinstance(verification, dict) else {}


def _verification_kind(verification: dict[str, Any], vocabulary: _Vocabulary) -> str | None:
    types = {vocabulary.expand(t) for t in values.as_list(verification.get("type")) if isinstance(t, str)}
    if _HOSTED in types:
        return "hosted"
    if _SIGNED in types:
        return "signed"
    return None
