"""Portfolios: building, previewing, publishing, links (regenerate, revoke, expire), the public page,
"verify now", view counts and the public profile."""
from __future__ import annotations

import io
import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from tests.support.credentials import HostedIssuer, JwtIssuer, png_image
from tests.support.portfolios import (
    add_credential,
    add_url,
    create_portfolio,
    published_portfolio,
    save_portfolio,
    slug_of,
)
from tests.support.jobs import drain_jobs
from tests.support.servers import Response
from wallet.models import Credential, Portfolio, VerificationRecord
from wallet.services import portfolios as service
from wallet.services import public_view
from wallet.services.errors import ValidationError


@pytest.fixture
def learner(make_user, login):
    user = make_user(email="learner@example.org", display_name="Ada Lovelace")
    login(user)
    return user


@pytest.fixture
def issuers() -> tuple[JwtIssuer, JwtIssuer]:
    return JwtIssuer(name="Riverside College"), JwtIssuer(name="Northgate Institute")


@pytest.fixture
def two_credentials(client, learner, issuers) -> list[int]:
    riverside, northgate = issuers
    return [add_credential(client, riverside.jwt(name="Data Analysis", email="learner@example.org")),
            add_credential(client, northgate.jwt(name="Statistics II", email="learner@example.org"))]


def page_of(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


# --- building and publishing ------------------------------------------------------------------


def test_new_portfolio_is_private_until_published(client, learner, session, two_credentials):
    portfolio_id = create_portfolio(client, "Data analyst at Riverside Council")
    save_portfolio(client, portfolio_id, credentials=two_credentials, title="Data analyst at Riverside Council")
    slug = slug_of(session, portfolio_id)
    assert len(slug) >= 43
    assert client.get(f"/p/{slug}").status_code == 404
    preview = page_of(client, f"/portfolios/{portfolio_id}/preview")
    assert "Preview" in preview and "Only you can see it" in preview and "Data Analysis" in preview

    client.post(f"/portfolios/{portfolio_id}/publish")
    session.expire_all()
    portfolio = session.get(Portfolio, portfolio_id)
    assert portfolio.visibility == "unlisted" and portfolio.published_at is not None
    client.post("/logout")
    assert client.get(f"/p/{slug}").status_code == 200


def test_public_page_leads_with_person_and_summary_line(client, learner, session, two_credentials):
    _, slug = published_portfolio(client, session, two_credentials, headline="Numbers that matter",
                                  about="I *love* data.")
    page = page_of(client, f"/p/{slug}")
    person = page.index("Ada Lovelace")
    assert person < page.index("Data Analysis")
    assert "2 credentials from 2 providers · all verified today" in page
    assert "Numbers that matter" in page and "<em>love</em>" in page
    assert page.count('<li class="portfolio-entry"') == 2 and page.count('class="state state-valid"') == 2
    assert "checked <time" in page
    assert page.count('<details class="entry-report"') == 2


def test_public_page_summary_counts_each_state(client, learner, session, issuers):
    riverside, _ = issuers
    valid = add_credential(client, riverside.jwt(name="Current"))
    expired = add_credential(client, riverside.jwt(
        name="Old", valid_from=datetime(2020, 1, 1, tzinfo=timezone.utc),
        valid_until=datetime(2021, 1, 1, tzinfo=timezone.utc)))
    _, slug = published_portfolio(client, session, [valid, expired])
    assert "2 credentials from 1 provider · 1 verified · 1 expired" in page_of(client, f"/p/{slug}")


def test_summary_all_verified_earlier_says_when():
    now = datetime(2026, 11, 29, 12, tzinfo=timezone.utc)
    credential = Credential(id=1, status="valid", checked_at=now - timedelta(days=3), issuer_id="did:example:1")
    assert public_view.summarise([credential], now).text == "1 credential from 1 provider · all verified, the oldest check 3 days ago"
    assert public_view.summarise([], now).text == "No credentials yet"


def test_public_page_offers_originals_as_link_alternates_and_preview_tags(client, learner, session, two_credentials):
    _, slug = published_portfolio(client, session, two_credentials)
    page = page_of(client, f"/p/{slug}")
    alternates = re.findall(r'<link rel="alternate" type="([^"]+)" href="([^"]+)"', page)
    assert len(alternates) == 2
    assert all(kind == "application/vc+jwt" and href.startswith("http://localhost/p/") for kind, href in alternates)
    for _, href in alternates:
        download = client.get(href.removeprefix("http://localhost"))
        assert download.status_code == 200 and download.data.count(b".") == 2
    assert f'<meta property="og:url" content="http://localhost/p/{slug}">' in page
    assert '<meta property="og:title" content="Ada Lovelace: Data analyst application">' in page
    assert 'name="twitter:card" content="summary"' in page and 'property="og:image"' in page
    assert '<meta name="robots" content="noindex, nofollow">' in page


def test_original_download_is_the_imported_bytes(client, learner, session, issuers):
    token = issuers[0].jwt(name="Exact Bytes")
    credential_id = add_credential(client, token)
    _, slug = published_portfolio(client, session, [credential_id])
    response = client.get(f"/p/{slug}/credentials/{credential_id}/original")
    assert response.data == token.encode()
    assert response.mimetype == "application/vc+jwt"
    assert "attachment" in response.headers["Content-Disposition"]
    baked = client.get(f"/p/{slug}/credentials/{credential_id}/baked")
    assert baked.status_code == 200 and baked.data.startswith(b"\x89PNG") and token.encode() in baked.data


def test_items_keep_order_and_move(client, learner, session, issuers):
    ids = [add_credential(client, issuers[0].jwt(name=f"Badge {n}")) for n in range(3)]
    portfolio_id, slug = published_portfolio(client, session, ids)
    page = page_of(client, f"/p/{slug}")
    assert page.index("Badge 0") < page.index("Badge 1") < page.index("Badge 2")
    portfolio = session.get(Portfolio, portfolio_id)
    third = portfolio.items[2].id
    client.post(f"/portfolios/{portfolio_id}/items/{third}/move", data={"direction": "up"})
    page = page_of(client, f"/p/{slug}")
    assert page.index("Badge 0") < page.index("Badge 2") < page.index("Badge 1")
    assert client.post(f"/portfolios/{portfolio_id}/items/{third}/move", data={"direction": "sideways"}).status_code == 400


def test_saving_items_again_keeps_existing_order_and_evidence_choice(client, learner, session, issuers):
    ids = [add_credential(client, issuers[0].jwt(name=f"Badge {n}")) for n in range(3)]
    portfolio_id = create_portfolio(client)
    save_portfolio(client, portfolio_id, credentials=[ids[2], ids[0]])
    save_portfolio(client, portfolio_id, credentials=[ids[0], ids[1], ids[2]], evidence=False)
    session.expire_all()
    items = session.get(Portfolio, portfolio_id).items
    assert [i.credential_id for i in items] == [ids[2], ids[0], ids[1]]
    assert [i.position for i in items] == [1, 2, 3] and not any(i.include_evidence for i in items)


def test_editor_refuses_empty_title_and_keeps_old_one(client, learner, session):
    portfolio_id = create_portfolio(client, "Kept")
    response = save_portfolio(client, portfolio_id, title="   ")
    assert response.status_code == 400 and "Give the portfolio a title" in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(Portfolio, portfolio_id).title == "Kept"


def test_about_markdown_is_sanitised(client, learner, session, two_credentials):
    about = "Hi <script>alert(1)</script> [click](javascript:alert(2)) **bold**"
    _, slug = published_portfolio(client, session, two_credentials, about=about)
    page = page_of(client, f"/p/{slug}")
    assert "<script>alert(1)" not in page and 'href="javascript' not in page
    assert "<strong>bold</strong>" in page


def test_contact_details_show_only_when_chosen(client, learner, session, two_credentials):
    portfolio_id, slug = published_portfolio(client, session, two_credentials, contact_email="learner@example.org")
    assert "mailto:learner@example.org" not in page_of(client, f"/p/{slug}")
    save_portfolio(client, portfolio_id, credentials=two_credentials, contact_email="learner@example.org", show_contact="on",
                   contact_url="https://ada.example/cv")
    page = page_of(client, f"/p/{slug}")
    assert "mailto:learner@example.org" in page and 'href="https://ada.example/cv"' in page


def test_contact_email_must_be_a_confirmed_address(client, learner, session):
    portfolio_id = create_portfolio(client)
    response = save_portfolio(client, portfolio_id, contact_email="someone@else.example", show_contact="on")
    assert response.status_code == 400 and "confirmed email addresses" in response.get_data(as_text=True)
    response = save_portfolio(client, portfolio_id, contact_url="javascript:alert(1)")
    assert response.status_code == 400


def test_photo_is_reencoded_and_svg_refused(client, learner, session, two_credentials):
    portfolio_id, slug = published_portfolio(client, session, two_credentials)
    data = {"title": "With photo", "photo": (io.BytesIO(png_image("orange", (600, 400))), "me.png")}
    assert client.post(f"/portfolios/{portfolio_id}/edit", data=data, content_type="multipart/form-data").status_code == 302
    photo = client.get(f"/p/{slug}/photo")
    assert photo.status_code == 200 and photo.mimetype == "image/png" and photo.data.startswith(b"\x89PNG")
    assert 'property="og:image" content="http://localhost/p/' in page_of(client, f"/p/{slug}")
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    data = {"title": "With photo", "photo": (io.BytesIO(svg), "me.svg")}
    response = client.post(f"/portfolios/{portfolio_id}/edit", data=data, content_type="multipart/form-data")
    assert response.status_code == 400 and "PNG, JPEG, GIF or WebP" in response.get_data(as_text=True)


def test_recipient_mismatch_credential_cannot_be_shown(client, learner, session, issuers):
    credential_id = add_credential(client, issuers[0].jwt(name="Someone Else's", email="other@example.org"))
    assert session.get(Credential, credential_id).recipient_state == "mismatch"
    portfolio_id = create_portfolio(client)
    response = save_portfolio(client, portfolio_id, credentials=[credential_id])
    assert response.status_code == 400 and "names a recipient who is not you" in response.get_data(as_text=True)
    assert "Someone Else" not in page_of(client, f"/portfolios/{portfolio_id}/edit")


def test_evidence_is_shown_only_when_included(client, learner, session, issuers):
    credential_id = add_credential(client, issuers[0].jwt(name="With Evidence"))
    client.post(f"/credentials/{credential_id}/evidence", data={"kind": "link", "title": "My dashboard",
                                                               "url": "https://ada.example/dashboard"})
    client.post(f"/credentials/{credential_id}/evidence", data={
        "kind": "file", "title": "Report", "file": (io.BytesIO(png_image()), "report.png")},
        content_type="multipart/form-data")
    portfolio_id, slug = published_portfolio(client, session, [credential_id])
    page = page_of(client, f"/p/{slug}")
    assert "My dashboard" in page and 'href="https://ada.example/dashboard"' in page
    file_url = re.search(rf'href="(/p/{re.escape(slug)}/credentials/{credential_id}/evidence/\d+)"', page).group(1)
    assert client.get(file_url).data.startswith(b"\x89PNG")
    save_portfolio(client, portfolio_id, credentials=[credential_id], evidence=False)
    assert "My dashboard" not in page_of(client, f"/p/{slug}")
    assert client.get(file_url).status_code == 404


# --- links --------------------------------------------------------------------------------------


def test_regenerate_link_retires_the_old_one(client, learner, session, two_credentials):
    portfolio_id, old = published_portfolio(client, session, two_credentials)
    client.post(f"/portfolios/{portfolio_id}/regenerate")
    new = slug_of(session, portfolio_id)
    assert new != old
    assert client.get(f"/p/{old}").status_code == 404
    assert client.get(f"/p/{new}").status_code == 200


def test_revoked_link_is_404_without_data_until_a_new_link(client, learner, session, two_credentials):
    portfolio_id, slug = published_portfolio(client, session, two_credentials)
    client.post(f"/portfolios/{portfolio_id}/revoke")
    response = client.get(f"/p/{slug}")
    assert response.status_code == 404
    body = response.get_data(as_text=True)
    assert "Ada Lovelace" not in body and "Data Analysis" not in body
    assert client.get(f"/p/{slug}/presentation.json").status_code == 404
    assert client.get(f"/p/{slug}/credentials/{two_credentials[0]}/original").status_code == 404
    client.post(f"/portfolios/{portfolio_id}/publish")
    assert client.get(f"/p/{slug}").status_code == 404
    assert client.get(f"/p/{slug_of(session, portfolio_id)}").status_code == 200


def test_expired_link_is_404(client, learner, session, two_credentials):
    portfolio_id, slug = published_portfolio(client, session, two_credentials)
    tomorrow = (datetime.now(timezone.utc) + timedelta(days=1)).strftime("%Y-%m-%d")
    assert client.post(f"/portfolios/{portfolio_id}/expiry", data={"expires": tomorrow}).status_code == 302
    assert client.get(f"/p/{slug}").status_code == 200
    portfolio = session.get(Portfolio, portfolio_id)
    portfolio.slug_expires_at = datetime.now(timezone.utc) - timedelta(minutes=1)
    session.commit()
    assert client.get(f"/p/{slug}").status_code == 404
    client.post(f"/portfolios/{portfolio_id}/expiry", data={"expires": ""})
    assert client.get(f"/p/{slug}").status_code == 200


def test_expiry_in_the_past_or_malformed_is_refused(client, learner, session):
    portfolio_id = create_portfolio(client)
    assert client.post(f"/portfolios/{portfolio_id}/expiry", data={"expires": "2020-01-01"}).status_code == 400
    assert client.post(f"/portfolios/{portfolio_id}/expiry", data={"expires": "next week"}).status_code == 400
    session.expire_all()
    assert session.get(Portfolio, portfolio_id).slug_expires_at is None


def test_set_link_expiry_naive_datetime_is_refused(app, session, make_user):
    user = make_user()
    portfolio = service.create_portfolio(session, user.id, title="T")
    with pytest.raises(ValidationError, match="time zone"):
        service.set_link_expiry(session, user.id, portfolio.id, datetime(2030, 1, 1))


def test_visibility_unknown_value_is_refused(client, learner, session):
    portfolio_id = create_portfolio(client)
    assert client.post(f"/portfolios/{portfolio_id}/visibility", data={"visibility": "everyone"}).status_code == 400


def test_delete_portfolio_ends_its_link(client, learner, session, two_credentials):
    portfolio_id, slug = published_portfolio(client, session, two_credentials)
    assert "Delete" in page_of(client, f"/portfolios/{portfolio_id}/delete")
    client.post(f"/portfolios/{portfolio_id}/delete")
    assert client.get(f"/p/{slug}").status_code == 404
    assert session.scalar(select(func.count()).select_from(Credential)) == 2


# --- views and profile --------------------------------------------------------------------------


def test_views_are_counted_without_viewer_identity(client, learner, session, two_credentials):
    portfolio_id, slug = published_portfolio(client, session, two_credentials)
    edited = session.get(Portfolio, portfolio_id).updated_at
    client.get(f"/portfolios/{portfolio_id}/preview")
    for _ in range(3):
        client.get(f"/p/{slug}", environ_base={"REMOTE_ADDR": "203.0.113.7"})
    session.expire_all()
    assert session.get(Portfolio, portfolio_id).view_count == 3
    assert session.get(Portfolio, portfolio_id).updated_at == edited
    assert "3 views" in page_of(client, f"/portfolios/{portfolio_id}/edit")
    columns = {c.name for c in Portfolio.__table__.columns}
    assert not columns & {"viewer", "ip", "viewer_ip", "user_agent"}


def test_listed_portfolios_appear_on_profile_and_unlisted_do_not(client, learner, session, two_credentials):
    published_portfolio(client, session, two_credentials, title="Listed one", visibility="listed")
    published_portfolio(client, session, two_credentials, title="Unlisted one", visibility="unlisted")
    handle_page = page_of(client, "/portfolios/")
    handle = re.search(r'href="/u/([a-z0-9-]+)"', handle_page).group(1)
    profile = page_of(client, f"/u/{handle}")
    assert "Listed one" in profile and "Unlisted one" not in profile and "Ada Lovelace" in profile
    assert client.post("/portfolios/profile", data={"handle": "ada-lovelace"}).status_code == 302
    assert client.get(f"/u/{handle}").status_code == 404
    assert client.get("/u/ada-lovelace").status_code == 200
    assert client.post("/portfolios/profile", data={"handle": "A!"}).status_code == 400


def test_profile_without_listed_portfolios_is_404(client, learner, session, two_credentials):
    portfolio_id, _ = published_portfolio(client, session, two_credentials, visibility="listed")
    handle = re.search(r'href="/u/([a-z0-9-]+)"', page_of(client, "/portfolios/")).group(1)
    client.post(f"/portfolios/{portfolio_id}/visibility", data={"visibility": "unlisted"})
    assert client.get(f"/u/{handle}").status_code == 404


def test_handle_taken_by_another_learner_is_refused(client, learner, session, make_user, login, two_credentials):
    client.post("/portfolios/profile", data={"handle": "ada"})
    login(make_user())
    response = client.post("/portfolios/profile", data={"handle": "ada"})
    assert response.status_code == 400 and "taken" in response.get_data(as_text=True)


# --- pathways -------------------------------------------------------------------------------------


def test_pathway_progress_names_only_credentials_in_the_portfolio(client, learner, session, issuers):
    riverside, _ = issuers
    shown = add_credential(client, riverside.jwt(name="Shown Badge", tags=["data"]))
    add_credential(client, riverside.jwt(name="Private Badge", tags=["data"]))
    from wallet.services import pathways as pathway_service

    pathway = pathway_service.create_pathway(session, learner.id, title="Data career")
    pathway_service.add_step(session, learner.id, pathway.id, parent_id=None,
                             step={"title": "Any data badge", "rule": {"kind": "tag", "tag": "data"}})
    pathway_service.add_step(session, learner.id, pathway.id, parent_id=None,
                             step={"title": "Unrelated", "rule": {"kind": "tag", "tag": "none"}})
    session.commit()
    _, slug = published_portfolio(client, session, [shown], pathways=[pathway.id])
    page = page_of(client, f"/p/{slug}")
    assert "Data career" in page and "50%" in page and "1 pathway" in page
    assert "Shown Badge" in page and "Private Badge" not in page


# --- verification on public pages ----------------------------------------------------------------


@pytest.fixture
def hosted(document_server, app_config) -> HostedIssuer:
    issuer = HostedIssuer(document_server)
    app_config.update(ALLOW_PRIVATE_NETWORK=True, URL_REWRITE=issuer.rewrite)
    return issuer


def test_public_page_fetches_nothing_from_issuers(hosted, client, learner, session):
    credential_id = add_url(client, hosted.assertion(email="learner@example.org"))
    _, slug = published_portfolio(client, session, [credential_id])
    before = len(hosted.server.requests)
    page_of(client, f"/p/{slug}")
    page_of(client, f"/p/{slug}/credentials/{credential_id}")
    assert len(hosted.server.requests) == before


def test_verify_now_reuses_a_recent_result(hosted, client, learner, session):
    credential_id = add_url(client, hosted.assertion(email="learner@example.org"))
    _, slug = published_portfolio(client, session, [credential_id])
    before = len(hosted.server.requests)
    response = client.post(f"/p/{slug}/credentials/{credential_id}/verify", follow_redirects=True)
    assert "checked moments ago" in response.get_data(as_text=True)
    assert len(hosted.server.requests) == before
    assert session.scalar(select(func.count()).select_from(VerificationRecord)) == 1


def test_verify_now_shows_revocation_found_at_the_issuer(hosted, app, client, learner, session):
    app.config["VERIFY_NOW_REUSE_SECONDS"] = 0
    credential_id = add_url(client, hosted.assertion(email="learner@example.org"))
    _, slug = published_portfolio(client, session, [credential_id])
    client.post("/logout")
    hosted.server.routes["/assertions/1.json"] = Response(b"gone", 410, "text/plain", {"Cache-Control": "no-store"})
    response = client.post(f"/p/{slug}/credentials/{credential_id}/verify", data={"back": "portfolio"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/p/{slug}#credential-{credential_id}")
    drain_jobs(app)  # the re-check runs as a background job
    page = page_of(client, f"/p/{slug}")
    assert 'data-status="revoked"' in page and "Revoked by issuer" in page and "1 revoked" in page
    record = session.scalars(select(VerificationRecord).order_by(VerificationRecord.id.desc())).first()
    assert record.trigger == "viewer" and record.status == "revoked"


def test_verify_now_is_rate_limited_per_client(app, client, learner, session, issuers):
    app.config["VERIFY_NOW_PER_CLIENT"] = 2
    credential_id = add_credential(client, issuers[0].jwt())
    _, slug = published_portfolio(client, session, [credential_id])
    statuses = [client.post(f"/p/{slug}/credentials/{credential_id}/verify").status_code for _ in range(3)]
    assert statuses == [302, 302, 429]
    other = client.post(f"/p/{slug}/credentials/{credential_id}/verify", environ_base={"REMOTE_ADDR": "198.51.100.9"})
    assert other.status_code == 302
