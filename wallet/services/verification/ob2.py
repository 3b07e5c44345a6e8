"""Open Badges 2.0: verify hosted and signed assertions, and validate their linked documents.

Follows the OB 2.0 verification steps (standards.md §2.1): get the assertion, validate it and every
linked document, then either re-fetch a HostedBadge from its `id` and trust only that copy, or check
a SignedBadge's JWS with a key the issuer's profile lists; then revocation, dates and recipient.
JSON-LD is not expanded; instead only pinned contexts are accepted (no remote context is ever
fetched) and every `type` must be a term those contexts define or an absolute IRI, which is what
the 1EdTech validator's RDF type check amounts to. Badge images are metadata only: never fetched.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from jwcrypto.common import JWException
from jwcrypto.jwk import JWK

from wallet.services.verification.errors import FetchError, ImportRejectedError, JoseError, RemoteError
from wallet.services.verification import jose, jsonld, values
from wallet.services.verification.context import Context
from wallet.services.verification.extract import Presented
from wallet.services.verification.jsonutil import loads_strict
from wallet.services.verification.recipient import check_recipient
from wallet.services.verification.result import Check, CheckStatus, Metadata, Status, VerificationResult

FORMAT_ID = "ob2"

OB2_CONTEXTS = ("https://w3id.org/openbadges/v2", "https://openbadgespec.org/v2/context.json")
# Extension contexts live under these; one Wallet does not bundle only costs the extension's checks.
_EXTENSION_CONTEXT_PREFIXES = ("https://w3id.org/openbadges/extensions/", "https://openbadgespec.org/extensions/")
_OB1_CONTEXT = "https://w3id.org/openbadges/v1"
OBI = "https://w3id.org/openbadges#"
_ASSERTION = OBI + "Assertion"
_BADGE_CLASS = OBI + "BadgeClass"
_ISSUER_TYPES = frozenset({OBI + "Issuer", OBI + "Profile"})
_HOSTED = OBI + "HostedBadge"
_SIGNED = OBI + "SignedBadge"
_KEY = "https://w3id.org/security#Key"
_REVOCATION_LIST = OBI + "RevocationList"
_ENDORSEMENT = "https://w3id.org/credentials#Credential"
_ALIGNMENT = "http://schema.org/AlignmentObject"

# A few endorsements are fetched to count them; they never change the badge's status.
MAX_ENDORSEMENT_FETCHES = 4
# security.md A13: a badge naming more endorsements than this is not walked; it cannot be checked
# fully, so it is "Couldn't verify" (as in ob3.py).
MAX_ENDORSEMENTS = 100
MAX_KEYS_TRIED = 3
# D19: a small leeway for clocks that disagree (jwcrypto's default is the same).
CLOCK_LEEWAY = timedelta(seconds=60)
_HASHED_IDENTITY = re.compile(r"^(sha256|md5)\$[0-9a-fA-F]+$", re.IGNORECASE)
_ABSOLUTE_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")
# Claims compared between the presented assertion and the issuer's hosted copy (security.md D13).
_CLAIMS = ("type", "recipient", "badge", "issuedOn", "expires", "evidence", "narrative", "verification", "issuer")


def detect(presented: Presented) -> bool:
    """Tell whether the document is Open Badges 2.0 JSON-LD or an assertion that looks like one."""
    document = presented.document
    if any(_is_ob2_context(entry) for entry in values.as_list(document.get("@context"))):
        return True
    types = values.as_list(document.get("type"))
    return "Assertion" in types and any(k in document for k in ("badge", "recipient", "verification"))


def verify(presented: Presented, context: Context) -> VerificationResult:
    """Verify an OB 2.0 assertion (hosted or signed) and fill the report and metadata."""
    return _Run(presented, context).verify()


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


@cache
def _base_vocabulary() -> _Vocabulary:
    return _Vocabulary(_pinned_terms(OB2_CONTEXTS[0]))


def _pinned_context(url: str) -> dict[str, Any] | None:
    document = jsonld.KNOWN_CONTEXTS.get(url)
    context = document.get("@context") if isinstance(document, dict) else None
    return context if isinstance(context, dict) else None


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
                # security.md B1: contexts are never fetched; an unknown one could change any term.
                problems.errors.append(f"The {where} uses the context {entry[:200]}, which is not the "
                                       "Open Badges 2.0 context.")
                return None
        elif isinstance(entry, dict):
            inline = _context_terms(entry)
            for term, iri in inline.items():
                # security.md B2: an inline context must not give an Open Badges term another meaning.
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


# --- Data validation (OB 2.0 data model: required properties and value types) ---------------


def _validate_node(node: dict[str, Any], vocabulary: _Vocabulary, problems: _Problems, *, where: str) -> None:
    """Check one JSON-LD document's context, types and the properties its class requires."""
    if "@context" not in node:
        problems.errors.append(f"The {where} has no @context: it is not Open Badges 2.0 JSON-LD.")
    _check_types(node, vocabulary, problems, where=where)
    types = _types_of(node, vocabulary)
    if _ASSERTION in types:
        _validate_assertion(node, vocabulary, problems)
    elif _BADGE_CLASS in types:
        _validate_badge_class(node, problems)
    elif types & _ISSUER_TYPES:
        _validate_profile(node, problems)
    elif _KEY in types:
        _validate_key(node, problems)
    elif _REVOCATION_LIST in types:
        _require_list(node, "revokedAssertions", problems, "revocation list", required=False)
    elif _ALIGNMENT in types:
        _require_text(node, "targetName", problems, "alignment")
        _require_iri(node, "targetUrl", problems, "alignment")
    elif _ENDORSEMENT in types:
        if not isinstance(node.get("claim"), dict):
            problems.errors.append("The endorsement has no claim.")
        _require_datetime(node, "issuedOn", problems, "endorsement")


