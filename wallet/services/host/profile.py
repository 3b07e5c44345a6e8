"""getProfile and putProfile of the Host APIs (OB 3.0 §6.2.4-6.2.5, §B.1.14 Profile).

The learner's Profile is identified by the did:key of their wallet key (services/presentations.py),
made when first asked for: an issuer that reads the profile can issue credentials to that DID, and
Wallet then recognises them as the learner's (the recipient check matches it). It names the learner
by their display name and, when verified, their primary e-mail address.

putProfile changes what the learner may change through a connected app: the name. Every other
property is Wallet's own or not kept by Wallet; the specification lets the answer leave out values
it did not take (§6.2.5.2), and the answer is the profile as it now is (docs/api.md).
"""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from wallet.models.user import User
from wallet.services import accounts, presentations
from wallet.services.errors import NotFoundError, ValidationError
from wallet.services.host.apis import Api
from wallet.services.verification import values


def get_profile(session: Session, owner_id: int, api: Api, *, secret_key: str) -> dict[str, Any]:
    """Return the learner's Profile (OB 3.0 §B.1.14)."""
    user = session.get(User, owner_id)
    if user is None:
        raise NotFoundError("There is no such learner.")
    key = presentations.learner_key(session, owner_id, secret_key=secret_key)
    profile: dict[str, Any] = {"@context": [api.context], "id": key.did, "type": ["Profile"],
                               "name": user.display_name}
    primary = user.primary_email
    if primary is not None and primary.is_verified:
        profile["email"] = primary.address
    return profile


def put_profile(session: Session, owner_id: int, api: Api, body: Any, *, secret_key: str) -> dict[str, Any]:
    """Take the name from a Profile sent to putProfile; return the profile as it now is.

    Raises ValidationError when the body is not a Profile or its name is not one Wallet accepts.
    """
    if not isinstance(body, dict):
        raise ValidationError("Send the whole Profile as a JSON object.")
    if "Profile" not in values.types_of(body.get("type")):
        raise ValidationError('The body must be a Profile: its "type" must include "Profile".')
    name = body.get("name")
    if name is not None:
        if not isinstance(name, str):
            raise ValidationError('"name" must be text.')
        accounts.update_profile(session, owner_id=owner_id, display_name=name)
    return get_profile(session, owner_id, api, secret_key=secret_key)
