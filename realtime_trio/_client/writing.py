"""The engine's two writing tasks: the send task and the audio task.

``self`` is the `ConnectionEngine` (typed `Any`: the engine imports this
module, and no import goes back up).

Three ways to the connection's `WebSocketClient`; the two tasks write to it,
and so does `write_now` from the user's task; `ConnectionEngine` runs
them in its nursery (see ``engine.py``), starting each when it first has
work. What keeps them cheap (issue 16):

* the send task takes every message queued when it wakes and writes them in
  one socket write (`take_queued`, up to `COALESCE_BYTES`);
* the audio task takes queued audio without a trip through the scheduler
  and, when the send task is idle with nothing queued and no write is in
  progress, writes the ``append`` messages itself: one task hand-over per
  chunk instead of two. Order is kept: nothing is ahead of its messages, and
  the write lock holds back anything queued meanwhile;
* `send` writes a message itself, from the user's task, when nothing is
  queued or being written and the socket takes it at once (plain TCP only):
  no task hand-over at all, and a round trip one scheduler batch shorter.
"""

from __future__ import annotations

from typing import Any, Final

import trio

from .audio_encoding import AudioControl
from .wsclient import WebSocketClosed

#: How many bytes of queued messages the send task writes at once, at most.
COALESCE_BYTES: Final = 256 * 2**10


async def send_task(self: Any) -> None:
    ws = self._ws
    assert ws is not None
    recorder = self._recorder
    protocol = self.protocol
    try:
        with self._outgoing_channel()[1] as outgoing:
            while True:
                # Every write is a checkpoint: take a queued message
                # without another trip through the scheduler, wait only
                # when there is none; take what else is queued too, and
                # write it all at once (one system call).
                try:
                    batch = [outgoing.receive_nowait()]
                except trio.WouldBlock:
                    batch = [await outgoing.receive()]
                ended = take_queued(outgoing, batch)
                if recorder is not None:
                    for text in batch:
                        if text:
                            recorder.record("client", text)
                try:
                    await ws.send_messages(batch)
                except WebSocketClosed as exc:
                    if not self._closing and self.terminal is None:
                        self._closed(exc.reason, "sending")
                    return
                for text in batch:
                    if text:  # not `write_now`'s nudge
                        protocol.message_written()
                if ended:
                    return
    except trio.EndOfChannel:
        pass  # closing: everything queued was sent
    finally:
        self._send_done.set()  # created with the task


async def audio_task(self: Any, outgoing: trio.MemorySendChannel[str]) -> None:
    audio = self.audio
    encoder = self._encoder
    ws = self._ws
    assert ws is not None
    recorder = self._recorder
    protocol = self.protocol
    with audio.receive_channel as items, outgoing:
        try:
            while True:
                # Take what is queued without a trip through the scheduler
                # (the write below is the checkpoint); wait only when
                # nothing is.
                try:
                    item = items.receive_nowait()
                except trio.WouldBlock:
                    try:
                        item = await items.receive()
                    except trio.EndOfChannel:
                        break
                except trio.EndOfChannel:
                    break
                if type(item) is bytes:
                    audio.consumed(len(item))
                    texts = encoder.audio(item)
                else:
                    assert isinstance(item, AudioControl)
                    if item.stop:
                        break
                    texts = encoder.control(item)
                if not texts:
                    continue
                stats = outgoing.statistics()
                if (
                    stats.tasks_waiting_receive
                    and not stats.current_buffer_used
                    and ws.writable_now()
                ):
                    # The send task waits with nothing queued and no
                    # write is in progress: write ourselves, one task
                    # hand-over less per chunk. Nothing is ahead of these
                    # messages, and the write lock holds back the rest.
                    if recorder is not None:
                        for text in texts:
                            recorder.record("client", text)
                    try:
                        await ws.send_messages(texts)
                    except WebSocketClosed:
                        return  # the receive task sees the end
                    for _ in texts:
                        protocol.message_written()
                    continue
                for text in texts:
                    # Skip the scheduler when there is room, wait
                    # (backpressure) only when not.
                    try:
                        outgoing.send_nowait(text)
                    except trio.WouldBlock:
                        await outgoing.send(text)
            # Stopped (closing) or every sender closed: send the last partial frame.
            if self.terminal is None:
                for text in encoder.finish():
                    try:
                        outgoing.send_nowait(text)
                    except trio.WouldBlock:
                        await outgoing.send(text)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            return  # the send task is gone: the connection is ending


def write_now(self: Any, text: str) -> bool:
    """Write ``text`` from the caller's task if nothing is ahead of it; False
    if it must be queued (see `WebSocketClient.write_now`).

    Nothing may be queued for the send task or being written. If the socket
    took only part of it, the send task is nudged (an empty string, which it
    does not count as a message) to write the rest.
    """
    ws = self._ws
    if ws is None:
        return False
    outgoing = self._outgoing
    if outgoing is not None:
        # The send task must be waiting with nothing queued. A message
        # handed straight to it (not counted in the buffer) makes it stop
        # waiting: it would be overtaken otherwise.
        stats = outgoing[0].statistics()
        if stats.current_buffer_used or not stats.tasks_waiting_receive:
            return False
    elif not self.settings.max_buffered_messages:
        return False  # no room for the nudge before the send task runs
    try:
        written = ws.write_now(text)
    except WebSocketClosed:
        return False  # the send task sees the end and reports it
    if not written:
        return False
    if self._recorder is not None:
        self._recorder.record("client", text)
    self.protocol.message_written()
    if ws.tail_pending:
        self._start_send_task()
        self.outgoing_send.send_nowait("")
    return True


def take_queued(outgoing: trio.MemoryReceiveChannel[str], batch: list[str]) -> bool:
    """Add what is queued to ``batch`` (up to `COALESCE_BYTES`); True if the
    channel is closed and empty (closing: nothing more will come)."""
    size = len(batch[0])
    while size < COALESCE_BYTES:
        try:
            text = outgoing.receive_nowait()
        except trio.WouldBlock:
            return False
        except trio.EndOfChannel:
            return True
        batch.append(text)
        size += len(text)
    return False
