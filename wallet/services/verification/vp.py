"""W3C Verifiable Presentations (VC Data Model 2.0 §4.13): the holder's proof, then each credential.

A presentation is valid when its Data Integrity proof was made by a key of its `holder` and every
credential in it verifies. The proof purpose is `authentication` when the holder answers one
verifier's challenge and domain (VC-DI §2.1; the report says which), or `assertionMethod` for a plain
presentation that answers no request and so proves nothing about who presents it now. Credentials are embedded documents or
`EnvelopedVerifiableCredential`s carrying a `data:application/vc+jwt,` token (VC-JOSE-COSE §3.3);
each is verified by the format module that recognises it and reported in `result.nested`. The
overall status is the gravest of the holder's proof and the credentials' results.
"""
from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import unquote

from wallet.services.verification import dataintegrity, values, vc
from wallet.services.verification.context import Budget, Context
from wallet.services.verification.extract import Presented
from wallet.services.verification.result import STATUS_PRECEDENCE, Check, Status, VerificationResult

FORMAT_ID = "vp"
PRESENTATION_TYPE = "VerifiablePresentation"
ENVELOPED_TYPE = "EnvelopedVerifiableCredential"
VC_JWT_DATA_PREFIX = "data:application/vc+jwt,"
AUTHENTICATION = "authentication"
PLAIN = "assertionMethod"
# A presentation is a list of credentials to check one by one; beyond this it is refused, not truncated.
MAX_CREDENTIALS = 500


def detect(presented: Presented) -> bool:
    """Tell whether the document is a W3C Verifiable Presentation."""
    return PRESENTATION_TYPE in values.types_of(presented.document.get("type"))


def verify(presented: Presented, context: Context) -> VerificationResult:
    """Verify the holder's proof of a presentation and every credential in it."""
    document = presented.document
    result = VerificationResult(format=FORMAT_ID, status=Status.VALID, credential=document)
    holder = _holder(document)
    result.metadata.name = "Verifiable Presentation"
    result.metadata.credential_id = document.get("id") if isinstance(document.get("id"), str) else None
    result.metadata.issuer_id = holder
    items = values.as_list(document.get("verifiableCredential"))
    problems = _structure_problems(document, items)
    if problems:
        result.add(Check.failed("structure", "The presentation is malformed: " + "; ".join(problems) + "."))
        return result.finish()
    held = f"holds {len(items)} credential{'s' if len(items) != 1 else ''}"
    result.add(Check.passed("structure", f"The presentation names its holder and {held}." if holder
                            else f"The presentation {held}.", holder=holder))
    if presented.jws:
        result.add(Check.failed("proof", "Presentations secured as JWTs are not supported; only embedded proofs are.",
                                outcome=Status.UNVERIFIABLE))
        return result.finish()
    if holder is None:
        # VCDM 2.0 §4.13: "holder" is optional, but without it no proof can show who presented these.
        result.add(Check.failed("holder-key", "The presentation does not name its holder, so nothing shows "
                                "who presented it.", outcome=Status.UNVERIFIABLE))
    elif not dataintegrity.has_proof(document):
        result.add(Check.failed("proof", "The presentation is not signed, so nothing shows that its holder presented it.",
                                outcome=Status.UNVERIFIABLE))
    else:
        purpose = _purpose(document)
        outcome = dataintegrity.verify_document_proofs(document, issuer_id=holder, context=context, purpose=purpose)
        for check in outcome.checks:
            result.add(_holder_words(check))
        result.securing = outcome.securing
        if outcome.ok:
            result.metadata.verified_issuer = holder
            result.add(_binding_check(document, purpose))
    result.nested = [_verify_item(item, context) for item in items]
    result.add(_credentials_check(result.nested))
    return result.finish()


def _holder(document: dict[str, Any]) -> str | None:
    holder = document.get("holder")
    if isinstance(holder, dict):
        holder = holder.get("id")
    return holder if isinstance(holder, str) and holder else None


def _structure_problems(document: dict[str, Any], items: list[Any]) -> list[str]:
    problems = []
    contexts = values.as_list(document.get("@context"))
    if not contexts or contexts[0] not in (vc.VC_V2_CONTEXT, vc.VC_V1_CONTEXT):
        problems.append("its first @context must be the W3C credentials context")
    if not items:
        problems.append("it holds no credentials")
    elif len(items) > MAX_CREDENTIALS:
        problems.append(f"it holds more than {MAX_CREDENTIALS} credentials")
    return problems


