"""Pathways: the learner's goals as trees of steps, with progress from the credentials that verify now."""
from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from wallet.db import get_session
from wallet.services import pathway_rules as rules
from wallet.services import pathways as service
from wallet.services.errors import TooLargeError, ValidationError
from wallet.services.pathway_rules import TemplateError

bp = Blueprint("pathways", __name__, url_prefix="/pathways")

RULE_CHOICES = (
    ("achievement", "A specific achievement or badge (its id)"),
    ("skill", "A skill or competency (its URL, or framework and code)"),
    ("issuer", "Any credential from an issuer (id, DID or domain)"),
    ("tag", "A tag"),
    ("name", "Text in the credential's name"),
    ("credential", "One credential from my wallet"),
)


@bp.get("/")
@login_required
def index() -> ResponseReturnValue:
    """List the learner's pathways with their progress."""
    return render_template("pathways/index.html", items=service.all_progress(get_session(), current_user.id))


@bp.get("/new")
@login_required
def new() -> ResponseReturnValue:
    """Offer the ways to start a pathway: blank, from an example, or from a template file."""
    return _new_page()


def _new_page(errors: list[str] | None = None, *, template_text: str = "", status: int = 200,
              blank_errors: list[str] | None = None, form: dict[str, str] | None = None) -> ResponseReturnValue:
    body = render_template("pathways/new.html", examples=service.example_templates(), errors=errors or [],
                           template_text=template_text, blank_errors=blank_errors or [], form=form or {})
    return body, status


@bp.post("/new")
@login_required
def create() -> ResponseReturnValue:
    """Create a blank pathway and open its editor."""
    session = get_session()
    try:
        pathway = service.create_pathway(session, current_user.id, title=request.form.get("title", ""),
                                         description=request.form.get("description", ""),
                                         goal=request.form.get("goal", ""))
    except TemplateError as error:
        return _new_page(blank_errors=error.errors, status=400, form=request.form.to_dict())
    session.commit()
    flash("Pathway created. Add the steps that lead to your goal.", "success")
    return redirect(url_for("pathways.edit", pathway_id=pathway.id))


@bp.post("/new/example")
@login_required
def from_example() -> ResponseReturnValue:
    """Create a pathway from one of the example templates."""
    session = get_session()
    pathway = service.create_from_example(session, current_user.id, request.form.get("slug", ""))
    session.commit()
    flash(f"“{pathway.title}” was added to your pathways.", "success")
    return redirect(url_for("pathways.show", pathway_id=pathway.id))


@bp.post("/new/import")
@login_required
def import_template() -> ResponseReturnValue:
    """Create a pathway from an uploaded or pasted template; list every problem if it is refused."""
    upload = request.files.get("template")
    text = request.form.get("template_text", "")
    if upload is not None and upload.filename:
        data = upload.stream.read(rules.MAX_DOCUMENT_BYTES + 1)
        if len(data) > rules.MAX_DOCUMENT_BYTES:
            raise TooLargeError(f"A pathway template may be at most {rules.MAX_DOCUMENT_BYTES // 1024} KB.")
        source: str | bytes = data
    elif text.strip():
        source = text
    else:
        return _new_page(["$: choose a template file or paste its JSON"], status=400)
    session = get_session()
    try:
        pathway = service.import_template(session, current_user.id, source)
    except TemplateError as error:
        shown = text if isinstance(source, str) else ""
        return _new_page(error.errors, template_text=shown, status=400)
    session.commit()
    flash(f"“{pathway.title}” was imported.", "success")
    return redirect(url_for("pathways.show", pathway_id=pathway.id))


@bp.get("/<int:pathway_id>")
@login_required
def show(pathway_id: int) -> ResponseReturnValue:
    """Show the pathway as a tree with progress, the credentials behind each step, and what's next."""
    view = service.pathway_progress(get_session(), current_user.id, pathway_id)
    return render_template("pathways/show.html", view=view, pathway=view.pathway, progress=view.progress)


@bp.get("/<int:pathway_id>/edit")
@login_required
def edit(pathway_id: int) -> ResponseReturnValue:
    """Show the editor: details, add a requirement or group, remove steps, or edit the JSON tree."""
    return _edit_page(pathway_id)


def _edit_page(pathway_id: int, *, status: int = 200, errors: dict[str, list[str]] | None = None,
               steps_text: str | None = None, form: dict[str, Any] | None = None) -> ResponseReturnValue:
    session = get_session()
    view = service.pathway_progress(session, current_user.id, pathway_id)
    pathway = view.pathway
    credentials = sorted(view.credentials.values(), key=lambda c: c.name.casefold())
    body = render_template(
        "pathways/edit.html", view=view, pathway=pathway, progress=view.progress,
        groups=service.groups_of(pathway), rule_choices=RULE_CHOICES, credentials=credentials,
        steps_text=steps_text if steps_text is not None else service.steps_json_text(pathway),
        errors=errors or {}, form=form or {},
    )
    return body, status


