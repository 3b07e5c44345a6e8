"""Register, log in and out, reset a forgotten password, confirm an email address."""
from __future__ import annotations

import unicodedata
from urllib.parse import unquote, urlsplit

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, login_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import InputRequired

from wallet.db import get_session
from wallet.models import User
from wallet.extensions import session_max_idle
from wallet.forms import checked_by, new_password_rule, refuse, same_as
from wallet.services import accounts, login_sessions
from wallet.services.errors import ConflictError, RateLimitedError, ValidationError
from wallet.web import end_session, external_url, limited, logged_out_message, mail_settings, mail_throttle
from wallet.wiring import collaborators

bp = Blueprint("auth", __name__)


class RegisterForm(FlaskForm):
    display_name = StringField("Your name", validators=[InputRequired("Enter the name to show on your wallet."),
                                                        checked_by(accounts.clean_display_name)])
    email = EmailField("Email address", validators=[InputRequired("Enter your email address."),
                                                    checked_by(accounts.normalize_email)])
    password = PasswordField("Password", validators=[InputRequired("Choose a password."), new_password_rule("email")])
    confirm = PasswordField("Password again", validators=[InputRequired("Type the password a second time."),
                                                          same_as("password")])


class LoginForm(FlaskForm):
    email = EmailField("Email address", validators=[InputRequired("Enter your email address.")])
    password = PasswordField("Password", validators=[InputRequired("Enter your password.")])
    remember = BooleanField("Keep me logged in on this device")
    next = HiddenField()


class ForgotForm(FlaskForm):
    email = EmailField("Email address", validators=[InputRequired("Enter your email address.")])


class ResetForm(FlaskForm):
    password = PasswordField("New password", validators=[InputRequired("Choose a new password."), new_password_rule()])
    confirm = PasswordField("New password again", validators=[InputRequired("Type the password a second time."),
                                                              same_as("password")])


@bp.before_app_request
def _resolve_user_per_request() -> None:
    # Flask-Login caches the user in `g`. When one app context serves several requests (the test
    # client inside an app context, a CLI command), each request must still be judged by its own
    # cookie or token, never by the previous request's user.
    g.pop("_login_user", None)
    g.pop("api_user", None)


def is_safe_next(target: str | None) -> bool:
    """Return whether `target` is a path on this site, safe to redirect to after log-in (F1).

    Django's url_has_allowed_host_and_scheme logic with no allowed hosts: only relative paths
    starting with one "/" pass. Browsers read "\\" as "/" and drop tabs and newlines, so
    "/\\evil", "\\/\\/evil" and "/\\t/evil" are refused, as are "//evil", "https:evil" and
    anything whose percent-decoding is one of these.
    """
    if not target:
        return False
    for candidate in (target, unquote(target)):
        if any(unicodedata.category(c).startswith("C") for c in candidate):
            return False
        candidate = candidate.replace("\\", "/")
        if not candidate.startswith("/") or candidate.startswith("//"):
            return False
        parts = urlsplit(candidate)
        if parts.scheme or parts.netloc:
            return False
    return True


def _after_login_url(target: str | None) -> str:
    return target if target and is_safe_next(target) else url_for("main.index")


def _policy() -> accounts.LoginPolicy:
    config = current_app.config
    return accounts.LoginPolicy(max_failures=int(config["LOGIN_MAX_FAILURES"]),
                                lockout_seconds=int(config["LOGIN_LOCKOUT_SECONDS"]),
                                password_min_length=int(config["PASSWORD_MIN_LENGTH"]))


def start_session(user: User, remember: bool = False) -> None:
    """Log `user` in on a new, empty session recorded on the server (F7: nothing from before log-in survives).

    Commits: the session row must exist before the response carries its cookie.
    """
    db = get_session()
    secret = login_sessions.start_session(db, user_id=user.id, user_agent=request.headers.get("User-Agent"),
                                          max_idle=session_max_idle(current_app.config))
    db.commit()
    session.clear()
    login_user(user, remember=remember)
    # Flask-Login keeps the id in the session and the remember-me cookie: the session's secret, not the user's id.
    session["_user_id"] = secret


def _verify_link(raw: str) -> str:
    return external_url("auth.confirm_email", token=raw)


