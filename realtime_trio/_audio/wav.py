"""WAV file helpers on top of the stdlib `wave` module.

Only 16-bit linear PCM is supported, the format the rest of the audio
helpers speak.
Reading can down-mix several channels to mono; writing is always mono.
"""

from __future__ import annotations

import os
import wave
from types import TracebackType
from typing import IO, Final, final

import attrs
import numpy as np

from .formats import BYTES_PER_SAMPLE, AudioFormatError

__all__ = ["WavAudio", "WavWriter", "read_wav", "write_wav"]

_INT16_MAX: Final = 32767

WavSource = str | os.PathLike[str] | IO[bytes]
"""A path, or a binary file object."""


@final
@attrs.frozen
class WavAudio:
    """The audio of a WAV file: mono PCM16 little-endian samples and their rate.

    Attributes:
        pcm: The samples, PCM16 little-endian mono (down-mixed if the file had
            several channels).
        rate: Samples per second.
        channels: How many channels the file had; `pcm` is always mono.
    """

    pcm: bytes = attrs.field(repr=lambda pcm: f"<{len(pcm)} bytes>")
    rate: int
    channels: int = 1

    @property
    def duration_ms(self) -> float:
        """The duration of the audio in milliseconds."""
        return len(self.pcm) * 1000 / (BYTES_PER_SAMPLE * self.rate)


def _open(target: WavSource) -> str | IO[bytes]:
    # wave.open() opens str paths itself but does not accept os.PathLike.
    if isinstance(target, (str, os.PathLike)):
        return os.fspath(target)
    return target


def read_wav(source: WavSource, *, mix_to_mono: bool = False) -> WavAudio:
    """Read a 16-bit PCM WAV file.

    Args:
        source: A path or a binary file object positioned at the RIFF header.
            A file object is not closed.
        mix_to_mono: Down-mix a file with several channels by averaging
            them, rounding half up. Without it, such a file is an error.

    Raises:
        AudioFormatError: The file is not a PCM WAV file, its samples are not
            16-bit, or it has several channels and *mix_to_mono* is false.
        OSError: The file cannot be opened or read.
    """
    try:
        with wave.open(_open(source), "rb") as reader:
            width = reader.getsampwidth()
            channels = reader.getnchannels()
            rate = reader.getframerate()
            if width != BYTES_PER_SAMPLE:
                raise AudioFormatError(
                    f"WAV samples are {8 * width}-bit; only 16-bit PCM is supported"
                )
            if channels > 1 and not mix_to_mono:
                raise AudioFormatError(
                    f"WAV file has {channels} channels; pass mix_to_mono=True to "
                    "down-mix it to mono"
                )
            data = reader.readframes(reader.getnframes())
    except (wave.Error, EOFError) as exc:
        raise AudioFormatError(f"not a readable PCM WAV file: {exc}") from exc
    # A truncated data chunk can end mid-frame: drop that partial frame.
    frame = BYTES_PER_SAMPLE * channels
    data = data[: len(data) - len(data) % frame]
    if channels > 1:
        samples = np.frombuffer(data, dtype="<i2").astype(np.int64)
        total = samples.reshape(-1, channels).sum(axis=1)
        # floor(total / channels + 1/2), in integers: round half up.
        mixed = (2 * total + channels) // (2 * channels)
        data = mixed.astype("<i2").tobytes()
    return WavAudio(pcm=data, rate=rate, channels=channels)


def write_wav(
    target: WavSource, pcm: bytes | bytearray | memoryview, rate: int
) -> None:
    """Write mono PCM16 little-endian samples to a WAV file.

    Args:
        target: A path (the file is created or replaced) or a binary file
            object, which is left open.
        pcm: The samples.
        rate: Samples per second.

    Raises:
        AudioFormatError: *pcm* has an odd number of bytes, or *rate* is not
            positive.
    """
    if len(pcm) % BYTES_PER_SAMPLE:
        raise AudioFormatError(
            f"PCM16 data must be a whole number of samples, got {len(pcm)} bytes"
        )
    with WavWriter(target, rate) as writer:
        writer.write(pcm)


@final
class WavWriter:
    """Write a mono PCM16 WAV file a chunk at a time.

    The header is written first with a zero length and fixed when the writer
    closes, so a file object target must be seekable.
    Use it as a context manager::

        with WavWriter("reply.wav", 24000) as wav:
            for chunk in chunks:
                wav.write(chunk)

    Chunks may split a sample: an odd trailing byte waits for the next
    write.

    Args:
        target: A path (the file is created or replaced) or a binary file
            object, which is left open.
        rate: Samples per second.

    Raises:
        AudioFormatError: *rate* is not positive.
        OSError: The path cannot be opened for writing (a missing directory,
            no permission); nothing is left behind to clean up.
    """

    def __init__(self, target: WavSource, rate: int) -> None:
        if type(rate) is not int or rate <= 0:
            raise AudioFormatError(f"rate must be a positive int, got {rate!r}")
        self._rate = rate
        self._carry = b""
        self._frames = 0
        # Open a path ourselves: wave.open() given a path it cannot open leaves
        # a half-built Wave_write behind, whose __del__ then prints "Exception
        # ignored in Wave_write.__del__" to stderr. Files are owned until
        # close(), so no with blocks.
        self._owned_file: IO[bytes] | None = None
        if isinstance(target, (str, os.PathLike)):
            self._owned_file = open(target, "wb")  # noqa: SIM115
            target = self._owned_file
        try:
            writer = wave.open(target, "wb")  # noqa: SIM115
            writer.setnchannels(1)
            writer.setsampwidth(BYTES_PER_SAMPLE)
            writer.setframerate(rate)
        except BaseException:
            if self._owned_file is not None:
                self._owned_file.close()
            raise
        self._writer: wave.Wave_write | None = writer

    @property
    def rate(self) -> int:
        """Samples per second."""
        return self._rate

    @property
    def frames_written(self) -> int:
        """How many whole samples have been written."""
        return self._frames

    @property
    def closed(self) -> bool:
        """Whether `close` has been called."""
        return self._writer is None

    def write(self, pcm: bytes | bytearray | memoryview) -> None:
        """Append PCM16 little-endian mono samples.

        Raises:
            ValueError: The writer is closed.
        """
        if self._writer is None:
            raise ValueError("write to a closed WavWriter")
        if self._carry:
            pcm = self._carry + pcm
        whole = len(pcm) - len(pcm) % BYTES_PER_SAMPLE
        self._carry = bytes(pcm[whole:])
        if whole:
            self._writer.writeframesraw(pcm[:whole])
            self._frames += whole // BYTES_PER_SAMPLE

    def close(self) -> None:
        """Fix the header and close the file (if the writer opened it).

        Closing twice does nothing.
        Leaving the ``with`` block closes the writer; if the block raised, a
        dangling odd byte is dropped silently.

        Raises:
            AudioFormatError: The last write ended with an odd byte, half a
                sample; the file is closed without it.
        """
        self._close(strict=True)

    def _close(self, *, strict: bool) -> None:
        writer, self._writer = self._writer, None
        if writer is None:
            return
        try:
            writer.close()
        finally:
            if self._owned_file is not None:
                self._owned_file.close()
        carry, self._carry = self._carry, b""
        if carry and strict:
            raise AudioFormatError(
                "WAV stream ended with an odd byte (half a sample); it was dropped"
            )

    def __enter__(self) -> WavWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # Do not mask an exception from the body with the odd-byte error.
        self._close(strict=exc_type is None)
