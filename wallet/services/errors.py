"""Domain exceptions. Messages are safe to show to the person who caused them."""


class WalletError(Exception):
    """Base for failures the user can understand; str(error) is shown to them."""


class NotFoundError(WalletError):
    """The thing does not exist, or does not belong to the person asking."""


class ValidationError(WalletError):
    """Input was refused; the message says what to change."""


class ConflictError(WalletError):
    """The request clashes with what is stored (e.g. an address already in use)."""


class AuthenticationError(WalletError):
    """Credentials or a token were missing, wrong or revoked."""


class PermissionDeniedError(WalletError):
    """The caller is known but may not do this."""


class RateLimitedError(WalletError):
    """Too many attempts; try again later. `retry_after` is the wait in seconds, when known."""

    def __init__(self, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class QuotaExceededError(WalletError):
    """The learner's wallet is full: the most credentials or evidence bytes it may hold."""


class ImportRejectedError(WalletError):
    """Not a credential we can read."""


class UnsafeURLError(ImportRejectedError):
    """Private address, not http(s), bad redirect."""


class TooLargeError(ImportRejectedError):
    """A file or response is over the size limit."""


class FetchError(WalletError):
    """A remote server failed, refused or timed out."""


class ImportTimeoutError(FetchError):
    """One import, all its fetches together, took longer than its deadline; nothing was kept."""
