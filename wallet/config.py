"""Configuration defaults. Every key can be set from the environment as WALLET_<KEY>."""
from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

# RFC 6265bis §4.1.3.2: a cookie so named is bound to this exact host and path "/".
HOST_PREFIX = "__Host-"
REMEMBER_COOKIE_NAME = "remember_token"  # Flask-Login's default


class Defaults:
    """Defaults for every setting; `create_app` overlays WALLET_* env vars and overrides."""

    # Unset means: generate once and keep it in the instance folder (see `ensure_secret_key`).
    SECRET_KEY: str | None = None
    # Unset means: a SQLite file in the instance folder.
    DATABASE_URL: str | None = None
    # Echo SQL statements to the log (debugging only).
    DATABASE_ECHO = False

    # Outbound fetching (services/http.py): private/loopback addresses are refused unless this is on.
    ALLOW_PRIVATE_NETWORK = False
    # JSON object of URL prefix -> replacement prefix, applied before the guard (tests, offline mirrors).
    URL_REWRITE: dict[str, str] = {}
    FETCH_CONNECT_TIMEOUT = 3.0
    FETCH_READ_TIMEOUT = 10.0
    FETCH_TOTAL_TIMEOUT = 20.0
    FETCH_MAX_BYTES = 5 * 1024 * 1024
    # docs/security.md A12, §2.6: one import (a link, a file, a paste), every fetch included, stops after this.
    IMPORT_DEADLINE_SECONDS = 45.0
    # OID4VCI (services/oid4vci/): the client_id Wallet gives an issuer's authorization server (empty: Wallet's
    # own base URL), and how long a deferred credential is waited for before the job gives up.
    OFFER_CLIENT_ID = ""
    OFFER_DEFERRED_SECONDS = 3600.0
    # Re-check sweeps (services/recheck.py): requests in flight at once per issuer host, and threads.
    RECHECK_PER_HOST = 4
    RECHECK_WORKERS = 16
    # In-memory caches, each bounded by the bytes it holds (services/verification/caches.py):
    # fetched documents, decoded status lists, whole verification results, canonical forms.
    FETCH_CACHE_BYTES = 32 * 1024 * 1024
    STATUS_CACHE_BYTES = 64 * 1024 * 1024
    RESULT_CACHE_BYTES = 32 * 1024 * 1024
    CANONICAL_CACHE_BYTES = 16 * 1024 * 1024

    # Mail: SMTP when MAIL_SERVER is set, otherwise the log and the dev outbox page.
    MAIL_SERVER: str | None = None
    MAIL_PORT = 587
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_USE_TLS = True
    MAIL_USE_SSL = False
    MAIL_FROM = "Wallet <wallet@localhost>"
    # Show the outbox page (/dev/outbox) with mail that was not sent by SMTP: a development aid only
    # (it shows everyone's reset links), so off unless set; `make run` turns it on.
    MAIL_OUTBOX = False

    # How many reverse proxies (each adding X-Forwarded-For/-Proto/-Host) stand in front of the app.
    # 0 trusts none of those headers; set 1 behind one TLS-terminating proxy.
    TRUSTED_PROXIES = 0

    # Absolute URLs in mail and share links; unset means the request's own host.
    PUBLIC_URL: str | None = None
    # The operator's own privacy policy and terms of service, named by the OB 3.0 / CLR 2.0 discovery
    # documents (docs/api.md); unset means Wallet's own /privacy and /terms pages.
    PRIVACY_POLICY_URL: str | None = None
    TERMS_OF_SERVICE_URL: str | None = None

    # Uploads and request bodies.
    MAX_CONTENT_LENGTH = 25 * 1024 * 1024
    MAX_FORM_MEMORY_SIZE = 1024 * 1024
    MAX_FORM_PARTS = 1000
    MAX_UPLOAD_FILE_BYTES = 10 * 1024 * 1024
    # Content-addressed store of original credentials, fetched documents, images and evidence files;
    # unset means <instance>/blobs (outside the web root).
    BLOB_DIR: str | None = None
    # C11: what one learner's wallet may hold, checked in the transaction that adds to it.
    MAX_CREDENTIALS_PER_USER = 5000
    MAX_EVIDENCE_BYTES_PER_USER = 200 * 1024 * 1024
    # A wallet export uploaded to Settings → Import or POST /api/v1/import (only there), and how much
    # its entries may unpack to (docs/security.md C12).
    MAX_IMPORT_BYTES = 1024 * 1024 * 1024
    MAX_IMPORT_UNPACKED_BYTES = 4 * 1024 * 1024 * 1024
    # A19: imports (each URL, paste, file and file inside a ZIP) per learner within the window,
    # web and API together.
    IMPORT_RATE_LIMIT = 60
    IMPORT_RATE_WINDOW_SECONDS = 600
    # C12: files one uploaded ZIP may hold (several files or a ZIP are imported as a background job).
    MAX_ZIP_FILES = 1000

    # Redis: set WALLET_REDIS_URL (redis://host:port/db) to run background jobs on an RQ queue served by
    # `wallet worker`, and to keep rate limits and the public pages' shared state where every app process
    # sees them. Unset, jobs run on a thread of the app process and limits live in its memory.
    REDIS_URL: str | None = None
    # Prefix of every key and queue name this app writes to Redis (several apps may share one server).
    REDIS_KEY_PREFIX = "wallet"
    # A running background job that records nothing for this long stopped with its process: shown failed.
    JOB_STALE_SECONDS = 600
    # Scheduled re-checks (docs/reliability.md §12): every credential whose result could change is re-checked
    # at least daily, in its own slot of the day. A tick every RECHECK_TICK_SECONDS queues what is due (in
    # `wallet worker` with Redis, in the app process without); at most RECHECK_PER_HOST checks at once per
    # issuer host. RECHECK_SCHEDULE = False leaves re-checks to `wallet reverify`.
    RECHECK_SCHEDULE = True
    RECHECK_TICK_SECONDS = 300
    # Connected providers (Settings -> Connected providers): the name Wallet registers under at a
    # provider (RFC 7591 client_name), and how often each connection is synced on the tick (0: only on demand).
    PROVIDER_CLIENT_NAME = "Wallet"
    # Registrations name the instance's terms and privacy pages (OB 3.0 requires both); unset: its home page.
    PROVIDER_TERMS_URL: str | None = None
    PROVIDER_PRIVACY_URL: str | None = None
    PROVIDER_SYNC_SECONDS = 86400
    # Public pages: views of a page are counted in Redis (or memory) and written to the database at most
    # once per this many seconds (0: at every view); rendered entries of portfolio pages kept per process.
    VIEW_COUNT_FLUSH_SECONDS = 60
    PAGE_FRAGMENT_CACHE_CHARS = 64_000_000

    # Wallet as OAuth 2.0 authorization server (docs/security.md, "OAuth authorization server"): lifetimes
    # of authorization codes, access tokens and refresh tokens, in seconds; open client registrations per
    # client address within their window; token and revocation requests per client address, and
    # authorization requests per learner, within OAUTH_RATE_WINDOW_SECONDS.
    OAUTH_CODE_SECONDS = 300
    OAUTH_ACCESS_TOKEN_SECONDS = 3600
    OAUTH_REFRESH_TOKEN_SECONDS = 90 * 24 * 3600
    OAUTH_REGISTER_RATE_LIMIT = 20
    OAUTH_REGISTER_RATE_WINDOW_SECONDS = 3600
    OAUTH_TOKEN_RATE_LIMIT = 120
    OAUTH_AUTHORIZE_RATE_LIMIT = 60
    OAUTH_RATE_WINDOW_SECONDS = 600

    # Accounts.
    LOGIN_MAX_FAILURES = 5
    LOGIN_LOCKOUT_SECONDS = 15 * 60
    # Failed log-ins from one client address (any accounts) within LOGIN_LOCKOUT_SECONDS.
    LOGIN_IP_MAX_FAILURES = 50
    PASSWORD_MIN_LENGTH = 10
    EMAIL_TOKEN_MAX_AGE_SECONDS = 24 * 3600
    RESET_TOKEN_MAX_AGE_SECONDS = 3600
    # F6: reset and confirmation mails asked for within the window, per address (whether or not an
    # account has it) and per client address (a school behind one address registers many learners).
    MAIL_RATE_LIMIT_PER_ADDRESS = 5
    MAIL_RATE_LIMIT_PER_CLIENT = 50
    MAIL_RATE_WINDOW_SECONDS = 3600

    # Session cookie: HttpOnly, SameSite=Lax; Secure unless running on plain http in development.
    # With an https PUBLIC_URL the names get the __Host- prefix (see `secure_cookies`).
    SESSION_COOKIE_NAME = "wallet_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    PERMANENT_SESSION_LIFETIME = timedelta(days=14)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_DURATION = timedelta(days=14)

    WTF_CSRF_TIME_LIMIT = None  # tokens live as long as the session


