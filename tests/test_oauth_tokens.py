"""Codes and tokens in the services: single use, expiry, binding to the client, rotation (no HTTP)."""
from __future__ import annotations

from datetime import timedelta

from wallet.db import utcnow
from wallet.services.oauth import grants, tokens
from wallet.services.oauth.scopes import OB3_CREDENTIAL_READONLY
from tests.support.oauth import register_client

SCOPES = frozenset({OB3_CREDENTIAL_READONLY})


def _code(session, user, *, client=None, now=None):
    client = client or register_client(session).client
    grant = grants.record_consent(session, owner_id=user.id, client=client, scopes=SCOPES)
    raw = tokens.new_code()
    tokens.save_code(session, grant=grant, raw=raw, redirect_uri="https://client.example/callback", scopes=SCOPES,
                     code_challenge="c" * 43, code_challenge_method="S256", now=now)
    return client, grant, raw


def test_redeem_code_expired_is_refused(session, make_user) -> None:
    client, _grant, raw = _code(session, make_user(), now=utcnow() - timedelta(seconds=301))
    assert tokens.redeem_code(session, raw, client_pk=client.id) is None


def test_redeem_code_of_another_client_is_refused_and_stays_usable(session, make_user) -> None:
    client, _grant, raw = _code(session, make_user())
    other = register_client(session, client_name="Someone Else").client
    assert tokens.redeem_code(session, raw, client_pk=other.id) is None
    assert tokens.redeem_code(session, raw, client_pk=client.id) is not None


def test_redeem_code_second_use_revokes_tokens_issued_from_it_and_their_refreshes(session, make_user) -> None:
    client, grant, raw = _code(session, make_user())
    code = tokens.redeem_code(session, raw, client_pk=client.id)
    first = tokens.issue_tokens(session, grant=grant, scopes=SCOPES, code_id=code.id)
    assert tokens.rotate(session, first.token)
    refreshed = tokens.issue_tokens(session, grant=grant, scopes=SCOPES, code_id=code.id)
    unrelated = tokens.issue_tokens(session, grant=grant, scopes=SCOPES)
    assert tokens.redeem_code(session, raw, client_pk=client.id) is None
    session.expire_all()
    assert first.token.revoked_at is not None and refreshed.token.revoked_at is not None
    assert unrelated.token.revoked_at is None


def test_rotate_twice_only_the_first_wins(session, make_user) -> None:
    _client, grant, _raw = _code(session, make_user())
    issued = tokens.issue_tokens(session, grant=grant, scopes=SCOPES)
    assert tokens.rotate(session, issued.token) is True
    assert tokens.rotate(session, issued.token) is False


def test_usable_refresh_token_expired_is_refused(session, make_user) -> None:
    client, grant, _raw = _code(session, make_user())
    issued = tokens.issue_tokens(session, grant=grant, scopes=SCOPES, refresh_seconds=60)
    later = utcnow() + timedelta(seconds=61)
    assert tokens.usable_refresh_token(session, issued.refresh_token, client_pk=client.id, now=later) is None
    assert tokens.usable_refresh_token(session, issued.refresh_token, client_pk=client.id) is not None
