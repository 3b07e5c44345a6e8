"""The pathway template format: parse and validate it with errors by JSON path, export it, edit its tree.

A template is untrusted input (docs/security.md C8, E8): its size, depth, number of steps and text lengths
are limited, and every error names the JSON path it concerns (docs/pathway-format.md).
"""
from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from wallet.services.errors import ValidationError
from wallet.services.pathway_rules.rules import (
    _RULES,
    GROUP_MODES,
    NAME_MATCHES,
    ROOT_ID,
    RULE_KINDS,
    Group,
    Requirement,
    Rule,
    Step,
    steps_to_json,
)
from wallet.services.verification.errors import MalformedJSONError
from wallet.services.verification.jsonutil import loads_strict

FORMAT_NAME = "wallet-pathway"
FORMAT_VERSION = 1

# Limits: a template is untrusted input (docs/security.md C8, E8).
MAX_DOCUMENT_BYTES = 256 * 1024
MAX_DEPTH = 6  # groups inside groups, counting the top-level steps as depth 1
MAX_STEPS = 300
MAX_TITLE = 200
MAX_TEXT = 4000
MAX_VALUE = 2048
MAX_ERRORS = 50
STEP_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


# ---------------------------------------------------------------------------------------------
# The template format: parsing and validation with errors by JSON path
# ---------------------------------------------------------------------------------------------


class TemplateError(ValidationError):
    """A pathway document or step list was refused; `errors` lists each problem as "path: message"."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        count = len(errors)
        summary = errors[0] if count == 1 else f"{errors[0]} (and {count - 1} more)"
        super().__init__(f"The pathway was not saved because of {count} problem{'s' if count > 1 else ''}: {summary}")


@dataclass(frozen=True)
class PathwayDocument:
    """A validated pathway template."""

    title: str
    steps: tuple[Step, ...]
    description: str = ""
    goal: str = ""
    publisher: str = ""

    def to_json(self) -> dict[str, Any]:
        """Return the document in the template format."""
        data: dict[str, Any] = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "title": self.title}
        for name in ("description", "goal", "publisher"):
            if getattr(self, name):
                data[name] = getattr(self, name)
        data["steps"] = steps_to_json(self.steps)
        return data


_DOCUMENT_FIELDS = {"format", "version", "title", "description", "goal", "publisher", "steps"}
_STEP_FIELDS = {"id", "title", "description", "rule", "group", "n", "steps"}


def parse_template(text: str | bytes) -> PathwayDocument:
    """Parse and validate a template document; raise TemplateError listing every problem by path."""
    size = len(text.encode("utf-8") if isinstance(text, str) else text)
    if size > MAX_DOCUMENT_BYTES:
        raise TemplateError([f"$: the file is {size:,} bytes; a pathway template may be at most {MAX_DOCUMENT_BYTES:,}"])
    try:
        # The same strict reader as credentials: no duplicate keys, NaN or runaway nesting (docs/security.md D1-D4).
        data = loads_strict(text)
    except MalformedJSONError as error:
        raise TemplateError([f"$: {error}"]) from None
    return validate_document(data)


def validate_document(data: Any) -> PathwayDocument:
    """Validate a decoded template document; raise TemplateError listing every problem by path."""
    errors = _Errors()
    if not isinstance(data, dict):
        raise TemplateError(["$: must be a JSON object"])
    for key in sorted(set(data) - _DOCUMENT_FIELDS, key=str):
        errors.add(_key_path("", key), "unknown field")
    if data.get("format") != FORMAT_NAME:
        errors.add("format", f"must be \"{FORMAT_NAME}\"")
    version = data.get("version")
    if version != FORMAT_VERSION or isinstance(version, bool):
        errors.add("version", f"must be {FORMAT_VERSION}")
    details = _details(data, errors)
    steps = _Walk(errors, draft=False).steps(data.get("steps"), "steps")
    errors.raise_if_any()
    return PathwayDocument(steps=steps, **details)


def validate_details(title: Any, description: Any = "", goal: Any = "") -> PathwayDocument:
    """Validate a pathway's own fields with the template's rules; the result has no steps."""
    errors = _Errors()
    details = _details({"title": title, "description": description, "goal": goal}, errors)
    errors.raise_if_any()
    return PathwayDocument(steps=(), **details)


def validate_steps(data: Any, path: str = "steps", *, draft: bool = False) -> tuple[Step, ...]:
    """Validate a list of steps (the editor's and the API's form); raise TemplateError by path.

    A `draft` is a learner's pathway being built: it may have no steps yet, empty groups, and
    "any N" groups with fewer than N steps so far. A published template may not.
    """
    errors = _Errors()
    steps = _Walk(errors, draft=draft).steps(data, path)
    errors.raise_if_any()
    return steps


def loads_steps(text: str | bytes, path: str = "steps") -> Any:
    """Parse the JSON text of a step list (the editor's), strictly; raise TemplateError at `path`."""
    if len(text) > MAX_DOCUMENT_BYTES:
        raise TemplateError([f"{path}: the text is too long; at most {MAX_DOCUMENT_BYTES:,} bytes are allowed"])
    try:
        return loads_strict(text)
    except MalformedJSONError as error:
        raise TemplateError([f"{path}: {error}"]) from None


class _Errors:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, path: str, message: str) -> None:
        if len(self.items) < MAX_ERRORS:
            self.items.append(f"{path or '$'}: {message}")

    def raise_if_any(self) -> None:
        if self.items:
            raise TemplateError(self.items)


