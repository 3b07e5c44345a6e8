"""OB 2.0 HostedBadge: the assertion is trusted only as the issuer's server hands it out."""
from __future__ import annotations

from urllib.parse import urlsplit

from wallet.services.verification import values
from wallet.services.verification.errors import FetchError, RemoteError
from wallet.services.verification.ob2.node import _Node, _Stop
from wallet.services.verification.ob2.structure import _claim, _host, _is_http_url
from wallet.services.verification.ob2.terms import _CLAIMS
from wallet.services.verification.result import Check, Status


class HostedSteps:
    """The HostedBadge steps of a run: re-fetch the assertion from its id, check the issuer's scope.

    Mixed into run.py's _Run, whose state (result, context, assertion, badge, issuer) it reads.
    """

    def _fetch_hosted_copy(self) -> None:
        """OB 2.0 HostedBadge: re-fetch the assertion from its id and trust only that copy."""
        presented = self.presented.document
        url = presented.get("id")
        if not _is_http_url(url):
            self.add(Check.failed("hosted", "A hosted badge must have a web address as its id, and this one does not."))
            raise _Stop
        self.assertion = _Node(presented, None)
        try:
            hosted = self._fetch_document(url, role="assertion")
        except RemoteError as error:
            if error.status_code == 410:
                # OB 2.0: 410 Gone from the assertion's address means the issuer revoked it.
                self.add(Check.failed("hosted", "The issuer has revoked this badge: its address answers "
                                      "\"410 Gone\".", outcome=Status.REVOKED, url=url))
                return
            self._unreachable("hosted", "the issuer's copy of this badge", error, url)
            return
        except FetchError as error:
            self._unreachable("hosted", "the issuer's copy of this badge", error, url)
            return
        self.assertion = _Node(hosted, url, url)
        self.result.credential = hosted
        self._note_identity(hosted, url, "issuer's copy of the badge")
        if hosted != presented:
            problems = self._validate(hosted, "issuer's copy of the assertion")
            if problems.errors:
                raise _Stop
        differing = [name for name in _CLAIMS if _claim(presented, name) != _claim(hosted, name)]
        if differing:
            self.add(Check.failed(
                "hosted",
                "This badge differs from the issuer's copy in: " + ", ".join(differing)
                + ". Wallet trusts only the issuer's copy, so this one is not genuine.",
                url=url, fields=differing))
        else:
            self.add(Check.passed("hosted", "The issuer's copy of this badge matches it.", url=url))
        if hosted.get("revoked") is True:
            reason = hosted.get("revocationReason")
            self.add(Check.failed("revocation", "The issuer has revoked this badge"
                                  + (f": {reason}" if isinstance(reason, str) and reason else "."),
                                  outcome=Status.REVOKED, reason=reason if isinstance(reason, str) else None))

    def _check_hosted_scope(self) -> None:
        """OB 2.0: a hosted assertion's id must be in scope of the issuer's verification policy."""
        if self.assertion is None or self.assertion.url is None or self.issuer is None:
            return
        issuer_id = self.issuer.document.get("id")
        if not _is_http_url(issuer_id) or not self._from_own_origin(self.issuer.source, issuer_id):
            return  # the issuer check already says why authorship is not established
        policy = self.issuer.document.get("verification")
        policy = policy if isinstance(policy, dict) else {}
        prop = policy.get("verificationProperty", "id")
        if prop not in ("id", "@id"):
            self.add(Check.failed("hosted-scope", f"The issuer's verification policy uses {str(prop)[:60]}, which "
                                  "Wallet does not support.", outcome=Status.UNVERIFIABLE))
            return
        # OB 2.0 VerificationObject: allowedOrigins are host names; by default the issuer's own host.
        allowed = [o.lower() for o in values.as_list(policy.get("allowedOrigins")) if isinstance(o, str)] or [
            _host(issuer_id)]
        prefixes = [p for p in values.as_list(policy.get("startsWith")) if isinstance(p, str)]
        url = self.assertion.url
        if _host(url) not in allowed:
            self.add(Check.failed("hosted-scope", f"This badge is hosted on {_host(url)}, which the issuer "
                                  f"({_host(issuer_id)}) does not allow for its badges.", url=url))
            return
        if prefixes and not any(url.startswith(p) for p in prefixes):
            self.add(Check.failed("hosted-scope", "This badge's address is outside the part of the website "
                                  "where the issuer says its badges are.", url=url, startsWith=prefixes))
            return
        if urlsplit(self.assertion.url).scheme != "https":
            self.add(Check.warning("hosted-scope", "The issuer serves this badge over plain http, which "
                                   "cannot guarantee it was not altered on the way."))
        self.secured = True
        self.add(Check.passed("hosted-scope", f"The issuer ({_host(issuer_id)}) hosts this badge.",
                              url=self.assertion.url))
