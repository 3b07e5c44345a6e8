"""The learner's wallet key and the Verifiable Presentations it signs.

Each learner has one Ed25519 key, known by its did:key. The private key is kept encrypted with
AES-GCM under a key derived from the app's SECRET_KEY by HKDF-SHA256; the DID is the associated
data, so a ciphertext cannot be moved to another learner's row.

Two kinds of W3C VC Data Model 2.0 `VerifiablePresentation` are signed, both with the learner's
did:key as holder and an `eddsa-rdfc-2022` Data Integrity proof (VC-DI-EdDSA §3.3):

- a plain presentation (a portfolio's download): proofPurpose `assertionMethod`, with no challenge
  and no domain. It says "the holder of this key put these credentials together"; it cannot answer
  any verifier's login or request, since those ask for proofPurpose `authentication` (VC-DI §2.1).
- an answer to one verifier's request: proofPurpose `authentication`, bound to the verifier's
  challenge and domain. It is made only when the learner approves it (presentation_requests.py):
  signing a caller's challenge for anyone else would let them log in elsewhere as the learner.

Only credentials that verify (status valid) go in; the others are left out with the reason in
words. Credentials go in exactly as they were issued: JSON-LD credentials embedded whole,
JWT-secured ones as `EnvelopedVerifiableCredential` (`data:application/vc+jwt,<token>`,
VC-JOSE-COSE §3.3).
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wallet.models.credential import Credential
from wallet.models.portfolio import LearnerKey
from wallet.services import disclosures
from wallet.services.blobs import BlobStore
from wallet.services.errors import ValidationError, WalletError
from wallet.services.verification import dataintegrity, extract, make_context
from wallet.formatting import credential_state
from wallet.services.verification.result import Status

CREDENTIALS_V2 = dataintegrity.CREDENTIALS_V2
ENVELOPED_TYPE = "EnvelopedVerifiableCredential"
VC_JWT_DATA_PREFIX = "data:application/vc+jwt,"
# VC-DI §2.1 / DID Core §5.3: a plain presentation is asserted by its holder; an answer to a verifier's
# challenge authenticates the holder to that verifier.
PLAIN_PURPOSE = "assertionMethod"
AUTHENTICATION_PURPOSE = "authentication"
VERIFIED = Status.VALID.value
# Formats that are W3C Verifiable Credentials (Open Badges 2.0 assertions are not).
VC_FORMATS = frozenset({"ob3", "clr2", "vc", "sdjwt"})
_HKDF_SALT = b"wallet.learner-keys"
_HKDF_INFO = b"wallet learner key encryption v1"
_NONCE_BYTES = 12
# A verifier's challenge or domain is echoed into the signed proof: keep it short and printable.
_OPTION = re.compile(r"[\x21-\x7e]{1,200}")
# Fixed namespace for the presentation id: the same portfolio content always gets the same id.
_PRESENTATION_NAMESPACE = uuid.UUID("0b9c8f0e-4a4e-4d53-9a57-6b0d2f0c1e11")


class KeyUnavailableError(WalletError):
    """The wallet key cannot be decrypted (the server's secret key changed)."""


# ---------------------------------------------------------------------------------------------
# The learner's key


def _cipher(secret_key: str) -> AESGCM:
    key = HKDF(algorithm=SHA256(), length=32, salt=_HKDF_SALT, info=_HKDF_INFO).derive(secret_key.encode("utf-8"))
    return AESGCM(key)


def _encrypt(private_key: Ed25519PrivateKey, did: str, secret_key: str) -> str:
    raw = private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    nonce = secrets.token_bytes(_NONCE_BYTES)
    sealed = _cipher(secret_key).encrypt(nonce, raw, did.encode("utf-8"))
    return base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def _decrypt(key: LearnerKey, secret_key: str) -> Ed25519PrivateKey:
    blob = base64.urlsafe_b64decode(key.encrypted_private_key.encode("ascii"))
    try:
        raw = _cipher(secret_key).decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], key.did.encode("utf-8"))
    except InvalidTag:
        raise KeyUnavailableError("Your wallet key cannot be unlocked on this server any more, so nothing "
                                  "can be signed with it. Ask the administrator about the server's secret key.") from None
    return Ed25519PrivateKey.from_private_bytes(raw)


