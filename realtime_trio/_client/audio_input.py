"""The audio input path of a connection: senders bounded in bytes of audio.

Audio goes from any number of `AudioSender`\\ s through one memory channel to
the connection's audio task (which `AudioEncoder` drives). The channel is
bounded in *bytes of audio* (so in milliseconds), not in chunks: a sender
waits while the buffered audio is over budget. A chunk larger than the whole
budget is still accepted when nothing else is buffered, so no caller can
dead-lock itself.

A sender knows nothing of the connection but two things it is given: a check
that raises when the connection is closing or over, and the error to raise
when the channel turns out to be closed under it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Final, final

import trio

from .audio_encoding import AudioItem


class AudioBuffer:
    """The byte accounting shared by the senders and the audio task.

    Its channel and the senders' parking lot are made on first use: a
    connection that never sends audio never pays for them.

    Args:
        budget: How much audio may wait, in bytes (at least 1).
    """

    __slots__ = (
        "_channel",
        "_on_first",
        "_own_closed",
        "_space",
        "budget",
        "buffered",
        "peak",
    )

    def __init__(
        self, budget: int, *, on_first: Callable[[], None] | None = None
    ) -> None:
        self.budget = max(1, budget)
        # Called when the first audio is queued (the engine starts its audio task).
        self._on_first = on_first
        self.buffered = 0
        self.peak = 0
        self._space: trio.lowlevel.ParkingLot | None = None
        self._channel: (
            tuple[
                trio.MemorySendChannel[AudioItem], trio.MemoryReceiveChannel[AudioItem]
            ]
            | None
        ) = None
        # The channel's own sending end was closed before the channel was opened.
        self._own_closed = False

    @property
    def opened(self) -> bool:
        """Whether the channel exists (something was queued, or a sender cloned)."""
        return self._channel is not None

    def _open(
        self,
    ) -> tuple[trio.MemorySendChannel[AudioItem], trio.MemoryReceiveChannel[AudioItem]]:
        if self._channel is None:
            # The count is unbounded on purpose: the byte budget is the bound.
            self._channel = trio.open_memory_channel[AudioItem](math.inf)
            if self._own_closed:
                self._channel[0].close()
        return self._channel

    @property
    def send_channel(self) -> trio.MemorySendChannel[AudioItem]:
        """The channel's own sending end (the connection's `AudioSender`'s)."""
        return self._open()[0]

    @property
    def receive_channel(self) -> trio.MemoryReceiveChannel[AudioItem]:
        """The audio task's end."""
        return self._open()[1]

    def close_own(self) -> None:
        """Close the channel's own sending end (without opening the channel)."""
        if self._channel is None:
            self._own_closed = True
        else:
            self._channel[0].close()

    def has_room(self, nbytes: int) -> bool:
        return self.buffered == 0 or self.buffered + nbytes <= self.budget

    def added(self, nbytes: int) -> None:
        if self._on_first is not None:
            on_first, self._on_first = self._on_first, None
            on_first()
        self.buffered += nbytes
        if self.buffered > self.peak:
            self.peak = self.buffered

    def consumed(self, nbytes: int) -> None:
        self.buffered -= nbytes
        if self._space is not None:
            self._space.unpark_all()

    async def wait_room(self) -> None:
        if self._space is None:
            self._space = trio.lowlevel.ParkingLot()
        await self._space.park()

    def wake_all(self) -> None:
        if self._space is not None:
            self._space.unpark_all()


_CLOSED: Final = "this audio sender is closed"


@final
class AudioSender(trio.abc.SendChannel[bytes]):
    """Sends PCM audio into a connection's audio-encoding task.

    Get one from `RealtimeConnection.audio_sender`; ``clone()`` it for more
    producers, and close each when done (``with sender:``). Audio is in the
    connection's input format (PCM16 mono 24 kHz unless told otherwise) and
    can be any length: the audio task frames it.
    """

    # Public: weak references to it keep working.
    __slots__ = (
        "__weakref__",
        "_buffer",
        "_channel",
        "_check_usable",
        "_closed",
        "_ended_error",
    )

    def __init__(
        self,
        buffer: AudioBuffer,
        channel: trio.MemorySendChannel[AudioItem] | None,
        *,
        check_usable: Callable[[], None],
        ended_error: Callable[[], Exception],
    ) -> None:
        self._check_usable = check_usable
        self._ended_error = ended_error
        self._buffer = buffer
        # None: the buffer's own sending end, opened by the first audio.
        self._channel = channel
        self._closed = False

    @trio.lowlevel.enable_ki_protection
    async def send(self, value: bytes) -> None:
        """Queue audio, waiting while the buffered audio is over budget.

        This is a checkpoint. Cancelling it is safe: either all of ``value``
        was queued or none of it.

        Raises:
            ConnectionClosed: the connection (or this sender) is closed.
            ConnectionBroken: the connection failed.
        """
        await trio.lowlevel.checkpoint_if_cancelled()
        data = bytes(value)
        while True:
            self._check_usable()
            if self._closed:
                raise trio.ClosedResourceError(_CLOSED)
            if self._buffer.has_room(len(data)):
                break
            await self._buffer.wait_room()
        self._put(data)
        await trio.lowlevel.cancel_shielded_checkpoint()

    @trio.lowlevel.enable_ki_protection
    def send_nowait(self, value: bytes) -> None:
        """Queue audio now, or raise `trio.WouldBlock` if the buffer is over budget."""
        data = bytes(value)
        self._check_usable()
        if self._closed:
            raise trio.ClosedResourceError(_CLOSED)
        if not self._buffer.has_room(len(data)):
            raise trio.WouldBlock
        self._put(data)

    def _put(self, data: bytes) -> None:
        if not data:
            return
        channel = self._channel
        if channel is None:
            # The buffer's own end, opened now (closing it closes the same end).
            channel = self._channel = self._buffer.send_channel
        try:
            channel.send_nowait(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            raise self._ended_error() from None
        self._buffer.added(len(data))

    def clone(self) -> AudioSender:
        """Another sender into the same audio stream (for another producer)."""
        if self._closed:
            raise trio.ClosedResourceError(_CLOSED)
        channel = self._channel
        if channel is None:
            channel = self._buffer.send_channel
        return AudioSender(
            self._buffer,
            channel.clone(),
            check_usable=self._check_usable,
            ended_error=self._ended_error,
        )

    def close(self) -> None:
        """Close this sender (synchronously; the others stay open)."""
        if not self._closed:
            self._closed = True
            if self._channel is None:
                self._buffer.close_own()
            else:
                self._channel.close()

    def __enter__(self) -> AudioSender:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def aclose(self) -> None:
        """Close this sender. This is a checkpoint."""
        self.close()
        await trio.lowlevel.checkpoint()
