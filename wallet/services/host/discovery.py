"""The Service Description Document of each Host API (OB 3.0 §6.3, §B.4; CLR 2.0 the same).

"An OpenAPI 3.0 (JSON) structured document that MUST be a profiled version of the OpenAPI 3.0
(JSON) file provided with this specification" (§B.4.1): the specification's paths and schemas for
the operations Wallet serves, its `info` with `x-imssf-privacyPolicyUrl` and `x-imssf-image`
(§B.4.3), and the `OAuth2ACG` security scheme with `x-imssf-registrationUrl` (§B.4.4) and the
authorization code flow's URLs and scopes. The credential classes are described by reference to the
specification's own JSON Schema rather than copied (they are thousands of lines long).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wallet.services.host import credentials as host_credentials
from wallet.services.host.apis import (
    CREDENTIAL_READONLY,
    CREDENTIAL_UPSERT,
    PROFILE_READONLY,
    PROFILE_UPDATE,
    Api,
)

OPENAPI_VERSION = "3.0.1"  # as the specification's own OpenAPI file

# The specification's own words for each permission (OB 3.0 §6.2.1 Scopes; CLR 2.0 the same).
_SCOPE_WORDS = {
    CREDENTIAL_READONLY: "Permission to read {credentials} for the authenticated entity.",
    CREDENTIAL_UPSERT: "Permission to create or update {credentials} for the authenticated entity.",
    PROFILE_READONLY: "Permission to read the profile for the authenticated entity.",
    PROFILE_UPDATE: "Permission to update the profile for the authenticated entity.",
}
_ERROR_STATUSES = {
    "400": "The request was refused: the description says what to change.",
    "401": "The access token is missing, unknown, expired or revoked.",
    "403": "The access token lacks the scope this operation needs, or Wallet refuses the request.",
    "405": "The method is not allowed here.",
    "429": "Too many requests: try again after the Retry-After seconds.",
    "500": "Wallet failed unexpectedly.",
}
_COMPACT_JWS_SCHEMA = {
    "pattern": "^[a-zA-Z0-9_-]+\\.[a-zA-Z0-9_-]*\\.[a-zA-Z0-9_-]+$",
    "type": "string",
    "description": "A `String` in Compact JWS format [RFC7515].",
}


@dataclass(frozen=True)
class Links:
    """The absolute URLs a Service Description Document names."""

    server: str  # the API's base, e.g. https://wallet.example/ims/ob/v3p0
    registration: str
    authorization: str
    token: str
    privacy_policy: str
    terms_of_service: str
    image: str


def service_description(api: Api, links: Links, *, name: str) -> dict[str, Any]:
    """Return the Service Description Document of `api` (OB 3.0 §B.4.1 ServiceDescriptionDocument)."""
    credentials_words = f"{api.credential_class}s"
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": name,
            "description": f"{name}: the {api.title} API of a learner's wallet "
                           "(Host: Service Provider Read and Write).",
            "termsOfService": links.terms_of_service,
            "version": api.path.rsplit("/", 1)[-1],
            "x-imssf-image": links.image,
            "x-imssf-privacyPolicyUrl": links.privacy_policy,
        },
        "servers": [{"url": links.server}],
        "tags": [{"name": "Credentials", "description": f"Exchange {credentials_words} and the learner's Profile."},
                 {"name": "Discovery"}],
        "paths": _paths(api),
        "components": {
            "schemas": _schemas(api),
            "headers": {"X-Total-Count": {"description": "The total number of resources that are available to be "
                                                         "returned", "schema": {"type": "integer", "format": "int32"}}},
            "securitySchemes": {
                "OAuth2ACG": {
                    "type": "oauth2",
                    "description": "OAuth 2.0 Authorization Code Grant authorization, with PKCE (S256) and dynamic "
                                   "client registration (RFC 7591).",
                    "x-imssf-name": name,
                    "x-imssf-privacyPolicyUrl": links.privacy_policy,
                    "x-imssf-registrationUrl": links.registration,
                    "x-imssf-termsOfServiceUrl": links.terms_of_service,
                    "flows": {"authorizationCode": {
                        "authorizationUrl": links.authorization,
                        "tokenUrl": links.token,
                        "refreshUrl": links.token,
                        "scopes": {api.scope(permission): words.format(credentials=credentials_words)
                                   for permission, words in _SCOPE_WORDS.items()},
                    }},
                },
            },
            "links": {rel: {"operationId": "getCredentials",
                            "parameters": {"limit": "$request.query.limit", "offset": "$request.query.offset"},
                            "description": f"The {rel} page of credentials."}
                      for rel in ("next", "last", "first", "prev")},
        },
    }


def _paths(api: Api) -> dict[str, Any]:
    credential_body = {
        "application/json": {"schema": {"$ref": f"#/components/schemas/{api.credential_class}"}},
        "text/plain": {"schema": _COMPACT_JWS_SCHEMA},
    }
    profile_body = {"application/json": {"schema": {"$ref": "#/components/schemas/Profile"}}}
    return {
        "/credentials": {
            "get": {
                "tags": ["Credentials"],
                "summary": "The REST GET operation for the getCredentials() API call.",
                "operationId": "getCredentials",
                "parameters": [
                    {"name": "limit", "in": "query", "required": False, "style": "form",
                     "description": f"The maximum number of credentials to return per page (at most "
                                    f"{host_credentials.MAX_LIMIT}; {host_credentials.DEFAULT_LIMIT} when not given).",
                     "schema": {"minimum": 1, "type": "integer", "format": "int32"}},
                    {"name": "offset", "in": "query", "required": False, "style": "form",
                     "description": "The index of the first credential to return. (zero indexed)",
                     "schema": {"minimum": 0, "type": "integer", "format": "int32"}},
                    {"name": "since", "in": "query", "required": False, "style": "form",
                     "description": "Only include credentials issued after this timestamp.",
                     "schema": {"type": "string", "format": "date-time"}},
                ],
                "responses": {
                    "200": {"description": "The learner's credentials, oldest first, as they were received.",
                            "headers": {"X-Total-Count": {"$ref": "#/components/headers/X-Total-Count"}},
                            "content": {"application/json": {
                                "schema": {"$ref": f"#/components/schemas/{api.response_class}"}}},
                            "links": {rel: {"$ref": f"#/components/links/{rel}"}
                                      for rel in ("next", "last", "first", "prev")}},
                    **_errors("400", "401", "403", "405", "429", "500"),
                },
                "security": [{"OAuth2ACG": [api.scope(CREDENTIAL_READONLY)]}],
            },
            "post": {
                "tags": ["Credentials"],
                "summary": "The REST POST operation for the upsertCredential() API call.",
                "operationId": "upsertCredential",
                "requestBody": {"content": credential_body, "required": True},
                "responses": {
                    "200": {"description": "The credential was held already, or replaced an earlier copy of it; "
                                           "the body is the credential in the request.", "content": credential_body},
                    "201": {"description": "The credential was added; the body is the credential in the request.",
                            "content": credential_body},
                    **_errors("400", "401", "403", "405", "429", "500"),
                },
                "security": [{"OAuth2ACG": [api.scope(CREDENTIAL_UPSERT)]}],
            },
        },
        "/profile": {
            "get": {
                "tags": ["Credentials"],
                "summary": "The REST GET operation for the getProfile() API call.",
                "operationId": "getProfile",
                "responses": {"200": {"description": "The learner's profile.", "content": profile_body},
                              **_errors("401", "403", "405", "500")},
                "security": [{"OAuth2ACG": [api.scope(PROFILE_READONLY)]}],
            },
            "put": {
                "tags": ["Credentials"],
                "summary": "The REST PUT operation for the putProfile() API call.",
                "operationId": "putProfile",
                "requestBody": {"content": profile_body, "required": True},
                "responses": {"200": {"description": "The profile as it now is (Wallet takes the name only).",
                                      "content": profile_body},
                              **_errors("400", "401", "403", "405", "500")},
                "security": [{"OAuth2ACG": [api.scope(PROFILE_UPDATE)]}],
            },
        },
        "/discovery": {
            "get": {
                "tags": ["Discovery"],
                "summary": "The REST GET operation for the getServiceDescription() API call.",
                "operationId": "getServiceDescription",
                "responses": {"200": {"description": "This Service Description Document.", "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/ServiceDescriptionDocument"}}}}},
            },
        },
    }


def _errors(*statuses: str) -> dict[str, Any]:
    return {status: {"description": _ERROR_STATUSES[status], "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/Imsx_StatusInfo"}}}} for status in statuses}


def _schemas(api: Api) -> dict[str, Any]:
    return {
        api.credential_class: {
            "type": "object",
            "description": f"A {api.title} {api.credential_class}, as the specification's JSON Schema describes it.",
            "externalDocs": {"url": api.credential_schema_url},
        },
        api.response_class: {
            "type": "object",
            "properties": {
                "credential": {"type": "array", "minItems": 0,
                               "description": "Credentials that have not been signed with the VC-JWT Proof Format.",
                               "items": {"$ref": f"#/components/schemas/{api.credential_class}"}},
                "compactJwsString": {"type": "array", "minItems": 0,
                                     "description": "Credentials that have been signed with the VC-JWT Proof Format.",
                                     "items": _COMPACT_JWS_SCHEMA},
            },
            "additionalProperties": False,
        },
        "Profile": {
            "required": ["id", "type"],
            "type": "object",
            "description": "The learner's Profile (OB 3.0 §B.1.14); Wallet answers id, type, name and, when "
                           "verified, email, and takes a new name.",
            "properties": {
                "id": {"type": "string", "description": "The did:key of the learner's wallet."},
                "type": {"type": "array", "items": {"type": "string"}},
                "name": {"type": "string"},
                "email": {"type": "string"},
            },
            "additionalProperties": True,
        },
        "ServiceDescriptionDocument": {
            "required": ["openapi", "info", "components"],
            "type": "object",
            "properties": {"openapi": {"type": "string"}, "info": {"type": "object"},
                           "components": {"type": "object"}},
            "additionalProperties": True,
        },
        "Imsx_StatusInfo": {
            "required": ["imsx_codeMajor", "imsx_severity"],
            "type": "object",
            "properties": {
                "imsx_codeMajor": {"type": "string", "enum": ["failure", "processing", "success", "unsupported"]},
                "imsx_severity": {"type": "string", "enum": ["error", "status", "warning"]},
                "imsx_description": {"type": "string"},
                "imsx_codeMinor": {"$ref": "#/components/schemas/Imsx_CodeMinor"},
            },
            "additionalProperties": False,
        },
        "Imsx_CodeMinor": {
            "required": ["imsx_codeMinorField"],
            "type": "object",
            "properties": {"imsx_codeMinorField": {"type": "array", "minItems": 1, "items": {
                "$ref": "#/components/schemas/Imsx_CodeMinorField"}}},
            "additionalProperties": False,
        },
        "Imsx_CodeMinorField": {
            "required": ["imsx_codeMinorFieldName", "imsx_codeMinorFieldValue"],
            "type": "object",
            "properties": {
                "imsx_codeMinorFieldName": {"type": "string"},
                "imsx_codeMinorFieldValue": {"type": "string", "enum": [
                    "forbidden", "fullsuccess", "internal_server_error", "invalid_data", "invalid_query_parameter",
                    "misdirected_request", "not_acceptable", "not_allowed", "not_found", "not_modified",
                    "server_busy", "unauthorizedrequest", "unknown"]},
            },
            "additionalProperties": False,
        },
    }
