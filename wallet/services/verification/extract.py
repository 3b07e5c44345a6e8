"""Find the credential in what the learner gave: JSON, a JWT/JWS, a baked PNG or SVG, or a URL."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from wallet.services.errors import ImportRejectedError

Container = Literal["json", "jwt", "png", "svg", "url"]


class NoCredentialError(ImportRejectedError):
    """The input was read, but holds no credential."""


@dataclass
class Presented:
    """A credential as presented, before verification."""

    # The credential JSON. For a JWS/JWT: the decoded payload (NOT yet verified).
    document: dict[str, Any]
    # The exact compact JWS/JWT string, when the credential came that way.
    jws: str | None
    container: Container
    # The bytes as received (JSON text, JWT text, or the whole baked image).
    raw: bytes
    # Where it was fetched from, if it was (the original URL, before any rewrite).
    source_url: str | None = None
    # The baked image's bytes, if the credential came in one (to keep and show).
    image: bytes | None = None
    image_type: str | None = None  # "image/png" | "image/svg+xml"
