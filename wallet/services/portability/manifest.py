"""The manifest of a wallet export (docs/export-format.md): its JSON Schema and its validation.

Readers accept every manifest of the same `version` and ignore fields they do not know, so a new
table or field is added to an export by writing it (exporting.py), describing it here and in
docs/export-format.md, and reading it where the import can use it (importing.py); older exports,
which lack it, stay valid.
"""
from __future__ import annotations

import re
from typing import Any

from jsonschema import Draft202012Validator

from wallet.services.errors import ImportRejectedError
from wallet.services.verification.errors import MalformedJSONError
from wallet.services.verification.jsonutil import loads_strict

FORMAT_NAME = "wallet-export"
FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
BLOB_PREFIX = "blobs/"
SHA256 = re.compile(r"[0-9a-f]{64}")
# How many problems one error message lists before "and N more".
MAX_LISTED_PROBLEMS = 20

_SHA = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
_TIME = {"type": ["string", "null"], "format": "date-time", "maxLength": 40}
_TEXT = {"type": ["string", "null"]}


def _text(limit: int) -> dict[str, Any]:
    return {"type": ["string", "null"], "maxLength": limit}


_BLOB_REF = {"type": "object", "required": ["sha256"], "properties": {
    "sha256": _SHA, "type": _text(100), "filename": _text(255), "size": {"type": ["integer", "null"], "minimum": 0}}}

_EVIDENCE = {
    "type": "object",
    "required": ["kind"],
    "properties": {
        "kind": {"enum": ["text", "link", "file"]},
        "title": _text(200),
        "text": _text(20_000),
        "url": _text(2048),
        "file": {"oneOf": [{"type": "null"}, _BLOB_REF]},
        "created_at": _TIME,
    },
}

_CREDENTIAL = {
    "type": "object",
    "required": ["id", "original"],
    "properties": {
        "id": {"type": "integer"},
        "original": _BLOB_REF,
        "source_url": _text(2048),
        "format": _text(16),
        "name": _text(500),
        "issuer_id": _text(2048),
        "status": _text(20),
        "checked_at": _TIME,
        "imported_at": _TIME,
        "image": {"oneOf": [{"type": "null"}, _BLOB_REF]},
        "documents": {"type": "array", "items": {"type": "object", "required": ["sha256"], "properties": {
            "sha256": _SHA, "url": _text(4096), "content_type": _TEXT, "role": _TEXT}}},
        "verification_history": {"oneOf": [{"type": "null"}, _BLOB_REF]},
        "learner": {"type": "object", "properties": {
            "description": _TEXT, "reflection": _TEXT,
            "tags": {"type": "array", "maxItems": 200, "items": {"type": "string", "maxLength": 200}}}},
        "evidence": {"type": "array", "maxItems": 200, "items": _EVIDENCE},
        "earlier_copies": {"type": "array", "maxItems": 50, "items": {
            "type": "object", "required": ["original"], "properties": {
                "original": _BLOB_REF, "source_url": _text(2048), "status": _text(20),
                "imported_at": _TIME, "replaced_at": _TIME}}},
        "share": {"oneOf": [{"type": "null"}, {"type": "object", "properties": {
            "include_evidence": {"type": "boolean"}, "show_originals": {"type": "boolean"}, "expires_at": _TIME,
            "active": {"type": "boolean"}}}]},
    },
}

_PATHWAY = {
    "type": "object",
    "required": ["id", "template"],
    "properties": {
        "id": {"type": "integer"},
        "source_template": _text(100),
        "created_at": _TIME,
        # Validated by the pathway template rules themselves (docs/pathway-format.md) on import.
        "template": {"type": "object"},
    },
}

_PORTFOLIO = {
    "type": "object",
    "required": ["title", "items"],
    "properties": {
        "title": {"type": "string", "maxLength": 200},
        "headline": _text(300),
        "about": _text(20_000),
        "visibility": _text(10),
        "show_contact": {"type": "boolean"},
        "show_originals": {"type": "boolean"},
        "contact_email": _text(254),
        "contact_url": _text(2048),
        "photo": {"oneOf": [{"type": "null"}, _BLOB_REF]},
        "created_at": _TIME,
        "items": {"type": "array", "maxItems": 500, "items": {"type": "object", "properties": {
            "credential": {"type": "integer"}, "pathway": {"type": "integer"},
            "include_evidence": {"type": "boolean"}}, "minProperties": 1}},
    },
}

