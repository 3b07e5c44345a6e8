"""The app's collaborators, built once from its config when the app starts.

The guarded fetcher, the blob store, the rate limiters, the job queue and the importer factory live here, one set
per app in `app.extensions["wallet"]`. Routes, the CLI and the benchmarks ask for them
(`collaborators()` inside a request or app context, `collaborators(app)` outside one) and never
construct them. Limits are read from the config when a limiter is first asked for at that limit,
so a running app whose limits are changed (tests do) gets a limiter at the new limit.
"""
from __future__ import annotations

import importlib.metadata
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from sqlalchemy.orm import Session

from wallet.services import credentials as credential_service
from wallet.services import evidence as evidence_service
from wallet.queue import JobQueue, Scheduler, queue_from_config
from wallet.services import exchanges, importing, portability, providers, ratelimit
from wallet.services import jobs as job_service
from wallet.services.blobs import BlobStore, blob_store_from_config
from wallet.services.fragments import FragmentCache
from wallet.services.http import Fetch, GuardedFetcher, ImportDeadline, fetcher_from_config
from wallet.services.view_counts import ViewCounts

EXTENSION_KEY = "wallet"


@dataclass(frozen=True)
class Limit:
    """Where a limiter finds its limit and window in the config (a window key, or fixed seconds)."""

    limit_key: str
    window: str | int
    default_limit: int | None = None


# Every rate limit of the app, by name (docs/security.md F4, F6, A19): one place to see them all.
LIMITS: dict[str, Limit] = {
    "login-client": Limit("LOGIN_IP_MAX_FAILURES", "LOGIN_LOCKOUT_SECONDS"),
    "mail-address": Limit("MAIL_RATE_LIMIT_PER_ADDRESS", "MAIL_RATE_WINDOW_SECONDS"),
    "mail-client": Limit("MAIL_RATE_LIMIT_PER_CLIENT", "MAIL_RATE_WINDOW_SECONDS"),
    # One count per learner for the page and the API together (A19).
    "imports": Limit("IMPORT_RATE_LIMIT", "IMPORT_RATE_WINDOW_SECONDS"),
    # Public pages, per client (F4): "verify now", presentation downloads, and links that do not exist.
    "verify-now": Limit("VERIFY_NOW_PER_CLIENT", 600, 20),
    "presentations": Limit("PRESENTATIONS_PER_CLIENT", 600, 30),
    "link-misses": Limit("PUBLIC_LINK_MISSES_PER_CLIENT", 600, 60),
    # The OAuth authorization server: open registration and the token endpoint per client address,
    # authorization requests per learner.
    "oauth-register": Limit("OAUTH_REGISTER_RATE_LIMIT", "OAUTH_REGISTER_RATE_WINDOW_SECONDS"),
    "oauth-token": Limit("OAUTH_TOKEN_RATE_LIMIT", "OAUTH_RATE_WINDOW_SECONDS"),
    "oauth-authorize": Limit("OAUTH_AUTHORIZE_RATE_LIMIT", "OAUTH_RATE_WINDOW_SECONDS"),
    # Connecting a provider registers Wallet there (RFC 7591): a learner cannot make Wallet flood a registration endpoint.
    "provider-connects": Limit("PROVIDER_CONNECTS_PER_USER", 3600, 10),
}


