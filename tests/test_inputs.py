"""Integer path parameters: an id no database integer can hold is a missing page, never a crash."""
from __future__ import annotations

import pytest

from tests.support.accounts import bearer


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
@pytest.mark.parametrize("credential_id", ["9223372036854775808", "1" * 40])
def test_api_id_beyond_a_database_integer_is_404(client, make_user, api_token, method, credential_id) -> None:
    response = client.open(f"/api/v1/credentials/{credential_id}", method=method, json={},
                           headers=bearer(api_token(make_user())))
    assert response.status_code == 404 and response.get_json()["error"] == "NotFound"


def test_page_id_beyond_a_database_integer_is_404(client, login, make_user) -> None:
    login(make_user())
    assert client.get("/credentials/99999999999999999999").status_code == 404


def test_api_largest_routable_id_is_looked_up(client, make_user, api_token) -> None:
    response = client.get("/api/v1/credentials/9999999999999999", headers=bearer(api_token(make_user())))
    assert response.status_code == 404 and "credential" in response.get_json()["message"].lower()
