"""The learner's dashboard: an empty state that teaches, then counts, attention and recent credentials."""
from __future__ import annotations

from tests.support.credentials import JwtIssuer
from wallet.models.credential import Credential


def _import(client, token: str) -> None:
    response = client.post("/credentials/add/paste", data={"credential": token}, follow_redirects=False)
    assert response.status_code in (302, 303), response.data[:500]


def test_dashboard_without_credentials_teaches_how_to_add_one(client, login, make_user) -> None:
    login(make_user())
    page = client.get("/").get_data(as_text=True)
    assert "Your wallet is ready" in page
    assert "/credentials/add" in page


def test_dashboard_counts_states_and_providers_and_lists_recent(client, login, make_user, session) -> None:
    user = make_user()
    login(user)
    first, second = JwtIssuer(name="North Academy"), JwtIssuer(name="South College")
    _import(client, first.jwt(name="Statistics 101", email=user.emails[0].address))
    _import(client, second.jwt(name="Team Leadership", email=user.emails[0].address))
    revoked = session.query(Credential).filter_by(name="Team Leadership").one()
    revoked.status = "revoked"
    session.commit()
    page = client.get("/").get_data(as_text=True)
    assert "Your wallet is ready" not in page
    assert '<span class="stat-number">2</span>\n      <span class="stat-label">credentials' in page
    assert '<span class="stat-number">1</span>\n      <span class="stat-label">verified' in page
    assert '<span class="stat-number">2</span>\n      <span class="stat-label">providers' in page
    attention = page.split('id="attention-title"')[1].split("</section>")[0]
    assert "Team Leadership" in attention and "Revoked by issuer" in attention
    assert "Statistics 101" not in attention
    recent = page.split('id="recent-title"')[1]
    assert recent.index("Team Leadership") < recent.index("Statistics 101")


def test_dashboard_shows_only_the_learners_own_credentials(client, login, make_user) -> None:
    owner, other = make_user(), make_user()
    login(owner)
    _import(client, JwtIssuer().jwt(name="Owner's Badge", email=owner.emails[0].address))
    login(other)
    page = client.get("/").get_data(as_text=True)
    assert "Owner&#39;s Badge" not in page and "Owner's Badge" not in page
    assert "Your wallet is ready" in page
