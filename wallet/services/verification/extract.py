"""Find the credential in what the learner gave: JSON, a JWT/JWS, a baked PNG or SVG, or a URL.

Input is sniffed by its bytes (magic and structure), never trusted by its name or media type.
Baked images are read without decoding a single pixel (docs/security.md C1): PNG through our own
chunk reader, SVG through defusedxml with entity declarations and external references forbidden (C4). Nothing here verifies:
the format modules do that with what `extract` returns.
"""
from __future__ import annotations

import hashlib
import json
import struct
import threading
import xml.etree.ElementTree as ET
import zlib
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import defusedxml.ElementTree as SafeET
import rfc8785
from defusedxml.common import DefusedXmlException

from wallet.services.verification import jose, sdjwt
from wallet.services.verification.context import Context
from wallet.services.verification.errors import ImportRejectedError, NoCredentialError, TooLargeError, WalletError
from wallet.services.verification.jsonutil import loads_strict

Container = Literal["json", "jwt", "png", "svg", "url"]

# docs/security.md C2/C7: a byte cap on the whole input before parsing, and on one baked credential.
MAX_INPUT_BYTES = 5 * 1024 * 1024
MAX_CREDENTIAL_BYTES = 1024 * 1024

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Open Badges baking: iTXt keyword "openbadges" (OB 2.0; a tEXt chunk in 1.0) and
# "openbadgecredential" (OB 3.0).
OB2_KEYWORD = "openbadges"
OB3_KEYWORD = "openbadgecredential"
SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
OB2_SVG_NS = "http://openbadges.org"
OB3_SVG_NS = "https://purl.imsglobal.org/ob/v3p0"
_OB2_SVG_TAG = f"{{{OB2_SVG_NS}}}assertion"
_OB3_SVG_TAG = f"{{{OB3_SVG_NS}}}credential"
_SVG_NAMESPACE_FOR = {OB2_KEYWORD: OB2_SVG_NS, OB3_KEYWORD: OB3_SVG_NS}
_SVG_TAG_FOR = {OB2_KEYWORD: _OB2_SVG_TAG, OB3_KEYWORD: _OB3_SVG_TAG}
_TEXT_CHUNKS = (b"iTXt", b"tEXt", b"zTXt")
_PNG_MAX_CHUNK = 2**31 - 1  # PNG §5.3: a chunk length never exceeds 2^31 - 1
# ElementTree's prefix registry is process-wide; serialising under a lock keeps our prefixes stable.
_SERIALISE_LOCK = threading.Lock()

_NO_BADGE = "This image has no badge baked into it."
_AMBIGUOUS = "This image carries two different badges, so Wallet cannot tell which one is meant."


@dataclass
class Presented:
    """A credential as presented, before verification."""

    # The credential JSON. For a JWS/JWT: the decoded payload (NOT yet verified).
    document: dict[str, Any]
    # The exact compact JWS/JWT string, when the credential came that way.
    jws: str | None
    container: Container
    # The bytes as received (JSON text, JWT text, or the whole baked image).
    raw: bytes
    # Where it was fetched from, if it was (the original URL, before any rewrite).
    source_url: str | None = None
    # The baked image's bytes, if the credential came in one (to keep and show).
    image: bytes | None = None
    image_type: str | None = None  # "image/png" | "image/svg+xml"


@dataclass(frozen=True)
class _Baked:
    """One credential found in an image: its keyword (which spec) and its text."""

    keyword: str
    text: str
    legacy_url_only: bool = False


