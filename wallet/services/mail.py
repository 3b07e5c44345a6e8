"""Outgoing mail: SMTP when a server is configured, otherwise the log and the outbox table."""
from __future__ import annotations

import hashlib
import logging
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from wallet.models import OutboxMessage

log = logging.getLogger(__name__)

SMTP_TIMEOUT_SECONDS = 15
# How many messages the outbox page shows; older ones stay in the table.
OUTBOX_PAGE_SIZE = 50


@dataclass(frozen=True)
class MailSettings:
    """Where mail goes; built from the app config by the route that sends it."""

    sender: str
    server: str | None = None
    port: int = 587
    username: str | None = None
    password: str | None = None
    use_tls: bool = True
    use_ssl: bool = False

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> MailSettings:
        """Read the MAIL_* settings."""
        return cls(
            sender=config.get("MAIL_FROM") or "Wallet <wallet@localhost>",
            server=config.get("MAIL_SERVER") or None,
            port=int(config.get("MAIL_PORT") or 587),
            username=config.get("MAIL_USERNAME") or None,
            password=config.get("MAIL_PASSWORD") or None,
            use_tls=bool(config.get("MAIL_USE_TLS")),
            use_ssl=bool(config.get("MAIL_USE_SSL")),
        )


def send_mail(session: Session, settings: MailSettings, *, to: str, subject: str, body: str) -> bool:
    """Send a plain-text message by SMTP, or keep it in the outbox; return whether SMTP took it.

    A failing SMTP server never fails the learner's request: the message is logged and kept in the
    outbox (so an operator can see what was lost) and the caller goes on.
    """
    # Header injection: a newline in a header value would start a new header.
    if any(c in value for value in (to, subject) for c in "\r\n"):
        raise ValueError("mail header values cannot contain line breaks")
    # The log names the message, never its body (live reset and confirmation links) or the address.
    recipient = redact_address(to)
    if settings.server:
        try:
            _send_smtp(settings, to=to, subject=subject, body=body)
            log.info("Mail sent to %s: %s", recipient, subject)
            return True
        except (smtplib.SMTPException, OSError) as error:
            log.error("SMTP server %s:%s refused mail to %s (%s: %s); kept in the outbox",
                      settings.server, settings.port, recipient, subject, type(error).__name__)
    else:
        log.info("Mail not sent (no MAIL_SERVER); kept in the outbox: to %s: %s", recipient, subject)
    session.add(OutboxMessage(recipient=to, subject=subject, body=body))
    session.flush()
    return False


def redact_address(address: str) -> str:
    """Return a stand-in for an address that a log may hold: the same address always gives the same one."""
    return "recipient-" + hashlib.sha256(address.strip().lower().encode("utf-8")).hexdigest()[:12]


def _send_smtp(settings: MailSettings, *, to: str, subject: str, body: str) -> None:
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2].strip("> ") or None)
    message.set_content(body)
    context = ssl.create_default_context()
    smtp_class = smtplib.SMTP_SSL if settings.use_ssl else smtplib.SMTP
    kwargs: dict[str, Any] = {"context": context} if settings.use_ssl else {}
    with smtp_class(settings.server, settings.port, timeout=SMTP_TIMEOUT_SECONDS, **kwargs) as smtp:
        if settings.use_tls and not settings.use_ssl:
            smtp.starttls(context=context)
        if settings.username:
            smtp.login(settings.username, settings.password or "")
        smtp.send_message(message)


def list_outbox(session: Session, limit: int = OUTBOX_PAGE_SIZE) -> list[OutboxMessage]:
    """Return the newest messages kept in the outbox, newest first."""
    return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)))


def absolute_url(path: str, *, public_url: str | None, request_root: str) -> str:
    """Join a path to PUBLIC_URL when set (F10: no Host-header poisoning), else to the request's root."""
    base = (public_url or request_root).rstrip("/")
    if not urlsplit(base).scheme:
        raise ValueError(f"not an absolute base URL: {base!r}")
    return base + "/" + path.lstrip("/")