@bp.post("/<int:pathway_id>/edit")
@login_required
def update(pathway_id: int) -> ResponseReturnValue:
    """Save the title, description and goal."""
    session = get_session()
    try:
        service.update_details(session, current_user.id, pathway_id, title=request.form.get("title", ""),
                               description=request.form.get("description", ""), goal=request.form.get("goal", ""))
    except TemplateError as error:
        session.rollback()
        return _edit_page(pathway_id, status=400, errors={"details": error.errors})
    session.commit()
    flash("Saved.", "success")
    return redirect(url_for("pathways.edit", pathway_id=pathway_id))


@bp.post("/<int:pathway_id>/steps")
@login_required
def replace_steps(pathway_id: int) -> ResponseReturnValue:
    """Replace the step tree with the JSON from the editor."""
    session = get_session()
    text = request.form.get("steps", "")
    try:
        service.replace_steps_text(session, current_user.id, pathway_id, text)
    except TemplateError as error:
        session.rollback()
        return _edit_page(pathway_id, status=400, errors={"steps": error.errors}, steps_text=text)
    session.commit()
    flash("The steps were saved.", "success")
    return redirect(url_for("pathways.show", pathway_id=pathway_id))


@bp.post("/<int:pathway_id>/steps/requirement")
@login_required
def add_requirement(pathway_id: int) -> ResponseReturnValue:
    """Add a requirement under a group (or at the top level)."""
    session = get_session()
    form = request.form.to_dict()
    try:
        step = service.requirement_from_form(form)
        service.add_step(session, current_user.id, pathway_id, parent_id=form.get("parent"), step=step)
    except ValidationError as error:
        session.rollback()
        return _edit_page(pathway_id, status=400, errors={"requirement": _messages(error)}, form=form)
    session.commit()
    flash(f"Added the step “{step['title']}”.", "success")
    return redirect(url_for("pathways.edit", pathway_id=pathway_id) + "#add-requirement")


@bp.post("/add-skill")
@login_required
def add_skill() -> ResponseReturnValue:
    """Add a skill from the skills page as a requirement at the top level of the chosen pathway."""
    session = get_session()
    form = request.form.to_dict()
    pathway_id = int(form["pathway_id"]) if form.get("pathway_id", "").isdigit() else 0
    try:
        step = service.requirement_from_form({**form, "kind": "skill"})
        service.add_step(session, current_user.id, pathway_id, parent_id=None, step=step)
    except ValidationError as error:
        session.rollback()
        flash(" ".join(_messages(error)), "error")
        return redirect(url_for("skills.index"))
    session.commit()
    flash(f"Added the skill “{step['title']}” as a requirement.", "success")
    return redirect(url_for("pathways.show", pathway_id=pathway_id))


def _messages(error: ValidationError) -> list[str]:
    return error.errors if isinstance(error, TemplateError) else [str(error)]


@bp.post("/<int:pathway_id>/steps/group")
@login_required
def add_group(pathway_id: int) -> ResponseReturnValue:
    """Add a group ("all of" or "any N of") to fill with requirements."""
    session = get_session()
    form = request.form.to_dict()
    step = service.group_step(form.get("title", ""), form.get("group", ""), form.get("n"), form.get("description", ""))
    try:
        service.add_step(session, current_user.id, pathway_id, parent_id=form.get("parent"), step=step)
    except ValidationError as error:
        session.rollback()
        return _edit_page(pathway_id, status=400, errors={"group": _messages(error)}, form=form)
    session.commit()
    flash(f"Added the group “{step['title']}”. Now add its steps.", "success")
    return redirect(url_for("pathways.edit", pathway_id=pathway_id) + "#add-requirement")


@bp.post("/<int:pathway_id>/steps/<step_id>/remove")
@login_required
def remove_step(pathway_id: int, step_id: str) -> ResponseReturnValue:
    """Remove a step and everything under it."""
    session = get_session()
    service.remove_step(session, current_user.id, pathway_id, step_id)
    session.commit()
    flash("The step was removed.", "success")
    return redirect(url_for("pathways.edit", pathway_id=pathway_id))


@bp.get("/<int:pathway_id>/export")
@login_required
def export(pathway_id: int) -> Response:
    """Download the pathway as a wallet-pathway JSON template."""
    pathway = service.get_pathway(get_session(), current_user.id, pathway_id)
    body = json.dumps(service.export_document(pathway), indent=2, ensure_ascii=False) + "\n"
    response = Response(body, mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="{service.export_filename(pathway)}"'
    return response


@bp.post("/<int:pathway_id>/delete")
@login_required
def delete(pathway_id: int) -> ResponseReturnValue:
    """Delete the pathway (the credentials stay)."""
    session = get_session()
    service.delete_pathway(session, current_user.id, pathway_id)
    session.commit()
    flash("The pathway was deleted. Your credentials are untouched.", "success")
    return redirect(url_for("pathways.index"))
