"""Settings: profile, email addresses, password change, tokens, deleting the account."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.support.accounts import DEFAULT_PASSWORD, bearer, mailed_link
from wallet.db import Base
from wallet.models import AccountToken, ApiToken, EmailAddress, User
from wallet.services import passwords


@pytest.fixture
def ada(make_user, login) -> User:
    user = make_user(email="ada@example.org", display_name="Ada")
    login(user)
    return user


def _page(client) -> str:
    response = client.get("/settings/")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_settings_when_logged_out_redirects_to_login(client) -> None:
    response = client.get("/settings/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Fsettings%2F"


def test_settings_page_has_every_section_and_no_caching(client, ada) -> None:
    response = client.get("/settings/")
    page = response.get_data(as_text=True)
    for title in ("Profile", "Email addresses", "Password", "Personal access tokens", "Delete your account"):
        assert f">{title}</h2>" in page
    assert response.headers["Cache-Control"] == "no-store"
    # Five forms on one page: prefixed ids never clash.
    for field_id in ("profile-display_name", "email-address", "password-current", "token-name", "delete-password"):
        assert f'<label for="{field_id}">' in page


def test_settings_is_in_the_navigation(client, ada) -> None:
    assert 'href="/settings/"' in client.get("/").get_data(as_text=True)


# Profile


def test_profile_new_name_is_saved(client, session, ada) -> None:
    response = client.post("/settings/profile", data={"profile-display_name": "  Ada   King  "})
    assert response.status_code == 302
    session.refresh(ada)
    assert ada.display_name == "Ada King"


def test_profile_empty_name_is_refused(client, session, ada) -> None:
    response = client.post("/settings/profile", data={"profile-display_name": "   "})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Enter the name to show on your wallet." in page
    assert 'aria-invalid="true"' in page
    session.refresh(ada)
    assert ada.display_name == "Ada"


# Email addresses


def test_add_email_is_unverified_and_mailed_a_link(client, session, ada) -> None:
    response = client.post("/settings/emails", data={"email-address": "Ada.King@Example.net"})
    assert response.status_code == 302
    session.refresh(ada)
    added = [e for e in ada.emails if e.address == "ada.king@example.net"]
    assert len(added) == 1 and added[0].verified_at is None and not added[0].is_primary
    assert ada.verified_addresses == ["ada@example.org"]
    link = mailed_link(session, "ada.king@example.net")
    client.post(link)
    session.expire_all()
    assert sorted(session.get(User, ada.id).verified_addresses) == ["ada.king@example.net", "ada@example.org"]


def test_add_email_already_on_the_account_is_refused(client, session, ada) -> None:
    response = client.post("/settings/emails", data={"email-address": "ADA@example.org"})
    assert response.status_code == 400
    assert "That address is already on your account." in response.get_data(as_text=True)
    assert session.query(EmailAddress).count() == 1


def test_add_email_of_another_account_is_refused(client, session, ada, make_user) -> None:
    make_user(email="grace@example.org")
    response = client.post("/settings/emails", data={"email-address": "grace@example.org"})
    assert response.status_code == 400
    assert "That address belongs to another account." in response.get_data(as_text=True)
    owners = session.scalars(select(EmailAddress.user_id).where(EmailAddress.address == "grace@example.org")).all()
    assert owners != [ada.id] and len(owners) == 1


def test_add_email_invalid_is_refused(client, session, ada) -> None:
    response = client.post("/settings/emails", data={"email-address": "not an address"})
    assert response.status_code == 400
    assert "Enter an email address like name@example.org." in response.get_data(as_text=True)
    assert session.query(EmailAddress).count() == 1


def test_resend_link_replaces_the_old_one(client, session, ada) -> None:
    client.post("/settings/emails", data={"email-address": "second@example.org"})
    first = mailed_link(session, "second@example.org")
    email_id = session.scalar(select(EmailAddress.id).where(EmailAddress.address == "second@example.org"))
    assert client.post(f"/settings/emails/{email_id}/resend").status_code == 302
    second = mailed_link(session, "second@example.org")
    assert first != second
    assert client.post(first).status_code == 400
    assert client.post(second).status_code == 302


def test_make_primary_needs_a_confirmed_address(client, session, ada) -> None:
    client.post("/settings/emails", data={"email-address": "second@example.org"})
    second = session.scalars(select(EmailAddress).where(EmailAddress.address == "second@example.org")).one()
    response = client.post(f"/settings/emails/{second.id}/primary", follow_redirects=True)
    assert "Confirm this address before making it your main one." in response.get_data(as_text=True)
    session.refresh(second)
    assert not second.is_primary
    client.post(mailed_link(session, "second@example.org"))
    client.post(f"/settings/emails/{second.id}/primary")
    session.expire_all()
    assert session.get(User, ada.id).primary_email.address == "second@example.org"
    assert sum(e.is_primary for e in session.get(User, ada.id).emails) == 1


def test_remove_email_main_address_is_refused_other_is_removed(client, session, ada) -> None:
    client.post("/settings/emails", data={"email-address": "second@example.org"})
    main_id = ada.primary_email.id
    response = client.post(f"/settings/emails/{main_id}/remove", follow_redirects=True)
    assert "You cannot remove your main address." in response.get_data(as_text=True)
    second_id = session.scalar(select(EmailAddress.id).where(EmailAddress.address == "second@example.org"))
    client.post(f"/settings/emails/{second_id}/remove")
    session.expire_all()
    assert [e.address for e in session.get(User, ada.id).emails] == ["ada@example.org"]
    assert session.query(AccountToken).filter_by(email_id=second_id).count() == 0


@pytest.mark.parametrize("action", ["resend", "primary", "remove"])
def test_email_actions_on_another_accounts_address_are_404(client, session, ada, make_user, action: str) -> None:
    other = make_user(email="grace@example.org", verified=False)
    email_id = other.emails[0].id
    response = client.post(f"/settings/emails/{email_id}/{action}")
    assert response.status_code == 404
    session.expire_all()
    assert [e.address for e in session.get(User, other.id).emails] == ["grace@example.org"]


# Password


def test_change_password_ends_other_sessions_keeps_this_one(client, session, ada, login) -> None:
    other_device = client.application.test_client()
    login(ada, client=other_device)
    assert other_device.get("/settings/").status_code == 200
    response = client.post("/settings/password", data={"password-current": DEFAULT_PASSWORD,
                                                       "password-new": "a fresh passphrase here",
                                                       "password-confirm": "a fresh passphrase here"})
    assert response.status_code == 302
    assert client.get("/settings/").status_code == 200
    assert other_device.get("/settings/").status_code == 302
    session.refresh(ada)
    assert passwords.verify_password(ada.password_hash, "a fresh passphrase here")
    assert len(ada.login_sessions) == 1


def test_change_password_wrong_current_is_refused(client, session, ada) -> None:
    response = client.post("/settings/password", data={"password-current": "not my password",
                                                       "password-new": "a fresh passphrase here",
                                                       "password-confirm": "a fresh passphrase here"})
    assert response.status_code == 400
    assert "Your current password is not right." in response.get_data(as_text=True)
    session.refresh(ada)
    assert passwords.verify_password(ada.password_hash, DEFAULT_PASSWORD) and len(ada.login_sessions) == 1


@pytest.mark.parametrize(("new", "confirm", "message"), [
    ("short", "short", "Use at least 10 characters."),
    ("1234567890", "1234567890", "most common"),
    ("ada@example.org", "ada@example.org", "cannot be your email address"),
    ("a fresh passphrase here", "something else entirely", "The two passwords are not the same."),
])
def test_change_password_weak_new_password_is_refused(client, session, ada, new: str, confirm: str,
                                                      message: str) -> None:
    response = client.post("/settings/password", data={"password-current": DEFAULT_PASSWORD,
                                                       "password-new": new, "password-confirm": confirm})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    session.refresh(ada)
    assert passwords.verify_password(ada.password_hash, DEFAULT_PASSWORD)


# Tokens


def test_create_token_is_shown_once_and_works(client, session, ada) -> None:
    response = client.post("/settings/tokens", data={"token-name": "Backup script", "token-lifetime": "30"})
    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    raw = page.split('id="new-token" class="mono" value="', 1)[1].split('"', 1)[0]
    assert raw.startswith("wlt_")
    assert client.get("/api/v1/me", headers=bearer(raw)).get_json()["id"] == ada.id
    later = _page(client)
    assert raw not in later
    assert raw[:12] in later and "Backup script" in later
    token = session.query(ApiToken).one()
    assert token.expires_at is not None and raw not in token.token_hash


def test_create_token_without_name_is_refused(client, session, ada) -> None:
    response = client.post("/settings/tokens", data={"token-name": "", "token-lifetime": "90"})
    assert response.status_code == 400
    assert "Give the token a name" in response.get_data(as_text=True)
    assert session.query(ApiToken).count() == 0


def test_create_token_unknown_lifetime_is_refused(client, session, ada) -> None:
    response = client.post("/settings/tokens", data={"token-name": "x", "token-lifetime": "forever-and-ever"})
    assert response.status_code == 400
    assert session.query(ApiToken).count() == 0


def test_revoke_token_stops_it_working(client, session, ada, api_token) -> None:
    raw = api_token(ada, name="phone")
    token_id = session.query(ApiToken).one().id
    assert client.post(f"/settings/tokens/{token_id}/revoke").status_code == 302
    assert client.get("/api/v1/me", headers=bearer(raw)).status_code == 401
    assert "Revoked" in _page(client)


def test_revoke_another_learners_token_is_404(client, session, ada, make_user, api_token) -> None:
    other = make_user()
    raw = api_token(other)
    token_id = session.query(ApiToken).filter_by(user_id=other.id).one().id
    assert client.post(f"/settings/tokens/{token_id}/revoke").status_code == 404
    assert client.get("/api/v1/me", headers=bearer(raw)).status_code == 200


# Deleting the account


def _rows_referring_to(session, user_id: int) -> dict[str, int]:
    """Count, in every table with a foreign key to users.id, the rows that point at this user."""
    counts: dict[str, int] = {}
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table.name == "users":
                counts[table.name] = len(session.execute(select(table).where(fk.parent == user_id)).all())
    return counts


def test_delete_account_removes_everything_and_logs_out(client, session, ada, api_token) -> None:
    api_token(ada)
    client.post("/settings/emails", data={"email-address": "second@example.org"})
    assert sum(_rows_referring_to(session, ada.id).values()) >= 4
    response = client.post("/settings/delete", data={"delete-password": DEFAULT_PASSWORD, "delete-confirm": "y"})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    session.expire_all()
    assert session.get(User, ada.id) is None
    assert set(_rows_referring_to(session, ada.id).values()) == {0}
    assert client.get("/settings/").status_code == 302


def test_delete_account_wrong_password_deletes_nothing(client, session, ada) -> None:
    response = client.post("/settings/delete", data={"delete-password": "wrong password", "delete-confirm": "y"})
    assert response.status_code == 400
    assert "Your password is not right." in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(User, ada.id) is not None


def test_delete_account_without_the_tick_deletes_nothing(client, session, ada) -> None:
    response = client.post("/settings/delete", data={"delete-password": DEFAULT_PASSWORD})
    assert response.status_code == 400
    assert "Tick the box" in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(User, ada.id) is not None


def test_delete_account_leaves_other_accounts_alone(client, session, ada, make_user) -> None:
    other = make_user(email="grace@example.org")
    client.post("/settings/delete", data={"delete-password": DEFAULT_PASSWORD, "delete-confirm": "y"})
    session.expire_all()
    assert session.get(User, other.id).verified_addresses == ["grace@example.org"]


def test_settings_wallet_identifier_is_created_on_request_and_shown(client, login, make_user, session) -> None:
    from wallet.models import LearnerKey

    user = make_user()
    login(user)
    page = client.get("/settings/").get_data(as_text=True)
    assert "Create my wallet identifier" in page
    assert session.query(LearnerKey).filter_by(owner_id=user.id).count() == 0  # a GET creates nothing
    response = client.post("/settings/identifier")
    assert response.status_code == 302
    did = session.query(LearnerKey).filter_by(owner_id=user.id).one().did
    assert did.startswith("did:key:z6Mk")
    page = client.get("/settings/").get_data(as_text=True)
    assert f'value="{did}"' in page and "Create my wallet identifier" not in page
    client.post("/settings/identifier")  # asking again keeps the same identifier
    assert session.query(LearnerKey).filter_by(owner_id=user.id).count() == 1
