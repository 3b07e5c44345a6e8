"""Key resolution and issuer binding: DIDs, controller documents, fragments and JOSE header keys."""
from __future__ import annotations

import base64
import json
from typing import Any

import base58
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given, settings
from hypothesis import strategies as st
from jwcrypto.jwk import JWK

from tests.support.servers import DocumentServer, Response
from wallet.services.http import GuardedFetcher
from wallet.services.verification import keys, multibase
from wallet.services.verification.context import Context
from wallet.services.verification.dataintegrity import did_key_for
from wallet.services.verification.errors import KeyResolutionError, MultibaseError
from wallet.services.verification.keys import KeyBinding
from wallet.services.verification.result import Status

ISSUER_SITE = "https://issuer.example"
OTHER_SITE = "https://other.example"
ISSUER = f"{ISSUER_SITE}/issuers/1"
DID_WEB = "did:web:issuer.example"


class Sites:
    """https://issuer.example/ and https://other.example/, served by a real HTTP server on 127.0.0.1."""

    def __init__(self, server: DocumentServer) -> None:
        self.server = server
        self.fetch = GuardedFetcher(allow_private_network=True, url_rewrite={
            f"{ISSUER_SITE}/": server.url("/issuer/"), f"{OTHER_SITE}/": server.url("/other/")})

    def publish(self, url: str, document: dict[str, Any] | bytes, status: int = 200) -> None:
        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        for site, prefix in ((ISSUER_SITE, "/issuer"), (OTHER_SITE, "/other")):
            if url.startswith(site + "/"):
                self.server.routes[prefix + url[len(site):]] = Response(body, status)
                return
        raise AssertionError(f"not a test site: {url}")

    def context(self) -> Context:
        return Context(fetch_fn=self.fetch)

    @property
    def requests(self) -> list[str]:
        return [path for _method, path, _headers in self.server.requests]


@pytest.fixture
def sites(document_server: DocumentServer) -> Sites:
    return Sites(document_server)


def ed25519_multikey(private_key: Ed25519PrivateKey) -> str:
    raw = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return multibase.encode_multikey("Ed25519", raw)


def did_web_document(did: str, multikey: str, *, relationships: tuple[str, ...] = ("assertionMethod",),
                     controller: str | None = None) -> dict[str, Any]:
    method = {"id": f"{did}#key-1", "type": "Multikey", "controller": controller or did, "publicKeyMultibase": multikey}
    return {"@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"], "id": did,
            "verificationMethod": [method], **{name: ["#key-1"] for name in relationships}}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# --- did:key and did:jwk ------------------------------------------------------------------------------

def test_resolve_did_key_ed25519_builds_one_key_document() -> None:
    private_key = Ed25519PrivateKey.generate()
    did = did_key_for(private_key.public_key())
    fragment = did.removeprefix("did:key:")
    document = keys.resolve_did(did, Context())
    assert document["id"] == did
    assert document["verificationMethod"] == [{"id": f"{did}#{fragment}", "type": "Multikey", "controller": did,
                                               "publicKeyMultibase": fragment}]
    assert document["assertionMethod"] == [f"{did}#{fragment}"]


def test_resolve_vm_did_key_ed25519_gives_its_raw_key_and_the_same_jwk() -> None:
    # A did:key Ed25519 key is kept as its raw bytes; its JWK is made only when asked for.
    private_key = Ed25519PrivateKey.generate()
    raw = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    did = did_key_for(private_key.public_key())
    key = keys.resolve_verification_method(f"{did}#{did.removeprefix('did:key:')}", issuer_id=did, context=Context())
    assert key.ed25519_public_bytes() == raw
    assert key.jwk.export_public(as_dict=True) == {"kty": "OKP", "crv": "Ed25519", "x": _b64(raw)}
    jwk_did = "did:jwk:" + _b64(json.dumps({"kty": "OKP", "crv": "Ed25519", "x": _b64(raw)}).encode())
    assert keys.resolve_verification_method(jwk_did + "#0", issuer_id=jwk_did,
                                            context=Context()).ed25519_public_bytes() == raw


