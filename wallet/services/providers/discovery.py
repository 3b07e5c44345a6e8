"""Read a provider's discovery document: what API it serves, and where Wallet registers, asks and pulls.

The document is untrusted input (docs/security.md group A): it is fetched through the guarded
fetcher (size cap, address rules), parsed strictly, and every URL it names is checked like a URL a
learner pasted before anything is stored or sent to it.

- OB 3.0 (https://www.imsglobal.org/spec/ob/v3p0/#service-discovery) and CLR 2.0: the Service
  Description Document, an OpenAPI 3.0 document at <base>/ims/ob/v3p0/discovery (or
  /ims/clr/v2p0/discovery); its `OAuth2ACG` security scheme names `x-imssf-registrationUrl` and the
  authorization code flow's `authorizationUrl`, `tokenUrl` and `refreshUrl`; `servers[0].url` is the
  API's base.
- Badge Connect 2.1 (OB 2.1 Badge Connect API, "Manifest"): /.well-known/badgeconnect.json with a
  `badgeConnectAPI` list whose entry names `registrationUrl`, `authorizationUrl`, `tokenUrl`,
  `apiBase` and `scopesOffered`.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from wallet.models.provider import BADGE_CONNECT, CLR, OB3
from wallet.services.errors import FetchError, ImportRejectedError, UnsafeURLError, WalletError
from wallet.services.verification.errors import RemoteError
from wallet.services.verification.fetching import Fetch
from wallet.services.verification.jsonutil import loads_strict

OB3_DISCOVERY = "/ims/ob/v3p0/discovery"
CLR_DISCOVERY = "/ims/clr/v2p0/discovery"
BADGE_CONNECT_MANIFEST = "/.well-known/badgeconnect.json"
# Where each kind serves its document, in the order they are tried for a base URL.
DOCUMENTS = ((OB3, OB3_DISCOVERY), (CLR, CLR_DISCOVERY), (BADGE_CONNECT, BADGE_CONNECT_MANIFEST))

# The read scopes Wallet asks for (OB 3.0 §"Scopes", CLR 2.0 §"Scopes", Badge Connect 2.1 "Scopes").
SCOPES: dict[str, tuple[str, ...]] = {
    OB3: ("https://purl.imsglobal.org/spec/ob/v3p0/scope/credential.readonly",
          "https://purl.imsglobal.org/spec/ob/v3p0/scope/profile.readonly"),
    CLR: ("https://purl.imsglobal.org/spec/clr/v2p0/scope/credential.readonly",
          "https://purl.imsglobal.org/spec/clr/v2p0/scope/profile.readonly"),
    BADGE_CONNECT: ("https://purl.imsglobal.org/spec/ob/v2p1/scope/assertion.readonly",
                    "https://purl.imsglobal.org/spec/ob/v2p1/scope/profile.readonly"),
}
KIND_NAMES = {OB3: "Open Badges 3.0", CLR: "CLR 2.0", BADGE_CONNECT: "Badge Connect (Open Badges 2.1)"}
MAX_NAME_CHARS = 200
# The endpoints a connection needs, as named in `Discovery.endpoints`.
REQUIRED = ("registration", "authorization", "token", "api")
_LABELS = {"registration": "registration", "authorization": "authorization", "token": "token",
           "refresh": "token refresh", "revocation": "token revocation", "api": "API"}
_NOT_FOUND_STATUSES = frozenset({400, 401, 403, 404, 405, 406, 410})


@dataclass(frozen=True)
class Discovery:
    """What a provider's discovery document says, every URL in it checked."""

    kind: str
    name: str
    discovery_url: str
    endpoints: dict[str, str] = field(default_factory=dict)
    scopes_offered: tuple[str, ...] = ()

    @property
    def scopes(self) -> tuple[str, ...]:
        return SCOPES[self.kind]


def candidates(url: str) -> list[tuple[str, str]]:
    """Return the (kind, URL) of the documents to try for what the learner typed: a base or a discovery URL."""
    text = (url or "").strip()
    path = urlsplit(text).path.rstrip("/")
    for kind, suffix in DOCUMENTS:
        if path.endswith(suffix):
            return [(kind, text)]
    base = text.split("?", 1)[0].split("#", 1)[0].rstrip("/")
    return [(kind, base + suffix) for kind, suffix in DOCUMENTS]


