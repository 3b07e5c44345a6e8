"""OB 2.0 data validation: the required properties and value types of each document (docs/verification.md §3.2)."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from wallet.services.verification import values
from wallet.services.verification.ob2.terms import (
    _ABSOLUTE_IRI,
    _ALIGNMENT,
    _ASSERTION,
    _BADGE_CLASS,
    _ENDORSEMENT,
    _HASHED_IDENTITY,
    _ISSUER_TYPES,
    _KEY,
    _REVOCATION_LIST,
)
from wallet.services.verification.ob2.vocabulary import (
    _Problems,
    _Vocabulary,
    _base_vocabulary,
    _check_types,
    _types_of,
    _verification_kind,
    _verification_of,
)


# --- Data validation (OB 2.0 data model: required properties and value types) ---------------


def _validate_node(node: dict[str, Any], vocabulary: _Vocabulary, problems: _Problems, *, where: str) -> None:
    """Check one JSON-LD document's context, types and the properties its class requires."""
    if "@context" not in node:
        problems.errors.append(f"The {where} has no @context: it is not Open Badges 2.0 JSON-LD.")
    _check_types(node, vocabulary, problems, where=where)
    types = _types_of(node, vocabulary)
    if _ASSERTION in types:
        _validate_assertion(node, vocabulary, problems)
    elif _BADGE_CLASS in types:
        _validate_badge_class(node, problems)
    elif types & _ISSUER_TYPES:
        _validate_profile(node, problems)
    elif _KEY in types:
        _validate_key(node, problems)
    elif _REVOCATION_LIST in types:
        _require_list(node, "revokedAssertions", problems, "revocation list", required=False)
    elif _ALIGNMENT in types:
        _require_text(node, "targetName", problems, "alignment")
        _require_iri(node, "targetUrl", problems, "alignment")
    elif _ENDORSEMENT in types:
        if not isinstance(node.get("claim"), dict):
            problems.errors.append("The endorsement has no claim.")
        _require_datetime(node, "issuedOn", problems, "endorsement")


def _validate_assertion(node: dict[str, Any], vocabulary: _Vocabulary, problems: _Problems) -> None:
    where = "assertion"
    _require_iri(node, "id", problems, where)
    recipient = node.get("recipient")
    if not isinstance(recipient, dict):
        problems.errors.append("The assertion does not say who it was issued to (recipient is missing).")
    else:
        if not isinstance(recipient.get("type"), str):
            problems.errors.append("The recipient has no identity type (email, url, telephone...).")
        if not isinstance(recipient.get("identity"), str):
            problems.errors.append("The recipient has no identity.")
        if not isinstance(recipient.get("hashed"), bool):
            problems.errors.append('The recipient must say whether its identity is hashed ("hashed": true or false).')
        elif recipient["hashed"] and isinstance(recipient.get("identity"), str) and not _HASHED_IDENTITY.match(
                recipient["identity"]):
            problems.warnings.append("The recipient's identity is hashed in a form Wallet does not know.")
        if "salt" in recipient and not isinstance(recipient["salt"], str):
            problems.errors.append("The recipient's salt must be text.")
    badge = node.get("badge")
    if not (_is_iri(badge) or isinstance(badge, dict)):
        problems.errors.append("The assertion does not name its badge (badge is missing or not a URL).")
    verification = _verification_of(node)
    kind = _verification_kind(verification, vocabulary)
    if kind is None:
        problems.errors.append("The assertion does not say how to verify it (verification type hosted or signed).")
    _require_datetime(node, "issuedOn", problems, where)
    _optional_datetime(node, "expires", problems, where)
    image = node.get("image")
    if isinstance(image, str) and image.startswith("data:"):
        # OB 2.0: an Assertion's image is an IRI; only BadgeClass and Profile images may be data URIs.
        problems.errors.append("The assertion's image must be a web address, not embedded data.")
    elif image is not None and not (_is_iri(image) or (isinstance(image, dict) and _is_iri(image.get("id")))):
        problems.errors.append("The assertion's image is not a web address.")
    for evidence in values.as_list(node.get("evidence")):
        if not (_is_iri(evidence) or isinstance(evidence, dict)):
            problems.errors.append("The assertion's evidence must be web addresses or evidence descriptions.")
            break
    if "revoked" in node and not isinstance(node["revoked"], bool):
        problems.errors.append('The assertion\'s "revoked" must be true or false.')
    for text_property in ("narrative", "revocationReason"):
        if text_property in node and not isinstance(node[text_property], str):
            problems.errors.append(f"The assertion's {text_property} must be text.")
    issuer = node.get("issuer")
    if issuer is not None and not (_is_iri(issuer) or (isinstance(issuer, dict) and _is_iri(issuer.get("id")))):
        problems.errors.append("The assertion's issuer is not a web address.")


