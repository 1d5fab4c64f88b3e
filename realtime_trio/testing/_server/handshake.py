"""The WebSocket handshake of the simulator: who connects, and to what session."""

from __future__ import annotations

from collections import deque
from typing import Any, Final

import trio_websocket

from .._model.api_errors import ApiError
from .._model.outputs import Output
from .._model.scenario import CloseConnection
from .calls import CallRegistry
from .credentials import Credentials, HttpError, bearer_key, call_not_found
from .http import HttpRequest
from .sim_connection import ConnectionRecord

_SUBPROTOCOL_KEY: Final = "openai-insecure-api-key."
_REDACTED: Final = ("authorization", "api-key")


def new_record(
    request: trio_websocket.WebSocketRequest, index: int, *, history: int
) -> ConnectionRecord:
    """Describe a handshake (the key is taken from ``Authorization: Bearer``,
    Azure's ``api-key`` or the browser subprotocol ``openai-insecure-api-key.*``);
    the record keeps ``history`` events of each kind."""
    http = HttpRequest(
        method="GET",
        target=request.path,
        headers=tuple(
            (k.decode("latin-1").lower(), v.decode("latin-1"))
            for k, v in request.headers
        ),
    )
    key = bearer_key(http.header("authorization")) or http.header("api-key")
    for protocol in request.proposed_subprotocols:
        if protocol.startswith(_SUBPROTOCOL_KEY):
            key = key or protocol[len(_SUBPROTOCOL_KEY) :]
    headers = tuple(
        (name, "Bearer <redacted>" if name in _REDACTED else value)
        for name, value in http.headers
    )
    query = http.query
    return ConnectionRecord(
        index=index,
        path=http.path,
        query=query,
        headers=headers,
        api_key=key,
        safety_identifier=http.header("openai-safety-identifier"),
        model=query.get("model"),
        call_id=query.get("call_id"),
        client_events=deque(maxlen=history),
        invalid_messages=deque(maxlen=history),
        server_events=deque(maxlen=history),
    )


def check_handshake(
    record: ConnectionRecord,
    credentials: Credentials,
    calls: CallRegistry,
    *,
    require_safety_identifier: bool,
) -> dict[str, Any] | None:
    """Authenticate a handshake and find its initial session config.

    Returns:
        The config of an accepted call (``?call_id=``) or of the ephemeral
        key used, or None for a new default session.

    Raises:
        HttpError: The handshake is refused (404 unknown path or call, 401
            bad key, 400 missing model or safety identifier).
    """
    if record.path.rstrip("/") != "/v1/realtime":
        raise HttpError(404, ApiError(f"Invalid URL (GET {record.path})", code=None))
    secret = credentials.check(record.api_key)
    if require_safety_identifier and not record.safety_identifier:
        raise HttpError(
            400,
            ApiError(
                "The 'OpenAI-Safety-Identifier' header is required.",
                code="missing_safety_identifier",
                param="OpenAI-Safety-Identifier",
            ),
        )
    config: dict[str, Any] | None = None if secret is None else dict(secret.session)
    if record.call_id is not None:
        call = calls.get(record.call_id)
        if call is None or call.state != "accepted":
            raise call_not_found()
        return dict(call.session or {"type": "realtime"})
    if (
        record.model is None
        and record.query.get("intent") != "transcription"
        and secret is None
    ):
        raise HttpError(
            400,
            ApiError(
                "Missing required parameter: 'model'.",
                code="missing_required_parameter",
                param="model",
            ),
        )
    return config


def record_header(record: ConnectionRecord, name: str) -> str | None:
    """A handshake header of a connection, by lower-case name."""
    for key, value in record.headers:
        if key == name:
            return value
    return None


class BetaRejected:
    """Closes the connection at once, as GA servers do with ``OpenAI-Beta`` (observed)."""

    def __init__(self) -> None:
        self.last_client_event: Any = None

    def start(self) -> list[Output]:
        """Close with 4000 ``invalid_request_error.beta_api_shape_disabled``."""
        reason = "invalid_request_error.beta_api_shape_disabled"
        return [CloseConnection(code=4000, reason=reason)]

    def handle_message(self, data: str | bytes, now: float) -> list[Output]:
        """Nothing to do."""
        return []

    def next_deadline(self) -> float | None:
        """No timers."""
        return None

    def on_timer(self, now: float) -> list[Output]:
        """No timers."""
        return []

    def response_finished(self, run: Any, now: float) -> None:
        """No responses."""

    def dtmf(self, key: str, received_at: int) -> list[Output]:
        """No events."""
        return []

    def caller_audio(self, pcm: bytes, now: float) -> list[Output]:
        """No events."""
        return []
