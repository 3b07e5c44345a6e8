"""The learner's wallet key and the Verifiable Presentation of a portfolio, signed eddsa-rdfc-2022."""
from __future__ import annotations

import copy
import json

import pytest
from sqlalchemy import select

from tests.support.credentials import HostedIssuer, JwtIssuer
from tests.support.portfolios import add_credential, add_url, ld_credential, published_portfolio
from wallet.models import Credential, LearnerKey
from wallet.wiring import collaborators
from wallet.services import presentations
from wallet.services.errors import ValidationError
from wallet.services.verification import dataintegrity, make_context, verify_bytes, vp
from wallet.services.verification.extract import Presented

SECRET = "test-secret-key-not-for-production"


@pytest.fixture
def learner(make_user, login):
    user = make_user(email="learner@example.org", display_name="Katherine Johnson")
    login(user)
    return user


@pytest.fixture
def portfolio(client, learner, session) -> tuple[str, list[int], str]:
    """A published portfolio with a VC-JWT and an LD-proof credential; returns (slug, ids, jwt)."""
    token = JwtIssuer(name="Riverside College").jwt(name="Orbital Mechanics")
    ids = [add_credential(client, token),
           add_credential(client, json.dumps(ld_credential(name="Numerical Methods")))]
    _, slug = published_portfolio(client, session, ids)
    return slug, ids, token


def download(client, slug: str, **args: str) -> dict:
    response = client.get(f"/p/{slug}/presentation.json", query_string=args)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert "attachment" in response.headers["Content-Disposition"]
    return response.get_json()


# --- the wallet key ----------------------------------------------------------------------------------


def test_learner_key_is_made_once_and_stored_encrypted(app, session, make_user):
    user = make_user()
    key = presentations.learner_key(session, user.id, secret_key=SECRET)
    again = presentations.learner_key(session, user.id, secret_key=SECRET)
    assert key.id == again.id and key.did.startswith("did:key:z6Mk")
    private = presentations.signing_key(key, secret_key=SECRET)
    assert dataintegrity.did_key_for(private.public_key()) == key.did
    raw = private.private_bytes_raw()
    assert raw not in key.encrypted_private_key.encode() and raw.hex() not in key.encrypted_private_key


def test_learner_key_does_not_open_with_another_secret(app, session, make_user):
    key = presentations.learner_key(session, make_user().id, secret_key=SECRET)
    with pytest.raises(presentations.KeyUnavailableError, match="cannot be unlocked"):
        presentations.signing_key(key, secret_key="a different secret key")


def test_learner_key_ciphertext_moved_to_another_learner_does_not_open(app, session, make_user):
    first = presentations.learner_key(session, make_user().id, secret_key=SECRET)
    second = presentations.learner_key(session, make_user().id, secret_key=SECRET)
    second.encrypted_private_key = first.encrypted_private_key
    with pytest.raises(presentations.KeyUnavailableError):
        presentations.signing_key(second, secret_key=SECRET)


# --- the presentation ----------------------------------------------------------------------------------


def test_presentation_is_a_vc2_vp_signed_by_the_holder(client, session, learner, portfolio):
    slug, ids, token = portfolio
    vp_document = download(client, slug)
    holder = session.scalar(select(LearnerKey.did).where(LearnerKey.owner_id == learner.id))
    assert vp_document["@context"][0] == "https://www.w3.org/ns/credentials/v2"
    assert vp_document["type"] == ["VerifiablePresentation"] and vp_document["holder"] == holder
    proof = vp_document["proof"]
    assert proof["type"] == "DataIntegrityProof" and proof["cryptosuite"] == "eddsa-rdfc-2022"
    # A plain presentation: the holder asserts it; it answers no verifier's challenge (VC-DI §2.1).
    assert proof["proofPurpose"] == "assertionMethod" and proof["verificationMethod"].startswith(holder + "#")
    assert "challenge" not in proof and "domain" not in proof
    outcome = dataintegrity.verify_document_proofs(vp_document, issuer_id=holder, context=make_context(),
                                                   purpose="assertionMethod")
    assert outcome.ok, [c.message for c in outcome.checks]
    enveloped, embedded = vp_document["verifiableCredential"]
    assert enveloped == {"@context": ["https://www.w3.org/ns/credentials/v2"], "type": "EnvelopedVerifiableCredential",
                         "id": "data:application/vc+jwt," + token}
    assert embedded["name"] == "Numerical Methods" and "proof" in embedded


def test_each_credential_in_the_presentation_verifies_on_its_own(client, learner, portfolio):
    slug, _, _ = portfolio
    enveloped, embedded = download(client, slug)["verifiableCredential"]
    token = enveloped["id"].removeprefix("data:application/vc+jwt,")
    for data in (token.encode(), json.dumps(embedded).encode()):
        result = verify_bytes(data, context=make_context())
        assert result.status == "valid", [c.message for c in result.checks]