def _validate_badge_class(node: dict[str, Any], problems: _Problems) -> None:
    where = "badge description (BadgeClass)"
    _require_iri(node, "id", problems, where)
    _require_text(node, "name", problems, where)
    _require_text(node, "description", problems, where)
    criteria = node.get("criteria")
    if not (_is_iri(criteria) or isinstance(criteria, dict)):
        problems.errors.append("The badge description has no criteria.")
    issuer = node.get("issuer")
    if not (_is_iri(issuer) or isinstance(issuer, dict)):
        problems.errors.append("The badge description does not name its issuer.")
    image = node.get("image")
    if image is not None and not (_is_iri(image) or (isinstance(image, dict) and _is_iri(image.get("id")))):
        problems.errors.append("The badge description's image is not a web address or data URI.")
    for alignment in values.as_list(node.get("alignment")):
        if not isinstance(alignment, dict) or not isinstance(alignment.get("targetName"), str) or not _is_iri(
                alignment.get("targetUrl")):
            problems.errors.append("Each alignment of the badge needs a targetName and a targetUrl.")
            break
    if any(not isinstance(tag, str) for tag in values.as_list(node.get("tags"))):
        problems.errors.append("The badge's tags must be text.")


def _validate_profile(node: dict[str, Any], problems: _Problems) -> None:
    where = "issuer profile"
    _require_iri(node, "id", problems, where)
    _require_text(node, "name", problems, where)
    for iri_property in ("url", "revocationList"):
        if iri_property in node and not _is_iri(node[iri_property]):
            problems.errors.append(f"The issuer profile's {iri_property} is not a web address.")
    if "email" in node and not isinstance(node["email"], str):
        problems.errors.append("The issuer profile's email must be text.")
    policy = node.get("verification")
    if policy is not None:
        if not isinstance(policy, dict):
            problems.errors.append("The issuer profile's verification policy is malformed.")
        else:
            for rule in ("allowedOrigins", "startsWith"):
                if rule in policy and any(not isinstance(v, str) for v in values.as_list(policy[rule])):
                    problems.errors.append(f"The issuer profile's verification {rule} must be text.")


def _validate_key(node: dict[str, Any], problems: _Problems) -> None:
    _require_iri(node, "owner", problems, "key")
    _require_text(node, "publicKeyPem", problems, "key")


def _require_text(node: dict[str, Any], name: str, problems: _Problems, where: str) -> None:
    if not isinstance(node.get(name), str) or not node[name].strip():
        problems.errors.append(f'The {where} has no "{name}".' if name not in node
                               else f'The {where}\'s "{name}" must be text.')


def _require_iri(node: dict[str, Any], name: str, problems: _Problems, where: str) -> None:
    if name not in node:
        problems.errors.append(f'The {where} has no "{name}".')
    elif not _is_iri(node[name]):
        problems.errors.append(f'The {where}\'s "{name}" is not a valid identifier (IRI).')


def _require_list(node: dict[str, Any], name: str, problems: _Problems, where: str, *, required: bool) -> None:
    if name not in node:
        if required:
            problems.errors.append(f'The {where} has no "{name}".')
    elif not isinstance(node[name], list):
        problems.errors.append(f'The {where}\'s "{name}" must be a list.')


def _require_datetime(node: dict[str, Any], name: str, problems: _Problems, where: str) -> None:
    if name not in node:
        problems.errors.append(f'The {where} has no "{name}" date.')
    else:
        _optional_datetime(node, name, problems, where)


def _optional_datetime(node: dict[str, Any], name: str, problems: _Problems, where: str) -> None:
    if name in node and _parse_datetime(node[name]) is None:
        problems.errors.append(f'The {where}\'s "{name}" must be a date and time with a time zone '
                               f"(ISO 8601), not {str(node[name])[:40]!r}.")


# --- Small pure helpers ----------------------------------------------------------------------


def _claim(document: dict[str, Any], name: str) -> Any:
    """Return a claim in a form where equivalent spellings compare equal."""
    value = document.get(name)
    if name in ("issuedOn", "expires"):
        return _parse_datetime(value) or value
    if name in ("badge", "issuer") and isinstance(value, dict):
        return value.get("id")
    if name == "verification":
        verification = _verification_of(document)
        return (_verification_kind(verification, _base_vocabulary()), verification.get("creator"))
    if name in ("type", "evidence"):
        return values.as_list(value)
    return value


def _reference_id(value: Any) -> str | None:
    """Return the id of a node given by reference (a string) or embedded (an object with an id)."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) else None


def _key_reference(value: Any) -> tuple[str, dict[str, Any] | None] | None:
    if isinstance(value, str):
        return value, None
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return value["id"], value
    return None


def _parse_datetime(value: Any) -> datetime | None:
    """Read an ISO 8601 date-time that has a time zone (docs/security.md D19); None otherwise."""
    if not isinstance(value, str) or "T" not in value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _is_iri(value: Any) -> bool:
    return isinstance(value, str) and (bool(_ABSOLUTE_IRI.match(value)) or value.startswith("_:"))


def _is_http_url(value: Any) -> bool:
    return bool(_host(value)) and urlsplit(value).scheme in ("http", "https") and not any(
        c.isspace() for c in value)


def _host(url: Any) -> str:
    """Return the URL's lower-cased host name, or "" if it has none or is malformed."""
    if not isinstance(url, str):
        return ""
    try:
        return urlsplit(url).hostname or ""
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return ""
