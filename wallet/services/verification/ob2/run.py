"""One verification of one presented OB 2.0 document: the nodes it reaches, its steps and its report."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from wallet.services.verification import values
from wallet.services.verification.context import Context
from wallet.services.verification.errors import FetchError, ImportRejectedError
from wallet.services.verification.extract import Presented
from wallet.services.verification.jsonutil import loads_strict
from wallet.services.verification.ob2.hosted import HostedSteps
from wallet.services.verification.ob2.node import _Node, _Stop
from wallet.services.verification.ob2.revocation import RevocationSteps
from wallet.services.verification.ob2.signed import SignedSteps
from wallet.services.verification.ob2.structure import (
    _host,
    _is_http_url,
    _parse_datetime,
    _reference_id,
    _validate_badge_class,
    _validate_node,
    _validate_profile,
)
from wallet.services.verification.ob2.terms import (
    CLOCK_LEEWAY,
    FORMAT_ID,
    MAX_ENDORSEMENTS,
    MAX_ENDORSEMENT_FETCHES,
    OBI,
    _ASSERTION,
    _BADGE_CLASS,
    _ENDORSEMENT,
    _ISSUER_TYPES,
    _OB1_CONTEXT,
)
from wallet.services.verification.ob2.vocabulary import (
    _Problems,
    _base_vocabulary,
    _check_types,
    _types_of,
    _verification_kind,
    _verification_of,
)
from wallet.services.verification.recipient import check_recipient
from wallet.services.verification.result import Check, CheckStatus, Metadata, Status, VerificationResult


class _Run(HostedSteps, SignedSteps, RevocationSteps):
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
            # docs/security.md D13: a signed badge handed over without its signature proves nothing.
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
            # docs/security.md D15: only a web origin can vouch for an issuer.
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
        # ASVS 16.5.2 / docs/reliability.md §5: a server that cannot be reached never makes a badge invalid.
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
