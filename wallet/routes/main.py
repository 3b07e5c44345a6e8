"""Home page and dashboard."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

bp = Blueprint("main", __name__)


@bp.get("/")
def index():
    """Show the dashboard to a learner, or what Wallet is to a visitor."""
    if current_user.is_authenticated:
        return render_template("main/dashboard.html")
    return render_template("main/index.html")


@bp.get("/healthz")
def healthz():
    """Answer a liveness probe."""
    return {"status": "ok"}
