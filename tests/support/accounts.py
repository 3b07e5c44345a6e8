"""Accounts for tests: users made through the real service, logged-in clients, API tokens, an SMTP sink."""
from __future__ import annotations

import base64
import itertools
import re
import socketserver
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.orm import Session, object_session

from wallet.models import OutboxMessage, User
from wallet.services import accounts, login_sessions, tokens

# Long, uncommon and not an email address: passes every password rule.
DEFAULT_PASSWORD = "correct horse battery staple"
_numbers = itertools.count(1)


def create_user(session: Session, *, email: str | None = None, display_name: str | None = None,
                password: str = DEFAULT_PASSWORD, verified: bool = True) -> User:
    """Create a user through the accounts service (not committed); the address is verified by default."""
    number = next(_numbers)
    return accounts.register(session, display_name=display_name or f"Learner {number}",
                             email=email or f"learner{number}@example.org", password=password,
                             verified=verified)


def log_in_page(page: Any, base: str, email: str, password: str = DEFAULT_PASSWORD) -> None:
    """Log in through the real form in the browser `page` of the app at `base`, as a person does."""
    page.goto(f"{base}/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()


def log_in(client: Any, user: User) -> None:
    """Make `client` carry a logged-in session for `user`, as Flask-Login would after a log-in.

    The session is recorded on the server (committing the user's database session) and the cookie
    carries its secret.
    """
    session = object_session(user)
    assert session is not None, "log_in needs a user loaded in a database session"
    secret = login_sessions.start_session(session, user_id=user.id, user_agent="tests",
                                          max_idle=timedelta(days=14))
    session.commit()
    with client.session_transaction() as flask_session:
        flask_session.clear()
        flask_session["_user_id"] = secret
        flask_session["_fresh"] = True


def create_api_token(session: Session, user: User, name: str = "tests") -> str:
    """Create a personal access token for `user` (not committed) and return its secret."""
    return tokens.create_token(session, owner_id=user.id, name=name)[1]


def bearer(token: str) -> dict[str, str]:
    """Return the Authorization header for a token."""
    return {"Authorization": f"Bearer {token}"}


@dataclass
class ReceivedMail:
    sender: str
    recipients: list[str]
    data: str


@dataclass
class SmtpSink:
    """A plain SMTP server on 127.0.0.1 that accepts every message and keeps it in `messages`.

    Enough of RFC 5321 for smtplib (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT); no STARTTLS,
    so a test sets MAIL_USE_TLS off. Optionally requires AUTH PLAIN with `username`/`password`.
    """

    username: str | None = None
    password: str | None = None
    messages: list[ReceivedMail] = field(default_factory=list)

    def __post_init__(self) -> None:
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line: str) -> None:
                self.wfile.write((line + "\r\n").encode())

            def handle(self) -> None:
                self.reply("220 sink ESMTP")
                sender, recipients, authenticated = "", [], sink.username is None
                while line := self.rfile.readline().decode("utf-8", "replace"):
                    command = line.strip()
                    verb = command.split(" ", 1)[0].upper()
                    if verb == "EHLO":
                        self.wfile.write(b"250-sink\r\n250-AUTH PLAIN\r\n250 8BITMIME\r\n")
                    elif verb == "HELO":
                        self.reply("250 sink")
                    elif verb == "AUTH":
                        parts = base64.b64decode(command.split(" ")[2]).split(b"\0")
                        authenticated = parts[1:] == [sink.username.encode(), sink.password.encode()]
                        self.reply("235 ok" if authenticated else "535 bad credentials")
                    elif verb == "MAIL":
                        if not authenticated:
                            self.reply("530 authentication required")
                            continue
                        sender, recipients = _address(command), []
                        self.reply("250 ok")
                    elif verb == "RCPT":
                        recipients.append(_address(command))
                        self.reply("250 ok")
                    elif verb == "DATA":
                        self.reply("354 go ahead")
                        lines = []
                        while (data_line := self.rfile.readline().decode("utf-8", "replace")) not in (".\r\n", ""):
                            lines.append(data_line[1:] if data_line.startswith("..") else data_line)
                        sink.messages.append(ReceivedMail(sender, recipients, "".join(lines)))
                        self.reply("250 queued")
                    elif verb == "QUIT":
                        self.reply("221 bye")
                        return
                    else:
                        self.reply("250 ok")

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the server."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _address(command: str) -> str:
    match = re.search(r"<([^>]*)>", command)
    return match.group(1) if match else ""


def mailed_link(session: Session, to: str) -> str:
    """Return the path of the link in the newest outbox message to `to` (fails if there is none)."""
    message = session.query(OutboxMessage).filter_by(recipient=to).order_by(OutboxMessage.id.desc()).first()
    assert message is not None, f"no mail to {to}"
    match = re.search(r"https?://\S+", message.body)
    assert match is not None, f"no link in the mail to {to}"
    return urlsplit(match.group(0)).path