def test_resolve_did_key_p256_gives_the_same_public_key() -> None:
    private_key = ec.generate_private_key(ec.SECP256R1())
    compressed = private_key.public_key().public_bytes(Encoding.X962, PublicFormat.CompressedPoint)
    did = "did:key:" + multibase.encode_multikey("P-256", compressed)
    assert did.startswith("did:key:zDna")
    key = keys.resolve_verification_method(did, issuer_id=did, context=Context())
    expected = JWK.from_pyca(private_key.public_key()).export_public(as_dict=True)
    assert key.key_type == "P-256"
    assert (key.jwk["x"], key.jwk["y"]) == (expected["x"], expected["y"])


@pytest.mark.parametrize("did", [
    "did:key:z6MkjZRsdasZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi",  # wrong length
    "did:key:" + multibase.base58btc_encode(b"\x12\x00" + bytes(32)),  # not a key codec
    "did:key:m6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi",  # not base58btc
    "did:key:z0OIl",  # not base58 at all
])
def test_resolve_did_key_malformed_is_invalid(did: str) -> None:
    with pytest.raises(KeyResolutionError) as info:
        keys.resolve_did(did, Context())
    assert info.value.outcome is Status.INVALID


def test_resolve_did_jwk_resolves_offline() -> None:
    jwk = JWK.generate(kty="EC", crv="P-256").export_public(as_dict=True)
    did = "did:jwk:" + _b64(json.dumps(jwk).encode())
    document = keys.resolve_did(did, Context())
    assert document["verificationMethod"][0]["id"] == f"{did}#0"
    assert document["verificationMethod"][0]["publicKeyJwk"]["x"] == jwk["x"]
    assert f"{did}#0" in document["assertionMethod"]


def test_resolve_did_jwk_encryption_key_is_not_for_assertions() -> None:
    jwk = {**JWK.generate(kty="EC", crv="P-256").export_public(as_dict=True), "use": "enc"}
    did = "did:jwk:" + _b64(json.dumps(jwk).encode())
    with pytest.raises(KeyResolutionError, match="does not list the key") as info:
        keys.resolve_verification_method(f"{did}#0", issuer_id=did, context=Context())
    assert info.value.outcome is Status.INVALID


def test_resolve_did_jwk_with_private_key_is_invalid() -> None:
    jwk = JWK.generate(kty="OKP", crv="Ed25519").export_private(as_dict=True)
    with pytest.raises(KeyResolutionError, match="private key material") as info:
        keys.resolve_did("did:jwk:" + _b64(json.dumps(jwk).encode()), Context())
    assert info.value.outcome is Status.INVALID


def test_resolve_did_unsupported_method_is_unverifiable_without_fetching(sites: Sites) -> None:
    context = sites.context()
    with pytest.raises(KeyResolutionError, match="did:ethr") as info:
        keys.resolve_did("did:ethr:0x3b0bc51ab9de1e5b7b6e34e5b960285805c41736", context)
    assert info.value.outcome is Status.UNVERIFIABLE
    assert sites.requests == [] and context.documents == []


def test_resolve_did_not_a_did_is_invalid() -> None:
    with pytest.raises(KeyResolutionError) as info:
        keys.resolve_did("did:key", Context())
    assert info.value.outcome is Status.INVALID


# --- did:web ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("did", "url"), [
    ("did:web:issuer.example", "https://issuer.example/.well-known/did.json"),
    ("did:web:issuer.example:users:alice", "https://issuer.example/users/alice/did.json"),
    ("did:web:issuer.example%3A8443", "https://issuer.example:8443/.well-known/did.json"),
    ("did:web:Issuer.Example%3a8443:u:1", "https://issuer.example:8443/u/1/did.json"),
])
def test_did_web_url_follows_the_did_web_rules(did: str, url: str) -> None:
    assert keys.did_web_url(did) == url


