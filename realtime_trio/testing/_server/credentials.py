"""API keys and ephemeral client secrets of the simulator, and HTTP errors."""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping
from typing import Any

import attrs

from .._model.api_errors import ApiError
from .http import HttpResponse


class HttpError(Exception):
    """An API error answered with an HTTP status."""

    def __init__(self, status: int, error: ApiError) -> None:
        super().__init__(error.message)
        self.status = status
        self.error = error

    def response(self) -> HttpResponse:
        """The HTTP response."""
        return HttpResponse(
            status=self.status,
            headers=(("content-type", "application/json"),),
            body=self.error.http_body(),
        )


def call_not_found() -> HttpError:
    """The real API's answer to an unknown call id."""
    error = ApiError(
        "No session found for the provided call_id", code="call_id_not_found", param=""
    )
    return HttpError(404, error)


@attrs.frozen(kw_only=True)
class ClientSecret:
    """An ephemeral key minted by ``/v1/realtime/client_secrets``."""

    value: str = attrs.field(repr=False)
    expires_at: int
    session: Mapping[str, Any]


class Credentials:
    """Which API keys the simulator accepts (any non-empty key by default)."""

    def __init__(self, api_keys: Collection[str] | None) -> None:
        self.api_keys = None if api_keys is None else frozenset(api_keys)
        self.secrets: dict[str, ClientSecret] = {}

    def check(self, key: str | None) -> ClientSecret | None:
        """Check a key; return the client secret when it is an ephemeral one.

        Raises:
            HttpError: 401, the key is missing, unknown or expired.
        """
        if not key:
            raise HttpError(
                401,
                ApiError(
                    "You didn't provide an API key. You need to provide your API key in an "
                    "Authorization header using Bearer auth (i.e. Authorization: Bearer "
                    "YOUR_KEY).",
                    code=None,
                ),
            )
        secret = self.secrets.get(key)
        if secret is not None:
            if secret.expires_at < time.time():
                raise HttpError(
                    401,
                    ApiError(
                        "The ephemeral token has expired.", code="invalid_api_key"
                    ),
                )
            return secret
        if self.api_keys is not None and key not in self.api_keys:
            shown = key[:3] + "*" * 4 + key[-4:] if len(key) > 8 else "*" * len(key)
            raise HttpError(
                401,
                ApiError(
                    f"Incorrect API key provided: {shown}. You can find your API key at "
                    "https://platform.openai.com/account/api-keys.",
                    code="invalid_api_key",
                ),
            )
        return None


def bearer_key(authorization: str | None) -> str | None:
    """The key of an ``Authorization: Bearer <key>`` header."""
    if authorization is None:
        return None
    scheme, _, key = authorization.strip().partition(" ")
    return key.strip() if scheme.lower() == "bearer" else None