def _key_path(base: str, key: Any) -> str:
    key = str(key)
    name = key if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) else json.dumps(key)[:60]
    return f"{base}.{name}" if base else name


def _details(data: dict[str, Any], errors: _Errors) -> dict[str, str]:
    return {
        "title": _text(data, "title", "", errors, required=True, limit=MAX_TITLE),
        "description": _text(data, "description", "", errors, limit=MAX_TEXT),
        "goal": _text(data, "goal", "", errors, limit=MAX_TEXT),
        "publisher": _text(data, "publisher", "", errors, limit=MAX_TITLE),
    }


def _text(data: dict[str, Any], key: str, base: str, errors: _Errors, *, required: bool = False, limit: int) -> str:
    path = _key_path(base, key)
    value = data.get(key)
    if value is None:
        if required:
            errors.add(path, "is required")
        return ""
    if not isinstance(value, str):
        errors.add(path, "must be text")
        return ""
    value = value.strip()
    if required and not value:
        errors.add(path, "must not be empty")
    if len(value) > limit:
        errors.add(path, f"is {len(value)} characters long; at most {limit} are allowed")
    return value


class _Walk:
    """One validation pass over a step list: collects errors, counts steps, knows if it is a draft."""

    def __init__(self, errors: _Errors, *, draft: bool) -> None:
        self.errors = errors
        self.draft = draft
        self.count = 0

    def steps(self, data: Any, path: str) -> tuple[Step, ...]:
        if not isinstance(data, list):
            self.errors.add(path, "must be a list of steps" if data is not None else "is required")
            return ()
        if not data and not self.draft:
            self.errors.add(path, "must have at least one step")
            return ()
        raw = [self.step(item, f"{path}[{index}]", 1) for index, item in enumerate(data)]
        steps = tuple(step for step in raw if step is not None)
        if self.count > MAX_STEPS:
            self.errors.add(path, f"has {self.count} steps in all; at most {MAX_STEPS} are allowed")
        if self.errors.items:
            return steps
        return _assign_ids(steps, path, self.errors)

    def step(self, data: Any, path: str, depth: int) -> Step | None:
        errors = self.errors
        self.count += 1
        if self.count > MAX_STEPS:
            return None
        if not isinstance(data, dict):
            errors.add(path, "must be an object with a title and either a rule or a group")
            return None
        for key in sorted(set(data) - _STEP_FIELDS, key=str):
            errors.add(_key_path(path, key), "unknown field")
        step_id = data.get("id")
        if step_id is not None and (not isinstance(step_id, str) or not STEP_ID_PATTERN.match(step_id)):
            errors.add(f"{path}.id", "must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit")
        title = _text(data, "title", path, errors, required=True, limit=MAX_TITLE)
        description = _text(data, "description", path, errors, limit=MAX_TEXT)
        has_rule, has_group = "rule" in data, "group" in data
        if has_rule == has_group:
            errors.add(path, "must have either a \"rule\" (a requirement) or a \"group\" (\"all\" or \"any\"), not "
                       + ("both" if has_rule else "neither"))
            return None
        if has_rule:
            for key in ("n", "steps"):
                if key in data:
                    errors.add(f"{path}.{key}", "only a group has this field")
            rule = _rule(data["rule"], f"{path}.rule", errors)
            return Requirement(id=step_id or "", title=title, description=description, rule=rule) if rule else None
        mode = data["group"]
        if mode not in GROUP_MODES:
            errors.add(f"{path}.group", "must be one of " + ", ".join(GROUP_MODES))
            return None
        if depth >= MAX_DEPTH:
            errors.add(f"{path}.steps", f"groups are nested too deeply; at most {MAX_DEPTH} levels are allowed")
            return None
        children_data = data.get("steps")
        if not isinstance(children_data, list) or not (children_data or self.draft):
            errors.add(f"{path}.steps", "must be a list of at least one step")
            return None
        children = tuple(
            child for index, item in enumerate(children_data)
            if (child := self.step(item, f"{path}.steps[{index}]", depth + 1)) is not None
        )
        n = data.get("n")
        # A draft's "any N" group may have fewer than N steps so far; it cannot be met until it has them.
        most = max(len(children_data), 1) if not self.draft else MAX_STEPS
        if mode == "all":
            if n is not None:
                errors.add(f"{path}.n", "only an \"any\" group has n")
            n = None
        elif not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= most:
            errors.add(f"{path}.n", f"must be a whole number from 1 to {most}"
                       + ("" if self.draft else " (the number of its steps)"))
            return None
        return Group(id=step_id or "", title=title, description=description, mode=mode, n=n, steps=children)


