"""What receiving is typed as; checked by mypy --strict from tests/test_typing.py.

Never run: only type-checked. A ``# type: ignore[...]`` below marks an error
mypy must report (strict mode warns about an ignore that is not needed).
"""

from __future__ import annotations

from typing import assert_type

from realtime_trio import (
    ClientEvent,
    RealtimeConnection,
    RemoteProtocolError,
    ServerEvent,
    UnknownEvent,
    events,
)


async def receive(conn: RealtimeConnection) -> None:
    event: events.ReceivedEvent = await conn.receive()
    assert_type(event, ServerEvent | UnknownEvent | events.InvalidEvent)
    assert_type(conn.receive_nowait(), events.ReceivedEvent)
    async for item in conn:
        assert_type(item, events.ReceivedEvent)
    # The server never sends client events: receive() does not claim it does.
    client: ClientEvent = await conn.receive()  # type: ignore[assignment]
    # A malformed message may arrive as events.InvalidEvent...
    valid: ServerEvent | UnknownEvent = await conn.receive()  # type: ignore[assignment]
    # ... and once it is ruled out, what is left is a server or unknown event.
    if not isinstance(event, events.InvalidEvent):
        valid = event
    del client, valid


def dispatch(event: events.ReceivedEvent) -> str:
    match event:
        case events.InvalidEvent(type=kind, raw=raw, error=error):
            assert_type(kind, str | None)
            assert_type(raw, str | bytes)
            assert_type(error, RemoteProtocolError)
            assert_type(event.response_id, str | None)
            return "invalid"
        case UnknownEvent(type=kind):
            assert_type(kind, str)
            return kind
        case events.ResponseDone(response=response):
            assert_type(response, events.Response)
            return "done"
        case _:
            assert_type(event, ServerEvent)
            return "other"
