"""JSON-LD with pinned contexts: frozen loader, strict expansion, bounded and memoised canonicalisation."""
from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pyld import jsonld as pyld
from pyld.jsonld import JsonLdError

from tests.support.servers import DocumentServer, Response
from wallet.services.verification import jsonld
from wallet.services.verification.errors import JsonLdProblem

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "conformance" / "1edtech"
CONTEXTS = Path(jsonld.__file__).with_name("contexts")
V2 = "https://www.w3.org/ns/credentials/v2"
OB3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
# Every signed corpus credential whose contexts are all pinned.
SIGNED = [
    "ob30/simple.json", "ob30/simple-did-key-method.json", "ob30/simple-eddsa-2022.json", "ob30/simple_v1.json",
    "ob30/complete.json", "ob30/endorsement-valid.json", "ob30/sd/derivedcredential.json",
    "ob30/simple-context-version.json", "ob30/credential-status-revoked.json",
    "ob30/bit-string-list/credential-status-revoked-blank-nodes.json", "ob30/bit-string-list/testlist",
    "clr20/simple.json", "clr20/simple_v1.json", "clr20/complex.json",
]


def _corpus(name: str) -> dict[str, Any]:
    return json.loads((CORPUS / name).read_text("utf-8"))


def _plain_pyld(doc: dict[str, Any]) -> str:
    """Canonicalise with unmodified pyld, handing it a fresh copy of each pinned context."""
    def load(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
        return {"contextUrl": None, "documentUrl": url, "document": copy.deepcopy(jsonld.KNOWN_CONTEXTS[url])}
    return pyld.normalize(doc, {"algorithm": "URDNA2015", "format": "application/n-quads", "documentLoader": load})


def _parts(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The document without proofs, and each proof configuration: what a verifier canonicalises."""
    proofs = doc["proof"] if isinstance(doc["proof"], list) else [doc["proof"]]
    unsecured = {k: v for k, v in doc.items() if k != "proof"}
    configs = [{**{k: v for k, v in p.items() if k != "proofValue"}, "@context": doc["@context"]} for p in proofs]
    return [unsecured, *configs]


def _badge(name: str = "Badge") -> dict[str, Any]:
    return {
        "@context": [V2, OB3],
        "id": "urn:uuid:0c2a8a0a-2a4f-4b8e-9d3c-5b1f0f1e2d3c",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": "did:example:issuer", "type": ["Profile"], "name": "Example College"},
        "validFrom": "2026-01-01T00:00:00Z",
        "name": name,
        "credentialSubject": {"type": ["AchievementSubject"], "achievement": {
            "id": "https://college.example/a/1", "type": ["Achievement"], "name": name,
            "criteria": {"narrative": "Do it."}}},
    }


def test_known_contexts_are_loaded_lazily_not_on_import() -> None:
    code = ("import wallet.services.verification.jsonld as j; "
            "print(j.KNOWN_CONTEXTS._documents is None)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "True"


def test_known_contexts_match_the_index_and_files() -> None:
    index = json.loads((CONTEXTS / "index.json").read_text("utf-8"))
    assert set(jsonld.KNOWN_CONTEXTS) == set(index)
    assert jsonld.KNOWN_CONTEXTS[V2] == json.loads((CONTEXTS / index[V2]).read_text("utf-8"))


def test_document_loader_pinned_context_is_served_without_copying() -> None:
    first = jsonld.document_loader(V2)
    assert first["document"] is jsonld.document_loader(V2)["document"]
    assert first["documentUrl"] == V2 and first["tag"] == "static"


def test_document_loader_unknown_url_raises_without_fetching(document_server: DocumentServer) -> None:
    document_server.routes["/context.json"] = Response(b'{"@context": {}}')
    url = document_server.url("/context.json")
    with pytest.raises(JsonLdError, match="not one Wallet knows"):
        jsonld.document_loader(url)
    assert document_server.requests == []


def test_unknown_contexts_top_level_nested_scoped_and_imported_are_found() -> None:
    doc = {
        "@context": [V2, "https://evil.example/top", {"term": {"@id": "https://x.example/t",
                                                              "@context": "https://evil.example/scoped"}}],
        "credentialSubject": {"@context": {"@import": "https://evil.example/import"},
                              "items": [{"@context": "https://evil.example/nested"}]},
    }
    assert jsonld.unknown_contexts(doc) == [
        "https://evil.example/top", "https://evil.example/scoped",
        "https://evil.example/import", "https://evil.example/nested",
    ]


def test_unknown_contexts_pinned_only_is_empty() -> None:
    assert jsonld.unknown_contexts(_corpus("ob30/simple.json")) == []


@pytest.mark.parametrize("name", SIGNED)
def test_canonize_matches_plain_pyld_on_corpus_credentials(name: str) -> None:
    # The memoised context processing must not change a single byte of the N-Quads.
    for part in _parts(_corpus(name)):
        assert jsonld.canonize(part) == _plain_pyld(part)


def test_canonize_interleaved_documents_give_their_own_results() -> None:
    first, second = _badge("First"), _badge("Second")
    assert jsonld.canonize(first) == _plain_pyld(first)
    assert jsonld.canonize(second) == _plain_pyld(second)
    assert jsonld.canonize(first) != jsonld.canonize(second)
    assert '"First"' in jsonld.canonize(first)


def test_canonize_leaves_pinned_contexts_unchanged() -> None:
    for name in SIGNED:
        for part in _parts(_corpus(name)):
            jsonld.canonize(part)
    index = json.loads((CONTEXTS / "index.json").read_text("utf-8"))
    for url, file in index.items():
        assert jsonld.KNOWN_CONTEXTS[url] == json.loads((CONTEXTS / file).read_text("utf-8")), url


def test_canonize_does_not_modify_the_document() -> None:
    doc = _badge()
    before = copy.deepcopy(doc)
    jsonld.canonize(doc)
    assert doc == before


def test_canonize_undefined_property_is_refused() -> None:
    doc = _badge()
    doc["credentialSubject"]["favouriteColour"] = "blue"
    with pytest.raises(JsonLdProblem, match="do not define"):
        jsonld.canonize(doc)


def test_canonize_undefined_type_is_refused() -> None:
    doc = {"@context": {"name": "https://schema.org/name"}, "@type": "Undefined", "name": "x"}
    with pytest.raises(JsonLdProblem, match='type "Undefined" is not defined'):
        jsonld.canonize(doc)


def test_canonize_type_plain_pyld_would_resolve_against_a_made_up_base_is_refused() -> None:
    # complete_v1.json's refreshService type "1EdTechCredentialRefresh" is not defined by its
    # contexts; pyld would sign it as <http://example.org/base/1EdTechCredentialRefresh>.
    doc = _corpus("ob30/complete_v1.json")
    doc.pop("proof")
    assert "http://example.org/base/1EdTechCredentialRefresh" in _plain_pyld(doc)
    with pytest.raises(JsonLdProblem, match='type "1EdTechCredentialRefresh" is not defined'):
        jsonld.canonize(doc)


def test_canonize_relative_id_is_refused() -> None:
    doc = _badge()
    doc["id"] = "just-a-name"
    with pytest.raises(JsonLdProblem, match="not an absolute IRI"):
        jsonld.canonize(doc)


def test_canonize_unknown_context_is_refused_without_fetching(document_server: DocumentServer) -> None:
    document_server.routes["/context.json"] = Response(b'{"@context": {"name": "https://schema.org/name"}}')
    doc = {"@context": document_server.url("/context.json"), "name": "x"}
    with pytest.raises(JsonLdProblem, match="not one Wallet knows"):
        jsonld.canonize(doc)
    assert document_server.requests == []


@pytest.mark.parametrize("context", ["context.json", "", "//contexts.example/v1", {"@import": "context.json"}])
def test_canonize_relative_context_reference_is_refused_not_a_crash(context: Any) -> None:
    # pyld raises a plain ValueError for a context IRI it cannot resolve without a base.
    doc = _badge()
    doc["@context"] = [V2, context]
    with pytest.raises(JsonLdProblem, match="not valid JSON-LD"):
        jsonld.canonize(doc)
    with pytest.raises(JsonLdProblem, match="not valid JSON-LD"):
        jsonld.expand(doc)


def test_canonize_protected_term_redefinition_is_refused() -> None:
    doc = _badge()
    doc["@context"] = [V2, {"name": "https://evil.example/name"}]
    with pytest.raises(JsonLdProblem, match="protected"):
        jsonld.canonize(doc)


def test_canonize_oversize_document_is_refused() -> None:
    doc = _badge()
    doc["description"] = "x" * (jsonld.MAX_DOCUMENT_CHARS + 1)
    with pytest.raises(JsonLdProblem, match="too large"):
        jsonld.canonize(doc)


def test_canonize_too_many_objects_is_refused() -> None:
    doc = {"@context": {"@vocab": "https://example.org/#"},
           "item": [{"a": {"n": i}, "b": {"n": -i}} for i in range(jsonld.MAX_OBJECTS // 3 + 1)]}
    with pytest.raises(JsonLdProblem, match="too many parts"):
        jsonld.canonize(doc)


def test_canonize_long_list_is_refused() -> None:
    # pyld compares each value of a property with all earlier ones: a long list costs its square.
    doc = {"@context": {"@vocab": "https://example.org/#"}, "tag": [f"t{i}" for i in range(600)]}
    with pytest.raises(JsonLdProblem, match="lists too long"):
        jsonld.canonize(doc)


def test_canonize_poison_graph_is_refused() -> None:
    # RDFC-1.0 §7: blank nodes that all look alike and all link to each other make the
    # N-degree hashing explore permutations; a clique of 8 is already refused.
    nodes = [{"@id": f"_:n{i}", "https://example.org/p": [{"@id": f"_:n{j}"} for j in range(8) if j != i]}
             for i in range(8)]
    with pytest.raises(JsonLdProblem, match="too costly"):
        jsonld.canonize({"@graph": nodes})


def test_canonize_many_alike_blank_nodes_in_a_credential_are_accepted() -> None:
    doc = _badge()
    doc["credentialSubject"]["result"] = [{"type": ["Result"], "value": "A"} for _ in range(50)]
    assert jsonld.canonize(doc) == _plain_pyld(doc)


def test_canonize_non_json_value_is_refused() -> None:
    with pytest.raises(JsonLdProblem, match="not plain JSON"):
        jsonld.canonize({"@context": V2, "name": float("nan")})


def test_expand_returns_absolute_iris() -> None:
    expanded = jsonld.expand(_badge())
    assert expanded[0]["@type"] == ["https://www.w3.org/2018/credentials#VerifiableCredential",
                                    "https://purl.imsglobal.org/spec/vc/ob/vocab.html#OpenBadgeCredential"]
    assert expanded[0]["https://schema.org/name"] == [{"@value": "Badge"}]


def test_expand_undefined_property_is_refused() -> None:
    doc = _badge()
    doc["unknownThing"] = 1
    with pytest.raises(JsonLdProblem, match="do not define"):
        jsonld.expand(doc)

