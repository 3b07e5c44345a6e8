"""Settings: profile, email addresses, password, log-in sessions, personal access tokens, deleting the account."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length

from wallet.db import get_session, utcnow
from wallet.extensions import session_max_idle
from wallet.forms import checked_by, new_password_rule, refuse, same_as
from wallet.services import accounts, login_sessions, presentations, tokens
from wallet.services.oauth import grants as oauth_grants
from wallet.services.errors import AuthenticationError, ConflictError, RateLimitedError, ValidationError
from wallet.web import (
    current_session_secret,
    end_session,
    external_url,
    limited,
    logged_out_message,
    mail_settings,
    mail_throttle,
)
from wallet.wiring import collaborators

bp = Blueprint("settings", __name__, url_prefix="/settings")

# Token lifetimes offered in the form: value -> days (None: until revoked).
TOKEN_LIFETIMES = {"30": 30, "90": 90, "365": 365, "never": None}


class ProfileForm(FlaskForm):
    display_name = StringField("Your name", validators=[InputRequired("Enter the name to show on your wallet."),
                                                        checked_by(accounts.clean_display_name)])


class AddEmailForm(FlaskForm):
    address = EmailField("Add an email address", validators=[InputRequired("Enter the address to add."),
                                                             checked_by(accounts.normalize_email)])


class PasswordForm(FlaskForm):
    current = PasswordField("Current password", validators=[InputRequired("Enter your current password.")])
    new = PasswordField("New password", validators=[InputRequired("Choose a new password."), new_password_rule()])
    confirm = PasswordField("New password again", validators=[InputRequired("Type the new password a second time."),
                                                              same_as("new")])


class TokenForm(FlaskForm):
    name = StringField("Token name", validators=[
        InputRequired("Give the token a name, so you can recognise it later."),
        Length(max=tokens.NAME_MAX_LENGTH, message=f"Use at most {tokens.NAME_MAX_LENGTH} characters for the name.")])
    lifetime = SelectField("Expires", default="90", choices=[
        SelectChoice("30", "In 30 days"), SelectChoice("90", "In 90 days"), SelectChoice("365", "In a year"),
        SelectChoice("never", "Never (until revoked)")])


class DeleteForm(FlaskForm):
    password = PasswordField("Your password", validators=[InputRequired("Enter your password to confirm.")])
    confirm = BooleanField("I understand that my account, my credentials and everything else in Wallet "
                           "will be deleted for good.",
                           validators=[DataRequired("Tick the box to confirm that you want to delete everything.")])


def _forms(**given: FlaskForm) -> dict[str, FlaskForm]:
    # One page, five forms: each gets a prefix so field names and ids never clash. Only the form
    # that was sent (in `given`) shows what was typed; the others start empty.
    forms: dict[str, FlaskForm] = {
        "profile_form": ProfileForm(formdata=None, prefix="profile", display_name=current_user.display_name),
        "email_form": AddEmailForm(formdata=None, prefix="email"),
        "password_form": PasswordForm(formdata=None, prefix="password"),
        "token_form": TokenForm(formdata=None, prefix="token"),
        "delete_form": DeleteForm(formdata=None, prefix="delete"),
    }
    forms.update(given)
    return forms


def _render(status: int = 200, new_token: str | None = None, **given: FlaskForm) -> ResponseReturnValue:
    db = get_session()
    response = current_app.make_response((render_template(
        "settings/index.html",
        emails=current_user.emails,
        tokens=tokens.list_tokens(db, owner_id=current_user.id),
        login_sessions=login_sessions.list_sessions(db, owner_id=current_user.id,
                                                    max_idle=session_max_idle(current_app.config)),
        current_session_secret=current_session_secret(),
        is_current_session=login_sessions.is_current,
        describe_device=login_sessions.describe_device,
        wallet_key=presentations.find_learner_key(db, current_user.id),
        new_token=new_token,
        min_length=int(current_app.config["PASSWORD_MIN_LENGTH"]),
        now=utcnow(),
        **_forms(**given),
    ), status))
    # The page can hold a token shown once; keep it out of every cache.
    response.headers["Cache-Control"] = "no-store"
    return response


def _verify_link(raw: str) -> str:
    return external_url("auth.confirm_email", token=raw)


@bp.get("/")
@login_required
def index() -> ResponseReturnValue:
    """Show every setting on one page."""
    return _render()


@bp.post("/identifier")
@login_required
def create_identifier() -> ResponseReturnValue:
    """Create the learner's wallet identifier (a did:key), which providers can issue credentials to."""
    db = get_session()
    key = presentations.learner_key(db, current_user.id, secret_key=current_app.config["SECRET_KEY"])
    db.commit()
    flash(f"Your wallet identifier is {key.did}.", "success")
    return redirect(url_for("settings.index", _anchor="identifier"))