@bp.route("/register", methods=["GET", "POST"])
def register() -> ResponseReturnValue:
    """Create an account, log it in and mail a link to confirm the address."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = RegisterForm()
    if form.validate_on_submit():
        db = get_session()
        try:
            # The throttle counts the confirmation mail before the address is looked up (F12).
            user = accounts.register(db, display_name=form.display_name.data, email=form.email.data,
                                     password=form.password.data, confirm=form.confirm.data,
                                     password_min_length=_policy().password_min_length, throttle=mail_throttle())
            email = user.emails[0]
            accounts.send_verification(db, owner_id=user.id, email_id=email.id, mail=mail_settings(),
                                       link=_verify_link,
                                       max_age_seconds=current_app.config["EMAIL_TOKEN_MAX_AGE_SECONDS"])
        except ConflictError as error:
            db.rollback()
            refuse(form.email, error)
        except RateLimitedError as error:
            db.rollback()
            form.form_errors.append(str(error))
            return limited(render_template("auth/register.html", form=form,
                                           min_length=_policy().password_min_length), error)
        else:
            db.commit()
            start_session(user)
            flash(f"Welcome to Wallet. We sent a link to {email.address}: open it to confirm your address.",
                  "success")
            return redirect(url_for("main.index"))
    status = 400 if form.errors else 200
    return render_template("auth/register.html", form=form, min_length=_policy().password_min_length), status


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """Log in with email and password; lock the account after repeated failures."""
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if current_user.is_authenticated:
        return redirect(_after_login_url(form.next.data))
    status = 200
    if form.validate_on_submit():
        client = request.remote_addr or "unknown"
        failures = collaborators().limiter("login-client")  # shared by all processes with Redis
        if failures.is_blocked(client):
            form.form_errors.append("Too many failed log-ins from your network. Wait a few minutes and try again.")
            status = 429
        else:
            db = get_session()
            result = accounts.authenticate(db, email=form.email.data, password=form.password.data, policy=_policy())
            db.commit()
            if result.user is not None:
                start_session(result.user, remember=bool(form.remember.data))
                return redirect(_after_login_url(form.next.data))
            failures.record(client)
            form.form_errors.append(result.error or "Log-in failed.")
            status = 429 if result.locked else 400
    elif form.errors:
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """Log out and forget the whole session (POST only, CSRF-checked, F2)."""
    end_session()
    flash("You are logged out.", "info")
    return redirect(url_for("main.index"))


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password() -> ResponseReturnValue:
    """Mail a reset link; answer the same whether or not an account has the address (F12)."""
    form = ForgotForm()
    if form.validate_on_submit():
        db = get_session()
        try:
            accounts.request_password_reset(db, email=form.email.data, mail=mail_settings(),
                                            link=lambda raw: external_url("auth.reset_password", token=raw),
                                            max_age_seconds=current_app.config["RESET_TOKEN_MAX_AGE_SECONDS"],
                                            throttle=mail_throttle())
        except RateLimitedError as error:
            db.rollback()
            form.form_errors.append(str(error))
            return limited(render_template("auth/forgot.html", form=form), error)
        db.commit()
        flash("If an account uses that address, we have sent it a link to choose a new password. "
              "Check your inbox (and spam folder).", "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot.html", form=form), 400 if form.errors else 200


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> ResponseReturnValue:
    """Choose a new password from an emailed link (single use, expiring)."""
    db = get_session()
    accounts.check_reset_token(db, token)  # an unknown, used or expired link ends here with a clear page
    form = ResetForm()
    if form.validate_on_submit():
        try:
            logged_out = accounts.reset_password(db, raw_token=token, new=form.password.data,
                                                 confirm=form.confirm.data,
                                                 password_min_length=_policy().password_min_length)
        except ValidationError as error:
            db.rollback()
            refuse(form.password, error)
        else:
            db.commit()
            end_session()
            flash(f"Your password is changed. {logged_out_message(logged_out)} Log in with the new password.",
                  "success")
            return redirect(url_for("auth.login"))
    return (render_template("auth/reset.html", form=form, token=token, min_length=_policy().password_min_length),
            400 if form.errors else 200)


@bp.get("/email/confirm/<token>")
@login_required
def confirm_email(token: str) -> ResponseReturnValue:
    """Show which address the link confirms, with a button; the GET itself changes nothing (F2)."""
    email = accounts.check_email_token(get_session(), owner_id=current_user.id, raw_token=token)
    return render_template("auth/confirm_email.html", email=email, token=token)


@bp.post("/email/confirm/<token>")
@login_required
def confirm_email_post(token: str) -> ResponseReturnValue:
    """Mark the address confirmed."""
    db = get_session()
    email = accounts.confirm_email(db, owner_id=current_user.id, raw_token=token)
    db.commit()
    flash(f"Thank you: {email.address} is confirmed.", "success")
    return redirect(url_for("settings.index"))
