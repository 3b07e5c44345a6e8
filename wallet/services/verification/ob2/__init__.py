"""Open Badges 2.0: verify hosted and signed assertions, and validate their linked documents.

Follows the OB 2.0 verification steps (docs/verification.md §3.2): get the assertion, validate it and every
linked document, then either re-fetch a HostedBadge from its `id` and trust only that copy, or check
a SignedBadge's JWS with a key the issuer's profile lists; then revocation, dates and recipient.
JSON-LD is not expanded; instead only pinned contexts are accepted (no remote context is ever
fetched) and every `type` must be a term those contexts define or an absolute IRI, which is what
the 1EdTech validator's RDF type check amounts to. Badge images are metadata only: never fetched.

The package: terms.py (names and limits), vocabulary.py (contexts and types), structure.py (data
validation), run.py (one run and its report) with its steps in hosted.py, signed.py and
revocation.py.
"""
from __future__ import annotations

from wallet.services.verification import values
from wallet.services.verification.context import Context
from wallet.services.verification.extract import Presented
from wallet.services.verification.ob2.run import _Run
from wallet.services.verification.ob2.terms import FORMAT_ID, MAX_ENDORSEMENTS
from wallet.services.verification.ob2.vocabulary import _is_ob2_context
from wallet.services.verification.result import VerificationResult


__all__ = ["FORMAT_ID", "MAX_ENDORSEMENTS", "detect", "verify"]


def detect(presented: Presented) -> bool:
    """Tell whether the document is Open Badges 2.0 JSON-LD or an assertion that looks like one."""
    document = presented.document
    if any(_is_ob2_context(entry) for entry in values.as_list(document.get("@context"))):
        return True
    types = values.as_list(document.get("type"))
    return "Assertion" in types and any(k in document for k in ("badge", "recipient", "verification"))


def verify(presented: Presented, context: Context) -> VerificationResult:
    """Verify an OB 2.0 assertion (hosted or signed) and fill the report and metadata."""
    return _Run(presented, context).verify()
