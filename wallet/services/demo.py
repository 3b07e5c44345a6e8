"""Demo data for `make run`: a learner to log in as, with credentials, a pathway, a portfolio and a share link."""
from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from jwcrypto.jwk import JWK
from sqlalchemy.orm import Session

from wallet.models import Credential, User
from wallet.models.pathway import Pathway
from wallet.models.portfolio import UNLISTED, CredentialShare, Portfolio
from wallet.services import accounts, evidence, pathways, portfolios, share_links
from wallet.services.blobs import BlobStore
from wallet.services.importing import ImportItem, Importer, Upload, import_upload
from wallet.services.verification.dataintegrity import did_key_for, sign_document
from wallet.services.verification.extract import OB3_KEYWORD, bake_png, bake_svg
from wallet.services.verification.fetching import offline_fetch
from wallet.services.verification.jose import sign_compact

DEMO_EMAIL = "demo@example.org"
DEMO_NAME = "Demo Learner"
# Printed by `wallet demo`; the demo account is for trying Wallet on your own machine only.
DEMO_PASSWORD = "demo-wallet-password"


def ensure_demo_learner(session: Session) -> tuple[User, str]:
    """Return the demo learner, creating it (with a verified address) if missing, and its password.

    Idempotent: a second call finds the same account. The password is the one printed, unless
    someone changed it through the app.
    """
    user = accounts.find_user_by_email(session, DEMO_EMAIL)
    if user is None:
        user = accounts.register(session, display_name=DEMO_NAME, email=DEMO_EMAIL, password=DEMO_PASSWORD,
                                 verified=True)
    return user, DEMO_PASSWORD


# ---------------------------------------------------------------------------------------------
# Demo credentials: two providers with real keys, credentials imported through the real import.

DEMO_KEYS_FILE = "demo-keys.json"
DEMO_DIR = Path(__file__).resolve().parent.parent / "demo"
OB3_CONTEXTS = ["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]


@dataclass(frozen=True)
class DemoProviders:
    """The demo issuers' private keys: an OB 3.0 did:key issuer (eddsa-rdfc-2022) and a did:jwk VC-JWT issuer."""

    ld_key: Ed25519PrivateKey
    jwt_key: JWK

    @property
    def ld_did(self) -> str:
        return did_key_for(self.ld_key.public_key())

    @property
    def jwt_did(self) -> str:
        public = json.loads(self.jwt_key.export_public())
        encoded = base64.urlsafe_b64encode(json.dumps(public, separators=(",", ":")).encode()).rstrip(b"=")
        return "did:jwk:" + encoded.decode("ascii")


def demo_providers(keys_path: Path) -> DemoProviders:
    """Load the demo providers' keys, generating them on first use (kept so re-runs stay idempotent)."""
    if keys_path.exists():
        stored = json.loads(keys_path.read_text())
        ld_key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(stored["ld_key"]))
        return DemoProviders(ld_key, JWK.from_json(stored["jwt_key"]))
    providers = DemoProviders(Ed25519PrivateKey.generate(), JWK.generate(kty="OKP", crv="Ed25519"))
    raw = providers.ld_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    keys_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = keys_path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"ld_key": base64.b64encode(raw).decode(), "jwt_key": providers.jwt_key.export()}))
    tmp.chmod(0o600)
    tmp.replace(keys_path)
    return providers


