"""Single-credential share links (/c/<slug>), the learner's side: create, renew, withdraw.

A credential gets a public page of its own only if it may go public (portfolios.eligible_credentials:
the learner's, not issued to someone else, D18). The page itself is read through public_view.py;
the share buttons, QR codes and embed snippets are sharing.py.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from wallet.db import utcnow
from wallet.models.credential import RECIPIENT_MISMATCH
from wallet.models.portfolio import CredentialShare
from wallet.services import credentials as credential_service
from wallet.services.errors import NotFoundError
from wallet.services.portfolios import eligible_credentials, future_expiry, new_slug


def get_share(session: Session, owner_id: int, credential_id: int) -> CredentialShare | None:
    """Return the credential's share link (working or revoked), or None if it was never shared."""
    credential_service.get_credential(session, owner_id, credential_id)
    return session.scalar(select(CredentialShare).where(CredentialShare.credential_id == credential_id,
                                                        CredentialShare.owner_id == owner_id))


def list_shares(session: Session, owner_id: int) -> list[CredentialShare]:
    """Return the learner's credential share links, newest first."""
    query = (select(CredentialShare).where(CredentialShare.owner_id == owner_id)
             .options(selectinload(CredentialShare.credential)).order_by(CredentialShare.created_at.desc()))
    return list(session.scalars(query))


def share_credential(session: Session, owner_id: int, credential_id: int, *, include_evidence: bool = False,
                     expires_at: datetime | None = None, show_originals: bool | None = None,
                     now: datetime | None = None) -> CredentialShare:
    """Give the credential a public page; a revoked link is replaced by a new one, never revived.

    `show_originals` None keeps the current choice (a new page offers the original).
    """
    credential = eligible_credentials(session, owner_id, [credential_id])[credential_id]
    share = get_share(session, owner_id, credential.id)
    if share is None:
        share = CredentialShare(owner_id=owner_id, credential_id=credential.id, slug=new_slug(), view_count=0,
                                show_originals=True)
        session.add(share)
    elif share.revoked_at is not None:
        share.slug, share.revoked_at, share.created_at = new_slug(), None, utcnow()
    share.include_evidence = bool(include_evidence)
    if show_originals is not None:
        share.show_originals = bool(show_originals)
    share.expires_at = future_expiry(expires_at, now)
    session.flush()
    return share


def _existing_share(session: Session, owner_id: int, credential_id: int) -> CredentialShare:
    share = get_share(session, owner_id, credential_id)
    if share is None:
        raise NotFoundError("This credential is not shared.")
    return share


def regenerate_share(session: Session, owner_id: int, credential_id: int) -> CredentialShare:
    """Give the credential's public page a new link; the old one stops working at once."""
    share = _existing_share(session, owner_id, credential_id)
    share.slug, share.revoked_at = new_slug(), None
    session.flush()
    return share


def revoke_share(session: Session, owner_id: int, credential_id: int) -> CredentialShare:
    """Stop the credential's public page."""
    share = _existing_share(session, owner_id, credential_id)
    share.revoked_at = utcnow()
    session.flush()
    return share


def is_share_public(share: CredentialShare, now: datetime | None = None) -> bool:
    """Tell whether the share link works now."""
    now = now or utcnow()
    return (share.revoked_at is None and (share.expires_at is None or share.expires_at > now)
            and share.credential.recipient_state != RECIPIENT_MISMATCH)
