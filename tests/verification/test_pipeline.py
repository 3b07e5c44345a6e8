"""The whole pipeline on bad input: each case gets its exact status and a clear message, never a traceback."""
from __future__ import annotations

import base64
import json

import pytest
from jwcrypto.jwk import JWK

from tests.support.credentials import JwtIssuer, bake_png_jwt, png_image
from tests.support.servers import DocumentServer, Response
from wallet.services.http import GuardedFetcher
from wallet.services.verification import make_context, verify_bytes, verify_url
from wallet.services.verification.result import Status


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _messages(result) -> str:
    return " ".join(check.message for check in result.checks)


def test_pipeline_jwt_with_alg_none_is_invalid() -> None:
    payload = JwtIssuer().jwt().split(".")[1]  # a real credential's claims, re-sent unsigned
    for alg in ("none", "None", "nOnE"):
        result = verify_bytes(f"{_b64({'alg': alg, 'typ': 'JWT'})}.{payload}.".encode(), filename="badge.jwt")
        assert result.status is Status.INVALID, alg
        assert "none" in _messages(result).lower() or "algorithm" in _messages(result).lower()


def test_pipeline_jwt_with_an_algorithm_wallet_does_not_support_is_unverifiable_not_invalid() -> None:
    # A real ES256K (secp256k1) signature: genuine or not, Wallet cannot tell, so it never says forged.
    from jwcrypto.jws import JWS

    key = JWK.generate(kty="EC", crv="secp256k1")
    claims = JwtIssuer().jwt().split(".")[1]
    token = JWS(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    token.allowed_algs = ["ES256K"]
    token.add_signature(key, alg="ES256K", protected=json.dumps({"alg": "ES256K", "typ": "JWT"}))
    result = verify_bytes(token.serialize(compact=True).encode(), filename="badge.jwt")
    assert result.status is Status.UNVERIFIABLE
    assert "ES256K" in _messages(result)


def test_pipeline_malformed_json_is_an_error_with_a_reason() -> None:
    result = verify_bytes(b'{"@context": "https://w3id.org/openbadges/v2", "type": ', filename="badge.json")
    assert result.status is Status.ERROR
    assert "JSON" in _messages(result)


def test_pipeline_json_that_is_no_credential_says_so() -> None:
    result = verify_bytes(b'{"hello": "world"}', filename="thing.json")
    assert result.status is Status.NO_CREDENTIAL
    assert result.checks[0].message


def test_pipeline_truncated_png_is_an_error_not_a_traceback() -> None:
    baked = bake_png_jwt(JwtIssuer().jwt(), png_image())
    result = verify_bytes(baked[: len(baked) // 2], filename="badge.png")
    assert result.status is Status.ERROR
    assert "PNG" in _messages(result)


def test_pipeline_png_without_badge_is_no_credential() -> None:
    result = verify_bytes(png_image(), filename="photo.png")
    assert result.status is Status.NO_CREDENTIAL
    assert "no badge" in _messages(result).lower()


def test_pipeline_svg_with_external_entity_is_refused_without_fetch(document_server: DocumentServer) -> None:
    document_server.routes["/secret"] = Response(b"secret")
    svg = (f'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "{document_server.url("/secret")}">]>'
           '<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="http://openbadges.org">'
           '<openbadges:assertion verify="&x;"/></svg>').encode()
    fetch = GuardedFetcher(allow_private_network=True)
    result = verify_bytes(svg, filename="badge.svg", context=make_context(fetch))
    assert result.status is Status.ERROR
    assert "entities" in _messages(result)
    assert document_server.requests == []


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/badge.json",
    "http://10.0.0.8/badge.json",
    "http://192.168.1.1/badge.json",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/badge.json",
    "http://[::ffff:127.0.0.1]/badge.json",
    "http://2130706433/badge.json",
    "http://0x7f000001/badge.json",
    "file:///etc/passwd",
    "gopher://example.org/",
    "https://example.org:6379/",
])
def test_pipeline_url_to_a_blocked_destination_is_refused_with_a_generic_message(url: str) -> None:
    result = verify_url(url, context=make_context(GuardedFetcher()))
    assert result.status is Status.ERROR
    assert "not allowed" in _messages(result)


def test_pipeline_issuer_server_down_is_unverifiable_not_invalid() -> None:
    server = DocumentServer()
    base = server.url("/")
    server.close()  # nothing listens there any more
    fetch = GuardedFetcher(allow_private_network=True, url_rewrite={"https://issuer.example/": base},
                           total_timeout=3.0)
    result = verify_url("https://issuer.example/assertions/1", context=make_context(fetch))
    assert result.status is Status.UNVERIFIABLE
    assert "Could not fetch" in _messages(result)
