"""W3C Verifiable Credentials 1.1 and 2.0: securing, structure, validity period and status.

FORMAT_ID "vc" takes any W3C VC that is neither an Open Badge nor a CLR; ob3.py and clr.py reuse
the machinery here (`verify_credential`, `secure_jwt`, `secure_document`) and add their own rules.

Securing [VCDM 2.0 §4.12; OB 3.0 §8.2, §8.3]: a compact JWS is either the OB 3.0 / VC 1.1 "VC-JWT"
mapping (credential in the `vc` claim, registered claims mirroring it) or VC-JOSE-COSE (`typ`
`vc+jwt` / `vc-ld+jwt`, the payload is the credential). Otherwise an embedded Data Integrity proof.
Either is enough; a signature only counts when its key belongs to the issuer (security.md D7, D8).
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

from wallet.services.verification.errors import DuplicateKeyError, FetchError, JoseError, KeyResolutionError, WalletError
from wallet.services.verification import dataintegrity, jose, jsonld, keys, recipient, status
from wallet.services.verification.context import Context
from wallet.services.verification.extract import Presented
from wallet.services.verification.result import Check, CheckStatus, Metadata, Status, VerificationResult

FORMAT_ID = "vc"

VC_V1_CONTEXT = "https://www.w3.org/2018/credentials/v1"
VC_V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
# security.md D19: the clock-skew allowance for every date (jwcrypto's default).
LEEWAY = timedelta(seconds=60)
# VC-JOSE-COSE §3.1.1: the media types whose payload is the credential itself (with the draft names).
JOSE_TYPES = frozenset({"vc+jwt", "application/vc+jwt", "vc+ld+jwt", "application/vc+ld+jwt",
                        "vc-ld+jwt", "application/vc-ld+jwt"})
# XML Schema dateTime with a mandatory offset (VCDM 2.0 §4.9 dateTimeStamp); naive times are refused (D19).
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})")
_ISSUER_SCHEMES = ("http", "https", "did", "urn")
_MAX_PROBLEMS_SHOWN = 5


@dataclass
class Secured:
    """What checking a credential's signature established."""

    checks: list[Check]
    securing: str | None = None
    key: keys.ResolvedKey | None = None
    # The signature verifies with a key that belongs to the issuer, and nothing in it disagrees.
    ok: bool = False


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
    result.add(validity_check(credential, context.now, _jwt_claims(presented)))

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


# --- unwrapping and securing -------------------------------------------------------------------


def credential_of(presented: Presented) -> dict[str, Any]:
    """Return the credential itself: the `vc` claim of an OB 3.0 / VC 1.1 VC-JWT, else the document."""
    document = presented.document
    if presented.jws and isinstance(document.get("vc"), dict):
        return vc_claim_credential(document)
    return document


def vc_claim_credential(payload: dict[str, Any]) -> dict[str, Any]:
    """Return the `vc` claim with the properties that the registered claims carry for it put back.

    VCDM 1.1 §6.3.1: an encoder may leave `issuer`, `id`, `issuanceDate`, `expirationDate` and
    `credentialSubject.id` out of `vc` and give them only as `iss`, `jti`, `nbf`, `exp` and `sub`
    (did-jwt-vc does so by default); the decoder sets them from those claims. A property the claim
    already has is kept, so that `jwt_claim_problems` can report any disagreement.
    """
    credential = dict(payload["vc"])
    iss, jti, sub = (payload.get(name) for name in ("iss", "jti", "sub"))
    issuer = credential.get("issuer")
    if isinstance(iss, str):
        if issuer is None:
            credential["issuer"] = iss
        elif isinstance(issuer, dict) and "id" not in issuer:
            credential["issuer"] = {**issuer, "id": iss}
    if "id" not in credential and isinstance(jti, str):
        credential["id"] = jti
    subject = credential.get("credentialSubject")
    if isinstance(subject, dict) and "id" not in subject and isinstance(sub, str):
        credential["credentialSubject"] = {**subject, "id": sub}
    if as_list(credential.get("@context"))[:1] == [VC_V1_CONTEXT]:
        for name, claim in (("issuanceDate", "nbf"), ("expirationDate", "exp")):
            moment = _numeric_date(payload.get(claim))
            if name not in credential and moment is not None:
                credential[name] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return credential


