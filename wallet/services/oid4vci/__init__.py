"""Wallet as an OpenID for Verifiable Credential Issuance 1.0 wallet: take an offer, receive the credentials.

protocol.py speaks OID4VCI; this module runs the flows and hands each issued credential to the
ordinary importer (verified, stored verbatim), bound to the learner's wallet key (did:key):
- pre-authorized code (OID4VCI §3.5, §6.1), with the transaction code when the offer asks for one;
- authorization code with PKCE S256 (§3.4, §5): `begin_authorization` gives where the learner's
  browser goes and what the route keeps in the learner's session; `complete_authorization` redeems
  the code after the single-use `state` came back to the same session;
- deferred issuance (§9): a credential promised for later is polled as a background job.
Nothing is stored unless every credential request succeeded; a credential that names another holder
than the learner's key is refused (OID4VCI §8.2: the proof binds the credential to that key).
"""
from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy.orm import Session

from wallet.models.job import Job
from wallet.services import importing, presentations
from wallet.services import jobs as job_service
from wallet.services.errors import ValidationError
from wallet.services.oid4vci.protocol import (
    FORMATS,
    MAX_TX_CODE_CHARS,
    Issued,
    IssuerMetadata,
    NonceRefusedError,
    Offer,
    OfferError,
    Remote,
    credential_identifiers,
    ServerMetadata,
    TxCodeError,
    authorization_url,
    choose_server,
    fresh_nonce,
    is_offer,
    issuer_metadata,
    pkce_pair,
    poll_deferred,
    proof_jwt,
    read_offer,
    request_credential,
    server_metadata,
    token_authorization_code,
    token_pre_authorized,
)
from wallet.services.providers.oauth import ProviderClient

__all__ = [
    "DEFERRED", "Holder", "holder_for", "OfferError", "Received", "TxCodeError", "begin_authorization", "complete_authorization",
    "is_offer", "receive_offer", "remote_for", "run_deferred",
]

DEFERRED = job_service.OFFER  # the job kind of a deferred issuance
# How long a deferred issuance is polled before the job gives up (the issuer's transaction may last longer).
DEFAULT_DEFERRED_SECONDS = 3600.0


@dataclass(frozen=True)
class Holder:
    """The learner's wallet key: its did:key, the verification method a proof names, and the private half."""

    did: str
    kid: str
    private_key: Ed25519PrivateKey

    @property
    def public_x(self) -> str:
        raw = self.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


@dataclass
class Received:
    """What taking an offer did: credentials imported, a deferred job started, or an authorization to go to."""

    items: list[importing.ImportItem] = field(default_factory=list)
    job: Job | None = None
    authorize_url: str | None = None
    # What the route keeps in the learner's session until the browser comes back (never shown to the issuer).
    pending: dict[str, Any] | None = None
    issuer_name: str = ""


def holder_for(session: Session, owner_id: int, *, secret_key: str) -> Holder:
    """Return the learner's wallet key as a proof signer, creating the key on first use."""
    key = presentations.learner_key(session, owner_id, secret_key=secret_key)
    return Holder(did=key.did, kid=presentations.verification_method(key.did),
                  private_key=presentations.signing_key(key, secret_key=secret_key))


def remote_for(client: ProviderClient) -> Remote:
    """Return the guarded fetcher's GET, send and check, as the protocol uses them."""
    return Remote(fetch=client.fetch, send=client.send, check=client.check, require_https=client.require_https)


def receive_offer(session: Session, client: ProviderClient, importer: importing.Importer, holder: Holder, text: str,
                  *, tx_code: str | None = None, client_id: str = "", redirect_uri: str = "",
                  now: Callable[[], float] = time.time) -> Received:
    """Take the OID4VCI offer in `text`: receive its credentials now (pre-authorized) or start an authorization.

    Raises OfferError/UnsafeURLError (the offer or its issuer cannot be used), TxCodeError (wrong
    code), FetchError (the issuer failed or did not answer in time). Nothing is stored on a failure.
    """
    remote = remote_for(client)
    offer = read_offer(remote, text)
    metadata = issuer_metadata(remote, offer.credential_issuer)
    _check_formats(offer, metadata)
    if offer.pre_authorized is not None:
        tx_code = _clean_tx_code(offer, tx_code)
        server = server_metadata(remote, choose_server(offer.pre_authorized, metadata))
        token = token_pre_authorized(remote, server, offer.pre_authorized["pre-authorized_code"], tx_code)
        return _receive(session, client, importer, holder, metadata, offer.configuration_ids, token, now=now)
    if not redirect_uri:
        raise OfferError("This offer needs you to sign in at the issuer; open it in Wallet's web page to continue.")
    return begin_authorization(remote, offer, metadata, client_id=client_id, redirect_uri=redirect_uri)