def rule_fields(kind: str) -> dict[str, tuple[type, bool]]:
    """Return a rule kind's fields as {name: (type, required)}; TemplateError for an unknown kind."""
    if kind not in _RULES:
        raise TemplateError(["rule.kind: must be one of " + ", ".join(RULE_KINDS)])
    return dict(_RULES[kind][1])


def _rule(data: Any, path: str, errors: _Errors) -> Rule | None:
    if not isinstance(data, dict):
        errors.add(path, "must be an object with a \"kind\"")
        return None
    kind = data.get("kind")
    if kind not in _RULES:
        errors.add(f"{path}.kind", "must be one of " + ", ".join(RULE_KINDS))
        return None
    cls, fields = _RULES[kind]
    values: dict[str, Any] = {}
    ok = True
    for key in sorted(set(data) - set(fields) - {"kind"}, key=str):
        errors.add(_key_path(path, key), f"unknown field for a {kind} rule")
        ok = False
    for name, (expected, required) in fields.items():
        value = data.get(name)
        field_path = f"{path}.{name}"
        if value is None:
            if required:
                errors.add(field_path, "is required")
                ok = False
            continue
        if expected is int:
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                errors.add(field_path, "must be a positive whole number")
                ok = False
                continue
        elif not isinstance(value, str) or not value.strip():
            errors.add(field_path, "must be non-empty text")
            ok = False
            continue
        elif len(value) > MAX_VALUE:
            errors.add(field_path, f"is {len(value)} characters long; at most {MAX_VALUE} are allowed")
            ok = False
            continue
        else:
            value = value.strip()
        values[name] = value
    if kind == "skill" and ok and not ({"url", "code", "name"} & set(values)):
        errors.add(path, "a skill rule needs a url, a code or a name")
        ok = False
    if kind == "name" and values.get("match", "contains") not in NAME_MATCHES:
        errors.add(f"{path}.match", "must be one of " + ", ".join(NAME_MATCHES))
        ok = False
    return cls(**values) if ok else None


