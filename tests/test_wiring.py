"""The app's collaborators are built once per app from its config (wallet/wiring.py)."""
from __future__ import annotations

from pathlib import Path

from wallet.services import ratelimit
from wallet.services.http import fetcher_from_config
from wallet.services.portfolios import new_slug
from wallet.wiring import LIMITS, collaborators


def test_collaborators_built_once_are_the_same_objects_on_every_request(app) -> None:
    built = collaborators(app)
    assert collaborators() is built
    assert built.blobs is collaborators().blobs
    assert built.blobs.root == Path(app.instance_path) / "blobs"
    assert built.fetcher is fetcher_from_config(app.config)
    # The limiters the tests' clock replaces are the ones the routes use.
    assert built.limiters is ratelimit.limiters(app.extensions)


def test_collaborators_blob_dir_comes_from_the_config(make_app, tmp_path: Path) -> None:
    other = make_app(BLOB_DIR=str(tmp_path / "elsewhere"))
    assert collaborators(other).blobs.root == tmp_path / "elsewhere"


def test_import_fetch_each_importer_gets_its_own_deadline(app) -> None:
    built = collaborators(app)
    first, second = built.import_fetch(), built.import_fetch()
    assert first is not second
    assert first.fetcher is second.fetcher is built.fetcher
    assert first.seconds == float(app.config["IMPORT_DEADLINE_SECONDS"])


def test_limiter_every_limit_reads_its_config(app) -> None:
    for name, spec in LIMITS.items():
        app.config[spec.limit_key] = 7
        assert collaborators(app).limiter(name).limit == 7, name


def test_public_link_misses_limit_lifts_when_the_rate_clock_passes_the_window(app, client, rate_clock) -> None:
    app.config["PUBLIC_LINK_MISSES_PER_CLIENT"] = 2
    statuses = [client.get(f"/p/{new_slug()}").status_code for _ in range(3)]
    assert statuses == [404, 404, 429]
    rate_clock.advance(601)
    assert client.get(f"/p/{new_slug()}").status_code == 404