def begin_authorization(remote: Remote, offer: Offer, metadata: IssuerMetadata, *, client_id: str,
                        redirect_uri: str) -> Received:
    """Return where the learner's browser goes to authorize at the issuer, and what to keep until it returns."""
    grant = offer.grants.get("authorization_code", {})
    server = server_metadata(remote, choose_server(grant, metadata))
    if not server.authorization_endpoint:
        raise OfferError("The issuer's authorization server has no authorization endpoint.")
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(24)
    issuer_state = grant.get("issuer_state") if isinstance(grant.get("issuer_state"), str) else None
    url = authorization_url(server, client_id=client_id, redirect_uri=redirect_uri, state=state, challenge=challenge,
                            configuration_ids=offer.configuration_ids, issuer_state=issuer_state,
                            resource=offer.credential_issuer)
    pending = {"state": state, "verifier": verifier, "issuer": offer.credential_issuer, "server": server.issuer,
               "ids": list(offer.configuration_ids), "redirect_uri": redirect_uri, "client_id": client_id}
    return Received(authorize_url=url, pending=pending, issuer_name=metadata.name)


def complete_authorization(session: Session, client: ProviderClient, importer: importing.Importer, holder: Holder,
                           pending: dict[str, Any] | None, *, state: str, code: str, error: str = "",
                           now: Callable[[], float] = time.time) -> Received:
    """Redeem the authorization code the learner's browser brought back, then receive the credentials.

    `pending` is what `begin_authorization` returned, kept in this learner's session and already
    removed from it (single use); a `state` that is not its own is refused (RFC 6749 §10.12).
    """
    if not pending or not isinstance(state, str) or not secrets.compare_digest(str(pending.get("state", "")), state):
        raise OfferError("This answer from the issuer does not belong to an offer you started here. "
                         "Nothing was added; take the offer again.")
    if error:
        raise OfferError("The issuer did not authorize Wallet to receive the credential "
                         f"({error[:64] if error.replace('_', '').isalnum() else 'refused'}). Nothing was added.")
    if not code:
        raise OfferError("The issuer sent no authorization code. Nothing was added; take the offer again.")
    remote = remote_for(client)
    metadata = issuer_metadata(remote, pending["issuer"])
    server: ServerMetadata = server_metadata(remote, pending["server"])
    token = token_authorization_code(remote, server, code=code, verifier=pending["verifier"],
                                     redirect_uri=pending["redirect_uri"], client_id=pending["client_id"])
    return _receive(session, client, importer, holder, metadata, tuple(pending["ids"]), token, now=now)


def _receive(session: Session, client: ProviderClient, importer: importing.Importer, holder: Holder,
             metadata: IssuerMetadata, configuration_ids: tuple[str, ...], token: dict[str, Any], *,
             now: Callable[[], float]) -> Received:
    remote = remote_for(client)
    access = token["access_token"]
    # Pre-1.0 issuers hand the first nonce in the token response; 1.0 has the nonce endpoint (§7).
    nonce = fresh_nonce(remote, metadata) or (token.get("c_nonce") if isinstance(token.get("c_nonce"), str) else None)
    issued: list[str | dict[str, Any]] = []
    deferred: list[dict[str, Any]] = []
    for configuration_id in configuration_ids:
        for identifier in credential_identifiers(token, configuration_id) or [None]:
            # A nonce is used once: a request after the first asks for a fresh one (none after the last).
            nonce = nonce if nonce is not None else fresh_nonce(remote, metadata)
            answer, nonce = _request(remote, metadata, access, configuration_id, holder, nonce, now,
                                     identifier=identifier)
            if answer.transaction_id is not None:
                if metadata.deferred_endpoint is None:
                    raise OfferError("The issuer promised the credential for later but has no deferred endpoint.")
                deferred.append({"transaction_id": answer.transaction_id, "interval": answer.interval,
                                 "configuration_id": configuration_id})
            issued.extend(answer.credentials)
    # Every credential is checked for its holder before the first is stored: all or nothing.
    for credential in issued:
        check_binding(credential, holder)
    received = Received(issuer_name=metadata.name)
    for credential in issued:
        received.items.append(importing.import_paste(session, importer, credential))
    if deferred:
        received.job = job_service.create_job(session, kind=DEFERRED, owner_id=importer.owner_id, total=len(deferred),
                                              params={"endpoint": metadata.deferred_endpoint,
                                                      "issuer": metadata.credential_issuer,
                                                      "access_token": client.sealer.seal(access),
                                                      "transactions": deferred, "name": metadata.name})
    return received


def _request(remote: Remote, metadata: IssuerMetadata, access: str, configuration_id: str, holder: Holder,
             nonce: str | None, now: Callable[[], float], *, identifier: str | None = None) -> tuple[Issued, str | None]:
    """Request one credential; on invalid_nonce, fetch a fresh nonce and try once more (OID4VCI §8.3.1.2)."""
    for attempt in (1, 2):
        proof = proof_jwt(holder.private_key, holder.kid, audience=metadata.credential_issuer, nonce=nonce,
                          issued_at=int(now()))
        try:
            return request_credential(remote, metadata, access, configuration_id, proof, identifier=identifier), None
        except NonceRefusedError:
            if attempt == 2 or metadata.nonce_endpoint is None:
                raise OfferError("The issuer refused Wallet's proof of your key twice. Nothing was added; "
                                 "try the offer again later.") from None
            nonce = fresh_nonce(remote, metadata)
    raise AssertionError("unreachable")


