"""Data Integrity proofs: `eddsa-rdfc-2022` and the legacy `Ed25519Signature2020`.

W3C vc-di-eddsa §3.3 (eddsa-rdfc-2022), and the Ed25519Signature2020 suite it grew from, sign
    SHA-256(RDFC-1.0(proof configuration)) || SHA-256(RDFC-1.0(document without proof))
with Ed25519; the proof configuration is the proof without `proofValue`, under the document's
`@context`. A valid signature is not enough: the key must also belong to the issuer (keys.py).
Pure results (canonical forms, signature checks) are memoised by content, so re-verifying a
stored credential redoes only the work whose inputs may have changed (key documents, the clock).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from wallet.services.verification import jsonld, multibase, values
from wallet.services.verification.caches import MB, ByteLRU, memoize
from wallet.services.verification.context import Context
from wallet.services.verification.errors import JsonLdProblem, KeyResolutionError, MultibaseError
from wallet.services.verification.keys import KeyBinding, ResolvedKey, resolve_verification_method
from wallet.services.verification.result import Check, CheckStatus, Status

EDDSA_RDFC_2022 = "eddsa-rdfc-2022"
# The name eddsa-rdfc-2022 had in vc-di-eddsa drafts (same algorithm); still found in issued credentials.
EDDSA_2022 = "eddsa-2022"
ED25519_SIGNATURE_2020 = "Ed25519Signature2020"
CRYPTOSUITES = frozenset({EDDSA_RDFC_2022, EDDSA_2022})
CREDENTIALS_V2 = "https://www.w3.org/ns/credentials/v2"
DATA_INTEGRITY_V2 = "https://w3id.org/security/data-integrity/v2"
ED25519_2020_CONTEXT = "https://w3id.org/security/suites/ed25519-2020/v1"
# Signature checks by sha256(key, signature, message): small entries, a small budget.
_SIGNATURE_MEMO: ByteLRU[bool] = ByteLRU(1 * MB)
_TAMPERED = ("The signature does not match: the credential was changed after it was signed, "
             "or was signed with another key.")
_PURPOSE_WORDS = {"assertionMethod": "issuing credentials", "authentication": "proving who is presenting"}


@dataclass
class ProofOutcome:
    # "contexts" (if a problem), then "proof" and "issuer-key" for each proof.
    checks: list[Check] = field(default_factory=list)
    securing: str | None = None  # "eddsa-rdfc-2022" | "Ed25519Signature2020" | ...
    key: ResolvedKey | None = None
    ok: bool = False  # signature valid AND key bound to the issuer


def has_proof(doc: dict[str, Any]) -> bool:
    """Tell whether `doc` carries an embedded proof."""
    proof = doc.get("proof") if isinstance(doc, dict) else None
    return isinstance(proof, dict) or (isinstance(proof, list) and len(proof) > 0)


def verify_document_proofs(
    doc: dict[str, Any], *, issuer_id: str | None, context: Context, purpose: str = "assertionMethod"
) -> ProofOutcome:
    """Verify every embedded proof of `doc`; `ok` when one verifies with a key bound to the issuer."""
    outcome = ProofOutcome()
    if not has_proof(doc):
        outcome.checks.append(Check.failed("proof", "The credential is not signed: it has no proof."))
        return outcome
    proofs = doc["proof"] if isinstance(doc["proof"], list) else [doc["proof"]]
    unsecured = {k: v for k, v in doc.items() if k != "proof"}
    # The document is canonicalised first, before any key is looked up: if its meaning cannot be
    # fixed, no signature can tell anything, and nothing is fetched.
    try:
        document_nquads = jsonld.canonize(unsecured)
    except JsonLdProblem as error:
        outcome.checks.append(_contexts_check(doc, error))
        return outcome
    per_proof: list[tuple[list[Check], bool]] = []
    for index, proof in enumerate(proofs):
        checks, key, securing, ok = _verify_one(proof, index, len(proofs), unsecured, document_nquads,
                                                issuer_id, context, purpose)
        per_proof.append((checks, ok))
        if outcome.key is None or (ok and not outcome.ok):
            outcome.key = key
        if outcome.securing is None or (ok and not outcome.ok):
            outcome.securing = securing
        outcome.ok = outcome.ok or ok
    for checks, ok in per_proof:
        if outcome.ok and not ok:
            # One issuer proof suffices; the others are reported without deciding the verdict.
            checks = [Check.warning(c.id, c.message, **c.detail) if c.status is CheckStatus.FAILED else c
                      for c in checks]
        outcome.checks.extend(checks)
    return outcome


def sign_document(
    doc: dict[str, Any],
    *,
    private_key: Ed25519PrivateKey,
    verification_method: str,
    cryptosuite: str = EDDSA_RDFC_2022,
    created: datetime | None = None,
    proof_purpose: str = "assertionMethod",
    challenge: str | None = None,
    domain: str | None = None,
) -> dict[str, Any]:
    """Return a copy of `doc` with an added Ed25519 proof (eddsa-rdfc-2022 or Ed25519Signature2020)."""
    when = (created or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(microsecond=0)
    if cryptosuite == ED25519_SIGNATURE_2020:
        proof: dict[str, Any] = {"type": ED25519_SIGNATURE_2020}
        needed = ED25519_2020_CONTEXT
    elif cryptosuite in CRYPTOSUITES:
        proof = {"type": "DataIntegrityProof", "cryptosuite": cryptosuite}
        needed = CREDENTIALS_V2 if _contexts(doc)[:1] == [CREDENTIALS_V2] else DATA_INTEGRITY_V2
    else:
        raise ValueError(f"unsupported cryptosuite {cryptosuite!r}")
    proof.update({"created": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "verificationMethod": verification_method,
                  "proofPurpose": proof_purpose})
    if challenge is not None:
        proof["challenge"] = challenge
    if domain is not None:
        proof["domain"] = domain
    signed = dict(doc)
    contexts = _contexts(doc)
    if needed not in contexts:
        # The proof's terms must be defined by the document's contexts (jsonld-signatures adds its suite context).
        signed["@context"] = [*contexts, needed]
    existing = doc.get("proof")
    unsecured = {k: v for k, v in signed.items() if k != "proof"}
    hash_data = _hash_data(_proof_config(proof, unsecured), jsonld.canonize(unsecured))
    proof["proofValue"] = multibase.base58btc_encode(private_key.sign(hash_data))
    signed["proof"] = proof if not existing else [*(existing if isinstance(existing, list) else [existing]), proof]
    return signed


def did_key_for(public_key: Ed25519PublicKey) -> str:
    """Return the did:key of an Ed25519 public key (did:key:z6Mk…)."""
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return "did:key:" + multibase.encode_multikey("Ed25519", raw)


# --- one proof --------------------------------------------------------------------------------------

def _contexts_check(doc: dict[str, Any], error: JsonLdProblem) -> Check:
    unknown = jsonld.unknown_contexts(doc)
    if unknown:
        # B1: never fetched, since a context from elsewhere can change what the signed data means.
        return Check.failed(
            "contexts", f"The credential uses a JSON-LD context Wallet does not know ({unknown[0][:200]}), "
                        "so its meaning cannot be fixed; it was not fetched.", urls=unknown[:10])
    return Check.failed("contexts", f"The credential is not valid JSON-LD, so its signature cannot be checked: {error}")


def _verify_one(
    proof: Any, index: int, count: int, unsecured: dict[str, Any], document_nquads: str,
    issuer_id: str | None, context: Context, purpose: str,
) -> tuple[list[Check], ResolvedKey | None, str | None, bool]:
    label = f"Proof {index + 1} of {count}: " if count > 1 else ""
    detail: dict[str, Any] = {"index": index} if count > 1 else {}
    if not isinstance(proof, dict):
        return [Check.failed("proof", f"{label}The proof is malformed.", **detail)], None, None, False
    kind, suite = proof.get("type"), proof.get("cryptosuite")
    if kind == "DataIntegrityProof" and isinstance(suite, str):
        securing: str | None = suite
    else:
        securing = kind if isinstance(kind, str) else None
    detail["securing"] = securing
    if kind == "DataIntegrityProof" and not isinstance(suite, str):
        # Data Integrity §2.1: a DataIntegrityProof names its cryptosuite, as a string.
        return [Check.failed("proof", f"{label}The proof is malformed: it does not name its cryptosuite.",
                             **detail)], None, securing, False
    if not (kind == "DataIntegrityProof" and suite in CRYPTOSUITES) and kind != ED25519_SIGNATURE_2020:
        return [_unsupported(proof, unsecured, securing, label, detail)], None, securing, False
    vm = proof.get("verificationMethod")
    detail["verification_method"] = vm if isinstance(vm, str) else None
    if "previousProof" in proof:
        # Data Integrity "Proof Chains": a chained proof signs over earlier ones; Wallet does not check chains,
        # which leaves genuineness unknown rather than disproved.
        return [Check.failed("proof", f"{label}The proof is part of a proof chain, which Wallet does not check.",
                             outcome=Status.UNVERIFIABLE, **detail)], None, securing, False
    problem = _proof_problem(proof, unsecured, purpose, context)
    if problem is not None:
        return [Check.failed("proof", label + problem, **detail)], None, securing, False
    proof_value = proof.get("proofValue")
    signature = _signature_bytes(proof_value) if isinstance(proof_value, str) else None
    if signature is None:
        return [Check.failed("proof", f"{label}The proof value is malformed (not a base58btc Ed25519 signature).",
                             **detail)], None, securing, False
    try:
        key = resolve_verification_method(vm, issuer_id=issuer_id, context=context, purpose=purpose)
    except KeyResolutionError as error:
        return [
            Check.skipped("proof", f"{label}The signature could not be checked, because its key could not be obtained.",
                          **detail),
            Check.failed("issuer-key", label + str(error), outcome=error.outcome, **detail),
        ], None, securing, False
    detail.update(key=key.vm_id, key_source=key.source, controller=key.controller)
    signature_check = _signature_check(proof, signature, key, unsecured, document_nquads, label, detail)
    checks = [signature_check, _binding_check(key, signature_check.status is CheckStatus.PASSED, label, detail)]
    ok = checks[0].status is CheckStatus.PASSED and key.binding is KeyBinding.ISSUER
    return checks, key, securing, ok


def _unsupported(proof: dict[str, Any], unsecured: dict[str, Any], securing: str | None, label: str,
                 detail: dict[str, Any]) -> Check:
    name = securing or "(no type)"
    try:
        jsonld.canonize(_proof_config(proof, unsecured))
    except JsonLdProblem as error:
        # An undefined proof type is a malformed document, not merely a suite Wallet lacks.
        return Check.failed("proof", f"{label}The proof of type {name[:80]} is not valid: {error}", **detail)
    return Check.failed("proof", f"{label}Wallet cannot check proofs of type {name[:80]} (not supported).",
                        outcome=Status.UNVERIFIABLE, **detail)


def _proof_problem(proof: dict[str, Any], unsecured: dict[str, Any], purpose: str, context: Context) -> str | None:
    """Say what is wrong with the proof's options, or None."""
    if not isinstance(proof.get("verificationMethod"), str):
        return "The proof does not name its key (verificationMethod)."
    if proof.get("proofPurpose") != purpose:
        return (f"The proof was made for {_words(proof.get('proofPurpose'))}, "
                f"not for {_words(purpose)}.")
    own = proof.get("@context")
    if own is not None and proof.get("type") == "DataIntegrityProof":
        own_list = own if isinstance(own, list) else [own]
        # Data Integrity §4.3: the document's contexts must start with the proof's.
        if _contexts(unsecured)[: len(own_list)] != own_list:
            return "The proof's JSON-LD contexts do not match the credential's."
    expires = proof.get("expires")
    if isinstance(expires, str):
        try:
            expired = datetime.fromisoformat(expires.replace("Z", "+00:00")) < context.now
        except (ValueError, TypeError):
            return "The proof's expiry date is malformed."
        if expired:
            return f"The proof expired on {expires[:40]}."
    return None


