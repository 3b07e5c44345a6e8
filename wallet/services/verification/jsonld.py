"""JSON-LD for verification: pinned contexts only, strict expansion, bounded RDFC-1.0 canonicalisation.

Rules (docs/security.md B1-B3):
- Contexts come only from the copies in `contexts/` (index.json maps URL -> file). A context URL
  that is not pinned is never fetched: a remote context can change what a signed document means.
- Expansion is strict ("safe mode", as jsonld.js calls it): a property that no context defines,
  or a type or id that stays a relative IRI, is an error instead of being dropped silently, since
  a dropped term would be left out of the signed N-Quads and could be changed freely.
- Processing is bounded in input size, objects, list lengths, quads and canonicalisation work
  (RDFC-1.0 §7, "poison" graphs: rdfc.py), and canonical forms are memoised by content hash, within a
  byte budget (caches.py).

Speed: pyld re-processes the large type-scoped contexts of VC and OB 3.0 (VerifiableCredential,
OpenBadgeCredential, Achievement, DataIntegrityProof, ...) on every call, because it applies them
to a fresh, uncached copy of the active context. `_Processor._process_context` memoises processed
contexts by (active context id, local context); processed contexts are immutable in pyld
(frozendict; pyld's own cache already shares them across calls). The contexts a credential may
name are the pinned ones, a fixed set, but inline contexts are the credential's own: the memo is
bounded by bytes too, counting what each entry adds (its tables, and an inline context it keeps
alive).

A first verification canonicalises two documents (the credential, and the proof configuration
under the same contexts), and pyld's generic paths cost more than the algorithm (measured by
bench/rdfc_node.py; most of the time is expansion). `_Processor` therefore:
- expands a copy parsed from the JSON text already made for the memo key, instead of pyld's deep copy;
- memoises IRI expansion, and what a property's values expand to, per frozen processed context
  (terms repeat across documents; bounded);
- expands plain node objects (an @id, @types and properties with no container beyond @set, no @json
  type and no reverse mapping: a credential's nodes) with what the frozen context says of each key
  looked up once, and arrays and scalars with their property's container looked up once; any other
  object (keywords, containers, @nest, undefined terms) is expanded by pyld whole, and the steps
  kept are pyld's, in its order;
- puts plain node objects and value objects into the node map directly (pyld checks each character
  of a datatype IRI as if it were a list of types, and passes options to every added value);
- makes RDF triples with each subject and predicate checked once, strings and node references directly;
and rdfc.py writes the canonical N-Quads directly.
tests/verification/test_jsonld.py checks that the N-Quads are byte-identical to plain pyld's on
every signed corpus credential, tests/verification/test_canonicalisation.py on varied and generated
documents and against the W3C RDFC-1.0 test vectors.
"""
from __future__ import annotations

import hashlib
import json
import re
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from importlib import resources
from typing import Any, TypeVar

from frozendict import frozendict
from pyld import jsonld as pyld
from pyld.context_resolver import ContextResolver
from pyld.jsonld import RDF_TYPE, XSD_DOUBLE, XSD_STRING, JsonLdError, JsonLdProcessor

from wallet.services.verification import rdfc
from wallet.services.verification.caches import MB, REGISTRY, ByteLRU, estimate_size
from wallet.services.verification.errors import JsonLdProblem

# B3 bounds. A large CLR with dozens of achievements is well under these.
MAX_DOCUMENT_CHARS = 1_000_000
MAX_QUADS = 20_000
MAX_OBJECTS = 5_000
# pyld checks each new value of a property against all earlier ones, so a property with n values
# costs n^2: the sum of squared array lengths is bounded (one array of 500, or many small ones).
MAX_ARRAY_WORK = 250_000
CANONICAL_BYTES = 16 * MB
_CONTEXT_MEMO_BYTES = 16 * MB
_V = TypeVar("_V")


class _PinnedContexts(Mapping[str, dict[str, Any]]):
    """The pinned contexts by URL, read from the package on first use.

    The documents are shared and must not be changed. pyld only ever rewrites relative scoped
    context URLs to absolute ones in place, and the pinned contexts contain none.
    """

    def __init__(self) -> None:
        self._documents: dict[str, dict[str, Any]] | None = None
        self._object_ids: frozenset[int] | None = None
        self._lock = threading.Lock()

    def holds(self, value: Any) -> bool:
        """Tell whether `value` is one of the (never freed) objects inside a pinned context."""
        if self._object_ids is None:
            found: set[int] = set()
            stack: list[Any] = list(self._load().values())
            while stack:
                item = stack.pop()
                if isinstance(item, (dict, list)):
                    found.add(id(item))
                    stack.extend(item.values() if isinstance(item, dict) else item)
            self._object_ids = frozenset(found)
        return id(value) in self._object_ids

    def _load(self) -> dict[str, dict[str, Any]]:
        if self._documents is None:
            with self._lock:
                if self._documents is None:
                    folder = resources.files("wallet.services.verification") / "contexts"
                    index = json.loads((folder / "index.json").read_text("utf-8"))
                    self._documents = {url: json.loads((folder / name).read_text("utf-8"))
                                       for url, name in index.items()}
        return self._documents

    def __getitem__(self, url: str) -> dict[str, Any]:
        return self._load()[url]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())


