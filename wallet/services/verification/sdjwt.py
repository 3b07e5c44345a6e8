"""SD-JWT VCs: selectively disclosable credentials (RFC 9901, draft-ietf-oauth-sd-jwt-vc).

An SD-JWT is `<issuer-signed JWT>~<disclosure>~...~[<key binding JWT>]` (RFC 9901 §4). Verification
(RFC 9901 §7.1, §7.3; SD-JWT VC §3.5, §4) goes:

1. the issuer-signed JWT: `typ` `dc+sd-jwt` (or the earlier `vc+sd-jwt`), an asymmetric `alg`, a
   signature by a key of the issuer named in `iss`: from its JWT VC Issuer Metadata
   (`/.well-known/jwt-vc-issuer`, SD-JWT VC §5), from its DID document, or from an `x5c` chain;
2. every disclosure is referenced by exactly one digest (`_sd` or an array element `{"...": digest}`),
   hashed with `_sd_alg`; a disclosure nothing references, or a digest used twice, is refused;
3. a key binding JWT, when present: `typ` `kb+jwt`, signed by the key in `cnf.jwk`, with `iat`,
   `aud`, `nonce` and `sd_hash` (the digest of everything before it);
4. the validity period (`nbf`, `exp`), then the Token Status List entry `status.status_list`.

The string is kept as received, with every disclosure (docs/verification.md §3.12). Hashing the
disclosures is not cryptography of our own: every signature goes through jose.py (jwcrypto). The
issuer's key is found by issuerkeys.py, the status read by tokenstatus.py, the type described by
typemetadata.py.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from jwcrypto.common import JWException

from wallet.services.verification import (dates, issuerkeys, jose, keys, recipient, securing, tokenstatus,
                                          typemetadata)
from wallet.services.verification.context import Context
from wallet.services.verification.errors import (
    DuplicateKeyError,
    JoseError,
    KeyResolutionError,
    MalformedJSONError,
    WalletError,
)
from wallet.services.verification.jsonutil import loads_strict
from wallet.services.verification.result import Check, CheckStatus, Metadata, Status, VerificationResult

if TYPE_CHECKING:
    from wallet.services.verification.extract import Presented

FORMAT_ID = "sdjwt"

# SD-JWT VC §3.2.1: the media type is application/dc+sd-jwt; drafts before 06 used vc+sd-jwt.
SD_JWT_VC_TYPES = frozenset({"dc+sd-jwt", "vc+sd-jwt", "application/dc+sd-jwt", "application/vc+sd-jwt"})
KB_JWT_TYPE = "kb+jwt"  # RFC 9901 §4.3
# RFC 9901 §4.1.1: the IANA "Named Information Hash Algorithm" names; sha-256 when `_sd_alg` is absent.
HASH_ALGORITHMS = {"sha-256": hashlib.sha256, "sha-384": hashlib.sha384, "sha-512": hashlib.sha512}
# docs/security.md D12: one bound on the whole string (issuer JWT, disclosures and key binding JWT).
MAX_LENGTH = jose.MAX_TOKEN_LENGTH
MAX_DISCLOSURES = 1000
# RFC 9901 §4.2.4.2: the key of an array element disclosure reference.
ARRAY_DIGEST_KEY = "..."
_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


class SdJwtError(WalletError):
    """The string has the shape of an SD-JWT but is broken (the credential is not genuine)."""


@dataclass(frozen=True)
class Parts:
    """An SD-JWT split at its tildes, before any check."""

    issuer_jwt: str
    disclosures: tuple[str, ...]
    kb_jwt: str | None
    # Everything up to and including the last "~" before the key binding JWT (RFC 9901 §4.3.1 sd_hash).
    presented_sd_jwt: str


@dataclass
class Disclosed:
    """The claims after the disclosures were put in, and which disclosure gave which claim."""

    claims: dict[str, Any]
    # [{"disclosure", "digest", "path": [...], "name" (None for an array element), "value"}]
    items: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def is_sd_jwt(text: str) -> bool:
    """Tell whether `text` has the shape of an SD-JWT: a compact JWS, then tilde-separated parts."""
    if not isinstance(text, str) or "~" not in text or len(text) > MAX_LENGTH:
        return False
    try:
        parts = split(text)
    except SdJwtError:
        return False
    return jose.looks_like_compact_jws(parts.issuer_jwt)


def split(text: str) -> Parts:
    """Split an SD-JWT (RFC 9901 §4): `<JWT>~<disclosure>~...~` then an optional key binding JWT."""
    compact = "".join(text.split())
    if len(compact) > MAX_LENGTH:
        raise SdJwtError(f"The SD-JWT is too large (over {MAX_LENGTH // 1024} KB).")
    pieces = compact.split("~")
    if len(pieces) < 2:
        raise SdJwtError("This is not an SD-JWT: it has no tilde-separated disclosures.")
    issuer_jwt, *middle, last = pieces
    if len(middle) > MAX_DISCLOSURES:
        raise SdJwtError(f"The SD-JWT has more than {MAX_DISCLOSURES} disclosures.")
    for disclosure in middle:
        if not disclosure or not set(disclosure) <= _B64URL:
            raise SdJwtError("One of the SD-JWT's disclosures is empty or not base64url.")
    if last and last.count(".") != 2:
        raise SdJwtError("The part after the last tilde is neither empty nor a key binding JWT.")
    presented = compact[: len(compact) - len(last)]
    return Parts(issuer_jwt, tuple(middle), last or None, presented)


def disclosure_digest(disclosure: str, alg: str = "sha-256") -> str:
    """Return the digest of a disclosure: base64url(hash(ASCII of the disclosure as given)) (RFC 9901 §4.2.3)."""
    return _b64url(HASH_ALGORITHMS[alg](disclosure.encode("ascii")).digest())


def sd_hash(presented_sd_jwt: str, alg: str = "sha-256") -> str:
    """Return the `sd_hash` a key binding JWT carries for `presented_sd_jwt` (RFC 9901 §4.3.1)."""
    return _b64url(HASH_ALGORITHMS[alg](presented_sd_jwt.encode("ascii")).digest())


def disclose(payload: dict[str, Any], disclosures: tuple[str, ...]) -> Disclosed:
    """Put each disclosure into the payload where its digest is, and report what does not fit (RFC 9901 §7.1)."""
    alg = payload.get("_sd_alg", "sha-256")
    if alg not in HASH_ALGORITHMS:
        return Disclosed({}, [], [f'the digests use the hash algorithm "{str(alg)[:40]}", which Wallet does not know'])
    by_digest: dict[str, tuple[str, list[Any]]] = {}
    problems: list[str] = []
    for disclosure in disclosures:
        try:
            decoded = loads_strict(_b64url_decode(disclosure))
        except (SdJwtError, MalformedJSONError):
            problems.append("a disclosure is not base64url-encoded JSON")
            continue
        if not isinstance(decoded, list) or len(decoded) not in (2, 3) or not isinstance(decoded[0], str):
            problems.append("a disclosure is not an array of a salt, an optional claim name and a value")
            continue
        digest = disclosure_digest(disclosure, alg)
        if digest in by_digest:
            problems.append("the same disclosure is given twice")
            continue
        by_digest[digest] = (disclosure, decoded)
    result = Disclosed({}, [], problems)
    used: set[str] = set()
    seen_digests: set[str] = set()
    claims = _disclose_object(payload, by_digest, used, seen_digests, result, path=[], top=True)
    result.claims = claims
    unused = len(by_digest) - len(used)
    if unused:
        # RFC 9901 §7.1 step 4: a disclosure no digest refers to makes the SD-JWT invalid.
        result.problems.append(f"{unused} disclosure(s) are not referenced by any digest the issuer signed")
    return result


def _disclose_object(obj: dict[str, Any], by_digest: dict[str, tuple[str, list[Any]]], used: set[str],
                     seen: set[str], result: Disclosed, *, path: list[Any], top: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in obj.items():
        if name == "_sd" or (top and name == "_sd_alg"):
            continue
        out[name] = _disclose_value(value, by_digest, used, seen, result, path=[*path, name])
    digests = obj.get("_sd", [])
    if not isinstance(digests, list) or not all(isinstance(d, str) for d in digests):
        result.problems.append('an "_sd" member is not a list of digests')
        return out
    for digest in digests:
        if digest in seen:
            result.problems.append("a digest appears more than once")  # RFC 9901 §7.1 step 3.3
            continue
        seen.add(digest)
        found = by_digest.get(digest)
        if found is None:
            continue  # a decoy, or a claim the holder did not disclose
        disclosure, decoded = found
        used.add(digest)
        if len(decoded) != 3:
            result.problems.append("an array element disclosure is referenced from an object")
            continue
        _, name, value = decoded
        if not isinstance(name, str) or name in ("_sd", ARRAY_DIGEST_KEY):
            result.problems.append("a disclosure has a claim name that cannot be disclosed")
            continue
        if name in out:
            result.problems.append(f'the claim "{name[:60]}" is given both openly and in a disclosure')
            continue
        claim_path = [*path, name]
        out[name] = _disclose_value(value, by_digest, used, seen, result, path=claim_path)
        result.items.append({"disclosure": disclosure, "digest": digest, "path": claim_path, "name": name,
                             "value": out[name]})
    return out


def _disclose_value(value: Any, by_digest: dict[str, tuple[str, list[Any]]], used: set[str], seen: set[str],
                    result: Disclosed, *, path: list[Any]) -> Any:
    if isinstance(value, dict):
        return _disclose_object(value, by_digest, used, seen, result, path=path)
    if not isinstance(value, list):
        return value
    out: list[Any] = []
    for element in value:
        if isinstance(element, dict) and ARRAY_DIGEST_KEY in element:
            digest = element[ARRAY_DIGEST_KEY]
            if len(element) != 1 or not isinstance(digest, str):
                result.problems.append('an array element reference has members besides "..."')
                continue
            if digest in seen:
                result.problems.append("a digest appears more than once")
                continue
            seen.add(digest)
            found = by_digest.get(digest)
            if found is None:
                continue  # RFC 9901 §7.1 step 3.4: an undisclosed element is removed
            disclosure, decoded = found
            used.add(digest)
            if len(decoded) != 2:
                result.problems.append("an object property disclosure is referenced from an array")
                continue
            item_path = [*path, len(out)]
            disclosed = _disclose_value(decoded[1], by_digest, used, seen, result, path=item_path)
            out.append(disclosed)
            result.items.append({"disclosure": disclosure, "digest": digest, "path": item_path, "name": None,
                                 "value": disclosed})
        else:
            out.append(_disclose_value(element, by_digest, used, seen, result, path=[*path, len(out)]))
    return out


def unverified_claims(text: str) -> dict[str, Any]:
    """Return the issuer JWT's payload with the disclosures put in, checking nothing (for detection)."""
    parts = split(text)
    parsed = jose.parse_compact(parts.issuer_jwt)
    payload = jose.decode_payload_json(parsed)
    return disclose(payload, parts.disclosures).claims


