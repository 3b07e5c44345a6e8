"""Credential status (status.py): Bitstring Status List, StatusList2021 and the 1EdTech Revocation List.

Status lists are real signed credentials served by a real HTTP server on 127.0.0.1 as
https://issuer.example/...; the credentials that point at them are signed by did:key issuers.
"""
from __future__ import annotations

import base64
import gzip
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import pytest

from tests.support.servers import DocumentServer
from tests.verification.test_vc import (
    NOW, VC_V1, WEB_HOST, Signer, Site, b64url, check, generic_vc, report, stamp, verify,
)
from wallet.services.verification import make_context, status
from wallet.services.verification.errors import StatusListError
from wallet.services.verification.jose import sign_compact
from wallet.services.verification.result import CheckStatus, Status
from wallet.services.verification.status import MAX_DECODED_BYTES, decode_list, read_status

LIST_URL = f"{WEB_HOST}/status/1"
STATUS_2021_CONTEXT = "https://w3id.org/vc/status-list/2021/v1"


@pytest.fixture
def site(document_server: DocumentServer) -> Site:
    return Site(document_server)


@pytest.fixture(autouse=True)
def _fresh_status_cache() -> None:
    status.clear_cache()


def encoded_list(set_bits: Iterable[int] = (), *, entries: int = 131_072, prefix: str = "u") -> str:
    """Return an encodedList: multibase "u" + base64url(GZIP(bitstring)), first bit = most significant."""
    bits = bytearray(entries // 8)
    for index in set_bits:
        bits[index // 8] |= 0x80 >> (index % 8)
    return prefix + b64url(gzip.compress(bytes(bits)))


def bitstring_list(issuer: str, encoded: str, *, purpose: str | list[str] = "revocation",
                   **overrides: Any) -> dict[str, Any]:
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": LIST_URL,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer,
        "validFrom": stamp(NOW - timedelta(days=1)),
        "credentialSubject": {"id": f"{LIST_URL}#list", "type": "BitstringStatusList",
                              "statusPurpose": purpose, "encodedList": encoded},
        **overrides,
    }


def bitstring_entry(index: int, purpose: str = "revocation", **extra: Any) -> dict[str, Any]:
    return {"id": f"{LIST_URL}#{index}", "type": "BitstringStatusListEntry", "statusPurpose": purpose,
            "statusListIndex": str(index), "statusListCredential": LIST_URL, **extra}


def credential_with_status(signer: Signer, *entries: dict[str, Any]) -> dict[str, Any]:
    entry: Any = entries[0] if len(entries) == 1 else list(entries)
    return signer.sign_ld(generic_vc(signer.did, credentialStatus=entry))


# --- decoding ------------------------------------------------------------------------------------


def test_read_status_counts_from_the_most_significant_bit() -> None:
    bits = bytes([0b1000_0000, 0b0000_0001, 0b1100_0000])
    assert [read_status(bits, i) for i in (0, 1, 7, 15, 16, 17, 18)] == [1, 0, 0, 1, 1, 1, 0]
    assert read_status(bits, 8, 2) == 0b11
    assert read_status(bits, 0, 4) == 0b1000


def test_decode_list_accepts_multibase_and_older_unprefixed_lists() -> None:
    expected = bytes([0b0001_0000]) + bytes(15)
    assert decode_list(encoded_list([3], entries=128)) == expected
    assert decode_list(encoded_list([3], entries=128, prefix="")) == expected
    standard = base64.b64encode(gzip.compress(expected)).decode()
    assert decode_list(standard) == expected


@pytest.mark.parametrize(("encoded", "words"), [
    ("", "no encoded list"),
    ("u!!!not-base64!!!", "base64"),
    ("u" + b64url(b"plain bytes, not gzip"), "GZIP"),
    ("u" + b64url(gzip.compress(bytes(64), mtime=0)[:-12]), "cut short"),
])
def test_decode_list_refuses_malformed_lists(encoded: str, words: str) -> None:
    with pytest.raises(StatusListError, match=words):
        decode_list(encoded)


def test_decode_list_refuses_a_gzip_bomb() -> None:
    bomb = gzip.compress(bytes(MAX_DECODED_BYTES + 1))
    assert len(bomb) < 100_000
    with pytest.raises(StatusListError, match="larger than 16 MB"):
        decode_list("u" + b64url(bomb))
    assert len(decode_list("u" + b64url(gzip.compress(bytes(MAX_DECODED_BYTES))))) == MAX_DECODED_BYTES


# --- Bitstring Status List -------------------------------------------------------------------------


def test_bitstring_entry_with_bit_set_is_revoked(site: Site) -> None:
    signer = Signer()
    site.publish("/status/1", signer.sign_ld(bitstring_list(signer.did, encoded_list([5, 42]))))
    result = verify(credential_with_status(signer, bitstring_entry(42)), site.fetch)
    assert result.status is Status.REVOKED, report(result)
    assert check(result, "status").message == "Revoked by the issuer."
    assert {"url": LIST_URL, "role": "status-list"}.items() <= result.documents[0].items()


def test_bitstring_entry_with_bit_clear_is_valid(site: Site) -> None:
    signer = Signer()
    site.publish("/status/1", signer.sign_ld(bitstring_list(signer.did, encoded_list([5, 42]))))
    result = verify(credential_with_status(signer, bitstring_entry(41)), site.fetch)
    assert result.status is Status.VALID, report(result)
    assert check(result, "status").detail == {"list": LIST_URL, "index": 41, "purpose": "revocation", "value": 0}


def test_bitstring_suspension_bit_set_shows_suspended_by_issuer(site: Site) -> None:
    signer = Signer()
    site.publish("/status/1", signer.sign_ld(bitstring_list(signer.did, encoded_list([7]), purpose="suspension")))
    result = verify(credential_with_status(signer, bitstring_entry(7, "suspension")), site.fetch)
    assert result.status is Status.REVOKED
    assert check(result, "status").message == "Suspended by the issuer."


def test_bitstring_list_with_several_purposes_answers_each_entry(site: Site) -> None:
    signer = Signer()
    site.publish("/status/1", signer.sign_ld(
        bitstring_list(signer.did, encoded_list([9]), purpose=["revocation", "suspension"])))
    result = verify(credential_with_status(signer, bitstring_entry(8), bitstring_entry(9, "suspension")), site.fetch)
    statuses = [c for c in result.checks if c.id == "status"]
    assert [c.status for c in statuses] == [CheckStatus.PASSED, CheckStatus.FAILED]
    assert result.status is Status.REVOKED


def test_bitstring_message_status_is_reported_without_changing_validity(site: Site) -> None:
    signer = Signer()
    # Entry 3 with statusSize 2 covers bits 6 and 7: value 0b10.
    site.publish("/status/1", signer.sign_ld(bitstring_list(signer.did, encoded_list([6]), purpose="message")))
    entry = bitstring_entry(3, "message", statusSize=2, statusMessage=[
        {"status": "0x0", "message": "pending"}, {"status": "0x2", "message": "under review"}])
    result = verify(credential_with_status(signer, entry), site.fetch)
    assert result.status is Status.VALID, report(result)
    status_check = check(result, "status")
    assert status_check.detail["value"] == 2
    assert "under review" in status_check.message


@pytest.mark.parametrize(("purpose", "words"), [("revocation", "Revoked"), ("suspension", "Suspended")])
def test_bitstring_multi_bit_revocation_entry_with_a_value_set_is_revoked(site: Site, purpose: str,
                                                                         words: str) -> None:
    # A revocation or suspension entry that is set never shows as valid, whatever its statusSize.
    signer = Signer()
    site.publish("/status/1", signer.sign_ld(bitstring_list(signer.did, encoded_list([7]), purpose=purpose)))
    entry = bitstring_entry(3, purpose, statusSize=2, statusMessage=[
        {"status": "0x0", "message": "in force"}, {"status": "0x1", "message": "withdrawn by the registrar"},
        {"status": "0x2", "message": "other"}, {"status": "0x3", "message": "other"}])
    result = verify(credential_with_status(signer, entry), site.fetch)
    assert result.status is Status.REVOKED, report(result)
    assert check(result, "status").message == f"{words} by the issuer: withdrawn by the registrar."
    assert check(result, "status").detail["value"] == 1


def test_bitstring_multi_bit_revocation_entry_at_zero_is_valid(site: Site) -> None:
    signer = Signer()
    site.publish("/status/1", signer.sign_ld(bitstring_list(signer.did, encoded_list([5]))))
    entry = bitstring_entry(3, statusSize=2, statusMessage=[
        {"status": "0x0", "message": "in force"}, {"status": "0x1", "message": "revoked"},
        {"status": "0x2", "message": "other"}, {"status": "0x3", "message": "other"}])
    result = verify(credential_with_status(signer, entry), site.fetch)
    assert result.status is Status.VALID, report(result)
    assert check(result, "status").detail["value"] == 0


def test_bitstring_list_shorter_than_the_minimum_warns(site: Site) -> None:
    signer = Signer()
    site.publish("/status/1", signer.sign_ld(bitstring_list(signer.did, encoded_list([3], entries=1024))))
    result = verify(credential_with_status(signer, bitstring_entry(3)), site.fetch)
    assert result.status is Status.REVOKED
    assert check(result, "status-list").status is CheckStatus.WARNING
    assert "1,024 entries" in check(result, "status-list").message


def test_bitstring_index_beyond_the_list_is_unverifiable(site: Site) -> None:
    signer = Signer()
    site.publish("/status/1", signer.sign_ld(bitstring_list(signer.did, encoded_list(entries=131_072))))
    result = verify(credential_with_status(signer, bitstring_entry(131_072)), site.fetch)
    assert result.status is Status.UNVERIFIABLE
    assert "beyond its end" in check(result, "status").message


def test_bitstring_gzip_bomb_list_is_refused(site: Site) -> None:
    signer = Signer()
    bomb = "u" + b64url(gzip.compress(bytes(MAX_DECODED_BYTES + 1)))
    site.publish("/status/1", signer.sign_ld(bitstring_list(signer.did, bomb)))
    result = verify(credential_with_status(signer, bitstring_entry(1)), site.fetch)
    assert result.status is Status.UNVERIFIABLE
    assert "larger than 16 MB" in check(result, "status").message


@pytest.mark.parametrize("answer", [404, 503])
def test_status_list_server_error_is_unverifiable(site: Site, answer: int) -> None:
    # A list that cannot be read never means "not revoked" (Bitstring Status List §3.2).
    signer = Signer()
    site.publish("/status/1", {"error": "unavailable"}, status=answer)
    result = verify(credential_with_status(signer, bitstring_entry(1)), site.fetch)
    assert result.status is Status.UNVERIFIABLE
    assert check(result, "status").message == ("Could not check revocation: the issuer's status list could "
                                               "not be fetched.")


def test_status_list_server_down_is_unverifiable() -> None:
    from wallet.services.http import GuardedFetcher

    stopped = DocumentServer()
    stopped.close()
    fetch = GuardedFetcher(allow_private_network=True, url_rewrite={f"{WEB_HOST}/": stopped.url("/")})
    signer = Signer()
    result = verify(credential_with_status(signer, bitstring_entry(1)), fetch)
    assert result.status is Status.UNVERIFIABLE
    assert check(result, "status").outcome is Status.UNVERIFIABLE


def test_status_list_signed_by_another_issuer_is_unverifiable(site: Site) -> None:
    # Only the credential's issuer can say whether it is revoked; a list from anyone else tells
    # nothing either way. The credential's own signature is fine, so it is not "invalid" either.
    signer, stranger = Signer(), Signer()
    site.publish("/status/1", stranger.sign_ld(bitstring_list(stranger.did, encoded_list())))
    result = verify(credential_with_status(signer, bitstring_entry(1)), site.fetch)
    assert result.status is Status.UNVERIFIABLE
    assert "not by the credential's issuer" in check(result, "status").message


def test_status_list_naming_the_issuer_but_signed_by_another_key_is_unverifiable(site: Site) -> None:
    signer, stranger = Signer(), Signer()
    site.publish("/status/1", stranger.sign_ld(bitstring_list(signer.did, encoded_list())))
    result = verify(credential_with_status(signer, bitstring_entry(1)), site.fetch)
    assert result.status is Status.UNVERIFIABLE
    assert "signature could not be confirmed" in check(result, "status").message


def test_status_list_changed_after_signing_is_unverifiable(site: Site) -> None:
    signer = Signer()
    signed = signer.sign_ld(bitstring_list(signer.did, encoded_list([1])))
    signed["credentialSubject"]["encodedList"] = encoded_list()
    site.publish("/status/1", signed)
    result = verify(credential_with_status(signer, bitstring_entry(1)), site.fetch)
    assert result.status is Status.UNVERIFIABLE


def test_expired_status_list_is_unverifiable(site: Site) -> None:
    signer = Signer()
    site.publish("/status/1", signer.sign_ld(bitstring_list(
        signer.did, encoded_list(), validUntil=stamp(NOW - timedelta(hours=1)))))
    result = verify(credential_with_status(signer, bitstring_entry(1)), site.fetch)
    assert result.status is Status.UNVERIFIABLE
    assert "has expired" in check(result, "status").message


def test_status_list_for_another_purpose_is_unverifiable(site: Site) -> None:
    signer = Signer()
    site.publish("/status/1", signer.sign_ld(bitstring_list(signer.did, encoded_list(), purpose="suspension")))
    result = verify(credential_with_status(signer, bitstring_entry(1)), site.fetch)
    assert result.status is Status.UNVERIFIABLE
    assert 'not for "revocation"' in check(result, "status").message


def test_status_list_served_as_vc_jose_token_is_read(site: Site) -> None:
    signer = Signer()
    token = sign_compact(bitstring_list(signer.did, encoded_list([2])), signer.jwk, "EdDSA",
                         header={"typ": "vc+jwt", "kid": signer.vm})
    site.publish("/status/1", token, content_type="application/vc+jwt")
    result = verify(credential_with_status(signer, bitstring_entry(2)), site.fetch)
    assert result.status is Status.REVOKED, report(result)


def test_unchanged_status_list_is_decoded_once(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    signer = Signer()
    site.publish("/status/1", signer.sign_ld(bitstring_list(signer.did, encoded_list([5]))))
    decoded: list[str] = []
    original = status.decode_list
    monkeypatch.setattr(status, "decode_list", lambda encoded: decoded.append(encoded) or original(encoded))
    credential = credential_with_status(signer, bitstring_entry(5))
    first, second = verify(credential, site.fetch), verify(credential, site.fetch)
    assert first.status is second.status is Status.REVOKED
    assert len(decoded) == 1
    assert site.requested().count("/status/1") == 2
    # A changed list is a new document: it is verified and decoded again.
    site.publish("/status/1", signer.sign_ld(bitstring_list(signer.did, encoded_list())))
    assert verify(credential, site.fetch).status is Status.VALID
    assert len(decoded) == 2


def test_malformed_status_entry_is_unverifiable(site: Site) -> None:
    signer = Signer()
    entry = bitstring_entry(1, statusListIndex="-1")
    result = verify(credential_with_status(signer, entry), site.fetch)
    assert result.status is Status.UNVERIFIABLE
    assert "whole-number statusListIndex" in check(result, "status").message
    assert site.requested() == []


# --- StatusList2021 -------------------------------------------------------------------------------


def test_status_list_2021_entry_with_bit_set_is_revoked(site: Site) -> None:
    signer = Signer()
    status_list = {
        "@context": [VC_V1, STATUS_2021_CONTEXT], "id": LIST_URL,
        "type": ["VerifiableCredential", "StatusList2021Credential"], "issuer": signer.did,
        "issuanceDate": stamp(NOW - timedelta(days=2)),
        "credentialSubject": {"id": f"{LIST_URL}#list", "type": "StatusList2021", "statusPurpose": "Revocation",
                              "encodedList": encoded_list([77], entries=16_384, prefix="")},
    }
    site.publish("/status/1", signer.sign_ld(status_list, "Ed25519Signature2020"))
    credential = {
        "@context": [VC_V1, STATUS_2021_CONTEXT], "id": "urn:uuid:3f1e8c52-7a8b-4c1d-9e0f-5a6b7c8d9e0f",
        "type": ["VerifiableCredential"], "issuer": signer.did, "issuanceDate": stamp(NOW - timedelta(days=1)),
        "credentialSubject": {"id": "did:example:learner-7"},
        "credentialStatus": {"id": f"{LIST_URL}#77", "type": "StatusList2021Entry", "statusPurpose": "revocation",
                             "statusListIndex": "77", "statusListCredential": LIST_URL},
    }
    result = verify(signer.sign_ld(credential, "Ed25519Signature2020"), site.fetch)
    assert result.status is Status.REVOKED, report(result)


def test_status_list_2021_is_not_taken_for_a_bitstring_list_from_the_cache(site: Site) -> None:
    # The decoded-list cache must not let a list verified as one kind answer for the other kind.
    signer = Signer()
    status_list = {
        "@context": [VC_V1, STATUS_2021_CONTEXT], "id": LIST_URL,
        "type": ["VerifiableCredential", "StatusList2021Credential"], "issuer": signer.did,
        "issuanceDate": stamp(NOW - timedelta(days=2)),
        "credentialSubject": {"id": f"{LIST_URL}#list", "type": "StatusList2021", "statusPurpose": "revocation",
                              "encodedList": encoded_list([77], entries=16_384, prefix="")},
    }
    site.publish("/status/1", signer.sign_ld(status_list, "Ed25519Signature2020"))
    entry_2021 = {"id": f"{LIST_URL}#77", "type": "StatusList2021Entry", "statusPurpose": "revocation",
                  "statusListIndex": "77", "statusListCredential": LIST_URL}
    assert verify(credential_with_status(signer, entry_2021), site.fetch).status is Status.REVOKED
    result = verify(credential_with_status(signer, bitstring_entry(77)), site.fetch)
    assert result.status is Status.UNVERIFIABLE, report(result)
    assert "not a BitstringStatusListCredential" in check(result, "status").message


# --- 1EdTech Revocation List ----------------------------------------------------------------------


def revocation_list_credential(signer: Signer) -> dict[str, Any]:
    return signer.sign_ld(generic_vc(signer.did, credentialStatus={
        "id": f"{WEB_HOST}/revocations/1", "type": "1EdTechRevocationList"}))


def test_1edtech_revocation_list_naming_the_credential_is_revoked_with_its_reason(site: Site) -> None:
    signer = Signer()
    credential = revocation_list_credential(signer)
    site.publish("/revocations/1", {"id": f"{WEB_HOST}/revocations/1", "issuer": signer.did, "revokedCredentials": [
        {"id": "urn:uuid:11111111-2222-4333-8444-555555555555"},
        {"id": credential["id"], "revocationReason": "Issued in error"}]})
    result = verify(credential, site.fetch)
    assert result.status is Status.REVOKED
    assert check(result, "status").message == "Revoked by the issuer: Issued in error."


@pytest.mark.parametrize("revoked", [
    [],
    [{"id": "urn:uuid:11111111-2222-4333-8444-555555555555"}],
    [{"id": "urn:uuid:6d9c7a3e-1b2f-4d4a-9a57-0c2e5f0f8a11", "revoked": False}],
])
def test_1edtech_revocation_list_not_naming_the_credential_is_valid(site: Site, revoked: list[Any]) -> None:
    signer = Signer()
    site.publish("/revocations/1", {"revokedCredentials": revoked})
    result = verify(revocation_list_credential(signer), site.fetch)
    assert result.status is Status.VALID, report(result)
    assert check(result, "status").message == "Not revoked: the issuer's revocation list was checked."


@pytest.mark.parametrize(("body", "answer"), [
    ({"error": "down"}, 500),
    (b"<html>maintenance</html>", 200),
    ({"revoked": []}, 200),
])
def test_1edtech_revocation_list_unreadable_is_unverifiable(site: Site, body: Any, answer: int) -> None:
    site.publish("/revocations/1", body, status=answer)
    result = verify(revocation_list_credential(Signer()), site.fetch)
    assert result.status is Status.UNVERIFIABLE
    assert check(result, "status").message.startswith("Could not check revocation")


def test_no_credential_status_is_reported_as_not_checked() -> None:
    signer = Signer()
    result = verify(signer.sign_ld(generic_vc(signer.did)))
    assert check(result, "status").status is CheckStatus.SKIPPED
    assert result.status is Status.VALID


def test_unknown_status_type_is_unverifiable(site: Site) -> None:
    signer = Signer()
    credential = signer.sign_ld(generic_vc(signer.did, credentialStatus={
        "id": f"{WEB_HOST}/ledger/1", "type": "ExampleLedgerStatus"}))
    result = verify(credential, site.fetch)
    assert result.status is Status.UNVERIFIABLE
    assert "ExampleLedgerStatus" in check(result, "status").message
    assert site.requested() == []


def test_status_entry_that_is_not_an_object_is_unverifiable() -> None:
    checks = status.check_status({"credentialStatus": ["not an object"]}, issuer_id="did:example:1",
                                 context=make_context())
    assert [(c.id, c.outcome) for c in checks] == [("status", Status.UNVERIFIABLE)]
