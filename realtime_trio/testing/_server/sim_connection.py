"""The trio shell of one simulated WebSocket connection.

Tasks, all in the connection's own nursery:

* the *reader* takes client messages, hands them to the sans-IO session and
  carries out its outputs;
* the *sender* is the only task that writes to the WebSocket; everything
  else queues server events (and scripted faults) into a bounded channel
  (`OUTBOX_SIZE` entries), so the order on the wire is the order of queuing
  and a client that stops reading slows the simulator down instead of
  filling memory;
* one task per running *response* sends its events with their pacing;
  ``response.cancel`` and barge-in cancel it, and it then sends its own
  cancellation tail, which the reader waits for before handling the next
  client message (so a ``response.create`` right after a cancel works);
* the *timer* fires the session's deadlines (``idle_timeout_ms``, expiry).

Any exception in one of them is logged, recorded on the `ConnectionRecord`
and ends this connection with close code 1011; other connections and the
listener are unaffected.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Final, Protocol, TypeAlias

import attrs
import trio
import trio_websocket

from ..._core.client_events import ClientEvent
from ..._core.logs import get_logger
from ..._core.serde import get_codec
from ..._core.server_events import ResponseOutputAudioDelta, ServerEvent, UnknownEvent
from .._model.outputs import CancelResponse, Deferred, Output, StartResponse
from .._model.recording import Recorder
from .._model.response_run import ResponseRun
from .._model.scenario import CloseConnection, ConnectionFault, DropConnection
from .._model.steps import Emit, Sleep

logger = get_logger("testing")

#: How many server events may wait to be written to one connection.
OUTBOX_SIZE: Final = 256
#: How long closing a connection may take before it is aborted.
CLOSE_TIMEOUT: Final = 5.0
#: How many events of each kind a `ConnectionRecord` made without a limit keeps.
RECORD_HISTORY: Final = 1_000

_Queued: TypeAlias = ServerEvent | UnknownEvent | CloseConnection | DropConnection


class SessionLike(Protocol):
    """What the shell needs of `SimSession` (and `ReplaySession`)."""

    @property
    def last_client_event(self) -> Any: ...

    def start(self) -> list[Output]: ...

    def handle_message(self, data: str | bytes, now: float) -> list[Output]: ...

    def next_deadline(self) -> float | None: ...

    def on_timer(self, now: float) -> list[Output]: ...

    def response_finished(self, run: ResponseRun, now: float) -> None: ...

    def dtmf(self, key: str, received_at: int) -> list[Output]: ...

    def caller_audio(self, pcm: bytes, now: float) -> list[Output]: ...


@attrs.define(eq=False)
class ConnectionRecord:
    """What the simulator saw of one WebSocket connection, for assertions.

    Attributes:
        index: The connection's number (0 for the first).
        path: The request path, e.g. ``/v1/realtime``.
        query: The query parameters (``model``, ``call_id``, ...).
        headers: The handshake headers (names in lower case), with the
            ``Authorization`` value redacted; see `api_key`.
        api_key: The key the client authenticated with (not in the repr).
        safety_identifier: The ``OpenAI-Safety-Identifier`` header, if any.
        model: The ``model`` query parameter, if any.
        call_id: The ``call_id`` query parameter, if any.
        status: 101 if the handshake was accepted, else the HTTP status sent.
        session: The session object, as last reported to the client.
        client_events: The client events received (valid ones, parsed;
            the nulls that mean absent left out), oldest first.
        invalid_messages: The client messages that were not valid events.
        server_events: The server events sent, in order; audio deltas are
            kept without their audio (``delta`` is ``""``).
        client_event_count: How many client events were received in all.
        server_event_count: How many server events were sent in all.
        close_code: The close code, once closed.
        close_reason: The close reason, once closed.
        closed_by: ``"client"`` or ``"server"`` (None when the TCP
            connection just ended).
        closed: Set when the connection is over.
        error: The exception that ended the connection with 1011, if any.

    The three event lists are `collections.deque` objects that keep the most
    recent events only: as many as the simulator's ``history`` option (1,000
    by default), so that a long connection does not fill memory. The counts
    say how many there were in all.
    """

    index: int
    path: str
    query: dict[str, str]
    headers: tuple[tuple[str, str], ...]
    api_key: str | None = attrs.field(default=None, repr=False)
    safety_identifier: str | None = None
    model: str | None = None
    call_id: str | None = None
    status: int = 101
    session: dict[str, Any] = attrs.field(factory=dict, repr=False)
    client_events: deque[ClientEvent] = attrs.field(
        factory=lambda: deque(maxlen=RECORD_HISTORY), repr=False
    )
    invalid_messages: deque[str | bytes] = attrs.field(
        factory=lambda: deque(maxlen=RECORD_HISTORY), repr=False
    )
    server_events: deque[ServerEvent | UnknownEvent] = attrs.field(
        factory=lambda: deque(maxlen=RECORD_HISTORY), repr=False
    )
    client_event_count: int = 0
    server_event_count: int = 0
    close_code: int | None = None
    close_reason: str | None = None
    closed_by: str | None = None
    closed: trio.Event = attrs.field(factory=trio.Event, repr=False)
    error: BaseException | None = attrs.field(default=None, repr=False)

    def events_of_type(self, event_type: str) -> list[ServerEvent | UnknownEvent]:
        """The server events of one wire type that were sent (those kept)."""
        return [e for e in self.server_events if _event_type(e) == event_type]

    def server_event_types(self) -> list[str]:
        """The wire types of the server events sent, in order (those kept)."""
        return [_event_type(e) for e in self.server_events]

    def _add_client_event(self, event: ClientEvent) -> None:
        """Keep a client event received (the oldest goes beyond the history)."""
        self.client_events.append(event)
        self.client_event_count += 1

    def _add_server_event(self, event: ServerEvent | UnknownEvent) -> None:
        """Keep a server event sent, without its audio payload if it has one."""
        if isinstance(event, ResponseOutputAudioDelta):
            event = attrs.evolve(event, delta="")
        self.server_events.append(event)
        self.server_event_count += 1


def _event_type(event: ServerEvent | UnknownEvent) -> str:
    return event.type if isinstance(event, UnknownEvent) else type(event).TYPE


@attrs.define(eq=False)
class _RunTask:
    run: ResponseRun
    scope: trio.CancelScope = attrs.field(factory=trio.CancelScope)
    finished: trio.Event = attrs.field(factory=trio.Event)
    cancel_reason: str | None = None


class ServedConnection:
    """Serves one accepted WebSocket with a session (see the module docstring)."""

    def __init__(
        self,
        ws: trio_websocket.WebSocketConnection,
        stream: trio.abc.Stream,
        session: SessionLike,
        record: ConnectionRecord,
        *,
        faults: tuple[ConnectionFault, ...] = (),
        recorder: Recorder | None = None,
    ) -> None:
        self.ws = ws
        self.stream = stream
        self.session = session
        self.record = record
        self._faults = {f.after_events: f for f in faults}
        self._recorder = recorder
        self._codec = get_codec()
        self._outbox_send, self._outbox_receive = trio.open_memory_channel[_Queued](
            OUTBOX_SIZE
        )
        self._lock = trio.StrictFIFOLock()
        self._wake = trio.Event()
        self._runs: dict[str, _RunTask] = {}
        self._sent = 0
        self._failed = False
        self._nursery: trio.Nursery | None = None

    async def run(self) -> None:
        """Serve until either side closes (never raises `Exception`)."""
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                nursery.start_soon(self._guard, self._sender)
                nursery.start_soon(self._guard, self._timer)
                await self._guard(self._opening)
                nursery.start_soon(self._guard, self._reader)
        finally:
            with trio.move_on_after(CLOSE_TIMEOUT, shield=True) as scope:
                if self.ws.closed is None:
                    # A failure, or the simulator is shutting down.
                    code, reason = (
                        (1011, "internal simulator error")
                        if self._failed
                        else (1001, "simulator shutting down")
                    )
                    self.record.closed_by = "server"
                    self.record.close_code = code
                    self.record.close_reason = reason
                    await self.ws.aclose(code, reason)
                await self.ws.aclose()
            if scope.cancelled_caught:
                await trio.aclose_forcefully(self.stream)
            self._finish_record()

    def _finish_record(self) -> None:
        reason = self.ws.closed
        if self.record.close_code is None and reason is not None:
            self.record.close_code = int(reason.code)
            self.record.close_reason = reason.reason
        if self._recorder is not None:
            self._recorder.record_close(
                self.record.close_code,
                self.record.close_reason,
                direction="client" if self.record.closed_by == "client" else "server",
            )
            self._recorder.close()
        self.record.closed.set()

    async def _guard(self, task: Callable[[], Awaitable[None]]) -> None:
        try:
            await task()
        except Exception as exc:
            logger.exception("simulated connection %d failed", self.record.index)
            self.record.error = exc
            self._failed = True
            self._stop()

    def _stop(self) -> None:
        if self._nursery is not None:
            self._nursery.cancel_scope.cancel()

    def _wake_timer(self) -> None:
        self._wake.set()

    async def _opening(self) -> None:
        async with self._lock:
            await self._process(self.session.start())

    # --- the tasks -------------------------------------------------------------------

    async def _reader(self) -> None:
        while True:
            try:
                message = await self.ws.get_message()
            except trio_websocket.ConnectionClosed as exc:
                if self.record.closed_by is None and exc.reason is not None:
                    self.record.closed_by = "client"
                    self.record.close_code = int(exc.reason.code)
                    self.record.close_reason = exc.reason.reason
                self._stop()
                return
            if self._recorder is not None:
                self._recorder.record(
                    "client",
                    message if isinstance(message, str) else message.decode("latin-1"),
                )
            async with self._lock:
                outputs = self.session.handle_message(message, trio.current_time())
                event = self.session.last_client_event
                if isinstance(event, ClientEvent):
                    self.record._add_client_event(event)
                else:
                    self.record.invalid_messages.append(message)
                await self._process(outputs)

    async def _sender(self) -> None:
        async for item in self._outbox_receive:
            if isinstance(item, CloseConnection):
                await self._close(item.code, item.reason)
                return
            if isinstance(item, DropConnection):
                await self._drop()
                return
            try:
                await self.ws.send_message(self._codec.encode(item))
            except trio_websocket.ConnectionClosed:
                # The client closed (or went away). Its messages received before
                # that are still to be handled: the reader goes on until it has
                # taken the last of them, records how the connection ended and
                # stops everything. Until then, what it answers goes nowhere.
                async for _ in self._outbox_receive:
                    pass
                return
            self.record._add_server_event(item)
            if self._recorder is not None:
                self._recorder.record("server", item)
            if _event_type(item) in ("session.created", "session.updated"):
                self.record.session = self._codec.dump(item)["session"]
            self._sent += 1
            fault = self._faults.get(self._sent)
            if fault is not None:
                await (
                    self._drop()
                    if fault.drop
                    else self._close(fault.code, fault.reason)
                )
                return

    async def _timer(self) -> None:
        while True:
            deadline = self.session.next_deadline()
            self._wake = trio.Event()
            with trio.move_on_at(math.inf if deadline is None else deadline):
                await self._wake.wait()
                continue
            async with self._lock:
                await self._process(self.session.on_timer(trio.current_time()))

    async def _close(self, code: int, reason: str) -> None:
        self.record.closed_by = "server"
        self.record.close_code = code
        self.record.close_reason = reason or None
        with trio.move_on_after(CLOSE_TIMEOUT):
            await self.ws.aclose(code, reason or None)
        self._stop()

    async def _drop(self) -> None:
        self.record.closed_by = "server"
        self.record.close_code = 1006
        self.record.close_reason = "dropped"
        await trio.aclose_forcefully(self.stream)
        self._stop()

    # --- outputs -------------------------------------------------------------------------

    async def _process(self, outputs: list[Output]) -> None:
        for output in outputs:
            if isinstance(output, Emit):
                await self._outbox_send.send(output.event)
            elif isinstance(output, StartResponse):
                task = self._runs[output.run.id] = _RunTask(output.run)
                assert self._nursery is not None
                self._nursery.start_soon(
                    self._guard, lambda task=task: self._run_response(task)
                )
            elif isinstance(output, CancelResponse):
                await self._cancel_run(output.run, output.reason)
            elif isinstance(output, Deferred):
                await self._process(output.make())
            else:
                await self._outbox_send.send(output)
        self._wake_timer()

    async def _run_response(self, task: _RunTask) -> None:
        run = task.run
        with task.scope:
            for step in run.steps():
                if isinstance(step, Emit):
                    await self._outbox_send.send(step.event)
                    run.observe(step.event, trio.current_time())
                elif isinstance(step, Sleep):
                    await trio.sleep(step.seconds)
                else:
                    await self._outbox_send.send(step)
        if task.cancel_reason is not None:
            for event in run.cancel_tail(task.cancel_reason):
                await self._outbox_send.send(event)
                run.observe(event, trio.current_time())
        self._runs.pop(run.id, None)
        task.finished.set()
        self.session.response_finished(run, trio.current_time())
        self._wake_timer()

    async def _cancel_run(self, run: ResponseRun, reason: str) -> None:
        task = self._runs.get(run.id)
        if task is None or task.finished.is_set():
            return
        task.cancel_reason = reason
        task.scope.cancel()
        await task.finished.wait()

    async def inject(self, outputs: list[Output]) -> None:
        """Carry out outputs that did not come from a client message (a call's DTMF, its caller's voice)."""
        async with self._lock:
            await self._process(outputs)

    async def close(self, code: int, reason: str) -> None:
        """Close the connection from the simulator's side (a call ended)."""
        await self._outbox_send.send(CloseConnection(code=code, reason=reason))
