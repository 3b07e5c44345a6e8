"""Keys behind signatures, and whether they belong to the issuer.

A signature only proves that *some* key signed. Who that key belongs to is a separate question,
answered here and reported as a `KeyBinding` (docs/security.md D7, D8, D15, D16):

- A DID key counts as the issuer's when the key's DID is the issuer's DID and its DID document
  lists the key for the proof's purpose (`assertionMethod` for credentials). An issuer known only
  by an opaque id (`urn:uuid:…`) has nothing to compare with: the signing DID then identifies the
  issuer, and is what the report shows as the verified issuer.
- An https key counts as the issuer's when a document on the issuer's own origin names the issuer
  as the key's controller (W3C Controlled Identifiers).
- A key taken from the credential itself (a JOSE header `jwk`, a multibase fragment such as
  `https://issuer.example/1#z6Mk…`) proves integrity but not authorship: anyone can append their
  own key to any issuer's URL.

DIDs: did:key and did:jwk resolve offline; did:web over https through the context's fetcher
(no redirects); every other method is reported as unsupported without any network call (B5).

Kept whole (about 550 lines): every kind of verification method ends in the same `_Key` and the
same binding rules, and one reader checking D7/D8/D15 should find all of them in one place.
"""
from __future__ import annotations

import base64
import binascii
import copy
import re
from dataclasses import dataclass
from functools import cached_property
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from jwcrypto.common import JWException
from jwcrypto.jwk import JWK

from wallet.services.verification import multibase, values
from wallet.services.verification.caches import MB, memoize
from wallet.services.verification.context import Context
from wallet.services.verification.errors import KeyResolutionError, MalformedJSONError, MultibaseError, WalletError
from wallet.services.verification.jsonutil import loads_strict
from wallet.services.verification.result import Status

DID_CONTEXT = "https://www.w3.org/ns/did/v1"
MULTIKEY_CONTEXT = "https://w3id.org/security/multikey/v1"
JWS_2020_CONTEXT = "https://w3id.org/security/suites/jws-2020/v1"
# DID Core §3.1: did = "did:" method-name ":" method-specific-id.
_DID = re.compile(r"did:([a-z0-9]+):((?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2}|:)*(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2}))")
_WEB_HOST = re.compile(r"[A-Za-z0-9.-]+(?::[0-9]{1,5})?")
_WEB_SEGMENT = re.compile(r"(?:[A-Za-z0-9._~-]|%[0-9A-Fa-f]{2})+")
# The multikey prefixes of Ed25519 (z6Mk) and P-256 (zDna) keys: a fragment that starts like
# this claims to *be* a key, so a broken one is a malformed key, not an unknown id (B6).
_MULTIKEY_FRAGMENT = re.compile(r"z(?:6Mk|Dna)[1-9A-HJ-NP-Za-km-z]*")
OFFLINE_METHODS = frozenset({"key", "jwk"})
RELATIONSHIPS = ("assertionMethod", "authentication", "capabilityInvocation", "capabilityDelegation", "keyAgreement")
_PRIVATE_JWK_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
# Decoded did:key and did:jwk keys, keyed by the identifiers credentials give (of any length, so
# the identifier is counted too). A decoded key takes about 1.4 KB (caches.estimate_size of one
# Ed25519 or P-256 key with its JWK); it is counted as 2 KB without walking it again each time.
_OFFLINE_CACHE_BYTES = 4 * MB
_DECODED_KEY_BYTES = 2048
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")


class KeyBinding(StrEnum):
    # Proven to belong to the issuer: its DID document, or a controller document on its origin naming it.
    ISSUER = "issuer"
    # Taken from the credential itself (JOSE header jwk, multibase fragment): integrity only, not authorship.
    SELF_ASSERTED = "self_asserted"
    # Demonstrably controlled by someone else (another DID, another origin or controller).
    OTHER = "other"


