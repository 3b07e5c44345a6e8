"""Request input read strictly, for every view at once: JSON bodies and integer path parameters.

`create_app` makes `JSONRequest` the app's request class, so `request.get_json()` in any view,
present or future, refuses NaN/Infinity, numbers out of I-JSON range, duplicate keys and runaway
nesting with 400 and a reason (docs/security.md D1-D4), instead of handing the view a value that
crashes it later. It also makes `IdConverter` the `<int:...>` converter, so an id no database
column can hold is simply a page that does not exist (404), never an overflow (500).
"""
from __future__ import annotations

from typing import Any

from flask import Request, json
from werkzeug.routing import IntegerConverter

from wallet.services.errors import ValidationError
from wallet.services.verification.jsonutil import MalformedJSONError, loads_strict


class StrictJSON:
    """The `json_module` of JSONRequest: the strict reader for loads, Flask's own dumps."""

    @staticmethod
    def loads(data: str | bytes, **_: Any) -> Any:
        """Parse a request body; raise ValidationError (400) naming what is wrong.

        Not a ValueError, so `get_json(silent=True)` does not turn a refused body into "no body".
        """
        try:
            return loads_strict(data)
        except MalformedJSONError as error:
            raise ValidationError(f"The request body was refused. {error}") from None

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


class IdConverter(IntegerConverter):
    """`<int:...>` of at most 16 digits, so every id a URL can name fits a 64-bit database integer.

    Bounded by the pattern rather than `max`: a value that matches the pattern but fails conversion
    makes Werkzeug answer 405 for the other methods of the same path instead of 404.
    """

    regex = r"\d{1,16}"
