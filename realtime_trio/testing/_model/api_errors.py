"""Errors shaped like the real API's: ``error`` events and HTTP error bodies.

`ApiError` is raised inside the simulated session and turned into an
``error`` event (``type``, ``code``, ``message``, ``param``, ``event_id``).
`from_protocol_error` maps the strict codec's `RemoteProtocolError` to the
API's wording: "Unknown parameter: 'session.foo'." (``unknown_parameter``),
"Invalid type for 'x': expected an integer, but got a string instead."
(``invalid_type``), "Missing required parameter: 'item'."
(``missing_required_parameter``), "The 'type' field is missing."
(``invalid_event``) and "Invalid value: 'foo'. Supported values are: ..."
(``invalid_value``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any, Final

from ..._core.client_events import CLIENT_EVENT_CLASSES
from ..._core.errors import RemoteProtocolError
from ..._core.response_models import ErrorDetail
from ..._core.serde import format_path

CLIENT_EVENT_TYPES: Final = tuple(cls.TYPE for cls in CLIENT_EVENT_CLASSES)

_KINDS: Final = {
    "string": "a string",
    "integer": "an integer",
    "number": "a decimal",
    "boolean": "a boolean",
    "object": "an object",
    "array": "an array",
    "null": "null",
}


class ApiError(Exception):
    """An error the simulated server reports to the client.

    Attributes:
        type: ``invalid_request_error`` or ``server_error``.
        code: The machine-readable code, or None.
        message: The human-readable message.
        param: The offending parameter (dotted path), or None.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str | None,
        param: str | None = None,
        type: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.type = type
        self.code = code
        self.message = message
        self.param = param

    def detail(self, event_id: str | None = None) -> ErrorDetail:
        """Return the ``error`` object of an ``error`` event."""
        return ErrorDetail(
            type=self.type,
            code=self.code,
            message=self.message,
            param=self.param,
            event_id=event_id,
        )

    def http_body(self) -> bytes:
        """Return an OpenAI-style HTTP error body, ``{"error": {...}}``."""
        return json.dumps(
            {
                "error": {
                    "message": self.message,
                    "type": self.type,
                    "param": self.param,
                    "code": self.code,
                }
            }
        ).encode()


def supported_values(values: Iterable[str]) -> str:
    """Render ``'a', 'b' and 'c'`` as the API lists allowed values."""
    quoted = [f"'{v}'" for v in values]
    if len(quoted) <= 1:
        return "".join(quoted)
    return ", ".join(quoted[:-1]) + ", and " + quoted[-1]


def invalid_value(value: Any, allowed: Iterable[str], param: str) -> ApiError:
    """Return the ``invalid_value`` error for an enum-like field."""
    return ApiError(
        f"Invalid value: '{value}'. Supported values are: {supported_values(allowed)}.",
        code="invalid_value",
        param=param,
    )


def below_min(
    param: str, value: Any, minimum: Any, *, integer: bool = False
) -> ApiError:
    """Return the ``*_below_min_value`` error of a number below its range."""
    kind = "integer" if integer else "decimal"
    return ApiError(
        f"Invalid '{param}': {kind} below minimum value. Expected a value >= "
        f"{minimum}, but got {value} instead.",
        code=f"{kind}_below_min_value",
        param=param,
    )


def above_max(
    param: str, value: Any, maximum: Any, *, integer: bool = False
) -> ApiError:
    """Return the ``*_above_max_value`` error of a number above its range."""
    kind = "integer" if integer else "decimal"
    return ApiError(
        f"Invalid '{param}': {kind} above maximum value. Expected a value <= "
        f"{maximum}, but got {value} instead.",
        code=f"{kind}_above_max_value",
        param=param,
    )


def _describe_expected(text: str) -> str:
    parts = []
    for alternative in text.split(" or "):
        word = alternative.split(" ", 1)[0]
        parts.append(_KINDS.get(word, word))
    return " or ".join(dict.fromkeys(parts))


def _describe_got(text: str) -> str:
    return _KINDS.get(text.split(" ", 1)[0], text)


_UNKNOWN_FIELD: Final = re.compile(r"unknown field '(.*)' in \w+$")
_MISSING_FIELD: Final = re.compile(r"missing required field '(.*)' of \w+$")
_EXPECTED: Final = re.compile(r"expected (.*), got (.*)$")
_UNKNOWN_TAG: Final = re.compile(
    r"unknown object type (.*) \(expected one of \[(.*)\]\)$"
)


def from_protocol_error(exc: RemoteProtocolError) -> ApiError:
    """Map a strict-parsing error of a client event to the API's error."""
    text = str(exc)
    path = exc.path
    param = format_path(path) or None
    if exc.event_type is None and not text.startswith("invalid "):
        if path == ("type",):
            if "non-string" in text:
                return ApiError(
                    "Invalid type for 'type': expected a string.",
                    code="invalid_type",
                    param="type",
                )
            return ApiError("The 'type' field is missing.", code="invalid_event")
        if "not a JSON object" in text:
            return ApiError("The event must be a JSON object.", code="invalid_event")
        return ApiError(
            "We could not parse the JSON body of your request. "
            "(HINT: This likely means you aren't using your HTTP library correctly. "
            "The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
            code="invalid_json",
        )
    if text.startswith("unknown event type"):
        return invalid_value(exc.event_type, CLIENT_EVENT_TYPES, "type")
    detail = text.split(": ", 1)[1] if ": " in text else text
    if match := _UNKNOWN_FIELD.search(detail):
        return ApiError(
            f"Unknown parameter: '{param}'.", code="unknown_parameter", param=param
        )
    if match := _MISSING_FIELD.search(detail):
        return ApiError(
            f"Missing required parameter: '{param}'.",
            code="missing_required_parameter",
            param=param,
        )
    if match := _UNKNOWN_TAG.search(detail):
        tag_param = f"{param}.type" if param else "type"
        tag = match.group(1)
        if tag == "None":
            return ApiError(
                f"Missing required parameter: '{tag_param}'.",
                code="missing_required_parameter",
                param=tag_param,
            )
        allowed = [t.strip().strip("'") for t in match.group(2).split(",") if t.strip()]
        return invalid_value(tag.strip("'\""), allowed, tag_param)
    if detail.startswith("expected type "):
        return ApiError(detail, code="invalid_value", param=param)
    if match := _EXPECTED.search(detail):
        return ApiError(
            f"Invalid type for '{param}': expected {_describe_expected(match.group(1))}, "
            f"but got {_describe_got(match.group(2))} instead.",
            code="invalid_type",
            param=param,
        )
    return ApiError(detail, code="invalid_value", param=param)  # pragma: no cover