def secure_cookies(config: dict[str, Any]) -> None:
    """Make the session and remember-me cookies Secure, with __Host- names, when PUBLIC_URL is https (F8).

    A __Host- cookie is only accepted by browsers when it is Secure, has Path=/ and no Domain
    (RFC 6265bis §4.1.3.2), so a name the operator chose, a cookie domain or a sub-path keeps the plain name.
    """
    if not str(config.get("PUBLIC_URL") or "").startswith("https://"):
        return
    config["SESSION_COOKIE_SECURE"] = config["REMEMBER_COOKIE_SECURE"] = True
    # Flask puts the session cookie on APPLICATION_ROOT; Flask-Login puts remember-me on "/".
    cookies = (("SESSION", Defaults.SESSION_COOKIE_NAME, config.get("APPLICATION_ROOT") or "/"),
               ("REMEMBER", REMEMBER_COOKIE_NAME, "/"))
    for prefix, default_name, default_path in cookies:
        name = config.get(f"{prefix}_COOKIE_NAME") or default_name
        path = config.get(f"{prefix}_COOKIE_PATH") or default_path
        if name == default_name and path == "/" and not config.get(f"{prefix}_COOKIE_DOMAIN"):
            config[f"{prefix}_COOKIE_NAME"] = HOST_PREFIX + default_name


def ensure_secret_key(config: dict[str, Any], instance_path: str) -> None:
    """Use WALLET_SECRET_KEY, or a key generated once and kept in the instance folder."""
    if config.get("SECRET_KEY"):
        return
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write to a temporary file and rename, so two starting processes never see half a key.
        tmp = path.with_suffix(f".{secrets.token_hex(4)}.tmp")
        tmp.write_text(secrets.token_urlsafe(48))
        tmp.chmod(0o600)
        tmp.replace(path) if not path.exists() else tmp.unlink()
    config["SECRET_KEY"] = path.read_text().strip()


def default_database_url(instance_path: str) -> str:
    """Return the SQLite URL of the database file in the instance folder."""
    Path(instance_path).mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{Path(instance_path) / 'wallet.db'}"
