"""Every JSON body the API accepts is read by the strict reader (docs/security.md D1-D4).

The endpoints come from the OpenAPI document, so an endpoint added later is covered as soon as it
documents a JSON request body. Each bad body must get 400 with the usual `{"error", "message"}`
and a message that names the problem, never a 500.
"""
from __future__ import annotations

import re

import pytest

from tests.support.accounts import bearer
from tests.support.credentials import JwtIssuer
from wallet.routes.api import AREA_MODULES
from wallet.routes.api.openapi import HTTP_METHODS, build_document

# (body, what the message must say)
BAD_BODIES = {
    "nan": ('{"title": NaN, "order": [NaN], "credential": {"a": NaN}}', "NaN"),
    "infinity": ('{"title": Infinity, "order": [Infinity], "credential": {"a": Infinity}}', "Infinity"),
    "minus-infinity": ('{"title": -Infinity, "order": [-Infinity], "credential": {"a": -Infinity}}', "Infinity"),
    "1e400": ('{"title": 1e400, "order": [1e400], "credential": {"a": 1e400}, "version": 1e400}', "too large"),
    "int-beyond-2^53": ('{"order": [9007199254740993], "credentials": [9007199254740993], '
                        '"credential": {"a": 9007199254740993}, "version": 9007199254740993}', "too large"),
    "negative-int-beyond-2^53": ('{"order": [-9007199254740993], "credentials": [-9007199254740993], '
                                 '"credential": {"a": -9007199254740993}}', "too large"),
    "huge-int-literal": ('{"order": [' + "9" * 100_000 + "]}", "too large"),
    "nested-arrays": ('{"order": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested"),
    "nested-objects": ('{"credential": ' + '{"a":' * 100_000 + "1" + "}" * 100_001, "nested"),
    "duplicate-keys": ('{"title": "A", "title": "B", "credential": {"issuer": "A", "issuer": "B"}}', "twice"),
}


DOCUMENT = build_document(AREA_MODULES)


def json_operations() -> list[tuple[str, str]]:
    """Return (METHOD, path template) of every operation that documents a JSON request body."""
    found = []
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS and "application/json" in operation.get("requestBody", {}).get("content", {}):
                found.append((method.upper(), path))
    return found


@pytest.fixture
def owned_ids(client, make_user, api_token) -> tuple[dict[str, str], dict[str, int]]:
    """Give a learner one of each item, so path parameters name something the token owner has."""
    headers = bearer(api_token(make_user(email="learner@example.org")))
    credential = client.post("/api/v1/credentials", json={"credential": JwtIssuer().jwt()}, headers=headers)
    assert credential.status_code == 201, credential.get_json()
    credential_id = credential.get_json()["id"]
    evidence = client.post(f"/api/v1/credentials/{credential_id}/evidence", json={"kind": "text", "text": "Notes"},
                           headers=headers)
    portfolio = client.post("/api/v1/portfolios", json={"title": "Applications"}, headers=headers)
    pathway = client.post("/api/v1/pathways", headers=headers, json={
        "format": "wallet-pathway", "version": 1, "title": "Data",
        "steps": [{"title": "Any badge", "rule": {"kind": "name", "text": "Badge"}}]})
    assert (evidence.status_code, portfolio.status_code, pathway.status_code) == (201, 201, 201), pathway.get_json()
    return headers, {"credential_id": credential_id, "evidence_id": evidence.get_json()["id"],
                     "portfolio_id": portfolio.get_json()["id"], "pathway_id": pathway.get_json()["id"]}


def test_json_operations_are_found_in_the_openapi_document() -> None:
    operations = json_operations()
    assert ("POST", "/credentials") in operations and ("PATCH", "/portfolios/{portfolio_id}") in operations
    assert ("PUT", "/pathways/{pathway_id}") in operations and len(operations) >= 8


@pytest.mark.parametrize("operation", json_operations(), ids=" ".join)
@pytest.mark.parametrize("bad", BAD_BODIES, ids=str)
def test_api_json_body_bad_number_or_nesting_is_400(client, owned_ids, operation, bad) -> None:
    headers, ids = owned_ids
    method, template = operation
    path = re.sub(r"\{(\w+)\}", lambda m: str(ids.get(m.group(1), 1)), template)
    body, reason = BAD_BODIES[bad]
    response = client.open("/api/v1" + path, method=method, data=body.encode(), headers=headers,
                           content_type="application/json")
    answer = response.get_json()
    if response.status_code == 413:
        # An endpoint's own, smaller size cap may refuse the body first (documented, and no less clear).
        assert "413" in DOCUMENT["paths"][template][method.lower()]["responses"], answer
        assert len(body) > 256 * 1024 and answer["error"] == "TooLarge"
        return
    assert response.status_code == 400, answer
    assert {"error", "message"} <= set(answer) and reason in answer["message"]


def test_api_json_body_strict_error_leaves_nothing_changed(client, owned_ids) -> None:
    headers, ids = owned_ids
    path = f"/api/v1/portfolios/{ids['portfolio_id']}"
    response = client.patch(path, data=b'{"title": "Renamed", "credentials": [1e400]}', headers=headers,
                            content_type="application/json")
    assert response.status_code == 400
    assert client.get(path, headers=headers).get_json()["title"] == "Applications"


def test_api_json_body_valid_large_safe_integer_is_read(client, owned_ids) -> None:
    """2^53 - 1 is still a JSON number every parser reads alike: the body is read, the id is simply unknown."""
    headers, ids = owned_ids
    response = client.put(f"/api/v1/credentials/{ids['credential_id']}/evidence/order",
                          data=b'{"order": [9007199254740991]}', headers=headers, content_type="application/json")
    assert response.status_code == 400 and "too large" not in response.get_json()["message"]