def achievement_credential(
    *,
    issuer_id: str,
    issuer_name: str,
    credential_id: str,
    name: str,
    description: str,
    email: str,
    valid_from: str,
    valid_until: str | None = None,
    criteria: str = "",
    image: str | None = None,
    tags: Sequence[str] = (),
    skills: Sequence[str] = (),
    framework_skills: Sequence[tuple[str, str, str]] = (),
) -> dict[str, Any]:
    """Return an unsigned OB 3.0 OpenBadgeCredential for a learner identified by `email`.

    `skills` are plain skill names; `framework_skills` are (framework, code, name) from a skills
    framework such as DigComp or SFIA, which pathway templates match by framework and code.
    """
    achievement: dict[str, Any] = {
        "id": f"{credential_id}#achievement",
        "type": ["Achievement"],
        "name": name,
        "description": description,
        "criteria": {"narrative": criteria or f"Complete {name}."},
    }
    if image:
        achievement["image"] = {"id": image, "type": "Image"}
    if tags:
        achievement["tag"] = list(tags)
    if skills or framework_skills:
        achievement["alignment"] = [{"type": ["Alignment"], "targetName": skill,
                                     "targetUrl": f"https://skills.example.org/{skill.lower().replace(' ', '-')}"}
                                    for skill in skills]
        achievement["alignment"] += [
            {"type": ["Alignment"], "targetName": skill, "targetFramework": framework, "targetCode": code,
             "targetUrl": f"https://skills.example.org/{framework.lower().replace(' ', '-')}/{code.lower()}"}
            for framework, code, skill in framework_skills]
    credential: dict[str, Any] = {
        "@context": OB3_CONTEXTS,
        "id": credential_id,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": issuer_id, "type": ["Profile"], "name": issuer_name},
        "validFrom": valid_from,
        "name": name,
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [{"type": "IdentityObject", "identityHash": email, "identityType": "emailAddress",
                            "hashed": False}],
            "achievement": achievement,
        },
    }
    if valid_until:
        credential["validUntil"] = valid_until
    return credential


def sign_vc_jwt(credential: dict[str, Any], key: JWK, issuer_did: str) -> str:
    """Return `credential` as an OB 3.0 VC-JWT: the `vc` claim with iss, jti, nbf (and exp)."""
    claims: dict[str, Any] = {"vc": credential, "iss": issuer_did, "jti": credential["id"],
                              "nbf": int(datetime.fromisoformat(credential["validFrom"]).timestamp())}
    if "validUntil" in credential:
        claims["exp"] = int(datetime.fromisoformat(credential["validUntil"]).timestamp())
    return sign_compact(claims, key, "EdDSA", header={"typ": "JWT", "kid": issuer_did + "#0"})