@dataclass(frozen=True)
class ResolvedKey:
    vm_id: str  # verification method id as resolved
    controller: str | None
    material: JWK | bytes  # public key only: a JWK, or an Ed25519 key's 32 raw bytes (`jwk` makes its JWK)
    key_type: str  # "Ed25519" | "P-256" | "P-384" | "RSA" | "secp256k1"...
    binding: KeyBinding
    source: str  # "did:key" | "did:jwk" | "did:web" | "controller-document" | "fragment" | "jose-header"
    purposes: frozenset[str]  # verification relationships it is listed under
    explanation: str  # plain words for the report

    @cached_property
    def jwk(self) -> JWK:
        """The public key as a JWK."""
        return _as_jwk(self.material)

    def ed25519_public_bytes(self) -> bytes:
        """The raw public key of an Ed25519 key (RFC 8032 §5.1.5), without building a JWK."""
        return _ed25519_bytes(self.material)


@dataclass(frozen=True)
class _Key:
    """Key material found in a document, before deciding whom it belongs to."""

    vm_id: str
    controller: str | None
    material: JWK | bytes  # as ResolvedKey.material
    key_type: str
    purposes: frozenset[str]

    @cached_property
    def jwk(self) -> JWK:
        return _as_jwk(self.material)


def issuer_of(doc: dict[str, Any]) -> str | None:
    """Return the issuer id of a credential: `issuer` as a string, or the `id` of an issuer object."""
    issuer = doc.get("issuer") if isinstance(doc, dict) else None
    if isinstance(issuer, dict):
        issuer = issuer.get("id")
    return issuer if isinstance(issuer, str) and issuer else None


def resolve_did(did: str, context: Context) -> dict[str, Any]:
    """Return the DID document of `did` (did:key, did:jwk offline; did:web over https)."""
    method = _did_method(did)
    if method == "key":
        return copy.deepcopy(_did_key_document(did))
    if method == "jwk":
        return copy.deepcopy(_did_jwk_document(did))
    if method == "web":
        return _resolve_did_web(did, context)
    raise KeyResolutionError(f"Wallet cannot check keys of the DID method did:{method} (unsupported).")


def resolve_verification_method(
    vm: str, *, issuer_id: str | None, context: Context, purpose: str = "assertionMethod"
) -> ResolvedKey:
    """Find the key that `vm` names and decide whether it belongs to the issuer (KeyResolutionError if not found)."""
    if not isinstance(vm, str) or not vm.strip():
        raise KeyResolutionError("The proof names no key (verificationMethod).", Status.INVALID)
    scheme = _scheme(vm)
    if vm.startswith("did:"):
        return _resolve_did_vm(vm, issuer_id, context, purpose)
    if scheme in ("https", "http"):
        return _resolve_web_vm(vm, issuer_id, context, purpose)
    if not scheme:
        raise KeyResolutionError(f"The proof's key reference {_short(vm)} is not a web address or DID.", Status.INVALID)
    return _resolve_opaque_vm(vm, issuer_id)


def key_from_jwk(jwk: dict[str, Any], *, issuer_id: str | None) -> ResolvedKey:
    """Take the key a JOSE header carries: self-asserted, unless the issuer is the did:jwk of exactly this key."""
    key, key_type = _public_jwk(jwk)
    thumbprint = key.thumbprint()
    if issuer_id and issuer_id.startswith("did:jwk:"):
        try:
            issuer_key = _did_jwk_key(issuer_id.partition("#")[0])
        except KeyResolutionError:
            issuer_key = None
        if issuer_key is not None and issuer_key.jwk.thumbprint() == thumbprint:
            return ResolvedKey(
                vm_id=issuer_key.vm_id, controller=issuer_id, material=key, key_type=key_type,
                binding=KeyBinding.ISSUER, source="did:jwk", purposes=issuer_key.purposes,
                explanation=f"The token's key is the issuer's own did:jwk ({_short(issuer_id)}).",
            )
    return ResolvedKey(
        vm_id=f"urn:ietf:params:oauth:jwk-thumbprint:sha-256:{thumbprint}", controller=None, material=key,
        key_type=key_type, binding=KeyBinding.SELF_ASSERTED, source="jose-header", purposes=frozenset(),
        explanation="The token carries its own key, so the signature shows the credential is intact, "
                    "but not that the issuer made it.",
    )


# --- DIDs -------------------------------------------------------------------------------------------

