"""Wallet as a VC-API exchange client: receive credentials the way the DCC Learner Credential Wallet does.

VC-API, "Participate in an exchange" (https://w3c-ccg.github.io/vc-api/): the wallet POSTs `{}` to
the exchange URL; the exchange answers either with the credentials at once
(`{"verifiablePresentation": ...}`) or with a Verifiable Presentation Request
(`{"verifiablePresentationRequest": {"query": [{"type": "DIDAuthentication", ...}], "challenge",
"domain"}}`, VP Request Spec §"DID Authentication"). The wallet answers that request by POSTing
`{"verifiablePresentation": <VP>}` to the same URL, the VP signed by the learner's wallet key for
proofPurpose `authentication` with the exchange's challenge and domain (services/presentations.py);
the exchange then answers with a VP holding the credentials issued to that DID.

What the learner may paste or scan (the LCW's forms, app.config.ts `LinkConfig` and
lib/walletRequestApi.ts):
- the exchange URL itself (https);
- a deep link `dccrequest://request?request=<JSON>`, `org.dcconsortium://request?request=<JSON>` or
  `https://lcw.app/request?request=<JSON>` whose JSON is an exchange invitation
  `{"protocols": {"vcapi": "<exchange URL>"}, "credentialRequestOrigin": ...}`;
- that invitation JSON on its own.

Everything the exchange sends is untrusted: every request goes through the guarded fetcher's
`send` (no redirects, size caps, deadlines, no private addresses unless ALLOW_PRIVATE_NETWORK),
URLs must be https (outside development), at most MAX_ROUNDS requests are answered, and only a
DIDAuthentication request is signed: the domain it names must be the exchange's own host, so an
exchange cannot have the learner sign a login for another site. Each credential goes through the
ordinary importer (verified, stored verbatim); one issued to someone else is refused.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy.orm import Session

from wallet.models.credential import RECIPIENT_MISMATCH
from wallet.services import importing, presentations
from wallet.services.errors import FetchError, ImportRejectedError, UnsafeURLError, ValidationError, WalletError
from wallet.services.providers.oauth import Send
from wallet.services.results import recipient_state
from wallet.services.verification import values
from wallet.services.verification.errors import MalformedJSONError
from wallet.services.verification.fetching import Fetched
from wallet.services.verification.jsonutil import loads_strict
from wallet.services.verification.result import VerificationResult

# LCW app.config.ts LinkConfig.schemes.customProtocol: the prefixes of a deep link to an exchange.
# DCC transaction-service (exchanges.ts getProtocols) hands out https://lcw.app/request.html?… links.
DEEP_LINK_PREFIXES = ("dccrequest://request?", "org.dcconsortium://request?", "https://lcw.app/request?",
                      "https://lcw.app/request.html?")
# VP Request Spec `interact.service` types naming where the answer goes (DCC presentationRequest.ts).
REPLY_SERVICES = frozenset({"VerifiableCredentialApiExchangeService", "UnmediatedPresentationService2021",
                            "UnmediatedHttpPresentationService2021"})
# An exchange that refuses the VC-API body `{"verifiablePresentation": VP}` with one of these gets the bare VP
# once more (DCC transaction-service verifies the request body itself as the presentation).
_RETRY_BARE = frozenset({400, 401, 422})
JSON_TYPE = "application/json"
# An exchange asks once for DID authentication; a few more rounds allow a chained request, no more.
MAX_ROUNDS = 3
MAX_CREDENTIALS = 20
MAX_LINK_CHARS = 8192
DEFAULT_DEADLINE_SECONDS = 45.0
DID_AUTHENTICATION = "DIDAuthentication"
# VP Request Spec, DIDAuthentication acceptedMethods / acceptedCryptosuites: what Wallet's key can give.
OUR_METHODS = frozenset({"key"})
OUR_CRYPTOSUITES = frozenset({"eddsa-rdfc-2022"})
_ENVELOPED_PREFIXES = ("data:application/vc+jwt,", "data:application/jwt,")


@dataclass(frozen=True)
class ExchangeClient:
    """What talking to an exchange needs: the guarded fetcher's send and URL check, the rules in force."""

    send: Send
    check: Callable[[str], None]
    require_https: bool = True
    deadline_seconds: float = DEFAULT_DEADLINE_SECONDS


