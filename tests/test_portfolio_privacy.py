"""Privacy of portfolios and shares (docs/security.md F3-F5, D18): another learner and anonymous visitors
get 404 for anything private, withdrawn, expired or unshared, guessing ids and slugs finds nothing,
and public pages never show hashed emails, salts or the recipient check."""
from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timedelta, timezone
from io import BytesIO

import pytest

from tests.support.accounts import log_in
from tests.support.credentials import JwtIssuer
from tests.support.portfolios import (
    add_credential,
    create_portfolio,
    ld_credential,
    published_portfolio,
    save_portfolio,
    slug_of,
)
from wallet.models import Credential, CredentialShare, Portfolio
from wallet.services.portfolios import new_slug
from wallet.services.verification.extract import bake_svg

SALT = "s4lt-value-123"


def hashed_identity(email: str) -> str:
    return "sha256$" + hashlib.sha256((email + SALT).encode()).hexdigest()


@pytest.fixture
def owner(make_user, login, client):
    user = make_user(email="learner@example.org", display_name="Owner Person")
    login(user)
    return user


@pytest.fixture
def setup(client, owner, session):
    """The owner's published portfolio (one credential), a private portfolio, and an unpublished credential."""
    issuer = JwtIssuer(name="Riverside College")
    document = issuer.credential(name="Shown Credential")
    document["credentialSubject"]["identifier"] = [{"type": "IdentityObject", "identityType": "emailAddress",
                                                    "hashed": True, "salt": SALT,
                                                    "identityHash": hashed_identity("learner@example.org")}]
    shown = add_credential(client, issuer.sign(document))
    hidden = add_credential(client, issuer.jwt(name="Unpublished Credential"))
    public_id, public_slug = published_portfolio(client, session, [shown])
    private_id = create_portfolio(client, "Private plans")
    save_portfolio(client, private_id, credentials=[shown, hidden], title="Private plans")
    return {"shown": shown, "hidden": hidden, "public_id": public_id, "public_slug": public_slug,
            "private_id": private_id, "private_slug": slug_of(session, private_id)}


LEARNER_ROUTES = [
    ("get", "/portfolios/{id}/edit"), ("post", "/portfolios/{id}/edit"), ("get", "/portfolios/{id}/preview"),
    ("post", "/portfolios/{id}/publish"), ("post", "/portfolios/{id}/visibility"),
    ("post", "/portfolios/{id}/regenerate"), ("post", "/portfolios/{id}/revoke"), ("post", "/portfolios/{id}/expiry"),
    ("get", "/portfolios/{id}/delete"), ("post", "/portfolios/{id}/delete"), ("get", "/portfolios/{id}/photo"),
    ("post", "/portfolios/{id}/originals"),
]


@pytest.mark.parametrize(("method", "path"), LEARNER_ROUTES)
def test_another_learner_gets_404_on_every_portfolio_route(client, setup, make_user, login, session, method, path):
    login(make_user())
    for portfolio_id in (setup["public_id"], setup["private_id"]):
        response = getattr(client, method)(path.format(id=portfolio_id), data={"title": "Mine now",
                                                                              "visibility": "unlisted"})
        assert response.status_code == 404, (path, response.status_code)
    session.expire_all()
    assert session.get(Portfolio, setup["private_id"]).visibility == "private"
    assert session.get(Portfolio, setup["public_id"]).title != "Mine now"


@pytest.mark.parametrize(("method", "path"), LEARNER_ROUTES)
def test_anonymous_visitor_is_sent_to_log_in(client, setup, method, path):
    client.post("/logout")
    response = getattr(client, method)(path.format(id=setup["private_id"]))
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_another_learner_cannot_move_items_or_share_credentials(client, setup, make_user, login, session):
    item_id = session.get(Portfolio, setup["public_id"]).items[0].id
    login(make_user())
    assert client.post(f"/portfolios/{setup['public_id']}/items/{item_id}/move", data={"direction": "up"}).status_code == 404
    assert client.post(f"/portfolios/credentials/{setup['hidden']}/share").status_code == 404
    own = create_portfolio(client, "Mine")
    response = save_portfolio(client, own, credentials=[setup["hidden"]], title="Mine")
    assert response.status_code == 404