_PINNED = _PinnedContexts()
KNOWN_CONTEXTS: Mapping[str, dict[str, Any]] = _PINNED


def document_loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Serve a pinned context to pyld; any other URL is an error and is never fetched (B1)."""
    document = KNOWN_CONTEXTS.get(url)
    if document is None:
        raise JsonLdError(
            f"The JSON-LD context {url[:200]} is not one Wallet knows, and contexts are never fetched.",
            "jsonld.LoadDocumentError", {"url": url[:200]}, code="loading remote context failed")
    # "static" lets pyld keep the resolved context in its shared cache across calls.
    return {"contextUrl": None, "documentUrl": url, "document": document, "tag": "static"}


def unknown_contexts(doc: Any) -> list[str]:
    """Return the context URLs in `doc` (top level, nested objects, scoped and imported) that are not pinned."""
    found: dict[str, None] = {}
    _collect_context_urls(doc, found)
    return [url for url in found if url not in KNOWN_CONTEXTS]


def canonize(doc: dict[str, Any]) -> str:
    """Return the RDFC-1.0 (URDNA2015) canonical N-Quads of `doc` (JsonLdProblem if it cannot be done safely)."""
    text = _json_text(doc)
    key = hashlib.sha256(text.encode("utf-8")).digest()
    cached = CANONICAL_FORMS.get(key)
    if cached is not None:
        return cached
    _check_size(doc, text)
    with _PYLD_LOCK:
        # pyld's own deep copy of the input is replaced by a copy parsed from the text (_Processor.expand).
        dataset = _run(lambda: _Processor().to_rdf(json.loads(text), _options()))
        nquads = rdfc.canonical_nquads(dataset)
    CANONICAL_FORMS.put(key, nquads)
    return nquads


def expand(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the strict JSON-LD expansion of `doc` (JsonLdProblem for undefined terms or unknown contexts)."""
    text = _json_text(doc)
    _check_size(doc, text)
    with _PYLD_LOCK:
        return _run(lambda: _Processor().expand(json.loads(text), _options()))


def clear_caches() -> None:
    """Forget memoised canonical forms and processed contexts (for measurements)."""
    CANONICAL_FORMS.clear()
    PROCESSED_CONTEXTS.clear()
    _EXPANDED_IRIS.clear()
    _VALUE_PLANS.clear()
    _PROPERTY_PLANS.clear()
    _CONTAINERS.clear()
    pyld._resolved_context_cache.clear()


# --- internals --------------------------------------------------------------------------------------

_PYLD_LOCK = threading.RLock()  # pyld's shared caches are not thread-safe
# Canonical N-Quads by sha256 of the document's JSON text.
CANONICAL_FORMS: ByteLRU[str] = ByteLRU(CANONICAL_BYTES)


def _context_entry_size(entry: tuple[Any, Any]) -> int:
    """The memory one processed context adds: its own tables, and an inline context it keeps alive.

    Its term definitions are shared with the context it extends, or made from the local context.
    """
    local_ctx, result = entry
    size = sys.getsizeof(result) + sys.getsizeof(result.get("mappings", {}))
    if isinstance(local_ctx, (dict, list)) and not _PINNED.holds(local_ctx):
        size += 2 * estimate_size(local_ctx)  # the context and the term definitions made from it
    return size


PROCESSED_CONTEXTS: ByteLRU[tuple[Any, Any]] = ByteLRU(_CONTEXT_MEMO_BYTES, size_of=_context_entry_size)
REGISTRY.on_clear(pyld._resolved_context_cache.clear)

