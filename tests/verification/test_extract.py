"""Finding the credential in JSON, compact JWS text and baked PNG/SVG images (docs/security.md C1-C7, D1-D4)."""
from __future__ import annotations

import hashlib
import json
import struct
import zlib
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st
from jwcrypto.jwk import JWK

from wallet.services.errors import FetchError, ImportRejectedError, TooLargeError
from wallet.services.verification import make_context
from wallet.services.verification.context import Context
from wallet.services.verification.errors import MalformedJSONError
from wallet.services.verification.extract import (
    MAX_CREDENTIAL_BYTES,
    MAX_INPUT_BYTES,
    NoCredentialError,
    Presented,
    bake_png,
    bake_svg,
    content_sha256,
    extract,
)
from wallet.services.verification.fetching import Fetched, Kind
from wallet.services.verification.jose import sign_compact

ASSERTION_URL = "https://issuer.example/assertions/1.json"
ASSERTION = {"@context": "https://w3id.org/openbadges/v2", "type": "Assertion", "id": ASSERTION_URL}
OB3 = {"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiableCredential", "OpenBadgeCredential"]}
SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
       b'width="10" height="10"><circle r="4"/><image xlink:href="logo.png"/></svg>')


class RecordingFetch:
    """A fetch that answers from a URL -> bytes map and records every URL it was asked for."""

    def __init__(self, documents: dict[str, bytes] | None = None) -> None:
        self.documents = documents or {}
        self.asked: list[str] = []

    def __call__(self, url: str, *, kind: Kind = "json") -> Fetched:
        self.asked.append(url)
        if url not in self.documents:
            raise FetchError(f"Not reachable: {url}")
        return Fetched(url=url, final_url=url, status_code=200, content_type="application/json",
                       body=self.documents[url])


