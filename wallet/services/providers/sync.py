"""Pull every credential a connected provider holds for the learner into the wallet.

OB 3.0 §"getCredentials" (and CLR 2.0 likewise): GET <api>/credentials?limit&offset answers
`credential` (CLR: `clrCredential`) and `compactJwsString` arrays, with `X-Total-Count` and a `Link`
header (RFC 8288) naming the next page. Badge Connect 2.1: GET <apiBase>/assertions answers
`status` and `results`, paged the same way. Each credential goes through the normal import
(services/importing.py: verified, stored verbatim, idempotent), so a second sync adds nothing twice.
A page that fails stops the sync; what arrived before it is kept (each credential commits on its own).
"""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

from sqlalchemy.orm import Session

from wallet.models.provider import BADGE_CONNECT, CLR, ProviderConnection
from wallet.services import importing
from wallet.services.errors import FetchError, ImportRejectedError, WalletError
from wallet.services.providers import oauth
from wallet.services.providers.oauth import ProviderClient
from wallet.services.verification.fetching import Fetched, Kind
from wallet.services.verification.jsonutil import loads_strict

# Credentials asked for per page, and the most bytes a page may take (a credential can carry its image).
PAGE_SIZE = 20
PAGE_KIND: Kind = "any"
MAX_PAGES = 1000  # 50,000 credentials: a provider that pages for ever is stopped
# A token this close to its end is refreshed before it is used.
EXPIRY_MARGIN = timedelta(seconds=60)
_LINK = re.compile(r'<([^>]*)>\s*((?:;\s*[^;,]+)*)')


def pull(session: Session, client: ProviderClient, importer: importing.Importer, connection: ProviderConnection,
         *, now: Callable[[], datetime], on_item: Callable[[importing.ImportItem], None],
         on_total: Callable[[int], None] = lambda _total: None) -> None:
    """Import every credential the provider serves, page by page, calling `on_item` after each.

    A credential that does not verify or cannot be read is reported as rejected and the others go
    on. Raises FetchError (a page failed; the learner's words), ReconnectNeededError (tokens refused).
    Imports made by a sync do not count against the learner's import rate (the learner asked once).
    """
    importer = dataclasses.replace(importer, rate=None)
    position = 0
    for number, (items, total) in enumerate(_pages(client, connection, now)):
        if number == 0 and total is not None:
            on_total(total)
        for item in items:
            position += 1
            label = f"{connection.name} › credential {position}"
            try:
                if not isinstance(item, (dict, str)):
                    raise ImportRejectedError(f"{connection.name} sent something that is not a credential.")
                result = importing.import_paste(session, importer, item)
            except WalletError as error:
                result = importing.ImportItem(importing.REJECTED, str(error), error=type(error).__name__
                                              .removesuffix("Error") or "Error")
            result.filename = label
            on_item(result)


def _pages(client: ProviderClient, connection: ProviderConnection,
           now: Callable[[], datetime]) -> Iterator[tuple[list[Any], int | None]]:
    """Yield each page's items with the total the provider announces (X-Total-Count), if any."""
    api = connection.endpoints["api"].rstrip("/")
    path = "/assertions" if connection.kind == BADGE_CONNECT else "/credentials"
    url: str | None = f"{api}{path}?{urlencode({'limit': PAGE_SIZE, 'offset': 0})}"
    seen: set[str] = set()
    offset, number = 0, 0
    while url is not None:
        number += 1
        if number > MAX_PAGES or url in seen:
            raise FetchError(f"{connection.name} kept sending more pages; Wallet stopped after {number - 1}. "
                             "The credentials received are kept.")
        seen.add(url)
        answer = api_get(client, connection, url, now)
        if answer.status_code != 200:
            raise FetchError(f"{connection.name} answered with an error ({answer.status_code}) when Wallet asked for "
                             f"page {number} of your credentials. The credentials received before it are kept; "
                             "Wallet tries again at the next sync.")
        items = _items(connection, answer, number)
        total = answer.headers.get("x-total-count", "").strip()
        yield items, int(total) if total.isascii() and total.isdigit() else None
        offset += len(items)
        url = _next(connection, answer, api, path, offset, len(items))