# IRI expansions by (frozen active context id, value, base, vocab): see _Processor._expand_iri.
# Values come from documents, so the memo is bounded by entries and by the length of a value
# (at most _IRI_MEMO_ENTRIES * (_IRI_MEMO_CHARS + ~300) bytes, about 10 MB) and emptied when full.
_IRI_MEMO_ENTRIES = 20_000
_IRI_MEMO_CHARS = 200
_EXPANDED_IRIS: dict[tuple[str, str, Any, bool], str | None] = {}
REGISTRY.on_clear(_EXPANDED_IRIS.clear)
# How values of a property expand, by (frozen active context id, property): see _Processor._expand_value.
_VALUE_PLANS: dict[tuple[str, str], tuple[Any, Any, Any, Any]] = {}
REGISTRY.on_clear(_VALUE_PLANS.clear)
_MISSING = object()
# What a key of a node object is, by (frozen active context id, key): see _Processor._expand_object.
_PROPERTY_PLANS: dict[tuple[str, str], Any] = {}
REGISTRY.on_clear(_PROPERTY_PLANS.clear)
_AN_ID, _A_TYPE, _OTHER = object(), object(), object()
# A property's @container as a list, by (frozen active context id, property): see _Processor._expand.
_CONTAINERS: dict[tuple[str, str], list[Any]] = {}
REGISTRY.on_clear(_CONTAINERS.clear)
# pyld.jsonld._is_absolute_iri's pattern, compiled once.
_ABSOLUTE_IRI = re.compile(r"^([A-Za-z][A-Za-z0-9+-.]*|_):[^\s]*$").match
_KEYWORDS = frozenset(pyld.KEYWORDS)


def _options() -> dict[str, Any]:
    # No base IRI: given "", pyld resolves relative IRIs against http://example.org/base/ and would
    # sign made-up IRIs; left relative, they are refused like jsonld.js "safe mode" does.
    return {"documentLoader": document_loader, "processingMode": "json-ld-1.1", "base": None}


def _json_text(value: Any) -> str:
    """Serialise exactly as given: a faithful (if order-sensitive) memo key, cheaper than sorting keys."""
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise JsonLdProblem("The document is not plain JSON.") from error


def _check_size(doc: dict[str, Any], text: str) -> None:
    """Refuse, before any JSON-LD work, documents whose processing would take too long (B3)."""
    if len(text) > MAX_DOCUMENT_CHARS:
        raise JsonLdProblem(f"The document is too large to check (over {MAX_DOCUMENT_CHARS // 1_000_000} MB).")
    objects = array_work = 0
    stack: list[Any] = [doc]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            objects += 1
            stack.extend(value.values())
        elif isinstance(value, list):
            array_work += len(value) ** 2
            stack.extend(value)
    if objects > MAX_OBJECTS:
        raise JsonLdProblem(f"The document has too many parts to check ({objects} objects; at most {MAX_OBJECTS}).")
    if array_work > MAX_ARRAY_WORK:
        raise JsonLdProblem("The document has lists too long to check.")


def _run(step: Callable[[], _V]) -> _V:
    try:
        return step()
    except JsonLdError as error:
        raise JsonLdProblem(_explain(error)) from error
    except RecursionError as error:
        raise JsonLdProblem("The document is nested too deeply to process.") from error
    except ValueError as error:
        # pyld's IRI resolver raises a bare ValueError for a context reference that is relative
        # (there is no base IRI to resolve it against): malformed input, not a failure of Wallet.
        raise JsonLdProblem(f"The document is not valid JSON-LD: {str(error).strip()[:300]}") from error


def _explain(error: JsonLdError) -> str:
    """Give the innermost pyld message: pyld wraps the specific cause in generic ones."""
    innermost: BaseException = error
    cause = error.__cause__
    while cause is not None:
        if isinstance(cause, JsonLdProblem):
            return str(cause)
        if isinstance(cause, JsonLdError):
            innermost = cause
        cause = cause.__cause__
    message = str(innermost.args[0]) if innermost.args else str(innermost)
    return f"The document is not valid JSON-LD: {message.strip()[:300]}"


def _collect_context_urls(value: Any, found: dict[str, None]) -> None:
    if isinstance(value, list):
        for item in value:
            _collect_context_urls(item, found)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key in ("@context", "@import"):
                for entry in item if isinstance(item, list) else [item]:
                    if isinstance(entry, str):
                        found.setdefault(entry)
                    elif isinstance(entry, dict):
                        # Term definitions can carry scoped contexts and imports of their own.
                        _collect_context_urls(entry, found)
            elif isinstance(item, (dict, list)):
                _collect_context_urls(item, found)


