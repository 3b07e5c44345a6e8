"""Request helpers shared by several blueprints: absolute links, mail settings, sending stored bytes,
reading uploads, download names, and the log-in session and mail limits of account pages.

Route modules do not import each other; what two of them need lives here.
"""
from __future__ import annotations

import io
import re
from typing import Any

from flask import Response, current_app, request, send_file, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import logout_user
from werkzeug.datastructures import FileStorage

from wallet.db import get_session
from wallet.models.credential import Credential, CredentialVersion
from wallet.services import accounts, importing, login_sessions, portability
from wallet.services.errors import RateLimitedError, ValidationError
from wallet.services.mail import MailSettings, absolute_url
from wallet.wiring import collaborators

# ---------------------------------------------------------------------------------------------
# Links and mail


def external_url(endpoint: str, **values: Any) -> str:
    """Return the absolute URL of an endpoint: under PUBLIC_URL when set (F10), else this request's host."""
    return absolute_url(url_for(endpoint, **values), public_url=current_app.config.get("PUBLIC_URL"),
                        request_root=request.host_url)


def mail_settings() -> MailSettings:
    """Return the app's mail settings."""
    return MailSettings.from_config(current_app.config)


# ---------------------------------------------------------------------------------------------
# Stored bytes and uploads


def send_bytes(data: bytes, content_type: str, filename: str, *, attachment: bool = True,
               extra: dict[str, str] | None = None) -> Response:
    """Send stored bytes with their type, a safe file name (RFC 6266) and nosniff or the given headers."""
    # send_file writes Content-Disposition per RFC 6266 (ASCII fallback + filename*).
    response = send_file(io.BytesIO(data), mimetype=content_type, as_attachment=attachment,
                         download_name=filename, max_age=0)
    response.headers.update(extra or {"X-Content-Type-Options": "nosniff"})
    return response


_EXTENSIONS = {"image/png": "png", "image/svg+xml": "svg", "application/jwt": "jwt", "application/dc+sd-jwt": "sd-jwt", "application/json": "json"}


def download_name(credential: Credential) -> str:
    """Return the name to download the original under: its own file name, else one made from its name."""
    # A file from a ZIP is labelled "batch.zip › badge.png"; download it under its own name.
    name = (credential.original_filename or "").rsplit(" › ", 1)[-1]
    return name or f"{slug(credential.name)}.{_EXTENSIONS.get(credential.original_type, 'bin')}"


def version_download_name(version: CredentialVersion) -> str:
    """Return the name to download a version's original under: its own file name, else one with its id."""
    name = (version.original_filename or "").rsplit(" › ", 1)[-1]
    return name or f"{slug(version.credential.name)}-{version.id}.{_EXTENSIONS.get(version.original_type, 'bin')}"


def slug(name: str) -> str:
    """Return a file-name-safe slug of a credential's name."""
    value = re.sub(r"[^A-Za-z0-9]+", "-", name or "").strip("-").lower()[:60]
    return value or "credential"


def read_upload(storage: FileStorage, max_bytes: int) -> importing.Upload:
    """Read an uploaded file up to one byte past `max_bytes` (the services refuse what is over)."""
    return importing.Upload(storage.filename or "upload", storage.stream.read(max_bytes + 1), storage.mimetype or None)


def read_export_upload(field: str = "file") -> FileStorage:
    """Return the uploaded export (spooled to disk by Werkzeug), allowing up to MAX_IMPORT_BYTES."""
    # C8: the usual body limit is far smaller than a whole wallet; only these views raise it.
    request.max_content_length = int(current_app.config["MAX_IMPORT_BYTES"])
    storage = request.files.get(field)
    if storage is None or not storage.filename:
        raise ValidationError(f'Send the wallet export (a .zip file) in the field "{field}".')
    return storage


def run_import(owner_id: int, stream: Any) -> portability.ImportReport:
    """Import an export into `owner_id`'s wallet, committing as each item is whole."""
    db = get_session()
    built = collaborators()
    return portability.import_export(db, built.importer(db, owner_id), stream, limits=built.import_limits(),
                                     checkpoint=db.commit)


# ---------------------------------------------------------------------------------------------
# Account pages: log-in sessions and mail limits


def mail_throttle() -> accounts.MailThrottle:
    """Return the limits on account mail for this request's client (F6)."""
    built = collaborators()
    return accounts.MailThrottle(per_address=built.limiter("mail-address"), per_client=built.limiter("mail-client"),
                                 client=request.remote_addr or "unknown")


def limited(page: str | Response, error: RateLimitedError) -> ResponseReturnValue:
    """Answer a refused request with its page, 429 and Retry-After (the page shows the error)."""
    headers = {"Retry-After": str(error.retry_after)} if error.retry_after else {}
    return page, 429, headers


def current_session_secret() -> str | None:
    """Return the secret of this browser's log-in session, if it has one."""
    return session.get("_user_id")


def end_session() -> None:
    """Log out: end the session on the server, forget the cookie, delete the remember-me cookie too (F7)."""
    db = get_session()
    login_sessions.end_session(db, current_session_secret())
    db.commit()
    session.clear()
    # After the clear: logout_user leaves the mark that makes Flask-Login delete the remember cookie.
    logout_user()


def logged_out_message(logged_out: accounts.LoggedOut) -> str:
    """Say what ending every session did, so the learner knows which programs need a new token."""
    revoked = logged_out.tokens_revoked
    tokens = (f"{revoked} access token was revoked" if revoked == 1 else f"{revoked} access tokens were revoked"
              if revoked else "you had no access tokens to revoke")
    apps = logged_out.apps_disconnected
    if apps:
        tokens += f"; {apps} connected app{'s' if apps != 1 else ''} must ask for your consent again"
    return f"You are logged out everywhere, and {tokens}."


def allow_form_redirects_off_site(page: ResponseReturnValue, status: int = 200) -> Response:
    """Answer `page` with a CSP whose form-action lets a form's redirect leave for another site.

    CSP form-action also governs where a form's redirects may go; a form that sends the learner to
    an issuer's or a provider's authorization page (on another origin) needs this on its page.
    """
    from wallet.headers import CONTENT_SECURITY_POLICY

    response = current_app.make_response((page, status))
    schemes = "https: http:" if current_app.config.get("ALLOW_PRIVATE_NETWORK") else "https:"
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.replace(
        "form-action 'self'", f"form-action 'self' {schemes}")
    return response