def _validate_assertion(node: dict[str, Any], vocabulary: _Vocabulary, problems: _Problems) -> None:
    where = "assertion"
    _require_iri(node, "id", problems, where)
    recipient = node.get("recipient")
    if not isinstance(recipient, dict):
        problems.errors.append("The assertion does not say who it was issued to (recipient is missing).")
    else:
        if not isinstance(recipient.get("type"), str):
            problems.errors.append("The recipient has no identity type (email, url, telephone...).")
        if not isinstance(recipient.get("identity"), str):
            problems.errors.append("The recipient has no identity.")
        if not isinstance(recipient.get("hashed"), bool):
            problems.errors.append('The recipient must say whether its identity is hashed ("hashed": true or false).')
        elif recipient["hashed"] and isinstance(recipient.get("identity"), str) and not _HASHED_IDENTITY.match(
                recipient["identity"]):
            problems.warnings.append("The recipient's identity is hashed in a form Wallet does not know.")
        if "salt" in recipient and not isinstance(recipient["salt"], str):
            problems.errors.append("The recipient's salt must be text.")
    badge = node.get("badge")
    if not (_is_iri(badge) or isinstance(badge, dict)):
        problems.errors.append("The assertion does not name its badge (badge is missing or not a URL).")
    verification = _verification_of(node)
    kind = _verification_kind(verification, vocabulary)
    if kind is None:
        problems.errors.append("The assertion does not say how to verify it (verification type hosted or signed).")
    _require_datetime(node, "issuedOn", problems, where)
    _optional_datetime(node, "expires", problems, where)
    image = node.get("image")
    if isinstance(image, str) and image.startswith("data:"):
        # OB 2.0: an Assertion's image is an IRI; only BadgeClass and Profile images may be data URIs.
        problems.errors.append("The assertion's image must be a web address, not embedded data.")
    elif image is not None and not (_is_iri(image) or (isinstance(image, dict) and _is_iri(image.get("id")))):
        problems.errors.append("The assertion's image is not a web address.")
    for evidence in values.as_list(node.get("evidence")):
        if not (_is_iri(evidence) or isinstance(evidence, dict)):
            problems.errors.append("The assertion's evidence must be web addresses or evidence descriptions.")
            break
    if "revoked" in node and not isinstance(node["revoked"], bool):
        problems.errors.append('The assertion\'s "revoked" must be true or false.')
    for text_property in ("narrative", "revocationReason"):
        if text_property in node and not isinstance(node[text_property], str):
            problems.errors.append(f"The assertion's {text_property} must be text.")
    issuer = node.get("issuer")
    if issuer is not None and not (_is_iri(issuer) or (isinstance(issuer, dict) and _is_iri(issuer.get("id")))):
        problems.errors.append("The assertion's issuer is not a web address.")


def _validate_badge_class(node: dict[str, Any], problems: _Problems) -> None:
    where = "badge description (BadgeClass)"
    _require_iri(node, "id", problems, where)
    _require_text(node, "name", problems, where)
    _require_text(node, "description", problems, where)
    criteria = node.get("criteria")
    if not (_is_iri(criteria) or isinstance(criteria, dict)):
        problems.errors.append("The badge description has no criteria.")
    issuer = node.get("issuer")
    if not (_is_iri(issuer) or isinstance(issuer, dict)):
        problems.errors.append("The badge description does not name its issuer.")
    image = node.get("image")
    if image is not None and not (_is_iri(image) or (isinstance(image, dict) and _is_iri(image.get("id")))):
        problems.errors.append("The badge description's image is not a web address or data URI.")
    for alignment in values.as_list(node.get("alignment")):
        if not isinstance(alignment, dict) or not isinstance(alignment.get("targetName"), str) or not _is_iri(
                alignment.get("targetUrl")):
            problems.errors.append("Each alignment of the badge needs a targetName and a targetUrl.")
            break
    if any(not isinstance(tag, str) for tag in values.as_list(node.get("tags"))):
        problems.errors.append("The badge's tags must be text.")