def _data_uri(path: Path, media_type: str) -> str:
    return f"data:{media_type};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _demo_uploads(providers: DemoProviders, email: str) -> list[tuple[Upload, list[tuple[str, str, str]]]]:
    """Return the demo credentials as files, each with its evidence: (kind, title, text or URL)."""
    northwind = {"issuer_id": providers.ld_did, "issuer_name": "Northwind Academy", "email": email}
    riverside = {"issuer_id": providers.jwt_did, "issuer_name": "Riverside College", "email": email}
    method = providers.ld_did + "#" + providers.ld_did.removeprefix("did:key:")

    def signed_json(credential: dict[str, Any]) -> str:
        # Fixed `created` keeps the demo credentials identical from one run to the next.
        return json.dumps(sign_document(credential, private_key=providers.ld_key, verification_method=method,
                                        created=datetime(2026, 1, 10, tzinfo=timezone.utc)), indent=2)

    python = signed_json(achievement_credential(
        **northwind, credential_id="urn:uuid:6b0c2f4e-9a51-4c2e-8d0e-0d3c1f6a0001", name="Python Fundamentals",
        description="Writes, tests and debugs small Python programs.", valid_from="2026-02-14T09:00:00Z",
        criteria="Complete the **six** modules and pass the final project review.",
        tags=["python", "programming"], skills=["Python programming", "Problem solving"],
        framework_skills=[("SFIA 8", "PROG", "Programming/software development"),
                          ("DigComp 2.2", "1.3", "Managing data, information and digital content")]))
    charts = signed_json(achievement_credential(
        **northwind, credential_id="urn:uuid:6b0c2f4e-9a51-4c2e-8d0e-0d3c1f6a0002", name="Data Visualisation",
        description="Turns data into clear, honest charts.", valid_from="2026-05-02T09:00:00Z",
        tags=["data"], framework_skills=[
            ("SFIA 8", "VISL", "Data visualisation"),
            ("DigComp 2.2", "1.1", "Browsing, searching and filtering data, information and digital content")]))
    ethics = signed_json(achievement_credential(
        **northwind, credential_id="urn:uuid:6b0c2f4e-9a51-4c2e-8d0e-0d3c1f6a0003", name="Responsible AI",
        description="Knows the risks of automated decisions and how to reduce them.",
        valid_from="2025-01-20T09:00:00Z", valid_until="2025-12-31T23:59:59Z", tags=["ai", "ethics"],
        framework_skills=[("DigComp 2.2", "4.2", "Protecting personal data and privacy")],
        image=_data_uri(DEMO_DIR / "responsible-ai.png", "image/png")))
    leadership = sign_vc_jwt(achievement_credential(
        **riverside, credential_id="urn:uuid:0f7d4c1a-2b3e-4d5f-9a6b-7c8d9e0f0004", name="Team Leadership",
        description="Led a team of five through a ten-week project.", valid_from="2026-06-20T12:00:00Z",
        tags=["leadership"], skills=["Leadership", "Planning"]), providers.jwt_key, providers.jwt_did)
    speaking = sign_vc_jwt(achievement_credential(
        **riverside, credential_id="urn:uuid:0f7d4c1a-2b3e-4d5f-9a6b-7c8d9e0f0005", name="Public Speaking",
        description="Gave three talks to audiences of fifty or more.", valid_from="2026-09-05T12:00:00Z",
        tags=["communication"]), providers.jwt_key, providers.jwt_did)
    return [
        (Upload("python-fundamentals.png", bake_png((DEMO_DIR / "python-fundamentals.png").read_bytes(), python,
                                                    OB3_KEYWORD)),
         [("text", "What I built", "A command-line **budget tracker** with tests for every function."),
          ("link", "Project repository", "https://example.org/demo/budget-tracker")]),
        (Upload("data-visualisation.svg", bake_svg((DEMO_DIR / "data-visualisation.svg").read_bytes(), charts,
                                                   OB3_KEYWORD)),
         [("link", "Dashboard I made", "https://example.org/demo/air-quality-dashboard")]),
        (Upload("responsible-ai.json", ethics.encode("utf-8")), []),
        (Upload("team-leadership.png", bake_png((DEMO_DIR / "team-leadership.png").read_bytes(), leadership,
                                                OB3_KEYWORD)),
         [("text", "Reflection", "Planning the work *with* the team, not for it, made the difference.")]),
        (Upload("public-speaking.jwt", speaking.encode("ascii")), []),
    ]


def ensure_demo_credentials(session: Session, user: User, *, blobs: BlobStore, keys_path: Path) -> list[ImportItem]:
    """Import the demo learner's credentials (with evidence) through the import service; idempotent.

    The credentials verify offline (did:key and did:jwk), so nothing is fetched.
    """
    importer = Importer(fetch=offline_fetch, blobs=blobs, owner_id=user.id, recipients=user.verified_addresses)
    email = user.verified_addresses[0] if user.verified_addresses else DEMO_EMAIL
    items = []
    for upload, evidence_items in _demo_uploads(demo_providers(keys_path), email):
        item = import_upload(session, importer, upload)
        if item.created and item.credential is not None:
            for kind, title, value in evidence_items:
                if kind == "text":
                    evidence.add_text(session, user.id, item.credential.id, title=title, text=value)
                else:
                    evidence.add_link(session, user.id, item.credential.id, title=title, url=value)
        items.append(item)
    return items


# ---------------------------------------------------------------------------------------------
# What the demo learner shows: a pathway in progress, a published portfolio and a shared credential,
# made through the same services as the pages.

