"""Small readers for JSON(-LD) values, shared by every format module: one place, one behaviour."""
from __future__ import annotations

from typing import Any


def types_of(value: Any) -> list[str]:
    """Return a JSON-LD `type` value as a list of strings."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def first_subject(credential: dict[str, Any]) -> dict[str, Any] | None:
    """Return the (first) credentialSubject object, if there is one."""
    subject = credential.get("credentialSubject")
    if isinstance(subject, list):
        subject = subject[0] if subject else None
    return subject if isinstance(subject, dict) else None


def image_url(value: Any) -> str | None:
    """Return an image given as a URL string or as an object with an `id`."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def as_list(value: Any) -> list[Any]:
    """Return a JSON-LD value that may be single or a list as a list."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
