"""Several requests writing at once through a real threaded server: each succeeds, none is lost."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import requests
from sqlalchemy import func, select

from tests.support.accounts import bearer
from tests.support.credentials import JwtIssuer
from wallet.models import Credential


def test_simultaneous_imports_all_succeed(live_server, make_user, api_token, session) -> None:
    user = make_user()
    headers = bearer(api_token(user))
    issuer = JwtIssuer()
    tokens = [issuer.jwt(name=f"Badge {n}", email=user.emails[0].address) for n in range(8)]

    def post(token: str) -> int:
        response = requests.post(f"{live_server.url}/api/v1/credentials", json={"credential": token},
                                 headers=headers, timeout=60)
        return response.status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(post, tokens))
    assert statuses == [201] * 8
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Credential).where(Credential.owner_id == user.id)) == 8
