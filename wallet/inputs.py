"""Request input read strictly, for every view at once: JSON bodies and integer path parameters.

`create_app` makes `JSONRequest` the app's request class, so `request.get_json()` in any view,
present or future, refuses NaN/Infinity, numbers out of I-JSON range, duplicate keys and runaway
nesting with 400 and a reason (docs/security.md D1-D4), instead of handing the view a value that
crashes it later; a NUL character, which PostgreSQL text cannot hold, is refused in a body and in
the query string alike. It also makes `IdConverter` the `<int:...>` converter, so an id no database
column can hold is simply a page that does not exist (404), never an overflow (500); `is_id` is the
same rule for ids inside a body.
"""
from __future__ import annotations

from typing import Any

from flask import Request, json, request
from werkzeug.routing import IntegerConverter

from wallet.services.errors import ValidationError
from wallet.services.verification.errors import MalformedJSONError
from wallet.services.verification.jsonutil import loads_strict


class StrictJSON:
    """The `json_module` of JSONRequest: the strict reader for loads, Flask's own dumps."""

    @staticmethod
    def loads(data: str | bytes, **_: Any) -> Any:
        """Parse a request body; raise ValidationError (400) naming what is wrong.

        Not a ValueError, so `get_json(silent=True)` does not turn a refused body into "no body".
        """
        try:
            value = loads_strict(data)
        except MalformedJSONError as error:
            raise ValidationError(f"The request body was refused. {error}") from None
        if _holds_nul(value):
            raise ValidationError(f"The request body was refused. {NUL_MESSAGE}")
        return value

    @staticmethod
    def dumps(obj: Any, **kwargs: Any) -> str:
        return json.dumps(obj, **kwargs)


class JSONRequest(Request):
    """Flask's request, reading JSON bodies strictly."""

    @property
    def json_module(self) -> type[StrictJSON]:  # type: ignore[override]
        return StrictJSON

    @json_module.setter
    def json_module(self, provider: Any) -> None:
        # Flask hands each new request the app's JSON provider (flask.ctx.RequestContext); bodies keep
        # the strict reader. Responses and the session cookie still use the provider.
        pass


# Ids are the databases' INTEGER primary keys: 32-bit on PostgreSQL (SQLite's are wider, and the
# one rule serves both).
MAX_ID = 2**31 - 1
NUL_MESSAGE = "It holds a NUL character (U+0000), which Wallet does not accept."


def is_id(value: Any) -> bool:
    """Return whether `value` (from a JSON body) can be the id of a stored row."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def _at_most(limit: int) -> str:
    """Return a pattern for the decimal numbers of `limit`'s length that are not above it."""
    digits = str(limit)
    smaller = [digits[:i] + f"[0-{int(d) - 1}]" + r"\d" * (len(digits) - i - 1)
               for i, d in enumerate(digits) if d != "0"]
    return "|".join([*smaller, digits])


class IdConverter(IntegerConverter):
    """`<int:...>` for ids up to MAX_ID, so every id a URL can name fits a database integer.

    Bounded by the pattern rather than `max`: a value that matches the pattern but fails conversion
    makes Werkzeug answer 405 for the other methods of the same path instead of 404.
    """

    regex = rf"(?:\d{{1,{len(str(MAX_ID)) - 1}}}|{_at_most(MAX_ID)})"


def refuse_nul_in_inputs() -> None:
    """Refuse a query string or a plain form holding a NUL character (a before-request hook): 400, not a
    database error. Multipart forms are left to their views, which may raise the body limit first."""
    if "\x00" in request.query_string.decode("latin-1") or any("\x00" in v for v in request.args.values()):
        raise ValidationError(f"The address was refused. {NUL_MESSAGE}")
    if request.mimetype == "application/x-www-form-urlencoded" and any("\x00" in v for v in request.form.values()):
        raise ValidationError(f"The form was refused. {NUL_MESSAGE}")


def _holds_nul(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False
