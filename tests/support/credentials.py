"""Credentials for tests, signed with real keys: OB 3.0 VC-JWTs (did:jwk), LD-proof credentials
(did:key, eddsa-rdfc-2022), and OB 2.0 hosted assertions served by a DocumentServer."""
from __future__ import annotations

import base64
import io
import json
import stat
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwcrypto.jwk import JWK
from PIL import Image

from tests.support.servers import DocumentServer, Response
from wallet.services.demo import achievement_credential, sign_vc_jwt
from wallet.services.verification.dataintegrity import did_key_for, sign_document

ISSUER_HOST = "https://issuer.example"


def png_image(colour: str = "navy", size: tuple[int, int] = (64, 64)) -> bytes:
    """Return a small real PNG."""
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass
class JwtIssuer:
    """An OB 3.0 issuer identified by a did:jwk of a fresh Ed25519 key (verifiable offline)."""

    name: str = "Test Academy"
    key: JWK = field(default_factory=lambda: JWK.generate(kty="OKP", crv="Ed25519"))

    @property
    def did(self) -> str:
        public = json.loads(self.key.export_public())
        return "did:jwk:" + _b64url(json.dumps(public, separators=(",", ":")).encode())

    def credential(
        self,
        *,
        name: str = "Data Analysis Fundamentals",
        description: str = "Awarded for completing the data analysis course.",
        email: str = "learner@example.org",
        image: str | None = None,
        criteria: str = "Pass all **four** modules.",
        tags: list[str] | None = None,
        skills: list[str] | None = None,
        valid_from: datetime | None = None,
        valid_until: datetime | None = None,
        credential_id: str | None = None,
    ) -> dict[str, Any]:
        """Return an OB 3.0 OpenBadgeCredential (unsigned) issued by this issuer."""
        valid_from = valid_from or datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=30)
        return achievement_credential(
            issuer_id=self.did, issuer_name=self.name, credential_id=credential_id or f"urn:uuid:{uuid.uuid4()}",
            name=name, description=description, email=email, criteria=criteria, image=image, tags=tags or (),
            skills=skills or (), valid_from=_iso(valid_from), valid_until=_iso(valid_until) if valid_until else None)

    def sign(self, credential: dict[str, Any]) -> str:
        """Return the credential as an OB 3.0 VC-JWT (the `vc` claim, with iss/jti/nbf/exp)."""
        return sign_vc_jwt(credential, self.key, self.did)

    def jwt(self, **kwargs: Any) -> str:
        """Return a signed VC-JWT credential; keyword arguments as for `credential`."""
        return self.sign(self.credential(**kwargs))


@dataclass
class LdIssuer:
    """An OB 3.0 issuer identified by the did:key of a fresh Ed25519 key, signing with eddsa-rdfc-2022."""

    name: str = "Linked Data Academy"
    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)

    @property
    def did(self) -> str:
        return did_key_for(self.key.public_key())

    def signed(self, **kwargs: Any) -> dict[str, Any]:
        """Return a credential with a Data Integrity proof; keyword arguments as for JwtIssuer.credential."""
        credential = JwtIssuer.credential(self, **kwargs)  # type: ignore[arg-type]
        method = self.did + "#" + self.did.removeprefix("did:key:")
        return sign_document(credential, private_key=self.key, verification_method=method)


def tampered_jwt(token: str, **changes: Any) -> str:
    """Return the VC-JWT with fields of its credential changed and the signature left as it was."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["vc"].update(changes)
    return ".".join([header, _b64url(json.dumps(claims).encode()), signature])


def bake_png_jwt(token: str, image: bytes | None = None) -> bytes:
    """Return a PNG with the VC-JWT baked in (OB 3.0 baking)."""
    from wallet.services.verification.extract import OB3_KEYWORD, bake_png

    return bake_png(image or png_image(), token, OB3_KEYWORD)


@dataclass
class HostedIssuer:
    """An OB 2.0 issuer whose assertions, badge classes and profile a DocumentServer serves.

    URLs use https://issuer.example; the app's URL_REWRITE maps them to the server (see `rewrite`).
    """

    server: DocumentServer
    name: str = "Hosted Issuer"
    badges: int = 0

    @property
    def rewrite(self) -> dict[str, str]:
        return {ISSUER_HOST + "/": self.server.base_url + "/"}

    def serve(self, path: str, document: dict[str, Any] | bytes, content_type: str = "application/json") -> str:
        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        # no-store: a re-check in the same test must reach the server, not the fetcher's cache.
        self.server.routes[path] = Response(body, content_type=content_type, headers={"Cache-Control": "no-store"})
        return ISSUER_HOST + path

    def assertion(self, *, name: str = "Hosted Badge", email: str = "learner@example.org",
                  description: str = "A hosted Open Badges 2.0 badge.", image: str | None = None,
                  revoked: bool = False) -> str:
        """Serve a hosted OB 2.0 assertion (with its BadgeClass and issuer) and return its URL."""
        self.badges += 1
        number = self.badges
        issuer_url = self.serve("/issuer.json", {
            "@context": "https://w3id.org/openbadges/v2", "type": "Issuer", "id": ISSUER_HOST + "/issuer.json",
            "name": self.name, "url": ISSUER_HOST + "/", "email": "badges@issuer.example"})
        badge_url = self.serve(f"/badges/{number}.json", {
            "@context": "https://w3id.org/openbadges/v2", "type": "BadgeClass", "id": f"{ISSUER_HOST}/badges/{number}.json",
            "name": name, "description": description, "image": image or self.serve(f"/badges/{number}.png", png_image("teal"), "image/png"),
            "criteria": {"narrative": "Build and document a working project."}, "issuer": issuer_url,
            "tags": ["hosted", "testing"]})
        assertion_url = f"{ISSUER_HOST}/assertions/{number}.json"
        assertion: dict[str, Any] = {
            "@context": "https://w3id.org/openbadges/v2", "type": "Assertion", "id": assertion_url,
            "recipient": {"type": "email", "hashed": False, "identity": email},
            "badge": badge_url, "issuedOn": "2026-03-01T10:00:00Z", "verification": {"type": "hosted"}}
        if revoked:
            assertion["revoked"] = True
        return self.serve(f"/assertions/{number}.json", assertion)


def zip_of(entries: dict[str, bytes], symlinks: tuple[str, ...] = ()) -> bytes:
    """Return a ZIP (deflated) holding `entries` by name, and symbolic links named `symlinks` to /etc/passwd."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
        for name in symlinks:
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return out.getvalue()