def discover(fetch: Fetch, check: Callable[[str], None], url: str, *, require_https: bool) -> Discovery:
    """Fetch and read the provider's discovery document for `url`; check every URL it names.

    Raises UnsafeURLError (the address, or one the document names, is not allowed), ImportRejectedError
    (no usable document) or FetchError (the provider could not be reached).
    """
    url = (url or "").strip()
    if not url:
        raise ImportRejectedError("Enter the address of the provider.")
    if "://" not in url:
        url = "https://" + url  # "college.example.org" as typed
    _check_url(check, url, "", require_https=require_https, given=True)
    tried = []
    for kind, candidate in candidates(url):
        try:
            fetched = fetch(candidate, kind="json")
        except RemoteError as error:
            if error.status_code in _NOT_FOUND_STATUSES:
                tried.append(candidate)
                continue
            raise
        try:
            document = loads_strict(fetched.body)
        except ImportRejectedError:
            raise ImportRejectedError(f"The document at {candidate} is not valid JSON, so Wallet cannot "
                                      "read what the provider offers.") from None
        if not isinstance(document, dict):
            raise ImportRejectedError(f"The document at {candidate} is not a discovery document.")
        reader = _read_badge_connect if kind == BADGE_CONNECT else _read_service_description
        discovery = reader(kind, document, fetched.final_url or candidate)
        if "revocation" not in discovery.endpoints:
            revocation = _advertised_revocation(fetch, discovery.endpoints["token"])
            if revocation is not None:
                discovery.endpoints["revocation"] = revocation
        for name, endpoint in discovery.endpoints.items():
            _check_url(check, endpoint, name, require_https=require_https)
        return discovery
    host = urlsplit(url).hostname or url
    raise ImportRejectedError(f"No Open Badges 3.0, CLR 2.0 or Badge Connect service was found at {host}. "
                              "Check the address the provider gave you.")


def _read_service_description(kind: str, document: Mapping[str, Any], source: str) -> Discovery:
    """Read an OB 3.0 / CLR 2.0 Service Description Document (OpenAPI 3.0)."""
    info = document.get("info")
    schemes = (document.get("components") or {}).get("securitySchemes") if isinstance(
        document.get("components"), dict) else None
    if not isinstance(info, dict) or not isinstance(schemes, dict):
        raise _malformed(source, "it has no `info` or no security schemes")
    scheme = schemes.get("OAuth2ACG")
    if not isinstance(scheme, dict):
        scheme = next((each for each in schemes.values() if isinstance(each, dict) and each.get("type") == "oauth2"
                       and isinstance((each.get("flows") or {}).get("authorizationCode"), dict)), None)
    flow = (scheme.get("flows") or {}).get("authorizationCode") if isinstance(scheme, dict) else None
    if not isinstance(flow, dict):
        raise _malformed(source, "it offers no OAuth 2.0 authorization code flow")
    servers = document.get("servers")
    server = servers[0].get("url") if isinstance(servers, list) and servers and isinstance(servers[0], dict) else None
    endpoints = {
        "registration": scheme.get("x-imssf-registrationUrl"),
        "authorization": flow.get("authorizationUrl"),
        "token": flow.get("tokenUrl"),
        "refresh": flow.get("refreshUrl") or flow.get("tokenUrl"),
        "api": _api_base(kind, urljoin(source, server)) if isinstance(server, str) else None,
    }
    name = info.get("x-imssf-name") or info.get("title")
    scopes = flow.get("scopes")
    return Discovery(kind, _name(name, source), source, _strings(endpoints, source),
                     tuple(scope for scope in scopes if isinstance(scope, str)) if isinstance(scopes, dict) else ())


