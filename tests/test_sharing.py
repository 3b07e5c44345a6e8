"""Sharing: exact share-link formats, LinkedIn "Add to profile", QR codes that decode, embeds,
oEmbed, link-preview tags, and single-credential share pages."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl, urlsplit
from xml.etree import ElementTree

import pytest
import zxingcpp
from PIL import Image, ImageDraw

from tests.support.credentials import JwtIssuer
from tests.support.portfolios import add_credential
from wallet.models import CredentialShare
from wallet.services import sharing

ISSUED = datetime(2026, 3, 5, 10, tzinfo=timezone.utc)
EXPIRES = datetime(2028, 11, 30, tzinfo=timezone.utc)


def query(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query, keep_blank_values=True)


# --- share URL formats (docs/sharing.md) ---------------------------------------------------------


def test_linkedin_add_to_profile_has_exact_parameters_in_order():
    url = sharing.linkedin_add_to_profile_url(
        name="Data Analysis & Statistics", organization_name="Riverside College", issued_at=ISSUED,
        expires_at=EXPIRES, cert_url="https://wallet.example/c/abc?x=1", cert_id="https://riverside.example/a/42")
    assert url.startswith("https://www.linkedin.com/profile/add?")
    assert query(url) == [
        ("startTask", "CERTIFICATION_NAME"), ("name", "Data Analysis & Statistics"),
        ("organizationName", "Riverside College"), ("issueYear", "2026"), ("issueMonth", "3"),
        ("expirationYear", "2028"), ("expirationMonth", "11"), ("certUrl", "https://wallet.example/c/abc?x=1"),
        ("certId", "https://riverside.example/a/42")]
    # Every value is percent-encoded, spaces as %20.
    assert "name=Data%20Analysis%20%26%20Statistics" in url
    assert "certUrl=https%3A%2F%2Fwallet.example%2Fc%2Fabc%3Fx%3D1" in url


def test_linkedin_add_to_profile_omits_urn_uuid_cert_id_and_missing_expiry():
    url = sharing.linkedin_add_to_profile_url(
        name="Badge", organization_name="Org", issued_at=ISSUED, expires_at=None,
        cert_url="https://wallet.example/c/abc", cert_id="urn:uuid:0f6c3d1e-9d1f-4a7b-8f2f-1c2d3e4f5a6b")
    names = [name for name, _ in query(url)]
    assert names == ["startTask", "name", "organizationName", "issueYear", "issueMonth", "certUrl"]


def test_feed_share_links_have_exact_formats():
    url = "https://wallet.example/p/slug-1"
    assert sharing.linkedin_share_url(url) == \
        "https://www.linkedin.com/sharing/share-offsite/?url=https%3A%2F%2Fwallet.example%2Fp%2Fslug-1"
    assert sharing.facebook_share_url(url) == \
        "https://www.facebook.com/sharer/sharer.php?u=https%3A%2F%2Fwallet.example%2Fp%2Fslug-1"
    x = sharing.x_share_url("Data Analysis, from Riverside College", url)
    assert x.startswith("https://x.com/intent/tweet?")
    assert query(x) == [("text", "Data Analysis, from Riverside College"), ("url", url)]
    email = sharing.email_share_url("My badge", f"See it here:\n{url}")
    assert email.startswith("mailto:?") and query(email) == [("subject", "My badge"), ("body", f"See it here:\n{url}")]


def test_x_text_is_cut_to_fit_one_post():
    text = dict(query(sharing.x_share_url("word " * 100, "https://wallet.example/c/x")))["text"]
    assert len(text) + sharing.X_LINK_CHARS <= sharing.X_MAX_CHARS and text.endswith("…")


# --- QR codes ---------------------------------------------------------------------------------------


def rasterise(svg: bytes, scale: int = 8) -> Image.Image:
    """Draw the QR code's SVG path (unit squares "Mx,yHx2Vy2Hx1z") on a white image."""
    root = ElementTree.fromstring(svg)
    width = float(root.get("viewBox").split()[2])
    path = root.find("{http://www.w3.org/2000/svg}path").get("d")
    image = Image.new("L", (int(width * scale), int(width * scale)), 255)
    draw = ImageDraw.Draw(image)
    for x1, y1, x2, y2 in re.findall(r"M([\d.]+),([\d.]+)H([\d.]+)V([\d.]+)H[\d.]+z", path):
        draw.rectangle([float(x1) * scale, float(y1) * scale, float(x2) * scale - 1, float(y2) * scale - 1], fill=0)
    return image