def test_presentation_verifies_with_the_vp_format_module(client, learner, portfolio):
    slug, _, _ = portfolio
    result = verify_bytes(json.dumps(download(client, slug)).encode(), context=make_context())
    assert result.format == "vp" and result.status == "valid", [c.message for c in result.checks]
    assert [n.status for n in result.nested] == ["valid", "valid"]
    assert {c.id for c in result.checks} >= {"structure", "proof", "holder-key", "credentials"}


def test_wallet_verify_accepts_the_downloaded_presentation(app, client, learner, portfolio, tmp_path):
    slug, _, _ = portfolio
    path = tmp_path / "presentation.json"
    path.write_bytes(client.get(f"/p/{slug}/presentation.json").data)
    result = app.test_cli_runner().invoke(args=["verify", "--json", str(path)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["format"] == "vp" and report["status"] == "valid" and len(report["nested"]) == 2


def test_tampered_presentation_is_not_genuine(client, learner, portfolio):
    slug, _, _ = portfolio
    document = download(client, slug)
    document["verifiableCredential"] = document["verifiableCredential"][:1]
    result = verify_bytes(json.dumps(document).encode(), context=make_context())
    assert result.status == "invalid"
    proof = next(c for c in result.checks if c.id == "proof")
    assert proof.status == "failed" and "changed after it was signed" in proof.message


def test_presentation_signed_by_someone_else_than_its_holder_is_refused(client, learner, portfolio):
    slug, _, _ = portfolio
    document = download(client, slug)
    document["holder"] = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
    result = verify_bytes(json.dumps(document).encode(), context=make_context())
    assert result.status != "valid"


def test_presentation_leaves_out_an_expired_credential_with_the_reason(client, session, learner):
    from datetime import datetime, timezone

    issuer = JwtIssuer()
    ids = [add_credential(client, issuer.jwt(name="Current")),
           add_credential(client, issuer.jwt(name="Old", valid_from=datetime(2020, 1, 1, tzinfo=timezone.utc),
                                             valid_until=datetime(2021, 1, 1, tzinfo=timezone.utc)))]
    signed = presentations.build_presentation(session, learner.id, [session.get(Credential, i) for i in ids],
                                              secret_key=SECRET, blobs=collaborators().blobs)
    assert [c.id for c in signed.included] == [ids[0]]
    assert [(c.id, reason) for c, reason in signed.left_out] == [
        (ids[1], "Expired on 1 January 2021: only credentials that verify are signed into a presentation.")]
    result = vp.verify(Presented(signed.document, None, "json", b""), make_context())
    assert result.status == "valid" and [n.status for n in result.nested] == ["valid"]


def tampered_ld_credential(name: str = "Tampered Badge") -> str:
    document = ld_credential(name="Genuine name")
    document["name"] = name  # changed after signing: the proof no longer matches
    return json.dumps(document)


def test_tampered_credential_is_stored_as_invalid_and_never_signed(client, session, learner):
    genuine = add_credential(client, json.dumps(ld_credential(name="Numerical Methods")))
    tampered = add_credential(client, tampered_ld_credential())
    assert session.get(Credential, tampered).status == "invalid"
    signed = presentations.build_presentation(session, learner.id, [session.get(Credential, i) for i in (genuine, tampered)],
                                              secret_key=SECRET, blobs=collaborators().blobs)
    assert [c.id for c in signed.included] == [genuine]
    assert signed.left_out[0][0].id == tampered and signed.left_out[0][1].startswith("Not genuine")
    assert "Tampered Badge" not in json.dumps(signed.document)


def test_public_presentation_of_a_portfolio_with_a_tampered_credential_leaves_it_out(client, session, learner):
    genuine = add_credential(client, json.dumps(ld_credential(name="Numerical Methods")))
    tampered = add_credential(client, tampered_ld_credential())
    _, slug = published_portfolio(client, session, [genuine, tampered])
    document = download(client, slug)
    assert len(document["verifiableCredential"]) == 1
    assert "Tampered Badge" not in json.dumps(document)
    result = verify_bytes(json.dumps(document).encode(), context=make_context())
    assert result.status == "valid"
    # The public page still shows it, with its state in words, and says why it is not in the presentation.
    page = client.get(f"/p/{slug}").get_data(as_text=True)
    assert "Tampered Badge" in page and "Not genuine" in page
    assert "left out of the presentation" in page


def test_public_presentation_ignores_a_callers_challenge_and_domain(client, learner, portfolio):
    slug, _, _ = portfolio
    document = download(client, slug, challenge="login-challenge-of-another-site", domain="bank.example")
    proof = document["proof"]
    assert proof["proofPurpose"] == "assertionMethod"
    assert "challenge" not in proof and "domain" not in proof
    assert "login-challenge-of-another-site" not in json.dumps(document) and "bank.example" not in json.dumps(document)
    # Malformed values are not even read: the answer is the same plain presentation.
    assert client.get(f"/p/{slug}/presentation.json", query_string={"challenge": "has spaces"}).status_code == 200


def test_public_presentation_does_not_pass_as_an_authentication_answer(client, session, learner, portfolio):
    slug, _, _ = portfolio
    document = download(client, slug)
    holder = document["holder"]
    outcome = dataintegrity.verify_document_proofs(document, issuer_id=holder, context=make_context(),
                                                   purpose="authentication")
    assert not outcome.ok
    assert any("proving who is presenting" in c.message for c in outcome.checks)


def test_same_portfolio_presents_the_same_document_id(client, learner, portfolio):
    slug, _, _ = portfolio
    assert download(client, slug)["id"] == download(client, slug)["id"]


@pytest.fixture
def hosted(document_server, app_config) -> HostedIssuer:
    issuer = HostedIssuer(document_server)
    app_config.update(ALLOW_PRIVATE_NETWORK=True, URL_REWRITE=issuer.rewrite)
    return issuer


def test_ob2_badges_are_left_out_with_a_reason(hosted, client, learner, session):
    ob2_id = add_url(client, hosted.assertion())
    ob3_id = add_credential(client, JwtIssuer().jwt())
    credentials = [session.get(Credential, ob2_id), session.get(Credential, ob3_id)]
    signed = presentations.build_presentation(session, learner.id, credentials, secret_key=SECRET, blobs=collaborators().blobs)
    assert [c.id for c in signed.included] == [ob3_id]
    assert [(c.id, "not Verifiable Credentials" in reason) for c, reason in signed.left_out] == [(ob2_id, True)]
    assert len(signed.document["verifiableCredential"]) == 1


def test_vc11_json_credential_is_left_out(client, learner, session):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    did = dataintegrity.did_key_for(key.public_key())
    credential = {"@context": ["https://www.w3.org/2018/credentials/v1"], "type": ["VerifiableCredential"],
                  "issuer": did, "issuanceDate": "2026-01-01T00:00:00Z", "credentialSubject": {"id": "did:example:x"}}
    signed_vc = dataintegrity.sign_document(credential, private_key=key, verification_method=f"{did}#{did[8:]}",
                                            cryptosuite="Ed25519Signature2020")
    credential_id = add_credential(client, json.dumps(signed_vc))
    signed = presentations.build_presentation(session, learner.id, [session.get(Credential, credential_id)],
                                              secret_key=SECRET, blobs=collaborators().blobs)
    assert signed.included == [] and "VC 1.1" in signed.left_out[0][1]


def test_another_learners_credential_cannot_be_presented(client, learner, session, make_user):
    credential_id = add_credential(client, JwtIssuer().jwt())
    other = make_user()
    with pytest.raises(ValidationError, match="your own credentials"):
        presentations.build_presentation(session, other.id, [session.get(Credential, credential_id)],
                                         secret_key=SECRET, blobs=collaborators().blobs)


def test_unsigned_presentation_is_not_verified(client, learner, portfolio):
    slug, _, _ = portfolio
    document = copy.deepcopy(download(client, slug))
    del document["proof"]
    result = verify_bytes(json.dumps(document).encode(), context=make_context())
    assert result.format == "vp" and result.status == "unverifiable"


def test_importing_a_presentation_is_refused_with_a_clear_message(client, session, learner, portfolio):
    slug, _, _ = portfolio
    before = session.scalar(select(Credential.id).order_by(Credential.id.desc()))
    response = client.post("/credentials/add/paste", data={"credential": json.dumps(download(client, slug))})
    assert response.status_code == 422
    assert "presentation holding 2 credential(s)" in response.get_data(as_text=True)
    assert session.scalar(select(Credential.id).order_by(Credential.id.desc())) == before


def test_credential_issued_to_the_learners_wallet_did_is_recognised_as_theirs(client, session, learner):
    did = presentations.learner_key(session, learner.id, secret_key=SECRET).did
    session.commit()
    issuer = JwtIssuer(name="Riverside College")
    credential = issuer.credential(name="Issued to my wallet", email="someone-else@example.org")
    credential["credentialSubject"] = {"id": did, **{k: v for k, v in credential["credentialSubject"].items()
                                                    if k not in ("id", "identifier")}}
    credential_id = add_credential(client, issuer.sign(credential))
    assert session.get(Credential, credential_id).recipient_state == "matched"