def find_learner_key(session: Session, owner_id: int) -> LearnerKey | None:
    """Return the learner's wallet key, or None if they have none yet."""
    return session.scalar(select(LearnerKey).where(LearnerKey.owner_id == owner_id))


def learner_key(session: Session, owner_id: int, *, secret_key: str) -> LearnerKey:
    """Return the learner's wallet key, creating it (once, even under concurrent requests) if needed."""
    existing = find_learner_key(session, owner_id)
    if existing is not None:
        return existing
    private_key = Ed25519PrivateKey.generate()
    did = dataintegrity.did_key_for(private_key.public_key())
    key = LearnerKey(owner_id=owner_id, did=did, encrypted_private_key=_encrypt(private_key, did, secret_key))
    try:
        with session.begin_nested():
            session.add(key)
            session.flush()
    except IntegrityError:
        # Another request made the key first: use that one.
        existing = find_learner_key(session, owner_id)
        if existing is None:
            raise
        return existing
    return key


def verification_method(did: str) -> str:
    """Return the key id of a did:key: the DID with its own multibase value as the fragment."""
    return f"{did}#{did.removeprefix('did:key:')}"


def signing_key(key: LearnerKey, *, secret_key: str) -> Ed25519PrivateKey:
    """Return the learner's private key, decrypted; KeyUnavailableError if it cannot be."""
    return _decrypt(key, secret_key)


# ---------------------------------------------------------------------------------------------
# Presentations


@dataclass
class Presentation:
    """A signed presentation, with the credentials it holds and those that could not go in."""

    document: dict[str, Any]
    holder: str
    included: list[Credential] = field(default_factory=list)
    left_out: list[tuple[Credential, str]] = field(default_factory=list)


def presentation_entry(credential: Credential, blobs: BlobStore, *, disclose: Collection[str] = (),
                       holder: Ed25519PrivateKey | None = None, challenge: str | None = None,
                       domain: str | None = None) -> dict[str, Any]:
    """Return how `credential` goes into a VC 2.0 presentation, exactly as it was issued.

    An SD-JWT VC goes with only the disclosures whose digests are in `disclose` (disclosures.py).
    Raises ValidationError (with the reason in plain words) when it cannot go in as it is.
    """
    if credential.format_id not in VC_FORMATS:
        raise ValidationError("Open Badges 2.0 badges are not Verifiable Credentials; download them on their own.")
    if credential.format_id == "sdjwt":
        presented = disclosures.present(disclosures.stored_sd_jwt(credential, blobs), disclose, holder=holder,
                                        audience=domain, nonce=challenge)
        return {"@context": [CREDENTIALS_V2], "id": disclosures.SD_JWT_DATA_PREFIX + presented,
                "type": ENVELOPED_TYPE}
    data = blobs.get(credential.original_sha256)
    try:
        # Offline: the stored original holds the whole credential; nothing is fetched.
        presented = extract.extract(data, content_type=credential.original_type,
                                    filename=credential.original_filename, context=make_context())
    except WalletError as error:
        raise ValidationError(f"The stored credential could not be read: {error}") from None
    if presented.jws:
        return {"@context": [CREDENTIALS_V2], "id": VC_JWT_DATA_PREFIX + presented.jws.strip(), "type": ENVELOPED_TYPE}
    contexts = presented.document.get("@context")
    first = contexts[0] if isinstance(contexts, list) and contexts else contexts
    if first != CREDENTIALS_V2:
        # VCDM 2.0 §4.3: a v2 presentation holds v2 credentials; v1.1 terms clash with its protected ones.
        raise ValidationError("This credential uses the older VC 1.1 data model, which a VC 2.0 presentation "
                              "cannot hold; download it on its own.")
    return presented.document


def clean_option(value: str | None, what: str) -> str | None:
    """Return a verifier's challenge or domain, checked; None when empty; ValidationError if malformed."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _OPTION.fullmatch(value):
        raise ValidationError(f"The {what} must be 1 to 200 printable characters without spaces.")
    return value


def state_words(credential: Credential) -> str:
    """Say the credential's verification state in the words every page uses (services/verification/states.py)."""
    return credential_state(credential)