def _validate_profile(node: dict[str, Any], problems: _Problems) -> None:
    where = "issuer profile"
    _require_iri(node, "id", problems, where)
    _require_text(node, "name", problems, where)
    for iri_property in ("url", "revocationList"):
        if iri_property in node and not _is_iri(node[iri_property]):
            problems.errors.append(f"The issuer profile's {iri_property} is not a web address.")
    if "email" in node and not isinstance(node["email"], str):
        problems.errors.append("The issuer profile's email must be text.")
    policy = node.get("verification")
    if policy is not None:
        if not isinstance(policy, dict):
            problems.errors.append("The issuer profile's verification policy is malformed.")
        else:
            for rule in ("allowedOrigins", "startsWith"):
                if rule in policy and any(not isinstance(v, str) for v in values.as_list(policy[rule])):
                    problems.errors.append(f"The issuer profile's verification {rule} must be text.")


def _validate_key(node: dict[str, Any], problems: _Problems) -> None:
    _require_iri(node, "owner", problems, "key")
    _require_text(node, "publicKeyPem", problems, "key")


def _require_text(node: dict[str, Any], name: str, problems: _Problems, where: str) -> None:
    if not isinstance(node.get(name), str) or not node[name].strip():
        problems.errors.append(f'The {where} has no "{name}".' if name not in node
                               else f'The {where}\'s "{name}" must be text.')


def _require_iri(node: dict[str, Any], name: str, problems: _Problems, where: str) -> None:
    if name not in node:
        problems.errors.append(f'The {where} has no "{name}".')
    elif not _is_iri(node[name]):
        problems.errors.append(f'The {where}\'s "{name}" is not a valid identifier (IRI).')


def _require_list(node: dict[str, Any], name: str, problems: _Problems, where: str, *, required: bool) -> None:
    if name not in node:
        if required:
            problems.errors.append(f'The {where} has no "{name}".')
    elif not isinstance(node[name], list):
        problems.errors.append(f'The {where}\'s "{name}" must be a list.')


def _require_datetime(node: dict[str, Any], name: str, problems: _Problems, where: str) -> None:
    if name not in node:
        problems.errors.append(f'The {where} has no "{name}" date.')
    else:
        _optional_datetime(node, name, problems, where)


def _optional_datetime(node: dict[str, Any], name: str, problems: _Problems, where: str) -> None:
    if name in node and _parse_datetime(node[name]) is None:
        problems.errors.append(f'The {where}\'s "{name}" must be a date and time with a time zone '
                               f"(ISO 8601), not {str(node[name])[:40]!r}.")


# --- One verification run ---------------------------------------------------------------------


@dataclass
class _Node:
    """A document, and the URL whose server vouches for it.

    `source` is the URL that was asked for (a redirect is the asked host's own choice), also for a
    node embedded in a fetched document; None for the presented, unverified input. `url` is set
    only when the node itself was fetched.
    """

    document: dict[str, Any]
    source: str | None
    url: str | None = None


class _Stop(Exception):
    """Nothing more can usefully be checked; the checks so far say why."""


