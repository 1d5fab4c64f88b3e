"""Simulated SIP and WebRTC calls: their records, what they send, the configs they carry."""

from __future__ import annotations

import email.parser
import email.policy
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final

import attrs
import trio

from ..._core.errors import RemoteProtocolError
from ..._core.serde import get_codec
from ..._core.session_models import SessionConfig, TranscriptionSessionConfig
from ..._webhooks.signature import sign_webhook
from .._model.api_errors import ApiError, from_protocol_error
from .._model.ids import IdFactory
from .._model.nulls import drop_absent_nulls_in_session
from .._model.session_config import (
    DEFAULT_MODEL,
    apply_update,
    default_session,
    default_transcription_session,
)
from .credentials import HttpError
from .sim_connection import ServedConnection

CALL_STATES: Final = ("incoming", "accepted", "rejected", "referred", "ended")


@attrs.define(kw_only=True)
class SimCall:
    """A simulated SIP or WebRTC call.

    Attributes:
        id: The ``rtc_...`` call id.
        kind: ``"sip"`` or ``"webrtc"``.
        state: ``incoming``, ``accepted``, ``rejected``, ``referred`` or ``ended``.
        sip_headers: The SIP INVITE's headers (SIP calls).
        session: The session config given when accepting (or creating) it.
        reject_status_code: The SIP status of a rejection.
        refer_target: The ``target_uri`` of a transfer.
        sdp_offer: The SDP offer of a WebRTC call.
        webhook_status: The HTTP status the webhook endpoint answered.
        history: Every state the call has been in, in order.
        detached_at: When a sideband of it last closed with no other one
            attached (``trio.current_time()``), while ``sideband_grace`` runs.
    """

    id: str
    kind: str
    state: str = "incoming"
    sip_headers: tuple[tuple[str, str], ...] = ()
    session: Mapping[str, Any] | None = None
    reject_status_code: int | None = None
    refer_target: str | None = None
    sdp_offer: str | None = None
    webhook_status: int | None = None
    history: list[str] = attrs.field(factory=list)
    detached_at: float | None = None

    def move(self, state: str) -> None:
        """Change state (and remember it)."""
        self.state = state
        self.history.append(state)


class CallRegistry(Mapping[str, SimCall]):
    """The simulator's calls by id (a read-only mapping for assertions)."""

    def __init__(self) -> None:
        self._calls: dict[str, SimCall] = {}

    def __getitem__(self, call_id: str) -> SimCall:
        return self._calls[call_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._calls)

    def __len__(self) -> int:
        return len(self._calls)

    def add(self, call: SimCall) -> SimCall:
        """Register a call."""
        call.history.append(call.state)
        self._calls[call.id] = call
        return call


async def end_when_orphaned(
    call: SimCall, grace: float | None, live: Iterable[ServedConnection]
) -> None:
    """A sideband of ``call`` closed: end the call if none is attached within ``grace``.

    What the real API does with a SIP call whose sideband drops is not
    documented. The simulator assumes the call goes on (the caller talks
    with the model, which follows the session it was accepted with) and
    takes a new sideband by ``call_id``: ``grace`` None keeps the call up
    until it is hung up; a number of seconds ends it (state ``ended``) when
    no sideband has been attached for that long.
    """
    if grace is None or call.state != "accepted":
        return
    if any(served.record.call_id == call.id for served in live):
        return
    call.detached_at = detached = trio.current_time()
    await trio.sleep(grace)
    if call.detached_at != detached:  # closed again since: that close decides
        return
    call.detached_at = None
    attached = any(served.record.call_id == call.id for served in live)
    if call.state == "accepted" and not attached:
        call.move("ended")