def _api_base(kind: str, server: str) -> str:
    """Return the API's base: the OpenAPI server URL, under which the paths begin /ims/ob/v3p0 (or /ims/clr/v2p0)."""
    prefix = (OB3_DISCOVERY if kind == OB3 else CLR_DISCOVERY).removesuffix("/discovery")
    base = server.split("?", 1)[0].split("#", 1)[0].rstrip("/")
    return base if base.endswith(prefix) else base + prefix


def _read_badge_connect(kind: str, document: Mapping[str, Any], source: str) -> Discovery:
    """Read a Badge Connect manifest: the first entry of its `badgeConnectAPI` list."""
    apis = document.get("badgeConnectAPI")
    api = apis[0] if isinstance(apis, list) and apis else None
    if not isinstance(api, dict):
        raise _malformed(source, "it has no `badgeConnectAPI` entry")
    endpoints = {"registration": api.get("registrationUrl"), "authorization": api.get("authorizationUrl"),
                 "token": api.get("tokenUrl"), "refresh": api.get("tokenUrl"), "api": api.get("apiBase")}
    # Badge Connect 2.1 names it tokenRevocationUrl (RFC 7009); some manifests say revocationUrl.
    revocation = api.get("tokenRevocationUrl", api.get("revocationUrl"))
    if revocation is not None:
        endpoints["revocation"] = revocation
    offered = api.get("scopesOffered")
    return Discovery(kind, _name(api.get("name"), source), source, _strings(endpoints, source),
                     tuple(scope for scope in offered if isinstance(scope, str)) if isinstance(offered, list) else ())


def _advertised_revocation(fetch: Fetch, token_url: str) -> str | None:
    """Return the revocation endpoint the token endpoint's server publishes in its metadata, if any.

    OB 3.0 §7 ("Dynamic Client Registration") says a client and server that support revocation share
    its endpoint, and the Service Description Document has no field for it; RFC 8414 §3 metadata at
    <origin>/.well-known/oauth-authorization-server names it as `revocation_endpoint`. Only one on
    the token endpoint's own origin is taken; it is checked with the others.
    """
    parts = urlsplit(token_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    try:
        document = loads_strict(fetch(origin + "/.well-known/oauth-authorization-server", kind="json").body)
    except WalletError:
        return None  # no metadata: the provider offers no revocation Wallet knows of
    endpoint = document.get("revocation_endpoint") if isinstance(document, dict) else None
    if not isinstance(endpoint, str) or urlsplit(endpoint).netloc.lower() != parts.netloc.lower() \
            or urlsplit(endpoint).scheme.lower() != parts.scheme.lower():
        return None
    return endpoint


def _strings(endpoints: Mapping[str, Any], source: str) -> dict[str, str]:
    for name in REQUIRED:
        if not isinstance(endpoints.get(name), str) or not endpoints[name].strip():
            raise _malformed(source, f"it names no {_LABELS[name]} address")
    for name, value in endpoints.items():
        if value is not None and not isinstance(value, str):
            raise _malformed(source, f"its {_LABELS[name]} address is not text")
    return {name: value.strip() for name, value in endpoints.items() if isinstance(value, str)}


def _name(value: Any, source: str) -> str:
    text = " ".join(value.split())[:MAX_NAME_CHARS] if isinstance(value, str) else ""
    return text or (urlsplit(source).hostname or "the provider")


def _check_url(check: Callable[[str], None], url: str, name: str, *, require_https: bool,
               given: bool = False) -> None:
    """Refuse a URL the guarded fetcher would refuse, or one not https where tokens will travel."""
    what = "That address" if given else f"The {_LABELS[name]} address in the provider's discovery document"
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ("http", "https") or (require_https and scheme != "https"):
        raise UnsafeURLError(f"{what} is not an https address, so Wallet will not use it. Nothing was saved.")
    try:
        check(url)
    except UnsafeURLError:
        raise UnsafeURLError(f"{what} points at a private or local network address, which Wallet does not "
                             "contact. Nothing was saved.") from None
    except FetchError:
        raise FetchError(f"{what} could not be found ({urlsplit(url).hostname}). Nothing was saved.") from None


def _malformed(source: str, reason: str) -> ImportRejectedError:
    return ImportRejectedError(f"The provider's discovery document at {source} cannot be used: {reason}.")
