"""A verifier's presentation request, and the learner's signed answer to it.

A verifier (an employer's site, a login page) asks the learner to prove who they are and what they
hold: it sends a challenge and names its domain, and a presentation signed for `authentication`
with exactly that challenge and domain answers it (VC Data Integrity §2.1). Such a signature logs
the learner in at that verifier, so it is made only for the learner, when they approve it, after
seeing who asks and choosing what goes out: never for a caller who merely holds a public link.

Requests are read in three shapes:
- a VC-API exchange's Verifiable Presentation Request (W3C CCG VP Request Spec):
  `{"verifiablePresentationRequest": {"query": [...], "challenge": ..., "domain": ...}}`, or the
  request object itself (`{"query": ..., "challenge": ..., "domain": ...}`);
- a DIF Presentation Exchange 2.0 definition with its options:
  `{"presentation_definition": {"input_descriptors": [...]}, "options": {"challenge", "domain"}}`;
- a plain challenge and domain.
Nothing in a request is fetched: its links are shown as text, if at all.
"""
from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from wallet.models.credential import RECIPIENT_MISMATCH, Credential
from wallet.services import disclosures, presentations
from wallet.services.blobs import BlobStore
from wallet.services.errors import NotFoundError, ValidationError
from wallet.services.presentations import Presentation
from wallet.services.sanitize import clean_text
from wallet.services.verification import values
from wallet.services.verification.errors import MalformedJSONError
from wallet.services.verification.jsonutil import loads_strict

VPR = "vpr"
PRESENTATION_EXCHANGE = "presentation-exchange"
PLAIN = "plain"
# A pasted request is small; anything larger is not one.
MAX_REQUEST_CHARS = 20_000
MAX_CHOSEN = 50
# What a verifier says about itself is shown in its own words, cut to these lengths.
_MAX_WORDS = 300
_MAX_ITEMS = 10
_VC_TYPE = "VerifiableCredential"


@dataclass(frozen=True)
class PresentationRequest:
    """What a verifier asks: its challenge and domain, and (in its own words) what and why."""

    challenge: str
    domain: str
    shape: str  # VPR, PRESENTATION_EXCHANGE or PLAIN
    asks_for: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()


def read_request(text: str | None, *, challenge: str | None = None, domain: str | None = None) -> PresentationRequest:
    """Read a pasted request (JSON), or else a plain challenge and domain; ValidationError if unusable."""
    text = (text or "").strip()
    if text:
        if len(text) > MAX_REQUEST_CHARS:
            raise ValidationError(f"The request is longer than {MAX_REQUEST_CHARS:,} characters; "
                                  "a presentation request is much shorter.")
        try:
            data = loads_strict(text)
        except MalformedJSONError as error:
            raise ValidationError(f"The request could not be read: {_json_words(str(error))}") from None
        return read_request_object(data)
    if not (challenge or domain):
        raise ValidationError("Paste the request, or give the verifier's challenge and domain.")
    return _request(challenge, domain, PLAIN)


def read_request_object(data: Any) -> PresentationRequest:
    """Read a request already parsed from JSON (as the API receives it)."""
    if not isinstance(data, dict):
        raise ValidationError("A presentation request is a JSON object.")
    if isinstance(data.get("verifiablePresentationRequest"), dict):
        return _vpr(data["verifiablePresentationRequest"])
    if "query" in data:
        return _vpr(data)
    if isinstance(data.get("presentation_definition"), dict):
        return _presentation_exchange(data)
    if "challenge" in data or "domain" in data:
        return _request(data.get("challenge"), data.get("domain"), PLAIN)
    raise ValidationError("This is not a presentation request Wallet can read: it holds neither a "
                          "verifiablePresentationRequest, a presentation_definition, nor a challenge and domain.")


def _json_words(message: str) -> str:
    # The strict reader speaks of "the file"; here it is a pasted request.
    return message.replace("The file is", "it is").replace("The JSON", "it")


def _request(challenge: Any, domain: Any, shape: str, asks_for: Sequence[str] = (),
             reasons: Sequence[str] = ()) -> PresentationRequest:
    if challenge is not None and not isinstance(challenge, str):
        raise ValidationError("The challenge must be 1 to 200 printable characters without spaces.")
    if domain is not None and not isinstance(domain, str):
        raise ValidationError("The domain must be 1 to 200 printable characters without spaces.")
    checked_challenge = presentations.clean_option(challenge, "challenge")
    checked_domain = presentations.clean_option(domain, "domain")
    if checked_challenge is None:
        # VC-DI §2.1: without the verifier's challenge, the answer could be replayed anywhere.
        raise ValidationError("The request has no challenge, so an answer could be replayed to any site. "
                              "Ask the verifier for a request with a challenge.")
    if checked_domain is None:
        raise ValidationError("The request does not name its domain, so Wallet cannot show you who asks. "
                              "Ask the verifier for a request with a domain.")
    return PresentationRequest(checked_challenge, checked_domain, shape, tuple(dict.fromkeys(asks_for))[:_MAX_ITEMS],
                               tuple(dict.fromkeys(reasons))[:_MAX_ITEMS])