def _items(connection: ProviderConnection, answer: Fetched, number: int) -> list[Any]:
    try:
        document = loads_strict(answer.body)
    except ImportRejectedError:
        document = None
    unreadable = FetchError(f"{connection.name} sent page {number} of your credentials in a form Wallet could not "
                            "read. The credentials received before it are kept; Wallet tries again at the next sync.")
    if not isinstance(document, dict):
        raise unreadable
    if connection.kind == BADGE_CONNECT:
        # Badge Connect 2.1 "getAssertions": `assertions` and `signedAssertions`; Badgr's /bc/v1: `results`.
        keys = ("assertions", "signedAssertions", "results")
    elif connection.kind == CLR:
        keys = ("clrCredential", "credential", "compactJwsString")
    else:
        keys = ("credential", "compactJwsString")
    items: list[Any] = []
    for key in keys:
        values = document.get(key, [])
        if not isinstance(values, list):
            raise unreadable
        items += values
    return items


def _next(connection: ProviderConnection, answer: Fetched, api: str, path: str, offset: int, count: int) -> str | None:
    """Return the next page's URL: the Link header's rel="next" (same origin as the API only), else by offset."""
    target = links(answer.headers.get("link", "")).get("next")
    if target is not None:
        url = urljoin(answer.final_url or answer.url, target)
        if _origin(url) != _origin(api):
            # The bearer token goes with the request: never to another server.
            raise FetchError(f"{connection.name} pointed Wallet at another server for the next page of your "
                             "credentials; Wallet stopped there. The credentials received are kept.")
        return url
    total = answer.headers.get("x-total-count", "").strip()
    if count == 0 or not (total.isascii() and total.isdigit()) or offset >= int(total):
        return None
    return f"{api}{path}?{urlencode({'limit': PAGE_SIZE, 'offset': offset})}"


def links(header: str) -> dict[str, str]:
    """Return the targets of a Link header (RFC 8288) by relation type."""
    found: dict[str, str] = {}
    for target, params in _LINK.findall(header):
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "rel":
                for relation in value.strip().strip('"').lower().split():
                    found.setdefault(relation, target.strip())
    return found


def api_get(client: ProviderClient, connection: ProviderConnection, url: str, now: Callable[[], datetime]) -> Fetched:
    """GET `url` with the connection's bearer token, refreshing it first if it is expiring, or once if refused."""
    if connection.token_expires_at is not None and connection.token_expires_at - EXPIRY_MARGIN <= now():
        refresh(client, connection, now())
    answer = _get(client, connection, url)
    if answer.status_code == 401 and connection.refresh_token:
        refresh(client, connection, now())
        answer = _get(client, connection, url)
    if answer.status_code == 401:
        raise oauth.ReconnectNeededError(f"{connection.name} no longer accepts Wallet's access. "
                                         "Disconnect it and connect again.")
    return answer


def refresh(client: ProviderClient, connection: ProviderConnection, now: datetime) -> None:
    """Get a new access token with the refresh token (RFC 6749 §6); keep a rotated refresh token."""
    if not connection.refresh_token:
        raise oauth.ReconnectNeededError(f"Wallet's access to {connection.name} has expired. "
                                         "Disconnect it and connect again.")
    sealer = client.sealer
    answer = oauth.token_request(
        client, connection.endpoints.get("refresh") or connection.endpoints["token"],
        {"grant_type": "refresh_token", "refresh_token": sealer.open(connection.refresh_token)},
        client_id=connection.client_id or "", client_secret=_secret(client, connection), provider=connection.name)
    oauth.store_tokens(connection, sealer, answer, now)


def _get(client: ProviderClient, connection: ProviderConnection, url: str) -> Fetched:
    token = client.sealer.open(connection.access_token or "")
    return client.send("GET", url, headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                       kind=PAGE_KIND)


def _secret(client: ProviderClient, connection: ProviderConnection) -> str | None:
    return client.sealer.open(connection.client_secret) if connection.client_secret else None


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port
