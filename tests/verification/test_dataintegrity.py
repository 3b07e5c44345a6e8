"""Data Integrity proofs with real Ed25519 keys: signing, verification, tampering and key binding."""
from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.support.servers import DocumentServer, Response
from tests.verification.test_keys import DID_WEB, ISSUER, ISSUER_SITE, Sites, did_web_document, ed25519_multikey
from wallet.services.verification import dataintegrity, keys, multibase
from wallet.services.verification.context import Context
from wallet.services.verification.dataintegrity import ProofOutcome, did_key_for, sign_document, verify_document_proofs
from wallet.services.verification.keys import KeyBinding
from wallet.services.verification.result import CheckStatus, Status, overall_status

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "conformance" / "1edtech"
V1 = "https://www.w3.org/2018/credentials/v1"
V2 = "https://www.w3.org/ns/credentials/v2"
OB3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
OB3_V1 = "https://purl.imsglobal.org/spec/ob/v3p0/context.json"
ED25519_2020 = "https://w3id.org/security/suites/ed25519-2020/v1"
CREATED = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def badge(issuer: str, **overrides: Any) -> dict[str, Any]:
    return {
        "@context": [V2, OB3],
        "id": "urn:uuid:2d3c6c5e-7c0b-4d8f-9f0e-3a7b1c9d8e21",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": issuer, "type": ["Profile"], "name": "Example College"},
        "validFrom": "2026-03-01T12:00:00Z",
        "name": "Robotics Level 1",
        "credentialSubject": {
            "id": "did:example:learner",
            "type": ["AchievementSubject"],
            "achievement": {"id": "https://college.example/achievements/robotics-1", "type": ["Achievement"],
                            "name": "Robotics Level 1", "criteria": {"narrative": "Build a walking robot."}},
        },
        **overrides,
    }


class Signer:
    """An issuer identified by a did:key, with its private key."""

    def __init__(self) -> None:
        self.private_key = Ed25519PrivateKey.generate()
        self.did = did_key_for(self.private_key.public_key())
        self.method = f"{self.did}#{self.did.removeprefix('did:key:')}"

    def sign(self, doc: dict[str, Any], **options: Any) -> dict[str, Any]:
        options.setdefault("verification_method", self.method)
        options.setdefault("created", CREATED)
        return sign_document(doc, private_key=self.private_key, **options)


@pytest.fixture
def signer() -> Signer:
    return Signer()


@pytest.fixture
def sites(document_server: DocumentServer) -> Sites:
    return Sites(document_server)


def verify(doc: dict[str, Any], context: Context | None = None, **options: Any) -> ProofOutcome:
    return verify_document_proofs(doc, issuer_id=keys.issuer_of(doc), context=context or Context(), **options)


def check(outcome: ProofOutcome, check_id: str) -> Any:
    return next(c for c in outcome.checks if c.id == check_id)


def status(outcome: ProofOutcome) -> Status:
    return overall_status(outcome.checks)


def corpus(name: str) -> dict[str, Any]:
    return json.loads((CORPUS / name).read_text("utf-8"))


# --- round trips ---------------------------------------------------------------------------------------

def test_verify_eddsa_rdfc_2022_round_trip_is_valid(signer: Signer) -> None:
    signed = signer.sign(badge(signer.did))
    outcome = verify(signed)
    assert outcome.ok and status(outcome) is Status.VALID
    assert outcome.securing == "eddsa-rdfc-2022"
    assert [(c.id, c.status) for c in outcome.checks] == [("proof", CheckStatus.PASSED),
                                                          ("issuer-key", CheckStatus.PASSED)]
    assert outcome.key is not None and outcome.key.vm_id == signer.method


def test_sign_document_proof_has_the_data_integrity_shape(signer: Signer) -> None:
    proof = signer.sign(badge(signer.did))["proof"]
    assert proof["type"] == "DataIntegrityProof" and proof["cryptosuite"] == "eddsa-rdfc-2022"
    assert proof["created"] == "2026-03-01T12:00:00Z" and proof["proofPurpose"] == "assertionMethod"
    assert proof["proofValue"].startswith("z") and len(multibase.base58btc_decode(proof["proofValue"])) == 64


