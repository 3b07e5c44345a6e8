"""Take what a learner pasted on Add → From an offer, dispatched by its shape to the protocol that reads it.

- An OID4VCI 1.0 credential offer (`openid-credential-offer://…`, or a link carrying `credential_offer`
  or `credential_offer_uri`): services/oid4vci/.
- A VC-API exchange link (an https exchange URL, an LCW deep link or interaction URL): the learner's
  wallet key answers its DID authentication request (services/exchanges.py). Its outcome has the
  same fields as an offer's (`items`, `issuer_name`, `job`, `authorize_url`, `pending`).
- Anything else is refused as not an offer.
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from wallet.services import exchanges, importing, oid4vci
from wallet.services.errors import ImportRejectedError, ValidationError
from wallet.services.oid4vci import Holder, Received
from wallet.services.providers.oauth import ProviderClient

NOT_AN_OFFER = ("That is not a credential offer Wallet can read. An offer starts with openid-credential-offer:// "
                "or is a link carrying credential_offer; an exchange link is an https address or a "
                "dccrequest:// link.")


def receive(session: Session, client: ProviderClient, importer: importing.Importer, holder: Holder, text: str, *,
            exchange_client: exchanges.ExchangeClient, secret_key: str, tx_code: str | None = None,
            client_id: str = "", redirect_uri: str = "") -> Received | exchanges.Received:
    """Receive the credentials of the offer in `text` (see the module docstring for the shapes read)."""
    text = (text or "").strip()
    if not text:
        raise ValidationError("Paste the offer: a link starting openid-credential-offer:// or https://.")
    if oid4vci.is_offer(text):
        return oid4vci.receive_offer(session, client, importer, holder, text, tx_code=tx_code, client_id=client_id,
                                     redirect_uri=redirect_uri)
    if exchanges.is_exchange_link(text):
        return exchanges.receive(session, importer, exchange_client, text, secret_key=secret_key)
    raise ImportRejectedError(NOT_AN_OFFER)