class _Run:
    """One verification of one presented OB 2.0 document: the nodes it reached and the report."""

    def __init__(self, presented: Presented, context: Context) -> None:
        self.presented = presented
        self.context = context
        self.result = VerificationResult(format=FORMAT_ID, status=Status.VALID)
        self.vocabulary = _base_vocabulary()
        self.assertion: _Node | None = None
        self.badge: _Node | None = None
        self.issuer: _Node | None = None
        # Whether the securing step tied the badge to the issuer (hosted scope or signing key).
        self.secured = False

    def add(self, check: Check) -> Check:
        return self.result.add(check)

    def verify(self) -> VerificationResult:
        document = self.presented.document
        try:
            if _ASSERTION in _types_of(document, self.vocabulary) and _OB1_CONTEXT not in values.as_list(
                    document.get("@context")):
                self._verify_assertion()
            else:
                self._describe_other(document)
        except _Stop:
            pass
        self._fill_metadata()
        return self.result.finish()

    # Steps -------------------------------------------------------------------------------------

    def _describe_other(self, document: dict[str, Any]) -> None:
        """Validate an OB 2.0 document that is not an assertion; it is not a credential to hold."""
        if _OB1_CONTEXT in values.as_list(document.get("@context")):
            self.add(Check.failed("format", "This is an Open Badges 1.x badge; Wallet verifies Open Badges 2.0 "
                                  "and later.", outcome=Status.UNVERIFIABLE))
            raise _Stop
        problems = self._validate(document, "document")
        if problems.errors:
            raise _Stop
        if _BADGE_CLASS in _types_of(document, self.vocabulary):
            self.badge = _Node(document, None)
            try:
                self._resolve_issuer()
            except _Stop:
                pass
            if any(c.status is CheckStatus.FAILED and c.outcome is Status.INVALID for c in self.result.checks):
                return
        kind = next((t for t in values.as_list(document.get("type")) if isinstance(t, str) and ":" not in t), "document")
        self.add(Check.failed(
            "format",
            f"This is an Open Badges 2.0 {kind}, not a badge awarded to someone: "
            "there is nothing here to keep in a wallet. Add the badge assertion instead.",
            outcome=Status.NO_CREDENTIAL))

    def _verify_assertion(self) -> None:
        presented = self.presented.document
        problems = self._validate(presented, "assertion")
        if problems.errors:
            raise _Stop
        kind = _verification_kind(_verification_of(presented), self.vocabulary)
        if self.presented.jws is not None:
            self.result.securing = "jws"
            self.assertion = _Node(presented, None)
            self._resolve_badge()
            self._resolve_issuer()
            self._verify_signature()
        elif kind == "signed":
            # security.md D13: a signed badge handed over without its signature proves nothing.
            self.assertion = _Node(presented, None)
            self.add(Check.failed(
                "signature",
                "This badge is meant to be signed, but it came without its signature. "
                "Add the signed badge (the baked image or the signed text) from the issuer.",
                outcome=Status.UNVERIFIABLE))
            self._resolve_badge()
            self._resolve_issuer()
        else:
            self.result.securing = "hosted"
            self._fetch_hosted_copy()
            self._resolve_badge()
            self._resolve_issuer()
            self._check_hosted_scope()
        self._check_assertion_issuer()
        self._check_dates()
        self._check_recipient()
        self._count_endorsements()

    def _validate(self, document: dict[str, Any], where: str) -> _Problems:
        problems = _Problems()
        _validate_node(document, self.vocabulary, problems, where=where)
        check_id = "structure"
        for warning in problems.warnings:
            self.add(Check.warning(check_id, warning))
        if problems.errors:
            self.add(Check.failed(check_id, " ".join(problems.errors[:5])
                                  + (" (and more)" if len(problems.errors) > 5 else ""),
                                  errors=problems.errors))
        else:
            self.add(Check.passed(check_id, f"The {where} is well-formed Open Badges 2.0."))
        return problems

    def _fetch_hosted_copy(self) -> None:
        """OB 2.0 HostedBadge: re-fetch the assertion from its id and trust only that copy."""
        presented = self.presented.document
        url = presented.get("id")
        if not _is_http_url(url):
            self.add(Check.failed("hosted", "A hosted badge must have a web address as its id, and this one does not."))
            raise _Stop
        self.assertion = _Node(presented, None)
        try:
            hosted = self._fetch_document(url, role="assertion")
        except RemoteError as error:
            if error.status_code == 410:
                # OB 2.0: 410 Gone from the assertion's address means the issuer revoked it.
                self.add(Check.failed("hosted", "The issuer has revoked this badge: its address answers "
                                      "\"410 Gone\".", outcome=Status.REVOKED, url=url))
                return
            self._unreachable("hosted", "the issuer's copy of this badge", error, url)
            return
        except FetchError as error:
            self._unreachable("hosted", "the issuer's copy of this badge", error, url)
            return
        self.assertion = _Node(hosted, url, url)
        self.result.credential = hosted
        self._note_identity(hosted, url, "issuer's copy of the badge")
        if hosted != presented:
            problems = self._validate(hosted, "issuer's copy of the assertion")
            if problems.errors:
                raise _Stop
        differing = [name for name in _CLAIMS if _claim(presented, name) != _claim(hosted, name)]
        if differing:
            self.add(Check.failed(
                "hosted",
                "This badge differs from the issuer's copy in: " + ", ".join(differing)
                + ". Wallet trusts only the issuer's copy, so this one is not genuine.",
                url=url, fields=differing))
        else:
            self.add(Check.passed("hosted", "The issuer's copy of this badge matches it.", url=url))
        if hosted.get("revoked") is True:
            reason = hosted.get("revocationReason")
            self.add(Check.failed("revocation", "The issuer has revoked this badge"
                                  + (f": {reason}" if isinstance(reason, str) and reason else "."),
                                  outcome=Status.REVOKED, reason=reason if isinstance(reason, str) else None))

    def _resolve_badge(self) -> None:
        assert self.assertion is not None
        badge = self.assertion.document.get("badge")
        if isinstance(badge, dict):
            self.badge = _Node(badge, self.assertion.source)
        elif not _is_http_url(badge):
            self.add(Check.failed("badge", f"The badge description is named {str(badge)[:100]}, "
                                  "which is not a web address Wallet can read."))
            raise _Stop
        else:
            try:
                document = self._fetch_document(badge, role="badgeclass")
            except FetchError as error:
                self._unreachable("badge", "the badge description", error, badge)
                raise _Stop from None
            self._note_identity(document, badge, "badge description")
            self.badge = _Node(document, badge, badge)
        problems = _Problems()
        _check_types(self.badge.document, self.vocabulary, problems, where="badge description")
        if _BADGE_CLASS not in _types_of(self.badge.document, self.vocabulary):
            problems.errors.append("The assertion's badge is not a badge description (its type is not BadgeClass).")
        _validate_badge_class(self.badge.document, problems)
        self._report("badge", problems, "The badge description is well-formed.")

    def _resolve_issuer(self) -> None:
        """Get the issuer profile from its own origin, so that it speaks for the issuer."""
        assert self.badge is not None
        reference = self.badge.document.get("issuer")
        issuer_id = _reference_id(reference)
        if isinstance(reference, dict) and self._from_own_origin(self.badge.source, issuer_id):
            self.issuer = _Node(reference, self.badge.source)
        elif _is_http_url(issuer_id):
            try:
                document = self._fetch_document(issuer_id, role="issuer")
            except FetchError as error:
                self._unreachable("issuer", "the issuer's profile", error, issuer_id)
                raise _Stop from None
            self.issuer = _Node(document, issuer_id, issuer_id)
        elif isinstance(reference, dict):
            self.issuer = _Node(reference, self.badge.source)
        else:
            self.add(Check.failed("issuer", f"The badge names its issuer {str(issuer_id)[:100]}, "
                                  "which is not a web address Wallet can read."))
            raise _Stop
        document = self.issuer.document
        problems = _Problems()
        _check_types(document, self.vocabulary, problems, where="issuer profile")
        types = _types_of(document, self.vocabulary)
        if not types & _ISSUER_TYPES:
            named = ", ".join(sorted(t.removeprefix(OBI) for t in types)) or "none"
            problems.errors.append(f"The badge's issuer is not an issuer profile (its type is {named}).")
        _validate_profile(document, problems)
        self._report("issuer", problems, None)
        profile_id = document.get("id")
        if not _is_http_url(profile_id):
            # security.md D15: only a web origin can vouch for an issuer.
            self.add(Check.failed(
                "issuer", f"The issuer's id ({str(profile_id)[:80]}) is not a web address, so Wallet cannot "
                "tie this badge to the issuer's website.", outcome=Status.UNVERIFIABLE))
            return
        if self.issuer.url is not None and _host(profile_id) != _host(self.issuer.source):
            self.add(Check.failed(
                "issuer", f"The issuer profile served by {_host(self.issuer.source)} claims to be "
                f"{profile_id[:120]} on another website.", issuer=profile_id))
            raise _Stop
        if self.issuer.url is not None and profile_id != self.issuer.url:
            self.add(Check.warning("issuer", f"The issuer profile at {self.issuer.url[:120]} gives its id as "
                                   f"{profile_id[:120]}.", issuer=profile_id))
        self.add(Check.passed("issuer", f"The issuer's profile was read from {_host(profile_id)}.", issuer=profile_id))

    def _check_hosted_scope(self) -> None:
        """OB 2.0: a hosted assertion's id must be in scope of the issuer's verification policy."""
        if self.assertion is None or self.assertion.url is None or self.issuer is None:
            return
        issuer_id = self.issuer.document.get("id")
        if not _is_http_url(issuer_id) or not self._from_own_origin(self.issuer.source, issuer_id):
            return  # the issuer check already says why authorship is not established
        policy = self.issuer.document.get("verification")
        policy = policy if isinstance(policy, dict) else {}
        prop = policy.get("verificationProperty", "id")
        if prop not in ("id", "@id"):
            self.add(Check.failed("hosted-scope", f"The issuer's verification policy uses {str(prop)[:60]}, which "
                                  "Wallet does not support.", outcome=Status.UNVERIFIABLE))
            return
        # OB 2.0 VerificationObject: allowedOrigins are host names; by default the issuer's own host.
        allowed = [o.lower() for o in values.as_list(policy.get("allowedOrigins")) if isinstance(o, str)] or [
            _host(issuer_id)]
        prefixes = [p for p in values.as_list(policy.get("startsWith")) if isinstance(p, str)]
        url = self.assertion.url
        if _host(url) not in allowed:
            self.add(Check.failed("hosted-scope", f"This badge is hosted on {_host(url)}, which the issuer "
                                  f"({_host(issuer_id)}) does not allow for its badges.", url=url))
            return
        if prefixes and not any(url.startswith(p) for p in prefixes):
            self.add(Check.failed("hosted-scope", "This badge's address is outside the part of the website "
                                  "where the issuer says its badges are.", url=url, startsWith=prefixes))
            return
        if urlsplit(self.assertion.url).scheme != "https":
            self.add(Check.warning("hosted-scope", "The issuer serves this badge over plain http, which "
                                   "cannot guarantee it was not altered on the way."))
        self.secured = True
        self.add(Check.passed("hosted-scope", f"The issuer ({_host(issuer_id)}) hosts this badge.",
                              url=self.assertion.url))

    def _verify_signature(self) -> None:
        """OB 2.0 SignedBadge: check the JWS with a key the issuer's profile lists, then revocation."""
        assert self.presented.jws is not None and self.assertion is not None and self.issuer is not None
        parsed = jose.parse_compact(self.presented.jws)
        issuer = self.issuer.document
        issuer_id = issuer.get("id")
        if not self._from_own_origin(self.issuer.source, issuer_id):
            return  # the issuer check already says why the key cannot be tied to the issuer
        listed = [_key_reference(k) for k in values.as_list(issuer.get("publicKey"))]
        listed = [k for k in listed if k is not None]
        creator = _verification_of(self.assertion.document).get("creator")
        if not listed:
            self.add(Check.failed("signature", "The issuer's profile lists no public key, so the signature cannot "
                                  "be checked.", outcome=Status.UNVERIFIABLE))
            return
        if isinstance(creator, str):
            if creator not in {k for k, _ in listed}:
                self.add(Check.failed(
                    "signature", "The badge was signed with a key that the issuer's profile does not list, so the "
                    "signature cannot be tied to the issuer.", outcome=Status.UNVERIFIABLE, key=creator))
                return
            candidates = [(k, embedded) for k, embedded in listed if k == creator]
        else:
            candidates = listed[:MAX_KEYS_TRIED]
        outcome: Check | None = None
        for key_id, embedded in candidates:
            outcome = self._try_key(parsed, key_id, embedded, issuer_id, self.issuer.url)
            if outcome.status is CheckStatus.PASSED:
                break
        assert outcome is not None
        self.add(outcome)
        if outcome.status is CheckStatus.PASSED:
            self.secured = True
            self.result.credential = self.assertion.document
            self._check_revocation_list()

    def _try_key(self, parsed: jose.ParsedJws, key_id: str, embedded: dict[str, Any] | None, issuer_id: str,
                 issuer_url: str | None) -> Check:
        if embedded is not None:
            key_document = embedded
        else:
            try:
                key_document = self._fetch_document(key_id, role="key")
            except FetchError as error:
                return Check.failed("signature", f"Could not fetch the issuer's key: {error}",
                                    outcome=Status.UNVERIFIABLE, key=key_id)
        owner = key_document.get("owner")
        pem = key_document.get("publicKeyPem")
        owners = {v for v in (issuer_id, issuer_url) if v is not None}
        if embedded is not None and owner is None:
            owner = issuer_id  # a key embedded in the issuer's own profile is the issuer's
        elif embedded is None:
            self._note_identity(key_document, key_id, "key")
        if not isinstance(owner, str) or owner not in owners:
            # security.md D8: a key controlled by someone else never verifies the issuer's badge.
            return Check.failed("signature", "The signing key belongs to someone other than the badge's issuer.",
                                key=key_id, owner=owner if isinstance(owner, str) else None)
        if not isinstance(pem, str):
            return Check.failed("signature", "The issuer's key has no public key (publicKeyPem).", key=key_id)
        try:
            jwk = JWK.from_pem(pem.encode("utf-8"))
        except (JWException, ValueError, TypeError):
            return Check.failed("signature", "The issuer's key is not a valid public key.", key=key_id)
        if jwk.has_private:
            return Check.failed("signature", "The issuer published a private key instead of a public one.",
                                key=key_id)
        try:
            jose.verify_signature(parsed, jwk)
        except JoseError as error:
            return Check.failed("signature", str(error), key=key_id)
        alg = parsed.header.get("alg")
        return Check.passed("signature", f"The signature ({alg}) matches a key the issuer publishes.",
                            key=key_id, alg=alg)

    def _check_revocation_list(self) -> None:
        assert self.issuer is not None and self.assertion is not None
        url = self.issuer.document.get("revocationList")
        if url is None:
            self.add(Check.skipped("revocation", "The issuer publishes no revocation list."))
            return
        if not _is_http_url(url):
            self.add(Check.failed("revocation", "The issuer's revocation list has no web address, so Wallet "
                                  "cannot check whether this badge was revoked.", outcome=Status.UNVERIFIABLE))
            return
        try:
            document = self._fetch_document(url, role="revocation-list")
        except FetchError as error:
            # security.md D20: an unreadable list means "revocation unknown", never "not revoked".
            self._unreachable("revocation", "the issuer's revocation list", error, url)
            return
        problems = _Problems()
        _check_types(document, self.vocabulary, problems, where="revocation list")
        if _REVOCATION_LIST not in _types_of(document, self.vocabulary):
            problems.errors.append("The issuer's revocation list is not a RevocationList.")
        _require_list(document, "revokedAssertions", problems, "revocation list", required=False)
        if problems.errors:
            self.add(Check.failed("revocation", " ".join(problems.errors), outcome=Status.UNVERIFIABLE, url=url))
            return
        assertion = self.assertion.document
        own = {v for v in (assertion.get("id"), assertion.get("uid")) if isinstance(v, str)}
        for entry in document.get("revokedAssertions") or []:
            # OB 2.0 RevocationList: entries are ids, or objects with an id (or 1.x uid) and a reason.
            if isinstance(entry, dict):
                ids = {v for v in (entry.get("id"), entry.get("uid")) if isinstance(v, str)}
            else:
                ids = {entry} if isinstance(entry, str) else set()
            # OB 2.0 RevocationList: "revoked" defaults to true for a listed entry; false withdraws it.
            if ids & own and not (isinstance(entry, dict) and entry.get("revoked") is False):
                reason = entry.get("revocationReason") if isinstance(entry, dict) else None
                self.add(Check.failed("revocation", "The issuer has revoked this badge"
                                      + (f": {reason}" if isinstance(reason, str) and reason else "."),
                                      outcome=Status.REVOKED, url=url,
                                      reason=reason if isinstance(reason, str) else None))
                return
        self.add(Check.passed("revocation", "The badge is not on the issuer's revocation list.", url=url))

    def _check_assertion_issuer(self) -> None:
        """OB 2.0: the assertion's issuer, when it names one, is the BadgeClass's issuer."""
        if self.assertion is None or self.badge is None or self.issuer is None:
            return
        named = _reference_id(self.assertion.document.get("issuer"))
        if named is None:
            return
        known = {_reference_id(self.badge.document.get("issuer")), _reference_id(self.issuer.document.get("id"))}
        if named not in known:
            self.add(Check.failed("issuer", "The assertion names a different issuer from its badge description.",
                                  issuer=named))

    def _check_dates(self) -> None:
        assert self.assertion is not None
        document = self.assertion.document
        issued = _parse_datetime(document.get("issuedOn"))
        expires = _parse_datetime(document.get("expires"))
        now = self.context.now
        if issued is not None and issued > now + CLOCK_LEEWAY:
            self.add(Check.failed("issued", f"The badge is dated {issued:%Y-%m-%d}, which is in the future.",
                                  outcome=Status.NOT_YET_VALID, issuedOn=issued))
        if expires is None:
            return
        if issued is not None and expires < issued:
            # openbadges-validator-core fails this too: the issuer's dates contradict each other.
            self.add(Check.failed("dates", f"The badge expires ({expires:%Y-%m-%d}) before it was issued "
                                  f"({issued:%Y-%m-%d}).", expires=expires, issuedOn=issued))
        if expires < now - CLOCK_LEEWAY:
            self.add(Check.failed("expiry", f"The badge expired on {expires:%Y-%m-%d}.",
                                  outcome=Status.EXPIRED, expires=expires))
        else:
            self.add(Check.passed("expiry", f"The badge is valid until {expires:%Y-%m-%d}.", expires=expires))

    def _check_recipient(self) -> None:
        assert self.assertion is not None
        recipient = self.assertion.document.get("recipient")
        if not isinstance(recipient, dict) or not isinstance(recipient.get("identity"), str):
            return
        salt = recipient.get("salt")
        identity_type = recipient.get("type")
        self.add(check_recipient(
            identity=recipient["identity"],
            hashed=recipient.get("hashed") is True,
            salt=salt if isinstance(salt, str) else None,
            identity_type=identity_type if isinstance(identity_type, str) else None,
            recipients=self.context.recipients,
        ))

    def _count_endorsements(self) -> None:
        """Count the endorsements of the assertion and its badge; they never change the status."""
        nodes = [n for n in (self.assertion, self.badge) if n is not None]
        references = [e for n in nodes for e in values.as_list(n.document.get("endorsement"))]
        if not references:
            return
        if len(references) > MAX_ENDORSEMENTS:
            self.add(Check.failed("endorsements", f"This badge names {len(references):,} endorsements, more than "
                                  f"the {MAX_ENDORSEMENTS:,} Wallet checks, so it was not checked fully.",
                                  outcome=Status.UNVERIFIABLE, count=len(references), limit=MAX_ENDORSEMENTS))
            return
        if self.result.finish().status is not Status.VALID:
            return  # A17 spirit: fetch nothing more for a badge that is already not verified
        counted, unchecked, fetches = 0, 0, 0
        for reference in references:
            if isinstance(reference, dict):
                document = reference
            elif _is_http_url(reference) and fetches < MAX_ENDORSEMENT_FETCHES:
                fetches += 1
                try:
                    document = self._fetch_document(reference, role="endorsement")
                except FetchError:
                    unchecked += 1
                    continue
            else:
                unchecked += 1
                continue
            if _ENDORSEMENT in _types_of(document, self.vocabulary) and isinstance(document.get("claim"), dict):
                counted += 1
            else:
                unchecked += 1
        self.result.metadata.endorsements_count = counted
        message = f"{counted} endorsement{'s' if counted != 1 else ''} found"
        if unchecked:
            self.add(Check.warning("endorsements", f"{message}; {unchecked} could not be checked."))
        else:
            self.add(Check.passed("endorsements", message + "."))

    # Helpers -----------------------------------------------------------------------------------

    def _fetch_document(self, url: str, *, role: str) -> dict[str, Any]:
        """Fetch a linked JSON document; anything unreadable is a FetchError (could not check)."""
        fetched = self.context.fetch(url, kind="json", role=role)
        try:
            document = loads_strict(fetched.body)
        except ImportRejectedError as error:
            raise FetchError(f"{url[:200]} did not return readable JSON ({error})") from None
        if not isinstance(document, dict):
            raise FetchError(f"{url[:200]} did not return a JSON object.")
        return document

    def _unreachable(self, check_id: str, what: str, error: FetchError, url: str) -> None:
        # ASVS 16.5.2 / security.md §2.5: a server that cannot be reached never makes a badge invalid.
        self.add(Check.failed(check_id, f"Could not reach the issuer to read {what}: {error}",
                              outcome=Status.UNVERIFIABLE, url=url))

    def _note_identity(self, document: dict[str, Any], url: str, what: str) -> None:
        declared = document.get("id")
        if isinstance(declared, str) and declared != url:
            self.add(Check.warning("document-id", f"The {what} at {url[:120]} gives its id as {declared[:120]}."))

    def _report(self, check_id: str, problems: _Problems, passed: str | None) -> None:
        for warning in problems.warnings:
            self.add(Check.warning(check_id, warning))
        if problems.errors:
            self.add(Check.failed(check_id, " ".join(problems.errors[:5]), errors=problems.errors))
            raise _Stop
        if passed:
            self.add(Check.passed(check_id, passed))

    def _from_own_origin(self, source: str | None, identifier: Any) -> bool:
        return source is not None and _is_http_url(identifier) and _host(source) == _host(identifier)

    def _fill_metadata(self) -> None:
        metadata = self.result.metadata
        assertion = (self.assertion.document if self.assertion else self.presented.document)
        badge = self.badge.document if self.badge else {}
        issuer = self.issuer.document if self.issuer else {}
        if _ASSERTION in _types_of(assertion, self.vocabulary):
            _fill_assertion(metadata, assertion)
        _fill_badge(metadata, badge, assertion)
        _fill_issuer(metadata, issuer)
        unverified = any(c.status is CheckStatus.FAILED and c.outcome in (Status.INVALID, Status.UNVERIFIABLE)
                         for c in self.result.checks)
        issuer_id = issuer.get("id")
        if self.secured and not unverified and _is_http_url(issuer_id) and urlsplit(issuer_id).scheme == "https":
            metadata.verified_issuer = _host(issuer_id)


