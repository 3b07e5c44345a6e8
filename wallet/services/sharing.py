"""Sharing a public page: social share links, LinkedIn "Add to profile", QR codes, embed snippets,
link-preview (Open Graph / Twitter card) tags and oEmbed answers.

Pure functions of plain values: no Flask, no database. URL formats follow docs/sharing.md; every
query value is percent-encoded (RFC 3986, spaces as %20, as `encodeURIComponent` does).
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote, urlencode

import qrcode
import qrcode.constants
import qrcode.image.svg
from markupsafe import escape

from wallet.services.sanitize import clean_text

LINKEDIN_ADD_TO_PROFILE = "https://www.linkedin.com/profile/add"
LINKEDIN_SHARE = "https://www.linkedin.com/sharing/share-offsite/"
X_INTENT = "https://x.com/intent/tweet"
FACEBOOK_SHARER = "https://www.facebook.com/sharer/sharer.php"
# X counts every link as 23 characters (t.co) plus a separating space, in a 280-character post.
X_MAX_CHARS = 280
X_LINK_CHARS = 24
# The embedded credential card (/embed/c/<slug>) is laid out for this box.
EMBED_WIDTH = 360
EMBED_HEIGHT = 440
PROVIDER_NAME = "Wallet"


def _query(params: list[tuple[str, str]]) -> str:
    return urlencode(params, quote_via=quote, safe="")


def linkedin_add_to_profile_url(
    *,
    name: str,
    organization_name: str,
    issued_at: datetime | None,
    expires_at: datetime | None,
    cert_url: str,
    cert_id: str | None,
) -> str:
    """Return LinkedIn's "Add to profile" (certification) link, pre-filled (docs/sharing.md).

    `certId` is left out when it is a `urn:uuid` (meaningless to people; LCW issue #201), and the
    expiry fields when the credential does not expire.
    """
    params = [("startTask", "CERTIFICATION_NAME"), ("name", clean_text(name, limit=200)),
              ("organizationName", clean_text(organization_name, limit=200))]
    if issued_at is not None:
        params += [("issueYear", str(issued_at.year)), ("issueMonth", str(issued_at.month))]
    if expires_at is not None:
        params += [("expirationYear", str(expires_at.year)), ("expirationMonth", str(expires_at.month))]
    params.append(("certUrl", cert_url))
    if cert_id and not cert_id.lower().startswith("urn:uuid:"):
        params.append(("certId", cert_id))
    return f"{LINKEDIN_ADD_TO_PROFILE}?{_query(params)}"


def linkedin_share_url(url: str) -> str:
    """Return the LinkedIn feed share link (LinkedIn reads the page's Open Graph tags)."""
    return f"{LINKEDIN_SHARE}?{_query([('url', url)])}"


def x_share_url(text: str, url: str) -> str:
    """Return the X (Twitter) post intent, the text cut so that text and link fit in one post."""
    limit = X_MAX_CHARS - X_LINK_CHARS
    return f"{X_INTENT}?{_query([('text', clean_text(text, limit=limit)), ('url', url)])}"


def facebook_share_url(url: str) -> str:
    """Return the Facebook share dialog link."""
    return f"{FACEBOOK_SHARER}?{_query([('u', url)])}"


def email_share_url(subject: str, body: str) -> str:
    """Return a mailto: link with a subject and a body (RFC 6068)."""
    return f"mailto:?{_query([('subject', clean_text(subject, limit=200)), ('body', body)])}"


@dataclass(frozen=True)
class ShareLinks:
    """Every way to pass a page on, for one page."""

    url: str
    linkedin: str
    x: str
    facebook: str
    email: str


def share_links(url: str, *, title: str, text: str) -> ShareLinks:
    """Return the share links of a public page titled `title`, with `text` as the post text."""
    return ShareLinks(
        url=url,
        linkedin=linkedin_share_url(url),
        x=x_share_url(text, url),
        facebook=facebook_share_url(url),
        email=email_share_url(title, f"{clean_text(text, limit=500)}\n\n{url}"),
    )


def qr_svg(data: str) -> bytes:
    """Return a QR code of `data` as a standalone SVG document (vector paths, no raster)."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=10, border=4,
                         image_factory=qrcode.image.svg.SvgPathImage)
    code.add_data(data)
    code.make(fit=True)
    out = io.BytesIO()
    code.make_image().save(out)
    return out.getvalue()


def embed_snippet(embed_url: str, title: str, *, width: int = EMBED_WIDTH, height: int = EMBED_HEIGHT) -> str:
    """Return the <iframe> HTML that shows a credential card on another site."""
    return (f'<iframe src="{escape(embed_url)}" title="{escape(clean_text(title, limit=200))}" '
            f'width="{int(width)}" height="{int(height)}" style="border:0;max-width:100%" loading="lazy" '
            f'referrerpolicy="strict-origin-when-cross-origin"></iframe>')


@dataclass(frozen=True)
class PreviewImage:
    url: str
    width: int | None = None
    height: int | None = None
    alt: str = ""


def preview_tags(
    *, title: str, description: str, url: str, image: PreviewImage | None, kind: str = "website"
) -> list[tuple[str, str, str]]:
    """Return (attribute, name, content) triples for Open Graph and Twitter card <meta> tags.

    docs/sharing.md: og:title, og:description, og:image (+ width/height), og:url and og:type,
    rendered on the server so that link previews need no script.
    """
    title = clean_text(title, limit=200)
    description = clean_text(description, limit=300)
    tags = [("property", "og:type", kind), ("property", "og:site_name", PROVIDER_NAME),
            ("property", "og:title", title), ("property", "og:description", description),
            ("property", "og:url", url)]
    if image is not None:
        tags.append(("property", "og:image", image.url))
        if image.width and image.height:
            tags += [("property", "og:image:width", str(image.width)),
                     ("property", "og:image:height", str(image.height))]
        if image.alt:
            tags.append(("property", "og:image:alt", clean_text(image.alt, limit=200)))
    # A square badge image suits the "summary" card, not the 2:1 "summary_large_image".
    tags += [("name", "twitter:card", "summary"), ("name", "twitter:title", title),
             ("name", "twitter:description", description)]
    if image is not None:
        tags.append(("name", "twitter:image", image.url))
        if image.alt:
            tags.append(("name", "twitter:image:alt", clean_text(image.alt, limit=200)))
    return tags


def oembed_document(
    *,
    title: str,
    author_name: str,
    author_url: str | None,
    provider_url: str,
    embed_url: str,
    thumbnail: PreviewImage | None,
    max_width: int | None = None,
    max_height: int | None = None,
) -> dict[str, object]:
    """Return the oEmbed 1.0 "rich" answer for an embeddable credential card (oembed.com §2.3.4).

    The card is shrunk to fit `max_width`/`max_height` when the consumer asks for a smaller box.
    """
    width, height = EMBED_WIDTH, EMBED_HEIGHT
    if max_width and max_width < width:
        width = max(max_width, 120)
    if max_height and max_height < height:
        height = max(max_height, 120)
    document: dict[str, object] = {
        "version": "1.0",
        "type": "rich",
        "title": clean_text(title, limit=200),
        "author_name": clean_text(author_name, limit=200),
        "provider_name": PROVIDER_NAME,
        "provider_url": provider_url,
        "cache_age": 3600,
        "html": embed_snippet(embed_url, title, width=width, height=height),
        "width": width,
        "height": height,
    }
    if author_url:
        document["author_url"] = author_url
    if thumbnail is not None and thumbnail.width and thumbnail.height:
        document.update(thumbnail_url=thumbnail.url, thumbnail_width=thumbnail.width,
                        thumbnail_height=thumbnail.height)
    return document


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int] | None:
    """Return (width, height) from a PNG's IHDR chunk without decoding the image, or None."""
    # PNG §11.2.2: IHDR is the first chunk; width and height are its first two 4-byte integers.
    if len(data) < 24 or not data.startswith(_PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return None
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


_FILENAME = re.compile(r"[^A-Za-z0-9]+")


def download_name(title: str, extension: str) -> str:
    """Return a plain ASCII file name made from a title ("data-analysis.json")."""
    stem = _FILENAME.sub("-", title or "").strip("-").lower()[:60] or "credential"
    return f"{stem}.{extension}"
