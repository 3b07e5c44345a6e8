"""Multibase and multicodec: the encodings of did:key, Multikey and status lists.

Multibase (draft-multiformats-multibase): a one-character prefix names the base: `z` is
base58btc (keys, proof values), `u` is base64url without padding (Bitstring Status List).
Multicodec: a varint prefix names the key type of the bytes that follow.
"""
from __future__ import annotations

import base64
import binascii
import re

import base58

from wallet.services.verification.errors import MultibaseError

# Multicodec table (https://github.com/multiformats/multicodec/blob/master/table.csv),
# as unsigned varints: 0xed -> ed 01, 0x1200 -> 80 24.
ED25519_PUB = b"\xed\x01"
P256_PUB = b"\x80\x24"
ED25519_KEY_LENGTH = 32
P256_COMPRESSED_LENGTH = 33
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


def base58btc_encode(data: bytes) -> str:
    """Encode bytes as multibase base58btc (`z…`)."""
    return "z" + base58.b58encode(data).decode("ascii")


def base58btc_decode(value: str) -> bytes:
    """Decode a multibase base58btc string (`z…`)."""
    if not isinstance(value, str) or not value.startswith("z") or len(value) < 2:
        raise MultibaseError("The value is not base58btc multibase (it must start with 'z').")
    return base58_decode(value[1:])


def base58_decode(value: str) -> bytes:
    """Decode plain base58 (bitcoin alphabet), as in Ed25519VerificationKey2018 `publicKeyBase58`."""
    # base58.b58decode, with the number turned into bytes by int.to_bytes instead of a Python loop
    # of divmod by 256 (a third of a signature's decoding time); the same bytes.
    try:
        data = value.rstrip().encode("ascii")
        digits = data.lstrip(b"1")
        number = base58.b58decode_int(digits) if digits else 0
    except (ValueError, UnicodeEncodeError) as error:
        raise MultibaseError("The value is not valid base58.") from error
    return b"\0" * (len(data) - len(digits)) + number.to_bytes((number.bit_length() + 7) // 8, "big")


def base64url_decode(value: str) -> bytes:
    """Decode a multibase base64url string (`u…`, no padding)."""
    if not isinstance(value, str) or not value.startswith("u"):
        raise MultibaseError("The value is not base64url multibase (it must start with 'u').")
    body = value[1:]
    if len(body) % 4 == 1 or not _BASE64URL.fullmatch(body):
        raise MultibaseError("The value is not valid base64url.")
    try:
        return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError) as error:
        raise MultibaseError("The value is not valid base64url.") from error


def base64url_encode(data: bytes) -> str:
    """Encode bytes as multibase base64url (`u…`, no padding)."""
    return "u" + base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def decode_multikey(value: str) -> tuple[str, bytes]:
    """Decode a `publicKeyMultibase` value into ("Ed25519" | "P-256", raw public key bytes)."""
    data = base58btc_decode(value)
    if data.startswith(ED25519_PUB):
        key = data[len(ED25519_PUB):]
        if len(key) != ED25519_KEY_LENGTH:
            raise MultibaseError("The Ed25519 key has the wrong length.")
        return "Ed25519", key
    if data.startswith(P256_PUB):
        key = data[len(P256_PUB):]
        if len(key) != P256_COMPRESSED_LENGTH or key[0] not in (2, 3):
            raise MultibaseError("The P-256 key is not a compressed point.")
        return "P-256", key
    raise MultibaseError("The key type is not supported (only Ed25519 and P-256 keys are).")


def encode_multikey(key_type: str, public_bytes: bytes) -> str:
    """Encode raw public key bytes as a `publicKeyMultibase` value (`z6Mk…` for Ed25519)."""
    prefix = {"Ed25519": ED25519_PUB, "P-256": P256_PUB}.get(key_type)
    if prefix is None:
        raise MultibaseError(f"Cannot encode a {key_type} key as a multikey.")
    return base58btc_encode(prefix + public_bytes)