def present(text: str, keep: set[str]) -> str:
    """Return the SD-JWT with only the disclosures in `keep` (and none of a key binding JWT).

    A disclosure nested inside a kept one's value stays only if kept as well (RFC 9901 §5.2).
    """
    parts = split(text)
    kept = [d for d in parts.disclosures if d in keep]
    return "~".join([parts.issuer_jwt, *kept]) + "~"


# --- verification ----------------------------------------------------------------------------


def detect(presented: Presented) -> bool:
    """Tell whether the presented credential is an SD-JWT (its compact text has disclosures)."""
    return bool(presented.jws) and is_sd_jwt(presented.jws or "")


def verify(presented: Presented, context: Context) -> VerificationResult:
    """Verify an SD-JWT VC as imported: issuer signature, disclosures, key binding, dates, status."""
    return verify_sd_jwt(presented.jws or "", context)


def verify_sd_jwt(text: str, context: Context, *, audience: str | None = None,
                  nonce: str | None = None) -> VerificationResult:
    """Verify an SD-JWT VC; with `audience`/`nonce`, its key binding JWT must carry exactly those."""
    result = VerificationResult(format=FORMAT_ID, status=Status.VALID, container="jwt", securing="sd-jwt",
                                compact=text.strip())
    try:
        parts = split(text)
        parsed = jose.parse_compact(parts.issuer_jwt)
        payload = jose.decode_payload_json(parsed)
    except (SdJwtError, JoseError) as error:
        result.add(Check.failed("proof", str(error), outcome=getattr(error, "outcome", Status.INVALID)))
        return result.finish()
    typ = str(parsed.header.get("typ", "")).lower()
    if typ not in SD_JWT_VC_TYPES:
        result.add(Check.failed("structure", f'The SD-JWT says its type is "{typ[:40] or "nothing"}", not an '
                                'SD-JWT VC ("dc+sd-jwt").'))
    issuer = payload.get("iss")
    issuer_id = issuer if isinstance(issuer, str) else ""
    problems = _structure_problems(payload)
    if problems:
        result.add(Check.failed("structure", "The SD-JWT VC is not well formed: " + "; ".join(problems) + "."))
    elif typ in SD_JWT_VC_TYPES:
        result.add(Check.passed("structure", "It is a well-formed SD-JWT VC."))

    candidates, key_failure = issuerkeys.issuer_keys(parsed.header, issuer_id, context)
    signer: keys.ResolvedKey | None = None
    if key_failure is not None:
        result.add(Check.skipped("proof", "The signature could not be checked without the issuer's key."))
        result.add(key_failure)
    else:
        signer, failure = securing.first_verifying_key(
            parsed, candidates,
            "None of the issuer's keys matches the signature: the credential was changed, or another key signed it.")
        if signer is None:
            result.add(Check.failed("proof", failure, alg=parsed.header.get("alg")))
        else:
            result.add(Check.passed("proof", f"The issuer's signature ({parsed.header['alg']}) matches.",
                                    alg=parsed.header["alg"], key=signer.vm_id))
            result.add(_issuer_key_check(signer, issuer_id))

    disclosed = disclose(payload, parts.disclosures)
    if disclosed.problems:
        result.add(Check.failed("disclosures", "The disclosures do not match what the issuer signed: "
                                + "; ".join(dict.fromkeys(disclosed.problems)) + ".",
                                count=len(parts.disclosures)))
    else:
        result.add(Check.passed("disclosures", f"All {len(parts.disclosures)} disclosure(s) match digests the "
                                "issuer signed.", count=len(parts.disclosures)))
    result.credential = disclosed.claims
    result.add(_key_binding_check(parts, payload, context, audience=audience, nonce=nonce))
    result.add(dates.validity_check({}, context.now, claims=payload))
    result.add(_recipient_check(disclosed.claims, context))
    genuine = signer is not None and all(c.status is not CheckStatus.FAILED for c in result.checks)
    type_metadata = None
    if genuine:
        # docs/security.md A17: the status list and the type's description are fetched only once the
        # signature is known to be the issuer's.
        status_check = tokenstatus.check_status(payload, candidates, issuer_id, context)
        if status_check is not None:
            result.add(status_check)
        type_metadata, type_check = typemetadata.fetch_type_metadata(disclosed.claims, context)
        if type_check is not None:
            result.add(type_check)
    _fill_metadata(result.metadata, disclosed, issuer_id, signer if genuine else None, type_metadata)
    return result.finish()