def _did_method(did: str) -> str:
    match = _DID.fullmatch(did) if isinstance(did, str) else None
    if match is None:
        raise KeyResolutionError(f"{_short(str(did))} is not a valid DID.", Status.INVALID)
    return match.group(1)


def _resolve_did_vm(vm: str, issuer_id: str | None, context: Context, purpose: str) -> ResolvedKey:
    did = vm.partition("#")[0]
    method = _did_method(did)
    binding = _did_binding(did, method, issuer_id)
    if method in OFFLINE_METHODS:
        key = _offline_key(vm)
    else:
        key = _find_key(resolve_did(did, context), vm, base=did, missing=Status.UNVERIFIABLE)
    return _did_resolved(key, did, method, binding, issuer_id, purpose)


def assertion_keys(
    did: str, *, issuer_id: str | None, context: Context, purpose: str = "assertionMethod"
) -> list[ResolvedKey]:
    """Return every key that the DID document of `did` lists for `purpose` (for a JWS that names no key)."""
    did = did.partition("#")[0]
    method = _did_method(did)
    binding = _did_binding(did, method, issuer_id)
    if method in OFFLINE_METHODS:
        found = [_offline_key(did)]
    else:
        document = resolve_did(did, context)
        references = [entry if isinstance(entry, str) else entry.get("id") if isinstance(entry, dict) else None
                      for entry in values.as_list(document.get(purpose))]
        found = []
        for reference in references:
            vm = _absolute(reference, did)
            key = _find_key_or_none(document, vm, base=did) if vm else None
            if key is not None:
                found.append(key)
    keys = [_did_resolved(key, did, method, binding, issuer_id, purpose)
            for key in found if purpose in key.purposes or binding is not KeyBinding.ISSUER]
    if not keys:
        raise KeyResolutionError(f"The DID document of {_short(did)} lists no key for {purpose}.")
    return keys


def _did_binding(did: str, method: str, issuer_id: str | None) -> KeyBinding:
    """Decide whose key a DID key is, before (and without) resolving it."""
    kind = _identifier_kind(issuer_id)
    if kind == "did":
        binding = KeyBinding.ISSUER if did == (issuer_id or "").partition("#")[0] else KeyBinding.OTHER
    elif kind == "web":
        binding = KeyBinding.OTHER
    elif kind == "opaque":
        binding = KeyBinding.ISSUER
    else:
        binding = KeyBinding.SELF_ASSERTED
    if binding is KeyBinding.OTHER and method not in OFFLINE_METHODS:
        # Whatever that DID's document says, it is not the issuer's: no need to fetch it.
        raise KeyResolutionError(
            f"The credential is signed with a key of {_short(did)}, not with a key of its issuer "
            f"{_short(issuer_id or '')}.", Status.INVALID)
    return binding


def _did_resolved(key: _Key, did: str, method: str, binding: KeyBinding, issuer_id: str | None,
                  purpose: str) -> ResolvedKey:
    if binding is KeyBinding.ISSUER and purpose not in key.purposes:
        raise KeyResolutionError(
            f"The issuer's DID document does not list the key {_short(key.vm_id)} for {purpose}, "
            "so it may not be used to issue credentials.", Status.INVALID)
    if binding is KeyBinding.ISSUER and _identifier_kind(issuer_id) == "did":
        explanation = f"Key {_short(key.vm_id)} is listed for {purpose} by the issuer's own DID {_short(did)}."
    elif binding is KeyBinding.ISSUER:
        explanation = (f"The issuer is known only as {_short(issuer_id or '')}; the credential is signed by "
                       f"{_short(did)}, which identifies it.")
    elif binding is KeyBinding.OTHER:
        explanation = f"Key {_short(key.vm_id)} belongs to {_short(did)}, not to the issuer {_short(issuer_id or '')}."
    else:
        explanation = f"Key {_short(key.vm_id)} belongs to {_short(did)}; the credential names no issuer to compare."
    return ResolvedKey(key.vm_id, did, key.material, key.key_type, binding, f"did:{method}", key.purposes, explanation)


