"""Badge images: magic-byte checks, re-encoding, pixel floods, SVG parsing, data: URIs."""
from __future__ import annotations

import base64
import io
import struct
import zlib

import pytest
from PIL import Image

from wallet.services.errors import TooLargeError
from wallet.services.images import (
    ImageRejectedError,
    decode_data_uri,
    load_badge_image,
    normalise_image,
    sniff_image_type,
)


def png_bytes(size: tuple[int, int] = (64, 64), colour: str = "blue") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def pixel_flood_png(width: int = 50_000, height: int = 50_000) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(b"\x00" * 1024)) + _chunk(b"IEND", b"")


def test_normalise_image_jpeg_is_reencoded_to_bounded_png():
    out = io.BytesIO()
    Image.new("RGB", (1200, 600), "red").save(out, "JPEG")
    stored = normalise_image(out.getvalue())
    assert stored.content_type == "image/png"
    assert Image.open(io.BytesIO(stored.data)).size == (512, 256)


def test_normalise_image_png_text_chunks_are_dropped():
    source = png_bytes()
    baked = source[:33] + _chunk(b"iTXt", b"openbadges\x00\x00\x00\x00\x00{}") + source[33:]
    stored = normalise_image(baked)
    assert b"iTXt" not in stored.data and b"openbadges" not in stored.data


def test_normalise_image_pixel_flood_is_refused_without_decoding():
    with pytest.raises(ImageRejectedError, match="too many pixels"):
        normalise_image(pixel_flood_png())


def test_normalise_image_truncated_png_is_refused():
    with pytest.raises(ImageRejectedError):
        normalise_image(png_bytes()[:60])


def test_normalise_image_html_is_refused():
    with pytest.raises(ImageRejectedError):
        normalise_image(b"<html><script>alert(1)</script></html>")


def test_normalise_image_oversized_file_is_refused():
    with pytest.raises(TooLargeError):
        normalise_image(b"\x89PNG\r\n\x1a\n" + b"\x00" * (5 * 1024 * 1024 + 1))


def test_normalise_image_svg_is_kept_verbatim():
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><circle r="4"/></svg>'
    stored = normalise_image(svg)
    assert stored == type(stored)(svg, "image/svg+xml")


@pytest.mark.parametrize("svg", [
    b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><svg>&b;</svg>',
    b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]><svg>&x;</svg>',
    b"<svg><unclosed></svg>",
])
def test_normalise_image_svg_with_dtd_or_broken_xml_is_refused(svg):
    with pytest.raises(ImageRejectedError):
        normalise_image(svg)


def test_sniff_image_type_polyglot_html_with_png_extension_is_not_an_image():
    assert sniff_image_type(b"<!doctype html><p>hi</p>") is None


def test_decode_data_uri_base64_and_percent_forms():
    data = png_bytes((4, 4))
    assert decode_data_uri("data:image/png;base64," + base64.b64encode(data).decode()) == data
    assert decode_data_uri("data:image/svg+xml,%3Csvg%2F%3E") == b"<svg/>"


def test_load_badge_image_data_uri_svg_with_script_is_stored_for_sandboxed_serving():
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" onload="window.__pwned=1"><script>window.__pwned=1</script></svg>'
    uri = "data:image/svg+xml;base64," + base64.b64encode(svg).decode()
    stored = load_badge_image(uri, fetch=_no_fetch)
    assert stored is not None and stored.content_type == "image/svg+xml"


def test_load_badge_image_javascript_url_is_ignored():
    assert load_badge_image("javascript:alert(1)", fetch=_no_fetch) is None


def _no_fetch(url: str, *, kind: str = "json"):
    raise AssertionError(f"nothing should be fetched, got {url}")