def run_deferred(session: Session, client: ProviderClient, importer: importing.Importer, holder: Holder, job: Job,
                 *, on_item: Callable[[importing.ImportItem | Exception], None],
                 sleep: Callable[[float], None] = time.sleep, monotonic: Callable[[], float] = time.monotonic,
                 give_up_after: float = DEFAULT_DEFERRED_SECONDS) -> None:
    """Poll the deferred credential endpoint for each promised credential until it comes (OID4VCI §9)."""
    remote = remote_for(client)
    params = job.params
    access = client.sealer.open(params["access_token"])
    started = monotonic()
    for transaction in params["transactions"]:
        interval = float(transaction["interval"])
        while True:
            answer = poll_deferred(remote, params["endpoint"], access, transaction["transaction_id"])
            if answer.transaction_id is None:
                break
            if monotonic() - started + answer.interval > give_up_after:
                raise OfferError("The issuer has not issued the credential yet; Wallet stopped waiting.")
            interval = float(answer.interval)
            sleep(interval)
        for credential in answer.credentials:
            try:
                check_binding(credential, holder)
                on_item(importing.import_paste(session, importer, credential))
            except OfferError as error:
                on_item(error)


# ---------------------------------------------------------------------------------------------
# Checks


def _check_formats(offer: Offer, metadata: IssuerMetadata) -> None:
    for configuration_id in offer.configuration_ids:
        configuration = metadata.configurations.get(configuration_id)
        if configuration is None:
            raise OfferError("The offer names a credential the issuer does not describe.")
        if configuration.get("format") not in FORMATS:
            raise OfferError("The issuer offers the credential in a format Wallet cannot read yet "
                             f"({str(configuration.get('format'))[:40]}).")


def _clean_tx_code(offer: Offer, tx_code: str | None) -> str | None:
    wanted = offer.tx_code
    if wanted is None:
        return None  # OID4VCI §6.1: tx_code only when the offer asks for one
    code = (tx_code or "").strip()
    if not code:
        raise ValidationError("This offer needs the transaction code the issuer sent you separately "
                              "(by e-mail or text message). Enter it and try again.")
    if len(code) > MAX_TX_CODE_CHARS or not code.isprintable():
        raise ValidationError("That transaction code is not one the issuer could have sent.")
    return code


def check_binding(credential: str | dict[str, Any], holder: Holder) -> None:
    """Refuse a credential that names another holder than the learner's wallet key (OID4VCI §8.2 proofs).

    jwt_vc_json: `sub` / credentialSubject.id; ldp_vc: credentialSubject.id; SD-JWT VC: `cnf`
    (draft-ietf-oauth-sd-jwt-vc §3.2.2.2, RFC 7800). A credential that names no holder is stored as
    issued; its recipient check says that it names no one.
    """
    named: list[str] = []
    if isinstance(credential, dict):
        named = _subject_ids(credential)
    else:
        payload = _jwt_payload(credential.split("~", 1)[0])
        if "~" in credential:
            cnf = payload.get("cnf") if isinstance(payload.get("cnf"), dict) else {}
            key = cnf.get("jwk") if isinstance(cnf.get("jwk"), dict) else None
            if key is not None:
                if key.get("kty") == "OKP" and key.get("crv") == "Ed25519" and key.get("x") == holder.public_x:
                    return
                raise OfferError("The issuer bound the credential to another key than your wallet's, so it "
                                 "would not be yours to present. Nothing was added.")
            if isinstance(cnf.get("kid"), str):
                named = [cnf["kid"]]
        else:
            named = [payload["sub"]] if isinstance(payload.get("sub"), str) else []
            inner = payload.get("vc") if isinstance(payload.get("vc"), dict) else payload
            named += _subject_ids(inner)
    dids = {name.split("#", 1)[0] for name in named if name.startswith("did:")}
    if dids and dids != {holder.did}:
        raise OfferError("The issuer issued the credential to another key than your wallet's, so it would not "
                         "be yours to present. Nothing was added.")


def _subject_ids(document: dict[str, Any]) -> list[str]:
    subjects = document.get("credentialSubject")
    subjects = subjects if isinstance(subjects, list) else [subjects]
    return [each["id"] for each in subjects if isinstance(each, dict) and isinstance(each.get("id"), str)]


def _jwt_payload(token: str) -> dict[str, Any]:
    parts = token.split(".")
    if len(parts) != 3:
        raise OfferError("The issuer sent a credential that is not a JWT.")
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, UnicodeDecodeError):
        raise OfferError("The issuer sent a credential Wallet cannot read.") from None
    return payload if isinstance(payload, dict) else {}