@pytest.mark.parametrize("did", ["did:web:issuer.example:..:x", "did:web:user@issuer.example", "did:web:a/b"])
def test_did_web_url_malformed_is_invalid(did: str) -> None:
    with pytest.raises(KeyResolutionError):
        keys.did_web_url(did)


def test_resolve_did_web_fetches_the_document_over_https(sites: Sites) -> None:
    document = did_web_document(DID_WEB, ed25519_multikey(Ed25519PrivateKey.generate()))
    sites.publish(f"{ISSUER_SITE}/.well-known/did.json", document)
    context = sites.context()
    assert keys.resolve_did(DID_WEB, context) == document
    assert context.documents[0]["url"] == "https://issuer.example/.well-known/did.json"
    assert context.documents[0]["role"] == "did-document"


def test_resolve_did_web_path_form_is_fetched(sites: Sites) -> None:
    did = "did:web:issuer.example:users:alice"
    multikey = ed25519_multikey(Ed25519PrivateKey.generate())
    sites.publish(f"{ISSUER_SITE}/users/alice/did.json", did_web_document(did, multikey))
    assert keys.resolve_did(did, sites.context())["id"] == did
    assert sites.requests == ["/issuer/users/alice/did.json"]


def test_resolve_did_web_document_for_another_did_is_unverifiable(sites: Sites) -> None:
    sites.publish(f"{ISSUER_SITE}/.well-known/did.json",
                  did_web_document("did:web:mallory.example", ed25519_multikey(Ed25519PrivateKey.generate())))
    with pytest.raises(KeyResolutionError, match="not the DID document") as info:
        keys.resolve_did(DID_WEB, sites.context())
    assert info.value.outcome is Status.UNVERIFIABLE


def test_resolve_did_web_server_down_is_unverifiable(sites: Sites) -> None:
    sites.publish(f"{ISSUER_SITE}/.well-known/did.json", b"oops", status=503)
    with pytest.raises(KeyResolutionError, match="could not be fetched") as info:
        keys.resolve_did(DID_WEB, sites.context())
    assert info.value.outcome is Status.UNVERIFIABLE


def test_resolve_did_web_redirect_is_refused(sites: Sites) -> None:
    # docs/security.md B4: a did:web document is served at its own URL, never through a redirect.
    sites.server.routes["/issuer/.well-known/did.json"] = Response(
        b"", status=302, headers={"Location": sites.server.url("/issuer/elsewhere.json")})
    sites.publish(f"{ISSUER_SITE}/elsewhere.json",
                  did_web_document(DID_WEB, ed25519_multikey(Ed25519PrivateKey.generate())))
    with pytest.raises(KeyResolutionError, match="redirects") as info:
        keys.resolve_did(DID_WEB, sites.context())
    assert info.value.outcome is Status.UNVERIFIABLE


def test_resolve_did_web_private_address_is_refused_as_unverifiable() -> None:
    context = Context(fetch_fn=GuardedFetcher())
    with pytest.raises(KeyResolutionError, match="could not be fetched") as info:
        keys.resolve_did("did:web:127.0.0.1%3A8080", context)
    assert info.value.outcome is Status.UNVERIFIABLE


def test_resolve_did_web_duplicate_keys_in_document_are_unverifiable(sites: Sites) -> None:
    sites.publish(f"{ISSUER_SITE}/.well-known/did.json", b'{"id": "did:web:issuer.example", "id": "x"}')
    with pytest.raises(KeyResolutionError, match="twice"):
        keys.resolve_did(DID_WEB, sites.context())


# --- verification methods and binding ---------------------------------------------------------------

