"""Take what a learner pasted on Add → From an offer, dispatched by its shape to the protocol that reads it.

- An OID4VCI 1.0 credential offer (`openid-credential-offer://…`, or a link carrying `credential_offer`
  or `credential_offer_uri`): services/oid4vci/.
- Anything else is refused as not an offer. A VC-API exchange URL is dispatched here as well, before
  the refusal (services/exchanges.py), its outcome given as `Received(items=…)`.
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from wallet.services import importing, oid4vci
from wallet.services.errors import ImportRejectedError, ValidationError
from wallet.services.oid4vci import Holder, Received
from wallet.services.providers.oauth import ProviderClient

NOT_AN_OFFER = ("That is not a credential offer Wallet can read. An offer starts with openid-credential-offer:// "
                "or is a link carrying credential_offer.")


def receive(session: Session, client: ProviderClient, importer: importing.Importer, holder: Holder, text: str, *,
            tx_code: str | None = None, client_id: str = "", redirect_uri: str = "") -> Received:
    """Receive the credentials of the offer in `text` (see the module docstring for the shapes read)."""
    text = (text or "").strip()
    if not text:
        raise ValidationError("Paste the offer: a link starting openid-credential-offer:// or https://.")
    if oid4vci.is_offer(text):
        return oid4vci.receive_offer(session, client, importer, holder, text, tx_code=tx_code, client_id=client_id,
                                     redirect_uri=redirect_uri)
    raise ImportRejectedError(NOT_AN_OFFER)
