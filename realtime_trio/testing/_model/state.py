"""What the parts of one simulated session share (sans-IO).

`SimSession` handles each client event with one of its parts: the
conversation items (`items`), the responses (`responses.Responses`) and the
input audio (`audio_turns.AudioTurns`). What more than one of them reads or
changes is kept here, in one `SessionState` that `SimSession` creates and
hands to each part, so the parts never reach into one another for state and
this module sits below them all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from ..._core.serde import EventCodec, get_codec
from .conversation import Conversation
from .ids import IdFactory
from .input_audio import InputAudioBuffer
from .scenario import Scenario


@attrs.frozen(kw_only=True)
class SimSettings:
    """Simulator-wide settings that shape every session.

    `RealtimeSimulator` makes them from its options (see
    ``realtime_trio.testing._server.options``), which hold the defaults.

    Attributes:
        realtime: Pace output audio in real time.
        time_to_first_audio: Seconds before the first audio delta.
        audio_chunk_ms: Milliseconds of audio per delta.
        seed: The seed of ids and voices.
        max_message_size: Larger client messages get an ``error`` event.
        session_duration: Seconds until the session expires.
        scenario: What the simulated model does.
        load_wav: Reads a WAV file as PCM16 at 24 kHz.
    """

    realtime: bool
    time_to_first_audio: float
    audio_chunk_ms: int
    seed: int
    max_message_size: int
    session_duration: float
    scenario: Scenario
    load_wav: Callable[[str], bytes]


@attrs.define(kw_only=True, eq=False)
class SessionState:
    """The state of one simulated session that its parts share.

    Attributes:
        settings: Simulator-wide settings.
        ids: The connection's id factory.
        config: The session object, as wire JSON (what ``session.created``
            and ``session.updated`` report).
        conversation: The default conversation.
        buffer: The input audio buffer.
        sideband: The connection is attached to a call (``?call_id=``).
        transcripts: The scenario's transcripts of audio turns not used yet.
        codec: Dumps client records to wire JSON.
    """

    settings: SimSettings
    ids: IdFactory
    config: dict[str, Any]
    conversation: Conversation
    buffer: InputAudioBuffer
    sideband: bool = False
    transcripts: list[str] = attrs.field(factory=list)
    codec: EventCodec = attrs.field(factory=get_codec)

    @property
    def is_transcription(self) -> bool:
        """Whether this is a transcription session."""
        return bool(self.config.get("type") == "transcription")

    def next_transcript(self) -> str | None:
        """The scenario's transcript of the next audio turn, if it has one left."""
        return self.transcripts.pop(0) if self.transcripts else None
