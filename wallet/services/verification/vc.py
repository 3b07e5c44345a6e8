"""W3C Verifiable Credentials 1.1 and 2.0: structure, validity period and status.

FORMAT_ID "vc" takes any W3C VC that is neither an Open Badge nor a CLR; ob3.py and clr.py reuse
the machinery here (`verify_credential`, `finish`, `verify_embedded`) and add their own rules.
Securing (JWS or Data Integrity) is in securing.py, dates in dates.py.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from wallet.services.verification import dates, jose, keys, recipient, status
from wallet.services.verification.context import Context
from wallet.services.verification.errors import DuplicateKeyError, FetchError, JoseError, WalletError
from wallet.services.verification.extract import Presented
from wallet.services.verification.result import Check, Metadata, Status, VerificationResult
from wallet.services.verification.securing import (
    VC_V1_CONTEXT,
    VC_V2_CONTEXT,
    Secured,
    secure_document,
    secure_jwt,
    vc_claim_credential,
)
from wallet.services.verification.values import as_list, first_subject, image_url, text, types_of

FORMAT_ID = "vc"

_ISSUER_SCHEMES = ("http", "https", "did", "urn")
_MAX_PROBLEMS_SHOWN = 5


@dataclass
class Verified:
    """A credential part-way through verification: the format module adds its checks, then finishes."""

    result: VerificationResult
    credential: dict[str, Any]
    secured: Secured
    context: Context


def detect(presented: Presented) -> bool:
    """Tell whether the presented document is a W3C Verifiable Credential."""
    return "VerifiableCredential" in types_of(credential_of(presented).get("type"))


def verify(presented: Presented, context: Context) -> VerificationResult:
    """Verify a W3C Verifiable Credential that is not an Open Badge or a CLR."""
    verified = verify_credential(presented, context, format_id=FORMAT_ID)
    return finish(verified)


def verify_credential(
    presented: Presented,
    context: Context,
    *,
    format_id: str,
    structure: Callable[[dict[str, Any]], list[str]] | None = None,
) -> Verified:
    """Run the checks every VC gets; `structure` adds the format's own well-formedness problems.

    The result is not finished: the caller adds its own checks, then calls `finish`.
    """
    credential = credential_of(presented)
    if presented.jws:
        unwrapped, secured = secure_jwt(presented.jws, context)
        credential = unwrapped if unwrapped is not None else credential
    else:
        secured = secure_document(credential, context)

    result = VerificationResult(format=format_id, status=Status.VALID, credential=credential,
                                compact=presented.jws, securing=secured.securing)
    problems = structure_problems(credential)
    if structure is not None:
        problems += structure(credential)
    result.add(_structure_check(problems))
    for check in secured.checks:
        result.add(check)
    result.add(dates.validity_check(credential, context.now, _jwt_claims(presented)))

    if not secured.ok:
        result.add(Check.skipped("status", "Revocation was not checked, because the credential's "
                                 "signature could not be confirmed first."))
    elif problems:
        result.add(Check.skipped("status", "Revocation was not checked, because the credential is "
                                 "not well-formed."))
    else:
        for check in status.check_status(credential, issuer_id=keys.issuer_of(credential) or "",
                                         context=context):
            result.add(check)
    for check in _schema_and_refresh_checks(credential):
        result.add(check)
    _fill_metadata(result.metadata, credential, secured)
    return Verified(result, credential, secured, context)


def finish(verified: Verified) -> VerificationResult:
    """Add the recipient check, set the overall status and return the result."""
    subject = first_subject(verified.credential)
    if subject is not None:
        verified.result.add(recipient.match_ob3_identifiers(subject, verified.context.recipients))
    return verified.result.finish()


def verify_embedded(
    item: Any, context: Context, verify_member: Callable[[Presented, Context], VerificationResult]
) -> VerificationResult:
    """Verify a credential embedded in another (CLR member, endorsement): JSON or a compact JWS string."""
    try:
        if isinstance(item, str) and jose.looks_like_compact_jws(item):
            document = jose.decode_payload_json(jose.parse_compact(item))
            presented = Presented(document, item.strip(), "jwt", item.encode("utf-8"))
        elif isinstance(item, dict):
            presented = Presented(item, None, "json", b"")
        else:
            return _embedded_failure(Status.INVALID, "This entry is neither a credential nor a signed token.")
    except JoseError as error:
        return _embedded_failure(error.outcome, str(error))
    # A member with a key twice (DuplicateKeyError) is not caught: the record that carries it is
    # ambiguous as a whole and is refused (docs/importing.md).
    if context.budget.embedded <= 0:
        return _embedded_failure(Status.UNVERIFIABLE, "Not checked: this credential carries more credentials "
                                 "inside it than Wallet checks in one go.")
    context.budget.embedded -= 1
    try:
        nested_context = context.nested()
    except FetchError as error:
        return _embedded_failure(Status.UNVERIFIABLE, str(error))
    try:
        result = verify_member(presented, nested_context)
    except DuplicateKeyError:
        raise
    except WalletError as error:
        result = _embedded_failure(Status.ERROR, str(error))
    result.container = presented.container
    return result


def _embedded_failure(outcome: Status, message: str) -> VerificationResult:
    result = VerificationResult(format=None, status=outcome)
    result.add(Check.failed("embedded", message, outcome=outcome))
    return result


# --- unwrapping ----------------------------------------------------------------------------------


def credential_of(presented: Presented) -> dict[str, Any]:
    """Return the credential itself: the `vc` claim of an OB 3.0 / VC 1.1 VC-JWT, else the document."""
    document = presented.document
    if presented.jws and isinstance(document.get("vc"), dict):
        return vc_claim_credential(document)
    return document


# --- structure -----------------------------------------------------------------------------------


def structure_problems(credential: dict[str, Any]) -> list[str]:
    """List what makes the document not a well-formed VC 1.1 / 2.0 (VCDM 2.0 §4, VCDM 1.1 §4)."""
    problems: list[str] = []
    contexts = credential.get("@context")
    first = contexts[0] if isinstance(contexts, list) and contexts else contexts
    if first not in (VC_V1_CONTEXT, VC_V2_CONTEXT):
        problems.append(f'the first @context must be "{VC_V2_CONTEXT}" (or "{VC_V1_CONTEXT}" for VC 1.1)')
    if "VerifiableCredential" not in types_of(credential.get("type")):
        problems.append('type must include "VerifiableCredential"')
    if "id" in credential and not _is_uri(credential["id"]):
        problems.append("id must be a URL or URN")
    issuer = credential.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, dict) else issuer
    if issuer is None:
        problems.append("issuer is missing")
    elif not _is_uri(issuer_id, _ISSUER_SCHEMES):
        problems.append("issuer must be a URL, DID or URN, or an object whose id is one")
    subjects = credential.get("credentialSubject")
    if not subjects or not all(isinstance(s, dict) for s in (subjects if isinstance(subjects, list) else [subjects])):
        problems.append("credentialSubject must be an object (or a list of objects)")
    dated = {name: credential[name] for name in ("validFrom", "validUntil", "issuanceDate", "expirationDate")
             if name in credential}
    if first == VC_V1_CONTEXT and "issuanceDate" not in credential:
        problems.append("issuanceDate is required in a VC 1.1 credential")
    for name, value in dated.items():
        if dates.parse_datetime(value) is None:
            problems.append(f"{name} must be a date and time with a time zone, like 2024-05-01T12:00:00Z")
    return problems


def _structure_check(problems: list[str]) -> Check:
    if not problems:
        return Check.passed("structure", "The credential is well-formed.")
    shown = "; ".join(problems[:_MAX_PROBLEMS_SHOWN])
    more = f" (and {len(problems) - _MAX_PROBLEMS_SHOWN} more)" if len(problems) > _MAX_PROBLEMS_SHOWN else ""
    return Check.failed("structure", f"The credential is not well-formed: {shown}{more}.", problems=problems)


def _is_uri(value: Any, schemes: tuple[str, ...] | None = None) -> bool:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*:\S+", value):
        return False
    scheme = value.split(":", 1)[0].lower()
    if schemes is not None and scheme not in schemes:
        return False
    if scheme in ("http", "https"):
        return bool(urlsplit(value).hostname)
    return True


def _jwt_claims(presented: Presented) -> dict[str, Any]:
    return presented.document if presented.jws else {}


# --- schema, refresh and metadata ----------------------------------------------------------------


def _schema_and_refresh_checks(credential: dict[str, Any]) -> list[Check]:
    checks: list[Check] = []
    schemas = credential.get("credentialSchema")
    if schemas:
        ids = [s.get("id") for s in (schemas if isinstance(schemas, list) else [schemas]) if isinstance(s, dict)]
        # The 1EdTech JSON Schemas are not bundled, and fetching them would add nothing the
        # structure checks above do not already cover; so this step is reported, not run.
        checks.append(Check.skipped("schema", "The credential names a JSON Schema; Wallet checks the required "
                                    "structure itself and does not download schemas.", schemas=ids))
    refresh = credential.get("refreshService")
    if refresh:
        # OB 3.0 §8.3 step 4 makes refreshing optional; it is never done behind the learner's back.
        checks.append(Check.skipped("refresh", "The issuer offers a refresh service; Wallet does not follow it "
                                    "automatically.", service=refresh.get("id") if isinstance(refresh, dict) else None))
    return checks


def _fill_metadata(metadata: Metadata, credential: dict[str, Any], secured: Secured) -> None:
    metadata.name = text(credential.get("name"))
    metadata.description = text(credential.get("description"))
    metadata.image = image_url(credential.get("image"))
    issuer = credential.get("issuer")
    metadata.issuer_id = keys.issuer_of(credential)
    if isinstance(issuer, dict):
        metadata.issuer_name = text(issuer.get("name"))
        metadata.issuer_url = text(issuer.get("url"))
        metadata.issuer_image = image_url(issuer.get("image"))
        metadata.issuer_email = text(issuer.get("email"))
    metadata.verified_issuer = verified_issuer(secured, metadata.issuer_id)
    metadata.credential_id = text(credential.get("id"))
    metadata.valid_from = dates.first_date(credential, ("validFrom", "issuanceDate"))
    metadata.issued = dates.first_date(credential, ("validFrom", "issuanceDate", "awardedDate"))
    metadata.expires = dates.first_date(credential, ("validUntil", "expirationDate"))
    metadata.recipient = _recipient(first_subject(credential))
    metadata.evidence = [
        {name: text(item.get(name)) for name in ("id", "name", "description", "narrative", "genre")}
        for item in as_list(credential.get("evidence")) if isinstance(item, dict)
    ]


def verified_issuer(secured: Secured, issuer_id: str | None) -> str | None:
    """Return the DID or https host the signing key was tied to; None if authorship is not established."""
    if not secured.ok or secured.key is None:
        return None
    controller = (secured.key.controller or "").split("#", 1)[0]
    if controller.startswith("did:"):
        return controller
    if issuer_id and issuer_id.startswith("did:"):
        return issuer_id.split("#", 1)[0]
    host = urlsplit(issuer_id or "").hostname
    return host or None


def _recipient(subject: dict[str, Any] | None) -> dict[str, Any] | None:
    if subject is None:
        return None
    subject_id = subject.get("id")
    if isinstance(subject_id, str) and subject_id:
        kind = "did" if subject_id.startswith("did:") else subject_id.split(":", 1)[0].lower()
        kind = {"mailto": "email", "http": "url", "https": "url", "tel": "telephone"}.get(kind, kind)
        return {"type": kind, "identity": subject_id, "hashed": False, "salt": None}
    for identifier in as_list(subject.get("identifier")):
        if isinstance(identifier, dict) and isinstance(identifier.get("identityHash"), str):
            return {
                "type": text(identifier.get("identityType")),
                "identity": identifier["identityHash"],
                "hashed": bool(identifier.get("hashed")),
                "salt": text(identifier.get("salt")),
            }
    return None
