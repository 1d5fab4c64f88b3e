"""The two ways to get a connection: `open_realtime` (owns its nursery) and `connect_realtime`.

Both take the options of `ConnectionOptions` (defined once, in
``options.py``), documented at `open_realtime`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Unpack, cast

import trio

from .._core.logs import get_logger
from .._core.options import fill_options, takes_options
from .._trio.unwrap import open_hidden_nursery
from .connection import RealtimeConnection
from .engine import ConnectionEngine
from .exceptions import ConnectionRejected
from .options import CONNECTION_DEFAULTS, ConnectionOptions, ConnectionSettings

logger = get_logger()


@takes_options(ConnectionOptions, CONNECTION_DEFAULTS)
async def connect_realtime(
    nursery: trio.Nursery, **options: Unpack[ConnectionOptions]
) -> RealtimeConnection:
    """Open a connection whose tasks run in ``nursery`` (the low-level tier).

    You own the nursery and the closing: call `RealtimeConnection.aclose`
    (``async with conn:`` does). Errors of the tasks reach your nursery as
    trio's exception groups. The arguments are those of `open_realtime`.

    This is a checkpoint; it returns once ``session.created`` arrived (and,
    with ``session=``, once ``session.updated`` answered the update).
    """
    return await _connect(nursery, _filled("connect_realtime", options))


@asynccontextmanager
@takes_options(ConnectionOptions, CONNECTION_DEFAULTS)
async def open_realtime(
    **options: Unpack[ConnectionOptions],
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
            when full, the reader waits (so does the WebSocket, ping replies
            included, and the keepalive pauses). ``0``: an unbuffered
            hand-over (not with ``session=``).
        max_buffered_event_bytes: The same buffer's bound in bytes (default
            64 KiB; it may hold one message more). Events that arrive before
            ``session.created`` are held within both bounds (at least 128
            events); a server that sends more fails the connection (1008).
        max_buffered_messages: Outgoing messages buffered for the socket.
        max_buffered_audio_ms: Input audio buffered before `send_audio` blocks.
        connect_timeout: Bound on the handshake plus the wait for ``session.created``.
        close_timeout: Bound on the closing handshake.
        ping_interval: Seconds between keepalive pings (default 20, as the
            ``websockets`` library; ``None``: no pings). Paused while the
            events buffer is full.
        ping_timeout: How long after a ping something (its pong, or any data)
            must arrive from the server (default 20; ``None``: never fail).
            Otherwise realtime_trio closes the connection with 1011 and
            `RealtimeConnection.receive` raises `ConnectionBroken` (``closed_by
            == "client"``) saying the keepalive ping timed out.
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
        InvalidHeaderError: the API key, ``safety_identifier`` or a header of
            ``headers`` cannot be sent (a trailing newline, a control
            character...), before any connection; the message says what is
            wrong and never shows the value. It is also a `ValueError`.
        InvalidOptionError: an option that cannot work, named in the message
            and in ``option`` (a negative buffer size, ``ping_interval=0``, a
            URL with a space or a non-ASCII character...), before any
            connection. It is also a `ValueError`.
        ValueError: bad arguments (both or neither of model/call_id, no API key...).
        HandshakeError: `ConnectionRejected` (HTTP 401, 404 ``call_id_not_found``...),
            `ConnectTimeout`, or a network error.
        ConnectionBroken: the server ended the connection before
            ``session.created``, or sent more events before it than the
            events buffer holds.
    """
    filled = _filled("open_realtime", options)
    async with open_hidden_nursery() as nursery:
        conn = await _connect(nursery, filled, shield_tasks=True)
        try:
            yield conn
        finally:
            await conn.aclose()


def _filled(name: str, options: ConnectionOptions) -> ConnectionOptions:
    return cast(
        ConnectionOptions,
        fill_options(name, ConnectionOptions, CONNECTION_DEFAULTS, options),
    )


async def _connect(
    nursery: trio.Nursery, options: ConnectionOptions, *, shield_tasks: bool = False
) -> RealtimeConnection:
    """Start a connection's engine in ``nursery`` and return the connection.

    With ``shield_tasks`` (`open_realtime`), the tasks outlive the
    cancellation of the caller until the connection is closed.
    """
    settings = ConnectionSettings.from_options(options)
    call_id = options["call_id"]
    attempts = max(1, options["attach_attempts"]) if call_id is not None else 1
    delay = options["attach_backoff"]
    for attempt in range(1, attempts + 1):
        engine = ConnectionEngine(settings)
        started = trio.current_time()
        try:
            await nursery.start(engine.run)
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
    if shield_tasks:
        engine.shield_until_closed()
    conn = RealtimeConnection(engine, connect_seconds=trio.current_time() - started)
    session = options["session"]
    if session is not None:
        try:
            await conn.update_session(session)
        except BaseException:
            await conn.aclose()
            raise
    return conn