def secure_jwt(token: str, context: Context) -> tuple[dict[str, Any] | None, Secured]:
    """Check a compact JWS credential: key, signature and the JWT claims; return the credential too."""
    try:
        parsed = jose.parse_compact(token)
        payload = jose.decode_payload_json(parsed)
    except JoseError as error:
        return None, Secured([Check.failed("proof", str(error), outcome=error.outcome)])
    except DuplicateKeyError as error:
        # Only a fetched token gets here (a status list): the credential's own was read strictly first.
        return None, Secured([Check.failed("proof", str(error))])
    typ = str(parsed.header.get("typ", "")).lower()
    if isinstance(payload.get("vc"), dict) and typ not in JOSE_TYPES:
        credential, securing = vc_claim_credential(payload), "vc-jwt"
    else:
        credential, securing = payload, "vc-jose"
    checks: list[Check] = []
    context_check = contexts_check(credential)
    if context_check is not None:
        checks.append(context_check)
    issuer_id = keys.issuer_of(credential) or ""
    try:
        candidates = _jwt_keys(parsed.header, issuer_id, context)
    except KeyResolutionError as error:
        checks.append(Check.skipped("proof", "The signature could not be checked without its key."))
        checks.append(Check.failed("issuer-key", str(error), outcome=error.outcome, issuer=issuer_id))
        return credential, Secured(checks, securing)

    key, failure = _first_verifying_key(parsed, candidates)
    if key is None:
        checks.append(Check.failed("proof", failure, alg=parsed.header.get("alg")))
        return credential, Secured(checks, securing)
    checks.append(Check.passed("proof", f"The signature ({parsed.header['alg']}) matches the credential.",
                               alg=parsed.header["alg"], key=key.vm_id))
    key_check = issuer_key_check(key, issuer_id)
    checks.append(key_check)
    # VC-JOSE-COSE, "JWT Claims": in a vc+jwt token iat/nbf/exp date the signature, not the credential's
    # validity period (they still bound it); only iss, jti and sub name what issuer, id and
    # credentialSubject.id do. The OB 3.0 / VC 1.1 "vc" claim mapping mirrors the dates as well.
    claims = (jwt_claim_problems(payload, credential, dates=securing == "vc-jwt")
              if securing == "vc-jwt" or _has_claims(payload) else [])
    if claims:
        checks.append(Check.failed("jwt-claims", "The token's claims disagree with the credential: "
                                   + "; ".join(claims) + ".", problems=claims))
    else:
        checks.append(Check.passed("jwt-claims", "The token's claims agree with the credential."))
    ok = all(c.status is not CheckStatus.FAILED for c in checks)
    return credential, Secured(checks, securing, key, ok)


def secure_document(credential: dict[str, Any], context: Context) -> Secured:
    """Check a credential's embedded Data Integrity proof(s); one with none is refused (D13)."""
    outcome = dataintegrity.verify_document_proofs(
        credential, issuer_id=keys.issuer_of(credential), context=context)
    return Secured(list(outcome.checks), outcome.securing, outcome.key, outcome.ok)


def contexts_check(credential: dict[str, Any]) -> Check | None:
    """Refuse JSON-LD contexts Wallet does not bundle (security.md B1, B2); None when all are known."""
    unknown = jsonld.unknown_contexts(credential)
    if not unknown:
        return None
    # B1: never fetched, since a context from elsewhere can change what the signed data means.
    return Check.failed("contexts", f"The credential uses a JSON-LD context Wallet does not know "
                        f"({unknown[0][:200]}), so its meaning cannot be fixed; it was not fetched.",
                        urls=unknown[:10])


def issuer_key_check(key: keys.ResolvedKey, issuer_id: str) -> Check:
    """Report whether the key that signed belongs to the issuer (security.md D7, D8, D15)."""
    if key.binding is keys.KeyBinding.ISSUER:
        return Check.passed("issuer-key", key.explanation or f"The signing key belongs to the issuer {issuer_id}.",
                            key=key.vm_id, controller=key.controller, issuer=issuer_id)
    if key.binding is keys.KeyBinding.SELF_ASSERTED:
        message = (key.explanation or "The key that made the signature came with the credential itself, "
                   "and nothing ties it to the issuer.")
        return Check.failed("issuer-key", message, outcome=Status.UNVERIFIABLE, key=key.vm_id,
                            controller=key.controller, issuer=issuer_id)
    # As for Data Integrity proofs: a key shown to be someone else's means the issuer did not sign.
    message = key.explanation or f"The signing key belongs to {key.controller}, not to the issuer {issuer_id}."
    return Check.failed("issuer-key", message, outcome=Status.INVALID, key=key.vm_id,
                        controller=key.controller, issuer=issuer_id)


