"""Securing a W3C Verifiable Credential: a compact JWS or embedded Data Integrity proofs.

A compact JWS is either the OB 3.0 / VC 1.1 "VC-JWT" mapping (credential in the `vc` claim,
registered claims mirroring it) or VC-JOSE-COSE (`typ` `vc+jwt` / `vc-ld+jwt`, the payload is the
credential) [VCDM 2.0 §4.12; OB 3.0 §8.2, §8.3]. Otherwise an embedded Data Integrity proof. Either
is enough; a signature only counts when its key belongs to the issuer (docs/security.md D7, D8). Used by
vc.py for credentials and by status.py for the status list credentials they point to.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from wallet.services.verification import dataintegrity, jose, jsonld, keys, values
from wallet.services.verification.context import Context
from wallet.services.verification.dates import first_date, numeric_date, same_second, when
from wallet.services.verification.errors import DuplicateKeyError, JoseError, KeyResolutionError
from wallet.services.verification.result import Check, CheckStatus, Status

VC_V1_CONTEXT = "https://www.w3.org/2018/credentials/v1"
VC_V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
# VC-JOSE-COSE §3.1.1: the media types whose payload is the credential itself (with the draft names).
JOSE_TYPES = frozenset({"vc+jwt", "application/vc+jwt", "vc+ld+jwt", "application/vc+ld+jwt",
                        "vc-ld+jwt", "application/vc-ld+jwt"})


@dataclass
class Secured:
    """What checking a credential's signature established."""

    checks: list[Check]
    securing: str | None = None
    key: keys.ResolvedKey | None = None
    # The signature verifies with a key that belongs to the issuer, and nothing in it disagrees.
    ok: bool = False


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
    if values.as_list(credential.get("@context"))[:1] == [VC_V1_CONTEXT]:
        for name, claim in (("issuanceDate", "nbf"), ("expirationDate", "exp")):
            moment = numeric_date(payload.get(claim))
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

    key, failure = first_verifying_key(parsed, candidates)
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
    """Refuse JSON-LD contexts Wallet does not bundle (docs/security.md B1, B2); None when all are known."""
    unknown = jsonld.unknown_contexts(credential)
    if not unknown:
        return None
    # B1: never fetched, since a context from elsewhere can change what the signed data means.
    return Check.failed("contexts", f"The credential uses a JSON-LD context Wallet does not know "
                        f"({unknown[0][:200]}), so its meaning cannot be fixed; it was not fetched.",
                        urls=unknown[:10])


def issuer_key_check(key: keys.ResolvedKey, issuer_id: str) -> Check:
    """Report whether the key that signed belongs to the issuer (docs/security.md D7, D8, D15)."""
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
    subject_ids = [s["id"] for s in values.as_list(credential.get("credentialSubject")) if isinstance(s, dict) and "id" in s]
    if "sub" in payload and subject_ids and payload["sub"] not in subject_ids:
        problems.append(f'"sub" is {_short(payload["sub"])} but the subject is {_short(subject_ids[0])}'
                        if len(subject_ids) == 1 else
                        f'"sub" is {_short(payload["sub"])} but none of the {len(subject_ids)} subjects has that id')
    if "jti" in payload and "id" in credential and payload["jti"] != credential["id"]:
        problems.append(f'"jti" is {_short(payload["jti"])} but the credential id is {_short(credential["id"])}')
    starts = first_date(credential, ("validFrom", "issuanceDate"))
    if "nbf" in payload:
        nbf = numeric_date(payload["nbf"])
        if nbf is None:
            problems.append('"nbf" is not a time')
        elif dates and starts is not None and not same_second(nbf, starts):
            problems.append(f'"nbf" is {when(nbf)} but the credential is valid from {when(starts)}')
    ends = first_date(credential, ("validUntil", "expirationDate"))
    if "exp" in payload:
        exp = numeric_date(payload["exp"])
        if exp is None:
            problems.append('"exp" is not a time')
        elif dates and ends is not None and not same_second(exp, ends):
            problems.append(f'"exp" is {when(exp)} but the credential is valid until {when(ends)}')
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


def first_verifying_key(
    parsed: jose.ParsedJws, candidates: Iterable[keys.ResolvedKey],
    failure: str = "None of the issuer's keys matches the signature.",
) -> tuple[keys.ResolvedKey | None, str]:
    """Return the first candidate key whose signature check passes, or None and why the last one failed."""
    for key in candidates:
        try:
            jose.verify_signature(parsed, key.jwk)
        except JoseError as error:
            failure = str(error)
            continue
        return key, ""
    return None, failure


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return f'"{text[:100]}"'
