"""Badge images: fetched through the guarded fetcher, checked by magic bytes, re-encoded, stored.

docs/security.md C1, C3-C5, E4: images are never hot-linked. Raster images are decoded only under a
pixel limit (DecompressionBombWarning is an error) and re-encoded to PNG, which also drops any
baked credential chunks and polyglot tails. SVG is parsed with defusedxml (no DTD, no entities)
and kept as is; it is only ever served with a sandboxing CSP (see `SVG_HEADERS`), and pages show
it through <img>, where SVG scripts never run.
"""
from __future__ import annotations

import base64
import binascii
import io
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import unquote_to_bytes

from defusedxml import ElementTree as SafeET
from PIL import Image, UnidentifiedImageError

from wallet.services.errors import FetchError, ImportRejectedError, ImportTimeoutError, TooLargeError, WalletError

if TYPE_CHECKING:
    from wallet.services.verification.fetching import Fetch

MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000
# Shown at most a few hundred CSS pixels wide; 512 keeps them sharp on dense screens.
MAX_SIDE = 512
SVG = "image/svg+xml"
PNG = "image/png"
RASTER_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
# C5: served SVG can run no script, load nothing and navigate nowhere, even when opened directly.
SVG_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
    "X-Content-Type-Options": "nosniff",
}


class ImageRejectedError(ImportRejectedError):
    """The bytes are not an image Wallet accepts."""


@dataclass(frozen=True)
class StoredImage:
    data: bytes
    content_type: str  # image/png or image/svg+xml


def sniff_image_type(data: bytes) -> str | None:
    """Return the image type that `data` starts with (magic bytes), or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<svg", b"<?xml")) and b"<svg" in head:
        return SVG
    return None


def normalise_image(data: bytes) -> StoredImage:
    """Check an image by its bytes and return what Wallet stores: PNG, or a well-formed SVG."""
    if len(data) > MAX_IMAGE_BYTES:
        raise TooLargeError("The image is larger than 5 MB.")
    kind = sniff_image_type(data)
    if kind == SVG:
        _check_svg(data)
        return StoredImage(data, SVG)
    if kind in RASTER_TYPES:
        return StoredImage(_reencode_png(data), PNG)
    raise ImageRejectedError("The image is not a PNG, JPEG, GIF, WebP or SVG file.")


def _check_svg(data: bytes) -> None:
    try:
        # C4: forbid_dtd stops DOCTYPE, entity expansion (billion laughs) and external entities.
        root = SafeET.fromstring(data, forbid_dtd=True)
    except Exception:  # defusedxml raises several parse and policy errors; all mean "refuse"
        raise ImageRejectedError("The SVG image is not well-formed or uses features that are not allowed.") from None
    if not root.tag.endswith("svg"):
        raise ImageRejectedError("The SVG image is not well-formed or uses features that are not allowed.")


def _reencode_png(data: bytes) -> bytes:
    try:
        with warnings.catch_warnings():
            # C1: a pixel flood is refused, never decoded.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if width * height > MAX_IMAGE_PIXELS or width <= 0 or height <= 0:
                    raise ImageRejectedError("The image has too many pixels.")
                image.seek(0)
                frame = image.convert("RGBA")
                frame.thumbnail((MAX_SIDE, MAX_SIDE))
                out = io.BytesIO()
                frame.save(out, format="PNG", optimize=True)
                return out.getvalue()
    except ImageRejectedError:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise ImageRejectedError("The image has too many pixels.") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
        raise ImageRejectedError("The image file is damaged or incomplete.") from None


def decode_data_uri(uri: str) -> bytes:
    """Return the bytes of a `data:` URI (base64 or percent-encoded)."""
    header, sep, payload = uri.partition(",")
    if not sep or not header.lower().startswith("data:"):
        raise ImageRejectedError("The image address is not a valid data: URI.")
    if len(payload) > MAX_IMAGE_BYTES * 2:
        raise TooLargeError("The image is larger than 5 MB.")
    if header.lower().endswith(";base64"):
        try:
            return base64.b64decode(payload, validate=False)
        except (binascii.Error, ValueError):
            raise ImageRejectedError("The embedded image is not valid base64.") from None
    return unquote_to_bytes(payload)


def load_badge_image(reference: str | dict | None, fetch: Fetch) -> StoredImage | None:
    """Fetch (guarded) or decode the image a credential names and normalise it; None if unusable.

    A missing or bad image never fails an import: the credential is kept and shown with a placeholder.
    An import that runs out of time while fetching it does fail (ImportTimeoutError, docs/security.md A12).
    """
    if isinstance(reference, dict):  # OB 2.0/3.0 allow an Image object with an id
        reference = reference.get("id")
    if not isinstance(reference, str) or not reference:
        return None
    try:
        if reference.lower().startswith("data:"):
            data = decode_data_uri(reference)
        elif reference.lower().startswith(("https://", "http://")):
            data = fetch(reference, kind="image").body
        else:
            return None
        return normalise_image(data)
    except ImportTimeoutError:
        raise
    except (WalletError, FetchError):
        return None
