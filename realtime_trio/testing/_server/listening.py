"""Binding the simulator's TCP port, and serving it (errors said in one line)."""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable

import trio


async def listen(host: str, port: int) -> list[trio.SocketListener]:
    """Bind ``host:port`` (0 picks a free port).

    Raises:
        ValueError: ``port`` is not 0-65535 (the OS would wrap it around).
        OSError: The port cannot be bound, said in one line
            (``could not listen on 127.0.0.1:8000: address already in use``);
            a `socket.gaierror` stays one.
    """
    if not 0 <= port <= 65535:
        raise ValueError(f"port must be 0-65535, not {port}")
    try:
        return await trio.open_tcp_listeners(port, host=host)
    except OSError as exc:
        where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        detail = (exc.strerror or str(exc)).lower()
        kind = socket.gaierror if isinstance(exc, socket.gaierror) else OSError
        raise kind(exc.errno, f"could not listen on {where}: {detail}") from None


async def serve_listeners(
    handler: Callable[[trio.SocketStream], Awaitable[object]],
    listeners: list[trio.SocketListener],
) -> None:
    """`trio.serve_listeners`, closing the listeners when it ends."""
    try:
        await trio.serve_listeners(handler, listeners)
    finally:
        for listener in listeners:
            listener.socket.close()  # synchronous: no await in finally