def _structure_problems(payload: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    # SD-JWT VC §3.2.2.2: iss is optional in general, but Wallet needs it to find the issuer's key.
    if not isinstance(payload.get("iss"), str) or not payload.get("iss"):
        problems.append('it names no issuer ("iss")')
    if not isinstance(payload.get("vct"), str) or not payload.get("vct"):
        problems.append('it has no credential type ("vct")')
    for name in ("iat", "nbf", "exp"):
        if name in payload and dates.numeric_date(payload[name]) is None:
            problems.append(f'"{name}" is not a time')
    cnf = payload.get("cnf")
    if cnf is not None and not (isinstance(cnf, dict) and isinstance(cnf.get("jwk"), dict)):
        problems.append('"cnf" does not hold the holder\'s key as "jwk"')
    return problems


# --- the issuer's key ------------------------------------------------------------------------


def _issuer_key_check(key: keys.ResolvedKey, issuer_id: str) -> Check:
    if key.binding is keys.KeyBinding.ISSUER:
        return Check.passed("issuer-key", key.explanation or f"The signing key belongs to the issuer {issuer_id}.",
                            key=key.vm_id, issuer=issuer_id, source=key.source)
    outcome = Status.UNVERIFIABLE if key.binding is keys.KeyBinding.SELF_ASSERTED else Status.INVALID
    return Check.failed("issuer-key", key.explanation or "The signing key is not the issuer's.", outcome=outcome,
                        key=key.vm_id, issuer=issuer_id, source=key.source)


# --- key binding -----------------------------------------------------------------------------


def _key_binding_check(parts: Parts, payload: dict[str, Any], context: Context, *, audience: str | None,
                       nonce: str | None) -> Check:
    """Check a key binding JWT (RFC 9901 §7.3); without one, say that none was presented."""
    if parts.kb_jwt is None:
        if audience is not None or nonce is not None:
            return Check.failed("key-binding", "The holder did not prove possession of the key: there is no key "
                                "binding JWT.")
        return Check.skipped("key-binding", "No key binding JWT: as issued, before the holder presents it.")
    cnf = payload.get("cnf")
    holder_jwk = cnf.get("jwk") if isinstance(cnf, dict) else None
    if not isinstance(holder_jwk, dict):
        return Check.failed("key-binding", 'There is a key binding JWT, but the issuer bound no key ("cnf").')
    try:
        parsed = jose.parse_compact(parts.kb_jwt)
        claims = jose.decode_payload_json(parsed)
        holder = keys.key_from_jwk(holder_jwk, issuer_id=None)
        jose.verify_signature(parsed, holder.jwk)
    except (JoseError, KeyResolutionError, DuplicateKeyError) as error:
        return Check.failed("key-binding", f"The key binding JWT is not signed by the holder's key: {error}")
    problems: list[str] = []
    if str(parsed.header.get("typ", "")).lower() != KB_JWT_TYPE:
        problems.append(f'its type is not "{KB_JWT_TYPE}"')
    alg = payload.get("_sd_alg", "sha-256")
    if alg in HASH_ALGORITHMS and claims.get("sd_hash") != sd_hash(parts.presented_sd_jwt, alg):
        problems.append('its "sd_hash" is not the digest of the SD-JWT it came with')
    issued = dates.numeric_date(claims.get("iat"))
    if issued is None:
        problems.append('it has no "iat"')
    elif issued > context.now + dates.LEEWAY:
        problems.append("it was made in the future")
    for name, expected in (("aud", audience), ("nonce", nonce)):
        value = claims.get(name)
        if not isinstance(value, str) or not value:
            problems.append(f'it has no "{name}"')
        elif expected is not None and value != expected:
            problems.append(f'its "{name}" is not the one asked for')
    if problems:
        return Check.failed("key-binding", "The key binding JWT does not fit: " + "; ".join(problems) + ".")
    return Check.passed("key-binding", "The holder proved possession of the key the issuer bound.",
                        aud=claims.get("aud"))


# --- recipient -------------------------------------------------------------------------------


def _recipient_check(claims: dict[str, Any], context: Context) -> Check:
    """Is it the learner's? Its holder key (`cnf.jwk`) is one of the learner's DIDs, or `sub` is one of theirs.

    A credential bound to the learner's wallet key was issued to the learner (SD-JWT VC §3.2.2.2,
    "cnf"). Only DIDs that resolve offline (did:key, did:jwk) are compared, so nothing is fetched.
    """
    if not context.recipients:
        return Check.skipped(recipient.CHECK_ID, "No identities to compare: the credential's holder key was not "
                             "compared with yours.")
    cnf = claims.get("cnf")
    holder = cnf.get("jwk") if isinstance(cnf, dict) else None
    subject = claims.get("sub")
    if isinstance(holder, dict):
        try:
            thumbprint = keys.key_from_jwk(holder, issuer_id=None).jwk.thumbprint()
        except (KeyResolutionError, JWException, ValueError):
            thumbprint = None
        if thumbprint is not None and thumbprint in _learner_thumbprints(context):
            return Check.passed(recipient.CHECK_ID, "Issued to you: it is bound to your wallet's key.", type="cnf")
    if isinstance(subject, str) and subject.strip() in {r.strip() for r in context.recipients}:
        return Check.passed(recipient.CHECK_ID, "Issued to you: the subject is one of your identifiers.", type="sub")
    if isinstance(holder, dict) or isinstance(subject, str):
        return Check(recipient.CHECK_ID, CheckStatus.FAILED, "Issued to someone else: it is bound to a key, or "
                     "names a subject, that is not one of yours.", None, {"type": "cnf" if holder else "sub"})
    return Check.skipped(recipient.CHECK_ID, "The credential does not say who it was issued to.")


def _learner_thumbprints(context: Context) -> set[str]:
    found: set[str] = set()
    for identity in context.recipients:
        did = identity.strip().partition("#")[0]
        if not did.startswith(("did:key:", "did:jwk:")):
            continue
        try:
            found.update(key.jwk.thumbprint() for key in keys.assertion_keys(did, issuer_id=did, context=context))
        except (KeyResolutionError, JWException, ValueError):
            continue
    return found


# --- metadata --------------------------------------------------------------------------------


def _fill_metadata(metadata: Metadata, disclosed: Disclosed, issuer_id: str, signer: keys.ResolvedKey | None,
                   type_metadata: dict[str, Any] | None) -> None:
    claims = disclosed.claims
    vct = claims.get("vct")
    metadata.type_display = typemetadata.type_display(type_metadata)
    display = typemetadata.pick_language(metadata.type_display, ["en"])
    metadata.name = (display or {}).get("name") or (typemetadata.readable_type(vct) if isinstance(vct, str) else None)
    metadata.description = (display or {}).get("description")
    metadata.achievement_type = vct if isinstance(vct, str) else None
    metadata.issuer_id = issuer_id or None
    if signer is not None:
        metadata.verified_issuer = (issuer_id.split("#", 1)[0] if issuer_id.startswith("did:")
                                    else urlsplit(issuer_id).hostname)
    metadata.credential_id = claims.get("jti") if isinstance(claims.get("jti"), str) else None
    metadata.issued = dates.numeric_date(claims.get("iat"))
    metadata.valid_from = dates.numeric_date(claims.get("nbf"))
    metadata.expires = dates.numeric_date(claims.get("exp"))
    subject = claims.get("sub")
    if isinstance(subject, str) and subject:
        kind = "did" if subject.startswith("did:") else "url" if subject.startswith("http") else "id"
        metadata.recipient = {"type": kind, "identity": subject, "hashed": False, "salt": None}
    metadata.claims = typemetadata.claim_entries(claims, [item["path"] for item in disclosed.items], type_metadata)


# --- helpers ---------------------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(segment: str) -> bytes:
    if not set(segment) <= _B64URL or len(segment) % 4 == 1:
        raise SdJwtError("not base64url")
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as error:
        raise SdJwtError("not base64url") from error