def test_resolve_vm_did_key_of_the_issuer_is_bound() -> None:
    did = did_key_for(Ed25519PrivateKey.generate().public_key())
    key = keys.resolve_verification_method(f"{did}#{did[8:]}", issuer_id=did, context=Context())
    assert (key.binding, key.source, key.controller, key.key_type) == (KeyBinding.ISSUER, "did:key", did, "Ed25519")
    assert "assertionMethod" in key.purposes
    assert "issuer's own DID" in key.explanation


def test_resolve_vm_did_key_without_fragment_names_its_key() -> None:
    did = did_key_for(Ed25519PrivateKey.generate().public_key())
    assert keys.resolve_verification_method(did, issuer_id=did, context=Context()).vm_id == f"{did}#{did[8:]}"


def test_resolve_vm_did_key_with_a_foreign_fragment_is_invalid() -> None:
    did = did_key_for(Ed25519PrivateKey.generate().public_key())
    other = did_key_for(Ed25519PrivateKey.generate().public_key())
    with pytest.raises(KeyResolutionError) as info:
        keys.resolve_verification_method(f"{did}#{other[8:]}", issuer_id=did, context=Context())
    assert info.value.outcome is Status.INVALID


def test_resolve_vm_did_key_of_another_did_is_other() -> None:
    issuer = did_key_for(Ed25519PrivateKey.generate().public_key())
    signer = did_key_for(Ed25519PrivateKey.generate().public_key())
    key = keys.resolve_verification_method(signer, issuer_id=issuer, context=Context())
    assert key.binding is KeyBinding.OTHER
    assert signer in key.explanation


def test_resolve_vm_did_key_for_a_web_issuer_is_other() -> None:
    signer = did_key_for(Ed25519PrivateKey.generate().public_key())
    assert keys.resolve_verification_method(signer, issuer_id=ISSUER, context=Context()).binding is KeyBinding.OTHER


def test_resolve_vm_did_key_for_an_opaque_issuer_identifies_it() -> None:
    # The issuer is only a urn:uuid: the signing DID is the identity shown as verified.
    signer = did_key_for(Ed25519PrivateKey.generate().public_key())
    key = keys.resolve_verification_method(signer, issuer_id="urn:uuid:6f2e33e5-7a29-4155-840a-59483ba10164",
                                           context=Context())
    assert (key.binding, key.controller) == (KeyBinding.ISSUER, signer)


def test_resolve_vm_did_key_without_issuer_is_self_asserted() -> None:
    signer = did_key_for(Ed25519PrivateKey.generate().public_key())
    key = keys.resolve_verification_method(signer, issuer_id=None, context=Context())
    assert key.binding is KeyBinding.SELF_ASSERTED


def test_resolve_vm_did_web_listed_for_assertion_is_bound(sites: Sites) -> None:
    multikey = ed25519_multikey(Ed25519PrivateKey.generate())
    sites.publish(f"{ISSUER_SITE}/.well-known/did.json", did_web_document(DID_WEB, multikey))
    key = keys.resolve_verification_method(f"{DID_WEB}#key-1", issuer_id=DID_WEB, context=sites.context())
    assert (key.binding, key.source, key.purposes) == (KeyBinding.ISSUER, "did:web", frozenset({"assertionMethod"}))


def test_resolve_vm_did_web_key_only_for_authentication_is_invalid(sites: Sites) -> None:
    multikey = ed25519_multikey(Ed25519PrivateKey.generate())
    sites.publish(f"{ISSUER_SITE}/.well-known/did.json",
                  did_web_document(DID_WEB, multikey, relationships=("authentication",)))
    with pytest.raises(KeyResolutionError, match="for assertionMethod") as info:
        keys.resolve_verification_method(f"{DID_WEB}#key-1", issuer_id=DID_WEB, context=sites.context())
    assert info.value.outcome is Status.INVALID