def jwt_claim_problems(payload: dict[str, Any], credential: dict[str, Any], *, dates: bool = True) -> list[str]:
    """List where the JWT's registered claims disagree with the credential (OB 3.0 §8.2.6.1, D14).

    With `dates` false, `nbf` and `exp` are only checked to be times, not compared with the credential.
    """
    problems: list[str] = []
    issuer_id = keys.issuer_of(credential)
    if "iss" in payload and payload["iss"] != issuer_id:
        problems.append(f'"iss" is {_short(payload["iss"])} but the issuer is {_short(issuer_id)}')
    # VCDM 1.1 §6.3.1: "sub" is the id of a credentialSubject; with several subjects, of any one.
    subject_ids = [s["id"] for s in as_list(credential.get("credentialSubject")) if isinstance(s, dict) and "id" in s]
    if "sub" in payload and subject_ids and payload["sub"] not in subject_ids:
        problems.append(f'"sub" is {_short(payload["sub"])} but the subject is {_short(subject_ids[0])}'
                        if len(subject_ids) == 1 else
                        f'"sub" is {_short(payload["sub"])} but none of the {len(subject_ids)} subjects has that id')
    if "jti" in payload and "id" in credential and payload["jti"] != credential["id"]:
        problems.append(f'"jti" is {_short(payload["jti"])} but the credential id is {_short(credential["id"])}')
    starts = _first_date(credential, ("validFrom", "issuanceDate"))
    if "nbf" in payload:
        nbf = _numeric_date(payload["nbf"])
        if nbf is None:
            problems.append('"nbf" is not a time')
        elif dates and starts is not None and not _same_second(nbf, starts):
            problems.append(f'"nbf" is {_when(nbf)} but the credential is valid from {_when(starts)}')
    ends = _first_date(credential, ("validUntil", "expirationDate"))
    if "exp" in payload:
        exp = _numeric_date(payload["exp"])
        if exp is None:
            problems.append('"exp" is not a time')
        elif dates and ends is not None and not _same_second(exp, ends):
            problems.append(f'"exp" is {_when(exp)} but the credential is valid until {_when(ends)}')
    return problems


def _has_claims(payload: dict[str, Any]) -> bool:
    return any(name in payload for name in ("iss", "sub", "jti", "nbf", "exp"))


def _jwt_keys(header: dict[str, Any], issuer_id: str, context: Context) -> list[keys.ResolvedKey]:
    """Find the candidate keys for a JWS: its `kid`, else its `jwk`, else the issuer DID's keys."""
    kid = header.get("kid")
    base = issuer_id.split("#", 1)[0]
    if isinstance(kid, str) and kid:
        # A relative kid ("#key-1", or a bare "key-1") names a key of the issuer's DID or URL.
        if kid.startswith("#"):
            kid = base + kid
        elif ":" not in kid and base:
            kid = f"{base}#{kid}"
        return [keys.resolve_verification_method(kid, issuer_id=issuer_id, context=context)]
    jwk = header.get("jwk")
    if isinstance(jwk, dict):
        return [keys.key_from_jwk(jwk, issuer_id=issuer_id)]
    if base.startswith("did:"):
        return keys.assertion_keys(base, issuer_id=issuer_id, context=context)
    raise KeyResolutionError(
        "The signature does not say which key made it, and the issuer has no DID to look one up.",
        Status.UNVERIFIABLE)


def _first_verifying_key(
    parsed: jose.ParsedJws, candidates: Iterable[keys.ResolvedKey]
) -> tuple[keys.ResolvedKey | None, str]:
    failure = "None of the issuer's keys matches the signature."
    for key in candidates:
        try:
            jose.verify_signature(parsed, key.jwk)
        except JoseError as error:
            failure = str(error)
            continue
        return key, ""
    return None, failure


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
        if parse_datetime(value) is None:
            problems.append(f"{name} must be a date and time with a time zone, like 2024-05-01T12:00:00Z")
    return problems


def _structure_check(problems: list[str]) -> Check:
    if not problems:
        return Check.passed("structure", "The credential is well-formed.")
    shown = "; ".join(problems[:_MAX_PROBLEMS_SHOWN])
    more = f" (and {len(problems) - _MAX_PROBLEMS_SHOWN} more)" if len(problems) > _MAX_PROBLEMS_SHOWN else ""
    return Check.failed("structure", f"The credential is not well-formed: {shown}{more}.", problems=problems)


