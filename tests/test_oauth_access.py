"""authenticate_access_token: the one check every resource endpoint makes of an OAuth access token."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from wallet.db import utcnow
from wallet.models import OAuthGrant, OAuthToken
from wallet.services.errors import AuthenticationError, InsufficientScopeError
from wallet.services.oauth import grants
from wallet.services.oauth.access import OAuthAccess, authenticate_access_token
from wallet.services.oauth.scopes import OB3_CREDENTIAL_READONLY, OB3_CREDENTIAL_UPSERT
from wallet.services.tokens import hash_secret
from tests.support.oauth import grant_access


def test_authenticate_access_token_good_token_gives_learner_client_and_scopes(session, make_user):
    learner = make_user()
    raw = grant_access(session, learner, [OB3_CREDENTIAL_READONLY])
    access = authenticate_access_token(session, raw, scope=OB3_CREDENTIAL_READONLY)
    assert isinstance(access, OAuthAccess)
    assert access.user.id == learner.id
    assert access.client_name == "Riverside College"
    assert access.scopes == frozenset({OB3_CREDENTIAL_READONLY})
    assert access.client_id


def test_authenticate_access_token_readonly_token_asking_upsert_raises_insufficient_scope(session, make_user):
    raw = grant_access(session, make_user(), [OB3_CREDENTIAL_READONLY])
    with pytest.raises(InsufficientScopeError) as raised:
        authenticate_access_token(session, raw, scope=OB3_CREDENTIAL_UPSERT)
    assert raised.value.scope == OB3_CREDENTIAL_UPSERT
    assert isinstance(raised.value, AuthenticationError)


@pytest.mark.parametrize("raw", [None, "", "wlta_unknown", "wlt_personal-token", "x" * 5000])
def test_authenticate_access_token_missing_or_unknown_raises(session, raw):
    with pytest.raises(AuthenticationError) as raised:
        authenticate_access_token(session, raw, scope=OB3_CREDENTIAL_READONLY)
    assert not isinstance(raised.value, InsufficientScopeError)


def test_authenticate_access_token_expired_raises(session, make_user):
    raw = grant_access(session, make_user(), [OB3_CREDENTIAL_READONLY])
    later = utcnow() + timedelta(hours=2)
    with pytest.raises(AuthenticationError, match="expired"):
        authenticate_access_token(session, raw, scope=OB3_CREDENTIAL_READONLY, now=later)


def test_authenticate_access_token_revoked_grant_raises(session, make_user):
    learner = make_user()
    raw = grant_access(session, learner, [OB3_CREDENTIAL_READONLY])
    grant = session.scalar(select(OAuthGrant))
    grants.revoke_grant(session, owner_id=learner.id, grant_id=grant.id)
    session.commit()
    with pytest.raises(AuthenticationError, match="revoked"):
        authenticate_access_token(session, raw, scope=OB3_CREDENTIAL_READONLY)


def test_authenticate_access_token_learners_tokens_never_cross(session, make_user):
    alice, bob = make_user(email="alice@example.org"), make_user(email="bob@example.org")
    alice_raw = grant_access(session, alice, [OB3_CREDENTIAL_READONLY])
    bob_raw = grant_access(session, bob, [OB3_CREDENTIAL_READONLY])
    assert authenticate_access_token(session, alice_raw, scope=OB3_CREDENTIAL_READONLY).user.id == alice.id
    assert authenticate_access_token(session, bob_raw, scope=OB3_CREDENTIAL_READONLY).user.id == bob.id


def test_authenticate_access_token_records_last_use_once_a_minute(session, make_user):
    raw = grant_access(session, make_user(), [OB3_CREDENTIAL_READONLY])
    start = utcnow()
    authenticate_access_token(session, raw, scope=OB3_CREDENTIAL_READONLY, now=start)
    grant = session.scalar(select(OAuthGrant))
    assert grant.last_used_at == start
    authenticate_access_token(session, raw, scope=OB3_CREDENTIAL_READONLY, now=start + timedelta(seconds=30))
    assert grant.last_used_at == start
    authenticate_access_token(session, raw, scope=OB3_CREDENTIAL_READONLY, now=start + timedelta(seconds=61))
    assert grant.last_used_at == start + timedelta(seconds=61)


def test_grant_access_stores_only_the_hash(session, make_user):
    raw = grant_access(session, make_user(), [OB3_CREDENTIAL_READONLY])
    token = session.scalar(select(OAuthToken))
    assert token.access_token_hash == hash_secret(raw)
    assert raw not in (token.access_token_hash, token.refresh_token_hash)
