"""W3C Verifiable Presentations (vp.py): the holder's proof, then each credential, gravest status wins.

Holders and issuers are did:key signers with real Ed25519 keys; nothing is fetched.
"""
from __future__ import annotations

from typing import Any

from tests.verification.test_vc import VC_V2, Signer, check, generic_vc, report, verify
from wallet.services.verification.dataintegrity import sign_document
from wallet.services.verification.result import CheckStatus, Status


def presentation(*credentials: dict[str, Any], holder: str | None = None) -> dict[str, Any]:
    document: dict[str, Any] = {"@context": [VC_V2], "type": ["VerifiablePresentation"],
                                "verifiableCredential": list(credentials)}
    if holder is not None:
        document["holder"] = holder
    return document


def sign_presentation(signer: Signer, document: dict[str, Any]) -> dict[str, Any]:
    return sign_document(document, private_key=signer.private, verification_method=signer.vm,
                         proof_purpose="authentication")


def test_vp_signed_by_its_holder_with_a_valid_credential_is_valid() -> None:
    holder, issuer = Signer(), Signer()
    signed = sign_presentation(holder, presentation(issuer.sign_ld(generic_vc(issuer.did)), holder=holder.did))
    result = verify(signed)
    assert (result.format, result.status) == ("vp", Status.VALID), report(result)
    assert check(result, "holder-key").status is CheckStatus.PASSED
    assert [n.status for n in result.nested] == [Status.VALID]


def test_vp_without_holder_is_unverifiable_not_malformed() -> None:
    # VCDM 2.0 §4.13: "holder" is optional; without it nothing shows who presented the credentials,
    # but the presentation is not malformed, and each credential is still verified on its own.
    someone, issuer = Signer(), Signer()
    signed = sign_presentation(someone, presentation(issuer.sign_ld(generic_vc(issuer.did))))
    result = verify(signed)
    assert result.status is Status.UNVERIFIABLE, report(result)
    assert check(result, "structure").status is CheckStatus.PASSED
    assert check(result, "holder-key").outcome is Status.UNVERIFIABLE
    assert [n.status for n in result.nested] == [Status.VALID]


def test_vp_without_holder_holding_a_forged_credential_is_invalid() -> None:
    someone, issuer = Signer(), Signer()
    forged = issuer.sign_ld(generic_vc(issuer.did))
    forged["name"] = "Forged membership"
    result = verify(sign_presentation(someone, presentation(forged)))
    assert result.status is Status.INVALID, report(result)
    assert [n.status for n in result.nested] == [Status.INVALID]


def test_vp_signed_by_another_key_than_its_holder_is_invalid() -> None:
    holder, intruder, issuer = Signer(), Signer(), Signer()
    signed = sign_presentation(intruder, presentation(issuer.sign_ld(generic_vc(issuer.did)), holder=holder.did))
    result = verify(signed)
    assert result.status is Status.INVALID, report(result)
    assert check(result, "holder-key").outcome is Status.INVALID


def test_vp_holding_no_credential_is_malformed() -> None:
    holder = Signer()
    result = verify(sign_presentation(holder, presentation(holder=holder.did)))
    assert result.status is Status.INVALID
    assert "holds no credentials" in check(result, "structure").message


def test_vp_purpose_check_names_the_challenge_and_domain_it_answers() -> None:
    holder, issuer = Signer(), Signer()
    signed = sign_document(presentation(issuer.sign_ld(generic_vc(issuer.did)), holder=holder.did),
                           private_key=holder.private, verification_method=holder.vm, proof_purpose="authentication",
                           challenge="c-42", domain="jobs.example")
    result = verify(signed)
    assert result.status is Status.VALID, report(result)
    purpose = check(result, "purpose")
    assert purpose.status is CheckStatus.PASSED and "c-42" in purpose.message and "jobs.example" in purpose.message


def test_vp_plain_presentation_is_valid_and_said_to_answer_no_request() -> None:
    holder, issuer = Signer(), Signer()
    signed = sign_document(presentation(issuer.sign_ld(generic_vc(issuer.did)), holder=holder.did),
                           private_key=holder.private, verification_method=holder.vm)
    result = verify(signed)
    assert result.status is Status.VALID, report(result)
    assert "answers no verifier's challenge" in check(result, "purpose").message


def test_vp_authentication_proof_without_a_challenge_is_flagged_as_a_possible_replay() -> None:
    holder, issuer = Signer(), Signer()
    result = verify(sign_presentation(holder, presentation(issuer.sign_ld(generic_vc(issuer.did)), holder=holder.did)))
    assert check(result, "purpose").status is CheckStatus.WARNING and "replay" in check(result, "purpose").message


def test_vp_proof_for_another_purpose_is_refused() -> None:
    holder, issuer = Signer(), Signer()
    signed = sign_document(presentation(issuer.sign_ld(generic_vc(issuer.did)), holder=holder.did),
                           private_key=holder.private, verification_method=holder.vm, proof_purpose="keyAgreement")
    result = verify(signed)
    assert result.status is Status.INVALID, report(result)
    assert "proving who is presenting" in check(result, "proof").message
