"""The account behind the token: GET /api/v1/me."""
from __future__ import annotations

from typing import Any

from wallet.routes.api import api_user, bp, require_token


@bp.get("/me")
@require_token
def me() -> dict[str, Any]:
    """Describe the account the token belongs to."""
    user = api_user()
    return {
        "id": user.id,
        "display_name": user.display_name,
        "created_at": user.created_at.isoformat(),
        "emails": [
            {"address": e.address, "verified": e.is_verified, "primary": e.is_primary} for e in user.emails
        ],
    }


OPENAPI_PATHS: dict[str, Any] = {
    "/me": {
        "get": {
            "operationId": "getMe",
            "summary": "The account the token belongs to",
            "tags": ["Account"],
            "responses": {
                "200": {
                    "description": "The account",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Account"}}},
                },
                "401": {"$ref": "#/components/responses/Unauthorized"},
            },
        }
    }
}

OPENAPI_SCHEMAS: dict[str, Any] = {
    "Account": {
        "type": "object",
        "required": ["id", "display_name", "created_at", "emails"],
        "properties": {
            "id": {"type": "integer"},
            "display_name": {"type": "string"},
            "created_at": {"type": "string", "format": "date-time"},
            "emails": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["address", "verified", "primary"],
                    "properties": {
                        "address": {"type": "string", "format": "email"},
                        "verified": {"type": "boolean", "description": "Proven by an emailed link; only "
                                     "verified addresses match the recipient of a credential."},
                        "primary": {"type": "boolean"},
                    },
                },
            },
        },
    }
}