@memoize(_OFFLINE_CACHE_BYTES, size_of=lambda key: _DECODED_KEY_BYTES)
def _offline_key(vm: str) -> _Key:
    """Resolve a did:key or did:jwk verification method: pure, so cached."""
    did, _, fragment = vm.partition("#")
    if _did_method(did) == "key":
        key = _did_key_key(did)
    else:
        key = _did_jwk_key(did)
    # A did:key or did:jwk document has one key; the DID alone (no fragment) names it too.
    if fragment and vm != key.vm_id:
        raise KeyResolutionError(f"{_short(vm)} is not the key of {_short(did)}.", Status.INVALID)
    return key


@memoize(_OFFLINE_CACHE_BYTES, size_of=lambda key: _DECODED_KEY_BYTES)
def _did_key_key(did: str) -> _Key:
    value = did[len("did:key:"):]
    try:
        key_type, raw = multibase.decode_multikey(value)
    except MultibaseError as error:
        raise KeyResolutionError(f"{_short(did)} is not a valid did:key: {error}", Status.INVALID) from error
    # did:key spec §3.1.2: the single key is listed under every verification relationship.
    return _Key(f"{did}#{value}", did, _material_from_raw(key_type, raw), key_type,
                frozenset(RELATIONSHIPS[:4]))


def _did_key_document(did: str) -> dict[str, Any]:
    key = _did_key_key(did)
    method = {"id": key.vm_id, "type": "Multikey", "controller": did,
              "publicKeyMultibase": key.vm_id.partition("#")[2]}
    return _did_document(did, [DID_CONTEXT, MULTIKEY_CONTEXT], method, key.purposes)


@memoize(_OFFLINE_CACHE_BYTES, size_of=lambda key: _DECODED_KEY_BYTES)
def _did_jwk_key(did: str) -> _Key:
    encoded = did[len("did:jwk:"):]
    try:
        data = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        jwk = loads_strict(data, max_depth=4)
    except (binascii.Error, ValueError, MalformedJSONError) as error:
        raise KeyResolutionError(f"{_short(did)} is not a valid did:jwk.", Status.INVALID) from error
    if not isinstance(jwk, dict):
        raise KeyResolutionError(f"{_short(did)} is not a valid did:jwk.", Status.INVALID)
    key, key_type = _public_jwk(jwk)
    # did:jwk spec §2.3: "use": "enc" keys are for key agreement only, "sig" keys for signing only.
    use = jwk.get("use")
    purposes = RELATIONSHIPS[4:] if use == "enc" else RELATIONSHIPS[:4] if use == "sig" else RELATIONSHIPS
    return _Key(f"{did}#0", did, key, key_type, frozenset(purposes))


def _did_jwk_document(did: str) -> dict[str, Any]:
    key = _did_jwk_key(did)
    method = {"id": key.vm_id, "type": "JsonWebKey2020", "controller": did,
              "publicKeyJwk": key.jwk.export_public(as_dict=True)}
    return _did_document(did, [DID_CONTEXT, JWS_2020_CONTEXT], method, key.purposes)


def _did_document(did: str, contexts: list[str], method: dict[str, Any], purposes: frozenset[str]) -> dict[str, Any]:
    document: dict[str, Any] = {"@context": contexts, "id": did, "verificationMethod": [method]}
    for relationship in RELATIONSHIPS:
        if relationship in purposes:
            document[relationship] = [method["id"]]
    return document


def did_web_url(did: str) -> str:
    """Return the https URL of a did:web document (did:web spec §3.2: `:` -> `/`, `%3A` -> port)."""
    if _did_method(did) != "web":
        raise KeyResolutionError(f"{_short(did)} is not a did:web.", Status.INVALID)
    host, *path = did[len("did:web:"):].split(":")
    host = re.sub("%3[aA]", ":", host)
    if not _WEB_HOST.fullmatch(host) or not all(_WEB_SEGMENT.fullmatch(s) and s not in (".", "..") for s in path):
        raise KeyResolutionError(f"{_short(did)} is not a valid did:web.", Status.INVALID)
    origin = f"https://{host.lower()}"
    return f"{origin}/{'/'.join(path)}/did.json" if path else f"{origin}/.well-known/did.json"