def _signature_check(proof: dict[str, Any], signature: bytes, key: ResolvedKey, unsecured: dict[str, Any],
                     document_nquads: str, label: str, detail: dict[str, Any]) -> Check:
    if key.key_type != "Ed25519":
        return Check.failed("proof", f"{label}The key is a {key.key_type} key, but this proof needs an Ed25519 key.",
                            **detail)
    try:
        config_nquads = jsonld.canonize(_proof_config(proof, unsecured))
    except JsonLdProblem as error:
        return Check.failed("proof", f"{label}The proof is not valid JSON-LD: {error}", **detail)
    if not _ed25519_verifies(key.ed25519_public_bytes(), signature, _hash_data_from_nquads(config_nquads, document_nquads)):
        return Check.failed("proof", label + _TAMPERED, **detail)
    return Check.passed("proof",
                        f"{label}The signature is valid: the credential has not been changed since it was signed.",
                        **detail)


def _binding_check(key: ResolvedKey, signed: bool, label: str, detail: dict[str, Any]) -> Check:
    if key.binding is KeyBinding.ISSUER:
        return Check.passed("issuer-key", label + key.explanation, **detail)
    if key.binding is KeyBinding.SELF_ASSERTED:
        intact = "The signature is intact, but the key" if signed else "The key"
        return Check.failed("issuer-key", f"{label}{intact} is not shown to belong to the issuer. {key.explanation}",
                            outcome=Status.UNVERIFIABLE, **detail)
    return Check.failed("issuer-key", f"{label}The credential was signed with a key that belongs to someone else "
                                      f"than its issuer. {key.explanation}", outcome=Status.INVALID, **detail)