def test_resolve_vm_did_web_key_no_longer_published_is_unverifiable(sites: Sites) -> None:
    sites.publish(f"{ISSUER_SITE}/.well-known/did.json",
                  did_web_document(DID_WEB, ed25519_multikey(Ed25519PrivateKey.generate())))
    with pytest.raises(KeyResolutionError, match="no longer publishes") as info:
        keys.resolve_verification_method(f"{DID_WEB}#key-0", issuer_id=DID_WEB, context=sites.context())
    assert info.value.outcome is Status.UNVERIFIABLE


def test_resolve_vm_did_web_of_another_did_is_invalid_without_fetching(sites: Sites) -> None:
    context = sites.context()
    with pytest.raises(KeyResolutionError, match="not with a key of its issuer") as info:
        keys.resolve_verification_method("did:web:other.example#key-1", issuer_id=DID_WEB, context=context)
    assert info.value.outcome is Status.INVALID
    assert sites.requests == []


def test_resolve_vm_unsupported_did_method_of_the_issuer_is_unverifiable(sites: Sites) -> None:
    did = "did:ion:EiClkZMDxPKqC9c-umQfTkR8vvZ9JPhl_xLDI9Nfk38w5w"
    with pytest.raises(KeyResolutionError, match="unsupported") as info:
        keys.resolve_verification_method(f"{did}#key-1", issuer_id=did, context=sites.context())
    assert info.value.outcome is Status.UNVERIFIABLE
    assert sites.requests == []


def test_resolve_vm_controller_document_on_issuer_site_is_bound(sites: Sites) -> None:
    multikey = ed25519_multikey(Ed25519PrivateKey.generate())
    sites.publish(ISSUER, {"id": ISSUER, "verificationMethod": [
        {"id": f"{ISSUER}#key-1", "type": "Multikey", "controller": ISSUER, "publicKeyMultibase": multikey}],
        "assertionMethod": [f"{ISSUER}#key-1"]})
    key = keys.resolve_verification_method(f"{ISSUER}#key-1", issuer_id=ISSUER, context=sites.context())
    assert (key.binding, key.source, key.controller) == (KeyBinding.ISSUER, "controller-document", ISSUER)


def test_resolve_vm_standalone_key_document_controlled_by_issuer_is_bound(sites: Sites) -> None:
    url = f"{ISSUER_SITE}/keys/1"
    sites.publish(url, {"id": url, "type": "Ed25519VerificationKey2020", "controller": ISSUER,
                        "publicKeyMultibase": ed25519_multikey(Ed25519PrivateKey.generate())})
    assert keys.resolve_verification_method(url, issuer_id=ISSUER, context=sites.context()).binding is KeyBinding.ISSUER


def test_resolve_vm_controller_document_naming_another_controller_is_other(sites: Sites) -> None:
    url = f"{ISSUER_SITE}/keys/1"
    sites.publish(url, {"id": url, "type": "Multikey", "controller": f"{ISSUER_SITE}/issuers/2",
                        "publicKeyMultibase": ed25519_multikey(Ed25519PrivateKey.generate())})
    key = keys.resolve_verification_method(url, issuer_id=ISSUER, context=sites.context())
    assert key.binding is KeyBinding.OTHER
    assert "issuers/2" in key.explanation


def test_resolve_vm_controller_document_key_only_for_authentication_is_invalid(sites: Sites) -> None:
    sites.publish(ISSUER, {"id": ISSUER, "verificationMethod": [
        {"id": f"{ISSUER}#key-1", "type": "Multikey", "controller": ISSUER,
         "publicKeyMultibase": ed25519_multikey(Ed25519PrivateKey.generate())}],
        "authentication": [f"{ISSUER}#key-1"]})
    with pytest.raises(KeyResolutionError, match="for assertionMethod") as info:
        keys.resolve_verification_method(f"{ISSUER}#key-1", issuer_id=ISSUER, context=sites.context())
    assert info.value.outcome is Status.INVALID