def _resolve_did_web(did: str, context: Context) -> dict[str, Any]:
    url = did_web_url(did)
    try:
        fetched = context.fetch(url, kind="json", role="did-document")
    except WalletError as error:  # network failure, refused destination, too large
        raise KeyResolutionError(f"The issuer's DID document ({_short(did)}) could not be fetched: {error}") from error
    if fetched.final_url != url:
        # B4: a did:web document is served at its own URL; a redirect could hand over to anyone.
        raise KeyResolutionError(
            f"The DID document of {_short(did)} redirects elsewhere, which did:web does not allow.")
    try:
        document = loads_strict(fetched.body)
    except MalformedJSONError as error:
        raise KeyResolutionError(f"The DID document of {_short(did)} is not valid JSON: {error}") from error
    if not isinstance(document, dict) or document.get("id") != did:
        raise KeyResolutionError(f"The document at {_short(url)} is not the DID document of {_short(did)}.")
    return document


# --- https and other verification methods -----------------------------------------------------------

def _resolve_web_vm(vm: str, issuer_id: str | None, context: Context, purpose: str) -> ResolvedKey:
    base, _, fragment = vm.partition("#")
    fragment_key = _fragment_key(vm, fragment)
    kind = _identifier_kind(issuer_id)
    if kind != "web" or _origin(base) != _origin(issuer_id or ""):
        # D8: a key published on another site than the issuer's is not the issuer's key.
        if kind in ("web", "did"):
            message = f"The key {_short(vm)} is published on another site than the issuer {_short(issuer_id or '')}."
            if fragment_key is None:
                raise KeyResolutionError(message, Status.INVALID)
            return _fragment_resolved(fragment_key, KeyBinding.OTHER, message)
        if fragment_key is None:
            raise KeyResolutionError(f"The key {_short(vm)} cannot be tied to the issuer.")
        return _fragment_resolved(fragment_key, KeyBinding.SELF_ASSERTED,
                                  f"Key {_short(vm)} is read from its own address; nothing ties it to the issuer.")
    problem: str
    document: Any = None
    try:
        fetched = context.fetch(base, kind="json", role="verification-method")
        if _origin(fetched.final_url) != _origin(base):
            problem = "the issuer's key document redirects to another site"
        else:
            document = loads_strict(fetched.body)
            problem = "the issuer's key document does not list it"
    except WalletError as error:  # network failure, refused destination, too large, not JSON
        problem = f"the issuer's key document could not be read ({error})"
    if isinstance(document, dict):
        found = _find_key_or_none(document, vm, base=base)
        if found is not None:
            return _controller_binding(found, document, vm, issuer_id or "", purpose)
    if fragment_key is not None:
        return _fragment_resolved(
            fragment_key, KeyBinding.SELF_ASSERTED,
            f"Key {_short(vm)} is read from its own address, and {problem}: the signature shows the "
            "credential is intact, but not that the issuer made it.")
    if not isinstance(document, dict):
        raise KeyResolutionError(f"The issuer's key {_short(vm)} could not be obtained: {problem}.")
    # D21: a key that the issuer no longer publishes is not proof of forgery.
    raise KeyResolutionError(f"The issuer no longer publishes the key {_short(vm)}.")


def _controller_binding(key: _Key, document: dict[str, Any], vm: str, issuer_id: str, purpose: str) -> ResolvedKey:
    controller = key.controller
    if controller != issuer_id:
        return ResolvedKey(key.vm_id, controller, key.material, key.key_type, KeyBinding.OTHER, "controller-document",
                           key.purposes, f"Key {_short(vm)} is controlled by {_short(str(controller))}, "
                                         f"not by the issuer {_short(issuer_id)}.")
    standalone = document.get("id") == vm.partition("#")[0] and _is_key_object(document)
    if purpose not in key.purposes and not standalone:
        raise KeyResolutionError(
            f"The issuer's key document does not list {_short(vm)} for {purpose}, "
            "so it may not be used to issue credentials.", Status.INVALID)
    return ResolvedKey(key.vm_id, controller, key.material, key.key_type, KeyBinding.ISSUER, "controller-document",
                       key.purposes, f"Key {_short(vm)} is published by the issuer on its own site.")


