"""The audio task's logic, without the task: queued input audio to messages (no trio here).

The connection's audio task takes what the senders queued (`AudioItem`:
audio bytes, or an `AudioControl` marker for an ``input_audio_buffer.*``
event) and writes what `AudioEncoder` makes of it to the outgoing buffer:

* audio is converted from the caller's input format to the session's (the
  pipeline follows ``session.audio.input.format`` as the server reports it:
  resampling, G.711), cut into ``audio_frame_ms`` frames, base64-encoded and
  wrapped in ``input_audio_buffer.append``;
* a commit first sends the partial frame, so that all the audio queued before
  it is committed; a clear drops it;
* when the connection closes (or every sender is closed) the last partial
  frame is sent.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, TypeAlias

import attrs

from .._audio.b64 import encode_audio
from .._audio.formats import PCM16_24K, AudioFormat, AudioFormatError
from .._audio.pipeline import InputAudioPipeline
from .._core.client_events import (
    InputAudioBufferAppend,
    InputAudioBufferClear,
    InputAudioBufferCommit,
)
from .._core.logs import get_logger
from .._core.protocol import RealtimeProtocol
from .._core.record import Record
from .._core.sentinel import UNSET

logger: logging.Logger = get_logger()


@attrs.frozen
class AudioControl:
    """An ``input_audio_buffer.*`` event that must stay in order with the audio.

    ``text`` is the encoded event (None: nothing to send); with ``flush`` the
    partial frame is sent first (commit), with ``reset`` it is dropped (clear).
    """

    text: str | None
    flush: bool = False
    reset: bool = False
    #: The connection is closing: send what is left and stop (other senders may still be open).
    stop: bool = False


#: What the audio senders queue for the audio task.
AudioItem: TypeAlias = bytes | AudioControl


def audio_control(event: Record | Mapping[str, Any], text: str) -> AudioControl | None:
    """The marker that carries ``event`` (encoded as ``text``) through the audio
    task, if it is an ``input_audio_buffer.*`` event; None for other events."""
    if isinstance(event, Mapping):
        kind = event.get("type")
    elif isinstance(
        event, InputAudioBufferAppend | InputAudioBufferCommit | InputAudioBufferClear
    ):
        kind = type(event).TYPE
    else:
        return None
    if not (isinstance(kind, str) and kind.startswith("input_audio_buffer.")):
        return None
    return AudioControl(
        text,
        flush=kind == InputAudioBufferCommit.TYPE,
        reset=kind == InputAudioBufferClear.TYPE,
    )


class AudioEncoder:
    """Turns queued input audio and markers into the messages to send.

    Args:
        protocol: The connection's protocol: the session it reports decides
            the target format, and it builds the ``append`` frames.
        source: The caller's audio format (``input_audio_format``).
        frame_ms: The duration of one ``append`` (``audio_frame_ms``).
        owner: Named in log messages (the connection).
    """

    __slots__ = (
        "_frame_ms",
        "_owner",
        "_pipeline",
        "_protocol",
        "_session",
        "_source",
        "_target",
    )

    def __init__(
        self,
        protocol: RealtimeProtocol,
        source: AudioFormat,
        *,
        frame_ms: int,
        owner: object,
    ) -> None:
        self._protocol = protocol
        self._source = source
        self._frame_ms = frame_ms
        self._owner = owner
        self._pipeline: InputAudioPipeline | None = None
        self._target: AudioFormat | None = None
        self._session: object = None

    def audio(self, data: bytes) -> list[str]:
        """The ``append`` messages of the whole frames that ``data`` completes."""
        append = self._protocol.append_frame
        out = []
        for frame in self._pipeline_for_session().feed(data):
            out.append(append(encode_audio(frame), len(frame)))
        return out

    def control(self, item: AudioControl) -> list[str]:
        """The messages of a marker: the partial frame first for a commit, then the event."""
        pipeline = self._pipeline_for_session()
        out: list[str] = []
        if item.flush:
            rest = self._flush(pipeline)
            if rest:
                out.append(self._protocol.append_frame(encode_audio(rest), len(rest)))
        elif item.reset:
            self._pipeline = None
            self._session = None
        if item.text is not None:
            out.append(item.text)
        return out

    def finish(self) -> list[str]:
        """The ``append`` of the last partial frame, if there is one."""
        if self._pipeline is None:
            return []
        rest = self._flush(self._pipeline)
        if not rest:
            return []
        return [self._protocol.append_frame(encode_audio(rest), len(rest))]

    def _pipeline_for_session(self) -> InputAudioPipeline:
        session = self._protocol.session
        if self._pipeline is not None and session is self._session:
            return self._pipeline  # the hot path: the session did not change
        self._session = session
        target = PCM16_24K
        audio = getattr(session, "audio", UNSET)
        audio_input = getattr(audio, "input", UNSET)
        wire_format = getattr(audio_input, "format", UNSET)
        if isinstance(wire_format, Record):
            try:
                target = AudioFormat.from_wire(self._protocol.codec.dump(wire_format))
            except AudioFormatError:
                logger.warning(
                    "%r: unsupported session input format %r; sending PCM16 24 kHz",
                    self._owner,
                    wire_format,
                )
        if self._pipeline is None or target != self._target:
            self._pipeline = InputAudioPipeline(
                self._source, target, frame_ms=self._frame_ms
            )
            self._target = target
        return self._pipeline

    def _flush(self, pipeline: InputAudioPipeline) -> bytes:
        try:
            return pipeline.flush()
        except AudioFormatError:
            # The caller's PCM16 ended on half a sample. Complete it rather than
            # drop it, and say so: the audio will be one sample off at worst.
            logger.warning(
                "%r: input audio ended with half a sample; padded with a zero byte",
                self._owner,
            )
            pipeline.feed(b"\x00")
            return pipeline.flush()
