"""What the specifications fix for the test provider: scopes, contexts, registration rules, error bodies,
the Service Description Document (OB 3.0 / CLR 2.0) and the Badge Connect 2.1 manifest."""
from __future__ import annotations

import html
from datetime import datetime, timezone
from typing import Any

OB3 = "ob3"
CLR = "clr"
BADGE_CONNECT = "bc"

OB3_SCOPE = "https://purl.imsglobal.org/spec/ob/v3p0/scope/"
CLR_SCOPE = "https://purl.imsglobal.org/spec/clr/v2p0/scope/"
BC_SCOPE = "https://purl.imsglobal.org/spec/ob/v2p1/scope/"
OB3_SCOPES = {name: OB3_SCOPE + name for name in
              ("credential.readonly", "credential.upsert", "profile.readonly", "profile.update")}
CLR_SCOPES = {name: CLR_SCOPE + name for name in
              ("credential.readonly", "credential.upsert", "profile.readonly", "profile.update")}
BC_SCOPES = {name: BC_SCOPE + name for name in
             ("assertion.readonly", "assertion.create", "profile.readonly", "profile.update")}
OFFLINE_ACCESS = "offline_access"  # OB 3.0 and Badge Connect examples ask for it beside the API scopes
SUPPORTED_SCOPES = [*OB3_SCOPES.values(), *CLR_SCOPES.values(), *BC_SCOPES.values(), OFFLINE_ACCESS]

OB3_CONTEXTS = ["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]
CLR_CONTEXTS = ["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json",
                "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]
OB2_CONTEXT = "https://w3id.org/openbadges/v2"

# OB 3.0 security section, "Register with Authorization Server": all of these MUST be in the request.
REQUIRED_REGISTRATION = ("client_name", "client_uri", "logo_uri", "tos_uri", "policy_uri", "software_id",
                         "software_version", "redirect_uris", "scope")
CODE_LIFETIME = 600  # OB 3.0: "A lifetime for the authorization code of 600 seconds (10 minutes) is RECOMMENDED"

# OB 3.0 / CLR 2.0 Imsx_CodeMinorFieldValue for each HTTP status this server answers with.
IMSX_MINOR = {400: "invalid_query_parameter", 401: "unauthorizedrequest", 403: "forbidden", 404: "not_found",
              405: "not_allowed", 500: "internal_server_error"}
# Badge Connect 2.1 "Response Envelope": statusText per HTTP status.
BC_STATUS_TEXT = {200: "OK", 400: "BAD_REQUEST", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                  404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 500: "INTERNAL_SERVER_ERROR"}


def service_description(*, name: str, base_url: str, api_path: str, title: str, scopes: dict[str, str],
                        registration: str, authorization: str, token: str) -> dict[str, Any]:
    """Return the Service Description Document (OB 3.0 / CLR 2.0: a profiled OpenAPI 3.0 document), naming the
    operations this provider serves under `api_path` and the scope each needs."""

    def operation(operation_id: str, scope: str) -> dict[str, Any]:
        return {"operationId": operation_id, "security": [{"OAuth2ACG": [scopes[scope]]}],
                "responses": {"200": {"description": "OK"}}}

    return {
        "openapi": "3.0.1",
        "info": {
            "title": name,
            "description": f"{title} API of {name}",
            "version": "1.0",
            "termsOfService": base_url + "/terms",
            "x-imssf-image": base_url + "/logo.png",
            "x-imssf-privacyPolicyUrl": base_url + "/privacy",
        },
        "servers": [{"url": base_url + api_path, "description": name}],
        "paths": {
            "/credentials": {"get": operation("getCredentials", "credential.readonly"),
                             "post": operation("upsertCredential", "credential.upsert")},
            "/profile": {"get": operation("getProfile", "profile.readonly"),
                         "put": operation("putProfile", "profile.update")},
            "/discovery": {"get": {"operationId": "getServiceDescription",
                                   "responses": {"200": {"description": "OK"}}}},
        },
        "components": {
            "securitySchemes": {
                "OAuth2ACG": {
                    "type": "oauth2",
                    "description": "OAuth 2.0 Authorization Code Grant authorization",
                    "x-imssf-name": name,
                    "x-imssf-privacyPolicyUrl": base_url + "/privacy",
                    "x-imssf-registrationUrl": registration,
                    "x-imssf-termsOfServiceUrl": base_url + "/terms",
                    "flows": {
                        "authorizationCode": {
                            "authorizationUrl": authorization,
                            "tokenUrl": token,
                            "refreshUrl": token,
                            "scopes": {uri: f"Permission: {scope}" for scope, uri in scopes.items()},
                        }
                    },
                }
            },
            "schemas": {},
        },
    }


def badge_connect_manifest(*, name: str, base_url: str, manifest_url: str, api_base: str, registration: str,
                           authorization: str, token: str, revocation: str) -> dict[str, Any]:
    """Return the Badge Connect 2.1 manifest served at /.well-known/badgeconnect.json."""
    return {
        "@context": "https://purl.imsglobal.org/spec/ob/v2p1/ob_v2p1.jsonld",
        "id": manifest_url,
        "badgeConnectAPI": [{
            "name": name,
            "image": base_url + "/logo.png",
            "apiBase": api_base,
            "version": "v2p1",
            "termsOfServiceUrl": base_url + "/terms",
            "privacyPolicyUrl": base_url + "/privacy",
            "scopesOffered": list(BC_SCOPES.values()),
            "registrationUrl": registration,
            "authorizationUrl": authorization,
            "tokenUrl": token,
            "tokenRevocationUrl": revocation,
        }],
    }


def imsx_status_info(status: int, description: str, *, system: str) -> dict[str, Any]:
    """Return an OB 3.0 / CLR 2.0 Imsx_StatusInfo failure for HTTP `status`, produced by `system`."""
    return {
        "imsx_codeMajor": "failure",
        "imsx_severity": "error",
        "imsx_description": description,
        "imsx_codeMinor": {"imsx_codeMinorField": [
            {"imsx_codeMinorFieldName": system,
             "imsx_codeMinorFieldValue": IMSX_MINOR.get(status, "internal_server_error")}]},
    }


def bc_status(code: int, error: str | None = None) -> dict[str, Any]:
    return {"error": error, "statusCode": code, "statusText": BC_STATUS_TEXT.get(code, "BAD_REQUEST")}


def html_page(title: str, body: str) -> str:
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"</head><body><main>{body}</main></body></html>")


def parse_time(value: Any) -> datetime | None:
    """Read an ISO 8601 date and time (UTC when it names no zone); None if it is not one."""
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None
    except ValueError:
        return None
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=timezone.utc)
