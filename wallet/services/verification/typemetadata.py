"""SD-JWT VC type metadata: the credential type's name and its claims' labels, in the reader's language.

The `vct` of an SD-JWT VC may be an https URL from which its Type Metadata is fetched (SD-JWT VC
§6.3.1); `vct#integrity`, when present, is the W3C Subresource Integrity digest the document must
match (§7). The metadata's `display` gives the type's `name` and `description` per language; each
entry of `claims` names a claim by its `path` and gives a `label` per language (§8, §9). Earlier
drafts say `lang`, later ones `locale`; both are read. Where no label exists, the claim name is
made readable ("family_name" -> "Family name").
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

from wallet.services.verification.context import Context
from wallet.services.verification.errors import FetchError, MalformedJSONError
from wallet.services.verification.jsonutil import loads_strict
from wallet.services.verification.result import Check

# RFC 9901 §4.1 / SD-JWT VC §3.2.2: registered claims that say how the credential works, not what it says.
TECHNICAL_CLAIMS = frozenset({"iss", "iat", "nbf", "exp", "cnf", "status", "vct", "vct#integrity", "jti", "_sd",
                              "_sd_alg"})
_SRI = {"sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}
MAX_LABELS = 50  # languages kept per label
MAX_CLAIMS = 500  # claims shown for one credential


def fetch_type_metadata(claims: dict[str, Any], context: Context) -> tuple[dict[str, Any] | None, Check | None]:
    """Fetch the Type Metadata of the credential's `vct` when it is an https URL; a warning when it cannot be used."""
    vct = claims.get("vct")
    if not isinstance(vct, str) or urlsplit(vct).scheme not in ("https", "http"):
        return None, None
    try:
        fetched = context.fetch(vct, kind="json", role="type-metadata")
        document = loads_strict(fetched.body)
    except (FetchError, MalformedJSONError):
        return None, Check.warning("type-metadata", "The description of the credential's type could not be "
                                   "fetched; its claims are shown by their names.", vct=vct)
    integrity = claims.get("vct#integrity")
    if isinstance(integrity, str) and not _integrity_matches(fetched.body, integrity):
        return None, Check.warning("type-metadata", "The description of the credential's type is not the one the "
                                   "issuer signed (vct#integrity); it was not used.", vct=vct)
    if not isinstance(document, dict) or document.get("vct") != vct:
        return None, Check.warning("type-metadata", "The description of the credential's type is for another type; "
                                   "it was not used.", vct=vct)
    return document, Check.passed("type-metadata", "The credential's type is described by its issuer's type "
                                  "metadata.", vct=vct)


def type_display(metadata: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Return {language: {"name", "description"}} from the type metadata's `display`."""
    found: dict[str, dict[str, Any]] = {}
    for entry in _entries((metadata or {}).get("display")):
        language = _language(entry)
        name = entry.get("name")
        if language and isinstance(name, str):
            description = entry.get("description")
            found[language] = {"name": name[:300],
                               "description": description[:2000] if isinstance(description, str) else None}
    return found


def claim_entries(claims: dict[str, Any], disclosed_paths: Iterable[Sequence[Any]],
                  metadata: dict[str, Any] | None) -> list[dict[str, Any]]:
    """List the credential's claims for showing: path, value, labels per language, and whether it was disclosed."""
    labels = _claim_labels(metadata)
    disclosed = {tuple(path) for path in disclosed_paths}
    entries: list[dict[str, Any]] = []

    def walk(value: Any, path: tuple[Any, ...]) -> None:
        if len(entries) >= MAX_CLAIMS:
            return
        if isinstance(value, dict) and value and path not in labels:
            for name, child in value.items():
                if not path and name in TECHNICAL_CLAIMS:
                    continue
                walk(child, (*path, name))
            return
        entries.append({"path": list(path), "value": value, "labels": labels.get(path, {}),
                        "disclosed": any(path[:n] in disclosed for n in range(1, len(path) + 1))})

    walk(claims, ())
    return entries


def label_for(entry: dict[str, Any], languages: Sequence[str]) -> str:
    """Return the claim's label in the first of `languages` the issuer gives, else its name made readable."""
    chosen = pick_language(entry.get("labels") or {}, languages)
    if isinstance(chosen, str) and chosen:
        return chosen
    names = [str(p) if isinstance(p, str) else f"#{p + 1}" for p in entry.get("path") or []]
    return " › ".join(readable_name(n) for n in names) or "Claim"


def pick_language(by_language: dict[str, Any], languages: Sequence[str]) -> Any:
    """Pick the value for the first of `languages` (exact tag, then primary language), else English, else any."""
    if not by_language:
        return None
    lowered = {tag.lower(): value for tag, value in by_language.items()}
    for wanted in [*languages, "en"]:
        wanted = wanted.lower()
        if wanted in lowered:
            return lowered[wanted]
        primary = wanted.split("-", 1)[0]
        for tag, value in lowered.items():
            if tag.split("-", 1)[0] == primary:
                return value
    return next(iter(by_language.values()))


def readable_type(vct: str) -> str:
    """Make a credential type (`vct`) readable: its last path segment, words split at _ - and case changes."""
    tail = vct.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1] or vct
    return readable_name(tail)


def readable_name(name: str) -> str:
    """Make a claim name readable: "family_name" -> "Family name", "dateOfBirth" -> "Date of birth"."""
    words: list[str] = []
    current = ""
    for char in name.replace("_", " ").replace("-", " "):
        if char == " ":
            if current:
                words.append(current)
            current = ""
        elif char.isupper() and current and current[-1].islower():
            words.append(current)
            current = char
        else:
            current += char
    if current:
        words.append(current)
    text = " ".join(w if w.isupper() and len(w) > 1 else w.lower() for w in words)
    return text[:1].upper() + text[1:] if text else name


def _claim_labels(metadata: dict[str, Any] | None) -> dict[tuple[Any, ...], dict[str, str]]:
    labels: dict[tuple[Any, ...], dict[str, str]] = {}
    for claim in _entries((metadata or {}).get("claims")):
        path = claim.get("path")
        if not isinstance(path, list) or not path or not all(isinstance(p, (str, int)) for p in path):
            continue  # a null (any array element) path segment selects several claims: not a label of one
        by_language: dict[str, str] = {}
        for entry in _entries(claim.get("display"))[:MAX_LABELS]:
            language, label = _language(entry), entry.get("label")
            if language and isinstance(label, str) and label.strip():
                by_language[language] = label.strip()[:200]
        if by_language:
            labels[tuple(path)] = by_language
    return labels


def _entries(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _language(entry: dict[str, Any]) -> str | None:
    tag = entry.get("locale", entry.get("lang"))
    return tag[:35] if isinstance(tag, str) and tag else None


def _integrity_matches(body: bytes, integrity: str) -> bool:
    """W3C Subresource Integrity: any of the space-separated "<alg>-<base64 digest>" values matches."""
    for item in integrity.split():
        algorithm, _, expected = item.partition("-")
        function = _SRI.get(algorithm.lower())
        if function is None:
            continue
        actual = base64.b64encode(function(body).digest()).decode("ascii")
        if hmac.compare_digest(actual, expected.split("?", 1)[0]):
            return True
    return False
