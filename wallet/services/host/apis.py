"""The two 1EdTech APIs Wallet serves as a Host: Open Badges 3.0 and CLR 2.0 (docs/api.md).

Both have the same operations (OB 3.0 §6, CLR 2.0 §6): getCredentials, upsertCredential, getProfile,
putProfile and getServiceDescription, under their own path, scopes and credential type.
"""
from __future__ import annotations

from dataclasses import dataclass

from wallet.services.oauth import scopes
from wallet.services.verification import clr, ob3

# The operations' permissions, named as the scopes end (…/scope/credential.readonly).
CREDENTIAL_READONLY = "credential.readonly"
CREDENTIAL_UPSERT = "credential.upsert"
PROFILE_READONLY = "profile.readonly"
PROFILE_UPDATE = "profile.update"


@dataclass(frozen=True)
class Api:
    """One of the APIs: where it lives, what it exchanges and which scope each operation needs."""

    key: str  # "ob" | "clr"
    title: str
    path: str  # the servers' base path, e.g. "/ims/ob/v3p0"
    format_id: str  # the FORMAT_ID of the credentials it exchanges
    credential_class: str  # the specification's class name of those credentials
    credential_types: tuple[str, ...]  # a credential's `type` must include one of these
    response_class: str  # the specification's class name of the getCredentials response
    credential_schema_url: str
    context: str  # the JSON-LD context of a Profile answered by this API
    scopes: dict[str, str]  # permission -> scope URI

    def scope(self, permission: str) -> str:
        """Return the scope URI an operation with `permission` needs."""
        return self.scopes[permission]


OB3 = Api(
    key="ob",
    title="Open Badges 3.0",
    path="/ims/ob/v3p0",
    format_id=ob3.FORMAT_ID,
    credential_class="AchievementCredential",
    # OB 3.0 §B.1.2: "AchievementCredential" or its alias "OpenBadgeCredential".
    credential_types=ob3.ACHIEVEMENT_TYPES,
    response_class="GetOpenBadgeCredentialsResponse",
    credential_schema_url="https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json",
    context="https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    scopes={CREDENTIAL_READONLY: scopes.OB3_CREDENTIAL_READONLY, CREDENTIAL_UPSERT: scopes.OB3_CREDENTIAL_UPSERT,
            PROFILE_READONLY: scopes.OB3_PROFILE_READONLY, PROFILE_UPDATE: scopes.OB3_PROFILE_UPDATE},
)
CLR2 = Api(
    key="clr",
    title="Comprehensive Learner Record 2.0",
    path="/ims/clr/v2p0",
    format_id=clr.FORMAT_ID,
    credential_class="ClrCredential",
    credential_types=(clr.CLR_TYPE,),
    response_class="GetClrCredentialsResponse",
    credential_schema_url="https://purl.imsglobal.org/spec/clr/v2p0/schema/json/clr_v2p0_clrcredential_schema.json",
    context="https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json",
    scopes={CREDENTIAL_READONLY: scopes.CLR_CREDENTIAL_READONLY, CREDENTIAL_UPSERT: scopes.CLR_CREDENTIAL_UPSERT,
            PROFILE_READONLY: scopes.CLR_PROFILE_READONLY, PROFILE_UPDATE: scopes.CLR_PROFILE_UPDATE},
)
APIS = {api.key: api for api in (OB3, CLR2)}
