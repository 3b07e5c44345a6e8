r"""Canonicalisation stays byte-identical to plain pyld and to the W3C RDFC-1.0 test vectors.

jsonld.py leaves pyld's deep copy out of expansion, memoises IRI expansion per frozen context and
relabels blank nodes in RDFC-1.0 §4.6 without deep copies: none of it may change a byte of output.
The vectors in tests/fixtures/rdfc10 are the W3C RDF Dataset Canonicalization test suite
(https://w3c.github.io/rdf-canon/tests/, licence beside them).

Wallet writes literals as RDFC-1.0's canonical N-Quads do (\b, \f and \uXXXX for control
characters) where pyld writes them raw, so "plain pyld" here is pyld with that escaping
(`_rdfc_escaping`); everything else is pyld's own.
"""
from __future__ import annotations

import contextlib
import copy
import csv
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyld import jsonld as pyld
from pyld import nquads as pyld_nquads
from pyld.canon import URDNA2015
from pyld.nquads import parse_nquads

from wallet.services.verification import jsonld, rdfc
from wallet.services.verification.errors import JsonLdProblem

VECTORS = Path(__file__).resolve().parents[1] / "fixtures" / "rdfc10"
V2 = "https://www.w3.org/ns/credentials/v2"
V1 = "https://www.w3.org/2018/credentials/v1"
OB3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
DI = "https://w3id.org/security/data-integrity/v2"


