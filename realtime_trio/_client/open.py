"""The two ways to get a connection: `open_realtime` (owns its nursery) and `connect_realtime`."""

from __future__ import annotations

import math
import os
import ssl
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import trio

from .._audio.formats import PCM16_24K, AudioFormat
from .._core.session_models import AnySessionConfig
from .connection import ConnectionOptions, MessageRecorder, RealtimeConnection, logger
from .exceptions import ConnectionRejected
from .transport import (
    DEFAULT_MAX_MESSAGE_SIZE,
    DEFAULT_RECEIVE_BUFFER_SIZE,
    StreamOpener,
    build_handshake,
)
from .unwrap import open_hidden_nursery


def _api_key(api_key: str | None) -> str:
    key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
    if not key:
        raise ValueError("no API key: pass api_key= or set OPENAI_API_KEY")
    return key


async def connect_realtime(
    nursery: trio.Nursery,
    *,
    model: str | None = None,
    call_id: str | None = None,
    api_key: str | None = None,
    url: str | None = None,
    safety_identifier: str | None = None,
    headers: Mapping[str, str] | None = None,
    session: AnySessionConfig | Mapping[str, Any] | None = None,
    input_audio_format: AudioFormat = PCM16_24K,
    audio_frame_ms: int = 100,
    max_buffered_events: int = 128,
    max_buffered_messages: int = 64,
    max_buffered_audio_ms: int = 2_000,
    connect_timeout: float = 30.0,
    close_timeout: float = 5.0,
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
    receive_buffer_size: int = DEFAULT_RECEIVE_BUFFER_SIZE,
    ssl_context: ssl.SSLContext | None = None,
    connect_stream: StreamOpener | None = None,
    attach_attempts: int = 6,
    attach_backoff: float = 0.25,
    recorder: MessageRecorder | None = None,
    strict: bool = False,
    _shield_tasks: bool = False,
) -> RealtimeConnection:
    """Open a connection whose tasks run in ``nursery`` (the low-level tier).

    You own the nursery and the closing: call `RealtimeConnection.aclose`
    (``async with conn:`` does). Errors of the tasks reach your nursery as
    trio's exception groups. The arguments are those of `open_realtime`.

    This is a checkpoint; it returns once ``session.created`` arrived (and,
    with ``session=``, once ``session.updated`` answered the update).
    """
    handshake = build_handshake(
        model=model,
        call_id=call_id,
        api_key=_api_key(api_key),
        url=url,
        safety_identifier=safety_identifier,
        headers=headers,
    )
    options = ConnectionOptions(
        max_buffered_events=max_buffered_events,
        max_buffered_messages=max_buffered_messages,
        max_buffered_audio_ms=max_buffered_audio_ms,
        audio_frame_ms=audio_frame_ms,
        input_audio_format=input_audio_format,
        connect_timeout=connect_timeout,
        close_timeout=close_timeout,
        max_message_size=max_message_size,
        receive_buffer_size=receive_buffer_size,
        recorder=recorder,
        strict=strict,
    )
    if max_buffered_events < 0 or max_buffered_messages < 0 or audio_frame_ms <= 0:
        raise ValueError("buffer sizes must be >= 0 and audio_frame_ms > 0")
    attempts = max(1, attach_attempts) if call_id is not None else 1
    delay = attach_backoff
    for attempt in range(1, attempts + 1):
        conn = RealtimeConnection(
            handshake, options, connect_stream=connect_stream, ssl_context=ssl_context
        )
        try:
            await nursery.start(conn._run)
        except ConnectionRejected as exc:
            # Right after a call is accepted, the server may not know the call
            # yet and answers 404 call_id_not_found: retry that, and only that.
            retryable = exc.status_code == 404 and exc.error_code == "call_id_not_found"
            if not retryable or attempt == attempts:
                if attempt > 1:
                    exc.args = (f"{exc.args[0]} (after {attempt} attempts)",)
                raise
            logger.info(
                "call %s not found yet (attempt %d of %d); retrying in %.2f s",
                call_id,
                attempt,
                attempts,
                delay,
            )
            await trio.sleep(delay)
            delay = min(delay * 2, 2.0)
            continue
        break
    if _shield_tasks and trio.current_effective_deadline() != -math.inf:
        # open_realtime: the tasks outlive a cancelled body until aclose() has
        # flushed and sent the close frame. (With connect_realtime your
        # nursery's cancellation rules.) Two windows must be avoided: a scope
        # shielded before started() would keep the tasks in start()'s nursery
        # if start() was cancelled meanwhile; and shielding tasks that are
        # already cancelled (our caller was cancelled just now) would resume
        # them from a cancellation trio has begun to deliver. In that case
        # the connection simply ends by cancellation.
        conn._cancel_scope.shield = True
    if session is not None:
        try:
            await conn.update_session(session)
        except BaseException:
            await conn.aclose()
            raise
    return conn


