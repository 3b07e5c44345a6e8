"""The verification core: bytes or a URL in, a VerificationResult out.

Imports nothing from the wallet outside this package: not flask, wallet.models nor another service.
Its exceptions are in errors.py (services/errors.py re-exports the kinds it shares), its caches in
caches.REGISTRY. Outbound requests go through the `fetch` callable the caller passes (the app
passes services/http.py's guarded fetcher).

Pipeline: extract (JSON, JWT, baked PNG/SVG, URL) -> pick the format module from FORMATS by its
`detect` -> the module's `verify` -> result. A failed check is a result; exceptions are for
checks that could not run, and `verify_*` turn those into an `error` result, never a traceback.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from wallet.services.verification import clr, extract, jsonld, memo, ob2, ob3, sdjwt, status, vc, vp
from wallet.services.verification.context import Context
from wallet.services.verification.errors import FetchError, NoCredentialError, WalletError
from wallet.services.verification.extract import Presented
from wallet.services.verification.fetching import Fetch, offline_fetch
from wallet.services.verification.result import Check, Status, VerificationResult

log = logging.getLogger(__name__)

# The only registry of formats, most specific first: a CLR is also a VC, an OB 3.0 credential too.
# A presentation (vp) holds credentials and is verified with them. An SD-JWT VC (sdjwt) is told apart
# by its tilde-separated disclosures, so it comes first.
FORMATS = (sdjwt, ob2, clr, ob3, vc, vp)


def configure_caches(*, status_bytes: int = status.CACHE_BYTES, result_bytes: int = memo.RESULTS_BYTES,
                     canonical_bytes: int = jsonld.CANONICAL_BYTES) -> None:
    """Set the byte budgets of the process-wide caches (decoded status lists, results, canonical forms)."""
    status.CACHE.max_bytes = status_bytes
    memo.RESULTS.max_bytes = result_bytes
    jsonld.CANONICAL_FORMS.max_bytes = canonical_bytes


def make_context(
    fetch: Fetch | None = None, *, recipients: Iterable[str] = (), now: datetime | None = None
) -> Context:
    """Build a verification context; with no `fetch` nothing remote is reachable."""
    context = Context(fetch_fn=fetch or offline_fetch, recipients=tuple(recipients))
    if now is not None:
        context.now = now
    return context


def verify_bytes(
    data: bytes,
    *,
    content_type: str | None = None,
    filename: str | None = None,
    context: Context | None = None,
    source_url: str | None = None,
) -> VerificationResult:
    """Find the credential in `data` (JSON, JWT, baked PNG/SVG), verify it and report.

    A credential verified before from the same bytes, for the same identities, with nothing fetched
    and no date crossed since, is not verified again (memo.py): its result is reused, checked now.
    """
    context = context or make_context()
    key = memo.key_for(data, content_type=content_type, filename=filename, source_url=source_url,
                       recipients=context.recipients)
    reused = memo.recall(key, context.now)
    if reused is not None:
        return reused
    fetches_left = context.budget.remaining
    result = _verify_bytes(data, content_type=content_type, filename=filename, context=context,
                           source_url=source_url)
    memo.remember(key, result, now=context.now, fetched_anything=context.budget.remaining != fetches_left)
    return result


def _verify_bytes(data: bytes, *, content_type: str | None, filename: str | None, context: Context,
                  source_url: str | None) -> VerificationResult:
    try:
        presented = extract.extract(data, content_type=content_type, filename=filename,
                                    source_url=source_url, context=context)
    except NoCredentialError as error:
        return _no_credential(str(error))
    except FetchError as error:  # a baked image pointing to an issuer that cannot be reached now
        return _failure(Status.UNVERIFIABLE, "fetch", f"Could not fetch the credential: {error}")
    except WalletError as error:
        # A refused token (alg "none", HS256, JWE...) is not genuine; other unreadable input is an error.
        return _failure(getattr(error, "outcome", Status.ERROR), "extract", str(error))
    return verify_presented(presented, context)


def verify_url(url: str, *, context: Context | None = None) -> VerificationResult:
    """Fetch `url` through the context's fetcher, then verify what it returns."""
    context = context or make_context()
    try:
        fetched = context.fetch(url, kind="any", role="source")
    except FetchError as error:
        result = _failure(Status.UNVERIFIABLE, "fetch", f"Could not fetch the credential: {error}")
        result.container = "url"
        return result
    except WalletError as error:
        return _failure(Status.ERROR, "fetch", str(error))
    result = verify_bytes(fetched.body, content_type=fetched.content_type, context=context, source_url=url)
    if result.container == "json":
        result.container = "url"
    return result


def verify_presented(presented: Presented, context: Context) -> VerificationResult:
    """Verify an extracted credential with the first format module that recognises it."""
    module = next((m for m in FORMATS if m.detect(presented)), None)
    if module is None:
        result = _no_credential("This is JSON, but not an Open Badge or Verifiable Credential that Wallet knows.")
        result.container = presented.container
        return result
    try:
        result = module.verify(presented, context)
    except WalletError as error:
        result = _failure(Status.ERROR, "verify", str(error))
        result.format = module.FORMAT_ID
    except Exception:  # a bug must not become a traceback for the learner
        log.exception("verification of a %s credential crashed", module.FORMAT_ID)
        result = _failure(Status.ERROR, "verify", "Verification failed unexpectedly; the problem was logged.")
        result.format = module.FORMAT_ID
    result.container = result.container or presented.container
    result.content_sha256 = extract.content_sha256(presented)
    if result.compact is None:
        result.compact = presented.jws
    if not result.documents:
        result.documents = list(context.documents)
    return result


def _no_credential(message: str) -> VerificationResult:
    return _failure(Status.NO_CREDENTIAL, "extract", message)


def _failure(status: Status, check_id: str, message: str) -> VerificationResult:
    result = VerificationResult(format=None, status=status)
    result.add(Check.failed(check_id, message, outcome=status))
    return result