def _fill_assertion(metadata: Metadata, assertion: dict[str, Any]) -> None:
    metadata.credential_id = values.text(assertion.get("id"))
    metadata.issued = _parse_datetime(assertion.get("issuedOn"))
    metadata.expires = _parse_datetime(assertion.get("expires"))
    recipient = assertion.get("recipient")
    if isinstance(recipient, dict):
        metadata.recipient = {
            "type": values.text(recipient.get("type")),
            "identity": values.text(recipient.get("identity")),
            "hashed": recipient.get("hashed") is True,
            "salt": values.text(recipient.get("salt")),
        }
    metadata.evidence = [_evidence(e) for e in values.as_list(assertion.get("evidence")) if isinstance(e, (str, dict))]


def _fill_badge(metadata: Metadata, badge: dict[str, Any], assertion: dict[str, Any]) -> None:
    metadata.achievement_id = values.text(badge.get("id"))
    metadata.name = values.text(badge.get("name"))
    metadata.description = values.text(badge.get("description"))
    metadata.image = _image(badge.get("image")) or _image(assertion.get("image"))
    criteria = badge.get("criteria")
    if isinstance(criteria, str):
        metadata.criteria_url = criteria
    elif isinstance(criteria, dict):
        metadata.criteria_narrative = values.text(criteria.get("narrative"))
        metadata.criteria_url = criteria.get("id") if _is_http_url(criteria.get("id")) else None
    metadata.alignments = [
        {"name": values.text(a.get("targetName")), "url": values.text(a.get("targetUrl")),
         "framework": values.text(a.get("targetFramework")), "code": values.text(a.get("targetCode")),
         "description": values.text(a.get("targetDescription"))}
        for a in values.as_list(badge.get("alignment")) if isinstance(a, dict)
    ]
    metadata.tags = [t for t in values.as_list(badge.get("tags")) if isinstance(t, str)]