class Collaborators:
    """One app's fetcher, blob store, limiters, job queue and importer factory."""

    def __init__(self, config: Mapping[str, Any], instance_path: str, app: Flask | None = None) -> None:
        self.config = config
        self.instance_path = instance_path
        self.fetcher: GuardedFetcher = fetcher_from_config(config)
        self.blobs: BlobStore = blob_store_from_config(config, instance_path)
        # The same object as `ratelimit.limiters(app.extensions)`, whose clock tests replace. With
        # REDIS_URL the counts are shared by every process on that Redis (keys salted from SECRET_KEY).
        self.limiters = ratelimit.Limiters(redis_url=config.get("REDIS_URL"),
                                           key_prefix=str(config.get("REDIS_KEY_PREFIX", "wallet")),
                                           salt=ratelimit.key_salt(str(config["SECRET_KEY"])))
        # Public pages: rendered entries by what they show (per process), and view counts in batches.
        self.fragments = FragmentCache(int(config["PAGE_FRAGMENT_CACHE_CHARS"]))
        self.views = ViewCounts(flush_seconds=float(config["VIEW_COUNT_FLUSH_SECONDS"]),
                                redis_url=config.get("REDIS_URL"),
                                key_prefix=str(config.get("REDIS_KEY_PREFIX", "wallet")))
        # RQ on Redis when REDIS_URL is set, else a thread of this app (wallet/queue.py).
        self.queue: JobQueue | None = queue_from_config(config, app) if app is not None else None

    def enqueue_job(self, session: Session, task: str, job_id: str) -> None:
        """Commit the job's row, then queue `task` for it; a queue that refuses leaves the job failed, not waiting."""
        session.commit()  # the row exists before any worker looks for it
        try:
            self.queue.enqueue(task, job_id)  # type: ignore[union-attr]
        except Exception:
            job_service.fail(session, job_id, "The work could not be started. Please try again.")
            session.commit()
            raise

    def revalidating_fetch(self) -> Fetch:
        """Return the fetcher as a `Fetch` that revalidates cached documents (re-checks)."""
        return self.fetcher.revalidating()

    def import_fetch(self) -> ImportDeadline:
        """Return a fetch for one importer: the fetcher under IMPORT_DEADLINE_SECONDS per import (A12)."""
        return ImportDeadline(self.fetcher, float(self.config.get("IMPORT_DEADLINE_SECONDS", 45.0)))

    def limiter(self, name: str) -> ratelimit.RateLimiter:
        """Return the rate limiter `name` (a key of LIMITS) at the config's current limit."""
        spec = LIMITS[name]
        limit = self.config.get(spec.limit_key, spec.default_limit)
        window = spec.window if isinstance(spec.window, int) else self.config[spec.window]
        return self.limiters.get(name, int(limit), int(window))

    def importer(self, session: Session, owner_id: int) -> importing.Importer:
        """Return an Importer for `owner_id` with the app's fetcher, blob store, upload, rate and quota limits."""
        return importing.Importer(
            # docs/security.md A12: one deadline for all the fetches of each import, not only for each fetch.
            fetch=self.import_fetch(),
            blobs=self.blobs,
            owner_id=owner_id,
            recipients=credential_service.learner_identities(session, owner_id),
            max_file_bytes=self.config.get("MAX_UPLOAD_FILE_BYTES", importing.DEFAULT_MAX_FILE_BYTES),
            rate=self.limiter("imports"),
            max_credentials=int(self.config["MAX_CREDENTIALS_PER_USER"]),
            max_zip_entries=int(self.config.get("MAX_ZIP_FILES", importing.MAX_ZIP_ENTRIES)),
        )

    def exchange_client(self) -> exchanges.ExchangeClient:
        """Return what taking part in a VC-API exchange needs: the guarded fetcher's send and check, https outside development."""
        return exchanges.ExchangeClient(
            send=self.fetcher.send, check=self.fetcher.check, require_https=not self.fetcher.allow_private_network,
            deadline_seconds=float(self.config.get("IMPORT_DEADLINE_SECONDS", 45.0)))

    def provider_client(self, redirect_uri: str = "", urls: Mapping[str, str] | None = None) -> providers.ProviderClient:
        """Return what talking to providers needs: the guarded fetcher, the sealer keyed from SECRET_KEY, Wallet's name.

        `urls` are Wallet's own absolute addresses a registration names (client_uri, logo_uri, tos_uri,
        policy_uri); PROVIDER_TERMS_URL and PROVIDER_PRIVACY_URL, when set, name the last two.
        """
        urls = dict(urls or {})
        for key, setting in (("tos_uri", "PROVIDER_TERMS_URL"), ("policy_uri", "PROVIDER_PRIVACY_URL")):
            urls[key] = str(self.config.get(setting) or urls.get(key) or "")
        return providers.ProviderClient(
            fetch=self.fetcher, send=self.fetcher.send, check=self.fetcher.check,
            sealer=providers.Sealer(str(self.config["SECRET_KEY"])),
            client_name=str(self.config.get("PROVIDER_CLIENT_NAME") or "Wallet"), redirect_uri=redirect_uri,
            # Tokens and client secrets travel only over https, unless private networks are allowed (development).
            require_https=not self.fetcher.allow_private_network, software_version=_version(), **urls)

    def evidence_limits(self) -> dict[str, int]:
        """Return the limits for one evidence file and for all of a learner's evidence files."""
        return {"max_bytes": self.config.get("MAX_UPLOAD_FILE_BYTES", evidence_service.DEFAULT_MAX_FILE_BYTES),
                "max_total_bytes": int(self.config["MAX_EVIDENCE_BYTES_PER_USER"])}

    def import_limits(self) -> portability.Limits:
        """Return the receiving wallet's limits for importing an export."""
        config = self.config
        return portability.Limits(max_credentials=int(config["MAX_CREDENTIALS_PER_USER"]),
                                  max_evidence_bytes=int(config["MAX_EVIDENCE_BYTES_PER_USER"]),
                                  max_file_bytes=int(config["MAX_UPLOAD_FILE_BYTES"]),
                                  max_total_bytes=int(config["MAX_IMPORT_UNPACKED_BYTES"]))

    @property
    def exports_folder(self) -> Path:
        """Where export files are built: <instance>/exports (never served directly)."""
        return Path(self.instance_path) / "exports"

    @property
    def uploads_folder(self) -> Path:
        """Where uploaded credential files wait for their import job: <instance>/uploads/<job id>/."""
        return Path(self.instance_path) / "uploads"

    @property
    def job_stale_after(self) -> timedelta:
        """How long a running job may stay silent before it is shown as stopped (JOB_STALE_SECONDS)."""
        return timedelta(seconds=float(self.config.get("JOB_STALE_SECONDS", 600)))

    @property
    def imports_folder(self) -> Path:
        """Where uploaded exports wait while they are imported: <instance>/imports."""
        return Path(self.instance_path) / "imports"


def init_app(app: Flask) -> Collaborators:
    """Build the app's collaborators from its config and keep them in `app.extensions`."""
    built = Collaborators(app.config, app.instance_path, app)
    app.extensions[EXTENSION_KEY] = built
    app.extensions[ratelimit.EXTENSION_KEY] = built.limiters
    if app.config.get("RECHECK_SCHEDULE") and not app.config.get("REDIS_URL") and not app.testing:
        # Without Redis the app process ticks (one scheduler per app), from its first request on;
        # with Redis, `wallet worker` does.
        started: list[Scheduler] = []
        lock = threading.Lock()

        @app.before_request
        def _start_scheduler() -> None:
            if not started:
                with lock:
                    if not started:
                        started.append(Scheduler(built.queue, float(app.config["RECHECK_TICK_SECONDS"])).start())
    return built


def _version() -> str:
    try:
        return importlib.metadata.version("wallet")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def collaborators(app: Flask | None = None) -> Collaborators:
    """Return the collaborators of `app`, or of the current app."""
    return (app or current_app).extensions[EXTENSION_KEY]  # type: ignore[union-attr]