def is_presentable(credential: Credential) -> bool:
    """Tell whether the credential may be signed into a presentation: only one that verifies."""
    return credential.status == VERIFIED


def not_presentable_reason(credential: Credential) -> str:
    """Say why a credential that does not verify stays out of every signed presentation."""
    return f"{state_words(credential)}: only credentials that verify are signed into a presentation."


def build_presentation(
    session: Session,
    owner_id: int,
    credentials: Sequence[Credential],
    *,
    secret_key: str,
    blobs: BlobStore,
    created: datetime | None = None,
    disclose: Mapping[int, Collection[str]] | None = None,
) -> Presentation:
    """Sign a plain presentation of `credentials` (the learner's own) with the learner's wallet key.

    The proof purpose is `assertionMethod`, with no challenge or domain: nothing a caller sends is
    signed into it. Credentials that do not verify are left out, with the reason.
    """
    return _sign(session, owner_id, credentials, secret_key=secret_key, blobs=blobs, purpose=PLAIN_PURPOSE,
                 challenge=None, domain=None, created=created, disclose=disclose)


def answer_challenge(
    session: Session,
    owner_id: int,
    credentials: Sequence[Credential],
    *,
    challenge: str,
    domain: str,
    secret_key: str,
    blobs: BlobStore,
    created: datetime | None = None,
    disclose: Mapping[int, Collection[str]] | None = None,
) -> Presentation:
    """Sign a presentation that authenticates the learner to one verifier (its challenge and domain).

    Call it only on the learner's own approval (a POST by the logged-in learner, or their own API
    token): the proof lets the verifier at `domain` accept the learner as present (VC-DI §2.1).
    """
    checked_challenge = clean_option(challenge, "challenge")
    checked_domain = clean_option(domain, "domain")
    if checked_challenge is None or checked_domain is None:
        raise ValidationError("An answer needs the verifier's challenge and its domain.")
    return _sign(session, owner_id, credentials, secret_key=secret_key, blobs=blobs, purpose=AUTHENTICATION_PURPOSE,
                 challenge=checked_challenge, domain=checked_domain, created=created, disclose=disclose)


def _sign(
    session: Session,
    owner_id: int,
    credentials: Sequence[Credential],
    *,
    secret_key: str,
    blobs: BlobStore,
    purpose: str,
    challenge: str | None,
    domain: str | None,
    created: datetime | None,
    disclose: Mapping[int, Collection[str]] | None = None,
) -> Presentation:
    """Sign; an SD-JWT VC goes with the disclosures `disclose` lists for it (by credential id), or none."""
    for credential in credentials:
        if credential.owner_id != owner_id:
            raise ValidationError("Only your own credentials can go in your presentation.")
    key = learner_key(session, owner_id, secret_key=secret_key)
    private_key = signing_key(key, secret_key=secret_key)
    presentation = Presentation(document={}, holder=key.did)
    entries: list[dict[str, Any]] = []
    for credential in credentials:
        if not is_presentable(credential):
            presentation.left_out.append((credential, not_presentable_reason(credential)))
            continue
        try:
            entries.append(presentation_entry(
                credential, blobs, disclose=(disclose or {}).get(credential.id, ()),
                holder=private_key if challenge is not None else None, challenge=challenge, domain=domain))
        except ValidationError as error:
            presentation.left_out.append((credential, str(error)))
            continue
        presentation.included.append(credential)
    if challenge is None:
        # The id depends only on the holder and the content, so an unchanged portfolio presents the
        # same document (and its canonical form is reused from the JSON-LD memo).
        digest = hashlib.sha256(json.dumps([key.did, entries], sort_keys=True).encode("utf-8")).hexdigest()
        presentation_id = f"urn:uuid:{uuid.uuid5(_PRESENTATION_NAMESPACE, digest)}"
    else:
        presentation_id = f"urn:uuid:{uuid.uuid4()}"
    unsigned = {
        "@context": [CREDENTIALS_V2],
        "id": presentation_id,
        "type": ["VerifiablePresentation"],
        "holder": key.did,
        "verifiableCredential": entries,
    }
    presentation.document = dataintegrity.sign_document(
        unsigned, private_key=private_key, verification_method=verification_method(key.did),
        proof_purpose=purpose, challenge=challenge, domain=domain, created=created)
    return presentation