@dataclass
class Received:
    """What an exchange gave: the credentials stored, and those refused with why.

    Shaped like the OID4VCI client's result (`items`, `issuer_name`, `job`, `authorize_url`, `pending`), so the
    Add page's offer tab and `POST /api/v1/offers` answer an exchange as they answer an offer.
    """

    exchange_url: str
    host: str
    items: list[importing.ImportItem] = field(default_factory=list)
    refused: list[importing.ImportItem] = field(default_factory=list)
    job: None = None
    authorize_url: None = None
    pending: None = None

    @property
    def issuer_name(self) -> str:
        return self.host


# ---------------------------------------------------------------------------------------------
# What the learner pasted


def is_exchange_link(text: str | None) -> bool:
    """Tell whether `text` names a VC-API exchange rather than an OID4VCI credential offer.

    An LCW deep link or exchange invitation always does; an http(s) URL does unless it carries an
    OID4VCI offer (`credential_offer` or `credential_offer_uri`, OID4VCI 1.0 §4.1), so the Add page
    and `POST /api/v1/offers` can send each offer to its own client.
    """
    text = (text or "").strip()
    if text.startswith(DEEP_LINK_PREFIXES) or (text.startswith("{") and '"protocols"' in text):
        return True
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return False
    return not {"credential_offer", "credential_offer_uri"} & set(parse_qs(parts.query))


@dataclass(frozen=True)
class ExchangeLink:
    """Where to start: the exchange URL, and the challenge when a direct LCW link already gives one."""

    url: str
    challenge: str | None = None
    interaction: bool = False


def exchange_url(text: str | None) -> str:
    """Return the exchange URL that `text` (a URL, an LCW deep link or an invitation) names."""
    return read_link(text).url


def read_link(text: str | None) -> ExchangeLink:
    """Read what the learner gave: a URL, an LCW deep link or an invitation; ImportRejectedError if none."""
    text = (text or "").strip()
    if not text:
        raise ImportRejectedError("Paste the exchange link, or scan its QR code.")
    if len(text) > MAX_LINK_CHARS:
        raise ImportRejectedError("That link is too long to be an exchange link.")
    if text.startswith(DEEP_LINK_PREFIXES):
        params = parse_qs(text.split("?", 1)[1])
        # LCW walletRequestApi.ts parseWalletApiUrl: the `request` query parameter holds the message.
        if params.get("request"):
            return ExchangeLink(_invitation_url(params["request"][0]))
        # LCW credentialRequest.ts: `vc_request_url` (+ `challenge`, `auth_type=bearer`) is the older direct
        # link: the DIDAuth presentation goes straight to that URL with the link's challenge.
        if params.get("vc_request_url"):
            if params.get("auth_type", ["bearer"])[0] != "bearer":
                raise ImportRejectedError("This wallet link asks for a kind of sign-in Wallet does not support.")
            challenge = params.get("challenge", [None])[0]
            return ExchangeLink(params["vc_request_url"][0].strip(), challenge)
        raise ImportRejectedError("This wallet link holds no request, so there is nothing to receive.")
    if text.startswith("{"):
        return ExchangeLink(_invitation_url(text))
    # VC-API "Interaction URL format": `iuv` marks a URL that answers the protocols object when asked for JSON.
    return ExchangeLink(text, interaction="iuv" in parse_qs(urlsplit(text).query))


def _invitation_url(message: str) -> str:
    try:
        invitation = loads_strict(message.encode("utf-8"))
    except (MalformedJSONError, ImportRejectedError):
        raise ImportRejectedError("The request in this link could not be read.") from None
    return _vcapi_url(invitation)


def _vcapi_url(invitation: Any) -> str:
    protocols = invitation.get("protocols") if isinstance(invitation, dict) else None
    # LCW IExchangeInvitation / VC-API interaction URL: {"protocols": {"vcapi": "<exchange URL>", ...}}.
    url = protocols.get("vcapi") if isinstance(protocols, dict) else None
    if not isinstance(url, str) or not url.strip():
        raise ImportRejectedError("This link does not name a VC-API exchange, so Wallet cannot receive from it.")
    return url.strip()


