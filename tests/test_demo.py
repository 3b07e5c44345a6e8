"""The living demo: a pathway the demo credentials partly meet, a published portfolio and a share link."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from wallet.models import Credential, Evidence
from wallet.models.pathway import Pathway
from wallet.models.portfolio import UNLISTED, CredentialShare, Portfolio, PortfolioItem
from wallet.services import pathways, portfolios
from wallet.services.blobs import blob_store_from_config
from wallet.services.demo import (
    DEMO_PATHWAY_TEMPLATE,
    DEMO_PORTFOLIO_CREDENTIALS,
    DEMO_PORTFOLIO_HEADLINE,
    DEMO_PORTFOLIO_TITLE,
    DEMO_SHARED_CREDENTIAL,
    DemoShowcase,
    ensure_demo_credentials,
    ensure_demo_learner,
    ensure_demo_showcase,
)

_MODELS = (Credential, Evidence, Pathway, Portfolio, PortfolioItem, CredentialShare)


def _run_demo(app: Any, session: Any, keys_path: Path) -> DemoShowcase:
    user, _ = ensure_demo_learner(session)
    session.flush()
    items = ensure_demo_credentials(session, user, blobs=blob_store_from_config(app.config, app.instance_path),
                                    keys_path=keys_path)
    showcase = ensure_demo_showcase(session, user, items)
    session.commit()
    return showcase


def _counts(session: Any) -> dict[str, int]:
    return {model.__name__: session.scalar(select(func.count()).select_from(model)) for model in _MODELS}


def test_ensure_demo_showcase_run_twice_creates_nothing_new(app, session, tmp_path):
    first = _run_demo(app, session, tmp_path / "keys.json")
    counts = _counts(session)
    second = _run_demo(app, session, tmp_path / "keys.json")
    assert first.created == ["pathway", "portfolio", "share link"]
    assert second.created == []
    assert _counts(session) == counts
    assert counts == {"Credential": 5, "Evidence": 4, "Pathway": 1, "Portfolio": 1, "PortfolioItem": 4,
                      "CredentialShare": 1}
    assert (second.pathway.id, second.portfolio.id, second.share.id) == (first.pathway.id, first.portfolio.id,
                                                                        first.share.id)
    assert second.portfolio.slug == first.portfolio.slug and second.share.slug == first.share.slug


def test_demo_pathway_progress_is_partial_with_the_expired_credential_not_counting(app, session, tmp_path):
    showcase = _run_demo(app, session, tmp_path / "keys.json")
    assert showcase.pathway.source_template == DEMO_PATHWAY_TEMPLATE
    progress = pathways.pathway_progress(session, showcase.pathway.owner_id, showcase.pathway.id).progress
    assert 0 < progress.fraction < 1
    met = {node.step.id for node in progress.walk() if not node.is_group and node.is_met}
    assert met == {"find", "manage", "visualisation"}
    privacy = progress.find("privacy")
    assert privacy is not None and privacy.lost
    assert [(f.name, f.status) for f in privacy.not_counting] == [("Responsible AI", "expired")]


def test_demo_portfolio_is_published_unlisted_with_three_credentials_and_evidence(app, session, tmp_path):
    portfolio = _run_demo(app, session, tmp_path / "keys.json").portfolio
    assert (portfolio.title, portfolio.headline, portfolio.visibility) == (DEMO_PORTFOLIO_TITLE,
                                                                          DEMO_PORTFOLIO_HEADLINE, UNLISTED)
    assert portfolio.about and portfolios.is_public(portfolio)
    items = portfolio.credential_items
    assert [item.credential.name for item in items] == list(DEMO_PORTFOLIO_CREDENTIALS)
    assert all(item.include_evidence and item.credential.evidence for item in items)
    assert all(item.credential.status == "valid" for item in items)
    assert [item.pathway.source_template for item in portfolio.pathway_items] == [DEMO_PATHWAY_TEMPLATE]


def test_demo_public_pages_answer_anonymously(app, client, session, tmp_path):
    showcase = _run_demo(app, session, tmp_path / "keys.json")
    page = client.get(f"/p/{showcase.portfolio.slug}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert DEMO_PORTFOLIO_HEADLINE in text
    assert all(name in text for name in DEMO_PORTFOLIO_CREDENTIALS)
    assert "3 credentials from 2 providers" in text
    shared = client.get(f"/c/{showcase.share.slug}")
    assert shared.status_code == 200
    assert DEMO_SHARED_CREDENTIAL in shared.get_data(as_text=True)


def test_wallet_demo_command_prints_links_that_work(app, client):
    output = app.test_cli_runner().invoke(args=["demo", "--base-url", "http://wallet.test:8000"]).output
    assert re.search(r"^Demo pathway: Data Literacy Micro-credential Series, 50% done\.$", output, re.M), output
    portfolio = re.search(r"^Demo portfolio: http://wallet\.test:8000(/p/[\w-]{43})$", output, re.M)
    shared = re.search(r"^Demo shared credential: http://wallet\.test:8000(/c/[\w-]{43})$", output, re.M)
    assert portfolio and shared, output
    assert client.get(portfolio.group(1)).status_code == 200
    assert client.get(shared.group(1)).status_code == 200


def test_wallet_demo_command_leaves_a_withdrawn_portfolio_withdrawn(app, session):
    runner = app.test_cli_runner()
    runner.invoke(args=["demo"])
    portfolio = session.scalars(select(Portfolio)).one()
    portfolios.revoke_link(session, portfolio.owner_id, portfolio.id)
    session.commit()
    output = runner.invoke(args=["demo"]).output
    assert "Demo portfolio: not published now (publish it again from the Portfolios page)." in output
    assert "/p/" not in output
    session.refresh(portfolio)
    assert portfolio.link_revoked_at is not None and not portfolios.is_public(portfolio)
    assert session.scalar(select(func.count()).select_from(Portfolio)) == 1
