"""Pathways over the API: list, create (from a wallet-pathway document), read, replace, delete, progress."""
from __future__ import annotations

from typing import Any

from flask import request

from wallet.db import get_session
from wallet.models.pathway import Pathway
from wallet.routes.api import api_user, bp, require_token
from wallet.services import pathway_rules as rules
from wallet.services import pathways as service
from wallet.services import skills as skill_service
from wallet.services.errors import TooLargeError
from wallet.services.pathway_rules import TemplateError


@bp.errorhandler(TemplateError)
def _template_error(error: TemplateError) -> tuple[dict[str, Any], int]:
    # The usual error shape plus every problem by JSON path, so a provider can fix a template in one go.
    return {"error": "Template", "message": str(error), "errors": error.errors}, 400


def _summary(item: service.PathwayProgress) -> dict[str, Any]:
    pathway, progress = item.pathway, item.progress
    return {
        "id": pathway.id,
        "title": pathway.title,
        "description": pathway.description,
        "goal": pathway.goal,
        "publisher": pathway.publisher,
        "source_template": pathway.source_template,
        "created_at": pathway.created_at.isoformat(),
        "updated_at": pathway.updated_at.isoformat(),
        "progress": {"fraction": float(progress.fraction), "percent": progress.percent, "state": progress.state,
                     "met": progress.met_count, "required": progress.required},
    }


def _detail(item: service.PathwayProgress) -> dict[str, Any]:
    return {**_summary(item), "document": service.export_document(item.pathway)}


def _document_from_body() -> rules.PathwayDocument:
    body = request.get_data(cache=False)
    if len(body) > rules.MAX_DOCUMENT_BYTES:
        raise TooLargeError(f"A pathway document may be at most {rules.MAX_DOCUMENT_BYTES // 1024} KB.")
    return rules.parse_template(body)


def _progress_item(pathway: Pathway) -> service.PathwayProgress:
    return service.progress_of(pathway, service.wallet_credentials(get_session(), api_user().id))


@bp.get("/pathways")
@require_token
def list_pathways() -> dict[str, Any]:
    """List the token owner's pathways with their overall progress."""
    return {"pathways": [_summary(item) for item in service.all_progress(get_session(), api_user().id)]}


@bp.post("/pathways")
@require_token
def create_pathway() -> tuple[dict[str, Any], int, dict[str, str]]:
    """Create a pathway from a wallet-pathway document."""
    session = get_session()
    pathway = service.create_from_document(session, api_user().id, _document_from_body(), source="api")
    session.commit()
    return _detail(_progress_item(pathway)), 201, {"Location": f"{bp.url_prefix}/pathways/{pathway.id}"}


@bp.get("/pathways/<int:pathway_id>")
@require_token
def get_pathway(pathway_id: int) -> dict[str, Any]:
    """Return one pathway: its document and overall progress."""
    return _detail(service.pathway_progress(get_session(), api_user().id, pathway_id))


@bp.put("/pathways/<int:pathway_id>")
@require_token
def replace_pathway(pathway_id: int) -> dict[str, Any]:
    """Replace a pathway's title, texts and steps with a wallet-pathway document."""
    session = get_session()
    document = _document_from_body()
    pathway = service.replace_document(session, api_user().id, pathway_id, document)
    session.commit()
    return _detail(_progress_item(pathway))


@bp.delete("/pathways/<int:pathway_id>")
@require_token
def delete_pathway(pathway_id: int) -> tuple[str, int]:
    """Delete a pathway; the credentials stay."""
    session = get_session()
    service.delete_pathway(session, api_user().id, pathway_id)
    session.commit()
    return "", 204


@bp.get("/pathways/<int:pathway_id>/progress")
@require_token
def pathway_progress(pathway_id: int) -> dict[str, Any]:
    """Return the progress tree, the credentials behind each step, and what's next."""
    limit = request.args.get("next", "3")
    view = service.pathway_progress(get_session(), api_user().id, pathway_id,
                                    next_limit=min(int(limit), 50) if limit.isdigit() else 3)
    return {
        "pathway_id": view.pathway.id,
        "progress": view.progress.to_json(),
        "next": [
            {"id": step.progress.step.id, "title": step.progress.step.title, "group": step.parent.step.title,
             "group_fraction_after": float(step.parent_after), "gain": float(step.gain)}
            for step in view.next_steps
        ],
    }


@bp.get("/skills")
@require_token
def list_skills() -> dict[str, Any]:
    """List the skills behind the token owner's credentials, by framework, with their evidence."""
    return {"frameworks": [
        {"name": framework.name, "skills": [
            {"name": skill.name, "framework": skill.alignment.framework, "code": skill.alignment.code,
             "url": skill.alignment.url, "rule": skill.rule,
             "credentials": [{"id": f.id, "name": f.name, "status": f.status, "counts": f.counts}
                             for f in skill.credentials]}
            for skill in framework.skills]}
        for framework in skill_service.skills_of(get_session(), api_user().id)
    ]}