def test_sign_document_leaves_the_input_unchanged(signer: Signer) -> None:
    doc = badge(signer.did)
    before = copy.deepcopy(doc)
    signer.sign(doc)
    assert doc == before


def test_verify_ed25519_signature_2020_round_trip_is_valid(signer: Signer) -> None:
    doc = badge(signer.did, **{"@context": [V1, OB3_V1, ED25519_2020]})
    doc["issuanceDate"] = doc.pop("validFrom")
    signed = signer.sign(doc, cryptosuite="Ed25519Signature2020")
    assert signed["proof"]["type"] == "Ed25519Signature2020" and "cryptosuite" not in signed["proof"]
    outcome = verify(signed)
    assert outcome.ok and outcome.securing == "Ed25519Signature2020"


def test_sign_document_adds_the_suite_context_when_missing(signer: Signer) -> None:
    doc = badge(signer.did, **{"@context": [V1, OB3_V1]})
    doc["issuanceDate"] = doc.pop("validFrom")
    signed = signer.sign(doc)
    assert signed["@context"] == [V1, OB3_V1, "https://w3id.org/security/data-integrity/v2"]
    assert verify(signed).ok


def test_verify_legacy_eddsa_2022_name_is_accepted(signer: Signer) -> None:
    outcome = verify(signer.sign(badge(signer.did), cryptosuite="eddsa-2022"))
    assert outcome.ok and outcome.securing == "eddsa-2022"


def test_did_key_for_round_trips_to_the_public_key(signer: Signer) -> None:
    assert signer.did.startswith("did:key:z6Mk")
    key = keys.resolve_verification_method(signer.did, issuer_id=signer.did, context=Context())
    raw = signer.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert multibase.decode_multikey(key.vm_id.partition("#")[2]) == ("Ed25519", raw)


# --- tampering --------------------------------------------------------------------------------------------

