"""OB 2.0 SignedBadge revocation: the RevocationList the issuer's profile names."""
from __future__ import annotations

from wallet.services.verification.errors import FetchError
from wallet.services.verification.ob2.structure import _is_http_url, _require_list
from wallet.services.verification.ob2.terms import _REVOCATION_LIST
from wallet.services.verification.ob2.vocabulary import _Problems, _check_types, _types_of
from wallet.services.verification.result import Check, Status


class RevocationSteps:
    """The revocation step of a signed badge's run: the issuer's RevocationList.

    Mixed into run.py's _Run, whose state (result, context, assertion, badge, issuer) it reads.
    """

    def _check_revocation_list(self) -> None:
        assert self.issuer is not None and self.assertion is not None
        url = self.issuer.document.get("revocationList")
        if url is None:
            self.add(Check.skipped("revocation", "The issuer publishes no revocation list."))
            return
        if not _is_http_url(url):
            self.add(Check.failed("revocation", "The issuer's revocation list has no web address, so Wallet "
                                  "cannot check whether this badge was revoked.", outcome=Status.UNVERIFIABLE))
            return
        try:
            document = self._fetch_document(url, role="revocation-list")
        except FetchError as error:
            # docs/security.md D20: an unreadable list means "revocation unknown", never "not revoked".
            self._unreachable("revocation", "the issuer's revocation list", error, url)
            return
        problems = _Problems()
        _check_types(document, self.vocabulary, problems, where="revocation list")
        if _REVOCATION_LIST not in _types_of(document, self.vocabulary):
            problems.errors.append("The issuer's revocation list is not a RevocationList.")
        _require_list(document, "revokedAssertions", problems, "revocation list", required=False)
        if problems.errors:
            self.add(Check.failed("revocation", " ".join(problems.errors), outcome=Status.UNVERIFIABLE, url=url))
            return
        assertion = self.assertion.document
        own = {v for v in (assertion.get("id"), assertion.get("uid")) if isinstance(v, str)}
        for entry in document.get("revokedAssertions") or []:
            # OB 2.0 RevocationList: entries are ids, or objects with an id (or 1.x uid) and a reason.
            if isinstance(entry, dict):
                ids = {v for v in (entry.get("id"), entry.get("uid")) if isinstance(v, str)}
            else:
                ids = {entry} if isinstance(entry, str) else set()
            # OB 2.0 RevocationList: "revoked" defaults to true for a listed entry; false withdraws it.
            if ids & own and not (isinstance(entry, dict) and entry.get("revoked") is False):
                reason = entry.get("revocationReason") if isinstance(entry, dict) else None
                self.add(Check.failed("revocation", "The issuer has revoked this badge"
                                      + (f": {reason}" if isinstance(reason, str) and reason else "."),
                                      outcome=Status.REVOKED, url=url,
                                      reason=reason if isinstance(reason, str) else None))
                return
        self.add(Check.passed("revocation", "The badge is not on the issuer's revocation list.", url=url))