@bp.post("/profile")
@login_required
def profile() -> ResponseReturnValue:
    """Change the display name."""
    form = ProfileForm(prefix="profile")
    if not form.validate_on_submit():
        return _render(400, profile_form=form)
    db = get_session()
    accounts.update_profile(db, owner_id=current_user.id, display_name=form.display_name.data)
    db.commit()
    flash("Your name is saved.", "success")
    return redirect(url_for("settings.index"))


@bp.post("/emails")
@login_required
def add_email() -> ResponseReturnValue:
    """Add an address and mail it a confirmation link."""
    form = AddEmailForm(prefix="email")
    if form.validate_on_submit():
        db = get_session()
        try:
            email = accounts.add_email(db, owner_id=current_user.id, address=form.address.data, mail=mail_settings(),
                                       link=_verify_link,
                                       max_age_seconds=current_app.config["EMAIL_TOKEN_MAX_AGE_SECONDS"],
                                       throttle=mail_throttle())
        except (ConflictError, ValidationError) as error:
            db.rollback()
            refuse(form.address, error)
        except RateLimitedError as error:
            db.rollback()
            form.form_errors.append(str(error))
            return limited(_render(email_form=form), error)
        else:
            db.commit()
            flash(f"We sent a link to {email.address}. Open it to confirm the address.", "success")
            return redirect(url_for("settings.index", _anchor="emails"))
    return _render(400, email_form=form)


@bp.post("/emails/<int:email_id>/resend")
@login_required
def resend_verification(email_id: int) -> ResponseReturnValue:
    """Mail a new confirmation link for an unconfirmed address."""
    db = get_session()
    try:
        email = accounts.send_verification(db, owner_id=current_user.id, email_id=email_id, mail=mail_settings(),
                                           link=_verify_link,
                                           max_age_seconds=current_app.config["EMAIL_TOKEN_MAX_AGE_SECONDS"],
                                           throttle=mail_throttle())
    except RateLimitedError as error:
        db.rollback()
        flash(str(error), "error")
        return limited(_render(), error)
    db.commit()
    flash(f"We sent a new link to {email.address}.", "success")
    return redirect(url_for("settings.index", _anchor="emails"))


@bp.post("/emails/<int:email_id>/primary")
@login_required
def make_primary(email_id: int) -> ResponseReturnValue:
    """Make a confirmed address the main one."""
    db = get_session()
    try:
        email = accounts.make_primary(db, owner_id=current_user.id, email_id=email_id)
    except ValidationError as error:
        db.rollback()
        flash(str(error), "error")
    else:
        db.commit()
        flash(f"{email.address} is now your main address.", "success")
    return redirect(url_for("settings.index", _anchor="emails"))


@bp.post("/emails/<int:email_id>/remove")
@login_required
def remove_email(email_id: int) -> ResponseReturnValue:
    """Remove an address from the account."""
    db = get_session()
    try:
        address = accounts.remove_email(db, owner_id=current_user.id, email_id=email_id)
    except ValidationError as error:
        db.rollback()
        flash(str(error), "error")
    else:
        db.commit()
        flash(f"{address} is removed from your account.", "success")
    return redirect(url_for("settings.index", _anchor="emails"))


