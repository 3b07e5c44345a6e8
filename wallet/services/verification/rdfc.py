r"""RDFC-1.0 (URDNA2015) canonicalisation of an RDF dataset, bounded in work and time.

pyld's URDNA2015 does the algorithm; `BoundedURDNA2015` limits the Hash N-Degree Quads work a
crafted ("poison") graph can demand (RDFC-1.0 §7, docs/security.md B3), and writes N-Quads itself:
pyld writes each quad once for every blank node in it and again for the result, after a deep copy.
Literals are escaped as canonical N-Quads require (RDFC-1.0 refers to RDF 1.2 N-Quads, "Canonical
N-Quads"): \b, \t, \n, \f, \r, \" and \\ as ECHAR, the other control characters (U+0000-U+001F,
U+007F) as \uXXXX with upper-case hex, like jsonld.js (rdf-canonize). pyld writes those other control
characters raw, so a credential with one, signed by another implementation, would not verify
(docs/verification.md). Otherwise the output is pyld's to the byte:
tests/verification/test_canonicalisation.py runs the W3C RDFC-1.0 test vectors (tests/fixtures/rdfc10)
and compares with pyld on varied and generated documents.
"""
from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from pyld.canon import URDNA2015
from pyld.identifier_issuer import IdentifierIssuer
from pyld.jsonld import RDF_LANGSTRING, XSD_STRING

from wallet.services.verification.errors import JsonLdProblem

# RDFC-1.0 §4.8 (Hash N-Degree Quads) can take factorial time on crafted graphs; real credentials
# need about one call per blank node that shares its first-degree hash with another.
MAX_DEEP_HASHES_PER_BLANK_NODE = 50
MAX_CANON_SECONDS = 5.0


def canonical_nquads(dataset: dict[str, list[dict[str, Any]]]) -> str:
    """Return the canonical N-Quads of a pyld RDF dataset (JsonLdProblem if it is too costly to canonicalise)."""
    return BoundedURDNA2015(dataset).main(dataset, {"format": "application/n-quads"})


class BoundedURDNA2015(URDNA2015):
    """URDNA2015 with limits on deep hashing work and time (RDFC-1.0 §7, B3).

    `main` and `hash_first_degree_quads` are pyld's steps with N-Quads written directly: each
    quad's terms are written once (pyld writes the quad again for every blank node in it, and for
    the result), and only its blank nodes are relabelled, without copying the quad. The Hash
    N-Degree Quads algorithm (§4.8) is pyld's.
    """

    def __init__(self, dataset: dict[str, list[dict[str, Any]]]) -> None:
        super().__init__()
        self._blank_graphs = {name for name in dataset if name.startswith("_:")}
        self._deep_left = 0  # set by main, from the number of blank nodes
        self._deadline = time.monotonic() + MAX_CANON_SECONDS
        # id(quad) -> its terms in N-Quads, written once (a blank node's label instead, to be relabelled)
        self._parts: dict[int, tuple[str | None, str, str, str | None, str, str | None, str]] = {}

    def main(self, dataset: dict[str, list[dict[str, Any]]], options: dict[str, Any]) -> Any:
        """RDFC-1.0 §4.4, the canonicalization algorithm, as pyld's URDNA2015.main, to N-Quads."""
        if options.get("format") not in ("application/n-quads", "application/nquads"):
            return super().main(dataset, options)
        # 2) Every quad, with a reference from each of its blank nodes (in pyld's order, repeats kept).
        info = self.blank_node_info
        for graph_name, triples in dataset.items():
            for quad in triples:
                if graph_name != "@default":
                    quad["name"] = {"type": "blank node" if graph_name.startswith("_:") else "IRI", "value": graph_name}
                self.quads.append(quad)
                for position in ("subject", "object", "name"):
                    component = quad.get(position)
                    if component is not None and component["type"] == "blank node":
                        info.setdefault(component["value"], {"quads": []})["quads"].append(quad)
                self._parts[id(quad)] = _quad_parts(quad)
        self._deep_left = MAX_DEEP_HASHES_PER_BLANK_NODE * max(len(self._blank_graphs.union(info)), 1)
        # 3)-5) Issue canonical identifiers to blank nodes with unique first-degree hashes, repeatedly.
        non_normalized = set(info)
        simple = True
        while simple:
            simple = False
            self.hash_to_blank_nodes = {}
            for id_ in non_normalized:
                self.hash_to_blank_nodes.setdefault(self.hash_first_degree_quads(id_), []).append(id_)
            for hash_, id_list in sorted(self.hash_to_blank_nodes.items()):
                if len(id_list) > 1:
                    continue
                self.canonical_issuer.get_id(id_list[0])
                non_normalized.remove(id_list[0])
                del self.hash_to_blank_nodes[hash_]
                simple = True
        # 6) The rest by Hash N-Degree Quads, in order of their first-degree hash.
        for _hash, id_list in sorted(self.hash_to_blank_nodes.items()):
            hash_path_list = []
            for id_ in id_list:
                if self.canonical_issuer.has_id(id_):
                    continue
                issuer = IdentifierIssuer("_:b")
                issuer.get_id(id_)
                hash_path_list.append(self.hash_n_degree_quads(id_, issuer))
            for result in sorted(hash_path_list, key=lambda r: r["hash"]):
                for existing in result["issuer"].order:
                    self.canonical_issuer.get_id(existing)
        # 7)-8) Every quad with canonical blank node identifiers, in code point order.
        canonical = self.canonical_issuer.get_id
        return "".join(sorted(self._quad_text(quad, canonical) for quad in self.quads))

    def hash_first_degree_quads(self, id_: str) -> str:
        """RDFC-1.0 §4.6: hash the quads of a blank node, itself written _:a and any other _:z."""
        info = self.blank_node_info[id_]
        if "hash" not in info:
            nquads = sorted(self._quad_text(quad, lambda value: "_:a" if value == id_ else "_:z")
                            for quad in info["quads"])
            info["hash"] = self.hash_nquads(nquads)
        return info["hash"]

    def _quad_text(self, quad: dict[str, Any], blank: Callable[[str], str]) -> str:
        """The quad in N-Quads (pyld.nquads.serialize_nquad), each blank node written as `blank` says."""
        subject_blank, subject, predicate, object_blank, object_, name_blank, name = self._parts[id(quad)]
        text = (subject if subject_blank is None else blank(subject_blank) + " ") + predicate
        text += object_ if object_blank is None else blank(object_blank)
        return text + (name if name_blank is None else " " + blank(name_blank)) + " .\n"

    def hash_n_degree_quads(self, id_: str, issuer: Any) -> dict[str, Any]:
        self._deep_left -= 1
        if self._deep_left < 0 or time.monotonic() > self._deadline:
            raise JsonLdProblem("The document is built in a way that makes it too costly to check.")
        return super().hash_n_degree_quads(id_, issuer)


