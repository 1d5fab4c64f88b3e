"""Streaming audio plumbing: fixed-size framing and format conversion.

* `AudioChunker` cuts a byte stream into fixed-size frames.
* `InputAudioPipeline` turns local audio (a microphone at 48 kHz, a phone
  line in µ-law, ...) into frames in the session's input format.
* `OutputAudioDecoder` turns ``response.output_audio.delta`` payloads into
  PCM16 at the rate a sound card wants.

All three are synchronous and hold no I/O: feed bytes in, get bytes out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, final

from .b64 import decode_audio
from .formats import (
    SAMPLE_RATE,
    AudioFormat,
    AudioFormatError,
    duration_ms,
    frame_bytes,
)
from .g711 import alaw_to_pcm16, pcm16_to_alaw, pcm16_to_ulaw, ulaw_to_pcm16
from .resample import ResampleQuality, Resampler

__all__ = ["AudioChunker", "InputAudioPipeline", "OutputAudioDecoder"]

_Bytes = bytes | bytearray | memoryview

_DECODERS: Final[dict[str, Callable[[_Bytes], bytes]]] = {
    "pcmu": ulaw_to_pcm16,
    "pcma": alaw_to_pcm16,
}
_ENCODERS: Final[dict[str, Callable[[_Bytes], bytes]]] = {
    "pcmu": pcm16_to_ulaw,
    "pcma": pcm16_to_alaw,
}


@final
class AudioChunker:
    """Cut a byte stream into frames of exactly *frame_bytes* bytes.

    `feed` returns every whole frame it can and keeps the rest; `flush`
    returns the partial frame at the end of the stream.

    >>> chunker = AudioChunker(4)
    >>> chunker.feed(b"abcdef")
    [b'abcd']
    >>> chunker.pending
    2
    >>> chunker.flush()
    b'ef'

    Use `frame_bytes` to size frames by duration, for example
    ``AudioChunker(frame_bytes(PCM16_24K, 20))`` for 20 ms frames.

    Raises:
        AudioFormatError: *frame_bytes* is not a positive int.
    """

    def __init__(self, frame_bytes: int) -> None:
        if type(frame_bytes) is not int or frame_bytes <= 0:
            raise AudioFormatError(
                f"frame_bytes must be a positive int, got {frame_bytes!r}"
            )
        self._frame_bytes = frame_bytes
        self._buffer = bytearray()

    @property
    def frame_bytes(self) -> int:
        """The size of every frame `feed` returns."""
        return self._frame_bytes

    @property
    def pending(self) -> int:
        """Bytes held back until a frame is complete (always < `frame_bytes`)."""
        return len(self._buffer)

    def feed(self, data: bytes | bytearray | memoryview) -> list[bytes]:
        """Add *data* and return the whole frames now available, oldest first."""
        buffer = self._buffer
        buffer += data
        size = self._frame_bytes
        whole = len(buffer) - len(buffer) % size
        if not whole:
            return []
        view = memoryview(buffer)
        try:
            frames = [bytes(view[i : i + size]) for i in range(0, whole, size)]
        finally:
            # A bytearray with a live export cannot be resized.
            view.release()
        del buffer[:whole]
        return frames

    def flush(self) -> bytes:
        """Return and forget the partial frame; ``b""`` if there is none."""
        rest = bytes(self._buffer)
        self._buffer.clear()
        return rest


@final
class InputAudioPipeline:
    """Convert local audio to the session's input format, in whole frames.

    Bytes written to `feed` in the *source* format are decoded (G.711 to
    PCM16), resampled to the *target* rate, encoded (to G.711 if the target
    is ``pcmu`` or ``pcma``) and cut into frames of *frame_ms* milliseconds,
    ready for ``input_audio_buffer.append``.
    Writes may have any size; PCM16 input may split a sample across writes.

    Nothing is ever dropped: `flush` returns everything still held, the
    resampler's tail included.

    Args:
        source: The format of the bytes given to `feed`.
        target: The format of the frames returned, usually `PCM16_24K`,
            `PCMU` or `PCMA`.
        frame_ms: Frame duration; it must hold a whole number of samples at
            the target rate.
        quality: The `Resampler` quality, if the rates differ.

    Raises:
        AudioFormatError: *frame_ms* does not fit the target rate, or
            *quality* is unknown.
    """

    def __init__(
        self,
        source: AudioFormat,
        target: AudioFormat,
        *,
        frame_ms: int = 20,
        quality: ResampleQuality = "medium",
    ) -> None:
        self._source = source
        self._target = target
        self._frame_ms = frame_ms
        self._chunker = AudioChunker(frame_bytes(target, frame_ms))
        self._decode = self._encode = None
        self._resampler: Resampler | None = None
        if source == target and source.encoding != "pcm16":
            # G.711 in, the same G.711 out: only framing. (Decoding and
            # re-encoding would not be the identity: µ-law has two zeros.)
            return
        self._decode = _DECODERS.get(source.encoding)
        self._encode = _ENCODERS.get(target.encoding)
        self._resampler = Resampler(source.rate, target.rate, quality=quality)

    @property
    def source(self) -> AudioFormat:
        """The format `feed` accepts."""
        return self._source

    @property
    def target(self) -> AudioFormat:
        """The format of the frames produced."""
        return self._target

    @property
    def frame_ms(self) -> int:
        """The duration of each frame `feed` returns, in milliseconds."""
        return self._frame_ms

    @property
    def frame_bytes(self) -> int:
        """The size in bytes of each frame `feed` returns."""
        return self._chunker.frame_bytes

    @property
    def pending(self) -> int:
        """Target-format bytes waiting for their frame to complete."""
        return self._chunker.pending

    @property
    def pending_ms(self) -> float:
        """The duration of `pending`, in milliseconds."""
        return duration_ms(self._target, self._chunker.pending)

    def feed(self, data: bytes | bytearray | memoryview) -> list[bytes]:
        """Convert *data* and return the whole frames now available."""
        return self._chunker.feed(self._convert(data))

    def flush(self) -> bytes:
        """End the stream: return all remaining audio, converted.

        The result is the partial frame followed by the resampler's tail; it
        can be longer than one frame, or empty.
        The pipeline is then ready for a new stream.

        Raises:
            AudioFormatError: PCM16 input ended with an odd byte, half a
                sample. Nothing is flushed in that case.
        """
        tail = b""
        if self._resampler is not None:
            tail = self._resampler.flush()
            if self._encode is not None:
                tail = self._encode(tail)
        return self._chunker.flush() + tail

    def _convert(self, data: _Bytes) -> _Bytes:
        if self._resampler is None:
            return data
        if self._decode is not None:
            data = self._decode(data)
        pcm = self._resampler.process(data)
        return self._encode(pcm) if self._encode is not None else pcm


@final
class OutputAudioDecoder:
    """Turn ``response.output_audio.delta`` payloads into PCM16 for playback.

    Each payload (the base64 ``delta`` text, or raw bytes already decoded)
    in the *source* format is decoded to PCM16 and resampled to
    *target_rate*.
    Call `flush` when the response's audio ends to get the resampler's
    tail.

    Args:
        source: The session's output format, for example `PCM16_24K` or
            `PCMU`.
        target_rate: The PCM16 rate to produce, one of `SUPPORTED_PCM_RATES`.
        quality: The `Resampler` quality, if the rates differ.

    Raises:
        AudioFormatError: *target_rate* or *quality* is not supported.
    """

    def __init__(
        self,
        source: AudioFormat,
        target_rate: int = SAMPLE_RATE,
        *,
        quality: ResampleQuality = "medium",
    ) -> None:
        self._source = source
        self._target = AudioFormat.pcm16(target_rate)
        self._decode = _DECODERS.get(source.encoding)
        self._resampler = Resampler(source.rate, target_rate, quality=quality)

    @property
    def source(self) -> AudioFormat:
        """The format of the payloads."""
        return self._source

    @property
    def target(self) -> AudioFormat:
        """The PCM16 format produced."""
        return self._target

    def decode(self, payload: str | bytes | bytearray | memoryview) -> bytes:
        """Decode one payload and return the PCM16 it completes.

        Args:
            payload: Base64 text (a ``delta`` field) or raw audio bytes.

        Raises:
            AudioFormatError: *payload* is text but not valid base64.
        """
        data = decode_audio(payload) if isinstance(payload, str) else payload
        if self._decode is not None:
            data = self._decode(data)
        return self._resampler.process(data)

    def flush(self) -> bytes:
        """End the stream: return the remaining PCM16 and reset.

        Raises:
            AudioFormatError: PCM16 payloads ended with an odd byte.
        """
        return self._resampler.flush()
