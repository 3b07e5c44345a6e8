"""The wire protocol of OpenID for Verifiable Credential Issuance 1.0, from the wallet's side.

https://openid.net/specs/openid-4-verifiable-credential-issuance-1_0.html (cited as OID4VCI §n).
Everything an issuer sends is untrusted input (docs/security.md group A): offers, metadata and the
URLs they name are read strictly and every URL is checked like one a learner pasted before anything
is sent to it. GETs go through the guarded fetcher, POSTs through its `send` (no redirect followed).
"""
from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from authlib.common.urls import add_params_to_uri
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwcrypto import jwk, jws
from jwcrypto.common import json_encode

from wallet.services.errors import FetchError, ImportRejectedError, UnsafeURLError, WalletError
from wallet.services.providers.oauth import Send, error_reason, json_or_empty
from wallet.services.verification.errors import RemoteError
from wallet.services.verification.fetching import Fetch, Fetched
from wallet.services.verification.jsonutil import loads_strict

OFFER_SCHEME = "openid-credential-offer"
PRE_AUTHORIZED = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
AUTHORIZATION_CODE = "authorization_code"
PROOF_TYP = "openid4vci-proof+jwt"  # OID4VCI Appendix F.1
FORM = "application/x-www-form-urlencoded"
# OID4VCI Appendix A: the formats Wallet hands to its importer.
FORMATS = frozenset({"jwt_vc_json", "ldp_vc", "dc+sd-jwt", "vc+sd-jwt"})
MAX_OFFER_CHARS = 16 * 1024
MAX_CONFIGURATIONS = 10
# Credential datasets requested for one configuration (the identifiers a token response names).
MAX_IDENTIFIERS = 10
MAX_TX_CODE_CHARS = 64
MAX_INTERVAL_SECONDS = 3600


class OfferError(ImportRejectedError):
    """The offer, or the issuer's answer to it, cannot be used; the message says why in the learner's words."""


class TxCodeError(OfferError):
    """The issuer refused the transaction code (OID4VCI §6.3: invalid_grant for a wrong tx_code)."""


@dataclass(frozen=True)
class Offer:
    """A credential offer (OID4VCI §4.1.1), its values checked."""

    credential_issuer: str
    configuration_ids: tuple[str, ...]
    grants: dict[str, dict[str, Any]]

    @property
    def pre_authorized(self) -> dict[str, Any] | None:
        return self.grants.get(PRE_AUTHORIZED)

    @property
    def tx_code(self) -> dict[str, Any] | None:
        """The transaction code the pre-authorized grant asks for (input_mode, length, description), or None."""
        grant = self.pre_authorized
        code = grant.get("tx_code") if grant else None
        return code if isinstance(code, dict) else None


@dataclass(frozen=True)
class IssuerMetadata:
    """What the issuer's metadata says (OID4VCI §12.2.4), every endpoint checked."""

    credential_issuer: str
    credential_endpoint: str
    nonce_endpoint: str | None
    deferred_endpoint: str | None
    authorization_servers: tuple[str, ...]
    configurations: dict[str, dict[str, Any]]
    name: str


@dataclass(frozen=True)
class ServerMetadata:
    """The authorization server's endpoints (RFC 8414 §2)."""

    issuer: str
    token_endpoint: str
    authorization_endpoint: str | None


@dataclass
class Issued:
    """What a credential request gave: credentials now, or a transaction to poll later (OID4VCI §8.3, §9)."""

    credentials: list[str | dict[str, Any]] = field(default_factory=list)
    transaction_id: str | None = None
    interval: int = 5


@dataclass(frozen=True)
class Remote:
    """The guarded fetcher's GET and send, its URL check, and whether only https is allowed."""

    fetch: Fetch
    send: Send
    check: Callable[[str], None]
    require_https: bool = True


# ---------------------------------------------------------------------------------------------
# Offers


