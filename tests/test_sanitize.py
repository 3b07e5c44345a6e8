"""The sanitiser: Markdown to safe HTML, http(s)-only links, display text."""
from __future__ import annotations

import pytest

from wallet.services.sanitize import LINK_REL, clean_text, external_link, render_markdown, safe_url, short_identifier


def test_render_markdown_script_tag_is_escaped_text():
    html = render_markdown("Hello <script>window.__pwned = 1</script>")
    assert "<script" not in html
    assert "&lt;script&gt;" in html


def test_render_markdown_event_handler_is_never_an_attribute():
    html = render_markdown('<img src=x onerror="window.__pwned=1"> and <a href="https://x.example" onclick="y()">a</a>')
    assert "<img" not in html
    assert "<a " not in html.replace("&lt;a ", "")


@pytest.mark.parametrize("target", [
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", "vbscript:msgbox(1)", "data:text/html,<b>x</b>", "/relative/path",
])
def test_render_markdown_unsafe_link_target_is_not_a_link(target):
    html = render_markdown(f"[click me]({target})")
    assert "href" not in html
    assert "click me" in html


def test_render_markdown_http_link_gets_safe_rel():
    html = render_markdown("[my project](https://example.org/work)")
    assert 'href="https://example.org/work"' in html
    assert f'rel="{LINK_REL}"' in html


def test_render_markdown_image_is_not_hotlinked():
    assert "<img" not in render_markdown("![tracker](https://tracker.example/pixel.png)")


def test_render_markdown_formatting_is_kept():
    html = render_markdown("**bold** and *em*\n\n- one\n- two")
    assert "<strong>bold</strong>" in html and "<em>em</em>" in html and "<li>one</li>" in html


def test_render_markdown_empty_input_gives_empty_markup():
    assert render_markdown(None) == "" and render_markdown("") == ""


@pytest.mark.parametrize("url", [
    "javascript:alert(1)", "java\tscript:alert(1)", " javascript:alert(1)", "data:text/html,x", "ftp://x.example/",
    "https://", "//evil.example/x", "https://a.example/\nx", "", None,
])
def test_safe_url_unsafe_or_malformed_url_is_none(url):
    assert safe_url(url) is None


def test_safe_url_http_and_https_are_kept():
    assert safe_url(" https://example.org/a?b=1 ") == "https://example.org/a?b=1"
    assert safe_url("http://example.org/") == "http://example.org/"


def test_external_link_javascript_url_is_plain_text():
    assert "<a" not in external_link("javascript:alert(1)", "Issuer site")
    assert external_link("javascript:alert(1)", "Issuer site") == "Issuer site"


def test_external_link_escapes_label_and_quotes():
    html = external_link('https://example.org/?q="><script>', "<b>Issuer</b>")
    assert "<script>" not in html and "<b>" not in html
    assert f'rel="{LINK_REL}"' in html


def test_clean_text_bidi_controls_and_zero_width_are_removed():
    assert clean_text("abc\u202egnp.exe\u200b") == "abcgnp.exe"


def test_clean_text_long_text_is_truncated_with_ellipsis():
    text = clean_text("x" * 1000, limit=20)
    assert len(text) == 20 and text.endswith("…")


def test_short_identifier_long_did_keeps_start_and_end():
    did = "did:jwk:" + "x" * 200 + "TAIL1234"
    short = short_identifier(did)
    assert len(short) == 36 and short.startswith("did:jwk:") and short.endswith("…TAIL1234")
    assert short_identifier("did:key:z6Mk") == "did:key:z6Mk"


def test_render_markdown_from_many_threads_at_once_gives_the_same_html() -> None:
    from concurrent.futures import ThreadPoolExecutor

    from wallet.services.sanitize import render_markdown

    text = "**Bold** [link](https://example.org/x) <script>alert(1)</script>\n\n" * 50
    expected = str(render_markdown(text))
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: str(render_markdown(text)), range(200)))
    assert set(results) == {expected}
    assert "<script" not in expected