def _fill_issuer(metadata: Metadata, issuer: dict[str, Any]) -> None:
    metadata.issuer_id = values.text(issuer.get("id"))
    metadata.issuer_name = values.text(issuer.get("name"))
    metadata.issuer_url = values.text(issuer.get("url"))
    metadata.issuer_email = values.text(issuer.get("email"))
    metadata.issuer_image = _image(issuer.get("image"))


def _evidence(value: str | dict[str, Any]) -> dict[str, Any]:
    if isinstance(value, str):
        return {"id": value}
    return {k: values.text(value.get(k)) for k in ("id", "name", "description", "narrative", "genre")}


def _image(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) else None


# --- Small pure helpers ----------------------------------------------------------------------


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


def _claim(document: dict[str, Any], name: str) -> Any:
    """Return a claim in a form where equivalent spellings compare equal."""
    value = document.get(name)
    if name in ("issuedOn", "expires"):
        return _parse_datetime(value) or value
    if name in ("badge", "issuer") and isinstance(value, dict):
        return value.get("id")
    if name == "verification":
        verification = _verification_of(document)
        return (_verification_kind(verification, _base_vocabulary()), verification.get("creator"))
    if name in ("type", "evidence"):
        return values.as_list(value)
    return value


def _reference_id(value: Any) -> str | None:
    """Return the id of a node given by reference (a string) or embedded (an object with an id)."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) else None


def _key_reference(value: Any) -> tuple[str, dict[str, Any] | None] | None:
    if isinstance(value, str):
        return value, None
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return value["id"], value
    return None


def _parse_datetime(value: Any) -> datetime | None:
    """Read an ISO 8601 date-time that has a time zone (security.md D19); None otherwise."""
    if not isinstance(value, str) or "T" not in value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _is_iri(value: Any) -> bool:
    return isinstance(value, str) and (bool(_ABSOLUTE_IRI.match(value)) or value.startswith("_:"))


def _is_http_url(value: Any) -> bool:
    return bool(_host(value)) and urlsplit(value).scheme in ("http", "https") and not any(
        c.isspace() for c in value)


def _host(url: Any) -> str:
    """Return the URL's lower-cased host name, or "" if it has none or is malformed."""
    if not isinstance(url, str):
        return ""
    try:
        return urlsplit(url).hostname or ""
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return ""
