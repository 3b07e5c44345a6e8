"""Skills: the skills and competencies behind the learner's credentials, grouped by framework."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from wallet.db import get_session
from wallet.services import pathways as pathway_service
from wallet.services import skills as service

bp = Blueprint("skills", __name__, url_prefix="/skills")


@bp.get("/")
@login_required
def index() -> ResponseReturnValue:
    """Show every skill the learner's credentials evidence, each linked to those credentials."""
    session = get_session()
    return render_template("skills/index.html", frameworks=service.skills_of(session, current_user.id),
                           pathways=pathway_service.pathways_for_picker(session, current_user.id))
