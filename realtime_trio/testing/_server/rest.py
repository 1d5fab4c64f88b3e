"""The REST side of the simulator: calls, client secrets, API keys.

Endpoints (all ``POST``, all under ``/v1``):

* ``/realtime/calls`` - a WebRTC SDP offer (``application/sdp``, or
  ``multipart/form-data`` with ``sdp`` and ``session`` parts); answers
  ``201`` with an SDP answer and ``Location: /v1/realtime/calls/{call_id}``.
  The call is live at once (state ``accepted``).
* ``/realtime/calls/{call_id}/accept`` - a session config (JSON); an
  ``incoming`` call becomes ``accepted``.
* ``/realtime/calls/{call_id}/reject`` - ``{"status_code": 486}`` (default
  603); ``incoming`` becomes ``rejected``.
* ``/realtime/calls/{call_id}/refer`` - ``{"target_uri": "tel:..."}``; an
  accepted call becomes ``referred`` and its sideband connections close.
* ``/realtime/calls/{call_id}/hangup`` - the call becomes ``ended`` and its
  sideband connections close (code 1000).
* ``/realtime/client_secrets`` - ``{"expires_after": {...}, "session": {...}}``
  mints an ``ek_...`` key that authenticates a connection and gives it that
  session.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from ..._core.errors import RemoteProtocolError
from ..._core.serde import get_codec
from .._model.api_errors import ApiError, above_max, below_min
from .._model.ids import IdFactory
from .calls import (
    CallRegistry,
    SimCall,
    full_session,
    parse_multipart,
    parse_session_config,
    sdp_answer,
)
from .credentials import (
    ClientSecret,
    Credentials,
    HttpError,
    bearer_key,
    call_not_found,
)
from .http import HttpRequest, HttpResponse


class RestApi:
    """Routes the REST requests of the simulator.

    Args:
        credentials: The accepted keys and minted client secrets.
        calls: The call registry.
        ids: Where call ids and secrets come from.
        end_call: Closes the sideband connections of a call (reason given).
    """

    def __init__(
        self,
        credentials: Credentials,
        calls: CallRegistry,
        ids: IdFactory,
        end_call: Callable[[str, str], Awaitable[None]],
    ) -> None:
        self.credentials = credentials
        self.calls = calls
        self.ids = ids
        self._end_call = end_call

    async def handle(self, request: HttpRequest) -> HttpResponse:
        """Answer one request."""
        try:
            return await self._route(request)
        except HttpError as exc:
            return exc.response()

    async def _route(self, request: HttpRequest) -> HttpResponse:
        segments = [s for s in request.path.split("/") if s]
        if request.method == "POST" and segments[:2] == ["v1", "realtime"]:
            rest = segments[2:]
            secret = self.credentials.check(bearer_key(request.header("authorization")))
            if rest == ["calls"]:
                return self._create_call(request, secret)
            if secret is not None:
                raise HttpError(
                    401,
                    ApiError(
                        "Ephemeral keys can only create calls.", code="invalid_api_key"
                    ),
                )
            if rest == ["client_secrets"]:
                return self._client_secret(request)
            if (
                len(rest) == 3
                and rest[0] == "calls"
                and rest[2] in ("accept", "reject", "refer", "hangup")
            ):
                return await self._call_action(rest[1], rest[2], request)
        raise HttpError(
            404,
            ApiError(f"Invalid URL ({request.method} {request.path})", code=None),
        )

    def _body(self, request: HttpRequest) -> Any:
        try:
            return request.json()
        except ValueError:
            raise HttpError(
                400,
                ApiError(
                    "We could not parse the JSON body of your request.",
                    code="invalid_json",
                ),
            ) from None

    async def _call_action(
        self, call_id: str, action: str, request: HttpRequest
    ) -> HttpResponse:
        call = self.calls.get(call_id)
        if call is None:
            raise call_not_found()
        body = self._body(request)
        if action == "accept":
            config = parse_session_config(body)
            self._require(call, action, ("incoming",))
            call.session = config
            call.move("accepted")
        elif action == "reject":
            status = 603
            if isinstance(body, dict) and "status_code" in body:
                status = body["status_code"]
                if type(status) is not int:
                    raise HttpError(
                        400,
                        ApiError(
                            "Invalid type for 'status_code': expected an integer.",
                            code="invalid_type",
                            param="status_code",
                        ),
                    )
                if status < 100:
                    raise HttpError(
                        400, below_min("status_code", status, 100, integer=True)
                    )
                if status > 699:
                    raise HttpError(
                        400, above_max("status_code", status, 699, integer=True)
                    )
            self._require(call, action, ("incoming",))
            call.reject_status_code = status
            call.move("rejected")
        elif action == "refer":
            target = body.get("target_uri") if isinstance(body, dict) else None
            if not isinstance(target, str) or not target:
                raise HttpError(
                    400,
                    ApiError(
                        "Missing required parameter: 'target_uri'.",
                        code="missing_required_parameter",
                        param="target_uri",
                    ),
                )
            self._require(call, action, ("accepted",))
            call.refer_target = target
            call.move("referred")
            await self._end_call(call.id, "call referred")
        else:
            self._require(call, action, ("incoming", "accepted"))
            call.move("ended")
            await self._end_call(call.id, "call ended")
        return HttpResponse(status=200)

    @staticmethod
    def _require(call: SimCall, action: str, states: tuple[str, ...]) -> None:
        if call.state not in states:
            raise HttpError(
                400,
                ApiError(
                    f"Cannot {action} call {call.id}: the call is {call.state}.",
                    code="invalid_call_state",
                ),
            )

    def _client_secret(self, request: HttpRequest) -> HttpResponse:
        body = self._body(request) or {}
        if not isinstance(body, dict):
            raise HttpError(
                400, ApiError("The body must be a JSON object.", code="invalid_type")
            )
        seconds = 600
        expires_after = body.get("expires_after") or {}
        if isinstance(expires_after, dict) and "seconds" in expires_after:
            seconds = expires_after["seconds"]
            if type(seconds) is not int:
                raise HttpError(
                    400,
                    ApiError(
                        "Invalid type for 'expires_after.seconds': expected an integer.",
                        code="invalid_type",
                        param="expires_after.seconds",
                    ),
                )
            if seconds < 10:
                raise HttpError(
                    400, below_min("expires_after.seconds", seconds, 10, integer=True)
                )
            if seconds > 7200:
                raise HttpError(
                    400, above_max("expires_after.seconds", seconds, 7200, integer=True)
                )
        config = parse_session_config(
            body.get("session") or {"type": "realtime"}, param_prefix="session"
        )
        expires_at = int(time.time()) + seconds
        value = self.ids.hex("ek_")
        session = full_session(
            config, session_id=self.ids.new("sess_"), expires_at=expires_at
        )
        self.credentials.secrets[value] = ClientSecret(
            value=value, expires_at=expires_at, session=config
        )
        return HttpResponse.json(
            200, {"value": value, "expires_at": expires_at, "session": session}
        )

    def _create_call(
        self, request: HttpRequest, secret: ClientSecret | None
    ) -> HttpResponse:
        content_type = request.header("content-type") or ""
        config: Mapping[str, Any] | None = None if secret is None else secret.session
        if content_type.startswith("multipart/form-data"):
            parts = parse_multipart(content_type, request.body)
            offer = parts.get("sdp", b"").decode("utf-8", "replace")
            if "session" in parts:
                try:
                    raw = get_codec().loads(parts["session"])
                except RemoteProtocolError:
                    raise HttpError(
                        400,
                        ApiError(
                            "The session part is not valid JSON.",
                            code="invalid_json",
                            param="session",
                        ),
                    ) from None
                config = parse_session_config(raw, param_prefix="session")
        else:
            offer = request.body.decode("utf-8", "replace")
        if not offer.startswith("v=0"):
            raise HttpError(
                400, ApiError("Invalid SDP offer.", code="invalid_offer", param="sdp")
            )
        call = self.calls.add(
            SimCall(
                id=self.ids.hex("rtc_"),
                kind="webrtc",
                state="accepted",
                session=config,
                sdp_offer=offer,
            )
        )
        return HttpResponse(
            status=201,
            headers=(
                ("content-type", "application/sdp"),
                ("location", f"/v1/realtime/calls/{call.id}"),
            ),
            body=sdp_answer(call.id, self.ids).encode(),
        )