def _quad_parts(quad: dict[str, Any]) -> tuple[str | None, str, str, str | None, str, str | None, str]:
    """A quad's terms as pyld.nquads.serialize_nquad writes them, each blank node as its label (to relabel):
    (subject label, "<subject> ", "<predicate> ", object label, object, graph label, " <graph>")."""
    subject, predicate, object_, name = quad["subject"], quad["predicate"], quad["object"], quad.get("name")
    subject_blank = subject["value"] if subject["type"] == "blank node" else None
    object_blank = object_["value"] if object_["type"] == "blank node" else None
    name_blank = name["value"] if name is not None and name["type"] == "blank node" else None
    return (subject_blank, "" if subject_blank is not None else f"<{subject['value']}> ",
            (f"<{predicate['value']}>" if predicate["type"] == "IRI" else predicate["value"]) + " ",
            object_blank, "" if object_blank is not None else _term_text(object_),
            name_blank, "" if name is None or name_blank is not None else f" <{name['value']}>")


# Canonical N-Quads escapes in a literal (RDF 1.2 N-Quads, "Canonical N-Quads").
_LITERAL_ESCAPES = {**{chr(code): f"\\u{code:04X}" for code in [*range(0x20), 0x7F]},
                    "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r", '"': '\\"', "\\": "\\\\"}
_NEEDS_ESCAPE = re.compile('[\x00-\x1f\x7f"\\\\]')


def escape_literal(value: str) -> str:
    """A literal's lexical form as canonical N-Quads write it, between its quotes."""
    if _NEEDS_ESCAPE.search(value) is None:
        return value
    return _NEEDS_ESCAPE.sub(lambda match: _LITERAL_ESCAPES[match[0]], value)


def _term_text(term: dict[str, Any]) -> str:
    """An IRI or a literal in canonical N-Quads (pyld.nquads.serialize_nquad, with escape_literal)."""
    if term["type"] == "IRI":
        return f"<{term['value']}>"
    text = '"' + escape_literal(term["value"]) + '"'
    if term["datatype"] == RDF_LANGSTRING:
        return text + "@" + term["language"] if term.get("language") else text
    return text if term["datatype"] == XSD_STRING else f"{text}^^<{term['datatype']}>"
