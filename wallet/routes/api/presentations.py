"""Answering a verifier's presentation request over the API, for the token owner only."""
from __future__ import annotations

from typing import Any

from flask import current_app, request

from wallet.db import get_session
from wallet.inputs import is_id
from wallet.routes.api import api_user, bp, require_token
from wallet.services import presentation_requests as service
from wallet.services.errors import ValidationError
from wallet.wiring import collaborators

_FIELDS = frozenset({"request", "challenge", "domain", "credentials"})


@bp.post("/presentations")
@require_token
def answer_request() -> dict[str, Any]:
    """Sign the token owner's answer to a verifier's request with the credentials named.

    The request is the body's `request` (a VC-API Verifiable Presentation Request or a DIF
    Presentation Exchange definition with options), or its `challenge` and `domain`. Only the token
    owner's own credentials that verify can go in; the presentation authenticates the owner to the
    domain named (VC Data Integrity §2.1).
    """
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationError("Send a JSON object with Content-Type: application/json.")
    unknown = sorted(set(body) - _FIELDS)
    if unknown:
        raise ValidationError(f"These fields are not understood: {', '.join(unknown)}.")
    if "request" in body:
        presentation_request = service.read_request_object(body["request"])
    else:
        presentation_request = service.read_request(None, challenge=body.get("challenge"), domain=body.get("domain"))
    ids = body.get("credentials")
    if not isinstance(ids, list) or not all(is_id(i) for i in ids):
        raise ValidationError('"credentials" must be a list of credential ids.')
    session = get_session()
    signed = service.answer(session, api_user().id, presentation_request, ids,
                            secret_key=current_app.config["SECRET_KEY"], blobs=collaborators().blobs)
    session.commit()
    return {"presentation": signed.document, "holder": signed.holder, "domain": presentation_request.domain,
            "challenge": presentation_request.challenge,
            "left_out": [{"credential_id": c.id, "reason": r} for c, r in signed.left_out]}


# --- OpenAPI ---------------------------------------------------------------------------------------

_JSON = "application/json"
_OPTION = {"type": "string", "pattern": "^[\\x21-\\x7e]{1,200}$"}

OPENAPI_PATHS: dict[str, Any] = {
    "/presentations": {
        "post": {
            "operationId": "answerPresentationRequest",
            "summary": "Answer a verifier's presentation request as the token owner",
            "description": "Signs a W3C Verifiable Presentation (eddsa-rdfc-2022, proofPurpose authentication) with "
                           "the owner's did:key, bound to the verifier's challenge and domain. It logs the owner in "
                           "at that verifier: call it only when the owner approves. Only the owner's credentials "
                           "that verify can go in.",
            "tags": ["Presentations"],
            "requestBody": {"required": True, "content": {_JSON: {"schema": {
                "$ref": "#/components/schemas/PresentationRequestAnswer"}}}},
            "responses": {
                "200": {"description": "The signed presentation", "content": {_JSON: {"schema": {
                    "$ref": "#/components/schemas/SignedAnswer"}}}},
                "400": {"$ref": "#/components/responses/BadRequest"},
                "401": {"$ref": "#/components/responses/Unauthorized"},
                "404": {"$ref": "#/components/responses/NotFound"},
            },
        },
    },
}

OPENAPI_SCHEMAS: dict[str, Any] = {
    "PresentationRequestAnswer": {
        "type": "object",
        "additionalProperties": False,
        "required": ["credentials"],
        "description": "The verifier's request (or its challenge and domain) and the credentials the owner chose.",
        "properties": {
            "request": {"type": "object", "description": "A VC-API `verifiablePresentationRequest` (or the request "
                        "object itself), or a DIF Presentation Exchange `presentation_definition` with "
                        "`options.challenge` and `options.domain`."},
            "challenge": {**_OPTION, "description": "The verifier's challenge, when no `request` is sent."},
            "domain": {**_OPTION, "description": "The verifier's domain, when no `request` is sent."},
            "credentials": {"type": "array", "items": {"type": "integer"}, "minItems": 1,
                            "maxItems": service.MAX_CHOSEN},
        },
    },
    "SignedAnswer": {"type": "object", "properties": {
        "presentation": {"type": "object", "description": "A VC 2.0 VerifiablePresentation with a DataIntegrityProof "
                         "(proofPurpose authentication, the challenge and domain)."},
        "holder": {"type": "string", "description": "The owner's did:key."},
        "challenge": {"type": "string"}, "domain": {"type": "string"},
        "left_out": {"type": "array", "items": {"type": "object", "properties": {
            "credential_id": {"type": "integer"}, "reason": {"type": "string"}}}}}},
}
