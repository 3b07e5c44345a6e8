"""The one gate for untrusted text shown as HTML: Markdown, links and display strings.

docs/security.md E1-E3, E8: Markdown is rendered with raw HTML disabled, then cleaned by bleach with an
allowlist (no script, no event handlers, no style, no images that would hot-link); links keep only
http(s)/mailto targets and get rel="nofollow noopener noreferrer ugc". This module is the only
caller of bleach, so the sanitiser can be replaced in one place.
"""
from __future__ import annotations

import re
import threading
import unicodedata
from functools import partial
from urllib.parse import urlsplit

from bleach.linkifier import LinkifyFilter
from bleach.sanitizer import Cleaner
from markdown_it import MarkdownIt
from markupsafe import Markup, escape

ALLOWED_TAGS = frozenset({
    "p", "br", "hr", "strong", "em", "b", "i", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td",
})
ALLOWED_ATTRIBUTES = {"a": ["href", "title", "rel"], "ol": ["start"], "th": ["align"], "td": ["align"]}
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow noopener noreferrer ugc"

# Bidirectional overrides (Trojan Source, D17) and invisible characters (E8) are removed for display.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# Characters that browsers strip from URLs before reading the scheme ("java\tscript:").
_URL_STRIP = re.compile(r"[\x00-\x20\x7f]")

def _link_rel(attrs: dict, new: bool = False) -> dict | None:
    href = attrs.get((None, "href"), "")
    if not (safe_url(href) or href.lower().startswith("mailto:")):
        return None  # unlink: keep the text, drop a relative or odd target
    attrs[(None, "rel")] = LINK_REL
    return attrs


# A bleach Cleaner (and a MarkdownIt parser) keeps parser state: one per thread, as bleach advises.
_local = threading.local()


def _tools() -> tuple[MarkdownIt, Cleaner]:
    if not hasattr(_local, "cleaner"):
        _local.markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).disable("image")
        _local.cleaner = Cleaner(
            tags=ALLOWED_TAGS,
            attributes=ALLOWED_ATTRIBUTES,
            protocols=ALLOWED_PROTOCOLS,
            strip=True,
            strip_comments=True,
            filters=[partial(LinkifyFilter, callbacks=[_link_rel], skip_tags={"pre", "code"}, parse_email=False)],
        )
    return _local.markdown, _local.cleaner


def render_markdown(text: str | None, *, limit: int = 50_000) -> Markup:
    """Render learner or issuer Markdown to sanitised HTML that is safe to place in a page."""
    if not text:
        return Markup("")
    markdown, cleaner = _tools()
    html = markdown.render(clean_text(text, limit=limit, keep_newlines=True))
    return Markup(cleaner.clean(html).strip())


def safe_url(url: str | None) -> str | None:
    """Return `url` if it is an absolute http(s) URL once control characters are removed, else None."""
    if not url or not isinstance(url, str) or len(url) > 2048:
        return None
    candidate = url.strip()
    if _URL_STRIP.search(candidate):
        return None  # a tab or newline inside a URL is an evasion, not a typo (E3)
    try:
        parts = urlsplit(candidate)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return candidate


def external_link(url: str | None, text: str | None = None) -> Markup:
    """Return an <a> to `url` when it is http(s), otherwise the text (or URL) as plain text."""
    label = clean_text(text or url or "", limit=300)
    href = safe_url(url)
    if href is None:
        return Markup(escape(label))
    return Markup('<a href="{}" rel="{}">{}</a>').format(href, LINK_REL, label)


def clean_text(value: str | None, limit: int = 500, keep_newlines: bool = False) -> str:
    """Remove control, bidi-override and invisible characters and cap the length, for display."""
    if not value:
        return ""
    text = unicodedata.normalize("NFC", str(value))
    text = _INVISIBLE.sub("", _CONTROL.sub("", text))
    if not keep_newlines:
        text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def short_identifier(value: str | None, limit: int = 36) -> str:
    """Shorten a long identifier (a did:jwk, a URL) for compact display: its start and its end."""
    text = clean_text(value, limit=10_000)
    if len(text) <= limit:
        return text
    tail = 8
    return text[: limit - tail - 1] + "…" + text[-tail:]


def safe_filename(name: str | None, *, default: str = "file") -> str:
    """Return a display name for an uploaded file: no path, no control or bidi characters, bounded."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = clean_text(base, limit=120).replace("\x00", "").strip(". ")
    return base or default
