"""Absolute links for mail and sharing, and the mail settings routes pass to services."""
from __future__ import annotations

from typing import Any

from flask import current_app, request, url_for

from wallet.services.mail import MailSettings, absolute_url


def external_url(endpoint: str, **values: Any) -> str:
    """Return the absolute URL of an endpoint: under PUBLIC_URL when set (F10), else this request's host."""
    return absolute_url(url_for(endpoint, **values), public_url=current_app.config.get("PUBLIC_URL"),
                        request_root=request.host_url)


def mail_settings() -> MailSettings:
    """Return the app's mail settings."""
    return MailSettings.from_config(current_app.config)