def types_of(value: Any) -> list[str]:
    """Return a JSON-LD `type` value as a list of strings."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def first_subject(credential: dict[str, Any]) -> dict[str, Any] | None:
    """Return the (first) credentialSubject object, if there is one."""
    subject = credential.get("credentialSubject")
    if isinstance(subject, list):
        subject = subject[0] if subject else None
    return subject if isinstance(subject, dict) else None


def _is_uri(value: Any, schemes: tuple[str, ...] | None = None) -> bool:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*:\S+", value):
        return False
    scheme = value.split(":", 1)[0].lower()
    if schemes is not None and scheme not in schemes:
        return False
    if scheme in ("http", "https"):
        return bool(urlsplit(value).hostname)
    return True


# --- dates and validity --------------------------------------------------------------------------


def parse_datetime(value: Any) -> datetime | None:
    """Parse an XML Schema dateTime that carries a time zone; None for anything else (D19)."""
    if not isinstance(value, str) or not _DATETIME.fullmatch(value):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def validity_check(credential: dict[str, Any], now: datetime, claims: dict[str, Any] | None = None) -> Check:
    """Compare the validity period (validFrom/validUntil, VC 1.1 dates, JWT nbf/exp) with `now`."""
    valid_from, valid_until = validity_period(credential, claims)
    detail = {"valid_from": valid_from, "valid_until": valid_until, "checked_at": now}
    outcome = period_status(valid_from, valid_until, now)
    if outcome is Status.EXPIRED:
        return Check.failed("validity", f"Expired on {_when(valid_until)}.", outcome=outcome, **detail)
    if outcome is Status.NOT_YET_VALID:
        return Check.failed("validity", f"Not valid until {_when(valid_from)}.", outcome=outcome, **detail)
    if valid_until is not None:
        return Check.passed("validity", f"Valid until {_when(valid_until)}.", **detail)
    return Check.passed("validity", "Valid now; it has no expiry date.", **detail)


def validity_period(
    credential: dict[str, Any], claims: dict[str, Any] | None = None
) -> tuple[datetime | None, datetime | None]:
    """Return the (start, end) of validity: the latest start and earliest end any date field gives."""
    claims = claims or {}
    starts = [d for d in (_first_date(credential, ("validFrom",)), _first_date(credential, ("issuanceDate",)),
                          _numeric_date(claims.get("nbf"))) if d is not None]
    ends = [d for d in (_first_date(credential, ("validUntil",)), _first_date(credential, ("expirationDate",)),
                        _numeric_date(claims.get("exp"))) if d is not None]
    return (max(starts) if starts else None), (min(ends) if ends else None)


def period_status(valid_from: datetime | None, valid_until: datetime | None, now: datetime) -> Status | None:
    """Return EXPIRED or NOT_YET_VALID when `now` is outside the period (with LEEWAY), else None."""
    if valid_until is not None and now > valid_until + LEEWAY:
        return Status.EXPIRED
    if valid_from is not None and now < valid_from - LEEWAY:
        return Status.NOT_YET_VALID
    return None


def _first_date(credential: dict[str, Any], names: tuple[str, ...]) -> datetime | None:
    for name in names:
        parsed = parse_datetime(credential.get(name))
        if parsed is not None:
            return parsed
    return None


def _numeric_date(value: Any) -> datetime | None:
    """RFC 7519 §2 NumericDate: seconds since the epoch, UTC."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    try:
        return datetime.fromtimestamp(value, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def _same_second(a: datetime, b: datetime) -> bool:
    # NumericDate is usually whole seconds while a dateTime may carry milliseconds.
    return abs((a - b).total_seconds()) < 1


def _jwt_claims(presented: Presented) -> dict[str, Any]:
    return presented.document if presented.jws else {}


def _when(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%d %B %Y, %H:%M UTC").lstrip("0")


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return f'"{text[:100]}"'


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
    metadata.name = _text(credential.get("name"))
    metadata.description = _text(credential.get("description"))
    metadata.image = image_url(credential.get("image"))
    issuer = credential.get("issuer")
    metadata.issuer_id = keys.issuer_of(credential)
    if isinstance(issuer, dict):
        metadata.issuer_name = _text(issuer.get("name"))
        metadata.issuer_url = _text(issuer.get("url"))
        metadata.issuer_image = image_url(issuer.get("image"))
        metadata.issuer_email = _text(issuer.get("email"))
    metadata.verified_issuer = verified_issuer(secured, metadata.issuer_id)
    metadata.credential_id = _text(credential.get("id"))
    metadata.valid_from = _first_date(credential, ("validFrom", "issuanceDate"))
    metadata.issued = _first_date(credential, ("validFrom", "issuanceDate", "awardedDate"))
    metadata.expires = _first_date(credential, ("validUntil", "expirationDate"))
    metadata.recipient = _recipient(first_subject(credential))
    metadata.evidence = [
        {name: _text(item.get(name)) for name in ("id", "name", "description", "narrative", "genre")}
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


def image_url(value: Any) -> str | None:
    """Return an image given as a URL string or as an object with an `id`."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def as_list(value: Any) -> list[Any]:
    """Return a JSON-LD value that may be single or a list as a list."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


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
                "type": _text(identifier.get("identityType")),
                "identity": identifier["identityHash"],
                "hashed": bool(identifier.get("hashed")),
                "salt": _text(identifier.get("salt")),
            }
    return None