def parse_session_config(body: Any, *, param_prefix: str = "") -> dict[str, Any]:
    """Check a session config (strictly) and return it as wire JSON.

    Raises:
        HttpError: 400, not a valid session config.
    """
    if not isinstance(body, dict):
        raise HttpError(
            400,
            ApiError(
                "The session must be a JSON object.",
                code="invalid_type",
                param=param_prefix or None,
            ),
        )
    kind = body.get("type")
    if kind not in ("realtime", "transcription"):
        param = f"{param_prefix}.type" if param_prefix else "type"
        if kind is None:
            error = ApiError(
                f"Missing required parameter: '{param}'.",
                code="missing_required_parameter",
                param=param,
            )
        else:
            error = ApiError(
                f"Invalid value: '{kind}'. Supported values are: 'realtime' and 'transcription'.",
                code="invalid_value",
                param=param,
            )
        raise HttpError(400, error)
    cls = SessionConfig if kind == "realtime" else TranscriptionSessionConfig
    try:
        record = get_codec(strict=True).structure(
            drop_absent_nulls_in_session(body), cls
        )
    except RemoteProtocolError as exc:
        error = from_protocol_error(exc)
        if param_prefix and error.param:
            error = ApiError(
                error.message.replace(
                    f"'{error.param}'", f"'{param_prefix}.{error.param}'"
                ),
                code=error.code,
                param=f"{param_prefix}.{error.param}",
            )
        raise HttpError(400, error) from None
    config = get_codec().dump(record)
    try:
        full_session(config, session_id="sess_check", expires_at=0)
    except ApiError as exc:
        raise HttpError(400, exc) from None
    return config


def full_session(
    config: Mapping[str, Any], *, session_id: str, expires_at: int
) -> dict[str, Any]:
    """The session object a config gives (defaults filled in)."""
    config = dict(config)
    if config.get("type") == "transcription":
        base = default_transcription_session(
            session_id=session_id, expires_at=expires_at
        )
    else:
        model = str(config.pop("model", None) or DEFAULT_MODEL)
        base = default_session(
            session_id=session_id, model=model, expires_at=expires_at
        )
    config.pop("parallel_tool_calls", None)
    return apply_update(base, config, audio_produced=False)


def default_sip_headers(ids: IdFactory) -> tuple[tuple[str, str], ...]:
    """Plausible headers of a SIP INVITE from a caller to an OpenAI number."""
    return (
        ("From", '"Caller" <sip:+15551230000@sip.example.com>;tag=1928301774'),
        ("To", "<sip:+15559870000@sip.api.openai.com>"),
        ("Call-ID", ids.hex("", 24) + "@sip.example.com"),
        ("CSeq", "1 INVITE"),
        ("Max-Forwards", "70"),
        ("Content-Type", "application/sdp"),
    )


def incoming_call_webhook(
    call: SimCall, secret: str, ids: IdFactory, *, now: int
) -> tuple[dict[str, str], bytes]:
    """The ``realtime.call.incoming`` webhook of ``call``: its headers and body.

    Signed with ``secret`` as OpenAI signs webhooks (Standard Webhooks).
    """
    payload = {
        "object": "event",
        "id": ids.new("evt_"),
        "type": "realtime.call.incoming",
        "created_at": now,
        "data": {
            "call_id": call.id,
            "sip_headers": [{"name": n, "value": v} for n, v in call.sip_headers],
        },
    }
    body = json.dumps(payload).encode()
    headers = sign_webhook(body, secret, webhook_id=ids.new("wh_"), timestamp=now)
    headers["content-type"] = "application/json"
    headers["user-agent"] = "OpenAI/1.0 (+https://platform.openai.com/docs/webhooks)"
    return headers, body


def sdp_answer(call_id: str, ids: IdFactory) -> str:
    """A syntactically plausible SDP answer (the simulator carries no media)."""
    session = int(ids.hex("", 12), 16) % 10**12
    fingerprint = ":".join(ids.hex("", 64)[i : i + 2].upper() for i in range(0, 64, 2))
    lines = [
        "v=0",
        f"o=- {session} {session} IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0 1",
        f"a=msid-semantic:WMS {call_id}",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111 0 8",
        "c=IN IP4 0.0.0.0",
        "a=mid:0",
        "a=sendrecv",
        "a=rtpmap:111 opus/48000/2",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:8 PCMA/8000",
        f"a=ice-ufrag:{ids.hex('', 8)}",
        f"a=ice-pwd:{ids.hex('', 24)}",
        f"a=fingerprint:sha-256 {fingerprint}",
        "a=setup:passive",
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
        "c=IN IP4 0.0.0.0",
        "a=mid:1",
        "a=sctp-port:5000",
    ]
    return "\r\n".join(lines) + "\r\n"


def parse_multipart(content_type: str, body: bytes) -> dict[str, bytes]:
    """The named parts of a ``multipart/form-data`` body."""
    parser = email.parser.BytesParser(policy=email.policy.HTTP)
    message = parser.parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    parts: dict[str, bytes] = {}
    if not message.is_multipart():
        return parts
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            parts[name] = payload
    return parts
