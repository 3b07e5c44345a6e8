"""Secrets kept for a provider connection, sealed at rest with a key derived from SECRET_KEY.

Fernet (AES-128-CBC with HMAC-SHA256, from `cryptography`) under a key derived by HKDF-SHA256
(RFC 5869) from the app's SECRET_KEY, with its own `info` label so the key serves nothing else.
"""
from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from wallet.services.errors import AuthenticationError

_INFO = b"wallet provider connection secrets v1"


class Sealer:
    """Seal and open the tokens and client secrets Wallet holds for a learner's connections."""

    def __init__(self, secret_key: str) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret_key.encode("utf-8"))
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def seal(self, value: str) -> str:
        """Return `value` encrypted and authenticated, as text for a column."""
        return self._fernet.encrypt(value.encode("utf-8")).decode("ascii")

    def open(self, sealed: str) -> str:
        """Return the value sealed in `sealed`; AuthenticationError if it cannot be read (the key changed)."""
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError, ValueError):
            raise AuthenticationError("Wallet can no longer read the access it was given for this provider "
                                      "(the server's secret key changed). Disconnect it and connect again.") from None