_ID = {"name": "pathway_id", "in": "path", "required": True, "schema": {"type": "integer"}}
_JSON = "application/json"
_TEMPLATE_ERROR = {
    "description": "The document was refused; `errors` lists each problem by JSON path. Nothing was changed.",
    "content": {_JSON: {"schema": {"$ref": "#/components/schemas/TemplateError"}}},
}
_DOCUMENT_BODY = {
    "required": True,
    "description": "A wallet-pathway document (docs/pathway-format.md), at most 256 KiB.",
    "content": {_JSON: {"schema": {"$ref": "#/components/schemas/PathwayDocument"}}},
}


def _ok(description: str, schema: str) -> dict[str, Any]:
    return {"description": description, "content": {_JSON: {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


_UNAUTHORIZED = {"$ref": "#/components/responses/Unauthorized"}
_NOT_FOUND = {"$ref": "#/components/responses/NotFound"}

OPENAPI_PATHS: dict[str, Any] = {
    "/pathways": {
        "get": {
            "operationId": "listPathways", "summary": "The token owner's pathways with their progress",
            "tags": ["Pathways"],
            "responses": {"200": _ok("The pathways", "PathwayList"), "401": _UNAUTHORIZED},
        },
        "post": {
            "operationId": "createPathway", "summary": "Create a pathway from a wallet-pathway document",
            "tags": ["Pathways"], "requestBody": _DOCUMENT_BODY,
            "responses": {"201": _ok("The new pathway", "Pathway"), "400": _TEMPLATE_ERROR, "401": _UNAUTHORIZED,
                          "413": {"$ref": "#/components/responses/TooLarge"}},
        },
    },
    "/pathways/{pathway_id}": {
        "parameters": [_ID],
        "get": {
            "operationId": "getPathway", "summary": "One pathway: its document and progress", "tags": ["Pathways"],
            "responses": {"200": _ok("The pathway", "Pathway"), "401": _UNAUTHORIZED, "404": _NOT_FOUND},
        },
        "put": {
            "operationId": "replacePathway", "summary": "Replace a pathway with a wallet-pathway document",
            "tags": ["Pathways"], "requestBody": _DOCUMENT_BODY,
            "responses": {"200": _ok("The pathway as saved", "Pathway"), "400": _TEMPLATE_ERROR,
                          "401": _UNAUTHORIZED, "404": _NOT_FOUND, "413": {"$ref": "#/components/responses/TooLarge"}},
        },
        "delete": {
            "operationId": "deletePathway", "summary": "Delete a pathway (its credentials stay)", "tags": ["Pathways"],
            "responses": {"204": {"description": "Deleted"}, "401": _UNAUTHORIZED, "404": _NOT_FOUND},
        },
    },
    "/pathways/{pathway_id}/progress": {
        "parameters": [_ID],
        "get": {
            "operationId": "getPathwayProgress", "tags": ["Pathways"],
            "summary": "Progress per step, computed now from the credentials that verify, and what's next",
            "parameters": [{"name": "next", "in": "query", "required": False,
                            "schema": {"type": "integer", "minimum": 0, "maximum": 50, "default": 3},
                            "description": "How many next steps to suggest."}],
            "responses": {"200": _ok("The progress", "PathwayProgress"), "401": _UNAUTHORIZED, "404": _NOT_FOUND},
        },
    },
    "/skills": {
        "get": {
            "operationId": "listSkills", "tags": ["Pathways"],
            "summary": "Skills behind the token owner's credentials, by framework, with their evidence",
            "responses": {"200": _ok("The skills", "SkillList"), "401": _UNAUTHORIZED},
        },
    },
}

_RULE = {
    "type": "object",
    "required": ["kind"],
    "description": "What meets a requirement; the fields depend on `kind` (docs/pathway-format.md).",
    "properties": {
        "kind": {"type": "string", "enum": list(rules.RULE_KINDS)},
        "credential_id": {"type": "integer", "minimum": 1},
        "id": {"type": "string", "description": "Achievement id, or issuer id / DID / domain."},
        "url": {"type": "string"}, "framework": {"type": "string"}, "code": {"type": "string"},
        "name": {"type": "string"}, "tag": {"type": "string"}, "text": {"type": "string"},
        "match": {"type": "string", "enum": list(rules.NAME_MATCHES)},
    },
}
_STEP = {
    "type": "object",
    "required": ["title"],
    "description": "A requirement (with `rule`) or a group (with `group`, `steps` and, for any, `n`).",
    "properties": {
        "id": {"type": "string", "pattern": rules.STEP_ID_PATTERN.pattern},
        "title": {"type": "string", "maxLength": rules.MAX_TITLE},
        "description": {"type": "string", "maxLength": rules.MAX_TEXT},
        "rule": {"$ref": "#/components/schemas/PathwayRule"},
        "group": {"type": "string", "enum": list(rules.GROUP_MODES)},
        "n": {"type": "integer", "minimum": 1},
        "steps": {"type": "array", "items": {"$ref": "#/components/schemas/PathwayStep"}},
    },
}
_PROGRESS_SUMMARY = {
    "type": "object",
    "properties": {
        "fraction": {"type": "number", "minimum": 0, "maximum": 1},
        "percent": {"type": "integer", "minimum": 0, "maximum": 100, "description": "Rounded down."},
        "state": {"type": "string", "enum": ["met", "partial", "open"]},
        "met": {"type": "integer"}, "required": {"type": "integer"},
    },
}
_PATHWAY_SUMMARY_PROPERTIES = {
    "id": {"type": "integer"}, "title": {"type": "string"}, "description": {"type": "string"},
    "goal": {"type": "string"}, "publisher": {"type": "string"},
    "source_template": {"type": ["string", "null"]},
    "created_at": {"type": "string", "format": "date-time"}, "updated_at": {"type": "string", "format": "date-time"},
    "progress": _PROGRESS_SUMMARY,
}

OPENAPI_SCHEMAS: dict[str, Any] = {
    "PathwayRule": _RULE,
    "PathwayStep": _STEP,
    "PathwayDocument": {
        "type": "object",
        "required": ["format", "version", "title", "steps"],
        "properties": {
            "format": {"const": rules.FORMAT_NAME}, "version": {"const": rules.FORMAT_VERSION},
            "title": {"type": "string", "maxLength": rules.MAX_TITLE},
            "publisher": {"type": "string"}, "description": {"type": "string"}, "goal": {"type": "string"},
            "steps": {"type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/PathwayStep"}},
        },
    },
    "PathwaySummary": {"type": "object", "properties": _PATHWAY_SUMMARY_PROPERTIES},
    "PathwayList": {"type": "object", "properties": {
        "pathways": {"type": "array", "items": {"$ref": "#/components/schemas/PathwaySummary"}}}},
    "Pathway": {"type": "object", "properties": {
        **_PATHWAY_SUMMARY_PROPERTIES, "document": {"$ref": "#/components/schemas/PathwayDocument"}}},
    "StepProgress": {
        "type": "object",
        "properties": {
            "id": {"type": "string"}, "title": {"type": "string"},
            "type": {"type": "string", "enum": ["group", "requirement"]},
            **_PROGRESS_SUMMARY["properties"],
            "group": {"type": "string", "enum": list(rules.GROUP_MODES)},
            "steps": {"type": "array", "items": {"$ref": "#/components/schemas/StepProgress"}},
            "rule": {"$ref": "#/components/schemas/PathwayRule"},
            "credentials": {"type": "array", "description": "Credentials that meet the step and verify now.",
                            "items": {"type": "object", "properties": {"id": {"type": "integer"},
                                                                      "name": {"type": "string"}}}},
            "not_counting": {"type": "array", "description": "Credentials that match but do not count, and why.",
                             "items": {"type": "object", "properties": {
                                 "id": {"type": "integer"}, "name": {"type": "string"},
                                 "status": {"type": "string"}, "reason": {"type": "string"}}}},
        },
    },
    "PathwayProgress": {
        "type": "object",
        "properties": {
            "pathway_id": {"type": "integer"},
            "progress": {"$ref": "#/components/schemas/StepProgress"},
            "next": {"type": "array", "items": {"type": "object", "properties": {
                "id": {"type": "string"}, "title": {"type": "string"}, "group": {"type": "string"},
                "group_fraction_after": {"type": "number"}, "gain": {"type": "number"}}}},
        },
    },
    "SkillList": {"type": "object", "properties": {"frameworks": {"type": "array", "items": {
        "type": "object", "properties": {"name": {"type": "string"}, "skills": {"type": "array", "items": {
            "type": "object", "properties": {
                "name": {"type": "string"}, "framework": {"type": ["string", "null"]},
                "code": {"type": ["string", "null"]}, "url": {"type": ["string", "null"]},
                "rule": {"$ref": "#/components/schemas/PathwayRule"},
                "credentials": {"type": "array", "items": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "name": {"type": "string"}, "status": {"type": "string"},
                    "counts": {"type": "boolean"}}}}}}}}}}}},
    "TemplateError": {
        "type": "object",
        "required": ["error", "message", "errors"],
        "properties": {
            "error": {"const": "Template"}, "message": {"type": "string"},
            "errors": {"type": "array", "items": {"type": "string"},
                       "description": "Each problem as \"<JSON path>: <what is wrong>\", e.g. "
                       "\"steps[2].rule.kind: must be one of credential, achievement, issuer, skill, tag, name\"."},
        },
    },
}