def _set(path: str, value: Any) -> Any:
    def change(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = doc
        for part in parents:
            target = target[part]
        target[last] = value
    return change


@pytest.mark.parametrize("tamper", [
    _set("name", "Robotics Level 9"),
    _set("issuer.name", "Harvard University"),
    _set("credentialSubject.id", "did:example:mallory"),
    _set("credentialSubject.achievement.criteria.narrative", "Nothing."),
    _set("validFrom", "2020-01-01T00:00:00Z"),
    _set("proof.created", "2026-03-02T12:00:00Z"),
    _set("id", "urn:uuid:00000000-0000-4000-8000-000000000000"),
], ids=["name", "issuer-name", "subject", "criteria", "validFrom", "proof-created", "id"])
def test_verify_tampered_field_is_invalid(signer: Signer, tamper: Any) -> None:
    signed = signer.sign(badge(signer.did))
    tamper(signed)
    outcome = verify(signed)
    assert not outcome.ok and status(outcome) is Status.INVALID
    assert "does not match" in check(outcome, "proof").message


def test_verify_tampered_issuer_id_is_invalid(signer: Signer) -> None:
    signed = signer.sign(badge(signer.did))
    signed["issuer"]["id"] = did_key_for(Ed25519PrivateKey.generate().public_key())
    outcome = verify(signed)
    assert status(outcome) is Status.INVALID
    assert check(outcome, "proof").status is CheckStatus.FAILED
    assert check(outcome, "issuer-key").outcome is Status.INVALID


def test_verify_swapped_verification_method_is_invalid(signer: Signer) -> None:
    other = Signer()
    signed = signer.sign(badge(signer.did))
    signed["proof"]["verificationMethod"] = other.method
    signed["issuer"]["id"] = other.did
    outcome = verify(signed)
    assert status(outcome) is Status.INVALID
    assert "does not match" in check(outcome, "proof").message


def test_verify_signed_by_another_key_than_named_is_invalid(signer: Signer) -> None:
    mallory = Signer()
    signed = sign_document(badge(signer.did), private_key=mallory.private_key, verification_method=signer.method)
    outcome = verify(signed)
    assert status(outcome) is Status.INVALID and "does not match" in check(outcome, "proof").message


def test_verify_key_of_another_issuer_is_invalid(signer: Signer) -> None:
    mallory = Signer()
    signed = mallory.sign(badge(signer.did))  # Mallory's own did:key, claiming the issuer is someone else
    outcome = verify(signed)
    assert check(outcome, "proof").status is CheckStatus.PASSED
    binding = check(outcome, "issuer-key")
    assert binding.status is CheckStatus.FAILED and binding.outcome is Status.INVALID
    assert outcome.key is not None and outcome.key.binding is KeyBinding.OTHER
    assert not outcome.ok and status(outcome) is Status.INVALID


def test_verify_self_asserted_fragment_key_is_unverifiable(signer: Signer) -> None:
    method = f"{ISSUER}#{ed25519_multikey(signer.private_key)}"
    signed = signer.sign(badge(ISSUER), verification_method=method)
    outcome = verify(signed)  # offline: nothing confirms the key
    assert check(outcome, "proof").status is CheckStatus.PASSED
    binding = check(outcome, "issuer-key")
    assert binding.outcome is Status.UNVERIFIABLE and "signature is intact" in binding.message
    assert not outcome.ok and status(outcome) is Status.UNVERIFIABLE


def test_verify_reverification_after_tampering_is_invalid(signer: Signer) -> None:
    # Results are memoised by content: a changed document must never reuse a stored result.
    signed = signer.sign(badge(signer.did))
    assert verify(signed).ok and verify(signed).ok
    signed["name"] = "Changed"
    assert status(verify(signed)) is Status.INVALID
    signed["name"] = "Robotics Level 1"
    assert verify(signed).ok


# --- did:web and controller documents ----------------------------------------------------------------

def test_verify_did_web_issuer_is_valid(sites: Sites) -> None:
    private_key = Ed25519PrivateKey.generate()
    sites.publish(f"{ISSUER_SITE}/.well-known/did.json", did_web_document(DID_WEB, ed25519_multikey(private_key)))
    signed = sign_document(badge(DID_WEB), private_key=private_key, verification_method=f"{DID_WEB}#key-1")
    context = sites.context()
    outcome = verify(signed, context)
    assert outcome.ok and check(outcome, "issuer-key").detail["key_source"] == "did:web"
    assert [d["role"] for d in context.documents] == ["did-document"]


def test_verify_did_web_down_is_unverifiable_not_invalid(sites: Sites) -> None:
    private_key = Ed25519PrivateKey.generate()
    sites.publish(f"{ISSUER_SITE}/.well-known/did.json", b"unavailable", status=503)
    signed = sign_document(badge(DID_WEB), private_key=private_key, verification_method=f"{DID_WEB}#key-1")
    outcome = verify(signed, sites.context())
    assert check(outcome, "proof").status is CheckStatus.SKIPPED
    assert check(outcome, "issuer-key").outcome is Status.UNVERIFIABLE
    assert status(outcome) is Status.UNVERIFIABLE


def test_verify_controller_document_on_issuer_site_is_valid(sites: Sites) -> None:
    private_key = Ed25519PrivateKey.generate()
    method = f"{ISSUER}#key-1"
    sites.publish(ISSUER, {"id": ISSUER, "verificationMethod": [
        {"id": method, "type": "Multikey", "controller": ISSUER, "publicKeyMultibase": ed25519_multikey(private_key)}],
        "assertionMethod": [method]})
    signed = sign_document(badge(ISSUER), private_key=private_key, verification_method=method)
    assert verify(signed, sites.context()).ok


def test_verify_unsupported_did_method_is_unverifiable_without_fetching(sites: Sites, signer: Signer) -> None:
    did = "did:ethr:0x3b0bc51ab9de1e5b7b6e34e5b960285805c41736"
    signed = signer.sign(badge(did), verification_method=f"{did}#controller")
    outcome = verify(signed, sites.context())
    assert check(outcome, "issuer-key").outcome is Status.UNVERIFIABLE
    assert "did:ethr" in check(outcome, "issuer-key").message
    assert sites.requests == []


# --- contexts and malformed proofs -------------------------------------------------------------------

def test_verify_unknown_context_is_invalid_without_fetching(signer: Signer, document_server: DocumentServer) -> None:
    document_server.routes["/ctx.json"] = Response(b'{"@context": {"extra": "https://evil.example/extra"}}')
    signed = signer.sign(badge(signer.did))
    signed["@context"] = [*signed["@context"], document_server.url("/ctx.json")]
    outcome = verify(signed)
    assert [(c.id, c.outcome) for c in outcome.checks] == [("contexts", Status.INVALID)]
    assert document_server.url("/ctx.json") in outcome.checks[0].message
    assert document_server.requests == []


def test_verify_undefined_term_is_invalid(signer: Signer) -> None:
    signed = signer.sign(badge(signer.did))
    signed["credentialSubject"]["grade"] = "A+"  # not defined by the contexts: would be dropped unsigned
    outcome = verify(signed)
    assert outcome.checks[0].id == "contexts" and status(outcome) is Status.INVALID
    assert "do not define" in outcome.checks[0].message


def test_verify_unsupported_cryptosuite_is_unverifiable_and_named(signer: Signer) -> None:
    signed = signer.sign(badge(signer.did))
    signed["proof"]["cryptosuite"] = "ecdsa-sd-2023"
    outcome = verify(signed)
    assert check(outcome, "proof").outcome is Status.UNVERIFIABLE
    assert "ecdsa-sd-2023" in check(outcome, "proof").message


@pytest.mark.parametrize("suite", [["eddsa-rdfc-2022"], {"id": "eddsa-rdfc-2022"}, None])
def test_verify_data_integrity_proof_without_a_cryptosuite_name_is_invalid(signer: Signer, suite: Any) -> None:
    # Data Integrity §2.1: a DataIntegrityProof names its cryptosuite with a string.
    signed = signer.sign(badge(signer.did))
    if suite is None:
        del signed["proof"]["cryptosuite"]
    else:
        signed["proof"]["cryptosuite"] = suite
    outcome = verify(signed)
    assert check(outcome, "proof").outcome is Status.INVALID and not outcome.ok
    assert "cryptosuite" in check(outcome, "proof").message


def test_verify_proof_in_a_chain_is_unverifiable_not_invalid(signer: Signer) -> None:
    # Data Integrity proof chains (previousProof) are not checked by Wallet: genuineness stays unknown.
    signed = signer.sign(badge(signer.did))
    signed["proof"]["previousProof"] = "urn:uuid:60102d04-b51e-11ed-acfe-2fcd717666a7"
    outcome = verify(signed)
    assert check(outcome, "proof").outcome is Status.UNVERIFIABLE and not outcome.ok
    assert "proof chain" in check(outcome, "proof").message


def test_verify_undefined_proof_type_is_invalid(signer: Signer) -> None:
    signed = signer.sign(badge(signer.did))
    signed["proof"] = {"type": "SomeProofType", "created": "2026-01-01T00:00:00Z", "proofPurpose": "assertionMethod"}
    outcome = verify(signed)
    assert check(outcome, "proof").outcome is Status.INVALID and "SomeProofType" in check(outcome, "proof").message


@pytest.mark.parametrize("value", ["zshort", "uAAAA", "not-multibase", 42, None])
def test_verify_malformed_proof_value_is_invalid(signer: Signer, value: Any) -> None:
    signed = signer.sign(badge(signer.did))
    signed["proof"]["proofValue"] = value
    outcome = verify(signed)
    assert check(outcome, "proof").outcome is Status.INVALID and "malformed" in check(outcome, "proof").message


def test_verify_wrong_key_type_for_suite_is_invalid(signer: Signer) -> None:
    compressed = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        Encoding.X962, PublicFormat.CompressedPoint)
    p256 = "did:key:" + multibase.encode_multikey("P-256", compressed)
    signed = signer.sign(badge(p256), verification_method=p256)
    outcome = verify(signed)
    assert check(outcome, "proof").outcome is Status.INVALID
    assert "needs an Ed25519 key" in check(outcome, "proof").message