def chunk(chunk_type: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + chunk_type + body + struct.pack(">I", zlib.crc32(chunk_type + body))


def make_png(*extra: bytes, width: int = 1, height: int = 1) -> bytes:
    """A real 8-bit greyscale PNG; `extra` chunks go between the header and the image data."""
    header = chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
    pixels = chunk(b"IDAT", zlib.compress(b"\x00" * (width + 1)))
    return b"\x89PNG\r\n\x1a\n" + header + b"".join(extra) + pixels + chunk(b"IEND", b"")


def itxt(keyword: str, text: str, *, compressed: bool = False) -> bytes:
    data = zlib.compress(text.encode()) if compressed else text.encode()
    return chunk(b"iTXt", keyword.encode() + b"\x00" + (b"\x01" if compressed else b"\x00") + b"\x00\x00\x00" + data)


@pytest.fixture(scope="module")
def rsa_key() -> JWK:
    return JWK.generate(kty="RSA", size=2048)


def context(fetch: RecordingFetch | None = None) -> Context:
    return make_context(fetch or RecordingFetch())


# --- PNG -------------------------------------------------------------------------------------


def test_extract_png_ob2_itxt_json_returns_assertion_and_keeps_image() -> None:
    image = make_png(itxt("openbadges", json.dumps(ASSERTION)))
    presented = extract(image, filename="badge.png", context=context())
    assert presented.document == ASSERTION
    assert (presented.container, presented.jws) == ("png", None)
    assert presented.image == image and presented.image_type == "image/png" and presented.raw == image


def test_extract_png_ob3_itxt_jws_returns_payload_and_exact_token(rsa_key: JWK) -> None:
    token = sign_compact(OB3, rsa_key, "RS256")
    presented = extract(make_png(itxt("openbadgecredential", token)), context=context())
    assert presented.document == OB3
    assert presented.jws == token


def test_extract_png_ob2_itxt_url_fetches_assertion_as_json() -> None:
    fetch = RecordingFetch({ASSERTION_URL: json.dumps(ASSERTION).encode()})
    ctx = context(fetch)
    presented = extract(make_png(itxt("openbadges", ASSERTION_URL)), context=ctx)
    assert presented.document == ASSERTION
    assert fetch.asked == [ASSERTION_URL]
    assert ctx.documents[0]["role"] == "assertion"


def test_extract_png_legacy_text_chunk_url_fetches_assertion() -> None:
    fetch = RecordingFetch({ASSERTION_URL: json.dumps(ASSERTION).encode()})
    image = make_png(chunk(b"tEXt", b"openbadges\x00" + ASSERTION_URL.encode()))
    assert extract(image, context=context(fetch)).document == ASSERTION


def test_extract_png_legacy_text_chunk_holding_json_is_refused() -> None:
    image = make_png(chunk(b"tEXt", b"openbadges\x00" + json.dumps(ASSERTION).encode()))
    with pytest.raises(ImportRejectedError, match="not a web address"):
        extract(image, context=context())


def test_extract_png_ob3_url_is_refused_without_fetch() -> None:
    fetch = RecordingFetch({ASSERTION_URL: b"{}"})
    with pytest.raises(ImportRejectedError):
        extract(make_png(itxt("openbadgecredential", ASSERTION_URL)), context=context(fetch))
    assert fetch.asked == []


def test_extract_png_url_unreachable_raises_fetch_error() -> None:
    with pytest.raises(FetchError):
        extract(make_png(itxt("openbadges", ASSERTION_URL)), context=context())


def test_extract_png_compressed_itxt_is_refused() -> None:
    image = make_png(itxt("openbadges", json.dumps(ASSERTION), compressed=True))
    with pytest.raises(ImportRejectedError, match="compressed"):
        extract(image, context=context())


def test_extract_png_ztxt_credential_is_refused() -> None:
    image = make_png(chunk(b"zTXt", b"openbadges\x00\x00" + zlib.compress(json.dumps(ASSERTION).encode())))
    with pytest.raises(ImportRejectedError, match="compressed"):
        extract(image, context=context())


def test_extract_png_two_conflicting_credentials_is_refused() -> None:
    image = make_png(itxt("openbadges", json.dumps(ASSERTION)), itxt("openbadgecredential", json.dumps(OB3)))
    with pytest.raises(ImportRejectedError, match="two different badges"):
        extract(image, context=context())


def test_extract_png_identical_duplicate_chunks_are_read_once() -> None:
    text = json.dumps(ASSERTION)
    image = make_png(itxt("openbadges", text), itxt("openbadges", text))
    assert extract(image, context=context()).document == ASSERTION


def test_extract_png_without_credential_raises_no_credential() -> None:
    image = make_png(chunk(b"tEXt", b"Software\x00Example"))
    with pytest.raises(NoCredentialError, match="^This image has no badge baked into it.$"):
        extract(image, context=context())


def test_extract_png_bad_crc_is_refused() -> None:
    image = bytearray(make_png(itxt("openbadges", json.dumps(ASSERTION))))
    iend = image.rindex(b"IEND")
    image[iend - 5] ^= 0xFF  # last byte of the IDAT chunk's CRC
    with pytest.raises(ImportRejectedError, match="checksum"):
        extract(bytes(image), context=context())


def test_extract_png_truncated_is_refused() -> None:
    image = make_png(itxt("openbadges", json.dumps(ASSERTION)))
    for cut in (len(image) - 6, 40, 12):
        with pytest.raises(ImportRejectedError, match="cut short"):
            extract(image[:cut], context=context())


def test_extract_png_wrong_magic_is_refused() -> None:
    image = make_png(itxt("openbadges", json.dumps(ASSERTION)))
    with pytest.raises(ImportRejectedError, match="first bytes"):
        extract(b"\x89PNG\r\n\x00\x00" + image[8:], context=context())
    with pytest.raises(ImportRejectedError, match="labelled as a PNG"):
        extract(b"GIF89a" + image[8:], filename="badge.png", context=context())


def test_extract_png_data_after_end_is_refused() -> None:
    polyglot = make_png(itxt("openbadges", json.dumps(ASSERTION))) + b"PK\x03\x04zip-or-html"
    with pytest.raises(ImportRejectedError, match="extra data"):
        extract(polyglot, context=context())


def test_extract_png_impossible_chunk_length_is_refused() -> None:
    image = make_png()
    bogus = struct.pack(">I", 2**31) + b"iTXt"
    with pytest.raises(ImportRejectedError, match="impossible length"):
        extract(image[:33] + bogus + image[33:], context=context())


def test_extract_png_pixel_flood_header_reads_credential_without_decoding() -> None:
    # docs/security.md C1: 50,000 x 50,000 pixels would be 2.5 GB decoded; only the chunks are read.
    image = make_png(itxt("openbadges", json.dumps(ASSERTION)), width=50_000, height=50_000)
    assert len(image) < 1000
    assert extract(image, context=context()).document == ASSERTION


def test_extract_png_oversized_credential_chunk_is_refused() -> None:
    image = make_png(itxt("openbadges", '{"a": "' + "x" * MAX_CREDENTIAL_BYTES + '"}'))
    with pytest.raises(TooLargeError):
        extract(image, context=context())


def test_extract_png_itxt_with_language_tag_and_translated_keyword_is_read() -> None:
    # PNG §11.3.4.5: keyword, NUL, flag, method, language tag, NUL, translated keyword (UTF-8), NUL, text.
    body = "openbadgecredential\x00\x00\x00de-CH\x00Abzeichen für Lernende\x00".encode() + json.dumps(OB3).encode()
    presented = extract(make_png(chunk(b"iTXt", body)), context=context())
    assert presented.document == OB3 and presented.container == "png"


# --- SVG -------------------------------------------------------------------------------------


def ob2_svg(inner: str) -> bytes:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="http://openbadges.org">{inner}'
            '<circle r="4"/></svg>').encode()


