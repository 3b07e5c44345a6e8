"""Compact JWS parsing, refusals (docs/security.md D5-D12) and real signature round trips."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from jwcrypto.jwk import JWK

from wallet.services.verification.jose import (
    MAX_TOKEN_LENGTH,
    JoseError,
    decode_payload_json,
    looks_like_compact_jws,
    parse_compact,
    sign_compact,
    verify_signature,
)
from wallet.services.verification.errors import DuplicateKeyError
from wallet.services.verification.result import Status

PAYLOAD = {"iss": "did:example:issuer", "vc": {"type": ["VerifiableCredential"]}}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _token(header: dict, payload: bytes = b'{"a":1}', signature: bytes = b"sig") -> str:
    return ".".join([_b64(json.dumps(header).encode()), _b64(payload), _b64(signature)])


@pytest.fixture(scope="module")
def ed_key() -> JWK:
    return JWK.generate(kty="OKP", crv="Ed25519")


@pytest.fixture(scope="module")
def ec_key() -> JWK:
    return JWK.generate(kty="EC", crv="P-256")


@pytest.fixture(scope="module")
def rsa_key() -> JWK:
    return JWK.generate(kty="RSA", size=2048)


def _public(key: JWK) -> JWK:
    return JWK(**key.export_public(as_dict=True))


@pytest.mark.parametrize(("key_name", "alg"), [
    ("ed_key", "EdDSA"), ("ed_key", "Ed25519"), ("ec_key", "ES256"), ("rsa_key", "RS256"), ("rsa_key", "PS256"),
])
def test_verify_signature_round_trip_is_accepted(request: pytest.FixtureRequest, key_name: str, alg: str) -> None:
    key = request.getfixturevalue(key_name)
    token = sign_compact(PAYLOAD, key, alg, header={"kid": "did:example:issuer#key-1", "typ": "JWT"})
    parsed = parse_compact(token)
    verify_signature(parsed, _public(key))
    assert parsed.header == {"kid": "did:example:issuer#key-1", "typ": "JWT", "alg": alg}
    assert decode_payload_json(parsed) == PAYLOAD
    assert parsed.compact == token


def test_verify_signature_tampered_payload_is_rejected(ed_key: JWK) -> None:
    header, _, signature = sign_compact(PAYLOAD, ed_key, "EdDSA").split(".")
    forged = ".".join([header, _b64(json.dumps({**PAYLOAD, "iss": "did:example:mallory"}).encode()), signature])
    with pytest.raises(JoseError, match="signature does not match"):
        verify_signature(parse_compact(forged), _public(ed_key))


def test_verify_signature_other_key_is_rejected(ed_key: JWK) -> None:
    token = sign_compact(PAYLOAD, ed_key, "EdDSA")
    other = _public(JWK.generate(kty="OKP", crv="Ed25519"))
    with pytest.raises(JoseError, match="signature does not match"):
        verify_signature(parse_compact(token), other)


def test_verify_signature_es256_header_with_ed25519_key_is_rejected(ec_key: JWK, ed_key: JWK) -> None:
    token = sign_compact(PAYLOAD, ec_key, "ES256")
    with pytest.raises(JoseError, match="does not fit the key") as info:
        verify_signature(parse_compact(token), _public(ed_key))
    assert info.value.outcome is Status.INVALID


def test_verify_signature_rs256_header_with_ec_key_is_rejected(rsa_key: JWK, ec_key: JWK) -> None:
    token = sign_compact(PAYLOAD, rsa_key, "RS256")
    with pytest.raises(JoseError, match="does not fit the key"):
        verify_signature(parse_compact(token), _public(ec_key))


@pytest.mark.parametrize("alg", ["none", "None", "nOnE", "NONE"])
def test_parse_compact_alg_none_is_rejected(alg: str) -> None:
    with pytest.raises(JoseError, match="not signed"):
        parse_compact(_token({"alg": alg}))


def test_parse_compact_empty_signature_is_rejected() -> None:
    token = _token({"alg": "EdDSA"}).rsplit(".", 1)[0] + "."
    with pytest.raises(JoseError, match="no signature"):
        parse_compact(token)


def test_parse_compact_missing_alg_is_rejected() -> None:
    with pytest.raises(JoseError, match="no signature algorithm"):
        parse_compact(_token({"typ": "JWT"}))


def test_parse_compact_hs256_signed_with_public_key_is_rejected(rsa_key: JWK) -> None:
    # D6: the classic confusion: the issuer's public key used as the HMAC secret.
    secret = rsa_key.export_to_pem().decode().encode()
    signing_input = _b64(b'{"alg":"HS256"}') + "." + _b64(b"{}")
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    with pytest.raises(JoseError, match="shared-secret"):
        parse_compact(f"{signing_input}.{_b64(mac)}")


def test_parse_compact_unknown_alg_is_rejected() -> None:
    with pytest.raises(JoseError, match="does not support"):
        parse_compact(_token({"alg": "ES256K"}))


@pytest.mark.parametrize(("alg", "outcome"), [
    ("ES256K", Status.UNVERIFIABLE), ("Ed448", Status.UNVERIFIABLE),
    ("none", Status.INVALID), ("HS256", Status.INVALID),
])
def test_parse_compact_refusal_outcome_says_whether_the_token_is_forged(alg: str, outcome: Status) -> None:
    # An algorithm Wallet lacks leaves genuineness open; "none" and HMAC can never prove an issuer.
    with pytest.raises(JoseError) as info:
        parse_compact(_token({"alg": alg}))
    assert info.value.outcome is outcome


def test_parse_compact_jwe_five_segments_is_rejected() -> None:
    with pytest.raises(JoseError, match="encrypted"):
        parse_compact("eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d")


def test_parse_compact_two_segments_are_rejected() -> None:
    with pytest.raises(JoseError, match="three base64url parts"):
        parse_compact("eyJhbGciOiJFZERTQSJ9.e30")


def test_parse_compact_non_base64url_characters_are_rejected() -> None:
    with pytest.raises(JoseError, match="three base64url parts"):
        parse_compact(_token({"alg": "EdDSA"}) + "+/")


def test_parse_compact_unknown_crit_is_rejected() -> None:
    with pytest.raises(JoseError, match="does not understand: x"):
        parse_compact(_token({"alg": "EdDSA", "crit": ["x"], "x": 1}))


def test_parse_compact_crit_b64_true_is_accepted() -> None:
    assert parse_compact(_token({"alg": "EdDSA", "crit": ["b64"], "b64": True})).header["b64"] is True


def test_parse_compact_unencoded_payload_is_rejected() -> None:
    with pytest.raises(JoseError, match="unencoded payload"):
        parse_compact(_token({"alg": "EdDSA", "crit": ["b64"], "b64": False}))


def test_parse_compact_malformed_crit_is_rejected() -> None:
    with pytest.raises(JoseError, match="malformed"):
        parse_compact(_token({"alg": "EdDSA", "crit": "b64"}))


def test_parse_compact_zip_is_rejected() -> None:
    with pytest.raises(JoseError, match="compressed"):
        parse_compact(_token({"alg": "EdDSA", "zip": "DEF"}))


def test_parse_compact_oversize_token_is_rejected_before_decoding() -> None:
    token = "eyJ" + "A" * MAX_TOKEN_LENGTH + ".e30.c2ln"
    with pytest.raises(JoseError, match="too large"):
        parse_compact(token)


def test_parse_compact_duplicate_header_key_is_rejected() -> None:
    header = _b64(b'{"alg":"EdDSA","alg":"none"}')
    # Ambiguous rather than forged (D4): refused as a whole by the caller, not reported as "not genuine".
    with pytest.raises(DuplicateKeyError, match="twice"):
        parse_compact(f"{header}.{_b64(b'{}')}.{_b64(b'sig')}")


def test_parse_compact_header_not_object_is_rejected() -> None:
    with pytest.raises(JoseError, match="not a JSON object"):
        parse_compact(f"{_b64(b'[1]')}.{_b64(b'{}')}.{_b64(b'sig')}")


def test_parse_compact_x5u_and_jku_are_ignored(ed_key: JWK) -> None:
    # D9: these headers are carried but never followed; verification uses only the given key.
    token = sign_compact(PAYLOAD, ed_key, "EdDSA", header={"jku": "http://127.0.0.1/keys", "x5u": "file:///x"})
    verify_signature(parse_compact(token), _public(ed_key))


def test_decode_payload_json_nan_is_rejected(ed_key: JWK) -> None:
    token = sign_compact(b'{"a": NaN}', ed_key, "EdDSA")
    with pytest.raises(JoseError, match="NaN"):
        decode_payload_json(parse_compact(token))


def test_decode_payload_json_array_is_rejected(ed_key: JWK) -> None:
    with pytest.raises(JoseError, match="not a JSON object"):
        decode_payload_json(parse_compact(sign_compact(b"[1]", ed_key, "EdDSA")))


def test_sign_compact_symmetric_alg_is_refused(ed_key: JWK) -> None:
    with pytest.raises(JoseError):
        sign_compact(PAYLOAD, ed_key, "HS256")


def test_looks_like_compact_jws_recognises_tokens(ed_key: JWK) -> None:
    assert looks_like_compact_jws(sign_compact(PAYLOAD, ed_key, "EdDSA") + "\n")
    assert not looks_like_compact_jws('{"@context": []}')
    assert not looks_like_compact_jws("abc.def.ghi")
