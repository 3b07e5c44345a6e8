"""Re-verification reuses a result only while nothing it rests on has changed (memo.py)."""
from __future__ import annotations

import json
from datetime import timedelta

from tests.verification.test_ob3 import as_jwt, ob3_credential
from tests.verification.test_vc import NOW, Signer, Site, site, stamp  # noqa: F401 (fixture)
from wallet.services.verification import make_context, memo, verify_bytes
from wallet.services.verification.result import Status


def _verify(data: bytes, *, now=NOW, fetch=None, recipients=()):
    return verify_bytes(data, context=make_context(fetch, recipients=recipients, now=now))


def _signed(signer: Signer, **overrides) -> bytes:
    return json.dumps(signer.sign_ld(ob3_credential(signer.did, **overrides))).encode()


def test_memo_same_bytes_again_reuses_the_result_as_a_fresh_copy() -> None:
    memo.clear()
    data = _signed(Signer())
    first = _verify(data)
    again = _verify(data)
    assert first.status is again.status is Status.VALID
    assert [(c.id, c.status) for c in again.checks] == [(c.id, c.status) for c in first.checks]
    assert again is not first and again.checks is not first.checks
    again.checks.clear()
    assert _verify(data).checks, "changing one copy must not change the remembered result"


def test_memo_crossing_the_expiry_date_verifies_again() -> None:
    memo.clear()
    data = _signed(Signer(), validUntil=stamp(NOW + timedelta(days=1)))
    assert _verify(data).status is Status.VALID
    assert _verify(data, now=NOW + timedelta(hours=23)).status is Status.VALID
    assert _verify(data, now=NOW + timedelta(days=2)).status is Status.EXPIRED
    # Within the verifier's 60 s leeway the credential is still valid: the expired verdict is not reused.
    assert _verify(data, now=NOW + timedelta(days=1, seconds=30)).status is Status.VALID


def test_memo_jwt_exp_is_a_boundary_too() -> None:
    memo.clear()
    signer = Signer()
    token = as_jwt(signer, ob3_credential(signer.did, validUntil=stamp(NOW + timedelta(days=1)))).encode()
    assert _verify(token).status is Status.VALID
    assert _verify(token, now=NOW + timedelta(days=3)).status is Status.EXPIRED


def test_memo_other_identities_are_checked_afresh() -> None:
    memo.clear()
    data = _signed(Signer())
    ours = _verify(data, recipients=("learner@example.org",))
    theirs = _verify(data, recipients=("someone@example.org",))
    assert {c.id: c.status for c in ours.checks}["recipient"] == "passed"
    assert {c.id: c.status for c in theirs.checks}["recipient"] == "failed"


def test_memo_result_that_needed_a_fetch_is_never_reused(site: Site) -> None:
    memo.clear()
    signer = Signer(did="did:web:issuer.example")
    data = _signed(signer)
    assert _verify(data).status is Status.UNVERIFIABLE  # offline: the DID document cannot be fetched
    site.publish("/.well-known/did.json", signer.did_document())
    assert _verify(data, fetch=site.fetch).status is Status.VALID
    site.publish("/.well-known/did.json", Signer(did="did:web:issuer.example").did_document())  # key rotated
    assert _verify(data, fetch=site.fetch).status is not Status.VALID