def _vpr(request: dict[str, Any]) -> PresentationRequest:
    asks_for: list[str] = []
    reasons: list[str] = []
    # VP Request Spec §3: "query" is one query or a list; QueryByExample holds credentialQuery entries.
    for query in values.as_list(request.get("query")):
        if not isinstance(query, dict):
            continue
        for credential_query in values.as_list(query.get("credentialQuery")):
            if not isinstance(credential_query, dict):
                continue
            example = credential_query.get("example")
            if isinstance(example, dict):
                asks_for += [t for t in _words_list(example.get("type")) if t != _VC_TYPE]
            reasons += _words_list(credential_query.get("reason"))
    return _request(request.get("challenge"), request.get("domain"), VPR, asks_for, reasons)


def _presentation_exchange(data: dict[str, Any]) -> PresentationRequest:
    definition = data["presentation_definition"]
    options = data.get("options") if isinstance(data.get("options"), dict) else {}
    asks_for: list[str] = []
    reasons = _words_list(definition.get("purpose"))
    # DIF Presentation Exchange 2.0 §5: each input descriptor names what it wants and why.
    for descriptor in values.as_list(definition.get("input_descriptors")):
        if isinstance(descriptor, dict):
            asks_for += _words_list(descriptor.get("name")) or _words_list(descriptor.get("id"))
            reasons += _words_list(descriptor.get("purpose"))
    challenge = options.get("challenge", data.get("challenge"))
    domain = options.get("domain", data.get("domain"))
    return _request(challenge, domain, PRESENTATION_EXCHANGE, asks_for, reasons)


def _words_list(value: Any) -> list[str]:
    words = [clean_text(v, limit=_MAX_WORDS) for v in values.as_list(value) if isinstance(v, str)]
    return [w for w in words if w]


# ---------------------------------------------------------------------------------------------
# The learner's choice and the signed answer


@dataclass
class Choices:
    """The learner's credentials for an answer: those that can go in, and the others with why not."""

    presentable: list[Credential] = field(default_factory=list)
    not_presentable: list[tuple[Credential, str]] = field(default_factory=list)
    # For each SD-JWT VC (by id): the claims the learner may choose to disclose; none is chosen for them.
    disclosable: dict[int, list[disclosures.DisclosureChoice]] = field(default_factory=dict)


def _why_not(credential: Credential) -> str | None:
    if credential.recipient_state == RECIPIENT_MISMATCH:
        return "Issued to someone else: it names a recipient who is not you."
    if not presentations.is_presentable(credential):
        return presentations.not_presentable_reason(credential)
    if credential.format_id not in presentations.VC_FORMATS:
        return "Open Badges 2.0 badges are not Verifiable Credentials, so they cannot go into a presentation."
    return None


def choices(session: Session, owner_id: int, *, blobs: BlobStore | None = None,
            languages: Sequence[str] = ()) -> Choices:
    """Return the learner's credentials, split into those an answer may carry and the rest.

    With `blobs`, each SD-JWT VC's selectively disclosable claims are listed too, labelled in `languages`.
    """
    found = Choices()
    query = select(Credential).where(Credential.owner_id == owner_id).order_by(Credential.name, Credential.id)
    for credential in session.scalars(query):
        reason = _why_not(credential)
        if reason is None:
            found.presentable.append(credential)
            if blobs is not None and credential.format_id == "sdjwt":
                found.disclosable[credential.id] = disclosures.disclosure_choices(credential, blobs, languages)
        else:
            found.not_presentable.append((credential, reason))
    return found


def answer(
    session: Session,
    owner_id: int,
    request: PresentationRequest,
    credential_ids: Sequence[int],
    *,
    secret_key: str,
    blobs: BlobStore,
    disclose: Mapping[int, Collection[str]] | None = None,
) -> Presentation:
    """Sign the learner's answer to `request` with the credentials they chose (their own, verifying).

    `disclose` names, per SD-JWT VC id, the digests of the disclosures the learner chose; the others stay out.

    Raises NotFoundError if a credential is not the learner's, ValidationError if one cannot be
    presented (named, with why) or none was chosen. Call it only on the learner's explicit approval.
    """
    wanted = list(dict.fromkeys(int(i) for i in credential_ids))
    if not wanted:
        raise ValidationError("Choose at least one credential to present.")
    if len(wanted) > MAX_CHOSEN:
        raise ValidationError(f"Choose at most {MAX_CHOSEN} credentials.")
    owned = {c.id: c for c in session.scalars(
        select(Credential).where(Credential.owner_id == owner_id, Credential.id.in_(wanted)))}
    if set(owned) != set(wanted):
        raise NotFoundError("There is no such credential in your wallet.")
    chosen = [owned[i] for i in wanted]
    refused = [(c, reason) for c in chosen if (reason := _why_not(c)) is not None]
    if refused:
        raise ValidationError("These cannot go into a presentation: " + "; ".join(
            f"“{clean_text(c.name, limit=100)}”: {reason}" for c, reason in refused))
    presentation = presentations.answer_challenge(session, owner_id, chosen, challenge=request.challenge,
                                                  domain=request.domain, secret_key=secret_key, blobs=blobs,
                                                  disclose=disclose)
    if not presentation.included:
        raise ValidationError("None of the chosen credentials can go into a presentation: " + "; ".join(
            f"“{clean_text(c.name, limit=100)}”: {reason}" for c, reason in presentation.left_out))
    return presentation
