"""Ids and text no database column can hold are refused at the door: a missing page or a 400, never a crash.

Ids are 32-bit INTEGER primary keys on PostgreSQL, and PostgreSQL text cannot hold a NUL character;
both used to reach the database and answer 500 there (SQLite took them).
"""
from __future__ import annotations

import pytest

from tests.support.accounts import bearer
from wallet.inputs import MAX_ID


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
@pytest.mark.parametrize("credential_id", [str(MAX_ID + 1), "9223372036854775808", "1" * 40])
def test_api_id_beyond_a_database_integer_is_404(client, make_user, api_token, method, credential_id) -> None:
    response = client.open(f"/api/v1/credentials/{credential_id}", method=method, json={},
                           headers=bearer(api_token(make_user())))
    assert response.status_code == 404 and response.get_json()["error"] == "NotFound"


def test_page_id_beyond_a_database_integer_is_404(client, login, make_user) -> None:
    login(make_user())
    assert client.get("/credentials/99999999999999999999").status_code == 404
    assert client.get(f"/portfolios/{MAX_ID + 1}").status_code == 404


def test_api_largest_routable_id_is_looked_up(client, make_user, api_token) -> None:
    response = client.get(f"/api/v1/credentials/{MAX_ID}", headers=bearer(api_token(make_user())))
    assert response.status_code == 404 and "credential" in response.get_json()["message"].lower()


@pytest.mark.parametrize("credentials", [[MAX_ID + 1], [{"id": MAX_ID + 1}], [0], [True]])
def test_api_body_id_no_row_can_have_is_400(client, make_user, api_token, credentials) -> None:
    response = client.post("/api/v1/portfolios", json={"title": "Mine", "credentials": credentials},
                           headers=bearer(api_token(make_user())))
    assert response.status_code == 400 and response.get_json()["error"] == "Validation"


def test_api_query_string_with_nul_is_400(client, make_user, api_token) -> None:
    response = client.get("/api/v1/credentials?status=%00", headers=bearer(api_token(make_user())))
    assert response.status_code == 400 and "NUL" in response.get_json()["message"]


def test_api_json_body_with_nul_is_400_and_nothing_stored(client, make_user, api_token) -> None:
    auth = bearer(api_token(make_user()))
    response = client.post("/api/v1/portfolios", json={"title": "Mine\u0000"}, headers=auth)
    assert response.status_code == 400 and "NUL" in response.get_json()["message"]
    assert client.get("/api/v1/portfolios", headers=auth).get_json()["portfolios"] == []


def test_page_form_with_nul_is_400_and_nothing_stored(client, login, make_user) -> None:
    login(make_user())
    response = client.post("/portfolios/new", data={"title": "Mine\u0000"})
    assert response.status_code == 400 and b"NUL" in response.data
    listing = client.get("/portfolios", follow_redirects=True)
    assert listing.status_code == 200 and b"Mine" not in listing.data
