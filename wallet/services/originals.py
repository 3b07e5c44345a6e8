"""What a credential's original says about its recipient, told to the learner before they publish it.

An original goes out exactly as its issuer signed it, so whatever it says about the recipient goes
with it and cannot be removed without breaking the signature: the OB 2.0 `recipient` (IdentityObject)
and the OB 3.0 `credentialSubject.identifier` (IdentityObject) or `credentialSubject.id`. A hashed
identity is no secret when its salt travels with it (or there is none): anyone who guesses the
address can hash the guess and compare (OB 2.0 §IdentityObject; OB 3.0 §B.1.4 IdentityObject).
Pure functions of stored credentials: nothing is fetched.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from wallet.models.credential import Credential

# identityType / recipient.type values, in the words the learner reads.
_TYPE_WORDS = {"email": "e-mail address", "emailaddress": "e-mail address", "telephone": "telephone number",
               "phone": "telephone number", "url": "web address"}
_OTHER_WORDS = "identifier"
# Plain values are listed up to this many per sentence; more are counted.
_MAX_LISTED = 3


@dataclass(frozen=True)
class Revealed:
    """One thing an original says about its recipient."""

    what: str  # "e-mail address", "telephone number", "web address" or "identifier"
    hashed: bool
    value: str | None  # the plain value; None when hashed
    salted: bool = False


def revealed_by(credential: Credential) -> list[Revealed]:
    """Return what the credential's original says about its recipient (empty if nothing)."""
    document = credential.document if isinstance(credential.document, dict) else {}
    if isinstance(document.get("vc"), dict):
        document = document["vc"]  # VC 1.1 JWT claims keep the credential under "vc"
    found: list[Revealed] = []
    recipient = document.get("recipient")
    if isinstance(recipient, dict):
        found += _identity(recipient.get("type"), recipient.get("identity"), recipient.get("hashed"),
                           recipient.get("salt"))
    subjects = document.get("credentialSubject")
    for subject in subjects if isinstance(subjects, list) else [subjects]:
        if not isinstance(subject, dict):
            continue
        subject_id = subject.get("id")
        if isinstance(subject_id, str) and subject_id.lower().startswith("mailto:"):
            found.append(Revealed("e-mail address", False, subject_id[len("mailto:"):]))
        identifiers = subject.get("identifier")
        for identifier in identifiers if isinstance(identifiers, list) else [identifiers]:
            if isinstance(identifier, dict):
                found += _identity(identifier.get("identityType"), identifier.get("identityHash"),
                                   identifier.get("hashed"), identifier.get("salt"))
    return list(dict.fromkeys(found))


def _identity(kind: Any, identity: Any, hashed: Any, salt: Any) -> list[Revealed]:
    if not isinstance(identity, str) or not identity:
        return []
    what = _TYPE_WORDS.get(kind.lower(), _OTHER_WORDS) if isinstance(kind, str) else _OTHER_WORDS
    if hashed is True:
        return [Revealed(what, True, None, salted=isinstance(salt, str) and bool(salt))]
    return [Revealed(what, False, identity.strip()[:254])]


@dataclass
class Disclosure:
    """What a set of originals reveals, counted per credential, and said in one sentence."""

    total: int
    naming: int  # originals that name the learner in plain text
    hashed: int  # originals that carry a hashed identity (and none in plain text)
    sentence: str

    @property
    def reveals(self) -> bool:
        return bool(self.naming or self.hashed)


def disclosure(credentials: Sequence[Credential]) -> Disclosure:
    """Say what these originals reveal, e.g. "3 originals name you by your e-mail address ada@…; 1 carries …"."""
    plain: dict[str, list[Credential]] = {}
    values: dict[str, list[str]] = {}
    salted: list[Credential] = []
    unsalted: list[Credential] = []
    for credential in credentials:
        revealed = revealed_by(credential)
        named = [r for r in revealed if not r.hashed]
        for what in dict.fromkeys(r.what for r in named):
            plain.setdefault(what, []).append(credential)
        for r in named:
            seen = values.setdefault(r.what, [])
            if r.value and r.value not in seen:
                seen.append(r.value)
        if not named and any(r.hashed for r in revealed):
            (salted if all(r.salted for r in revealed if r.hashed) else unsalted).append(credential)
    parts: list[str] = []
    for what, named_by in plain.items():
        listed = values[what][:_MAX_LISTED]
        more = len(values[what]) - len(listed)
        shown = _join(listed) + (f" and {more} more" if more > 0 else "")
        parts.append(f"{_count(len(named_by), parts)} {_verb(len(named_by), 'name')} you by your "
                     f"{_plural_words(what, len(values[what]))} {shown}")
    if salted:
        parts.append(f"{_count(len(salted), parts)} {_verb(len(salted), 'carry')} a hashed address with its salt, "
                     "which anyone can check against a guess")
    if unsalted:
        parts.append(f"{_count(len(unsalted), parts)} {_verb(len(unsalted), 'carry')} a hashed address without a "
                     "salt, which anyone can check against a guess")
    naming = len({c.id for named_by in plain.values() for c in named_by})
    if not parts:
        sentence = ("The originals name no e-mail address or other identifier of yours." if credentials
                    else "There are no originals to publish yet.")
    else:
        sentence = "; ".join(parts) + "."
    return Disclosure(len(credentials), naming, len(salted) + len(unsalted), sentence)


def _count(number: int, earlier: Sequence[str]) -> str:
    # The first part names the thing counted; the ones after it read on from it.
    return f"{number} original{'s' if number != 1 else ''}" if not earlier else str(number)


def _verb(number: int, verb: str) -> str:
    if number != 1:
        return verb
    return {"carry": "carries"}.get(verb, verb + "s")


def _plural_words(what: str, count: int) -> str:
    if count == 1:
        return what
    return {"e-mail address": "e-mail addresses", "web address": "web addresses"}.get(what, what + "s")


def _join(items: Iterable[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