def test_extract_svg_ob2_cdata_json_returns_assertion() -> None:
    svg = ob2_svg(f'<openbadges:assertion verify="{ASSERTION_URL}"><![CDATA[{json.dumps(ASSERTION)}]]>'
                  "</openbadges:assertion>")
    fetch = RecordingFetch()
    presented = extract(svg, filename="badge.svg", context=context(fetch))
    assert presented.document == ASSERTION
    assert (presented.container, presented.image_type, presented.image) == ("svg", "image/svg+xml", svg)
    assert fetch.asked == []  # the body wins; the verify URL is left to the format's own re-fetch


def test_extract_svg_ob2_verify_jws_returns_payload(rsa_key: JWK) -> None:
    token = sign_compact(ASSERTION, rsa_key, "RS256")
    presented = extract(ob2_svg(f'<openbadges:assertion verify="{token}"/>'), context=context())
    assert presented.document == ASSERTION and presented.jws == token


def test_extract_svg_ob2_verify_url_fetches_assertion() -> None:
    fetch = RecordingFetch({ASSERTION_URL: json.dumps(ASSERTION).encode()})
    presented = extract(ob2_svg(f'<openbadges:assertion verify="{ASSERTION_URL}"/>'), context=context(fetch))
    assert presented.document == ASSERTION and fetch.asked == [ASSERTION_URL]


def test_extract_svg_ob3_json_body_and_jws_verify(rsa_key: JWK) -> None:
    head = '<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0">'
    body = f"{head}<openbadges:credential><![CDATA[{json.dumps(OB3)}]]></openbadges:credential></svg>"
    assert extract(body.encode(), context=context()).document == OB3
    token = sign_compact(OB3, rsa_key, "RS256")
    signed = f'{head}<openbadges:credential verify="{token}"/></svg>'
    presented = extract(signed.encode(), context=context())
    assert presented.document == OB3 and presented.jws == token


def test_extract_svg_ob3_element_under_another_prefix_is_read() -> None:
    # Elements are matched by namespace URI; the prefix is the author's choice.
    svg = ('<ob:svg xmlns:ob="http://www.w3.org/2000/svg" xmlns:badge="https://purl.imsglobal.org/ob/v3p0">'
           f"<badge:credential><![CDATA[{json.dumps(OB3)}]]></badge:credential></ob:svg>")
    assert extract(svg.encode(), context=context()).document == OB3


def test_extract_svg_ob2_element_in_wrong_namespace_is_no_credential() -> None:
    svg = (b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0">'
           b'<openbadges:assertion verify="https://issuer.example/a.json"/></svg>')
    with pytest.raises(NoCredentialError):
        extract(svg, context=context())


@pytest.mark.parametrize("prolog", [
    '<!DOCTYPE svg [<!ENTITY x SYSTEM "http://127.0.0.1:9/secret">]>',
    '<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
    '<!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>',
    '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "svg11.dtd" [<!ENTITY x "x">]>',
])
def test_extract_svg_with_entities_is_refused_without_fetch(prolog: str) -> None:
    fetch = RecordingFetch()
    svg = (f'<?xml version="1.0"?>{prolog}<svg xmlns="http://www.w3.org/2000/svg" '
           'xmlns:openbadges="http://openbadges.org"><openbadges:assertion verify="&x;"/></svg>').encode()
    with pytest.raises(ImportRejectedError, match="entities or external references"):
        extract(svg, context=context(fetch))
    assert fetch.asked == []