def test_resolve_vm_ed25519_2018_base58_key_is_read(sites: Sites) -> None:
    private_key = Ed25519PrivateKey.generate()
    raw = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    url = f"{ISSUER_SITE}/keys/2018"
    sites.publish(url, {"id": url, "type": "Ed25519VerificationKey2018", "controller": ISSUER,
                        "publicKeyBase58": multibase.base58btc_encode(raw)[1:]})
    key = keys.resolve_verification_method(url, issuer_id=ISSUER, context=sites.context())
    assert key.jwk["x"] == _b64(raw)


def test_resolve_vm_json_web_key_2020_is_read(sites: Sites) -> None:
    public = JWK.from_pyca(rsa.generate_private_key(65537, 2048).public_key()).export_public(as_dict=True)
    sites.publish(ISSUER, {"id": ISSUER, "verificationMethod": [
        {"id": "#rsa", "type": "JsonWebKey2020", "controller": ISSUER, "publicKeyJwk": public}],
        "assertionMethod": ["#rsa"]})
    key = keys.resolve_verification_method(f"{ISSUER}#rsa", issuer_id=ISSUER, context=sites.context())
    assert (key.key_type, key.binding, key.jwk["n"]) == ("RSA", KeyBinding.ISSUER, public["n"])


def test_resolve_vm_json_web_key_with_private_part_is_invalid(sites: Sites) -> None:
    private = JWK.generate(kty="OKP", crv="Ed25519").export_private(as_dict=True)
    sites.publish(ISSUER, {"id": ISSUER, "verificationMethod": [
        {"id": "#k", "type": "JsonWebKey", "controller": ISSUER, "publicKeyJwk": private}], "assertionMethod": ["#k"]})
    with pytest.raises(KeyResolutionError, match="private key material") as info:
        keys.resolve_verification_method(f"{ISSUER}#k", issuer_id=ISSUER, context=sites.context())
    assert info.value.outcome is Status.INVALID


def test_resolve_vm_unsupported_key_type_is_unverifiable(sites: Sites) -> None:
    sites.publish(ISSUER, {"id": ISSUER, "verificationMethod": [
        {"id": "#k", "type": "EcdsaSecp256k1RecoveryMethod2020", "controller": ISSUER, "blockchainAccountId": "x"}],
        "assertionMethod": ["#k"]})
    with pytest.raises(KeyResolutionError, match="does not support") as info:
        keys.resolve_verification_method(f"{ISSUER}#k", issuer_id=ISSUER, context=sites.context())
    assert info.value.outcome is Status.UNVERIFIABLE


def test_resolve_vm_fragment_key_unconfirmed_is_self_asserted(sites: Sites) -> None:
    multikey = ed25519_multikey(Ed25519PrivateKey.generate())
    sites.publish(ISSUER, b"not found", status=404)
    key = keys.resolve_verification_method(f"{ISSUER}#{multikey}", issuer_id=ISSUER, context=sites.context())
    assert (key.binding, key.source, key.controller) == (KeyBinding.SELF_ASSERTED, "fragment", None)
    assert key.jwk["x"] == _b64(multibase.decode_multikey(multikey)[1])
    assert sites.requests == ["/issuer/issuers/1"]


def test_resolve_vm_fragment_key_listed_by_issuer_is_bound(sites: Sites) -> None:
    multikey = ed25519_multikey(Ed25519PrivateKey.generate())
    vm = f"{ISSUER}#{multikey}"
    sites.publish(ISSUER, {"id": ISSUER, "verificationMethod": [
        {"id": vm, "type": "Multikey", "controller": ISSUER, "publicKeyMultibase": multikey}],
        "assertionMethod": [vm]})
    assert keys.resolve_verification_method(vm, issuer_id=ISSUER, context=sites.context()).binding is KeyBinding.ISSUER


def test_resolve_vm_fragment_key_on_another_site_is_other_without_fetching(sites: Sites) -> None:
    multikey = ed25519_multikey(Ed25519PrivateKey.generate())
    key = keys.resolve_verification_method(f"{OTHER_SITE}/me#{multikey}", issuer_id=ISSUER, context=sites.context())
    assert key.binding is KeyBinding.OTHER
    assert sites.requests == []