@bp.post("/password")
@login_required
def change_password() -> ResponseReturnValue:
    """Change the password; every other session ends, this one goes on."""
    form = PasswordForm(prefix="password")
    if form.validate_on_submit():
        db = get_session()
        try:
            accounts.change_password(db, owner_id=current_user.id, current=form.current.data,
                                     new=form.new.data, confirm=form.confirm.data,
                                     password_min_length=int(current_app.config["PASSWORD_MIN_LENGTH"]),
                                     keep_session=current_session_secret())
        except AuthenticationError as error:
            db.rollback()
            refuse(form.current, error)
        except ValidationError as error:
            db.rollback()
            refuse(form.new, error)
        else:
            db.commit()
            flash("Your password is changed. Other devices were logged out.", "success")
            return redirect(url_for("settings.index", _anchor="password"))
    return _render(400, password_form=form)


@bp.post("/sessions/<int:session_id>/end")
@login_required
def end_session_by_id(session_id: int) -> ResponseReturnValue:
    """Log out one other device."""
    db = get_session()
    login_sessions.end_session_by_id(db, owner_id=current_user.id, session_id=session_id)
    db.commit()
    flash("That device is logged out.", "success")
    return redirect(url_for("settings.index", _anchor="sessions"))


@bp.post("/sessions/end-all")
@login_required
def end_all_sessions() -> ResponseReturnValue:
    """Log out everywhere, this browser included, and revoke every access token (F7)."""
    db = get_session()
    logged_out = accounts.log_out_everywhere(db, owner_id=current_user.id)
    db.commit()
    end_session()
    flash(f"{logged_out_message(logged_out)} Log in again to go on.", "success")
    return redirect(url_for("auth.login"))


@bp.post("/tokens")
@login_required
def create_token() -> ResponseReturnValue:
    """Create a personal access token and show it once."""
    form = TokenForm(prefix="token")
    if form.validate_on_submit():
        days = TOKEN_LIFETIMES.get(form.lifetime.data)
        expires_at = utcnow() + timedelta(days=days) if days else None
        db = get_session()
        try:
            token, raw = tokens.create_token(db, owner_id=current_user.id, name=form.name.data, expires_at=expires_at)
        except ValidationError as error:
            db.rollback()
            refuse(form.name, error)
        else:
            db.commit()
            flash(f"Token “{token.name}” created. Copy it now: it will not be shown again.", "success")
            return _render(201, new_token=raw)
    return _render(400, token_form=form)


@bp.post("/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int) -> ResponseReturnValue:
    """Revoke a token; programs using it stop working at once."""
    db = get_session()
    token = tokens.revoke_token(db, owner_id=current_user.id, token_id=token_id)
    db.commit()
    flash(f"Token “{token.name}” is revoked.", "success")
    return redirect(url_for("settings.index", _anchor="tokens"))


@bp.get("/apps")
@login_required
def apps() -> ResponseReturnValue:
    """List the apps the learner connected to their wallet (OAuth grants)."""
    return render_template("settings/apps.html", apps=oauth_grants.connected_apps(get_session(), owner_id=current_user.id))


@bp.post("/apps/<int:grant_id>/revoke")
@login_required
def revoke_app(grant_id: int) -> ResponseReturnValue:
    """Disconnect an app: its grant and every token of it stop working at once."""
    db = get_session()
    grant = oauth_grants.revoke_grant(db, owner_id=current_user.id, grant_id=grant_id)
    db.commit()
    flash(f"{grant.client.client_name} is disconnected: it can no longer reach your wallet.", "success")
    return redirect(url_for("settings.apps"))


@bp.post("/delete")
@login_required
def delete_account() -> ResponseReturnValue:
    """Delete the account and everything in it, after the password and a tick."""
    form = DeleteForm(prefix="delete")
    if form.validate_on_submit():
        db = get_session()
        try:
            deletion = accounts.delete_account(db, owner_id=current_user.id, password=form.password.data,
                                               confirmed=bool(form.confirm.data))
        except AuthenticationError as error:
            db.rollback()
            refuse(form.password, error)
        else:
            db.commit()
            accounts.remove_files(collaborators().blobs, deletion)
            end_session()
            flash("Your account and everything in it are deleted.", "info")
            return redirect(url_for("main.index"))
    return _render(400, delete_form=form)