def _resolve_opaque_vm(vm: str, issuer_id: str | None) -> ResolvedKey:
    base, _, fragment = vm.partition("#")
    fragment_key = _fragment_key(vm, fragment)
    if fragment_key is not None and base == issuer_id:
        return _fragment_resolved(fragment_key, KeyBinding.SELF_ASSERTED,
                                  f"Key {_short(vm)} is read from the issuer's id itself; nothing shows "
                                  "the issuer controls it.")
    raise KeyResolutionError(
        f"The key {_short(vm)} cannot be found: it is neither a DID nor a web address of the issuer.",
        Status.INVALID)


def _fragment_key(vm: str, fragment: str) -> _Key | None:
    """Decode a multibase key written as the fragment of `vm`, or None if the fragment is not one."""
    if not _MULTIKEY_FRAGMENT.fullmatch(fragment):
        return None
    try:
        key_type, raw = multibase.decode_multikey(fragment)
    except MultibaseError as error:
        raise KeyResolutionError(f"The key in {_short(vm)} is malformed: {error}", Status.INVALID) from error
    return _Key(vm, None, _material_from_raw(key_type, raw), key_type, frozenset())


def _fragment_resolved(key: _Key, binding: KeyBinding, explanation: str) -> ResolvedKey:
    return ResolvedKey(key.vm_id, None, key.material, key.key_type, binding, "fragment", frozenset(), explanation)


# --- documents listing keys -------------------------------------------------------------------------

def _find_key(document: dict[str, Any], vm: str, *, base: str, missing: Status) -> _Key:
    found = _find_key_or_none(document, vm, base=base)
    if found is None:
        raise KeyResolutionError(f"The issuer no longer publishes the key {_short(vm)}.", missing)
    return found


def _find_key_or_none(document: dict[str, Any], vm: str, *, base: str) -> _Key | None:
    """Find `vm` in a DID or controller document (or a document that is the key itself)."""
    doc_id = document.get("id") if isinstance(document.get("id"), str) else base
    candidates: list[dict[str, Any]] = []
    if _is_key_object(document):
        candidates.append(document)
    for field in ("verificationMethod", "publicKey", *RELATIONSHIPS):
        items = document.get(field)
        for item in items if isinstance(items, list) else [items] if isinstance(items, dict) else []:
            if isinstance(item, dict):
                candidates.append(item)
    method = next((c for c in candidates if _absolute(c.get("id"), doc_id) == vm), None)
    if method is None:
        return None
    purposes = frozenset(
        relationship for relationship in RELATIONSHIPS
        if any(_absolute(entry if isinstance(entry, str) else entry.get("id") if isinstance(entry, dict) else None,
                         doc_id) == vm
               for entry in values.as_list(document.get(relationship)))
    )
    controller = method.get("controller")
    if not isinstance(controller, str):
        controller = document.get("controller") if isinstance(document.get("controller"), str) else doc_id
    jwk, key_type = _key_material(method, vm)
    return _Key(vm, controller, jwk, key_type, purposes)


def _key_material(method: dict[str, Any], vm: str) -> tuple[JWK, str]:
    """Read the public key of a verification method object (Multikey, Ed25519 2018/2020, JsonWebKey)."""
    kind = method.get("type")
    try:
        if kind in ("Multikey", "Ed25519VerificationKey2020") and isinstance(method.get("publicKeyMultibase"), str):
            key_type, raw = multibase.decode_multikey(method["publicKeyMultibase"])
            if kind == "Ed25519VerificationKey2020" and key_type != "Ed25519":
                raise KeyResolutionError(f"Key {_short(vm)} is not an Ed25519 key.", Status.INVALID)
            return _jwk_from_raw(key_type, raw), key_type
        if kind == "Ed25519VerificationKey2018" and isinstance(method.get("publicKeyBase58"), str):
            raw = multibase.base58_decode(method["publicKeyBase58"])
            if len(raw) != multibase.ED25519_KEY_LENGTH:
                raise KeyResolutionError(f"Key {_short(vm)} has the wrong length.", Status.INVALID)
            return _jwk_from_raw("Ed25519", raw), "Ed25519"
        if kind in ("JsonWebKey2020", "JsonWebKey") and isinstance(method.get("publicKeyJwk"), dict):
            return _public_jwk(method["publicKeyJwk"])
    except MultibaseError as error:
        raise KeyResolutionError(f"Key {_short(vm)} is malformed: {error}", Status.INVALID) from error
    raise KeyResolutionError(f"Key {_short(vm)} is of a type Wallet does not support ({_short(str(kind))}).")