def test_verify_proof_purpose_mismatch_is_invalid(signer: Signer) -> None:
    signed = signer.sign(badge(signer.did), proof_purpose="authentication")
    outcome = verify(signed)
    assert check(outcome, "proof").outcome is Status.INVALID
    assert "authentication" in check(outcome, "proof").message


def test_verify_presentation_purpose_with_challenge_is_valid_and_bound(signer: Signer) -> None:
    signed = signer.sign(badge(signer.did), proof_purpose="authentication", challenge="nonce-1",
                         domain="wallet.example")
    assert verify(signed, purpose="authentication").ok
    signed["proof"]["challenge"] = "nonce-2"
    assert status(verify(signed, purpose="authentication")) is Status.INVALID


def test_verify_expired_proof_is_invalid(signer: Signer) -> None:
    signed = signer.sign(badge(signer.did))
    signed["proof"]["expires"] = (datetime.now(timezone.utc) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    outcome = verify(signed)
    assert "expired" in check(outcome, "proof").message and status(outcome) is Status.INVALID


def test_verify_no_proof_is_not_signed() -> None:
    outcome = verify(badge("did:example:x"))
    assert not dataintegrity.has_proof(badge("did:example:x"))
    assert [(c.id, c.outcome) for c in outcome.checks] == [("proof", Status.INVALID)]


def test_verify_several_proofs_one_by_issuer_is_valid(signer: Signer) -> None:
    endorser = Signer()
    signed = endorser.sign(signer.sign(badge(signer.did)))
    assert len(signed["proof"]) == 2
    outcome = verify(signed)
    assert outcome.ok and status(outcome) is Status.VALID
    assert outcome.key is not None and outcome.key.binding is KeyBinding.ISSUER
    # The endorser's proof is reported, without deciding the verdict.
    assert [c.status for c in outcome.checks] == [CheckStatus.PASSED, CheckStatus.PASSED,
                                                  CheckStatus.PASSED, CheckStatus.WARNING]
    assert outcome.checks[3].message.startswith("Proof 2 of 2:")


def test_verify_several_proofs_none_by_issuer_is_invalid(signer: Signer) -> None:
    signed = Signer().sign(Signer().sign(badge(signer.did)))
    outcome = verify(signed)
    assert not outcome.ok and status(outcome) is Status.INVALID


# --- the 1EdTech corpus --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["ob30/simple-did-key-method.json", "clr20/complex.json"])
def test_verify_corpus_did_key_credentials_are_valid(name: str) -> None:
    outcome = verify(corpus(name))
    assert outcome.ok and status(outcome) is Status.VALID


@pytest.mark.parametrize("name", [
    "ob30/simple.json", "ob30/simple.1ob", "ob30/simple_v1.json", "ob30/simple-eddsa-2022.json",
    "ob30/simple-context-version.json", "ob30/endorsement-valid.json", "ob30/complete.json",
    "ob30/bit-string-list/testlist", "clr20/simple.json", "clr20/simple_v1.json",
])
def test_verify_corpus_fragment_key_credentials_are_intact_but_unverifiable(name: str) -> None:
    outcome = verify(corpus(name))
    assert check(outcome, "proof").status is CheckStatus.PASSED
    assert outcome.key is not None and outcome.key.binding is KeyBinding.SELF_ASSERTED
    assert status(outcome) is Status.UNVERIFIABLE


@pytest.mark.parametrize("name", [
    "ob30/simple-err-proof-value.json", "ob30/simple-err-type.json", "ob30/simple-err-issuer-type.json",
    "ob30/simple-err-proof-method.json", "ob30/simple-err-proof-method-no-scheme.json",
    "ob30/simple-err-proof-method-unknown-scheme.json", "ob30/simple-err-proof-method-unknown-did-method.json",
    "ob30/simple-err-context.json", "ob30/simple-err-credential-subject-type.json", "ob30/simple-multiple-proofs.json",
])
def test_verify_corpus_tampered_credentials_are_invalid(name: str) -> None:
    assert status(verify(corpus(name))) is Status.INVALID


def test_verify_corpus_ecdsa_sd_credential_is_unverifiable() -> None:
    outcome = verify(corpus("ob30/sd/derivedcredential.json"))
    assert status(outcome) is Status.UNVERIFIABLE and "ecdsa-sd-2023" in check(outcome, "proof").message


def test_verify_corpus_unknown_draft_context_is_invalid() -> None:
    outcome = verify(corpus("clr20/simple_old_safesigned.json"))
    assert outcome.checks[0].id == "contexts" and "dc.imsglobal.org" in outcome.checks[0].message
