"""A small scriptable Realtime server for the connection-engine tests.

It speaks real WebSocket (trio-websocket's server side) over in-memory streams
(``connect_stream``) or loopback TCP, answers the client events the engine's
helpers use, and records everything it sees. Tests replace `respond` or pass a
``script`` to make it misbehave on purpose.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import attrs
import trio
import trio.testing
import trio_websocket

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "examples"
SESSION_CREATED: dict[str, Any] = json.loads(
    (EXAMPLES / "session.created.json").read_text()
)


@attrs.define
class Seen:
    """What the server saw of one connection."""

    path: str = ""
    headers: dict[str, str] = attrs.Factory(dict)
    messages: list[dict[str, Any]] = attrs.Factory(list)
    close_code: int | None = None
    close_reason: str | None = None
    closed: trio.Event = attrs.Factory(trio.Event)


Script = Callable[[trio_websocket.WebSocketConnection, Seen], Awaitable[None]]


class FakeServer:
    def __init__(
        self,
        nursery: trio.Nursery,
        *,
        reject: tuple[int, bytes] | None = None,
        script: Script | None = None,
        send_created: bool = True,
        input_format: dict[str, Any] | None = None,
        lockstep: bool = False,
        reject_times: int | None = None,
    ) -> None:
        self.lockstep = lockstep
        self.reject_times = reject_times
        self.nursery = nursery
        self.reject = reject
        self.script = script
        self.send_created = send_created
        self.connections: list[Seen] = []
        self.session = json.loads(json.dumps(SESSION_CREATED["session"]))
        self.session["expires_at"] = int(time.time()) + 3600
        if input_format is not None:
            self.session["audio"]["input"]["format"] = input_format
        self._ids = 0

    def next_id(self, prefix: str = "event") -> str:
        self._ids += 1
        return f"{prefix}_{self._ids}"

    async def connect_stream(self) -> trio.abc.Stream:
        # lockstep: no buffering at all, so a server that stops reading pushes back.
        make_pair = (
            trio.testing.lockstep_stream_pair
            if self.lockstep
            else trio.testing.memory_stream_pair
        )
        client, server = make_pair()
        self.nursery.start_soon(self._serve_stream, server)
        return client

    async def _serve_stream(self, stream: trio.abc.Stream) -> None:
        async with trio.open_nursery() as nursery:
            request = await trio_websocket.wrap_server_stream(nursery, stream)  # type: ignore[arg-type]
            await self.handle(request)

    async def serve_tcp(
        self, *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED
    ) -> None:
        await trio_websocket.serve_websocket(
            self.handle,
            "127.0.0.1",
            0,
            ssl_context=None,
            task_status=task_status,  # type: ignore[arg-type]
        )

    async def handle(self, request: trio_websocket.WebSocketRequest) -> None:
        seen = Seen(
            path=request.path,
            headers={k.decode().lower(): v.decode() for k, v in request.headers},
        )
        self.connections.append(seen)
        rejecting = self.reject is not None and (
            self.reject_times is None or len(self.connections) <= self.reject_times
        )
        if rejecting:
            assert self.reject is not None
            status, body = self.reject
            await request.reject(
                status,
                extra_headers=[(b"content-type", b"application/json")],
                body=body,
            )
            seen.closed.set()
            return
        try:
            ws = await request.accept()
        except trio_websocket.ConnectionClosed:  # the client left mid-handshake
            seen.close_code = 1006
            seen.closed.set()
            return
        try:
            if self.send_created:
                await self.send(ws, {**SESSION_CREATED, "session": self.session})
            if self.script is not None:
                await self.script(ws, seen)
            else:
                await self.serve_events(ws, seen)
        except trio_websocket.ConnectionClosed as exc:
            seen.close_code = exc.reason.code
            seen.close_reason = exc.reason.reason
        finally:
            if ws.closed is not None and seen.close_code is None:
                seen.close_code = ws.closed.code
                seen.close_reason = ws.closed.reason
            seen.closed.set()

    async def send(
        self, ws: trio_websocket.WebSocketConnection, event: dict[str, Any]
    ) -> None:
        await ws.send_message(json.dumps(event))

    async def receive(
        self, ws: trio_websocket.WebSocketConnection, seen: Seen
    ) -> dict[str, Any]:
        message = await ws.get_message()
        data: dict[str, Any] = json.loads(message)
        seen.messages.append(data)
        return data

    async def serve_events(
        self, ws: trio_websocket.WebSocketConnection, seen: Seen
    ) -> None:
        while True:
            data = await self.receive(ws, seen)
            for answer in self.respond(data):
                await self.send(ws, answer)

    def respond(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        kind = data.get("type")
        eid = self.next_id()
        if kind == "session.update":
            update = data["session"]
            if "instructions" in update and update["instructions"] == "reject me":
                return [
                    self.error(
                        data,
                        "invalid_value",
                        "rejected on purpose",
                        "session.instructions",
                    )
                ]
            self.session.update({k: v for k, v in update.items() if k != "audio"})
            if "audio" in update:
                for side, settings in update["audio"].items():
                    self.session["audio"][side].update(settings)
            return [
                {"type": "session.updated", "event_id": eid, "session": self.session}
            ]
        if kind == "conversation.item.create":
            item = {**data["item"], "status": "completed"}
            return [
                {
                    "type": "conversation.item.added",
                    "event_id": eid,
                    "previous_item_id": None,
                    "item": item,
                },
                {
                    "type": "conversation.item.done",
                    "event_id": self.next_id(),
                    "previous_item_id": None,
                    "item": item,
                },
            ]
        if kind == "response.create":
            rid = self.next_id("resp")
            response = {
                "object": "realtime.response",
                "id": rid,
                "status": "in_progress",
                "output": [],
                "usage": None,
                "conversation_id": "conv_1",
                # The API echoes the request's metadata in response.* events.
                "metadata": data.get("response", {}).get("metadata"),
            }
            return [
                {"type": "response.created", "event_id": eid, "response": response},
                {
                    "type": "response.done",
                    "event_id": self.next_id(),
                    "response": {**response, "status": "completed"},
                },
            ]
        if kind == "input_audio_buffer.commit":
            return [
                {
                    "type": "input_audio_buffer.committed",
                    "event_id": eid,
                    "item_id": self.next_id("item"),
                    "previous_item_id": None,
                }
            ]
        if kind == "input_audio_buffer.clear":
            return [{"type": "input_audio_buffer.cleared", "event_id": eid}]
        if kind == "response.cancel":
            return [
                self.error(
                    data, "response_cancel_not_active", "no active response", None
                )
            ]
        return []

    def error(
        self, data: dict[str, Any], code: str, message: str, param: str | None
    ) -> dict[str, Any]:
        return {
            "type": "error",
            "event_id": self.next_id(),
            "error": {
                "type": "invalid_request_error",
                "code": code,
                "message": message,
                "param": param,
                "event_id": data.get("event_id"),
            },
        }