def _assign_ids(steps: tuple[Step, ...], path: str, errors: _Errors) -> tuple[Step, ...]:
    """Check given ids are unique and give each step without one a stable id from its position."""
    seen: dict[str, str] = {}
    for step_path, step in _with_paths(steps, path):
        if step.id:
            if step.id in seen or step.id == ROOT_ID:
                errors.add(f"{step_path}.id", f"\"{step.id}\" is used twice" if step.id in seen else f"\"{ROOT_ID}\" is reserved")
            seen[step.id] = step_path
    if errors.items:
        return steps
    used = set(seen)
    return tuple(_with_ids(step, str(index + 1), used) for index, step in enumerate(steps))


def _with_paths(steps: Sequence[Step], path: str) -> Iterator[tuple[str, Step]]:
    for index, step in enumerate(steps):
        step_path = f"{path}[{index}]"
        yield step_path, step
        if isinstance(step, Group):
            yield from _with_paths(step.steps, f"{step_path}.steps")


def _with_ids(step: Step, position: str, used: set[str]) -> Step:
    step_id = step.id or new_step_id(used, f"s{position}")
    used.add(step_id)
    if isinstance(step, Requirement):
        return Requirement(id=step_id, title=step.title, description=step.description, rule=step.rule)
    children = tuple(_with_ids(child, f"{position}-{index + 1}", used) for index, child in enumerate(step.steps))
    return Group(id=step_id, title=step.title, description=step.description, mode=step.mode, n=step.n, steps=children)


def new_step_id(used: set[str], base: str = "s") -> str:
    """Return `base`, or `base` with a number, that is not in `used`."""
    if base not in used and base != ROOT_ID:
        return base
    number = 2
    while f"{base}-{number}" in used:
        number += 1
    return f"{base}-{number}"


# ---------------------------------------------------------------------------------------------
# Editing the tree (on its JSON form, re-validated by the caller)
# ---------------------------------------------------------------------------------------------


def insert_step(steps: list[dict[str, Any]], parent_id: str | None, step: dict[str, Any]) -> list[dict[str, Any]]:
    """Return a copy of `steps` with `step` appended to the group `parent_id` (None: the top level)."""
    copied = copy.deepcopy(steps)
    if parent_id in (None, "", ROOT_ID):
        copied.append(step)
        return copied
    group = _find_json(copied, parent_id)
    if group is None or "group" not in group:
        raise ValidationError("That group is not part of this pathway.")
    group.setdefault("steps", []).append(step)
    return copied


def remove_step(steps: list[dict[str, Any]], step_id: str) -> list[dict[str, Any]]:
    """Return a copy of `steps` without the step `step_id` (and its own steps)."""
    copied = copy.deepcopy(steps)

    def prune(items: list[dict[str, Any]]) -> bool:
        for index, item in enumerate(items):
            if item.get("id") == step_id:
                del items[index]
                return True
            children = item.get("steps") or []
            if prune(children):
                if not children:
                    del items[index]  # a group with no steps left goes too
                elif item.get("group") == "any" and isinstance(item.get("n"), int):
                    item["n"] = min(item["n"], len(children))
                return True
        return False

    if not prune(copied):
        raise ValidationError("That step is not part of this pathway.")
    return copied


def _find_json(steps: list[dict[str, Any]], step_id: str) -> dict[str, Any] | None:
    for item in steps:
        if item.get("id") == step_id:
            return item
        found = _find_json(item.get("steps") or [], step_id)
        if found is not None:
            return found
    return None
