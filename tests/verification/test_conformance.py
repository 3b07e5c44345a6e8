"""Every offline case of the 1EdTech corpus gets a status from its `wallet_expect`.

Where Wallet's status is not in `wallet_expect`, DIFFERS says why, and the test pins Wallet's
status instead, so a change in either direction is noticed.
"""
from __future__ import annotations

import pytest

from tests.verification.conformance import CORPUS, MANIFEST, corpus_fetch
from wallet.services.verification import make_context, verify_bytes

# file -> (Wallet's status, why it differs from the manifest)
_OB2_NOT_AWARDED = ("no_credential", "An OB 2.0 document that is not an assertion (BadgeClass, Issuer, "
                    "AlignmentObject...) is validated as the validator does (broken ones come out invalid), but it is "
                    "awarded to nobody, so Wallet says there is no credential rather than calling it verified.")
_OB3_HEADER_JWK = ("unverifiable", "The VC-JWT's only key is the jwk in its own JOSE header, with an https issuer: "
                   "the signature shows the credential is intact, not that the issuer made it (docs/security.md D7).")
DIFFERS: dict[str, tuple[str, str]] = {
    # Open Badges 2.0
    "ob20/simple-badge.png": ("unverifiable", "The baked assertion is hosted; Wallet always re-fetches a hosted "
                              "assertion from its id (docs/security.md D13), and this case's url_map does not serve "
                              "https://example.org/beths-robotics-badge.json. test_ob2 verifies a served baked one."),
    "ob20/basic-assertion-expired-before-issued.json": (
        "invalid", "expires precedes issuedOn; contradictory dates are a failure, as in openbadges-validator-core, "
                   "and the manifest's reason allows reporting the inconsistency."),
    "ob20/warning-issuer-non-http.json": (
        "unverifiable", "The issuer id is a urn:uuid; docs/security.md D15: a non-http issuer cannot be tied to a "
                        "website, so the badge is not verified (the validator only warns)."),
    "ob20/assertion-with-extension-node-invalid.json": (
        "valid", "The failure needs the extension's remote JSON schema (needs_network); Wallet never fetches "
                 "extension schemas, so extension property types are not checked."),
    "ob20/assets/badgeclass1.json": _OB2_NOT_AWARDED,
    "ob20/assets/badge-with-data-image.json": _OB2_NOT_AWARDED,
    "ob20/assets/badgeclass-with-complex-image.json": _OB2_NOT_AWARDED,
    "ob20/badge-class-with-language.json": _OB2_NOT_AWARDED,
    "ob20/issuer-compact-iri-validation.json": _OB2_NOT_AWARDED,
    "ob20/rdf-validation/valid-badge-class.json": _OB2_NOT_AWARDED,
    "ob20/rdf-validation/valid-issuer-extension.json": _OB2_NOT_AWARDED,
    "ob20/rdf-validation/valid-alignment-object.json": _OB2_NOT_AWARDED,
    "ob20/rdf-validation/valid-cool-class.json": _OB2_NOT_AWARDED,
    "ob20/rdf-validation/valid-badge-class-empty-criteria-type.json": _OB2_NOT_AWARDED,
    # Open Badges 3.0 and CLR 2.0
    "ob30/simple-jwt.png": _OB3_HEADER_JWK,
    "ob30/simple-jwt_v1.png": _OB3_HEADER_JWK,
    "ob30/simple-jwt.svg": _OB3_HEADER_JWK,
    "ob30/simple-jwt_v1.svg": _OB3_HEADER_JWK,
    "ob30/simple-err-issued.json": (
        "invalid", "Its credentialSubject has no achievement, which OB 3.0 requires of an AchievementSubject "
                   "(multiplicity 1); the validator's test looks only at the future validFrom. The date is still "
                   "reported as not yet valid."),
    "ob30/complete.json": (
        "unverifiable", "needs_network: the validator's error comes from its remote credentialSchema, which Wallet "
                        "never fetches (the required structure is checked in code and passes). The proof's key is "
                        "read from the verificationMethod fragment, which nothing ties to the issuer."),
    "ob30/credential-status-revoked.json": (
        "unverifiable", "needs_network: its 1EdTechRevocationList is on dc.1edtech.org, not in the corpus, and a list "
                        "that cannot be fetched never means \"not revoked\". Its verificationMethod is a did:web DID "
                        "URL whose DID document is not in the corpus either, so the proof cannot be checked and the "
                        "list is never fetched (docs/security.md A17)."),
}


@pytest.mark.parametrize("case", MANIFEST, ids=[c["file"] for c in MANIFEST])
def test_conformance_case_gets_expected_status(case: dict) -> None:
    context = make_context(corpus_fetch(case["url_map"]))
    path = CORPUS / case["file"]
    result = verify_bytes(path.read_bytes(), filename=path.name, context=context)
    report = [(c.id, c.status, c.message) for c in result.checks]
    if case["file"] in DIFFERS:
        expected, _why = DIFFERS[case["file"]]
        assert result.status == expected, report
    else:
        assert result.status in case["wallet_expect"], report