def _manifest() -> list[dict[str, str]]:
    with (VECTORS / "manifest.csv").open(newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


# Vectors that unmodified pyld gets wrong: its N-Quads writer escapes only \\ \t \n \r and \"
# (pyld.nquads.escape), where RDFC-1.0 also writes \b, \f and \uXXXX for other control characters.
PYLD_NQUADS_DIFFERENCES = {"test060"}
# Evaluation tests with SHA-256 (the hash eddsa-rdfc-2022 uses); test075 is the one with SHA-384.
EVALUATION = [row["test"] for row in _manifest() if row["rdfc10"] == "TRUE" and not row["hashAlgorithm"]]
POISON = [row["test"] for row in _manifest() if row["rdfc10"] == "RDFC10NegativeEvalTest"]

_ECHARS = {"t": "\t", "b": "\b", "n": "\n", "r": "\r", "f": "\f", '"': '"', "'": "'", "\\": "\\"}
_ESCAPE_SEQUENCE = re.compile(r'\\(?:([tbnrf"\'\\])|u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8}))')


def _unescape(text: str) -> str:
    """Undo N-Quads ECHAR and UCHAR escapes in one pass (pyld's reader undoes only some, in several)."""
    return _ESCAPE_SEQUENCE.sub(lambda m: _ECHARS[m[1]] if m[1] else chr(int(m[2] or m[3], 16)), text)


def _read_nquads(text: str) -> dict[str, list[dict[str, Any]]]:
    """pyld's N-Quads reader, with every escape in literals and IRIs undone (RDF 1.1 N-Quads §3)."""
    original = pyld_nquads.unescape
    pyld_nquads.unescape = _unescape  # the reader looks it up in its module for each literal
    try:
        dataset = parse_nquads(text)
    finally:
        pyld_nquads.unescape = original
    unescaped: dict[str, list[dict[str, Any]]] = {}
    for name, quads in dataset.items():
        for quad in quads:
            for term in (quad["subject"], quad["predicate"], quad["object"]):
                if term["type"] == "IRI":
                    term["value"] = _unescape(term["value"])
            if "datatype" in quad["object"]:
                quad["object"]["datatype"] = _unescape(quad["object"]["datatype"])
        # Graph names written differently (escaped or not) are one graph.
        unescaped.setdefault(name if name.startswith("_:") or name == "@default" else _unescape(name), []).extend(quads)
    return unescaped


def _rdfc_escape(value: str) -> str:
    """A literal's characters as canonical N-Quads write them (RDFC-1.0, RDF 1.2 N-Quads "Canonical N-Quads")."""
    out = []
    for character in value:
        if character in '"\\':
            out.append("\\" + character)
        elif character in "\b\t\n\f\r":
            out.append({"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}[character])
        elif ord(character) < 0x20 or ord(character) == 0x7F:
            out.append(f"\\u{ord(character):04X}")
        else:
            out.append(character)
    return "".join(out)


@contextlib.contextmanager
def _rdfc_escaping() -> Iterator[None]:
    """Make pyld's N-Quads writer escape literals as RDFC-1.0 does, for the reference output."""
    original = pyld_nquads.escape
    pyld_nquads.escape = _rdfc_escape  # serialize_nquad looks it up in its module for each literal
    try:
        yield
    finally:
        pyld_nquads.escape = original


def _plain_pyld(doc: dict[str, Any]) -> str:
    """Canonicalise with pyld (RDFC-1.0 escaping), handing it a fresh copy of each pinned context."""
    def load(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
        return {"contextUrl": None, "documentUrl": url, "document": copy.deepcopy(jsonld.KNOWN_CONTEXTS[url])}
    with _rdfc_escaping():
        return pyld.normalize(doc, {"algorithm": "URDNA2015", "format": "application/n-quads", "documentLoader": load})


def _plain_expand(doc: dict[str, Any]) -> list[dict[str, Any]]:
    def load(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
        return {"contextUrl": None, "documentUrl": url, "document": copy.deepcopy(jsonld.KNOWN_CONTEXTS[url])}
    return pyld.expand(doc, {"documentLoader": load, "base": None})


def _canonical_dataset(nquads: str) -> str:
    return rdfc.canonical_nquads(_read_nquads(nquads))


@pytest.mark.parametrize("test", EVALUATION)
def test_bounded_urdna2015_w3c_vector_gives_the_expected_canonical_form(test: str) -> None:
    given_nquads = (VECTORS / f"{test}-in.nq").read_text("utf-8")
    expected = (VECTORS / f"{test}-rdfc10.nq").read_text("utf-8")
    assert _canonical_dataset(given_nquads) == expected
    with _rdfc_escaping():
        assert URDNA2015().main(_read_nquads(given_nquads), {"format": "application/n-quads"}) == expected


@pytest.mark.parametrize("test", sorted(PYLD_NQUADS_DIFFERENCES))
def test_bounded_urdna2015_w3c_escaping_vector_differs_from_unmodified_pyld(test: str) -> None:
    # Fails once pyld writes literals as RDFC-1.0 does: then _rdfc_escaping can go.
    given = _read_nquads((VECTORS / f"{test}-in.nq").read_text("utf-8"))
    plain = URDNA2015().main(given, {"format": "application/n-quads"})
    assert plain != (VECTORS / f"{test}-rdfc10.nq").read_text("utf-8")


def test_canonize_control_characters_are_written_as_rdfc10_escapes() -> None:
    doc = _credential(name="a\x00b\x07c\x08d\x0be\x0cf\x1fg\x7fh\ti\nj\rk\"l\\m\u0080\u00e9")
    jsonld.CANONICAL_FORMS.clear()
    canonical = jsonld.canonize(doc)
    assert '"a\\u0000b\\u0007c\\bd\\u000Be\\ff\\u001Fg\\u007Fh\\ti\\nj\\rk\\"l\\\\m\u0080\u00e9"' in canonical
    assert not re.search("[\x00-\x1f\x7f]", canonical.replace("\n", ""))


@pytest.mark.parametrize("test", POISON)
def test_bounded_urdna2015_w3c_poison_vector_is_refused(test: str) -> None:
    with pytest.raises(JsonLdProblem, match="too costly"):
        _canonical_dataset((VECTORS / f"{test}-in.nq").read_text("utf-8"))


def _credential(**extra: Any) -> dict[str, Any]:
    subject: dict[str, Any] = {"type": ["AchievementSubject"], "achievement": {
        "id": "https://college.example/a/1", "type": ["Achievement"], "name": "Badge",
        "criteria": {"narrative": "Do it."}}}
    subject.update(extra.pop("subject", {}))
    return {"@context": [V2, OB3], "id": "urn:uuid:1b7c3e62-7d8e-4f57-9f3e-8a2b1c0d9e4f",
            "type": ["VerifiableCredential", "OpenBadgeCredential"],
            "issuer": {"id": "did:example:issuer", "type": ["Profile"], "name": "Example College"},
            "validFrom": "2026-01-01T00:00:00Z", "name": "Badge", "credentialSubject": subject, **extra}


VARIED = {
    "plain": _credential(),
    "escapes and unicode": _credential(name='Line\nbreak, tab\t, quote " and backslash \\ \u00e9\u4e2d\U0001f600\u0007'),
    "numbers and booleans": _credential(subject={
        "creditsEarned": 2.5, "identifier": [{"type": "IdentityObject", "identityHash": "a@b.example",
                                              "identityType": "emailAddress", "hashed": False, "salt": "x"}]}),
    "alike blank nodes": _credential(subject={"result": [
        {"type": ["Result"], "value": "A"}, {"type": ["Result"], "value": "A"}, {"type": ["Result"], "value": "B"}]}),
    "nested blank nodes": _credential(evidence=[{"type": ["Evidence"], "name": "One"},
                                                {"type": ["Evidence"], "name": "One"}]),
    "v1 credential": {**_credential(), "@context": [V1, OB3], "issuanceDate": "2026-01-01T00:00:00Z"},
    "inline context with @vocab and a language": {
        "@context": [V2, {"@vocab": "https://vocab.example/", "@language": "fr", "titre": {"@id": "https://vocab.example/t"}}],
        "type": ["VerifiableCredential"], "issuer": "did:example:i", "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {"titre": "Bonjour", "free": "text", "count": 3}},
    "inline list container and typed values": {
        "@context": [V2, {"steps": {"@id": "https://vocab.example/steps", "@container": "@list"},
                          "when": {"@id": "https://vocab.example/when",
                                   "@type": "http://www.w3.org/2001/XMLSchema#dateTime"},
                          "doc": {"@id": "https://vocab.example/doc", "@type": "@json"},
                          "big": "https://vocab.example/big"}],
        "type": ["VerifiableCredential"], "issuer": "did:example:i", "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {"steps": ["one", {"@id": "https://x.example/2"}, 3, True],
                              "when": "2026-02-03T04:05:06Z", "doc": {"b": [1, 2.0], "a": None},
                              "big": [1e21, -0.0, 12345678901234567890]}},
    "node map keywords, duplicates and blank node ids": {
        "@context": [V2, {"@vocab": "https://vocab.example/", "knows": {"@reverse": "https://vocab.example/knownBy"},
                          "g": {"@id": "https://vocab.example/g", "@container": "@graph"},
                          "byIndex": {"@id": "https://vocab.example/byIndex", "@container": "@index"},
                          "seq": {"@id": "https://vocab.example/seq", "@container": "@list"}}],
        "type": ["VerifiableCredential", "_:localType"], "issuer": "did:example:i", "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {
            "id": "_:learner", "knows": {"id": "did:example:friend", "name": "F"}, "g": {"name": "inside"},
            "byIndex": {"one": {"name": "x"}, "two": {"id": "_:learner", "name": "y"}},
            "@included": [{"id": "did:example:other", "name": "o"}],
            "seq": [{"id": "did:example:n"}, {"name": "in a list"}, "text"],
            "same": [{"id": "did:example:n"}, {"id": "did:example:n", "name": "twice", "type": "Thing"},
                     {"id": "did:example:n", "type": ["Thing", "_:other"]}, "a", "a", {"@value": "a"}],
            "empty": []}},
    "property-scoped contexts, one making its own term a reverse property": {
        "@context": [V2, {"@vocab": "https://vocab.example/",
                          "wrapper": {"@id": "https://vocab.example/wrapper",
                                      "@context": {"inner": {"@id": "https://vocab.example/inner", "@type": "@id"}}},
                          "turned": {"@id": "https://vocab.example/turned",
                                     "@context": {"turned": {"@reverse": "https://vocab.example/turnedBy"}}}}],
        "type": ["VerifiableCredential"], "issuer": "did:example:i", "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:s", "wrapper": {"id": "did:example:w", "inner": "https://x.example/i"},
                              "inner": "not an IRI here", "turned": {"id": "did:example:t", "name": "T"}}},
    "proof configuration": {"@context": [V2, OB3], "type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022",
                            "created": "2026-01-01T00:00:00Z", "proofPurpose": "assertionMethod",
                            "verificationMethod": "did:key:z6MkExample#z6MkExample"},
    "data integrity context": {"@context": ["https://www.w3.org/2018/credentials/v1", DI],
                               "type": "DataIntegrityProof", "cryptosuite": "eddsa-2022",
                               "created": "2026-01-01T00:00:00Z", "proofPurpose": "assertionMethod",
                               "verificationMethod": "https://issuer.example/keys#1"},
}


@pytest.mark.parametrize("name", sorted(VARIED))
def test_canonize_varied_document_matches_plain_pyld(name: str) -> None:
    doc = VARIED[name]
    jsonld.CANONICAL_FORMS.clear()
    assert jsonld.canonize(doc) == _plain_pyld(doc)
    assert jsonld.expand(doc) == _plain_expand(doc)


def test_expand_result_shares_nothing_with_the_document() -> None:
    doc = _credential()
    before = copy.deepcopy(doc)
    expanded = jsonld.expand(doc)
    expanded[0].clear()
    assert doc == before


def test_canonize_same_term_under_different_inline_contexts_gives_each_its_own_iri() -> None:
    # IRI expansions are memoised per processed context: a term defined differently elsewhere must not leak.
    first, second = ({"@context": [V2, {"score": f"https://vocab{n}.example/score"}], "type": ["VerifiableCredential"],
                      "issuer": "did:example:i", "validFrom": "2026-01-01T00:00:00Z",
                      "credentialSubject": {"score": "10"}} for n in (1, 2))
    jsonld.CANONICAL_FORMS.clear()
    assert "<https://vocab1.example/score>" in jsonld.canonize(first)
    assert "<https://vocab2.example/score>" in jsonld.canonize(second)
    assert jsonld.canonize(second) == _plain_pyld(second)


def test_canonize_same_term_coerced_differently_under_other_contexts_keeps_each_coercion() -> None:
    # How a property's values expand is memoised per processed context too.
    definitions = [{"@id": "https://vocab.example/v", "@type": "@id"},
                   {"@id": "https://vocab.example/v", "@type": "http://www.w3.org/2001/XMLSchema#integer"},
                   {"@id": "https://vocab.example/v", "@language": "fr"}]
    outputs = set()
    for definition in definitions:
        doc = {"@context": [V2, {"@vocab": "https://terms.example/", "v": definition}], "type": ["VerifiableCredential"],
               "issuer": "did:example:i", "validFrom": "2026-01-01T00:00:00Z",
               "credentialSubject": {"v": "https://x.example/7"}}
        jsonld.CANONICAL_FORMS.clear()
        canonical = jsonld.canonize(doc)
        assert canonical == _plain_pyld(doc)
        outputs.add(canonical)
    assert len(outputs) == len(definitions)


def test_canonize_iri_memo_stays_within_its_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsonld, "_IRI_MEMO_ENTRIES", 40)
    jsonld.clear_caches()
    for number in range(30):
        doc = _credential(subject={"id": f"did:example:learner{number}"}, evidence=[{"type": ["Evidence"]}])
        assert jsonld.canonize(doc) == _plain_pyld(doc)
        assert len(jsonld._EXPANDED_IRIS) <= 40 and len(jsonld._VALUE_PLANS) <= 40
        assert len(jsonld._PROPERTY_PLANS) <= 40 and len(jsonld._CONTAINERS) <= 40
    # all were used
    assert jsonld._EXPANDED_IRIS and jsonld._VALUE_PLANS and jsonld._PROPERTY_PLANS and jsonld._CONTAINERS


def test_canonize_iri_memo_skips_long_values() -> None:
    jsonld.clear_caches()
    long_id = "did:example:" + "x" * (jsonld._IRI_MEMO_CHARS + 1)
    doc = _credential(subject={"id": long_id})
    assert jsonld.canonize(doc) == _plain_pyld(doc)
    assert not any(long_id in key for key in jsonld._EXPANDED_IRIS)


# --- property: generated OB 3.0 credentials canonicalise exactly as plain pyld does ---------------

_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
_RESULT = st.fixed_dictionaries({"type": st.just(["Result"])},
                                optional={"value": _TEXT, "status": st.sampled_from(["Completed", "Enrolled"])})
_ALIGNMENT = st.fixed_dictionaries(
    {"type": st.just(["Alignment"]), "targetName": _TEXT,
     "targetUrl": st.integers(0, 9).map(lambda n: f"https://skills.example/{n}")},
    optional={"targetCode": _TEXT})
_ACHIEVEMENT = st.fixed_dictionaries(
    {"type": st.just(["Achievement"]), "name": _TEXT, "criteria": st.fixed_dictionaries({"narrative": _TEXT})},
    optional={"id": st.integers(0, 3).map(lambda n: f"https://college.example/a/{n}"),
              "description": _TEXT, "tag": st.lists(_TEXT, max_size=3),
              "alignment": st.lists(_ALIGNMENT, max_size=3),
              "creditsAvailable": st.floats(0, 1000, allow_nan=False) | st.integers(0, 10**6),
              "inLanguage": st.sampled_from(["en", "fr-CA"])})
_SUBJECT = st.fixed_dictionaries(
    {"type": st.just(["AchievementSubject"]), "achievement": _ACHIEVEMENT},
    optional={"id": st.integers(0, 3).map(lambda n: f"did:example:learner{n}"),
              "result": st.lists(_RESULT, max_size=3),
              "creditsEarned": st.floats(-1e22, 1e22, allow_nan=False),
              "identifier": st.lists(st.fixed_dictionaries(
                  {"type": st.just("IdentityObject"), "identityHash": _TEXT,
                   "identityType": st.just("emailAddress"), "hashed": st.booleans()}), max_size=2)})
_CREDENTIAL = st.fixed_dictionaries(
    {"@context": st.just([V2, OB3]), "type": st.just(["VerifiableCredential", "OpenBadgeCredential"]),
     "issuer": st.fixed_dictionaries({"id": st.just("did:example:issuer"), "type": st.just(["Profile"]),
                                      "name": _TEXT}),
     "validFrom": st.just("2026-01-01T00:00:00Z"), "name": _TEXT,
     "credentialSubject": _SUBJECT | st.lists(_SUBJECT, min_size=1, max_size=2)},
    optional={"id": st.uuids().map(lambda u: f"urn:uuid:{u}"), "description": _TEXT})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_CREDENTIAL)
def test_canonize_generated_credential_matches_plain_pyld(credential: dict[str, Any]) -> None:
    jsonld.CANONICAL_FORMS.clear()
    assert jsonld.canonize(credential) == _plain_pyld(credential)
    assert jsonld.expand(credential) == _plain_expand(credential)


# --- property: the expansion and node map fast paths are pyld's steps, on documents using many JSON-LD features ---

class _GenericSteps(jsonld._Processor):
    """Wallet's processor with pyld's own expansion and node map steps instead of the fast paths."""

    _expand = pyld.JsonLdProcessor._expand
    _expand_object = pyld.JsonLdProcessor._expand_object
    _create_node_map = pyld.JsonLdProcessor._create_node_map


_VOCAB = "https://vocab.example/"
_TERMS = ["t0", "t1", "t2", "t3", "t4"]
_DEFINITION = st.sampled_from([
    _VOCAB + "plain", {"@id": _VOCAB + "ref", "@type": "@id"}, {"@id": _VOCAB + "set", "@container": "@set"},
    {"@id": _VOCAB + "list", "@container": "@list"}, {"@id": _VOCAB + "index", "@container": "@index"},
    {"@id": _VOCAB + "lang", "@container": "@language"}, {"@id": _VOCAB + "graph", "@container": "@graph"},
    {"@reverse": _VOCAB + "rev"}, {"@id": _VOCAB + "json", "@type": "@json"},
    {"@id": _VOCAB + "int", "@type": "http://www.w3.org/2001/XMLSchema#integer"},
    {"@id": _VOCAB + "scoped", "@context": {"t1": {"@id": _VOCAB + "inner", "@type": "@id"}}},
    {"@id": _VOCAB + "turns", "@context": {"t2": {"@reverse": _VOCAB + "turned"}}},
    {"@id": "@nest"}, {"@id": _VOCAB + "vocab", "@type": "@vocab"}, {"@id": _VOCAB + "fr", "@language": "fr"},
])
_SCALAR = st.one_of(st.sampled_from(["https://x.example/a", "_:b1", "t0", "text", "did:example:n"]),
                    st.integers(-3, 3), st.booleans(), st.just(2.5))
_KEY = st.sampled_from([*_TERMS, *_TERMS, *_TERMS, "free", "@value", "@list", "@set", "@included", "@id", "@type"])
_IDS = st.sampled_from(["https://x.example/a", "did:example:n", "_:b1", "_:b2", "t0", "text"])
_TYPES = st.sampled_from(["t0", "Thing", "https://x.example/T", "_:t"])


def _node_object(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    # Mostly an id, types and terms (the fast path); sometimes keywords and undefined terms (pyld's whole).
    return st.builds(lambda head, rest: {**rest, **head},
                     st.fixed_dictionaries({}, optional={"id": _IDS, "type": _TYPES | st.lists(_TYPES, max_size=2)}),
                     st.dictionaries(_KEY, inner, max_size=4))


_NODE = st.recursive(_SCALAR, lambda inner: st.lists(inner, max_size=3) | _node_object(inner), max_leaves=12)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(definitions=st.fixed_dictionaries({term: _DEFINITION for term in _TERMS}),
       vocab=st.booleans(), body=_node_object(_NODE))
def test_fast_paths_give_pyld_generic_steps_dataset_or_error(definitions: dict[str, Any], vocab: bool,
                                                              body: dict[str, Any]) -> None:
    context: dict[str, Any] = {**definitions, "id": "@id", "type": "@type"}
    if vocab:
        context["@vocab"] = _VOCAB
    doc = {"@context": [V2, context], **body}

    def run(processor: type[jsonld._Processor]) -> Any:
        try:
            return ("dataset", processor().to_rdf(copy.deepcopy(doc), jsonld._options()))
        except (pyld.JsonLdError, JsonLdProblem, ValueError, TypeError, AttributeError, KeyError) as error:
            return ("error", type(error).__name__, str(error))

    jsonld.clear_caches()
    expected = run(_GenericSteps)
    assert run(jsonld._Processor) == expected
    assert run(jsonld._Processor) == expected  # again, with every memo filled