# The demo credentials meet three of its six steps (finding, managing and presenting data); the
# expired Responsible AI credential matches the privacy step but does not count.
DEMO_PATHWAY_TEMPLATE = "data-literacy-series"
DEMO_PORTFOLIO_TITLE = "Data and teamwork"
DEMO_PORTFOLIO_HEADLINE = "Junior data analyst: Python, clear charts and a team that plans together"
DEMO_PORTFOLIO_ABOUT = (
    "I build small, tested tools in **Python** and turn the data they collect into charts people can read "
    "at a glance. Last year I led a team of five through a ten-week project.\n\n"
    "Each credential below was signed by the provider that awarded it. Open one to see what was checked "
    "and when, or download the original to check it yourself."
)
# Shown in the portfolio in this order, each with the learner's evidence.
DEMO_PORTFOLIO_CREDENTIALS = ("Python Fundamentals", "Data Visualisation", "Team Leadership")
DEMO_SHARED_CREDENTIAL = "Python Fundamentals"


@dataclass
class DemoShowcase:
    """The demo learner's pathway, published portfolio and credential share link."""

    pathway: Pathway
    portfolio: Portfolio
    share: CredentialShare
    # What this run made: any of "pathway", "portfolio", "share link" (empty on a second run).
    created: list[str]


def ensure_demo_pathway(session: Session, user: User) -> tuple[Pathway, bool]:
    """Return the demo learner's pathway adopted from the example template, adopting it if missing."""
    existing = next((p for p in pathways.list_pathways(session, user.id)
                     if p.source_template == DEMO_PATHWAY_TEMPLATE), None)
    if existing is not None:
        return existing, False
    return pathways.create_from_example(session, user.id, DEMO_PATHWAY_TEMPLATE), True


def ensure_demo_portfolio(session: Session, user: User, credentials: Mapping[str, Credential],
                          pathway: Pathway) -> tuple[Portfolio, bool]:
    """Return the demo portfolio, creating and publishing it (unlisted) if missing.

    An existing one is left as the learner made it, even withdrawn or made private.
    """
    existing = next((p for p in portfolios.list_portfolios(session, user.id) if p.title == DEMO_PORTFOLIO_TITLE), None)
    if existing is not None:
        return existing, False
    portfolio = portfolios.create_portfolio(session, user.id, title=DEMO_PORTFOLIO_TITLE,
                                            headline=DEMO_PORTFOLIO_HEADLINE, about=DEMO_PORTFOLIO_ABOUT)
    portfolios.set_items(session, user.id, portfolio.id,
                         credentials=[(credentials[name].id, True) for name in DEMO_PORTFOLIO_CREDENTIALS],
                         pathways=[pathway.id])
    return portfolios.publish(session, user.id, portfolio.id, UNLISTED), True


def ensure_demo_share(session: Session, user: User, credential: Credential) -> tuple[CredentialShare, bool]:
    """Return the credential's share link, sharing it with its evidence if it never was."""
    existing = share_links.get_share(session, user.id, credential.id)
    if existing is not None:
        return existing, False
    return share_links.share_credential(session, user.id, credential.id, include_evidence=True), True


def ensure_demo_showcase(session: Session, user: User, items: Sequence[ImportItem]) -> DemoShowcase:
    """Give the demo learner a pathway, a published portfolio and a shared credential; idempotent.

    `items` are the demo credentials as ensure_demo_credentials returned them.
    """
    by_name = {item.credential.name: item.credential for item in items if item.credential is not None}
    pathway, new_pathway = ensure_demo_pathway(session, user)
    portfolio, new_portfolio = ensure_demo_portfolio(session, user, by_name, pathway)
    share, new_share = ensure_demo_share(session, user, by_name[DEMO_SHARED_CREDENTIAL])
    created = [what for what, new in (("pathway", new_pathway), ("portfolio", new_portfolio),
                                      ("share link", new_share)) if new]
    return DemoShowcase(pathway, portfolio, share, created)