def test_extract_svg_with_plain_public_doctype_is_read_without_fetch() -> None:
    fetch = RecordingFetch()
    prolog = '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">'
    head = '<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0">'
    svg = (f'<?xml version="1.0"?>{prolog}{head}<openbadges:credential><![CDATA[{json.dumps(OB3)}]]>'
           '</openbadges:credential></svg>').encode()
    presented = extract(svg, context=context(fetch))
    assert presented.document == OB3
    assert fetch.asked == []


def test_extract_svg_malformed_or_not_svg_is_refused() -> None:
    with pytest.raises(ImportRejectedError, match="not well-formed"):
        extract(b"<svg xmlns='http://www.w3.org/2000/svg'><g></svg>", context=context())
    with pytest.raises(ImportRejectedError, match="not an SVG"):
        extract(b"<html><body>hello</body></html>", context=context())
    with pytest.raises(ImportRejectedError, match="not well-formed"):
        extract(b"<?xml version='1.0' encoding='utf-38'?>" + SVG, context=context())


def test_extract_svg_oversized_credential_is_refused() -> None:
    svg = ob2_svg(f"<openbadges:assertion><![CDATA[{'x' * (MAX_CREDENTIAL_BYTES + 1)}]]></openbadges:assertion>")
    with pytest.raises(TooLargeError):
        extract(svg, context=context())


def test_extract_svg_without_credential_raises_no_credential() -> None:
    with pytest.raises(NoCredentialError, match="no badge baked"):
        extract(SVG, context=context())


# --- Baking ----------------------------------------------------------------------------------


@pytest.mark.parametrize("keyword, credential", [
    ("openbadges", ASSERTION),
    ("openbadgecredential", OB3),
])
def test_bake_png_round_trip_returns_same_credential(keyword: str, credential: dict[str, Any]) -> None:
    baked = bake_png(make_png(), json.dumps(credential), keyword)
    assert extract(baked, context=context()).document == credential


def test_bake_png_replaces_earlier_credential_and_keeps_other_chunks() -> None:
    original = make_png(chunk(b"tEXt", b"Software\x00Example"), itxt("openbadges", '{"old": true}'))
    baked = bake_png(original, json.dumps(OB3), "openbadgecredential")
    assert baked.count(b"iTXt") == 1 and b'"old"' not in baked
    assert b"Software\x00Example" in baked
    assert baked.index(b"iTXt") < baked.index(b"IEND")
    assert extract(baked, context=context()).document == OB3


def test_bake_png_jws_round_trip_keeps_token(rsa_key: JWK) -> None:
    token = sign_compact(ASSERTION, rsa_key, "RS256")
    presented = extract(bake_png(make_png(), token, "openbadges"), context=context())
    assert presented.jws == token


def test_bake_png_damaged_image_is_refused() -> None:
    with pytest.raises(ImportRejectedError):
        bake_png(make_png()[:-3], json.dumps(ASSERTION), "openbadges")


@pytest.mark.parametrize("keyword, credential, namespace", [
    ("openbadges", ASSERTION, b'xmlns:openbadges="http://openbadges.org"'),
    ("openbadgecredential", OB3, b'xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"'),
])
def test_bake_svg_round_trip_returns_same_credential(keyword: str, credential: dict[str, Any],
                                                     namespace: bytes) -> None:
    baked = bake_svg(SVG, json.dumps(credential), keyword)
    assert namespace in baked
    assert b'xlink:href="logo.png"' in baked
    assert extract(baked, context=context()).document == credential


def test_bake_svg_ob2_hosted_sets_verify_url_and_replaces_earlier_credential(rsa_key: JWK) -> None:
    baked = bake_svg(SVG, json.dumps(ASSERTION), "openbadges")
    assert f'verify="{ASSERTION_URL}"'.encode() in baked
    token = sign_compact(OB3, rsa_key, "RS256")
    rebaked = bake_svg(baked, token, "openbadgecredential")
    assert b"openbadges:assertion" not in rebaked and rebaked.count(b"openbadges:credential") == 1
    assert extract(rebaked, context=context()).jws == token