def test_private_portfolio_link_is_404_for_everyone_but_its_preview(client, setup):
    slug = setup["private_slug"]
    assert client.get(f"/portfolios/{setup['private_id']}/preview").status_code == 200
    for path in (f"/p/{slug}", f"/p/{slug}/presentation.json", f"/p/{slug}/qr.svg",
                 f"/p/{slug}/credentials/{setup['shown']}", f"/p/{slug}/credentials/{setup['hidden']}/original"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "Unpublished Credential" not in response.get_data(as_text=True)


def test_unpublished_credential_is_not_reachable_through_a_public_portfolio(client, setup, make_user, login):
    slug = setup["public_slug"]
    client.post("/logout")
    for suffix in ("", "/original", "/baked", "/image", "/qr.svg", "/evidence/1"):
        assert client.get(f"/p/{slug}/credentials/{setup['hidden']}{suffix}").status_code == 404, suffix
    assert client.post(f"/p/{slug}/credentials/{setup['hidden']}/verify").status_code == 404
    # Another learner's credential id, through this learner's public portfolio: nothing either.
    login(make_user())
    foreign = add_credential(client, JwtIssuer().jwt(name="Foreign", email=None))
    assert client.get(f"/p/{slug}/credentials/{foreign}").status_code == 404
    page = client.get(f"/p/{slug}").get_data(as_text=True)
    assert "Shown Credential" in page and "Unpublished Credential" not in page and "Foreign" not in page


def test_guessed_slugs_find_nothing(client, setup):
    client.post("/logout")
    guesses = [new_slug(), "1", str(setup["public_id"]), setup["public_slug"][:-1], setup["public_slug"].upper(),
               "../" + setup["public_slug"], setup["private_slug"]]
    for guess in guesses:
        assert client.get(f"/p/{guess}").status_code == 404, guess
        assert client.get(f"/c/{guess}").status_code == 404, guess
        assert client.get(f"/embed/c/{guess}").status_code == 404, guess
    assert client.get(f"/c/{setup['public_slug']}").status_code == 404  # a portfolio slug is not a share slug
    assert client.get("/u/1").status_code == 404


def test_unshared_credentials_have_no_share_page(client, setup, session):
    from wallet.models import CredentialShare

    assert session.query(CredentialShare).count() == 0
    client.post("/logout")
    assert client.get(f"/c/{setup['public_slug']}/original").status_code == 404


def test_misses_are_rate_limited_per_client(app, client, setup):
    app.config["PUBLIC_LINK_MISSES_PER_CLIENT"] = 3
    client.post("/logout")
    statuses = [client.get(f"/p/{new_slug()}").status_code for _ in range(4)]
    assert statuses == [404, 404, 404, 429]
    assert client.get(f"/p/{setup['public_slug']}").status_code == 429
    assert client.get(f"/p/{setup['public_slug']}", environ_base={"REMOTE_ADDR": "192.0.2.44"}).status_code == 200


def test_public_pages_never_show_hashed_email_salt_or_recipient_check(client, setup):
    client.post("/logout")
    slug, shown = setup["public_slug"], setup["shown"]
    html = client.get(f"/p/{slug}").get_data(as_text=True) + client.get(f"/p/{slug}/credentials/{shown}").get_data(as_text=True)
    digest = hashed_identity("learner@example.org").removeprefix("sha256$")
    assert digest not in html and SALT not in html and "sha256$" not in html
    assert "learner@example.org" not in html
    assert "Issued to you" not in html and "recipient" not in html.lower()


def test_expired_or_revoked_links_give_404_with_no_data(client, setup, session):
    portfolio = session.get(Portfolio, setup["public_id"])
    portfolio.slug_expires_at = datetime.now(timezone.utc) - timedelta(seconds=1)
    session.commit()
    client.post("/logout")
    response = client.get(f"/p/{setup['public_slug']}")
    body = response.get_data(as_text=True)
    assert response.status_code == 404 and "Owner Person" not in body and "Shown Credential" not in body
    assert not re.search(r'<meta property="og:', body)


# --- originals: what they reveal, and turning them off (docs/security.md F5) --------------------------------


@pytest.fixture
def revealing(client, owner, session):
    """A published portfolio with a credential naming the learner in plain, and one with a salted hash."""
    issuer = JwtIssuer(name="Riverside College")
    plain = add_credential(client, issuer.jwt(name="Plain Address Badge", email="learner@example.org"))
    document = issuer.credential(name="Hashed Address Badge")
    document["credentialSubject"]["identifier"] = [{"type": "IdentityObject", "identityType": "emailAddress",
                                                    "hashed": True, "salt": SALT,
                                                    "identityHash": hashed_identity("learner@example.org")}]
    hashed = add_credential(client, issuer.sign(document))
    portfolio_id, slug = published_portfolio(client, session, [plain, hashed])
    return {"plain": plain, "hashed": hashed, "id": portfolio_id, "slug": slug}


def test_editor_says_what_the_originals_reveal(client, revealing):
    page = client.get(f"/portfolios/{revealing['id']}/edit").get_data(as_text=True)
    assert "1 original names you by your e-mail address learner@example.org" in page
    assert "1 carries a hashed address with its salt, which anyone can check against a guess" in page
    preview = client.get(f"/portfolios/{revealing['id']}/preview").get_data(as_text=True)
    assert "1 original names you by your e-mail address learner@example.org" in preview


def test_originals_off_answers_404_and_omits_every_link(client, session, revealing):
    response = client.post(f"/portfolios/{revealing['id']}/originals", data={})
    assert response.status_code == 302
    session.expire_all()
    assert session.get(Portfolio, revealing["id"]).show_originals is False
    client.post("/logout")
    slug = revealing["slug"]
    for credential_id in (revealing["plain"], revealing["hashed"]):
        for suffix in ("/original", "/baked"):
            assert client.get(f"/p/{slug}/credentials/{credential_id}{suffix}").status_code == 404, suffix
        page = client.get(f"/p/{slug}/credentials/{credential_id}").get_data(as_text=True)
        assert "/original" not in page and "/baked" not in page and 'rel="alternate"' not in page
        assert "Verified" in page
    assert client.get(f"/p/{slug}/presentation.json").status_code == 404
    page = client.get(f"/p/{slug}").get_data(as_text=True)
    assert "/original" not in page and "/baked" not in page and "presentation.json" not in page
    assert 'rel="alternate"' not in page
    # The stored verification state is still shown, with what was checked.
    assert page.count('data-status="valid"') >= 2 and "What was checked" in page
    assert "learner@example.org" not in page and SALT not in page


def test_originals_back_on_restores_the_download(client, session, revealing):
    client.post(f"/portfolios/{revealing['id']}/originals", data={})
    client.post(f"/portfolios/{revealing['id']}/originals", data={"show_originals": "on"})
    client.post("/logout")
    slug = revealing["slug"]
    assert client.get(f"/p/{slug}/credentials/{revealing['plain']}/original").status_code == 200
    assert client.get(f"/p/{slug}/presentation.json").status_code == 200


def test_share_link_with_originals_off_answers_404_for_the_original(client, session, owner):
    credential_id = add_credential(client, JwtIssuer().jwt(name="Shared Badge", email="learner@example.org"))
    share_page = client.get(f"/portfolios/credentials/{credential_id}/share").get_data(as_text=True)
    assert "names you by your e-mail address learner@example.org" in share_page
    response = client.post(f"/portfolios/credentials/{credential_id}/share", data={})
    assert response.status_code == 302
    share = session.query(CredentialShare).one()
    assert share.show_originals is False
    client.post("/logout")
    for suffix in ("/original", "/baked"):
        assert client.get(f"/c/{share.slug}{suffix}").status_code == 404, suffix
    page = client.get(f"/c/{share.slug}").get_data(as_text=True)
    assert "Shared Badge" in page and "Verified" in page
    assert "/original" not in page and "/baked" not in page
    assert 'type="application/vc+jwt"' not in page


def test_share_link_keeps_originals_when_the_learner_keeps_them(client, session, owner):
    credential_id = add_credential(client, JwtIssuer().jwt(name="Shared Badge"))
    client.post(f"/portfolios/credentials/{credential_id}/share", data={"show_originals": "on"})
    slug = session.query(CredentialShare).one().slug
    client.post("/logout")
    assert client.get(f"/c/{slug}/original").status_code == 200


# --- credentials that do not verify: warned before publishing ------------------------------------------


def test_editor_and_share_page_warn_about_credentials_that_do_not_verify(client, session, owner):
    genuine = add_credential(client, JwtIssuer().jwt(name="Genuine Badge"))
    document = ld_credential(name="Genuine name")
    document["name"] = "Forged Certificate"
    tampered = add_credential(client, json.dumps(document))
    portfolio_id = create_portfolio(client, "Application")
    save_portfolio(client, portfolio_id, credentials=[genuine, tampered], title="Application")
    page = client.get(f"/portfolios/{portfolio_id}/edit").get_data(as_text=True)
    warning = page.split('id="not-verified"', 1)[1].split("</section>", 1)[0]
    assert "Forged Certificate" in warning and "Not genuine" in warning and "Genuine Badge" not in warning
    assert "left out of the signed presentation" in warning
    share_page = client.get(f"/portfolios/credentials/{tampered}/share").get_data(as_text=True)
    assert 'id="not-verified"' in share_page and "Not genuine" in share_page
    assert 'id="not-verified"' not in client.get(f"/portfolios/credentials/{genuine}/share").get_data(as_text=True)
    # The learner can still publish; the public page shows the state in words.
    assert client.post(f"/portfolios/{portfolio_id}/publish", data={"visibility": "unlisted"}).status_code == 302
    assert client.post(f"/portfolios/credentials/{tampered}/share", data={}).status_code == 302


def test_originals_off_a_baked_svg_badge_image_is_not_served(client, session, owner):
    token = JwtIssuer().jwt(name="Baked Badge", email="learner@example.org")
    svg = bake_svg(b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><circle r="4"/></svg>', token,
                   "openbadgecredential")
    response = client.post("/credentials/add/files", data={"files": (BytesIO(svg), "badge.svg")},
                           content_type="multipart/form-data")
    assert response.status_code in (200, 302), response.get_data(as_text=True)
    credential = session.query(Credential).filter_by(name="Baked Badge").one()
    # The stored picture is the baked file itself: the original is inside it.
    assert credential.image_sha256 == credential.original_sha256
    portfolio_id, slug = published_portfolio(client, session, [credential.id])
    client.post("/logout")
    image = client.get(f"/p/{slug}/credentials/{credential.id}/image")
    assert image.status_code == 200 and token.encode() in image.data
    log_in(client, owner)
    client.post(f"/portfolios/{portfolio_id}/originals", data={})
    client.post("/logout")
    image = client.get(f"/p/{slug}/credentials/{credential.id}/image")
    assert image.status_code == 302 and image.headers["Location"].endswith("/static/img/badge-placeholder.svg")
    assert token.encode() not in image.data