# ---------------------------------------------------------------------------------------------
# The exchange


def receive(session: Session, importer: importing.Importer, client: ExchangeClient, text: str, *,
            secret_key: str) -> Received:
    """Take part in the exchange `text` names and import every credential it gives the learner.

    Raises UnsafeURLError (refused address), ImportRejectedError (not an exchange Wallet can answer,
    or no credential it sent could be kept: the first reason), FetchError (the exchange failed or ran
    out of time). When some are kept, those refused are reported in `refused`.
    """
    link = read_link(text)
    importing.check_import_rate(importer)
    ends_at = time.monotonic() + client.deadline_seconds
    if link.interaction:
        link = ExchangeLink(_interaction(client, link.url, ends_at))
    url = link.url
    host = _check_url(client, url)
    key = presentations.learner_key(session, importer.owner_id, secret_key=secret_key)
    # The learner asked once: the credentials it brings do not count one by one. Only credentials
    # issued to this learner are kept (the exchange knows the learner only by the wallet DID).
    importer = dataclasses.replace(importer, rate=None, recipients=[*importer.recipients, key.did],
                                   accept=functools.partial(_issued_to_learner, key.did))

    def present(reply_url: str, challenge: str, domain: str) -> dict[str, Any]:
        presentation = presentations.answer_challenge(session, importer.owner_id, [], challenge=challenge,
                                                      domain=domain, secret_key=secret_key, blobs=importer.blobs)
        document = presentation.document
        answer = _send(client, reply_url, host, {"verifiablePresentation": document}, ends_at)
        if answer.status_code in _RETRY_BARE:
            answer = _send(client, reply_url, host, document, ends_at)
        return _read_answer(answer, host)

    if link.challenge is not None:
        challenge = _clean(link.challenge, "challenge", f"The link to {host} cannot be answered")
        # The direct link names no domain: the proof is bound to the site it is sent to.
        answer = present(url, challenge, _origin(url))
    else:
        answer = _read_answer(_send(client, url, host, {}, ends_at), host)
    for _round in range(MAX_ROUNDS):
        offered = _offered(answer)
        if offered is not None:
            return _import_all(session, importer, url, host, offered)
        request = _request_in(answer)
        if request is None:
            break
        challenge, domain, reply_url = _read_request(request, url, host)
        answer = present(reply_url, challenge, domain)
    raise ImportRejectedError(f"The exchange at {host} sent no credentials, so nothing was added.")


def _interaction(client: ExchangeClient, url: str, ends_at: float) -> str:
    """Return the VC-API exchange URL an interaction URL names (GET as JSON: `{"protocols": {"vcapi": …}}`)."""
    host = _check_url(client, url)
    if time.monotonic() >= ends_at:
        raise FetchError(f"The exchange at {host} took too long, so nothing was added. Please try again later.")
    try:
        answer = client.send("GET", url, headers={"Accept": JSON_TYPE}, kind="json")
    except FetchError as error:
        raise FetchError(f"The exchange at {host} could not be reached or did not answer in time, so nothing "
                         f"was added. ({error})") from None
    return _vcapi_url(_read_answer(answer, host))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def _request_in(answer: dict[str, Any]) -> Any:
    """Return the Verifiable Presentation Request an answer holds, or None."""
    if "verifiablePresentationRequest" in answer:
        return answer["verifiablePresentationRequest"]
    # The DCC transaction-service answers the request itself, not wrapped (presentationRequest.ts getDIDAuthVPR).
    if "query" in answer and ("challenge" in answer or "interact" in answer):
        return answer
    return None


def _offered(answer: dict[str, Any]) -> list[Any] | None:
    """Return the credentials an exchange's answer offers, or None when it offers none."""
    # VC-API: {"verifiablePresentation": VP}; DCC transaction-service wraps it once more in "response".
    for holder in (answer, answer.get("response")):
        if isinstance(holder, dict) and isinstance(holder.get("verifiablePresentation"), dict):
            return values.as_list(holder["verifiablePresentation"].get("verifiableCredential"))
    types = values.as_list(answer.get("type"))
    # LCW credentialRequest.ts: a direct link's answer may be the presentation or the credential itself.
    if "VerifiablePresentation" in types:
        return values.as_list(answer.get("verifiableCredential"))
    if "VerifiableCredential" in types:
        return [answer]
    return None


