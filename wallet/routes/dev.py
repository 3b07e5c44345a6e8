"""Development pages: the outbox of mail that was not sent by SMTP."""
from __future__ import annotations

import ipaddress
import re

from flask import Blueprint, abort, current_app, render_template, request
from flask.typing import ResponseReturnValue

from wallet.db import get_session
from wallet.services.mail import list_outbox

bp = Blueprint("dev", __name__, url_prefix="/dev")

_URL = re.compile(r"https?://[^\s<>\"']+")


def outbox_enabled() -> bool:
    """Return whether this request may see the outbox: MAIL_OUTBOX on, no SMTP server, a loopback client.

    The outbox holds everyone's reset and confirmation links, so it is off unless an operator turns
    it on (WALLET_MAIL_OUTBOX, set by `make run`). A loopback address alone proves nothing: behind a
    reverse proxy on the same host every client is 127.0.0.1.
    """
    config = current_app.config
    if not config.get("MAIL_OUTBOX") or config.get("MAIL_SERVER"):
        return False
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False


def split_links(text: str) -> list[tuple[str, bool]]:
    """Split text into (piece, is_link) parts, so the template can show http(s) URLs as links."""
    parts: list[tuple[str, bool]] = []
    position = 0
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(".,;:!?)")
        if match.start() > position:
            parts.append((text[position:match.start()], False))
        parts.append((url, True))
        position = match.start() + len(url)
    if position < len(text):
        parts.append((text[position:], False))
    return parts


@bp.get("/outbox")
def outbox() -> ResponseReturnValue:
    """List the mail kept in the outbox, newest first, with its links clickable."""
    if not outbox_enabled():
        abort(404)
    messages = list_outbox(get_session())
    response = current_app.make_response(render_template(
        "dev/outbox.html", messages=[(m, split_links(m.body)) for m in messages]))
    response.headers["Cache-Control"] = "no-store"
    return response
