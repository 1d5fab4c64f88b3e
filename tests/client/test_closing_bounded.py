"""Leaving `open_realtime` is bounded by ``close_timeout`` (issue 11).

A server on 127.0.0.1 does a real WebSocket handshake, sends
``session.created`` with an ``expires_at`` far enough away that the expiry
task sleeps well past ``close_timeout``, then never answers
the close frame (it reads and discards). An outer deadline cancels the body:
leaving the block must take about ``close_timeout``, not the time until the
expiry warning.
"""

from __future__ import annotations

import functools
import json
import time

import trio
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, Request, TextMessage

from realtime_trio import open_realtime
from realtime_trio._client.engine import EXPIRY_WARNING_SECONDS
from tests.helpers.fake_server import SESSION_CREATED

CLOSE_TIMEOUT = 1.0
#: How long past ``close_timeout`` leaving may take.
MARGIN = 2.0
#: The expiry warning is this far away: well past ``close_timeout`` plus the
#: margin, yet near enough that a regression fails in seconds rather than
#: hanging (the expiry task sleeps in a shielded scope that ``fail_after``
#: cannot reach).
WARNING_IN = 7.0


async def _deaf_server(stream: trio.abc.Stream) -> None:
    """Accept the upgrade, send ``session.created``, then ignore everything."""
    ws = WSConnection(ConnectionType.SERVER)
    try:
        while True:
            data = await stream.receive_some(65536)
            if not data:
                return
            ws.receive_data(data)
            if any(isinstance(event, Request) for event in ws.events()):
                break
        session = json.loads(json.dumps(SESSION_CREATED["session"]))
        session["expires_at"] = int(time.time() + EXPIRY_WARNING_SECONDS + WARNING_IN)
        created = {**SESSION_CREATED, "session": session}
        await stream.send_all(ws.send(AcceptConnection()))
        await stream.send_all(ws.send(TextMessage(data=json.dumps(created))))
        # Never answer the close frame: read and discard until the client hangs up.
        while await stream.receive_some(65536):
            pass
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass
    finally:
        await trio.aclose_forcefully(stream)


async def test_leaving_is_bounded_when_server_ignores_close_frame() -> None:
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            listeners = await nursery.start(
                functools.partial(trio.serve_tcp, _deaf_server, 0, host="127.0.0.1")
            )
            port = listeners[0].socket.getsockname()[1]
            opened = False
            deadline = trio.current_time() + 0.5
            with trio.move_on_after(0.5):
                async with open_realtime(
                    model="m",
                    url=f"ws://127.0.0.1:{port}/v1/realtime",
                    api_key="sk-test",
                    close_timeout=CLOSE_TIMEOUT,
                ):
                    opened = True
                    await trio.sleep_forever()
            elapsed = trio.current_time() - deadline
            nursery.cancel_scope.cancel()
    assert opened
    assert elapsed < CLOSE_TIMEOUT + MARGIN, elapsed