def is_offer(text: str) -> bool:
    """Whether `text` is an OID4VCI credential offer: the offer URI scheme, or any URL carrying the offer parameters."""
    text = (text or "").strip()
    if text.lower().startswith(OFFER_SCHEME + ":"):
        return True
    query = parse_qs(urlsplit(text).query) if "?" in text else {}
    return "credential_offer" in query or "credential_offer_uri" in query


def read_offer(remote: Remote, text: str) -> Offer:
    """Return the offer in `text`, fetching it when it is passed by reference (OID4VCI §4.1, §4.1.3)."""
    text = (text or "").strip()
    if len(text) > MAX_OFFER_CHARS:
        raise OfferError("The offer is too long to be a credential offer.")
    query = parse_qs(urlsplit(text).query, max_num_fields=10)
    by_value, by_reference = query.get("credential_offer"), query.get("credential_offer_uri")
    # OID4VCI §4.1: "MUST contain either credential_offer or credential_offer_uri", each once.
    if bool(by_value) == bool(by_reference) or len(by_value or by_reference or []) != 1:
        raise OfferError("That is not a credential offer Wallet can read: it must carry exactly one offer.")
    if by_value:
        document = _loads(by_value[0].encode("utf-8"), "The offer")
    else:
        uri = by_reference[0]
        check_url(remote, uri)
        document = _get_json(remote, uri, "The offer")
    return _offer(document, remote)


def _offer(document: Any, remote: Remote) -> Offer:
    if not isinstance(document, dict):
        raise OfferError("The offer is not a JSON object.")
    issuer = document.get("credential_issuer")
    ids = document.get("credential_configuration_ids")
    grants = document.get("grants", {})
    if not isinstance(issuer, str) or not issuer:
        raise OfferError("The offer does not name its issuer (credential_issuer).")
    check_url(remote, issuer)
    if not isinstance(ids, list) or not ids or not all(isinstance(each, str) and each for each in ids) \
            or len(ids) > MAX_CONFIGURATIONS:
        raise OfferError("The offer does not say which credentials it offers (credential_configuration_ids).")
    if not isinstance(grants, dict) or not all(isinstance(value, dict) for value in grants.values()):
        raise OfferError("The offer's grants are not readable.")
    pre = grants.get(PRE_AUTHORIZED)
    if pre is not None and not (isinstance(pre.get("pre-authorized_code"), str) and pre["pre-authorized_code"]):
        raise OfferError("The offer's pre-authorized grant has no code.")
    return Offer(issuer, tuple(dict.fromkeys(ids)), {key: value for key, value in grants.items()
                                                     if key in (PRE_AUTHORIZED, AUTHORIZATION_CODE)})


# ---------------------------------------------------------------------------------------------
# Metadata


def well_known(identifier: str, suffix: str) -> str:
    """Insert /.well-known/<suffix> between the host and the path (OID4VCI §12.2.2, RFC 8414 §3.1)."""
    parts = urlsplit(identifier)
    path = parts.path.rstrip("/")
    return f"{parts.scheme}://{parts.netloc}/.well-known/{suffix}{path}"


def issuer_metadata(remote: Remote, credential_issuer: str) -> IssuerMetadata:
    """Fetch and read the issuer's metadata; its `credential_issuer` must be the offer's (OID4VCI §12.2.3)."""
    document = _get_json(remote, well_known(credential_issuer, "openid-credential-issuer"), "The issuer's metadata")
    if not isinstance(document, dict):
        raise OfferError("The issuer's metadata is not a JSON object.")
    if document.get("credential_issuer") != credential_issuer:
        raise OfferError("The issuer's metadata names a different issuer than the offer, so Wallet does not trust it.")
    endpoint = document.get("credential_endpoint")
    if not isinstance(endpoint, str) or not endpoint:
        raise OfferError("The issuer's metadata names no credential endpoint.")
    optional = {name: document.get(name) for name in ("nonce_endpoint", "deferred_credential_endpoint")}
    for name, value in optional.items():
        if value is not None and not isinstance(value, str):
            raise OfferError(f"The issuer's metadata has an unreadable {name}.")
    servers = document.get("authorization_servers", [credential_issuer])
    if not isinstance(servers, list) or not servers or not all(isinstance(each, str) for each in servers):
        raise OfferError("The issuer's metadata has unreadable authorization_servers.")
    configurations = document.get("credential_configurations_supported")
    if not isinstance(configurations, dict):
        raise OfferError("The issuer's metadata lists no credential configurations.")
    for url in (endpoint, *(value for value in optional.values() if value), *servers):
        check_url(remote, url)
    return IssuerMetadata(credential_issuer, endpoint, optional["nonce_endpoint"],
                          optional["deferred_credential_endpoint"], tuple(servers),
                          {key: value for key, value in configurations.items() if isinstance(value, dict)},
                          _display_name(document) or urlsplit(credential_issuer).hostname or credential_issuer)


