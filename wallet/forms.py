"""Form validators built from service rules, shared by the account and settings pages."""
from __future__ import annotations

from collections.abc import Callable

from flask import current_app
from flask_wtf import FlaskForm
from wtforms import Field
from wtforms.validators import ValidationError as FieldError

from wallet.services import passwords
from wallet.services.errors import ValidationError


def checked_by(rule: Callable[[str], object]) -> Callable[[FlaskForm, Field], None]:
    """Make a form validator from a service rule, so a form and its service refuse the same input."""

    def validator(_form: FlaskForm, field: Field) -> None:
        try:
            rule(field.data or "")
        except ValidationError as error:
            raise FieldError(str(error)) from error

    return validator


def new_password_rule(email_field: str | None = None) -> Callable[[FlaskForm, Field], None]:
    """Validate a new password by the service's rules, against the address typed in `email_field`."""

    def validator(form: FlaskForm, field: Field) -> None:
        email = form[email_field].data if email_field else None
        checked_by(lambda password: passwords.check_new_password(
            password, email=email, min_length=int(current_app.config["PASSWORD_MIN_LENGTH"])))(form, field)

    return validator


def same_as(other: str) -> Callable[[FlaskForm, Field], None]:
    """Validate that a confirmation field repeats `other`."""

    def validator(form: FlaskForm, field: Field) -> None:
        if field.data != form[other].data:
            raise FieldError("The two passwords are not the same.")

    return validator


def refuse(field: object, error: Exception) -> None:
    """Show a service's refusal next to the form field it is about."""
    field.errors = [*field.errors, str(error)]  # type: ignore[attr-defined]
