"""OB 2.0 SignedBadge: a JWS checked with a key that the issuer's profile lists."""
from __future__ import annotations

from typing import Any

from jwcrypto.common import JWException
from jwcrypto.jwk import JWK

from wallet.services.verification import jose, values
from wallet.services.verification.errors import FetchError, JoseError
from wallet.services.verification.ob2.structure import _key_reference
from wallet.services.verification.ob2.terms import MAX_KEYS_TRIED
from wallet.services.verification.ob2.vocabulary import _verification_of
from wallet.services.verification.result import Check, CheckStatus, Status


class SignedSteps:
    """The SignedBadge steps of a run: check the JWS with a key the issuer's profile lists.

    Mixed into run.py's _Run, whose state (result, context, assertion, badge, issuer) it reads.
    """

    def _verify_signature(self) -> None:
        """OB 2.0 SignedBadge: check the JWS with a key the issuer's profile lists, then revocation."""
        assert self.presented.jws is not None and self.assertion is not None and self.issuer is not None
        parsed = jose.parse_compact(self.presented.jws)
        issuer = self.issuer.document
        issuer_id = issuer.get("id")
        if not self._from_own_origin(self.issuer.source, issuer_id):
            return  # the issuer check already says why the key cannot be tied to the issuer
        listed = [_key_reference(k) for k in values.as_list(issuer.get("publicKey"))]
        listed = [k for k in listed if k is not None]
        creator = _verification_of(self.assertion.document).get("creator")
        if not listed:
            self.add(Check.failed("signature", "The issuer's profile lists no public key, so the signature cannot "
                                  "be checked.", outcome=Status.UNVERIFIABLE))
            return
        if isinstance(creator, str):
            if creator not in {k for k, _ in listed}:
                self.add(Check.failed(
                    "signature", "The badge was signed with a key that the issuer's profile does not list, so the "
                    "signature cannot be tied to the issuer.", outcome=Status.UNVERIFIABLE, key=creator))
                return
            candidates = [(k, embedded) for k, embedded in listed if k == creator]
        else:
            candidates = listed[:MAX_KEYS_TRIED]
        outcome: Check | None = None
        for key_id, embedded in candidates:
            outcome = self._try_key(parsed, key_id, embedded, issuer_id, self.issuer.url)
            if outcome.status is CheckStatus.PASSED:
                break
        assert outcome is not None
        self.add(outcome)
        if outcome.status is CheckStatus.PASSED:
            self.secured = True
            self.result.credential = self.assertion.document
            self._check_revocation_list()

    def _try_key(self, parsed: jose.ParsedJws, key_id: str, embedded: dict[str, Any] | None, issuer_id: str,
                 issuer_url: str | None) -> Check:
        if embedded is not None:
            key_document = embedded
        else:
            try:
                key_document = self._fetch_document(key_id, role="key")
            except FetchError as error:
                return Check.failed("signature", f"Could not fetch the issuer's key: {error}",
                                    outcome=Status.UNVERIFIABLE, key=key_id)
        owner = key_document.get("owner")
        pem = key_document.get("publicKeyPem")
        owners = {v for v in (issuer_id, issuer_url) if v is not None}
        if embedded is not None and owner is None:
            owner = issuer_id  # a key embedded in the issuer's own profile is the issuer's
        elif embedded is None:
            self._note_identity(key_document, key_id, "key")
        if not isinstance(owner, str) or owner not in owners:
            # docs/security.md D8: a key controlled by someone else never verifies the issuer's badge.
            return Check.failed("signature", "The signing key belongs to someone other than the badge's issuer.",
                                key=key_id, owner=owner if isinstance(owner, str) else None)
        if not isinstance(pem, str):
            return Check.failed("signature", "The issuer's key has no public key (publicKeyPem).", key=key_id)
        try:
            jwk = JWK.from_pem(pem.encode("utf-8"))
        except (JWException, ValueError, TypeError):
            return Check.failed("signature", "The issuer's key is not a valid public key.", key=key_id)
        if jwk.has_private:
            return Check.failed("signature", "The issuer published a private key instead of a public one.",
                                key=key_id)
        try:
            jose.verify_signature(parsed, jwk)
        except JoseError as error:
            return Check.failed("signature", str(error), key=key_id)
        alg = parsed.header.get("alg")
        return Check.passed("signature", f"The signature ({alg}) matches a key the issuer publishes.",
                            key=key_id, alg=alg)
