"""Wallet: a learner's wallet and portfolio for Open Badges and Verifiable Credentials."""
from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from wallet import db
from wallet.inputs import IdConverter, JSONRequest, refuse_nul_in_inputs
from wallet.config import Defaults, default_database_url, ensure_secret_key, secure_cookies
from wallet.errors import register_error_handlers
from wallet.extensions import csrf, login_manager
from wallet.headers import register_security_headers
from wallet.services.verification import configure_caches
from wallet.templating import register_templating
from wallet.wiring import init_app as build_collaborators


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    """Build the app from defaults, then WALLET_* env vars, then test overrides."""
    overrides = dict(overrides or {})
    # The instance folder holds the generated secret key, the SQLite database and stored files.
    instance_path = overrides.get("INSTANCE_PATH") or os.environ.get("WALLET_INSTANCE_PATH") or None
    app = Flask(__name__, instance_path=instance_path, instance_relative_config=True)
    app.request_class = JSONRequest  # every JSON body through the strict reader (docs/security.md D1-D4)
    app.url_map.converters["int"] = IdConverter  # before any route is added
    app.before_request(refuse_nul_in_inputs)
    app.config.from_object(Defaults)
    app.config.from_prefixed_env("WALLET")  # WALLET_SECRET_KEY -> SECRET_KEY, WALLET_DATABASE_URL ...
    app.config.update(overrides)
    secure_cookies(app.config)  # F8
    ensure_secret_key(app.config, app.instance_path)
    if not app.config.get("DATABASE_URL"):
        app.config["DATABASE_URL"] = default_database_url(app.instance_path)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if int(app.config.get("TRUSTED_PROXIES") or 0) > 0:
        # Behind N reverse proxies, take the client address, scheme and host from the headers they set,
        # so per-client limits, Secure/HSTS decisions and absolute links see the real request.
        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    # The verification caches are per process; their byte budgets come from the config.
    configure_caches(status_bytes=int(app.config["STATUS_CACHE_BYTES"]),
                     result_bytes=int(app.config["RESULT_CACHE_BYTES"]),
                     canonical_bytes=int(app.config["CANONICAL_CACHE_BYTES"]))

    db.init_app(app)
    build_collaborators(app)  # fetcher, blob store, limiters, importers: once, from the config
    login_manager.init_app(app)
    csrf.init_app(app)
    register_error_handlers(app)
    register_security_headers(app)
    register_templating(app)
    from wallet import authorization

    authorization.init_app(app)  # the OAuth 2.0 authorization server (Authlib), once per app

    from wallet.routes import (api, auth, credentials, dev, host, main, oauth, offers, pathways, portability,
                               portfolio, present, providers, public, settings, skills)

    for blueprint in (main.bp, auth.bp, settings.bp, credentials.bp, dev.bp, pathways.bp, skills.bp, portfolio.bp,
                      public.bp, present.bp, portability.bp, providers.bp, api.bp, oauth.bp, host.bp, offers.bp):
        app.register_blueprint(blueprint)
    from wallet import cli

    cli.register(app)
    return app