def extract(
    data: bytes,
    *,
    content_type: str | None = None,
    filename: str | None = None,
    source_url: str | None = None,
    context: Context,
) -> Presented:
    """Find the credential in `data` (JSON, compact JWS, baked PNG or SVG) without verifying it.

    A URL baked into an image is fetched through `context`. Raises NoCredentialError when the
    input is readable but holds no credential, ImportRejectedError (or TooLargeError,
    MalformedJSONError, JoseError) when it cannot be read.
    """
    if len(data) > MAX_INPUT_BYTES:
        raise TooLargeError(f"The file is too large: Wallet reads credentials of up to {MAX_INPUT_BYTES // 2**20} MB.")
    hint = _hint(content_type, filename)
    if data.startswith(PNG_SIGNATURE[:4]):
        return _from_png(data, source_url=source_url, context=context)
    if hint == "png":
        raise ImportRejectedError("This file is labelled as a PNG image, but it is not one.")
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head:
        raise ImportRejectedError("The file is empty.")
    if head.startswith(b"<"):
        return _from_svg(data, source_url=source_url, context=context)
    if hint == "svg":
        raise ImportRejectedError("This file is labelled as an SVG image, but it is not one.")
    other = _other_binary(head)
    if other:
        raise ImportRejectedError(other)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRejectedError(_UNRECOGNISED) from None
    compact = "".join(text.split())
    if sdjwt.is_sd_jwt(compact):
        return Presented(document=_sd_jwt_claims(compact), jws=compact, container="jwt", raw=data,
                         source_url=source_url)
    if jose.looks_like_compact_jws(compact):
        document, jws = _from_compact(compact)
        return Presented(document=document, jws=jws, container="jwt", raw=data, source_url=source_url)
    if head[:1] in b'{["' or hint == "json":
        return Presented(document=_json_object(data), jws=None, container="json", raw=data, source_url=source_url)
    raise ImportRejectedError(_UNRECOGNISED)


def _sd_jwt_claims(compact: str) -> dict[str, Any]:
    """The SD-JWT's claims with its disclosures put in, unverified; {} when unreadable (sdjwt.py reports why)."""
    try:
        return sdjwt.unverified_claims(compact)
    except (WalletError, UnicodeEncodeError):
        return {}


_UNRECOGNISED = ("Wallet could not find a credential here: this is not JSON, a signed credential (JWT or SD-JWT), "
                 "or a PNG or SVG badge image.")


