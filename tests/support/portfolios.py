"""Portfolios for tests: credentials added through the real import route, portfolios built and
published through the real learner pages."""
from __future__ import annotations

import re
from typing import Any

from tests.support.credentials import JwtIssuer


def add_credential(client: Any, token: str) -> int:
    """Paste a credential (JWT or JSON text) into the logged-in learner's wallet; return its id."""
    response = client.post("/credentials/add/paste", data={"credential": token})
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[-1])


def add_url(client: Any, url: str) -> int:
    """Import the credential at `url` into the logged-in learner's wallet; return its id."""
    response = client.post("/credentials/add/url", data={"url": url})
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[-1])


def create_portfolio(client: Any, title: str = "Data analyst application", headline: str = "") -> int:
    """Create a portfolio through the learner page; return its id."""
    response = client.post("/portfolios/new", data={"title": title, "headline": headline})
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(re.search(r"/portfolios/(\d+)/edit", response.headers["Location"]).group(1))


def save_portfolio(client: Any, portfolio_id: int, *, credentials: list[int] = (), pathways: list[int] = (),
                   evidence: bool = True, **fields: Any) -> Any:
    """Post the editor form: texts plus the chosen credentials (with or without evidence) and pathways."""
    data: dict[str, Any] = {"title": fields.pop("title", "Data analyst application"), **fields}
    data["credential"] = [str(c) for c in credentials]
    data["pathway"] = [str(p) for p in pathways]
    if evidence:
        data.update({f"evidence-{c}": "on" for c in credentials})
    return client.post(f"/portfolios/{portfolio_id}/edit", data=data, content_type="multipart/form-data")


def slug_of(session: Any, portfolio_id: int) -> str:
    """Return the portfolio's current link slug, read from the database."""
    from wallet.models import Portfolio

    session.expire_all()
    return session.get(Portfolio, portfolio_id).slug


def published_portfolio(client: Any, session: Any, credential_ids: list[int], *, visibility: str = "unlisted",
                        title: str = "Data analyst application", **fields: Any) -> tuple[int, str]:
    """Create, fill (editor fields as keywords) and publish a portfolio; return (id, slug)."""
    portfolio_id = create_portfolio(client, title)
    response = save_portfolio(client, portfolio_id, credentials=credential_ids, title=title, **fields)
    assert response.status_code == 302, response.get_data(as_text=True)
    response = client.post(f"/portfolios/{portfolio_id}/publish", data={"visibility": visibility})
    assert response.status_code == 302, response.get_data(as_text=True)
    return portfolio_id, slug_of(session, portfolio_id)


def two_issuers() -> tuple[JwtIssuer, JwtIssuer]:
    """Return two issuers with distinct names and keys."""
    return JwtIssuer(name="Riverside College"), JwtIssuer(name="Northgate Institute")


def ld_credential(*, name: str = "Linked Data Badge", email: str = "learner@example.org",
                  issuer_name: str = "Proof Academy") -> dict[str, Any]:
    """Return an OB 3.0 credential signed with an embedded eddsa-rdfc-2022 proof by a did:key issuer."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from wallet.services.verification import dataintegrity

    key = Ed25519PrivateKey.generate()
    did = dataintegrity.did_key_for(key.public_key())
    document = JwtIssuer(name=issuer_name).credential(name=name, email=email)
    document["issuer"]["id"] = did
    return dataintegrity.sign_document(document, private_key=key,
                                       verification_method=f"{did}#{did.removeprefix('did:key:')}")
