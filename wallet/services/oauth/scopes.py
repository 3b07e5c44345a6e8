"""The scopes Wallet's authorization server grants, and what each lets a client do, in plain words.

OB 3.0 §6.1 and CLR 2.0 §6.1 name one scope URI per kind of access; a client asks for them in the
`scope` parameter, space-separated (RFC 6749 §3.3), and the consent page shows their descriptions.
"""
from __future__ import annotations

OB3_CREDENTIAL_READONLY = "https://purl.imsglobal.org/spec/ob/v3p0/scope/credential.readonly"
OB3_CREDENTIAL_UPSERT = "https://purl.imsglobal.org/spec/ob/v3p0/scope/credential.upsert"
OB3_PROFILE_READONLY = "https://purl.imsglobal.org/spec/ob/v3p0/scope/profile.readonly"
OB3_PROFILE_UPDATE = "https://purl.imsglobal.org/spec/ob/v3p0/scope/profile.update"

CLR_CREDENTIAL_READONLY = "https://purl.imsglobal.org/spec/clr/v2p0/scope/credential.readonly"
CLR_CREDENTIAL_UPSERT = "https://purl.imsglobal.org/spec/clr/v2p0/scope/credential.upsert"
CLR_PROFILE_READONLY = "https://purl.imsglobal.org/spec/clr/v2p0/scope/profile.readonly"
CLR_PROFILE_UPDATE = "https://purl.imsglobal.org/spec/clr/v2p0/scope/profile.update"

OB3_SCOPES = (OB3_CREDENTIAL_READONLY, OB3_CREDENTIAL_UPSERT, OB3_PROFILE_READONLY, OB3_PROFILE_UPDATE)
CLR_SCOPES = (CLR_CREDENTIAL_READONLY, CLR_CREDENTIAL_UPSERT, CLR_PROFILE_READONLY, CLR_PROFILE_UPDATE)
ALL_SCOPES = OB3_SCOPES + CLR_SCOPES

# What the learner reads on the consent page and in Settings → Connected apps, completing
# "<client> wants to …" / "<client> may …".
DESCRIPTIONS: dict[str, str] = {
    OB3_CREDENTIAL_READONLY: "see the Open Badges in your wallet",
    OB3_CREDENTIAL_UPSERT: "add Open Badges to your wallet, and update ones it added",
    OB3_PROFILE_READONLY: "see your learner profile",
    OB3_PROFILE_UPDATE: "change your learner profile",
    CLR_CREDENTIAL_READONLY: "see the Comprehensive Learner Records in your wallet",
    CLR_CREDENTIAL_UPSERT: "add Comprehensive Learner Records to your wallet, and update ones it added",
    CLR_PROFILE_READONLY: "see your learner profile, through the learner record API",
    CLR_PROFILE_UPDATE: "change your learner profile, through the learner record API",
}


def parse_scope(scope: str | None) -> frozenset[str]:
    """Return the scopes named in a space-separated `scope` value (RFC 6749 §3.3)."""
    return frozenset((scope or "").split())


def format_scope(scopes: frozenset[str] | set[str] | tuple[str, ...] | list[str]) -> str:
    """Return scopes as one space-separated value, in the order of ALL_SCOPES (unknown ones last, sorted)."""
    known = [s for s in ALL_SCOPES if s in scopes]
    return " ".join(known + sorted(set(scopes) - set(ALL_SCOPES)))


def describe(scopes: frozenset[str] | set[str]) -> list[str]:
    """Return the plain-words description of each scope, in the order of ALL_SCOPES."""
    return [DESCRIPTIONS[s] for s in ALL_SCOPES if s in scopes]


# The headline of the consent page, "<client> wants to …", from the kinds of access asked for.
_SUMMARY = (
    (frozenset({OB3_CREDENTIAL_UPSERT, CLR_CREDENTIAL_UPSERT}), "add credentials to your wallet"),
    (frozenset({OB3_CREDENTIAL_READONLY, CLR_CREDENTIAL_READONLY}), "see the credentials in your wallet"),
    (frozenset({OB3_PROFILE_UPDATE, CLR_PROFILE_UPDATE}), "change your profile"),
    (frozenset({OB3_PROFILE_READONLY, CLR_PROFILE_READONLY}), "see your profile"),
)


def consent_summary(scopes: frozenset[str] | set[str]) -> str:
    """Return what a client asks, in a few plain words: "add credentials to your wallet and see your profile"."""
    parts = [words for kinds, words in _SUMMARY if kinds & scopes]
    if not parts:
        return "connect to your wallet"
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