def server_metadata(remote: Remote, server: str) -> ServerMetadata:
    """Fetch the authorization server's metadata: RFC 8414, else OpenID Connect Discovery (OID4VCI §12.3)."""
    document: Any = None
    for url in (well_known(server, "oauth-authorization-server"),
                server.rstrip("/") + "/.well-known/openid-configuration"):
        try:
            document = _get_json(remote, url, "The authorization server's metadata")
            break
        except RemoteError as error:
            if error.status_code not in (400, 403, 404, 405, 410):
                raise
    if not isinstance(document, dict):
        raise OfferError("The issuer's authorization server publishes no metadata Wallet can read.")
    # RFC 8414 §3.3: the issuer in the metadata MUST be identical to the one it was fetched for.
    if document.get("issuer") != server:
        raise OfferError("The authorization server's metadata names a different server, so Wallet does not trust it.")
    token = document.get("token_endpoint")
    authorize = document.get("authorization_endpoint")
    if not isinstance(token, str) or not token or (authorize is not None and not isinstance(authorize, str)):
        raise OfferError("The authorization server's metadata names no token endpoint.")
    for url in (token, *([authorize] if authorize else [])):
        check_url(remote, url)
    return ServerMetadata(server, token, authorize)


def choose_server(offer_grant: Mapping[str, Any] | None, metadata: IssuerMetadata) -> str:
    """Return the authorization server for a grant: the one it names, which must be listed (OID4VCI §4.1.1)."""
    named = (offer_grant or {}).get("authorization_server")
    if named is None:
        return metadata.authorization_servers[0]
    if named not in metadata.authorization_servers:
        raise OfferError("The offer names an authorization server the issuer does not list.")
    return named


# ---------------------------------------------------------------------------------------------
# Tokens


def token_pre_authorized(remote: Remote, server: ServerMetadata, code: str, tx_code: str | None) -> dict[str, Any]:
    """Redeem a pre-authorized code (OID4VCI §6.1) and return the token response."""
    form = {"grant_type": PRE_AUTHORIZED, "pre-authorized_code": code}
    if tx_code is not None:
        form["tx_code"] = tx_code
    return _token(remote, server, form, wrong_code=tx_code is not None)


def token_authorization_code(remote: Remote, server: ServerMetadata, *, code: str, verifier: str,
                             redirect_uri: str, client_id: str) -> dict[str, Any]:
    """Exchange an authorization code with its PKCE verifier (RFC 6749 §4.1.3, RFC 7636 §4.5)."""
    return _token(remote, server, {"grant_type": "authorization_code", "code": code, "code_verifier": verifier,
                                   "redirect_uri": redirect_uri, "client_id": client_id}, wrong_code=False)


def _token(remote: Remote, server: ServerMetadata, form: dict[str, str], *, wrong_code: bool) -> dict[str, Any]:
    answer = remote.send("POST", server.token_endpoint, headers={"Content-Type": FORM},
                         body=urlencode(form).encode("ascii"))
    document = json_or_empty(answer)
    if answer.status_code == 400 and document.get("error") == "invalid_grant" and wrong_code:
        raise TxCodeError("The issuer did not accept the transaction code. Check the code it sent you and try again.")
    if answer.status_code != 200:
        raise FetchError(f"The issuer did not give Wallet access to the credential{error_reason(answer)}.")
    token, kind = document.get("access_token"), document.get("token_type")
    if not isinstance(token, str) or not token or not isinstance(kind, str) or kind.lower() != "bearer":
        raise FetchError("The issuer sent a token answer Wallet cannot use.")
    return document


