"""Every exception the verification core raises. Messages are safe to show to the learner.

The core imports nothing from the rest of the wallet, so the root of the wallet's domain errors and
the kinds the core shares with the services (ImportRejectedError, TooLargeError, FetchError) are
defined here; services/errors.py re-exports them beside the wallet's own kinds, and wallet/errors.py
maps them all to HTTP. A failed check is a result, not an exception: these are for checks that could
not run, and `verify_*` turn them into an `error` or `unverifiable` result.
"""
from __future__ import annotations

from wallet.services.verification.result import Status


class WalletError(Exception):
    """Base for failures the user can understand; str(error) is shown to them."""


class ImportRejectedError(WalletError):
    """Not a credential we can read."""


class TooLargeError(ImportRejectedError):
    """A file or response is over the size limit."""


class FetchError(WalletError):
    """A remote server failed, refused or timed out."""


class RemoteError(FetchError):
    """A remote server answered with an HTTP error status."""

    def __init__(self, message: str, *, url: str, status_code: int, body: bytes | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status_code = status_code
        # What the answer carried, kept only for 410 Gone (OB 2.0: the issuer revoked it; it may send
        # the revoked assertion along). Never shown to anyone: fetched bodies are not echoed.
        self.body = body


class NoCredentialError(ImportRejectedError):
    """The input was read, but holds no credential."""


class MalformedJSONError(ImportRejectedError):
    """The text is not strict JSON; the message says what is wrong."""


class DuplicateKeyError(MalformedJSONError):
    """An object has the same key twice (RFC 8259 §4: names SHOULD be unique; docs/importing.md).

    Not a sign of forgery but of ambiguity: whatever carries it (a credential, a token, a member of
    a record) is refused whole, never verified as one reading or the other.
    """


class JoseError(WalletError):
    """A token that is malformed, refused, or whose signature does not match."""

    outcome = Status.INVALID


class UnsupportedAlgorithmError(JoseError):
    """A token signed with an algorithm Wallet cannot check (ES256K, Ed448...): not shown to be forged."""

    outcome = Status.UNVERIFIABLE


class JsonLdProblem(WalletError):
    """A document that cannot be processed as JSON-LD safely; the message says why."""


class KeyResolutionError(WalletError):
    """The key could not be obtained; `outcome` is INVALID for malformed or wrong keys, else UNVERIFIABLE."""

    def __init__(self, message: str, outcome: Status = Status.UNVERIFIABLE) -> None:
        super().__init__(message)
        self.outcome = outcome


class MultibaseError(WalletError):
    """A multibase string or multicodec key that cannot be decoded."""


class StatusListError(Exception):
    """The status list could not be used; the message says why, in plain words."""
