"""Re-check sweeps (services/recheck.py): the results reverify_credential records, concurrently, each document once."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import select

from tests.support.credentials import HostedIssuer, JwtIssuer
from tests.support.servers import DocumentServer, Response
from wallet.models import Credential
from wallet.services import recheck
from wallet.services.errors import FetchError
from wallet.services.http import GuardedFetcher
from wallet.services.recheck import SweepFetch, could_change, sweep
from wallet.wiring import collaborators


@pytest.fixture
def hosted(app_config: dict[str, Any]) -> Any:
    server = DocumentServer(keep_alive=True)
    issuer = HostedIssuer(server)
    app_config.update(ALLOW_PRIVATE_NETWORK=True, URL_REWRITE=issuer.rewrite)
    yield issuer
    server.close()


@pytest.fixture
def learner(make_user, login):
    user = make_user(email="learner@example.org")
    login(user)
    return user


def _add_url(client, url: str) -> int:
    response = client.post("/credentials/add/url", data={"url": url})
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("/", 1)[-1])


def _add_jwt(client, token: str) -> int:
    response = client.post("/credentials/add/paste", data={"credential": token})
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("/", 1)[-1])


def _sweep(app, ids: list[int], **options: Any) -> recheck.SweepSummary:
    wired = collaborators(app)
    return sweep(app.extensions["wallet.sessionmaker"], ids, fetch=wired.revalidating_fetch(), blobs=wired.blobs,
                 **options)


def test_sweep_records_states_and_history_like_a_single_recheck(hosted, app, client, learner, session):
    ids = [_add_url(client, hosted.assertion(name=f"Badge {n}")) for n in range(3)]
    hosted.server.routes["/assertions/2.json"] = Response(b"gone", 410, "text/plain", {"Cache-Control": "no-store"})

    summary = _sweep(app, ids)

    session.expire_all()
    credentials = {c.id: c for c in session.scalars(select(Credential))}
    assert [credentials[i].status for i in ids] == ["valid", "revoked", "valid"]
    assert all([r.trigger for r in credentials[i].verifications] == ["scheduled", "import"] for i in ids)
    assert all(credentials[i].latest_verification.conclusive for i in ids)
    assert credentials[ids[1]].latest_verification.status == "revoked"
    assert (summary.checked, summary.unchanged, summary.missing, summary.failed) == (3, 2, 0, 0)
    assert [(o.credential_id, o.previous_status, o.status) for o in summary.changed] == [(ids[1], "valid", "revoked")]


def test_sweep_fetches_each_document_once(hosted, app, client, learner):
    ids = [_add_url(client, hosted.assertion()) for _ in range(4)]
    hosted.server.requests.clear()

    summary = _sweep(app, ids + ids)  # an id given twice is re-checked once

    paths = [path for _, path, _ in hosted.server.requests]
    assert sorted(paths) == sorted(set(paths))
    assert paths.count("/issuer.json") == 1
    assert {f"/assertions/{n}.json" for n in range(1, 5)} <= set(paths)
    assert summary.checked == 4 and summary.fetches == len(paths)


def test_sweep_unreachable_issuer_keeps_last_states_and_is_asked_once_per_document(hosted, app, client, learner,
                                                                                   session):
    ids = [_add_url(client, hosted.assertion()) for _ in range(3)]
    hosted.server.routes.clear()
    hosted.server.routes["/issuer.json"] = Response(b"down", 503, "text/plain")
    for n in range(1, 4):
        hosted.server.routes[f"/assertions/{n}.json"] = Response(b"down", 503, "text/plain")
    hosted.server.requests.clear()

    summary = _sweep(app, ids)

    session.expire_all()
    assert all(session.get(Credential, i).status == "valid" for i in ids)
    assert all(session.get(Credential, i).recheck_failed_at is not None for i in ids)
    assert sorted(o.credential_id for o in summary.unreachable) == sorted(ids)
    paths = [path for _, path, _ in hosted.server.requests]
    # One fetch per document, with the fetcher's one retry of a 503 (docs/reliability.md §6).
    assert all(paths.count(f"/assertions/{n}.json") == 2 for n in range(1, 4)), paths
    assert all(paths.count(path) <= 2 for path in paths), paths


def test_sweep_missing_credential_is_counted_and_the_others_are_rechecked(hosted, app, client, learner, session):
    credential_id = _add_url(client, hosted.assertion())

    summary = _sweep(app, [credential_id + 1000, credential_id])

    assert (summary.checked, summary.missing) == (1, 1)
    session.expire_all()
    assert len(session.get(Credential, credential_id).verifications) == 2


def test_sweep_records_in_batches_and_calls_back_after_each_commit(app, client, learner, monkeypatch, session):
    issuer = JwtIssuer()
    ids = [_add_jwt(client, issuer.jwt(name=f"Badge {n}")) for n in range(5)]
    monkeypatch.setattr(recheck, "BATCH", 2)
    monkeypatch.setattr(recheck, "CHUNK", 2)
    seen: list[int] = []

    def committed(done: Any) -> None:
        # Another session sees the record at once: the batch was committed before the callback.
        with app.extensions["wallet.sessionmaker"]() as other:
            seen.append(len(other.get(Credential, done.credential.id).verifications))

    summary = _sweep(app, ids, workers=2, on_recheck=committed)

    assert summary.checked == 5 and seen == [2] * 5


def test_sweep_bad_settings_raise_value_error(app):
    with pytest.raises(ValueError):
        _sweep(app, [], workers=0)
    with pytest.raises(ValueError):
        _sweep(app, [], per_host=0)


# --- SweepFetch --------------------------------------------------------------------------------

class _SlowServer:
    """A kept-alive document server whose answers take 0.1 s, counting requests in progress at once."""

    def __init__(self) -> None:
        self.server = DocumentServer(keep_alive=True)
        self.lock = threading.Lock()
        self.now = self.most = 0

    def route(self, body: bytes) -> Callable[[Any], Response]:
        def answer(_handler: Any) -> Response:
            with self.lock:
                self.now += 1
                self.most = max(self.most, self.now)
            time.sleep(0.1)
            with self.lock:
                self.now -= 1
            return Response(body, headers={"Cache-Control": "no-store"})
        return answer


def _in_threads(count: int, work: Callable[[int], Any]) -> list[Any]:
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            results[index] = work(index)
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return results


def test_sweep_fetch_keeps_at_most_per_host_requests_in_flight():
    slow = _SlowServer()
    for n in range(12):
        slow.server.routes[f"/doc{n}"] = slow.route(f'{{"n": {n}}}'.encode())
    shared = SweepFetch(GuardedFetcher(allow_private_network=True), per_host=3)
    try:
        bodies = _in_threads(12, lambda n: shared(slow.server.url(f"/doc{n}")).body)
    finally:
        slow.server.close()

    assert bodies == [f'{{"n": {n}}}'.encode() for n in range(12)]
    assert 2 <= slow.most <= 3
    assert shared.most_in_flight == {"127.0.0.1": slow.most}


def test_sweep_fetch_same_document_from_many_threads_is_fetched_once():
    slow = _SlowServer()
    slow.server.routes["/list"] = slow.route(b'{"list": true}')
    shared = SweepFetch(GuardedFetcher(allow_private_network=True), per_host=4)
    try:
        bodies = _in_threads(8, lambda _n: shared(slow.server.url("/list")).body)
    finally:
        slow.server.close()

    assert bodies == [b'{"list": true}'] * 8
    assert len(slow.server.requests) == 1 and shared.fetches == 1


def test_sweep_fetch_failure_is_remembered_for_the_sweep():
    server = DocumentServer()
    server.routes["/gone"] = Response(b"", 404)
    shared = SweepFetch(GuardedFetcher(allow_private_network=True))
    try:
        for _ in range(3):
            with pytest.raises(FetchError):
                shared(server.url("/gone"))
    finally:
        server.close()

    assert len(server.requests) == 1


# --- Which credentials could change ------------------------------------------------------------

def test_could_change_offline_credential_without_dates_or_status_is_false(client, learner, session):
    credential = session.get(Credential, _add_jwt(client, JwtIssuer().jwt()))

    assert could_change(credential) is False


def test_could_change_hosted_expiring_listed_or_web_keyed_credential_is_true(hosted, client, learner, session):
    hosted_id = _add_url(client, hosted.assertion())
    expiring_id = _add_jwt(client, JwtIssuer().jwt(valid_until=datetime.now(timezone.utc) + timedelta(days=30)))
    offline = session.get(Credential, _add_jwt(client, JwtIssuer().jwt()))

    assert could_change(session.get(Credential, hosted_id))
    assert could_change(session.get(Credential, expiring_id))
    offline.document = {**offline.document, "credentialStatus": {"type": "BitstringStatusListEntry"}}
    assert could_change(offline)
    offline.document = {**offline.document, "credentialStatus": None, "issuer": {"id": "did:web:issuer.example"}}
    assert could_change(offline)


def test_sweep_credential_whose_original_is_missing_is_counted_failed_and_the_others_recorded(
        hosted, app, client, learner, session):
    ids = [_add_url(client, hosted.assertion()) for _ in range(2)]
    broken = session.get(Credential, ids[0])
    collaborators(app).blobs.path(broken.original_sha256).unlink()

    summary = _sweep(app, ids)

    assert (summary.checked, summary.failed, summary.missing) == (1, 1, 0)
    with app.extensions["wallet.sessionmaker"]() as other:  # not the session that read before the sweep
        assert len(other.get(Credential, ids[0]).verifications) == 1
        assert len(other.get(Credential, ids[1]).verifications) == 2