def _proofs(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in values.as_list(document.get("proof")) if isinstance(p, dict)]


def _purpose(document: dict[str, Any]) -> str:
    """Return the purpose to check the holder's proof for: as it states, if it is one a holder may use."""
    stated = {p.get("proofPurpose") for p in _proofs(document)}
    # Any other purpose is checked as authentication, so that the proof check says what it was made for.
    return PLAIN if stated == {PLAIN} else AUTHENTICATION


def _binding_check(document: dict[str, Any], purpose: str) -> Check:
    """Say what the holder's proof answers: one verifier's challenge and domain, or no request at all."""
    if purpose == PLAIN:
        return Check.passed("purpose", "The holder signed it as a plain presentation (assertionMethod): it answers "
                                       "no verifier's challenge, so it does not show who presents it now.",
                            purpose=PLAIN)
    proof = next((p for p in _proofs(document) if p.get("proofPurpose") == AUTHENTICATION), {})
    challenge, domain = proof.get("challenge"), proof.get("domain")
    if not isinstance(challenge, str) or not challenge:
        # VC-DI §2.1: an authentication proof without a challenge can be replayed to any verifier.
        return Check.warning("purpose", "The holder's proof is for authentication but carries no challenge, "
                                        "so it could be a replay.", purpose=AUTHENTICATION)
    words = f"challenge {challenge[:200]}" + (f" for the domain {domain[:200]}" if isinstance(domain, str) else "")
    return Check.passed("purpose", f"The holder signed it to authenticate, answering the {words}; a verifier "
                                   "accepts it only if that is the challenge it gave.",
                        purpose=AUTHENTICATION, challenge=challenge[:200],
                        domain=domain[:200] if isinstance(domain, str) else None)


def _holder_words(check: Check) -> Check:
    # The proof checks speak of "the issuer"; in a presentation the signer is the holder.
    if check.id == "issuer-key":
        return dataclasses.replace(check, id="holder-key",
                                   message=check.message.replace("the issuer", "the holder").replace("its issuer", "its holder"))
    return check


def _verify_item(item: Any, context: Context) -> VerificationResult:
    if isinstance(item, dict) and ENVELOPED_TYPE in values.types_of(item.get("type")):
        envelope = item.get("id")
        if not isinstance(envelope, str) or not envelope.startswith(VC_JWT_DATA_PREFIX):
            failed = VerificationResult(format=None, status=Status.UNVERIFIABLE)
            failed.add(Check.failed("embedded", "This enveloped credential is not a data:application/vc+jwt token, "
                                                "which is the only kind Wallet reads.", outcome=Status.UNVERIFIABLE))
            return failed
        item = unquote(envelope[len(VC_JWT_DATA_PREFIX):])
    # Each credential gets its own fetch budget: one credential's documents must not starve the next.
    member_context = dataclasses.replace(context, budget=Budget())
    return vc.verify_embedded(item, member_context, _verify_member)


def _verify_member(presented: Presented, context: Context) -> VerificationResult:
    # Imported here: the package imports this module to build its registry of formats.
    from wallet.services.verification import verify_presented

    if detect(presented):
        failed = VerificationResult(format=None, status=Status.INVALID)
        failed.add(Check.failed("embedded", "A presentation cannot hold another presentation."))
        return failed
    return verify_presented(presented, context)


def _credentials_check(members: list[VerificationResult]) -> Check:
    total = len(members)
    not_valid = [m for m in members if m.status is not Status.VALID]
    if not not_valid:
        return Check.passed("credentials", f"All {total} credential{'s' if total != 1 else ''} in the presentation "
                                           f"{'are' if total != 1 else 'is'} verified.", total=total)
    gravest = next(s for s in STATUS_PRECEDENCE if any(m.status is s for m in not_valid))
    return Check.failed("credentials", f"{len(not_valid)} of the {total} credentials in the presentation "
                                       f"{'is' if len(not_valid) == 1 else 'are'} not verified (the gravest: {gravest}).",
                        outcome=gravest, total=total, not_verified=len(not_valid))
