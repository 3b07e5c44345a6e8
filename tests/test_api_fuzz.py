"""Fuzz the API from its own OpenAPI document (schemathesis), with a learner's token.

Every operation the document describes, including those added later, gets generated requests,
valid and invalid: no answer may be a server error (a documented 502 for an issuer that cannot be
reached aside), every status code must be documented for the operation, and every answer must
match its documented media type and schema. The run is derandomised, seeded and bounded, so it is
the same run every time and takes seconds, not minutes.
"""
from __future__ import annotations

import socket
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.accounts import bearer
from tests.support.credentials import JwtIssuer
from wallet.routes.api import AREA_MODULES
from wallet.routes.api.openapi import build_document

FUZZ_SEED = 20261203
# Generated requests per operation and phase; the whole run stays well under a minute on one core.
MAX_EXAMPLES = 10
LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def no_server_error(ctx: Any, response: Any, case: Any) -> bool | None:
    """No 5xx, except a documented 502 `Fetch`: the issuer's server could not be reached, Wallet did not fail.

    (Generated URLs name hosts that do not exist, so importing from them is such a failure.)
    """
    documented = DOCUMENT["paths"][case.operation.path][case.operation.method.lower()]["responses"]
    if response.status_code == 502 and "502" in documented and response.json().get("error") == "Fetch":
        return True
    return not_a_server_error(ctx, response, case)


CHECKS = [no_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]


@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the fuzz run off the network: generated URLs name hosts that must never be looked up."""
    resolve = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if str(host) not in LOOPBACK:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def fuzz_auth(client, make_user, api_token) -> dict[str, str]:
    """A learner with a credential (and its evidence), a portfolio, a share and a pathway: the ids the
    fuzzer guesses (small integers) then name real items as well as missing ones."""
    headers = bearer(api_token(make_user(email="learner@example.org")))
    issuer = JwtIssuer()
    for name in ("Data Analysis", "Statistics"):
        response = client.post("/api/v1/credentials", json={"credential": issuer.jwt(name=name)}, headers=headers)
        assert response.status_code == 201, response.get_json()
    assert client.post("/api/v1/credentials/1/evidence", json={"kind": "text", "text": "Notes"},
                       headers=headers).status_code == 201
    assert client.post("/api/v1/portfolios", json={"title": "Applications", "credentials": [1]},
                       headers=headers).status_code == 201
    assert client.put("/api/v1/shares/1", json={}, headers=headers).status_code == 200
    assert client.post("/api/v1/pathways", headers=headers, json={
        "format": "wallet-pathway", "version": 1, "title": "Data",
        "steps": [{"title": "Any badge", "rule": {"kind": "name", "text": "Data"}}]}).status_code == 201
    return headers


# The document the app serves at /api/v1/openapi.json (the first test checks they are the same); read
# without an app so that each operation's test gets its own app, database and learner.
DOCUMENT = build_document(AREA_MODULES)
schema = schemathesis.openapi.from_dict(DOCUMENT)
schema.config.generation.update(max_examples=MAX_EXAMPLES, deterministic=True, database="none")
schema.config.seed = FUZZ_SEED


def test_api_fuzz_reads_the_document_the_app_serves(client) -> None:
    assert client.get("/api/v1/openapi.json").get_json() == DOCUMENT


@schema.parametrize()
# One app, database and learner per operation, shared by its generated requests: an API sees many
# requests on one state too.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_api_fuzz_answers_match_the_openapi_document(case, app, fuzz_auth, loopback_only) -> None:
    case.call_and_validate(app=app, headers=fuzz_auth, checks=CHECKS)