@asynccontextmanager
async def open_realtime(
    *,
    model: str | None = None,
    call_id: str | None = None,
    api_key: str | None = None,
    url: str | None = None,
    safety_identifier: str | None = None,
    headers: Mapping[str, str] | None = None,
    session: AnySessionConfig | Mapping[str, Any] | None = None,
    input_audio_format: AudioFormat = PCM16_24K,
    audio_frame_ms: int = 100,
    max_buffered_events: int = 128,
    max_buffered_messages: int = 64,
    max_buffered_audio_ms: int = 2_000,
    connect_timeout: float = 30.0,
    close_timeout: float = 5.0,
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
    receive_buffer_size: int = DEFAULT_RECEIVE_BUFFER_SIZE,
    ssl_context: ssl.SSLContext | None = None,
    connect_stream: StreamOpener | None = None,
    attach_attempts: int = 6,
    attach_backoff: float = 0.25,
    recorder: MessageRecorder | None = None,
    strict: bool = False,
) -> AsyncIterator[RealtimeConnection]:
    """Open a connection to a Realtime session, as an async context manager.

    Entering blocks: it connects, waits for ``session.created`` and, if
    ``session`` is given, sends ``session.update`` and waits for
    ``session.updated``. Exiting blocks too: it flushes queued messages and
    closes the WebSocket with code 1000, bounded by ``close_timeout``. Both
    are checkpoints.

    Exactly one exception comes out, never an exception group: your own (the
    body's), `KeyboardInterrupt`, or one `RealtimeError`.

    Args:
        model: Open a new session with this model (``?model=``).
        call_id: Attach to the session of a WebRTC or SIP call (``?call_id=``, a sideband).
        api_key: The API key (default: ``OPENAI_API_KEY``). Never logged or shown in reprs.
        url: The endpoint, ``wss://api.openai.com/v1/realtime`` by default; ``ws://`` for local servers.
        safety_identifier: Sent as the ``OpenAI-Safety-Identifier`` header.
        headers: More handshake headers (they replace ours of the same name).
        session: A `SessionConfig` (or dict) to apply before the body runs.
        input_audio_format: The format of the audio you pass to `RealtimeConnection.send_audio`.
        audio_frame_ms: The duration of each ``input_audio_buffer.append``.
        max_buffered_events: Received events buffered for a slow consumer;
            when full, the reader waits (so does the WebSocket, ping replies included).
        max_buffered_messages: Outgoing messages buffered for the socket.
        max_buffered_audio_ms: Input audio buffered before `send_audio` blocks.
        connect_timeout: Bound on the handshake plus the wait for ``session.created``.
        close_timeout: Bound on the closing handshake.
        max_message_size: The largest incoming message accepted (default 64 MiB).
        receive_buffer_size: Bytes per socket read (default 64 KiB).
        ssl_context: For ``wss://``; default: the system's trust store.
        connect_stream: An async callable returning a connected trio stream, to
            connect through something other than TCP (a proxy tunnel, a
            ``trio.testing.memory_stream_pair``); the handshake still runs over it.
        attach_attempts: For ``call_id=``: how many times to try while the server
            answers 404 ``call_id_not_found`` (as it does for a moment after a
            call is accepted). Other rejections are never retried.
        attach_backoff: The first delay between those attempts; it doubles, up to 2 s.
        recorder: Records every message sent and received, as text, for
            example a `realtime_trio.testing.Recorder` writing JSONL (which
            the simulator can serve back with ``Replay``).
        strict: What a server message that is not a valid event (not JSON,
            or a field that does not fit its record) does. By default it is
            delivered as ``events.InvalidEvent`` (raw text and error) and the
            events after it keep coming; with ``strict=True``,
            `RealtimeConnection.receive` raises its `RemoteProtocolError`
            instead (the connection goes on). Either way a helper waiting for
            that message as its answer raises `RemoteProtocolError`.

    Raises:
        ValueError: bad arguments (both or neither of model/call_id, no API key...).
        HandshakeError: `ConnectionRejected` (HTTP 401, 404 ``call_id_not_found``...),
            `ConnectTimeout`, or a network error.
        ConnectionBroken: the server ended the connection before ``session.created``.
    """
    async with open_hidden_nursery() as nursery:
        conn = await connect_realtime(
            nursery,
            model=model,
            call_id=call_id,
            api_key=api_key,
            url=url,
            safety_identifier=safety_identifier,
            headers=headers,
            session=session,
            input_audio_format=input_audio_format,
            audio_frame_ms=audio_frame_ms,
            max_buffered_events=max_buffered_events,
            max_buffered_messages=max_buffered_messages,
            max_buffered_audio_ms=max_buffered_audio_ms,
            connect_timeout=connect_timeout,
            close_timeout=close_timeout,
            max_message_size=max_message_size,
            receive_buffer_size=receive_buffer_size,
            ssl_context=ssl_context,
            connect_stream=connect_stream,
            attach_attempts=attach_attempts,
            attach_backoff=attach_backoff,
            recorder=recorder,
            strict=strict,
            _shield_tasks=True,
        )
        try:
            yield conn
        finally:
            await conn.aclose()