@pytest.mark.parametrize("url", ["https://wallet.example/c/" + "A" * 43, "https://wallet.example/p/x-y_z"])
def test_qr_svg_is_valid_svg_that_decodes_to_the_url(url):
    svg = sharing.qr_svg(url)
    root = ElementTree.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg" and b"<script" not in svg
    decoded = zxingcpp.read_barcodes(rasterise(svg))
    assert [d.text for d in decoded] == [url]


# --- embeds, oEmbed, preview tags ----------------------------------------------------------------------


def test_embed_snippet_escapes_its_values():
    snippet = sharing.embed_snippet('https://wallet.example/embed/c/a"b', '<b>"Badge"</b>')
    assert snippet.startswith('<iframe src="https://wallet.example/embed/c/a&#34;b"')
    assert "<b>" not in snippet and 'title="&lt;b&gt;&#34;Badge&#34;&lt;/b&gt;"' in snippet


def test_oembed_document_shrinks_to_the_box_asked_for():
    document = sharing.oembed_document(title="Badge", author_name="Ada", author_url=None,
                                       provider_url="https://wallet.example/",
                                       embed_url="https://wallet.example/embed/c/s",
                                       thumbnail=sharing.PreviewImage("https://wallet.example/i.png", 64, 64),
                                       max_width=300)
    assert document["version"] == "1.0" and document["type"] == "rich"
    assert document["width"] == 300 and document["height"] == sharing.EMBED_HEIGHT
    assert 'width="300"' in document["html"] and document["thumbnail_width"] == 64


def test_preview_tags_cover_open_graph_and_twitter():
    tags = sharing.preview_tags(title="T", description="D", url="https://w.example/c/s",
                                image=sharing.PreviewImage("https://w.example/i.png", 512, 512, alt="Badge"))
    names = {name: content for _, name, content in tags}
    for name in ("og:title", "og:description", "og:image", "og:image:width", "og:image:height", "og:url", "og:type",
                 "twitter:card", "twitter:image"):
        assert name in names
    assert names["og:image:width"] == "512"


def test_png_size_reads_the_header_and_refuses_other_bytes():
    from tests.support.credentials import png_image

    assert sharing.png_size(png_image(size=(30, 20))) == (30, 20)
    assert sharing.png_size(b"GIF89a....") is None


# --- single-credential share pages -------------------------------------------------------------------


@pytest.fixture
def learner(make_user, login):
    user = make_user(email="learner@example.org", display_name="Grace Hopper")
    login(user)
    return user


@pytest.fixture
def credential_id(client, learner) -> int:
    issuer = JwtIssuer(name="Riverside College")
    return add_credential(client, issuer.jwt(name="Compilers", valid_from=ISSUED, valid_until=EXPIRES,
                                             credential_id="https://riverside.example/credentials/7"))


