"""The errors of call control over REST, and what an HTTP error answer means.

::

    RealtimeError
    ├── APIError                 the API answered with an HTTP error (status, code, message)
    │   ├── CallNotFoundError    HTTP 404 ``call_id_not_found``: no such call (or no longer)
    │   └── APIRedirectError     HTTP 3xx: never followed, never success (status, location)
    ├── APIConnectionError       no answer at all (connection refused, reset, TLS...)
    └── ProtocolError
        └── RemoteProtocolError  a 2xx answer we cannot use (not JSON, no ``Location``...)

Sans-IO: `api_error` turns a status and a body into the right exception;
`realtime_trio.calls.CallsClient` raises what it returns.

A header value that cannot go on the wire (an API key with a trailing
newline...) is refused before any request with
`realtime_trio.InvalidHeaderError`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from .._core.errors import RealtimeError

_CALL_ACTIONS: Final = ("accept", "reject", "refer", "hangup")


class APIError(RealtimeError):
    """The API answered a REST request with an HTTP error.

    Attributes:
        status_code: The HTTP status.
        code: The OpenAI error ``code`` (for example ``call_id_not_found``), if any.
        error_type: The OpenAI error ``type`` (for example ``invalid_request_error``), if any.
        message: The OpenAI error ``message``, or the start of the body's text.
        param: The OpenAI error ``param``, if any.
        body: The raw response body.
        request_id: The ``x-request-id`` header (quote it to OpenAI support).
        method: The request's method.
        path: The request's path under the base URL (never the key).
    """

    def __init__(
        self,
        status_code: int,
        body: bytes = b"",
        *,
        method: str = "POST",
        path: str = "",
        request_id: str | None = None,
    ) -> None:
        self.status_code = status_code
        self.body = body
        self.method = method
        self.path = path
        self.request_id = request_id
        error: Mapping[str, Any] = {}
        try:
            data = json.loads(body)
            if isinstance(data, dict) and isinstance(data.get("error"), dict):
                error = data["error"]
        except (ValueError, UnicodeDecodeError):
            pass
        code, kind = error.get("code"), error.get("type")
        message, param = error.get("message"), error.get("param")
        self.code: str | None = code if isinstance(code, str) else None
        self.error_type: str | None = kind if isinstance(kind, str) else None
        self.param: str | None = param if isinstance(param, str) and param else None
        self.message: str = (
            message
            if isinstance(message, str)
            else body[:200].decode("utf-8", "replace")
        )
        super().__init__(
            f"{method} {path} failed with HTTP {status_code}"
            + (f" ({self.code})" if self.code else "")
            + (f": {self.message}" if self.message else "")
        )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status_code={self.status_code}, code={self.code!r}, "
            f"message={self.message!r})"
        )


class CallNotFoundError(APIError):
    """HTTP 404 for a call: no such call, or it has already ended.

    Right after a call arrives the API may also say this for a moment (see
    the ``attach_attempts`` retry of `realtime_trio.open_realtime`).
    """


class APIRedirectError(APIError):
    """The API answered a REST request with a redirect (HTTP 3xx), which is not followed.

    The API never redirects these requests: a 3xx comes from something in
    between (a proxy, a captive portal) or from a wrong base URL, and the API
    did not act on the request (the call was not accepted, not hung up...).
    Following it would send the API key elsewhere; taking it for success
    would record what did not happen.

    Attributes:
        location: The ``Location`` header, if any.
    """

    def __init__(
        self,
        status_code: int,
        body: bytes = b"",
        *,
        method: str = "POST",
        path: str = "",
        request_id: str | None = None,
        location: str | None = None,
    ) -> None:
        super().__init__(
            status_code, body, method=method, path=path, request_id=request_id
        )
        self.location = location
        where = f" to {location}" if location else " without a Location"
        self.args = (
            f"{method} {path} was answered with a redirect, HTTP {status_code}"
            f"{where}, which is not followed: check the base URL or the proxy",
        )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status_code={self.status_code}, "
            f"location={self.location!r})"
        )


class APIConnectionError(RealtimeError):
    """The REST request got no answer (connection refused or reset, DNS, TLS...).

    The httpx exception is the ``__cause__``.
    """


def api_error(
    status_code: int,
    body: bytes,
    *,
    method: str,
    path: str,
    request_id: str | None,
) -> APIError:
    """The exception for an HTTP error answer (4xx, 5xx): `CallNotFoundError` for a missing call."""
    error = APIError(status_code, body, method=method, path=path, request_id=request_id)
    if _is_call_not_found(error):
        return CallNotFoundError(
            status_code, body, method=method, path=path, request_id=request_id
        )
    return error


def _is_call_not_found(error: APIError) -> bool:
    if error.status_code != 404:
        return False
    if error.code == "call_id_not_found":
        return True
    # A 404 without that code on a call's URL: the call, unless the URL
    # itself is wrong (a bad base URL answers "Invalid URL").
    parts = error.path.split("/")
    return (
        error.code is None
        and len(parts) == 5
        and parts[1:3] == ["realtime", "calls"]
        and parts[4] in _CALL_ACTIONS
        and not error.message.startswith("Invalid URL")
    )


__all__ = [
    "APIConnectionError",
    "APIError",
    "APIRedirectError",
    "CallNotFoundError",
    "api_error",
]
