"""The simulator: HTTP dispatch, WebSocket handshake, its public API.

`open_simulator`, which runs it on a TCP port, is in `run`; binding the port
is in `listening`.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Mapping
from typing import Any, Final, Unpack

import h11
import trio
import trio.testing
import trio_websocket

from ..._core.logs import get_logger
from ..._core.options import takes_options
from .._model.ids import IdFactory
from .._model.recording import Recorder, Replay
from .._model.replay_session import ReplaySession
from .._model.sim_session import SimSession
from .call_control import CallControl
from .calls import CallRegistry, end_when_orphaned
from .credentials import Credentials, HttpError
from .handshake import BetaRejected, check_handshake, new_record, record_header
from .http import (
    HttpServerConnection,
    PrefixedStream,
    is_websocket_upgrade,
    serve_rest,
)
from .listening import listen, serve_listeners
from .options import (
    SIMULATOR_DEFAULTS,
    SimulatorOptions,
    fill_simulator_options,
    session_settings,
)
from .rest import RestApi
from .sim_connection import ConnectionRecord, ServedConnection, SessionLike

logger = get_logger("testing")

#: How long a client may take to send its handshake.
HANDSHAKE_TIMEOUT: Final = 10.0
_SUBPROTOCOL_KEY: Final = "openai-insecure-api-key."


class RealtimeSimulator(CallControl):
    """A local fake of the OpenAI Realtime API, for tests and demos.

    Use `open_simulator` to run it on a TCP port. Without a listener,
    `handle_stream` serves one connection over any trio stream, which lets
    tests connect through `trio.testing.memory_stream_pair` under
    ``autojump_clock``.

    Args:
        api_keys: The accepted API keys; None accepts any non-empty key.
        scenario: What the simulated model does (a `Scenario`, or a
            `Replay` of a recording); None echoes what it understood.
        realtime: Pace output audio in real time (else as fast as possible).
        time_to_first_audio: Seconds between a response's audio content
            part and its first audio delta.
        seed: Seed of every id and of the synthesized voice.
        require_safety_identifier: Refuse handshakes without an
            ``OpenAI-Safety-Identifier`` header (HTTP 400).
        max_message_size: Client messages longer than this (in characters)
            get an ``error`` event; more than 4 times this closes the
            connection with 1009.
        audio_chunk_ms: Milliseconds of audio per audio delta.
        session_duration: Seconds until a session expires (``error``
            ``session_expired``, then close 1001), 60 minutes as the real one.
        record_dir: Write every connection as JSONL to this directory
            (``connection-0000.jsonl``, ...), line by line as it goes.
        elide_audio: Leave audio payloads out of those recordings.
        history: How many events of each kind (client events, server events,
            invalid messages) each `ConnectionRecord` keeps: the most recent
            ones. Audio deltas are kept without their audio.
        keep_ended: How many ended connections `connections` keeps (the
            oldest ended one goes first); 0 forgets a connection as soon as
            it ends. ``realtime-trio simulate`` keeps none.
        sideband_grace: Seconds an accepted SIP call outlives its last
            sideband (a new one may attach meanwhile) before it ends; None
            (the default) keeps it up until hung up. The real API's behaviour
            is not documented: see the "Running several instances" guide.

    Attributes:
        connections: A `ConnectionRecord` per WebSocket handshake, in order:
            every open connection, and the last ``keep_ended`` ended ones.
            Their `ConnectionRecord.index` counts every handshake.
        calls: The REST call registry (`SimCall` by call id).

    Memory is bounded: the records keep a bounded history, recordings go
    to disk as they are made, and everything else of a connection (its
    session, its conversation, its tasks) is released when it ends.
    """

    @takes_options(SimulatorOptions, SIMULATOR_DEFAULTS)
    def __init__(self, **options: Unpack[SimulatorOptions]) -> None:
        options = fill_simulator_options("RealtimeSimulator.__init__", options)
        record_dir = options["record_dir"]
        self.scenario = options["scenario"]
        self.require_safety_identifier = options["require_safety_identifier"]
        self.max_message_size = options["max_message_size"]
        self.record_dir = None if record_dir is None else os.fspath(record_dir)
        self.elide_audio = options["elide_audio"]
        self.history = options["history"]
        self.keep_ended = options["keep_ended"]
        self.sideband_grace = options["sideband_grace"]
        self.settings = session_settings(**options)
        self.connections: list[ConnectionRecord] = []
        self._handshakes = 0
        self._ended: deque[ConnectionRecord] = deque()
        self.calls = CallRegistry()
        self._ids = IdFactory(options["seed"], "simulator")
        self._credentials = Credentials(options["api_keys"])
        self._rest = RestApi(self._credentials, self.calls, self._ids, self._end_call)
        self._live: dict[int, ServedConnection] = {}
        self._host: str | None = None
        self._port: int | None = None
        self._connection_added = trio.Event()

    # --- addresses ---------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The TCP port (once listening)."""
        if self._port is None:
            raise RuntimeError("the simulator is not listening; use open_simulator()")
        return self._port

    @property
    def _origin(self) -> str:
        host = self._host or "127.0.0.1"
        return f"[{host}]:{self.port}" if ":" in host else f"{host}:{self.port}"

    @property
    def url(self) -> str:
        """The WebSocket URL, ``ws://127.0.0.1:PORT/v1/realtime``."""
        return f"ws://{self._origin}/v1/realtime"

    @property
    def http_url(self) -> str:
        """The HTTP origin of the REST endpoints, ``http://127.0.0.1:PORT``."""
        return f"http://{self._origin}"

    @property
    def base_url(self) -> str:
        """The API base URL, ``http://127.0.0.1:PORT/v1`` (the SDK's ``base_url``)."""
        return f"{self.http_url}/v1"

    # --- serving -------------------------------------------------------------------------

    async def serve(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Listen on ``host:port`` (0 picks a free port) and serve until cancelled.

        Start it with ``nursery.start``: it reports readiness once the port is
        bound (`url` is valid from then on). Cancelling it stops the listener
        and every connection it serves.

        Raises:
            OSError: The port cannot be bound (``could not listen on
                127.0.0.1:8000: address already in use``).
            ValueError: ``port`` is not 0-65535.
        """
        listeners = await listen(host, port)
        self._bound(host, listeners)
        task_status.started()
        await serve_listeners(self.handle_stream, listeners)

    def _bound(self, host: str, listeners: list[trio.SocketListener]) -> None:
        self._host = host
        self._port = listeners[0].socket.getsockname()[1]

    async def handle_stream(self, stream: trio.abc.Stream) -> None:
        """Serve one HTTP or WebSocket connection over ``stream``, then close it.

        The stream can be anything: a TCP connection, or one end of
        `trio.testing.memory_stream_pair` for tests under a mock clock.
        Never raises `Exception`: errors are logged and end this connection
        only. It returns when the connection is over; cancelling it closes
        the stream.
        """
        try:
            http = HttpServerConnection(stream)
            try:
                with trio.fail_after(HANDSHAKE_TIMEOUT):
                    head = await http.read_head()
            except h11.RemoteProtocolError as exc:
                await http.respond_error(exc.error_status_hint, str(exc))
                return
            if head is None:
                return
            if is_websocket_upgrade(head):
                await self._serve_websocket(PrefixedStream(stream, bytes(http.raw)))
            else:
                await serve_rest(http, head, self._rest.handle)
        except Exception as exc:
            if _is_network_error(exc):
                logger.debug("a simulator connection ended: %r", exc)
            else:
                logger.exception("the simulator failed to serve a connection")
        finally:
            await trio.aclose_forcefully(stream)

    async def open_memory_stream(self, nursery: trio.Nursery) -> trio.abc.Stream:
        """Connect to this simulator in memory; return the client's end of the stream.

        The simulator's end is served by `handle_stream` in ``nursery``. No
        socket is involved, so this works under ``autojump_clock``; pass
        ``functools.partial(sim.open_memory_stream, nursery)`` as the
        ``connect_stream=`` of `realtime_trio.open_realtime`, or wrap the
        stream with ``trio_websocket.wrap_client_stream``. This is a
        checkpoint.
        """
        client, server = trio.testing.memory_stream_pair()
        nursery.start_soon(self.handle_stream, server)
        await trio.lowlevel.checkpoint()
        return client

    def _new_record(self, request: trio_websocket.WebSocketRequest) -> ConnectionRecord:
        record = new_record(request, self._handshakes, history=self.history)
        self._handshakes += 1
        self.connections.append(record)
        self._connection_added.set()
        self._connection_added = trio.Event()
        return record

    def _retire(self, record: ConnectionRecord) -> None:
        """A connection ended: keep its record among the last ``keep_ended`` ones."""
        record.closed.set()
        self._ended.append(record)
        while len(self._ended) > self.keep_ended:
            self.connections.remove(self._ended.popleft())

    async def _serve_websocket(self, stream: trio.abc.Stream) -> None:
        async with trio.open_nursery() as nursery:
            with trio.fail_after(HANDSHAKE_TIMEOUT):
                request = await trio_websocket.wrap_server_stream(
                    nursery,
                    stream,
                    message_queue_size=4,
                    max_message_size=4 * self.max_message_size,
                )
            record = self._new_record(request)
            try:
                await self._serve_handshake(stream, request, record)
            finally:
                self._retire(record)
                nursery.cancel_scope.cancel()
        if record.status == 101 and (call := self.calls.get(record.call_id or "")):
            await end_when_orphaned(call, self.sideband_grace, self._live.values())

    async def _serve_handshake(
        self,
        stream: trio.abc.Stream,
        request: trio_websocket.WebSocketRequest,
        record: ConnectionRecord,
    ) -> None:
        try:
            config = check_handshake(
                record,
                self._credentials,
                self.calls,
                require_safety_identifier=self.require_safety_identifier,
            )
        except HttpError as exc:
            record.status = exc.status
            await request.reject(
                exc.status,
                extra_headers=[(b"content-type", b"application/json")],
                body=exc.error.http_body(),
            )
            return
        subprotocol = (
            "realtime" if "realtime" in request.proposed_subprotocols else None
        )
        # Everything that can fail happens before the upgrade is accepted, so a
        # failure is an HTTP 500 the client can see, not an aborted socket.
        session: SessionLike
        recorder = None
        try:
            if record_header(record, "openai-beta") is not None:
                # GA servers close beta clients right after the upgrade (observed).
                session = BetaRejected()
            else:
                session = self._new_session(record, config)
            if self.record_dir is not None:
                os.makedirs(self.record_dir, exist_ok=True)
                path = os.path.join(
                    self.record_dir, f"connection-{record.index:04d}.jsonl"
                )
                recorder = Recorder(
                    path, elide_audio=self.elide_audio, clock=trio.current_time
                )
        except Exception as exc:
            logger.exception("simulated connection %d failed to start", record.index)
            record.status = 500
            record.error = exc
            await request.reject(
                500,
                extra_headers=[(b"content-type", b"application/json")],
                body=b'{"error":{"message":"The simulator failed to start the session.",'
                b'"type":"server_error","code":null,"param":null}}',
            )
            return
        try:
            ws = await request.accept(subprotocol=subprotocol)
        except BaseException:
            if recorder is not None:
                recorder.close()
            raise
        served = ServedConnection(
            ws,
            stream,
            session,
            record,
            faults=self.settings.scenario.faults,
            recorder=recorder,
        )
        self._live[record.index] = served
        try:
            await served.run()
        finally:
            del self._live[record.index]

    def _new_session(
        self, record: ConnectionRecord, config: Mapping[str, Any] | None
    ) -> SessionLike:
        if isinstance(self.scenario, Replay):
            return ReplaySession(self.scenario)
        return SimSession(
            self.settings,
            ids=IdFactory(self.settings.seed, record.index),
            now=trio.current_time(),
            wall_time=time.time(),
            model=record.model,
            initial_config=config,
            transcription=record.query.get("intent") == "transcription",
            sideband=record.call_id is not None,
        )

    # --- assertions helpers --------------------------------------------------------------

    async def wait_connections(self, count: int) -> list[ConnectionRecord]:
        """Wait until at least ``count`` handshakes happened; return their records.

        Records the simulator no longer keeps (see ``keep_ended``) are left
        out. This is a checkpoint; cancelling it is safe.
        """
        while self._handshakes < count:
            await self._connection_added.wait()
        await trio.lowlevel.checkpoint()
        return [record for record in self.connections if record.index < count]

    def hear(self, text: str, *, connection: int | None = None) -> bool:
        """Queue ``text`` as the transcript of a connection's next audio turn.

        There is no speech recognizer: this is what the model "hears" when
        the next user utterance ends (after the scenario's ``transcripts``
        still unused). ``connection`` is a `ConnectionRecord.index`; by
        default the latest open connection. Returns False when there is no
        such open simulated session (a `Replay` hears nothing).
        """
        live = self._live
        index = max(live, default=None) if connection is None else connection
        served = live.get(index) if index is not None else None
        if served is None or not isinstance(served.session, SimSession):
            return False
        served.session.state.transcripts.append(text)
        return True

    async def close_connections(self, code: int = 1000, reason: str = "") -> None:
        """Close every open WebSocket connection with ``code`` and wait for them to end.

        Cancelling it leaves the connections that have not closed yet to close
        on their own.
        """
        async with trio.open_nursery() as nursery:
            for served in list(self._live.values()):
                nursery.start_soon(served.close, code, reason)
                nursery.start_soon(served.record.closed.wait)


_NETWORK_ERRORS: Final = (
    trio.BrokenResourceError,
    trio.ClosedResourceError,
    trio.TooSlowError,
    h11.ProtocolError,
    trio_websocket.ConnectionClosed,
    trio_websocket.HandshakeError,
)


def _is_network_error(exc: BaseException) -> bool:
    """Whether ``exc`` (or every exception of a group) is the peer's doing."""
    if isinstance(exc, BaseExceptionGroup):
        return all(_is_network_error(inner) for inner in exc.exceptions)
    return isinstance(exc, _NETWORK_ERRORS)