def pkce_pair() -> tuple[str, str]:
    """Return a PKCE code verifier and its S256 challenge (RFC 7636 §4.1, §4.2)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorization_url(server: ServerMetadata, *, client_id: str, redirect_uri: str, state: str, challenge: str,
                      configuration_ids: tuple[str, ...], issuer_state: str | None, resource: str) -> str:
    """Return where the learner's browser goes to authorize (OID4VCI §5.1.1 authorization_details, RFC 9396)."""
    details = [{"type": "openid_credential", "credential_configuration_id": each} for each in configuration_ids]
    params = [("response_type", "code"), ("client_id", client_id), ("redirect_uri", redirect_uri),
              ("state", state), ("code_challenge", challenge), ("code_challenge_method", "S256"),
              ("authorization_details", json.dumps(details, separators=(",", ":")))]
    if server.issuer != resource:
        params.append(("resource", resource))  # OID4VCI §5.1.2: the issuer is the token's audience
    if issuer_state:
        params.append(("issuer_state", issuer_state))
    return add_params_to_uri(server.authorization_endpoint or "", params)


# ---------------------------------------------------------------------------------------------
# Proof, credential, deferred


def fresh_nonce(remote: Remote, metadata: IssuerMetadata) -> str | None:
    """Ask the nonce endpoint for a c_nonce (OID4VCI §7); None when the issuer has none."""
    if metadata.nonce_endpoint is None:
        return None
    answer = remote.send("POST", metadata.nonce_endpoint)
    nonce = json_or_empty(answer).get("c_nonce")
    if answer.status_code != 200 or not isinstance(nonce, str) or not nonce:
        raise FetchError(f"The issuer's nonce endpoint gave no nonce{error_reason(answer)}.")
    return nonce


def proof_jwt(private_key: Ed25519PrivateKey, kid: str, *, audience: str, nonce: str | None, issued_at: int,
              client_id: str | None = None) -> str:
    """Sign the `jwt` proof of possession (OID4VCI Appendix F.1) with the learner's key."""
    header = {"typ": PROOF_TYP, "alg": "EdDSA", "kid": kid}
    claims: dict[str, Any] = {"aud": audience, "iat": issued_at}
    if nonce is not None:
        claims["nonce"] = nonce
    if client_id:
        claims["iss"] = client_id
    token = jws.JWS(json_encode(claims).encode("utf-8"))
    token.add_signature(jwk.JWK.from_pyca(private_key), alg="EdDSA", protected=json_encode(header))
    return token.serialize(compact=True)


class NonceRefusedError(OfferError):
    """The issuer answered invalid_nonce (OID4VCI §8.3.1.2)."""


def request_credential(remote: Remote, metadata: IssuerMetadata, access_token: str, configuration_id: str,
                       proof: str, *, identifier: str | None = None) -> Issued:
    """POST one credential request (OID4VCI §8.2) and read its answer (§8.3).

    The request names the credential by the `credential_identifier` the token response gave, when it
    gave some (§8.2: then it MUST), and otherwise by its `credential_configuration_id`.
    """
    target = {"credential_identifier": identifier} if identifier else {"credential_configuration_id": configuration_id}
    body = {**target, "proofs": {"jwt": [proof]}}
    answer = remote.send("POST", metadata.credential_endpoint, body=json.dumps(body).encode("utf-8"),
                         headers={"Content-Type": "application/json", "Authorization": f"Bearer {access_token}"})
    document = json_or_empty(answer)
    if answer.status_code == 400 and document.get("error") == "invalid_nonce":
        raise NonceRefusedError("The issuer did not accept Wallet's proof of your key.")
    if answer.status_code not in (200, 202):
        raise FetchError(f"The issuer did not issue the credential{error_reason(answer)}.")
    return _issued(document, pending=answer.status_code == 202)