class _Processor(JsonLdProcessor):
    """pyld's processor with strict expansion and memoised context processing."""

    def __init__(self) -> None:
        super().__init__(on_property_dropped=_refuse_dropped_property)

    def expand(self, input_: Any, options: dict[str, Any]) -> list[dict[str, Any]]:
        """JSON-LD 1.1 API §9.1 expand(), for a document this module owns (a fresh parse of its text).

        pyld's expand() first deep-copies its input (JsonLdProcessor.expand); the callers here
        pass a copy already, so the rest of that method is kept and the copy is left out. A
        document that is not an object, or options this module does not use, go through pyld's.
        """
        if not isinstance(input_, dict) or "expandContext" in options:
            expanded = super().expand(input_, options)
        else:
            options = {"documentLoader": document_loader, "isFrame": False, "keepFreeFloatingNodes": False,
                       "extractAllScripts": False, "processingMode": "json-ld-1.1", "base": "", **options}
            if "contextResolver" not in options:
                options["contextResolver"] = ContextResolver(pyld._resolved_context_cache, options["documentLoader"])
            expanded = self._expand(self._get_initial_context(options), None, input_, options, inside_list=False)
            # As pyld: a lone @graph is its nodes; nothing is an empty list; the result is a list.
            if isinstance(expanded, dict) and "@graph" in expanded and len(expanded) == 1:
                expanded = expanded["@graph"]
            elif expanded is None:
                expanded = []
            expanded = JsonLdProcessor.arrayify(expanded)
        _refuse_relative_iris(expanded)
        return expanded

    def _expand_iri(self, active_ctx: Any, value: Any, base: Any = None, vocab: bool = False,
                    local_ctx: Any = None, defined: Any = None) -> Any:
        """pyld's IRI expansion (JSON-LD 1.1 API §4.5), memoised outside context processing.

        Outside context processing (no `local_ctx`), the expansion of a value reads only the
        active context, and a frozen one never changes and has an id of its own (`_uuid`, which
        pyld's inverse-context cache keys on too). Documents repeat the same few terms under the
        same few contexts, so most expansions are looked up.
        """
        if local_ctx is not None or type(active_ctx) is not frozendict or type(value) is not str \
                or len(value) > _IRI_MEMO_CHARS:
            return super()._expand_iri(active_ctx, value, base, vocab, local_ctx, defined)
        key = (active_ctx["_uuid"], value, base, vocab)
        expanded = _EXPANDED_IRIS.get(key, _MISSING)
        if expanded is _MISSING:
            expanded = super()._expand_iri(active_ctx, value, base, vocab)
            if len(_EXPANDED_IRIS) >= _IRI_MEMO_ENTRIES:
                _EXPANDED_IRIS.clear()
            _EXPANDED_IRIS[key] = expanded
        return expanded

    def to_rdf(self, input_: Any, options: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
        dataset = super().to_rdf(input_, options)
        quads = sum(len(triples) for triples in dataset.values())
        if quads > MAX_QUADS:
            raise JsonLdProblem(f"The document is too large to check ({quads} statements; at most {MAX_QUADS}).")
        return dataset

    def _expand_value(self, active_ctx: Any, active_property: Any, value: Any, options: dict[str, Any]) -> Any:
        """pyld's value expansion (JSON-LD 1.1 API §5.3.2), with what it reads from the context memoised.

        What a property's values become (an IRI, a typed or language-tagged literal) depends on
        the property's expansion and its @type, @language and @direction in the active context:
        for a frozen context these are looked up once per property, then applied as pyld does.
        """
        if value is None:
            return None
        if type(active_ctx) is not frozendict or type(active_property) is not str \
                or len(active_property) > _IRI_MEMO_CHARS:
            return super()._expand_value(active_ctx, active_property, value, options)
        key = (active_ctx["_uuid"], active_property)
        plan = _VALUE_PLANS.get(key)
        if plan is None:
            plan = (self._expand_iri(active_ctx, active_property, vocab=True),
                    *(JsonLdProcessor.get_context_value(active_ctx, active_property, entry)
                      for entry in ("@type", "@language", "@direction")))
            if len(_VALUE_PLANS) >= _IRI_MEMO_ENTRIES:
                _VALUE_PLANS.clear()
            _VALUE_PLANS[key] = plan
        expanded_property, type_, language, direction = plan
        base = options.get("base", "")
        if expanded_property == "@id":
            return self._expand_iri(active_ctx, value, base=base)
        if expanded_property == "@type":
            return self._expand_iri(active_ctx, value, vocab=True, base=base)
        is_string = isinstance(value, str)
        if (type_ == "@id" or expanded_property == "@graph") and is_string:
            return {"@id": self._expand_iri(active_ctx, value, base=base)}
        if type_ == "@vocab" and is_string:
            return {"@id": self._expand_iri(active_ctx, value, vocab=True, base=base)}
        if expanded_property in _KEYWORDS:
            return value  # keyword values are not expanded
        expanded: dict[str, Any] = {}
        if type_ is not None and type_ != "@id" and type_ != "@vocab" and type_ != "@none":
            expanded["@type"] = type_
        elif is_string:
            if language is not None:
                expanded["@language"] = language
            if direction is not None:
                expanded["@direction"] = direction
        if not (is_string or isinstance(value, bool) or pyld._is_numeric(value)):
            value = str(value)  # as pyld: values that are not basic JSON types become strings
        expanded["@value"] = value
        return expanded

    def _expand(self, active_ctx: Any, active_property: Any, element: Any, options: dict[str, Any],
                inside_list: bool = False, inside_index: bool = False, type_scoped_ctx: Any = None) -> Any:
        """JSON-LD 1.1 API §5.1.2 (Expansion) steps 1-5, as pyld's, for arrays and scalars under a frozen context.

        An array's container and a scalar's property are looked up once per property and context
        (`_CONTAINERS`, and the memoised IRI expansion); the steps, and their order, are pyld's.
        Node and value objects, the top level and anything under "@default" are pyld's.
        """
        kind = type(element)
        if (kind is dict or element is None or active_property == "@default" or type(active_ctx) is not frozendict
                or type(active_property) is not str or len(active_property) > _IRI_MEMO_CHARS):
            return super()._expand(active_ctx, active_property, element, options, inside_list, inside_index,
                                   type_scoped_ctx)
        if kind is list:
            key = (active_ctx["_uuid"], active_property)
            container = _CONTAINERS.get(key)
            if container is None:
                container = JsonLdProcessor.arrayify(
                    JsonLdProcessor.get_context_value(active_ctx, active_property, "@container"))
                if len(_CONTAINERS) >= _IRI_MEMO_ENTRIES:
                    _CONTAINERS.clear()
                _CONTAINERS[key] = container
            inside_list = inside_list or "@list" in container
            expanded: list[Any] = []
            for item in element:
                item = self._expand(active_ctx, active_property, item, options, inside_list=inside_list,
                                    inside_index=inside_index, type_scoped_ctx=type_scoped_ctx)
                if inside_list and type(item) is list:
                    item = {"@list": item}
                if item is not None:
                    if type(item) is list:
                        expanded.extend(item)
                    else:
                        expanded.append(item)
            return expanded
        if kind is not str and kind is not int and kind is not float and kind is not bool:
            return super()._expand(active_ctx, active_property, element, options, inside_list, inside_index,
                                   type_scoped_ctx)
        # A free-floating scalar (not in a list, under @graph) is dropped.
        if not inside_list and self._expand_iri(active_ctx, active_property, vocab=True) == "@graph":
            return None
        return self._expand_value(active_ctx, active_property, element, options)

    def _expand_object(self, active_ctx: Any, active_property: Any, expanded_active_property: Any, element: Any,
                       expanded_parent: dict[str, Any], options: dict[str, Any], inside_list: bool = False,
                       type_key: Any = None, type_scoped_ctx: Any = None) -> None:
        """JSON-LD 1.1 API §5.1.2 steps 13-14 (each key of a node object), as pyld's, for plain node objects.

        A node object whose keys are all an @id (a string), @types (strings) or properties that
        expand to an absolute IRI with no container other than @set, no @json type and no reverse
        mapping (what a credential's nodes are) is expanded here, with what the frozen active
        context says of each key looked up once (`_property_plan`); scoped contexts are applied,
        values expanded and added as pyld does, in its key order. Anything else (other keywords,
        containers, @nest, undefined terms, framing) is pyld's whole.
        """
        if (type(active_ctx) is not frozendict or expanded_parent or expanded_active_property == "@reverse"
                or options.get("isFrame")):
            super()._expand_object(active_ctx, active_property, expanded_active_property, element, expanded_parent,
                                   options, inside_list, type_key, type_scoped_ctx)
            return
        uuid = active_ctx["_uuid"]
        plans = []
        ids = 0
        for key in sorted(element):
            if key == "@context":
                continue
            plan = _PROPERTY_PLANS.get((uuid, key)) if type(key) is str else None
            if plan is None:
                if type(key) is not str or len(key) > _IRI_MEMO_CHARS:
                    plan = _OTHER
                else:
                    plan = self._property_plan(active_ctx, key)
                    if len(_PROPERTY_PLANS) >= _IRI_MEMO_ENTRIES:
                        _PROPERTY_PLANS.clear()
                    _PROPERTY_PLANS[(uuid, key)] = plan
            value = element[key]
            if plan is _AN_ID:
                ids += 1
                if type(value) is not str or ids > 1:
                    plan = _OTHER  # pyld's error (not a string, colliding keywords)
            elif plan is _A_TYPE:
                if type(value) is list:
                    if not all(type(item) is str for item in value):
                        plan = _OTHER
                elif type(value) is not str:
                    plan = _OTHER
            if plan is _OTHER:
                super()._expand_object(active_ctx, active_property, expanded_active_property, element,
                                       expanded_parent, options, inside_list, type_key, type_scoped_ctx)
                return
            plans.append((key, value, plan))
        base = options.get("base", "")
        for key, value, plan in plans:
            if plan is _AN_ID:
                expanded_parent["@id"] = self._expand_iri(active_ctx, value, base=base)
            elif plan is _A_TYPE:
                JsonLdProcessor.add_value(
                    expanded_parent, "@type",
                    [self._expand_iri(type_scoped_ctx, item, vocab=True, base=base)
                     for item in JsonLdProcessor.arrayify(value)],
                    {"propertyIsArray": False})
            elif type(plan) is str:
                expanded_value = self._expand(active_ctx, key, value, options, inside_list=False)
                if expanded_value is not None:
                    _add_all(expanded_parent, plan, expanded_value)
            else:  # a property with a scoped context, applied as pyld does
                expanded_property, scoped = plan
                term_ctx = self._process_context(active_ctx, scoped, options, propagate=True, override_protected=True)
                expanded_value = self._expand(term_ctx, key, value, options, inside_list=False)
                if expanded_value is None:
                    continue
                mapping = term_ctx["mappings"].get(key)
                if mapping and mapping["reverse"]:
                    # pyld: the scoped context made the term a reverse property
                    reverse_map = expanded_parent.setdefault("@reverse", {})
                    for item in JsonLdProcessor.arrayify(expanded_value):
                        if pyld._is_value(item) or pyld._is_list(item):
                            raise JsonLdError('Invalid JSON-LD syntax; "@reverse" value must not be an @value or an '
                                              "@list.", "jsonld.SyntaxError", {"value": expanded_value},
                                              code="invalid reverse property value")
                        JsonLdProcessor.add_value(reverse_map, expanded_property, item, {"propertyIsArray": True})
                    continue
                _add_all(expanded_parent, expanded_property, expanded_value)

    def _property_plan(self, active_ctx: Any, key: str) -> Any:
        """What _expand_object does with `key` under the frozen `active_ctx`: _AN_ID, _A_TYPE, _OTHER, or
        the absolute IRI of a plain property (see _expand_object)."""
        expanded = self._expand_iri(active_ctx, key, vocab=True)
        if expanded == "@id":
            return _AN_ID
        if expanded == "@type":
            return _A_TYPE
        if (type(expanded) is not str or expanded in _KEYWORDS or not _ABSOLUTE_IRI(expanded)
                or JsonLdProcessor.arrayify(JsonLdProcessor.get_context_value(active_ctx, key, "@container"))
                not in ([None], [], ["@set"])
                or JsonLdProcessor.get_context_value(active_ctx, key, "@type") == "@json"):
            return _OTHER
        scoped = JsonLdProcessor.get_context_value(active_ctx, key, "@context")
        if scoped is not None:
            return (expanded, scoped)  # the reverse mapping is read from the scoped context, when applied
        mapping = active_ctx["mappings"].get(key)
        if mapping and mapping["reverse"]:
            return _OTHER
        return expanded

    def _graph_to_rdf(self, graph: dict[str, Any], issuer: Any, options: dict[str, Any]) -> list[dict[str, Any]]:
        """JSON-LD 1.1 API §8.5 (Deserialize JSON-LD to RDF), as pyld's, with its checks hoisted.

        pyld checks the subject and predicate of every value of every property against its
        absolute-IRI pattern; here each is checked once, and the common objects (strings and node
        references) are made directly (`_object_to_rdf`). The triples, and their order, are pyld's.
        """
        if options.get("produceGeneralizedRdf"):
            return super()._graph_to_rdf(graph, issuer, options)
        triples: list[dict[str, Any]] = []
        for id_, node in sorted(graph.items()):
            if not _ABSOLUTE_IRI(id_):
                continue  # a relative IRI subject: no triple
            subject_type = "blank node" if id_.startswith("_:") else "IRI"
            for property_, items in sorted(node.items()):
                if property_ == "@type":
                    property_ = RDF_TYPE
                elif property_ in _KEYWORDS or not _ABSOLUTE_IRI(property_) or property_.startswith("_:"):
                    continue  # keywords, relative IRIs and blank node predicates make no triple
                for item in items:
                    object_ = self._object_to_rdf(item, issuer, triples, options)
                    if object_ is not None:
                        triples.append({"subject": {"type": subject_type, "value": id_},
                                        "predicate": {"type": "IRI", "value": property_}, "object": object_})
        return triples

    def _object_to_rdf(self, item: Any, issuer: Any, triples: list[dict[str, Any]],
                       options: dict[str, Any]) -> dict[str, Any] | None:
        """pyld's conversion of a value to an RDF term, with the two commonest cases made directly.

        A plain or typed string (not xsd:double, not JSON, no language or direction) is a literal
        of its datatype, xsd:string by default; a node reference is an IRI or a blank node, and a
        relative IRI none (so is a type, a string in the node map). Anything else (numbers,
        booleans, lists, JSON, language-tagged) is pyld's.
        """
        if type(item) is str:  # an @type value in the node map: an IRI or a blank node
            if item.startswith("_:"):
                return {"type": "blank node", "value": item}
            return {"type": "IRI", "value": item} if _ABSOLUTE_IRI(item) else None
        if type(item) is dict:
            value = item.get("@value", _MISSING)
            if type(value) is str:
                datatype = item.get("@type")
                if (datatype != "@json" and datatype != XSD_DOUBLE and "@language" not in item
                        and "@direction" not in item):
                    return {"type": "literal", "value": value, "datatype": datatype or XSD_STRING}
            elif value is _MISSING and "@list" not in item:
                id_ = item["@id"]
                if id_.startswith("_:"):
                    return {"type": "blank node", "value": id_}
                return {"type": "IRI", "value": id_} if _ABSOLUTE_IRI(id_) else None
        return super()._object_to_rdf(item, issuer, triples, options)

    def _create_node_map(self, input_: Any, graph_map: dict[str, Any], active_graph: str, issuer: Any,
                         active_subject: Any = None, active_property: Any = None, list_: Any = None) -> None:
        """JSON-LD 1.1 API §7.2 (Node Map Generation), as pyld's, with arrays and value objects made directly.

        Most calls are for a value object, for which pyld first walks its "@type" as if it were a
        list of types, which for a value is a string: a check of each of its characters (none can
        start a blank node label). The steps kept are pyld's, in its order; nodes, lists and
        anything unusual are pyld's.
        """
        if type(input_) is list:
            for element in input_:
                self._create_node_map(element, graph_map, active_graph, issuer, active_subject, active_property, list_)
            return
        if type(input_) is not dict or (type(active_subject) is not str and active_subject is not None):
            super()._create_node_map(input_, graph_map, active_graph, issuer, active_subject, active_property, list_)
            return
        if "@value" not in input_:
            if not _plain_node(input_):
                super()._create_node_map(input_, graph_map, active_graph, issuer, active_subject, active_property, list_)
                return
            self._plain_node_to_map(input_, graph_map, active_graph, issuer, active_subject, active_property, list_)
            return
        if type(input_.get("@type", "")) is not str:
            super()._create_node_map(input_, graph_map, active_graph, issuer, active_subject, active_property, list_)
            return
        subject_node = graph_map.setdefault(active_graph, {}).get(active_subject) if active_subject is not None else None
        type_ = input_.get("@type")
        if type_ is not None and type_.startswith("_:"):
            input_["@type"] = issuer.get_id(type_)  # relabel a blank node datatype, as pyld
        if list_:
            list_["@list"].append(input_)
        elif subject_node:
            _add_unique(subject_node, active_property, input_)

    def _plain_node_to_map(self, input_: dict[str, Any], graph_map: dict[str, Any], active_graph: str, issuer: Any,
                           active_subject: str | None, active_property: Any, list_: Any) -> None:
        """pyld's node map generation steps for a node object with only @id, @type and properties (_plain_node)."""
        graph = graph_map.setdefault(active_graph, {})
        subject_node = graph.get(active_subject) if active_subject is not None else None
        types = input_.get("@type")
        if types is not None:
            for type_ in types:  # types are labelled first (JSON-LD 1.1 API §7.2 step 3)
                if type_.startswith("_:"):
                    issuer.get_id(type_)
        id_ = input_.get("@id")
        if "@id" not in input_ or str(id_).startswith("_:"):
            id_ = issuer.get_id(id_)
        node = graph.setdefault(id_, {"@id": id_})
        if active_property:
            reference = {"@id": id_}
            if list_:
                list_["@list"].append(reference)
            elif subject_node:
                _add_unique(subject_node, active_property, reference)
        for property_ in sorted(input_):
            if property_ == "@id":
                continue
            objects = input_[property_]
            if len(objects) == 0:
                JsonLdProcessor.add_value(node, property_, [], {"propertyIsArray": True})
            elif property_ == "@type":
                for type_ in objects:
                    _add_unique(node, property_, issuer.get_id(type_) if type_.startswith("_:") else type_)
            else:
                for object_ in objects:
                    self._create_node_map(object_, graph_map, active_graph, issuer, id_, property_)

    def _process_context(self, active_ctx: Any, local_ctx: Any, options: dict[str, Any],
                         override_protected: bool = False, propagate: bool = True,
                         validate_scoped: bool = True, cycles: Any = None) -> Any:
        uuid = active_ctx.get("_uuid") if isinstance(active_ctx, Mapping) else None
        local_key = _context_key(local_ctx)
        if uuid is None or local_key is None:
            return super()._process_context(active_ctx, local_ctx, options, override_protected,
                                            propagate, validate_scoped, cycles)
        key = (uuid, local_key, options.get("base", ""), override_protected, propagate, validate_scoped)
        hit = PROCESSED_CONTEXTS.get(key)
        # An identity-keyed entry only counts for the very same object (ids are reused after free).
        if hit is not None and (local_key[0] != "id" or hit[0] is local_ctx):
            return hit[1]
        result = super()._process_context(active_ctx, local_ctx, options, override_protected,
                                          propagate, validate_scoped, cycles)
        # Only frozen (immutable) active contexts may be shared between calls.
        if isinstance(result, frozendict):
            PROCESSED_CONTEXTS.put(key, (local_ctx, result))
        return result


def _plain_node(input_: dict[str, Any]) -> bool:
    """Tell whether an expanded node object has only @id, @type (strings) and properties (lists), no
    other keyword (@graph, @reverse, @included, @index, ...), no list object and no blank node property."""
    for key, value in input_.items():
        if key == "@id":
            continue
        if type(value) is not list:
            return False
        if key == "@type":
            if not all(type(type_) is str for type_ in value):
                return False
        elif key.startswith("@") or key.startswith("_:") or key in _KEYWORDS:
            return False
    return True


def _add_all(parent: dict[str, Any], property_: str, value: Any) -> None:
    """JsonLdProcessor.add_value(parent, property_, value, propertyIsArray), for a flat list or one value."""
    existing = parent.get(property_, _MISSING)
    if existing is not _MISSING and type(existing) is not list:
        JsonLdProcessor.add_value(parent, property_, value, {"propertyIsArray": True})
    elif type(value) is list:
        if any(type(item) is list for item in value):
            JsonLdProcessor.add_value(parent, property_, value, {"propertyIsArray": True})
        elif existing is _MISSING:
            parent[property_] = list(value)
        else:
            existing.extend(value)
    elif existing is _MISSING:
        parent[property_] = [value]
    else:
        existing.append(value)


def _add_unique(subject: dict[str, Any], property_: str, value: Any) -> None:
    """JsonLdProcessor.add_value(subject, property_, value, propertyIsArray, no duplicates), for a list or no entry."""
    existing = subject.get(property_, _MISSING)
    if type(existing) is list:
        compare = JsonLdProcessor.compare_values
        for other in existing:
            if compare(value, other):
                return
        existing.append(value)
    elif existing is _MISSING:
        subject[property_] = [value]
    else:
        JsonLdProcessor.add_value(subject, property_, value, {"propertyIsArray": True, "allowDuplicate": False})


def _context_key(local_ctx: Any) -> tuple[Any, ...] | None:
    if isinstance(local_ctx, str):
        return ("url", local_ctx)
    if isinstance(local_ctx, list) and all(isinstance(item, str) for item in local_ctx):
        return ("urls", tuple(local_ctx))
    if isinstance(local_ctx, (dict, frozendict, list)):
        return ("id", id(local_ctx))
    return None


def _refuse_dropped_property(expanded_property: str | None) -> None:
    raise JsonLdProblem(
        f"The document uses a property that its JSON-LD contexts do not define"
        f"{f' ({expanded_property[:100]})' if expanded_property else ''}, so it cannot be checked.")


def _refuse_relative_iris(expanded: Any) -> None:
    """Refuse types and ids that stayed relative IRIs: RDF would drop them silently."""
    stack = [expanded]
    while stack:
        value = stack.pop()
        if isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, dict):
            for key, item in value.items():
                if key == "@type":
                    for type_ in item if isinstance(item, list) else [item]:
                        if type_ != "@json" and not _is_absolute_or_blank(type_):
                            raise JsonLdProblem(f'The type "{str(type_)[:100]}" is not defined by the '
                                                "document's JSON-LD contexts.")
                elif key == "@id":
                    if not _is_absolute_or_blank(item):
                        raise JsonLdProblem(f'The identifier "{str(item)[:100]}" is not an absolute IRI.')
                elif key != "@value" and isinstance(item, (dict, list)):
                    # A JSON literal's "@value" is data, not JSON-LD.
                    stack.append(item)


def _is_absolute_or_blank(value: Any) -> bool:
    return isinstance(value, str) and _ABSOLUTE_IRI(value) is not None
