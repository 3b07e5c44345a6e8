"""What the test issuer keeps: offers, pre-authorized codes, access tokens (grants), deferred transactions and
the credentials it issued."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from tests.support.issuer.formats import Holder


@dataclass
class Offer:
    """A Credential Offer as made: its document, and the URI a wallet is given (by value or by reference)."""

    document: dict[str, Any]
    uri: str  # openid-credential-offer://?credential_offer=... or ...?credential_offer_uri=...
    reference_url: str | None  # the https(-ish) URL serving the offer when it is by reference
    pre_authorized_code: str | None
    issuer_state: str | None
    tx_code: str | None


@dataclass
class PreAuthorized:
    configuration_ids: tuple[str, ...]
    tx_code: str | None
    attempts: int = 0
    used: bool = False
    burnt: bool = False


@dataclass
class Grant:
    """An access token and the credential configurations it may obtain."""

    access_token: str
    configuration_ids: tuple[str, ...]
    flow: str  # "pre-authorized_code" or "authorization_code"
    expires_in: int
    # OID4VCI 1.0 §6.2: credential_identifiers returned in the token's authorization_details, each naming its
    # configuration; when there are any, the credential request must use credential_identifier.
    identifiers: dict[str, str] = field(default_factory=dict)
    issued_at: float = field(default_factory=time.time)

    def is_expired(self) -> bool:
        return time.time() >= self.issued_at + self.expires_in


@dataclass
class Issued:
    """A credential the issuer signed, for whom, and where its status is (SD-JWT VCs with a status list)."""

    configuration_id: str
    credential: str | dict[str, Any]
    holder: Holder
    status_index: int | None = None


@dataclass
class Deferred:
    """A credential request answered 202: the wallet polls for it with the same access token (OID4VCI 1.0 §9)."""

    access_token: str
    configuration_id: str
    holders: list[Holder]
    polls_left: int
    delivered: bool = False


@dataclass
class PathFault:
    fault: str  # "500", "bad_json", "slow" or "hang"
    times: int | None
