"""Presenting an SD-JWT VC with only the claims the learner chooses (RFC 9901 §5.2, §4.3).

The stored original keeps every disclosure; a presentation carries the issuer-signed JWT and only
the disclosures the learner ticked (none unless they tick some), and, when it answers a verifier's
challenge and the credential is bound to the learner's wallet key, a key binding JWT with the
verifier's domain as `aud` and its challenge as `nonce`.
"""
from __future__ import annotations

import json
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwcrypto.jwk import JWK

from wallet.models.credential import Credential
from wallet.services.blobs import BlobStore
from wallet.services.errors import ValidationError
from wallet.services.sanitize import clean_text
from wallet.services.verification import jose, sdjwt, typemetadata
from wallet.services.verification.errors import WalletError

# VC-JOSE-COSE §3.3 carries a secured credential in a presentation as a data: URL of its media type.
SD_JWT_DATA_PREFIX = "data:application/dc+sd-jwt,"


@dataclass(frozen=True)
class DisclosureChoice:
    """One claim the learner may include: the digest naming its disclosure, its label and its value as text."""

    digest: str
    label: str
    value: str


def stored_sd_jwt(credential: Credential, blobs: BlobStore) -> str:
    """Return the SD-JWT as it was issued, with every disclosure (ValidationError if it cannot be read)."""
    text = "".join(blobs.get(credential.original_sha256).decode("utf-8", "replace").split())
    if not sdjwt.is_sd_jwt(text):
        raise ValidationError("The stored credential is not an SD-JWT.")
    return text


def disclosure_choices(credential: Credential, blobs: BlobStore, languages: Sequence[str]) -> list[DisclosureChoice]:
    """List the claims of an SD-JWT VC the learner may choose to disclose, labelled in their language."""
    try:
        text = stored_sd_jwt(credential, blobs)
        parts = sdjwt.split(text)
        payload = jose.decode_payload_json(jose.parse_compact(parts.issuer_jwt))
    except (ValidationError, WalletError):
        return []
    disclosed = sdjwt.disclose(payload, parts.disclosures)
    labels = {tuple(entry.get("path") or []): entry.get("labels") or {}
              for entry in (credential.details or {}).get("claims") or [] if isinstance(entry, dict)}
    choices = []
    for item in disclosed.items:
        entry = {"path": item["path"], "labels": labels.get(tuple(item["path"]), {})}
        value = item["value"]
        text_value = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        choices.append(DisclosureChoice(item["digest"], clean_text(typemetadata.label_for(entry, languages), limit=200),
                                        clean_text(text_value, limit=300)))
    return choices


def public_original(data: bytes) -> bytes:
    """Return a stored SD-JWT as a public page offers it: the issuer-signed JWT with no disclosure.

    A page anyone with the link can read shares no selectively disclosable claim, since the learner
    has chosen none for it; the signature still verifies with any SD-JWT verifier (RFC 9901 §5.2).
    """
    text = "".join(data.decode("utf-8", "replace").split())
    return sdjwt.present(text, set()).encode("ascii") if sdjwt.is_sd_jwt(text) else data


def present(text: str, keep_digests: Collection[str], *, holder: Ed25519PrivateKey | None = None,
            audience: str | None = None, nonce: str | None = None) -> str:
    """Return the SD-JWT with only the disclosures whose digests are in `keep_digests`.

    With `holder`, `audience` and `nonce`, and when the issuer bound the credential to that key
    (`cnf.jwk`), a key binding JWT follows (RFC 9901 §4.3); otherwise the SD-JWT ends with "~".
    """
    parts = sdjwt.split(text)
    payload = jose.decode_payload_json(jose.parse_compact(parts.issuer_jwt))
    alg = payload.get("_sd_alg", "sha-256")
    items = sdjwt.disclose(payload, parts.disclosures).items
    kept_paths = [tuple(item["path"]) for item in items if item["digest"] in set(keep_digests)]
    # RFC 9901 §7.1 step 4: a disclosure inside another one is referenced only from that one's value,
    # so a kept claim brings the disclosures of the objects and arrays that hold it.
    keep = {item["disclosure"] for item in items
            if any(path[:len(item["path"])] == tuple(item["path"]) for path in kept_paths)}
    presented = sdjwt.present(text, keep)
    if holder is None or audience is None or nonce is None or not _bound_to(payload, holder):
        return presented
    claims = {"iat": int(time.time()), "aud": audience, "nonce": nonce, "sd_hash": sdjwt.sd_hash(presented, alg)}
    return presented + jose.sign_compact(claims, JWK.from_pyca(holder), "EdDSA", {"typ": sdjwt.KB_JWT_TYPE})


def _bound_to(payload: dict, holder: Ed25519PrivateKey) -> bool:
    cnf = payload.get("cnf")
    jwk = cnf.get("jwk") if isinstance(cnf, dict) else None
    if not isinstance(jwk, dict):
        return False
    try:
        return JWK(**jwk).thumbprint() == JWK.from_pyca(holder.public_key()).thumbprint()
    except (ValueError, TypeError, WalletError):
        return False
