"""A learner's whole wallet for tests: credentials of several kinds, evidence, words, a pathway,
a published portfolio and a share link, all made through the real services."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from tests.support.credentials import HostedIssuer, JwtIssuer, bake_png_jwt, png_image, tampered_jwt
from wallet.models import User
from wallet.services import credentials as credential_service
from wallet.services import evidence as evidence_service
from wallet.services import importing, share_links
from wallet.services import pathways as pathway_service
from wallet.services import portfolios as portfolio_service
from wallet.services.blobs import blob_store_from_config
from wallet.services.http import fetcher_from_config

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def importer_for(app: Any, user: User) -> importing.Importer:
    """Return an Importer for `user` with the app's real fetcher and blob store."""
    return importing.Importer(fetch=fetcher_from_config(app.config),
                              blobs=blob_store_from_config(app.config, app.instance_path),
                              owner_id=user.id, recipients=user.verified_addresses)


@dataclass
class Wallet:
    user: User
    credential_ids: list[int]
    pathway_id: int
    portfolio_id: int


def fill_wallet(app: Any, session: Session, user: User, *, hosted: HostedIssuer | None = None) -> Wallet:
    """Give `user` a full wallet and commit it."""
    issuer = JwtIssuer(name="Northbridge College")
    email = user.verified_addresses[0]
    importer = importer_for(app, user)
    blobs = importer.blobs
    items = [
        importing.import_paste(session, importer, issuer.jwt(name="Data Analysis", email=email, tags=["data"], skills=["SQL"])),
        importing.import_upload(session, importer, importing.Upload(
            "baked badge.png", bake_png_jwt(issuer.jwt(name="Web Basics", email=email), png_image("orange")), "image/png")),
    ]
    # A forged copy first, then the genuine one, which replaces it: the credential has an earlier copy.
    leadership = issuer.jwt(name="Team Leadership", email=email)
    importing.import_paste(session, importer, tampered_jwt(leadership, name="Team Leadership (forged)"))
    items.append(importing.import_paste(session, importer, leadership))
    if hosted is not None:
        items.append(importing.import_url(session, importer, hosted.assertion(name="Robotics", email=email)))
    ids = [item.credential.id for item in items]
    first, second = ids[0], ids[1]
    credential_service.update_learner_text(session, user.id, first, description="I *loved* this course.",
                                           reflection="Joins were hard at first.", tags=["favourite", "2026"])
    credential_service.update_learner_text(session, user.id, second, tags=["web"])
    evidence_service.add_text(session, user.id, first, title="Notes", text="What I learned, week by week.")
    evidence_service.add_link(session, user.id, first, url="https://example.org/my-project", title="My project")
    evidence_service.add_file(session, user.id, first, filename="report.pdf", data=PDF, blobs=blobs, title="Report")
    evidence_service.add_file(session, user.id, second, filename="screen.png", data=png_image("green"), blobs=blobs)
    evidence_service.add_file(session, user.id, second, filename="notes.txt", data="plain notes\n".encode(), blobs=blobs)
    pathway = pathway_service.import_template(session, user.id, """{
      "format": "wallet-pathway", "version": 1, "title": "Analyst track", "publisher": "Northbridge College",
      "steps": [
        {"title": "The data course", "rule": {"kind": "credential", "credential_id": %d}},
        {"title": "Anything web", "rule": {"kind": "tag", "tag": "web"}}
      ]}""" % first)
    portfolio = portfolio_service.create_portfolio(session, user.id, title="Job application", headline="Data person",
                                                   about="Hello **there**.")
    portfolio_service.set_items(session, user.id, portfolio.id, credentials=[(first, True), (second, False)],
                                pathways=[pathway.id])
    portfolio_service.update_portfolio(session, user.id, portfolio.id, show_contact=True,
                                       contact_url="https://example.org/me",
                                       contact_email=user.verified_addresses[0])
    portfolio_service.set_photo(session, user.id, portfolio.id, png_image("purple", (40, 40)), blobs)
    portfolio_service.publish(session, user.id, portfolio.id)
    share_links.share_credential(session, user.id, second, include_evidence=True)
    session.commit()
    return Wallet(user, ids, pathway.id, portfolio.id)