def test_bake_unknown_keyword_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        bake_png(make_png(), "{}", "badge")


# --- JSON and JWS text -----------------------------------------------------------------------


def test_extract_json_object_returns_document() -> None:
    data = b"\xef\xbb\xbf" + json.dumps(ASSERTION).encode()
    presented = extract(data, content_type="application/json", context=context())
    assert (presented.document, presented.container, presented.raw) == (ASSERTION, "json", data)


def test_extract_jws_text_with_line_breaks_returns_payload(rsa_key: JWK) -> None:
    token = sign_compact(ASSERTION, rsa_key, "RS256")
    wrapped = "\n".join(token[i:i + 64] for i in range(0, len(token), 64)) + "\n"
    presented = extract(wrapped.encode(), filename="badge.jwt", context=context())
    assert presented.container == "jwt" and presented.jws == token and presented.document == ASSERTION


@pytest.mark.parametrize("data, message", [
    (b'{"type": "Assertion",', "not valid JSON"),
    (b'{"score": NaN}', "NaN"),
    (b'{"issuer": "A", "issuer": "B"}', "twice"),
    (b"[" * 100_000 + b"]" * 100_000, "nested"),
    (b'{"n": ' + b"9" * 100_000 + b"}", "too large"),
])
def test_extract_bad_json_is_refused_with_reason(data: bytes, message: str) -> None:
    with pytest.raises(MalformedJSONError, match=message):
        extract(data, context=context())


def test_extract_json_that_is_not_an_object_is_refused() -> None:
    for data in (b'[{"type": "Assertion"}]', b'"https://issuer.example/a.json"'):
        with pytest.raises(ImportRejectedError, match="one JSON object"):
            extract(data, context=context())


def test_extract_oversized_input_is_refused_before_parsing() -> None:
    with pytest.raises(TooLargeError):
        extract(b"{" + b" " * MAX_INPUT_BYTES + b"}", context=context())


@pytest.mark.parametrize("data, message", [
    (b"", "empty"),
    (b"hello, this is a letter", "could not find a credential"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", "only into PNG or SVG"),
    (b"%PDF-1.7\n", "PDF"),
])
def test_extract_unreadable_input_is_refused_with_reason(data: bytes, message: str) -> None:
    with pytest.raises(ImportRejectedError, match=message):
        extract(data, context=context())


# --- content_sha256: json.dumps where it writes exactly what RFC 8785 writes -------------------------

def _rfc8785_content_sha256(document: Any) -> str:
    """content_sha256 as it is defined: RFC 8785 text, else sorted json.dumps for what JCS cannot write."""
    try:
        material = "jcs\n" + rfc8785.dumps(document).decode("utf-8")
    except rfc8785.CanonicalizationError:
        material = "json\n" + json.dumps(document, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


_JSON_SCALARS = (st.none() | st.booleans() | st.integers(-(2**60), 2**60) | st.floats(allow_nan=False, allow_infinity=False)
                 | st.text(st.characters(codec="utf-8"), max_size=8) | st.text(max_size=4))
_JSON = st.recursive(_JSON_SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.text(max_size=3) | st.sampled_from(["a", "b", "\ue000", "\U0001f600", "Z", "é"]), inner, max_size=4), max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=3), _JSON, max_size=5))
def test_content_sha256_any_json_equals_the_rfc8785_definition(document: dict[str, Any]) -> None:
    presented = Presented(document=document, jws=None, container="json", raw=b"", source_url=None)
    assert content_sha256(presented) == _rfc8785_content_sha256(document)


@pytest.mark.parametrize("document", [
    {"b": 1, "a": [True, None, "x\u0000\u001f\"\\\u007f\u2028"], "é": {"\U0001f600": 1, "\ue000": 2}},
    {"n": 2**53 - 1, "m": -(2**53) + 1}, {"n": 2**53}, {"f": 1.0}, {"f": 1e21, "g": 1e-7},
    {"s": "lone \ud800 surrogate"}, {"\U0001f600": 1, "\uffff": 2}, {},
])
def test_content_sha256_edge_document_equals_the_rfc8785_definition(document: dict[str, Any]) -> None:
    presented = Presented(document=document, jws=None, container="json", raw=b"", source_url=None)
    assert content_sha256(presented) == _rfc8785_content_sha256(document)