# --- hashing ----------------------------------------------------------------------------------------

def _proof_config(proof: dict[str, Any], unsecured: dict[str, Any]) -> dict[str, Any]:
    """vc-di-eddsa §3.3.5: the proof options without the proof value, under the document's contexts."""
    config = {k: v for k, v in proof.items() if k not in ("proofValue", "jws", "signatureValue")}
    if "@context" not in config and "@context" in unsecured:
        config["@context"] = unsecured["@context"]
    return config


def _hash_data(config: dict[str, Any], document_nquads: str) -> bytes:
    return _hash_data_from_nquads(jsonld.canonize(config), document_nquads)


def _hash_data_from_nquads(config_nquads: str, document_nquads: str) -> bytes:
    # vc-di-eddsa §3.3.4: proof configuration hash first, then the document hash.
    config_hash = hashlib.sha256(config_nquads.encode("utf-8")).digest()
    return config_hash + hashlib.sha256(document_nquads.encode("utf-8")).digest()


@memoize(1 * MB)  # keyed by the proof value, which the credential chooses: bounded by bytes
def _signature_bytes(proof_value: str) -> bytes | None:
    """Decode a base58btc Ed25519 proof value (pure Python base58 is slow, so results are cached)."""
    try:
        signature = multibase.base58btc_decode(proof_value)
    except MultibaseError:
        return None
    return signature if len(signature) == 64 else None


def _ed25519_verifies(public: bytes, signature: bytes, message: bytes) -> bool:
    key = hashlib.sha256(public + signature + message).digest()
    cached = _SIGNATURE_MEMO.get(key)
    if cached is not None:
        return cached
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
        valid = True
    except (InvalidSignature, ValueError):
        valid = False
    _SIGNATURE_MEMO.put(key, valid)
    return valid


def _contexts(doc: dict[str, Any]) -> list[Any]:
    return list(values.as_list(doc.get("@context")))


def _words(purpose: Any) -> str:
    text = str(purpose)[:60] if purpose else "no stated purpose"
    return f"{_PURPOSE_WORDS[text]} ({text})" if text in _PURPOSE_WORDS else text