def credential_identifiers(token: dict[str, Any], configuration_id: str) -> list[str]:
    """Return the `credential_identifiers` the token response's authorization_details give for a configuration.

    OID4VCI 1.0 §6.2: when the authorization used authorization_details, the token response carries them
    back, each with the identifiers of the credential datasets the wallet may request (§8.2).
    """
    found: list[str] = []
    details = token.get("authorization_details")
    for detail in details if isinstance(details, list) else []:
        if (isinstance(detail, dict) and detail.get("type") == "openid_credential"
                and detail.get("credential_configuration_id") == configuration_id
                and isinstance(detail.get("credential_identifiers"), list)):
            found.extend(i for i in detail["credential_identifiers"] if isinstance(i, str) and i)
    return found[:MAX_IDENTIFIERS]


def poll_deferred(remote: Remote, endpoint: str, access_token: str, transaction_id: str) -> Issued:
    """Ask the deferred credential endpoint once (OID4VCI §9): credentials, or still pending."""
    answer = remote.send("POST", endpoint, body=json.dumps({"transaction_id": transaction_id}).encode("utf-8"),
                         headers={"Content-Type": "application/json", "Authorization": f"Bearer {access_token}"})
    document = json_or_empty(answer)
    if answer.status_code == 202 or (answer.status_code == 400 and document.get("error") == "issuance_pending"):
        return Issued(transaction_id=transaction_id, interval=_interval(document.get("interval")))
    if answer.status_code != 200:
        raise FetchError(f"The issuer did not issue the credential it had promised{error_reason(answer)}.")
    return _issued(document, pending=False)


def _issued(document: dict[str, Any], *, pending: bool) -> Issued:
    transaction = document.get("transaction_id")
    if pending or (transaction is not None and "credentials" not in document):
        if not isinstance(transaction, str) or not transaction:
            raise FetchError("The issuer said the credential will come later but gave no transaction id.")
        return Issued(transaction_id=transaction, interval=_interval(document.get("interval")))
    entries = document.get("credentials")
    if not isinstance(entries, list) or not entries:
        raise FetchError("The issuer's answer holds no credential.")
    credentials: list[str | dict[str, Any]] = []
    for entry in entries:
        value = entry.get("credential") if isinstance(entry, dict) else None
        if not isinstance(value, (str, dict)) or not value:
            raise FetchError("The issuer's answer holds a credential Wallet cannot read.")
        credentials.append(value)
    return Issued(credentials=credentials)


def _interval(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return min(value, MAX_INTERVAL_SECONDS)
    return 5  # OID4VCI §8.3: interval is REQUIRED with transaction_id; a missing one is read as the usual 5 s


# ---------------------------------------------------------------------------------------------
# Helpers


def check_url(remote: Remote, url: str) -> None:
    """Refuse a URL an offer or metadata names unless a learner could paste it (https outside development)."""
    if not isinstance(url, str) or not url:
        raise OfferError("The offer names an address Wallet cannot read.")
    scheme = urlsplit(url).scheme.lower()
    if scheme != "https" and (remote.require_https or scheme != "http"):
        # OID4VCI §12.2.1 / §13: the issuer identifier and endpoints use https.
        raise UnsafeURLError("The offer names an address that is not https, so Wallet does not use it.")
    remote.check(url)


def _get_json(remote: Remote, url: str, what: str) -> Any:
    return _loads(remote.fetch(url, kind="json").body, what)


def _loads(data: bytes, what: str) -> Any:
    try:
        return loads_strict(data)
    except WalletError:
        raise OfferError(f"{what} is not valid JSON.") from None




def _display_name(document: Mapping[str, Any]) -> str | None:
    display = document.get("display")
    if isinstance(display, list):
        for entry in display:
            if isinstance(entry, dict) and isinstance(entry.get("name"), str) and entry["name"].strip():
                return entry["name"].strip()[:200]
    return None
