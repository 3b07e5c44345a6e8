"""What the specifications fix for the test issuer: OpenID for Verifiable Credential Issuance 1.0 (OID4VCI),
SD-JWT VC (draft-ietf-oauth-sd-jwt-vc) and Token Status List (draft-ietf-oauth-status-list)."""
from __future__ import annotations

from typing import Any

from flask import Response
import json

# OID4VCI 1.0 §4.1: the grant type of the Pre-Authorized Code Flow, the offer's `grants` key.
PRE_AUTHORIZED_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
AUTHORIZATION_CODE_GRANT = "authorization_code"
# OID4VCI 1.0 §4.1.1: the custom URL scheme a Credential Offer is sent under.
OFFER_SCHEME = "openid-credential-offer://"
# OID4VCI 1.0 Appendix F.1: the `typ` of a JWT key proof.
PROOF_TYP = "openid4vci-proof+jwt"
# OID4VCI 1.0 §5.1.1: the type of an authorization_details entry asking for credentials.
AUTHORIZATION_DETAILS_TYPE = "openid_credential"
# Token Status List §5.1: the typ of a Status List Token, and its media type (§8.1).
STATUS_LIST_TYP = "statuslist+jwt"
STATUS_LIST_MEDIA_TYPE = "application/statuslist+jwt"

OB3_CONTEXTS = ["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]
OB3_TYPES = ["VerifiableCredential", "OpenBadgeCredential"]

# The credential configurations the issuer offers, by id (OID4VCI 1.0 §12.2.4 and Appendix A).
JWT_VC = "OpenBadgeCredential_jwt_vc_json"
LDP_VC = "OpenBadgeCredential_ldp_vc"
SD_JWT = "LearningCredential_dc+sd-jwt"
SD_JWT_LEGACY = "LearningCredential_vc+sd-jwt"  # the media type of SD-JWT VC drafts before -06
CONFIGURATIONS = (JWT_VC, LDP_VC, SD_JWT, SD_JWT_LEGACY)


def no_store(body: dict[str, Any], status: int = 200) -> Response:
    """Answer JSON that must not be cached (OID4VCI 1.0 §6.2, §7.2, §8.3: Cache-Control: no-store)."""
    return Response(json.dumps(body), status=status, mimetype="application/json",
                    headers={"Cache-Control": "no-store"})


def error(code: str, description: str, status: int = 400, headers: dict[str, str] | None = None) -> Response:
    """Answer an OAuth 2.0 style error (RFC 6749 §5.2; OID4VCI 1.0 §8.3.1.2 for the credential endpoint)."""
    return Response(json.dumps({"error": code, "error_description": description}), status=status,
                    mimetype="application/json", headers={"Cache-Control": "no-store", **(headers or {})})


def configurations(base_url: str, vct: str) -> dict[str, dict[str, Any]]:
    """Return `credential_configurations_supported` (OID4VCI 1.0 §12.2.4, Appendix A.1.1, A.1.2, A.3)."""
    jwt_proof = {"jwt": {"proof_signing_alg_values_supported": ["EdDSA", "ES256"]}}
    bindings = ["did:key", "did:jwk", "jwk"]

    def display(name: str) -> dict[str, Any]:
        return {"display": [{"name": name, "locale": "en-US", "description": f"{name} from the test issuer"},
                            {"name": f"{name} (de)", "locale": "de-DE"}]}

    sd_jwt = {
        "cryptographic_binding_methods_supported": ["jwk"], "credential_signing_alg_values_supported": ["ES256"],
        "proof_types_supported": jwt_proof, "vct": vct,
        "credential_metadata": {**display("Learning Credential"), "claims": [
            {"path": ["given_name"], "display": [{"name": "Given name", "locale": "en-US"},
                                                  {"name": "Vorname", "locale": "de-DE"}]},
            {"path": ["family_name"], "display": [{"name": "Family name", "locale": "en-US"},
                                                   {"name": "Nachname", "locale": "de-DE"}]},
            {"path": ["title"], "display": [{"name": "Title", "locale": "en-US"}]},
            {"path": ["credits"], "display": [{"name": "ECTS credits", "locale": "en-US"}]},
            {"path": ["learning_outcomes", None], "display": [{"name": "Learning outcomes", "locale": "en-US"}]}]},
    }
    return {
        JWT_VC: {
            "format": "jwt_vc_json", "scope": JWT_VC,
            "cryptographic_binding_methods_supported": bindings, "credential_signing_alg_values_supported": ["EdDSA"],
            "proof_types_supported": jwt_proof, "credential_definition": {"type": OB3_TYPES},
            "credential_metadata": display("Open Badge (JWT)"),
        },
        LDP_VC: {
            "format": "ldp_vc", "scope": LDP_VC,
            "cryptographic_binding_methods_supported": bindings,
            "credential_signing_alg_values_supported": ["eddsa-rdfc-2022"],
            "proof_types_supported": jwt_proof, "credential_definition": {"@context": OB3_CONTEXTS, "type": OB3_TYPES},
            "credential_metadata": display("Open Badge (Data Integrity)"),
        },
        SD_JWT: {"format": "dc+sd-jwt", "scope": SD_JWT, **sd_jwt},
        SD_JWT_LEGACY: {"format": "vc+sd-jwt", "scope": SD_JWT_LEGACY, **sd_jwt},
    }