def content_sha256(presented: Presented) -> str:
    """Return the sha256 hex of what the issuer signed or published, as presented.

    A compact JWS is its own exact text; JSON is its RFC 8785 canonical form, proof included, so
    white space and key order do not make another version, and a baked image of the same credential
    is the same version as the file.
    """
    if presented.jws:
        material = "jws\n" + presented.jws
    else:
        try:
            material = "jcs\n" + _jcs_text(presented.document)
        except rfc8785.CanonicalizationError:  # e.g. an integer beyond IEEE 754 doubles: still one form
            material = "json\n" + json.dumps(presented.document, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


# RFC 8785 §3.2.2.3: integers are written as IEEE 754 doubles, exact within ±(2^53 - 1).
_JCS_INT_MIN, _JCS_INT_MAX = -(2**53) + 1, 2**53 - 1


def _jcs_text(document: Any) -> str:
    """The RFC 8785 (JCS) text of `document` (rfc8785.CanonicalizationError if it has none).

    json.dumps (C code) writes the same text as RFC 8785 when no number is a float, every integer is
    exact as a double, no string holds a lone surrogate, and every key is ASCII: its string escapes
    are RFC 8785 §3.2.2.2's, and ASCII keys sort the same by code point as by UTF-16 unit (§3.2.3).
    Other documents go through rfc8785 (pure Python, several times slower).
    """
    if _jcs_is_json_dumps(document):
        text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: rfc8785 refuses it
            pass
        else:
            return text
    return rfc8785.dumps(document).decode("utf-8")


def _jcs_is_json_dumps(document: Any) -> bool:
    stack = [document]
    while stack:
        value = stack.pop()
        kind = type(value)
        if kind is dict:
            for key in value:
                if type(key) is not str or not key.isascii():
                    return False
            stack.extend(value.values())
        elif kind is list:
            stack.extend(value)
        elif kind is int:
            if not _JCS_INT_MIN <= value <= _JCS_INT_MAX:
                return False
        elif kind is not str and kind is not bool and value is not None:
            return False  # floats (RFC 8785 writes them as ECMAScript does), and anything else
    return True


def bake_png(image: bytes, credential: str, keyword: str) -> bytes:
    """Return `image` with `credential` baked in an uncompressed iTXt chunk, replacing any earlier one.

    `keyword` is "openbadges" (OB 2.0: assertion JSON, JWS or URL) or "openbadgecredential" (OB 3.0).
    """
    text = _credential_to_bake(credential, keyword)
    chunks = _png_chunks(image)
    # iTXt: keyword NUL, compression flag 0 and method 0, empty language tag NUL, empty
    # translated keyword NUL, then the UTF-8 text (PNG §11.3.4.5).
    body = keyword.encode("latin-1") + b"\x00\x00\x00\x00\x00" + text.encode("utf-8")
    parts = [PNG_SIGNATURE]
    for chunk in chunks:
        if chunk.type in _TEXT_CHUNKS and _chunk_keyword(chunk.body) in (OB2_KEYWORD, OB3_KEYWORD):
            continue
        if chunk.type == b"IEND":
            parts.append(_png_chunk(b"iTXt", body))
        parts.append(image[chunk.start:chunk.end])
    return b"".join(parts)


def bake_svg(svg: bytes, credential: str, keyword: str) -> bytes:
    """Return `svg` with `credential` baked in as an Open Badges element, replacing any earlier one.

    OB 2.0 ("openbadges"): `<openbadges:assertion>` with the JSON as its body (and `verify` set to
    a hosted assertion's id), or a JWS or URL in `verify`. OB 3.0 ("openbadgecredential"):
    `<openbadges:credential>` with JSON in the body or a JWS in `verify`.
    """
    text = _credential_to_bake(credential, keyword)
    if len(svg) > MAX_INPUT_BYTES:
        raise TooLargeError(f"The image is too large: Wallet bakes images of up to {MAX_INPUT_BYTES // 2**20} MB.")
    root = _parse_svg(svg)
    for parent in root.iter():
        for child in list(parent):
            if child.tag in (_OB2_SVG_TAG, _OB3_SVG_TAG):
                parent.remove(child)
    element = ET.Element(_SVG_TAG_FOR[keyword])
    if text.startswith("{"):
        element.text = text
        document = _json_object(text.encode("utf-8"))
        if keyword == OB2_KEYWORD and _is_http_url(document.get("id")):
            element.set("verify", document["id"])
    else:
        element.set("verify", text)
    element.tail = "\n"
    root.insert(0, element)
    with _SERIALISE_LOCK:
        ET.register_namespace("", SVG_NS)
        ET.register_namespace("xlink", XLINK_NS)
        ET.register_namespace("openbadges", _SVG_NAMESPACE_FOR[keyword])
        return ET.tostring(root, encoding="utf-8", xml_declaration=True)


# --- PNG -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Chunk:
    type: bytes
    body: bytes
    start: int
    end: int


def _from_png(data: bytes, *, source_url: str | None, context: Context) -> Presented:
    found: list[_Baked] = []
    for chunk in _png_chunks(data):
        if chunk.type not in _TEXT_CHUNKS:
            continue  # pixels (IDAT) are never decoded (docs/security.md C1)
        keyword = _chunk_keyword(chunk.body)
        if keyword not in (OB2_KEYWORD, OB3_KEYWORD):
            continue
        if len(chunk.body) > MAX_CREDENTIAL_BYTES:
            raise TooLargeError("The badge data baked into this image is too large.")
        found.append(_read_text_chunk(chunk, keyword))
    baked = _single(found)
    document, jws = _from_baked(baked, context)
    return Presented(document=document, jws=jws, container="png", raw=data, source_url=source_url,
                     image=data, image_type="image/png")


def _png_chunks(data: bytes) -> list[_Chunk]:
    """Split a PNG into chunks, checking the signature, every length and CRC, and the IEND end."""
    if not data.startswith(PNG_SIGNATURE):
        raise ImportRejectedError("This is not a PNG image: its first bytes are wrong.")
    view = memoryview(data)
    chunks: list[_Chunk] = []
    position = len(PNG_SIGNATURE)
    while True:
        if position + 8 > len(data):
            raise ImportRejectedError("The PNG image is cut short: it ends before its last chunk.")
        length, chunk_type = struct.unpack(">I4s", view[position:position + 8])
        if length > _PNG_MAX_CHUNK:
            raise ImportRejectedError("The PNG image is damaged: a chunk claims an impossible length.")
        end = position + 12 + length
        if end > len(data):
            raise ImportRejectedError("The PNG image is cut short: it ends before its last chunk.")
        body = view[position + 8:position + 8 + length]
        (crc,) = struct.unpack(">I", view[end - 4:end])
        if zlib.crc32(body, zlib.crc32(chunk_type)) != crc:
            raise ImportRejectedError("The PNG image is damaged: a chunk's checksum does not match.")
        if not chunks and chunk_type != b"IHDR":
            raise ImportRejectedError("The PNG image is damaged: it does not start with an image header.")
        # Only text chunks are kept as bytes; image data stays a view into the input.
        chunks.append(_Chunk(chunk_type, bytes(body) if chunk_type in _TEXT_CHUNKS else b"", position, end))
        position = end
        if chunk_type == b"IEND":
            break
    if position != len(data):
        # docs/security.md C3: bytes after IEND make a polyglot (PNG + HTML/ZIP); refuse it.
        raise ImportRejectedError("The PNG image has extra data after its end, so Wallet refuses it.")
    return chunks


def _png_chunk(chunk_type: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(body, zlib.crc32(chunk_type))
    return struct.pack(">I", len(body)) + chunk_type + body + struct.pack(">I", crc)


def _chunk_keyword(body: bytes) -> str | None:
    keyword, separator, _ = body[:80].partition(b"\x00")
    return keyword.decode("latin-1") if separator else None


def _read_text_chunk(chunk: _Chunk, keyword: str) -> _Baked:
    rest = chunk.body[len(keyword) + 1:]
    if chunk.type == b"zTXt":
        raise ImportRejectedError(
            "The badge data in this image is compressed, which the Open Badges baking rules forbid; "
            "Wallet does not unpack it.")
    if chunk.type == b"tEXt":
        # Open Badges 1.0 baking: a tEXt "openbadges" chunk holds only the assertion URL.
        text = rest.decode("latin-1").strip()
        if keyword != OB2_KEYWORD or not _is_http_url(text):
            raise ImportRejectedError(
                "The image's older-style badge data is not a web address, so Wallet cannot read it.")
        return _Baked(keyword, text, legacy_url_only=True)
    if len(rest) < 2:
        raise ImportRejectedError("The badge data baked into this image is damaged.")
    compression_flag = rest[0]
    if compression_flag == 1:
        # OB 2.0 / 3.0 baking: the iTXt chunk MUST NOT be compressed; never inflate it (C2).
        raise ImportRejectedError(
            "The badge data in this image is compressed, which the Open Badges baking rules forbid; "
            "Wallet does not unpack it.")
    if compression_flag != 0:
        raise ImportRejectedError("The badge data baked into this image is damaged.")
    _language, sep1, after_language = rest[2:].partition(b"\x00")
    _translated, sep2, text_bytes = after_language.partition(b"\x00")
    if not (sep1 and sep2):
        raise ImportRejectedError("The badge data baked into this image is damaged.")
    try:
        text = text_bytes.decode("utf-8")
    except UnicodeDecodeError:
        raise ImportRejectedError("The badge data baked into this image is not readable text.") from None
    return _Baked(keyword, text.strip())


# --- SVG -------------------------------------------------------------------------------------


def _from_svg(data: bytes, *, source_url: str | None, context: Context) -> Presented:
    root = _parse_svg(data)
    found: list[_Baked] = []
    for element in root.iter():
        if element.tag not in (_OB2_SVG_TAG, _OB3_SVG_TAG):
            continue
        keyword = OB2_KEYWORD if element.tag == _OB2_SVG_TAG else OB3_KEYWORD
        body = (element.text or "").strip()
        verify = (element.get("verify") or element.get(f"{{{_SVG_NAMESPACE_FOR[keyword]}}}verify") or "").strip()
        # OB 2.0/3.0 baking: the credential is the element's body, or, with no body, `verify`.
        text = body or verify
        if len(text.encode("utf-8")) > MAX_CREDENTIAL_BYTES:
            raise TooLargeError("The badge data baked into this image is too large.")
        if text:
            found.append(_Baked(keyword, text))
    baked = _single(found)
    document, jws = _from_baked(baked, context)
    return Presented(document=document, jws=jws, container="svg", raw=data, source_url=source_url,
                     image=data, image_type="image/svg+xml")


def _parse_svg(data: bytes) -> ET.Element:
    """Parse SVG with entity declarations and external references forbidden (docs/security.md C4).

    A plain `<!DOCTYPE svg PUBLIC … "…svg11.dtd">`, as illustration tools write and as the 1EdTech
    sample badges carry, is accepted: expat never loads the external subset, and any internal subset
    declaring entities (billion laughs, `SYSTEM "file:///…"`) is refused before expansion.
    """
    try:
        root = SafeET.fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise ImportRejectedError(
            "This SVG declares entities or external references, which Wallet refuses for safety.") from None
    except (ET.ParseError, LookupError):  # LookupError: an XML declaration naming an unknown encoding
        raise ImportRejectedError("This SVG image is not well-formed XML.") from None
    if root.tag not in (f"{{{SVG_NS}}}svg", "svg"):
        raise ImportRejectedError("This XML file is not an SVG image.")
    return root


# --- Shared ----------------------------------------------------------------------------------


def _single(found: list[_Baked]) -> _Baked:
    if not found:
        raise NoCredentialError(_NO_BADGE)
    # docs/security.md C2: two different credentials in one image are ambiguous; identical copies are not.
    if len({baked.text for baked in found}) > 1:
        raise ImportRejectedError(_AMBIGUOUS)
    return found[0]


def _from_baked(baked: _Baked, context: Context) -> tuple[dict[str, Any], str | None]:
    text = baked.text
    if not baked.legacy_url_only:
        if text.startswith("{"):
            return _json_object(text.encode("utf-8")), None
        compact = "".join(text.split())
        if jose.looks_like_compact_jws(compact):
            return _from_compact(compact)
    # OB 2.0 hosted badges (and 1.0 images) may bake just the assertion's URL; OB 3.0 may not.
    if baked.keyword == OB2_KEYWORD and _is_http_url(text):
        fetched = context.fetch(text, kind="json", role="assertion")
        return _json_object(fetched.body), None
    raise ImportRejectedError("The badge data baked into this image is not JSON, a signed badge or a web address.")


def _from_compact(compact: str) -> tuple[dict[str, Any], str]:
    parsed = jose.parse_compact(compact)
    return jose.decode_payload_json(parsed), parsed.compact


def _json_object(data: bytes) -> dict[str, Any]:
    value = loads_strict(data)
    if not isinstance(value, dict):
        raise ImportRejectedError("The JSON is not a credential: a credential is one JSON object.")
    return value


def _credential_to_bake(credential: str, keyword: str) -> str:
    if keyword not in (OB2_KEYWORD, OB3_KEYWORD):
        raise ValueError(f"unknown baking keyword {keyword!r}")
    text = credential.strip()
    if not text:
        raise ImportRejectedError("There is no credential to bake.")
    if len(text.encode("utf-8")) > MAX_CREDENTIAL_BYTES:
        raise TooLargeError("The credential is too large to bake into an image.")
    return text


def _is_http_url(value: Any) -> bool:
    if not isinstance(value, str) or any(c.isspace() for c in value):
        return False
    try:
        parts = urlsplit(value)
        return parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return False


def _hint(content_type: str | None, filename: str | None) -> str | None:
    """What the name or media type claims; used only for clearer refusals, never to pick a parser."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    name = (filename or "").lower()
    if media == "image/png" or name.endswith(".png"):
        return "png"
    if media == "image/svg+xml" or name.endswith(".svg"):
        return "svg"
    if media.endswith("json") or name.endswith((".json", ".jsonld")):
        return "json"
    return None


def _other_binary(head: bytes) -> str | None:
    if head.startswith((b"\xff\xd8\xff", b"GIF87a", b"GIF89a")) or head[8:12] == b"WEBP":
        return "Badges are baked only into PNG or SVG images; this image type cannot carry one."
    if head.startswith(b"%PDF"):
        return "This is a PDF document; Wallet reads badges from JSON, JWT, PNG or SVG files."
    return None