MANIFEST_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Wallet export manifest",
    "type": "object",
    "required": ["format", "version", "exported_at", "credentials", "pathways", "portfolios", "blobs"],
    "properties": {
        "format": {"const": FORMAT_NAME},
        "version": {"const": FORMAT_VERSION},
        "exported_at": {"type": "string", "format": "date-time"},
        "software": {"type": "object"},
        "account": {"type": "object"},
        "credentials": {"type": "array", "items": _CREDENTIAL},
        "pathways": {"type": "array", "items": _PATHWAY},
        "portfolios": {"type": "array", "items": _PORTFOLIO},
        "blobs": {"type": "array", "items": {"type": "object", "required": ["sha256", "size"], "properties": {
            "sha256": _SHA, "size": {"type": "integer", "minimum": 0}}}},
        "missing_blobs": {"type": "array", "items": _SHA},
    },
}

_VALIDATOR = Draft202012Validator(MANIFEST_SCHEMA)


class ManifestError(ImportRejectedError):
    """The export's manifest is missing, not JSON, or does not follow docs/export-format.md."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        shown = problems[:MAX_LISTED_PROBLEMS]
        more = len(problems) - len(shown)
        super().__init__("The export's manifest.json is not valid: " + "; ".join(shown)
                         + (f"; and {more} more" if more > 0 else ""))


def parse_manifest(data: bytes) -> dict[str, Any]:
    """Parse and validate manifest.json; raise ManifestError listing every problem by JSON path."""
    try:
        manifest = loads_strict(data)
    except MalformedJSONError as error:
        raise ManifestError([f"$: {error}"]) from None
    if isinstance(manifest, dict) and manifest.get("format") == FORMAT_NAME \
            and isinstance(manifest.get("version"), int) and manifest["version"] > FORMAT_VERSION:
        raise ManifestError([f"$.version: this export is format version {manifest['version']}; this Wallet "
                             f"reads version {FORMAT_VERSION}. Update Wallet to import it."])
    errors = sorted(_VALIDATOR.iter_errors(manifest), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    problems = [f"{error.json_path}: {_plain(error)}" for error in errors]
    problems += _cross_checks(manifest) if not problems else []
    if problems:
        raise ManifestError(problems)
    return manifest


def _plain(error: Any) -> str:
    if error.validator == "oneOf":
        return "is neither null nor a valid file reference"
    return str(error.message)[:200]


def _cross_checks(manifest: dict[str, Any]) -> list[str]:
    """Check what a schema cannot say: ids are unique, references point inside the manifest.

    A file missing from the archive is not a problem of the manifest: the item that needs it is
    refused on its own when it is imported.
    """
    problems: list[str] = []
    listed = {blob["sha256"] for blob in manifest["blobs"]}
    if len(listed) != len(manifest["blobs"]):
        problems.append("$.blobs: lists a file twice")
    for kind, what in (("credentials", "credential"), ("pathways", "pathway")):
        ids = [entry["id"] for entry in manifest[kind]]
        if len(set(ids)) != len(ids):
            problems.append(f"$.{kind}: two entries have the same id")
    credential_ids = {c["id"] for c in manifest["credentials"]}
    pathway_ids = {p["id"] for p in manifest["pathways"]}
    for index, portfolio in enumerate(manifest["portfolios"]):
        for position, item in enumerate(portfolio["items"]):
            path = f"$.portfolios[{index}].items[{position}]"
            if ("credential" in item) == ("pathway" in item):
                problems.append(f"{path}: names exactly one of credential or pathway")
            elif "credential" in item and item["credential"] not in credential_ids:
                problems.append(f"{path}.credential: no credential has this id")
            elif "pathway" in item and item["pathway"] not in pathway_ids:
                problems.append(f"{path}.pathway: no pathway has this id")
    return problems

