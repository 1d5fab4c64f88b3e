"""Helpers shared by the simulator tests (this module holds no tests).

* `SyncDriver` drives the sans-IO `SimSession` without an event loop.
* `ws_connect` / `memory_connect` open raw trio-websocket clients, over
  loopback TCP or over `trio.testing.memory_stream_pair` (for autojump_clock).
* `LIVEKIT_RESPONSE_CREATE` is a real client's event with a ``null`` in it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import trio
import trio.testing
import trio_websocket

from realtime_trio._core.serde import get_codec
from realtime_trio.audio import encode_audio
from realtime_trio.testing import RealtimeSimulator
from realtime_trio.testing._model.ids import IdFactory
from realtime_trio.testing._model.outputs import CancelResponse, StartResponse
from realtime_trio.testing._model.response_run import ResponseRun
from realtime_trio.testing._model.scenario import CloseConnection, DropConnection
from realtime_trio.testing._model.sim_session import SimSession
from realtime_trio.testing._model.steps import Emit, Sleep
from realtime_trio.testing._server.http import HttpResponse, http_request
from realtime_trio.testing._server.options import session_settings

AUTH = [(b"Authorization", b"Bearer sk-test")]
#: What LiveKit's OpenAI realtime plugin sends to answer a tool call
#: (livekit-plugins-openai ``RealtimeSession.generate_reply``: a pydantic
#: ``ResponseCreateEvent`` dumped with ``exclude_unset=True``, so the explicit
#: ``instructions=None`` goes on the wire as null).
LIVEKIT_RESPONSE_CREATE: dict[str, Any] = {
    "type": "response.create",
    "event_id": "response_create_5f0c8e1a9b2d",
    "response": {
        "instructions": None,
        "metadata": {"client_event_id": "response_create_5f0c8e1a9b2d"},
    },
}
BIG = 2**26
codec = get_codec()


class SyncDriver:
    """Runs a `SimSession` synchronously; server events come out as JSON dicts.

    With ``auto=True`` responses run to completion as soon as they start;
    otherwise they wait in `pending` until `advance` or `finish` is called.
    Other keyword arguments are simulator options (see `RealtimeSimulator`).
    """

    def __init__(
        self, *, auto: bool = True, model: str = "gpt-realtime", **kwargs: Any
    ) -> None:
        self.session = SimSession(
            session_settings(**kwargs),
            ids=IdFactory(0, 0),
            now=0.0,
            wall_time=1_700_000_000.0,
            model=model,
        )
        self.auto = auto
        self.now = 0.0
        self.pending: dict[str, tuple[ResponseRun, Iterator[Any]]] = {}
        self.faults: list[CloseConnection | DropConnection] = []
        self.sleeps: list[float] = []
        self.events: list[dict[str, Any]] = []
        self._out: list[dict[str, Any]] = []
        self._apply(self.session.start())

    def _emit(self, event: Any) -> None:
        obj = codec.dump(event)
        self.events.append(obj)
        self._out.append(obj)

    def _apply(self, outputs: list[Any]) -> None:
        for output in outputs:
            if isinstance(output, Emit):
                self._emit(output.event)
            elif isinstance(output, StartResponse):
                self.pending[output.run.id] = (output.run, output.run.steps())
                if self.auto:
                    self.finish(output.run.id)
            elif isinstance(output, CancelResponse):
                run, _ = self.pending.pop(output.run.id, (output.run, None))
                for event in run.cancel_tail(output.reason):
                    self._emit(event)
                    run.observe(event, self.now)
                self.session.response_finished(run, self.now)
            else:
                self.faults.append(output)

    def _step(self, run: ResponseRun, steps: Iterator[Any]) -> bool:
        step = next(steps, None)
        if step is None:
            self.pending.pop(run.id, None)
            self.session.response_finished(run, self.now)
            return False
        if isinstance(step, Emit):
            self._emit(step.event)
            run.observe(step.event, self.now)
        elif isinstance(step, Sleep):
            self.sleeps.append(step.seconds)
        else:
            self.faults.append(step)
        return True

    def advance(self, response_id: str, count: int) -> None:
        """Send ``count`` more steps of a pending response."""
        run, steps = self.pending[response_id]
        for _ in range(count):
            if not self._step(run, steps):
                return

    def finish(self, response_id: str) -> None:
        """Run a pending response to its end."""
        run, steps = self.pending[response_id]
        while self._step(run, steps):
            pass

    def send(self, obj: dict[str, Any] | str | bytes) -> list[dict[str, Any]]:
        """Send one client message; return the server events it caused."""
        self._out = []
        data = obj if isinstance(obj, str | bytes) else json.dumps(obj)
        self._apply(self.session.handle_message(data, self.now))
        return self._out

    def append(self, pcm: bytes, chunk: int = 4800) -> list[dict[str, Any]]:
        """Append audio in chunks; return the server events it caused."""
        out = []
        for start in range(0, len(pcm), chunk):
            audio = encode_audio(pcm[start : start + chunk])
            out += self.send({"type": "input_audio_buffer.append", "audio": audio})
        return out

    def tick(self, now: float) -> list[dict[str, Any]]:
        """Move the clock and fire the timers."""
        self.now = now
        self._out = []
        self._apply(self.session.on_timer(now))
        return self._out


def types(events: list[dict[str, Any]]) -> list[str]:
    """The ``type`` of each event."""
    return [e["type"] for e in events]


def of_type(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """The events of one type."""
    return [e for e in events if e["type"] == kind]


def user_text(text: str) -> dict[str, Any]:
    """A ``conversation.item.create`` of a user text message."""
    return {
        "type": "conversation.item.create",
        "item": {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": text}],
        },
    }


# --- raw WebSocket clients ----------------------------------------------------------


@asynccontextmanager
async def ws_connect(
    sim: RealtimeSimulator | int,
    query: str = "?model=gpt-realtime",
    *,
    headers: list[tuple[bytes, bytes]] | None = None,
    subprotocols: list[str] | None = None,
) -> AsyncIterator[trio_websocket.WebSocketConnection]:
    """A trio-websocket client connected to ``sim`` (or a port) over loopback TCP.

    The test owns the TCP stream and closes it: trio-websocket's client does
    not close its socket when the *server* ends the connection first.
    """
    port = sim if isinstance(sim, int) else sim.port
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    try:
        async with trio.open_nursery() as nursery:
            ws = await trio_websocket.wrap_client_stream(
                nursery,
                stream,
                f"127.0.0.1:{port}",
                "/v1/realtime" + query,
                extra_headers=AUTH if headers is None else headers,
                subprotocols=subprotocols,
                max_message_size=BIG,
            )
            try:
                yield ws
            finally:
                with trio.move_on_after(5, shield=True):
                    await ws.aclose()
                nursery.cancel_scope.cancel()
    finally:
        await trio.aclose_forcefully(stream)


async def handshake(
    sim: RealtimeSimulator, target: str, headers: dict[str, str]
) -> HttpResponse:
    """Send a WebSocket upgrade request by hand; return the HTTP answer."""
    upgrade = {
        "upgrade": "websocket",
        "connection": "Upgrade",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
        "sec-websocket-version": "13",
        **headers,
    }
    return await http_request("GET", sim.http_url + target, headers=upgrade)


async def memory_connect(
    nursery: trio.Nursery,
    sim: RealtimeSimulator,
    resource: str = "/v1/realtime?model=gpt-realtime",
    *,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> trio_websocket.WebSocketConnection:
    """A client connected through `memory_stream_pair` to ``sim.handle_stream``."""
    client = await sim.open_memory_stream(nursery)
    return await trio_websocket.wrap_client_stream(
        nursery,
        client,  # type: ignore[arg-type]
        "simulator",
        resource,
        extra_headers=AUTH if headers is None else headers,
        max_message_size=BIG,
    )


async def recv(ws: trio_websocket.WebSocketConnection) -> dict[str, Any]:
    """Receive one server event."""
    message = await ws.get_message()
    assert isinstance(message, str)
    event = json.loads(message)
    assert isinstance(event, dict)
    return event


async def send(ws: trio_websocket.WebSocketConnection, obj: dict[str, Any]) -> None:
    """Send one client event."""
    await ws.send_message(json.dumps(obj))


async def until(
    ws: trio_websocket.WebSocketConnection, kind: str
) -> list[dict[str, Any]]:
    """Receive events up to and including the first of type ``kind``."""
    events = []
    while True:
        event = await recv(ws)
        events.append(event)
        if event["type"] == kind:
            return events
