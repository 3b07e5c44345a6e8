"""Domain exceptions. Messages are safe to show to the person who caused them.

The root (WalletError) and the kinds the verification core raises too (ImportRejectedError,
TooLargeError, FetchError) live in verification/errors.py, which imports nothing from the wallet;
they are re-exported here, so this module names every kind wallet/errors.py maps to HTTP.
"""
from wallet.services.verification.errors import FetchError, ImportRejectedError, TooLargeError, WalletError

__all__ = [
    "AuthenticationError", "ClientMetadataError", "ConflictError", "FetchError", "ImportRejectedError",
    "ImportTimeoutError", "InsufficientScopeError", "NotFoundError", "PermissionDeniedError", "QueryParameterError",
    "QuotaExceededError", "RateLimitedError", "TooLargeError", "UnsafeURLError", "ValidationError", "WalletError",
]


class NotFoundError(WalletError):
    """The thing does not exist, or does not belong to the person asking."""


class ValidationError(WalletError):
    """Input was refused; the message says what to change."""


class QueryParameterError(ValidationError):
    """A query parameter was refused (e.g. a page size that is not a positive whole number)."""


class ClientMetadataError(ValidationError):
    """An OAuth client's registration metadata was refused; `error` is the RFC 7591 §3.2.2 code."""

    def __init__(self, message: str, error: str = "invalid_client_metadata") -> None:
        super().__init__(message)
        self.error = error


class ConflictError(WalletError):
    """The request clashes with what is stored (e.g. an address already in use)."""


class AuthenticationError(WalletError):
    """Credentials or a token were missing, wrong or revoked."""


class InsufficientScopeError(AuthenticationError):
    """The OAuth access token is good but does not carry the scope this needs (RFC 6750 §3.1)."""

    def __init__(self, message: str, scope: str) -> None:
        super().__init__(message)
        self.scope = scope


class PermissionDeniedError(WalletError):
    """The caller is known but may not do this."""


class RateLimitedError(WalletError):
    """Too many attempts; try again later. `retry_after` is the wait in seconds, when known."""

    def __init__(self, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class QuotaExceededError(WalletError):
    """The learner's wallet is full: the most credentials or evidence bytes it may hold."""


class UnsafeURLError(ImportRejectedError):
    """Private address, not http(s), bad redirect."""


class ImportTimeoutError(FetchError):
    """One import, all its fetches together, took longer than its deadline; nothing was kept."""