def test_resolve_vm_key_document_on_another_site_is_invalid_without_fetching(sites: Sites) -> None:
    with pytest.raises(KeyResolutionError, match="another site") as info:
        keys.resolve_verification_method(f"{OTHER_SITE}/keys/1", issuer_id=ISSUER, context=sites.context())
    assert info.value.outcome is Status.INVALID
    assert sites.requests == []


def test_resolve_vm_malformed_fragment_key_is_invalid(sites: Sites) -> None:
    with pytest.raises(KeyResolutionError, match="malformed") as info:
        keys.resolve_verification_method(f"{ISSUER}#z6MkjZRsdasZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi",
                                         issuer_id=ISSUER, context=sites.context())
    assert info.value.outcome is Status.INVALID


def test_resolve_vm_issuer_site_down_without_fragment_key_is_unverifiable(sites: Sites) -> None:
    sites.publish(ISSUER, b"down", status=502)
    with pytest.raises(KeyResolutionError, match="could not be obtained") as info:
        keys.resolve_verification_method(f"{ISSUER}#key-1", issuer_id=ISSUER, context=sites.context())
    assert info.value.outcome is Status.UNVERIFIABLE


def test_resolve_vm_fragment_key_of_an_opaque_issuer_id_is_self_asserted() -> None:
    multikey = ed25519_multikey(Ed25519PrivateKey.generate())
    issuer = "urn:uuid:4ca4a241-fc3b-4d92-978e-f56fa96ae795"
    key = keys.resolve_verification_method(f"{issuer}#{multikey}", issuer_id=issuer, context=Context())
    assert key.binding is KeyBinding.SELF_ASSERTED


@pytest.mark.parametrize("vm", ["z6MkrvfzkMnvCroEUP2DVc9SHPE48CRsvHiVSusHioxTYu1x",
                                "xxx:z6MkrvfzkMnvCroEUP2DVc9SHPE48CRsvHiVSusHioxTYu1x", "  "])
def test_resolve_vm_not_a_key_reference_is_invalid(vm: str) -> None:
    with pytest.raises(KeyResolutionError) as info:
        keys.resolve_verification_method(vm, issuer_id=ISSUER, context=Context())
    assert info.value.outcome is Status.INVALID


def test_assertion_keys_lists_the_did_web_assertion_keys(sites: Sites) -> None:
    document = did_web_document(DID_WEB, ed25519_multikey(Ed25519PrivateKey.generate()))
    document["verificationMethod"].append({"id": f"{DID_WEB}#auth", "type": "Multikey", "controller": DID_WEB,
                                           "publicKeyMultibase": ed25519_multikey(Ed25519PrivateKey.generate())})
    document["authentication"] = ["#auth"]
    sites.publish(f"{ISSUER_SITE}/.well-known/did.json", document)
    found = keys.assertion_keys(DID_WEB, issuer_id=DID_WEB, context=sites.context())
    assert [(k.vm_id, k.binding) for k in found] == [(f"{DID_WEB}#key-1", KeyBinding.ISSUER)]


# --- JOSE header keys ----------------------------------------------------------------------------------

def test_key_from_jwk_header_key_is_self_asserted() -> None:
    public = JWK.generate(kty="RSA", size=2048).export_public(as_dict=True)
    key = keys.key_from_jwk(public, issuer_id=ISSUER)
    assert (key.binding, key.source, key.key_type) == (KeyBinding.SELF_ASSERTED, "jose-header", "RSA")
    assert key.vm_id.startswith("urn:ietf:params:oauth:jwk-thumbprint:sha-256:")


def test_key_from_jwk_with_private_part_is_invalid() -> None:
    private = JWK.generate(kty="EC", crv="P-256").export_private(as_dict=True)
    with pytest.raises(KeyResolutionError, match="private key material") as info:
        keys.key_from_jwk(private, issuer_id=ISSUER)
    assert info.value.outcome is Status.INVALID