def _is_key_object(value: dict[str, Any]) -> bool:
    return any(field in value for field in ("publicKeyMultibase", "publicKeyJwk", "publicKeyBase58"))


def _absolute(reference: Any, base: str) -> str | None:
    if not isinstance(reference, str):
        return None
    return base.partition("#")[0] + reference if reference.startswith("#") else reference


# --- key material -----------------------------------------------------------------------------------

def _material_from_raw(key_type: str, raw: bytes) -> JWK | bytes:
    """A decoded multikey (multibase.decode_multikey): Ed25519 keys stay raw bytes until a JWK is needed."""
    return raw if key_type == "Ed25519" else _jwk_from_raw(key_type, raw)


def _as_jwk(material: JWK | bytes) -> JWK:
    return material if isinstance(material, JWK) else _jwk_from_raw("Ed25519", material)


def _ed25519_bytes(material: JWK | bytes) -> bytes:
    if isinstance(material, bytes):
        return material
    x = material["x"]  # RFC 8037 §2: the base64url public key
    return base64.urlsafe_b64decode(x + "=" * (-len(x) % 4))


def _jwk_from_raw(key_type: str, raw: bytes) -> JWK:
    if key_type == "Ed25519":
        x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
        return JWK(kty="OKP", crv="Ed25519", x=x)
    try:
        point = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError as error:
        raise KeyResolutionError("The P-256 key is not a valid point.", Status.INVALID) from error
    return JWK.from_pyca(point)


def _public_jwk(jwk: dict[str, Any]) -> tuple[JWK, str]:
    """Build a public JWK, refusing private or symmetric keys (docs/security.md D6, docs/verification.md §3.4)."""
    if not isinstance(jwk, dict):
        raise KeyResolutionError("The key is not a JSON Web Key object.", Status.INVALID)
    private = sorted(_PRIVATE_JWK_MEMBERS & jwk.keys())
    if private:
        raise KeyResolutionError("The key includes private key material, which a public key must never carry.",
                                 Status.INVALID)
    kty, crv = jwk.get("kty"), jwk.get("crv")
    if kty == "RSA":
        key_type = "RSA"
    elif kty == "EC" and crv in ("P-256", "P-384", "P-521", "secp256k1"):
        key_type = crv
    elif kty == "OKP" and crv == "Ed25519":
        key_type = "Ed25519"
    else:
        described = " ".join(str(part) for part in (kty, crv) if part)[:60] or "(none)"
        raise KeyResolutionError(f"The key type {described} is not supported.")
    try:
        return JWK(**jwk), key_type
    except (JWException, ValueError, TypeError) as error:
        raise KeyResolutionError("The key is malformed.", Status.INVALID) from error


# --- identifiers ------------------------------------------------------------------------------------

def _identifier_kind(identifier: str | None) -> str | None:
    """Classify an issuer id: "did", "web" (http/https URL), "opaque" (urn:…), or None."""
    if not identifier:
        return None
    if identifier.startswith("did:"):
        return "did"
    scheme = _scheme(identifier)
    if scheme in ("http", "https"):
        return "web"
    return "opaque" if scheme else None


def _scheme(reference: str) -> str:
    """Return the lower-cased URI scheme of `reference` (RFC 3986 §3.1), or "" if it has none."""
    match = _SCHEME.match(reference)
    return match.group(1).lower() if match else ""


def _origin(url: str) -> tuple[str, str, int | None]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return ("", "", None)
    scheme = parts.scheme.lower()
    return (scheme, (parts.hostname or "").lower(), port or {"https": 443, "http": 80}.get(scheme))


def _short(text: str, limit: int = 90) -> str:
    """Shorten an identifier for a message (keys and DIDs can be hundreds of characters long)."""
    return text if len(text) <= limit else text[: limit - 20] + "…" + text[-12:]
