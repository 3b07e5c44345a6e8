"""Names and limits the OB 2.0 modules share: the format id, the pinned contexts, the IRIs of types."""
from __future__ import annotations

import re
from datetime import timedelta


FORMAT_ID = "ob2"

OB2_CONTEXTS = ("https://w3id.org/openbadges/v2", "https://openbadgespec.org/v2/context.json")
# Extension contexts live under these; one Wallet does not bundle only costs the extension's checks.
_EXTENSION_CONTEXT_PREFIXES = ("https://w3id.org/openbadges/extensions/", "https://openbadgespec.org/extensions/")
_OB1_CONTEXT = "https://w3id.org/openbadges/v1"
OBI = "https://w3id.org/openbadges#"
_ASSERTION = OBI + "Assertion"
_BADGE_CLASS = OBI + "BadgeClass"
_ISSUER_TYPES = frozenset({OBI + "Issuer", OBI + "Profile"})
_HOSTED = OBI + "HostedBadge"
_SIGNED = OBI + "SignedBadge"
_KEY = "https://w3id.org/security#Key"
_REVOCATION_LIST = OBI + "RevocationList"
_ENDORSEMENT = "https://w3id.org/credentials#Credential"
_ALIGNMENT = "http://schema.org/AlignmentObject"

# A few endorsements are fetched to count them; they never change the badge's status.
MAX_ENDORSEMENT_FETCHES = 4
# docs/security.md A13: a badge naming more endorsements than this is not walked; it cannot be checked
# fully, so it is "Couldn't verify" (as in ob3.py).
MAX_ENDORSEMENTS = 100
MAX_KEYS_TRIED = 3
# D19: a small leeway for clocks that disagree (jwcrypto's default is the same).
CLOCK_LEEWAY = timedelta(seconds=60)
_HASHED_IDENTITY = re.compile(r"^(sha256|md5)\$[0-9a-fA-F]+$", re.IGNORECASE)
_ABSOLUTE_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")
# Claims compared between the presented assertion and the issuer's hosted copy (docs/security.md D13).
_CLAIMS = ("type", "recipient", "badge", "issuedOn", "expires", "evidence", "narrative", "verification", "issuer")