def _check_url(client: ExchangeClient, url: str) -> str:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or (client.require_https and scheme != "https") or not parts.hostname:
        raise UnsafeURLError("The exchange link is not an https address, so Wallet will not use it. Nothing was added.")
    try:
        client.check(url)
    except UnsafeURLError:
        raise UnsafeURLError("The exchange link points at a private or local network address, which Wallet does "
                             "not contact. Nothing was added.") from None
    return parts.hostname


def _send(client: ExchangeClient, url: str, host: str, payload: dict[str, Any], ends_at: float) -> Fetched:
    if time.monotonic() >= ends_at:
        raise FetchError(f"The exchange at {host} took too long (over {client.deadline_seconds:g} seconds), "
                         "so nothing was added. Please try again later.")
    try:
        # "any": the last answer carries whole credentials, images included (up to the fetcher's cap).
        return client.send("POST", url, headers={"Content-Type": JSON_TYPE, "Accept": JSON_TYPE},
                           body=json.dumps(payload).encode("utf-8"), kind="any")
    except FetchError as error:
        raise FetchError(f"The exchange at {host} could not be reached or did not answer in time, so nothing "
                         f"was added. ({error})") from None
    except WalletError as error:
        raise FetchError(f"The exchange at {host} could not be used: {error}") from None


def _read_answer(answer: Fetched, host: str) -> dict[str, Any]:
    if not 200 <= answer.status_code < 300:
        raise FetchError(f"The exchange at {host} refused the request (HTTP {answer.status_code}), "
                         "so nothing was added. The link may have expired or been used already.")
    try:
        document = loads_strict(answer.body)
    except (MalformedJSONError, ImportRejectedError):
        document = None
    if not isinstance(document, dict):
        raise ImportRejectedError(f"The exchange at {host} answered with something that is not a VC-API "
                                  "message, so nothing was added.")
    return document


def _read_request(request: Any, url: str, host: str) -> tuple[str, str, str]:
    """Return the challenge, domain and reply URL of a DIDAuthentication request Wallet can answer."""
    malformed = f"The exchange at {host} sent a presentation request Wallet cannot answer"
    if not isinstance(request, dict):
        raise ImportRejectedError(f"{malformed}: it is not a JSON object. Nothing was added.")
    queries = values.as_list(request.get("query"))
    types = [query.get("type") for query in queries if isinstance(query, dict)]
    if not types or len(types) != len(queries):
        raise ImportRejectedError(f"{malformed}: it holds no query. Nothing was added.")
    if any(kind != DID_AUTHENTICATION for kind in types):
        # Receiving signs a proof of the learner's DID only; sharing credentials is Present's (with consent).
        raise ImportRejectedError(f"{malformed}: it asks for more than proof of your wallet key "
                                  f"({', '.join(sorted({str(t) for t in types if t != DID_AUTHENTICATION}))}). "
                                  "Nothing was sent or added.")
    for query in queries:
        _check_accepted(query, "acceptedMethods", "method", OUR_METHODS, malformed, "DID method")
        _check_accepted(query, "acceptedCryptosuites", "cryptosuite", OUR_CRYPTOSUITES, malformed, "signature suite")
    challenge = _clean(request.get("challenge"), "challenge", malformed)
    domain = _clean(request.get("domain"), "domain", malformed) if request.get("domain") is not None else None
    if domain is None or not _is_own_domain(domain, host):
        # The signed proof logs the learner in at `domain`: only the exchange's own host may ask for it.
        raise ImportRejectedError(f"{malformed}: it asks for a proof for another site ({domain or 'none named'}), "
                                  "not for itself. Nothing was sent or added.")
    return challenge, domain, _reply_url(request, url)


def _clean(value: Any, what: str, malformed: str) -> str:
    try:
        cleaned = presentations.clean_option(_text(value), what)
    except ValidationError as error:
        raise ImportRejectedError(f"{malformed}: {error} Nothing was added.") from None
    if cleaned is None:
        # VC-DI §2.1: a proof without the verifier's challenge could be replayed anywhere.
        raise ImportRejectedError(f"{malformed}: it has no {what}. Nothing was added.")
    return cleaned