def share(client, credential_id: int, **data: str) -> str:
    response = client.post(f"/portfolios/credentials/{credential_id}/share", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    page = client.get(f"/portfolios/credentials/{credential_id}/share").get_data(as_text=True)
    return re.search(r'id="share-link" value="http://localhost/c/([A-Za-z0-9_-]+)"', page).group(1)


def test_unshared_credential_has_no_public_page(client, learner, credential_id, session):
    page = client.get(f"/portfolios/credentials/{credential_id}/share").get_data(as_text=True)
    assert "Nobody can see this credential until you share it" in page
    assert session.query(CredentialShare).count() == 0


def test_share_page_offers_linkedin_add_to_profile_with_exact_parameters(client, learner, credential_id):
    slug = share(client, credential_id)
    page = client.get(f"/portfolios/credentials/{credential_id}/share").get_data(as_text=True)
    href = re.search(r'href="(https://www\.linkedin\.com/profile/add\?[^"]+)"', page).group(1).replace("&amp;", "&")
    assert query(href) == [
        ("startTask", "CERTIFICATION_NAME"), ("name", "Compilers"), ("organizationName", "Riverside College"),
        ("issueYear", "2026"), ("issueMonth", "3"), ("expirationYear", "2028"), ("expirationMonth", "11"),
        ("certUrl", f"http://localhost/c/{slug}"), ("certId", "https://riverside.example/credentials/7")]
    assert "&lt;iframe src=&#34;http://localhost/embed/c/" in page or "&lt;iframe src=&quot;http://localhost/embed/c/" in page


def test_shared_credential_page_is_public_with_preview_tags_and_oembed_link(client, learner, credential_id, session):
    slug = share(client, credential_id)
    client.post("/logout")
    page = client.get(f"/c/{slug}").get_data(as_text=True)
    assert "Compilers" in page and "Held by <strong>Grace Hopper</strong>" in page and "Verified" in page
    assert f'<meta property="og:url" content="http://localhost/c/{slug}">' in page
    assert 'property="og:type" content="article"' in page
    oembed = re.search(r'<link rel="alternate" type="application/json\+oembed" href="([^"]+)"', page).group(1)
    document = client.get(oembed.replace("&amp;", "&").removeprefix("http://localhost")).get_json()
    assert document["type"] == "rich" and document["title"] == "Compilers" and document["author_name"] == "Grace Hopper"
    assert f'src="http://localhost/embed/c/{slug}"' in document["html"]
    assert session.get(CredentialShare, 1).view_count == 1


def test_public_pages_refuse_framing_but_embed_allows_it(client, learner, credential_id):
    slug = share(client, credential_id)
    page = client.get(f"/c/{slug}")
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"
    embed = client.get(f"/embed/c/{slug}")
    assert embed.status_code == 200 and "frame-ancestors *" in embed.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in embed.headers
    assert "<form" not in embed.get_data(as_text=True)


def test_oembed_refuses_foreign_or_unknown_urls_and_xml(client, learner, credential_id):
    slug = share(client, credential_id)
    assert client.get("/oembed", query_string={"url": f"https://evil.example/c/{slug}"}).status_code == 404
    assert client.get("/oembed", query_string={"url": "http://localhost/c/" + "x" * 43}).status_code == 404
    assert client.get("/oembed", query_string={"url": f"http://localhost/c/{slug}", "format": "xml"}).status_code == 501
    ok = client.get("/oembed", query_string={"url": f"http://localhost/embed/c/{slug}", "maxwidth": "200"})
    assert ok.status_code == 200 and ok.get_json()["width"] == 200


def test_share_qr_code_decodes_to_the_share_page(client, learner, credential_id):
    slug = share(client, credential_id)
    response = client.get(f"/c/{slug}/qr.svg")
    assert response.mimetype == "image/svg+xml" and "sandbox" in response.headers["Content-Security-Policy"]
    assert [d.text for d in zxingcpp.read_barcodes(rasterise(response.data))] == [f"http://localhost/c/{slug}"]


def test_revoked_share_is_404_and_sharing_again_makes_a_new_link(client, learner, credential_id):
    slug = share(client, credential_id)
    client.post(f"/portfolios/credentials/{credential_id}/share/revoke")
    assert client.get(f"/c/{slug}").status_code == 404
    assert client.get(f"/embed/c/{slug}").status_code == 404
    assert client.get(f"/c/{slug}/original").status_code == 404
    new = share(client, credential_id)
    assert new != slug and client.get(f"/c/{new}").status_code == 200


def test_regenerated_share_retires_the_old_link(client, learner, credential_id):
    slug = share(client, credential_id)
    client.post(f"/portfolios/credentials/{credential_id}/share/regenerate")
    page = client.get(f"/portfolios/credentials/{credential_id}/share").get_data(as_text=True)
    new = re.search(r'id="share-link" value="http://localhost/c/([A-Za-z0-9_-]+)"', page).group(1)
    assert new != slug and client.get(f"/c/{slug}").status_code == 404 and client.get(f"/c/{new}").status_code == 200


def test_expired_share_is_404(client, learner, credential_id, session):
    tomorrow = (datetime.now(timezone.utc) + timedelta(days=1)).strftime("%Y-%m-%d")
    slug = share(client, credential_id, expires=tomorrow)
    assert client.get(f"/c/{slug}").status_code == 200
    record = session.query(CredentialShare).one()
    record.expires_at = datetime.now(timezone.utc) - timedelta(seconds=1)
    session.commit()
    assert client.get(f"/c/{slug}").status_code == 404


def test_share_of_another_learners_credential_is_404(client, learner, credential_id, make_user, login):
    login(make_user())
    assert client.post(f"/portfolios/credentials/{credential_id}/share").status_code == 404
    assert client.get(f"/portfolios/credentials/{credential_id}/share").status_code == 404


def test_portfolio_index_offers_each_unshared_credential_for_sharing(client, learner, credential_id):
    other = add_credential(client, JwtIssuer().jwt(name="Second Badge"))
    page = client.get("/portfolios/").get_data(as_text=True)
    assert f'href="/portfolios/credentials/{credential_id}/share"' in page and "Second Badge" in page
    share(client, credential_id)
    page = client.get("/portfolios/").get_data(as_text=True)
    listed = page.split("Share another credential")[1]
    assert f"/portfolios/credentials/{other}/share" in listed and f"/portfolios/credentials/{credential_id}/share" not in listed
    assert "shared, 0 views" in page