def test_key_from_jwk_symmetric_key_is_refused() -> None:
    with pytest.raises(KeyResolutionError):
        keys.key_from_jwk({"kty": "oct", "k": "c2VjcmV0"}, issuer_id=ISSUER)


def test_key_from_jwk_issuer_did_jwk_of_this_key_is_bound() -> None:
    public = JWK.generate(kty="OKP", crv="Ed25519").export_public(as_dict=True)
    did = "did:jwk:" + _b64(json.dumps(public).encode())
    key = keys.key_from_jwk(public, issuer_id=did)
    assert (key.binding, key.source, key.vm_id) == (KeyBinding.ISSUER, "did:jwk", f"{did}#0")


def test_key_from_jwk_issuer_did_jwk_of_another_key_is_self_asserted() -> None:
    mine = JWK.generate(kty="OKP", crv="Ed25519").export_public(as_dict=True)
    theirs = JWK.generate(kty="OKP", crv="Ed25519").export_public(as_dict=True)
    key = keys.key_from_jwk(mine, issuer_id="did:jwk:" + _b64(json.dumps(theirs).encode()))
    assert key.binding is KeyBinding.SELF_ASSERTED


@pytest.mark.parametrize(("doc", "expected"), [
    ({"issuer": ISSUER}, ISSUER), ({"issuer": {"id": DID_WEB, "name": "X"}}, DID_WEB),
    ({"issuer": {"name": "X"}}, None), ({}, None), ({"issuer": ""}, None), ({"issuer": 7}, None),
])
def test_issuer_of_reads_string_or_object(doc: dict[str, Any], expected: str | None) -> None:
    assert keys.issuer_of(doc) == expected


# --- multibase ---------------------------------------------------------------------------------------

def test_multibase_base64url_round_trip() -> None:
    data = bytes(range(256))
    encoded = multibase.base64url_encode(data)
    assert encoded.startswith("u") and "=" not in encoded
    assert multibase.base64url_decode(encoded) == data


@pytest.mark.parametrize("value", ["zAAAA", "uAA+A", "uA", "u AAA", ""])
def test_multibase_base64url_malformed_is_refused(value: str) -> None:
    with pytest.raises(MultibaseError):
        multibase.base64url_decode(value)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=80), ones=st.sampled_from(["", "1", "11"]), space=st.sampled_from(["", " ", "\n"]))
def test_multibase_base58_decode_is_the_base58_library_decoding(data: bytes, ones: str, space: str) -> None:
    value = ones + base58.b58encode(data).decode("ascii") + space
    assert multibase.base58_decode(value) == base58.b58decode(value)


@settings(max_examples=300, deadline=None)
@given(value=st.text(max_size=30))
def test_multibase_base58_decode_refuses_what_the_library_refuses(value: str) -> None:
    try:
        expected: bytes | None = base58.b58decode(value)
    except (ValueError, UnicodeEncodeError):
        expected = None
    if expected is None:
        with pytest.raises(MultibaseError):
            multibase.base58_decode(value)
    else:
        assert multibase.base58_decode(value) == expected


def test_multibase_base58btc_round_trip_keeps_leading_zeros() -> None:
    data = b"\x00\x00\xed\x01" + bytes(range(32))
    assert multibase.base58btc_decode(multibase.base58btc_encode(data)) == data


def test_multibase_multikey_of_unknown_codec_is_refused() -> None:
    with pytest.raises(MultibaseError, match="not supported"):
        multibase.decode_multikey(multibase.base58btc_encode(b"\xe7\x01" + bytes(33)))


def test_multibase_p256_key_must_be_compressed() -> None:
    with pytest.raises(MultibaseError, match="compressed"):
        multibase.decode_multikey(multibase.base58btc_encode(b"\x80\x24\x04" + bytes(32)))