def _reply_url(request: dict[str, Any], url: str) -> str:
    """Return where the answer goes: the request's own exchange service on the same origin, else the exchange URL."""
    interact = request.get("interact")
    services = values.as_list(interact.get("service")) if isinstance(interact, dict) else []
    for service in services:
        endpoint = service.get("serviceEndpoint") if isinstance(service, dict) else None
        if (service.get("type") in REPLY_SERVICES and isinstance(endpoint, str)  # type: ignore[union-attr]
                and _origin(endpoint) == _origin(url)):
            return endpoint
    return url


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) or value is None else "\x00"


def _check_accepted(query: dict[str, Any], name: str, member: str, ours: frozenset[str], malformed: str,
                    what: str) -> None:
    accepted = query.get(name)
    if accepted is None:
        return
    offered = {entry.get(member) for entry in values.as_list(accepted) if isinstance(entry, dict)}
    if not offered & ours:
        raise ImportRejectedError(f"{malformed}: it accepts no {what} Wallet's key can use "
                                  f"({', '.join(sorted(ours))}). Nothing was added.")


def _is_own_domain(domain: str, host: str) -> bool:
    # VP Request Spec: the domain names the requester, as a host name or an origin.
    named = urlsplit(domain).hostname if "://" in domain else domain.split(":", 1)[0]
    return (named or "").lower() == host.lower()


def _import_all(session: Session, importer: importing.Importer, url: str, host: str,
                credentials: list[Any]) -> Received:
    if not credentials:
        raise ImportRejectedError(f"The exchange at {host} sent a presentation with no credentials in it, "
                                  "so nothing was added.")
    if len(credentials) > MAX_CREDENTIALS:
        raise ImportRejectedError(f"The exchange at {host} sent more than {MAX_CREDENTIALS} credentials at once, "
                                  "so nothing was added.")
    received = Received(exchange_url=url, host=host)
    for position, credential in enumerate(credentials, start=1):
        try:
            item = importing.import_paste(session, importer, _unwrap(credential, host))
        except WalletError as error:
            item = importing.ImportItem(importing.REJECTED, str(error),
                                        error=type(error).__name__.removesuffix("Error") or "Error")
        item.filename = f"{host} › credential {position}"
        (received.items if item.credential is not None else received.refused).append(item)
    if not received.items:
        # Like a single import: nothing kept is an error the learner reads (the first reason).
        raise ImportRejectedError(received.refused[0].message)
    return received


def _unwrap(credential: Any, host: str) -> str | dict[str, Any]:
    """Return a credential of a presentation as the importer takes it (JSON, or an enveloped JWT's token)."""
    if isinstance(credential, str):
        return credential
    if isinstance(credential, dict):
        # VC-JOSE-COSE §3.3: an EnvelopedVerifiableCredential carries the JWT in a data: URL.
        identifier = credential.get("id")
        if "EnvelopedVerifiableCredential" in values.as_list(credential.get("type")) and isinstance(identifier, str):
            for prefix in _ENVELOPED_PREFIXES:
                if identifier.startswith(prefix):
                    return identifier.removeprefix(prefix)
        return credential
    raise ImportRejectedError(f"The exchange at {host} sent something that is not a credential.")


def _issued_to_learner(did: str, result: VerificationResult) -> None:
    """Refuse a credential the exchange issued to someone else: the learner authenticated as their wallet DID.

    The exchange learnt the learner only as `did` (the DIDAuth presentation's holder), so a subject
    naming another DID is not theirs, whatever else it names; nor is one whose recipient does not match.
    """
    subjects = values.as_list((result.credential or {}).get("credentialSubject"))
    others = sorted({s["id"] for s in subjects if isinstance(s, dict) and isinstance(s.get("id"), str)
                     and s["id"].startswith("did:") and s["id"] != did})
    if others or recipient_state(result) == RECIPIENT_MISMATCH:
        named = f" ({others[0]})" if others else ""
        raise ImportRejectedError(f"The exchange sent a credential issued to someone else{named}, not to your "
                                  "wallet key, so it was not added.")
