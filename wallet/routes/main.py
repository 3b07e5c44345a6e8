"""Home page and dashboard."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from wallet.db import get_session
from wallet.services.dashboard import dashboard_summary

bp = Blueprint("main", __name__)


@bp.get("/")
def index():
    """Show the dashboard to a learner, or what Wallet is to a visitor."""
    if current_user.is_authenticated:
        return render_template("main/dashboard.html", summary=dashboard_summary(get_session(), current_user.id))
    return render_template("main/index.html")


@bp.get("/privacy")
def privacy():
    """Show what Wallet keeps about a learner and who can see it (named by the OB 3.0 discovery document)."""
    return render_template("main/privacy.html")


@bp.get("/terms")
def terms():
    """Show the terms of use for learners and connected apps (named by the OB 3.0 discovery document)."""
    return render_template("main/terms.html")


@bp.get("/healthz")
def healthz():
    """Answer a liveness probe."""
    return {"status": "ok"}
