"""Settings → Connected apps: each grant in plain words, its last use, and Revoke; account deletion removes grants."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from wallet.models import OAuthClient, OAuthGrant, OAuthToken
from wallet.services.errors import AuthenticationError
from wallet.services.oauth.access import authenticate_access_token
from wallet.services.oauth.scopes import OB3_CREDENTIAL_READONLY, OB3_CREDENTIAL_UPSERT
from tests.support.accounts import DEFAULT_PASSWORD
from tests.support.oauth import grant_access


def test_settings_apps_lists_grant_in_plain_words_and_last_use(client, session, make_user, login) -> None:
    learner = make_user()
    raw = grant_access(session, learner, [OB3_CREDENTIAL_UPSERT])
    login(learner)
    page = client.get("/settings/apps").get_data(as_text=True)
    assert "Riverside College" in page
    assert "add Open Badges to your wallet, and update ones it added" in page
    assert "not used yet" in page
    authenticate_access_token(session, raw, scope=OB3_CREDENTIAL_UPSERT)
    session.commit()
    assert "last used" in client.get("/settings/apps").get_data(as_text=True)
    assert 'href="/settings/apps"' in client.get("/settings/").get_data(as_text=True)


def test_settings_apps_empty_state_teaches_what_it_is(client, make_user, login) -> None:
    login(make_user())
    assert "No apps are connected" in client.get("/settings/apps").get_data(as_text=True)


def test_settings_apps_revoke_ends_grant_and_every_token(client, session, make_user, login) -> None:
    learner = make_user()
    raw = grant_access(session, learner, [OB3_CREDENTIAL_READONLY])
    grant = session.scalar(select(OAuthGrant))
    login(learner)
    response = client.post(f"/settings/apps/{grant.id}/revoke")
    assert response.status_code == 302
    session.rollback()
    with pytest.raises(AuthenticationError, match="revoked"):
        authenticate_access_token(session, raw, scope=OB3_CREDENTIAL_READONLY)
    assert session.scalar(select(func.count()).select_from(OAuthToken).where(OAuthToken.revoked_at.is_(None))) == 0
    assert "No apps are connected" in client.get("/settings/apps").get_data(as_text=True)


def test_settings_apps_revoke_another_learners_grant_is_not_found(client, session, make_user, login) -> None:
    owner, other = make_user(), make_user()
    raw = grant_access(session, owner, [OB3_CREDENTIAL_READONLY])
    grant = session.scalar(select(OAuthGrant))
    login(other)
    assert client.post(f"/settings/apps/{grant.id}/revoke").status_code == 404
    session.rollback()
    assert authenticate_access_token(session, raw, scope=OB3_CREDENTIAL_READONLY).user.id == owner.id


def test_delete_account_removes_its_grants_and_tokens(client, session, make_user, login) -> None:
    learner = make_user()
    grant_access(session, learner, [OB3_CREDENTIAL_READONLY])
    login(learner)
    response = client.post("/settings/delete", data={"delete-password": DEFAULT_PASSWORD, "delete-confirm": "y"})
    assert response.status_code == 302
    session.rollback()
    assert session.scalar(select(func.count()).select_from(OAuthGrant)) == 0
    assert session.scalar(select(func.count()).select_from(OAuthToken)) == 0
    assert session.scalar(select(func.count()).select_from(OAuthClient)) == 1  # the client is not the learner's
