"""`TurnMetrics`: when each stage of one turn happened, and the durations between them (sans-IO).

Every timestamp is a reading of one monotonic clock, in seconds (the trio
clock, in the conversation layer); every duration is a difference of two of
them. The stages of a turn, in order (``docs/explanation/latency.rst`` draws
them)::

    user_audio_end        the last audible sample of the user's speech was sent   (client clock)
    endpoint_audio_sent   the sample at the server's audio_end_ms was sent        (mapped)
    speech_stopped        input_audio_buffer.speech_stopped received
    committed             input_audio_buffer.committed received
    response_created      response.created received
    first_audio_delta     the first response.output_audio.delta received          (time to first byte)
    first_audible         the first delta with a window above the silence threshold (time to first audio)
    response_done         response.done received (of the last response of the turn)

The split of the time to first audio (it sums exactly)::

    endpointing  = endpoint_audio_sent - user_audio_end     (how long the server's VAD waited)
    network      = decision - endpoint_audio_sent           (uplink, the server's VAD, the event's way back, our queues)
    generation   = first_audible - decision                 (the server, from its decision to audible audio)

where *decision* is ``speech_stopped`` (server or semantic VAD) or
``committed`` (a manual commit, where endpointing is the client's own wait).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

import attrs

#: The names of the durations of `TurnMetrics.stages`, in the order tables print them.
STAGES: Final = (
    "time_to_first_audio",
    "time_to_first_byte",
    "endpointing",
    "network",
    "generation",
    "response_start",
    "first_transcript",
    "turn_total",
    "tool_round_trip",
    "interruption_settle",
)

#: The stages a censored turn (one that timed out) lacks because it timed out:
#: they count as longer than any measured value, never as zero or missing.
CENSORABLE: Final = frozenset(
    {
        "time_to_first_audio",
        "time_to_first_byte",
        "generation",
        "response_start",
        "turn_total",
    }
)

#: The stages measured from the end of the user's audio: a premature turn
#: (audio before the user stopped speaking) is left out of their aggregates.
FROM_USER_END: Final = frozenset(
    {"time_to_first_audio", "time_to_first_byte", "first_transcript", "turn_total"}
)


def _diff(end: float | None, start: float | None) -> float | None:
    return None if end is None or start is None else end - start


@attrs.frozen(kw_only=True)
class TurnMetrics:
    """The timeline of one turn of a conversation, on a monotonic clock (seconds).

    A turn starts when the user starts speaking (``speech_started``), when
    the input buffer is committed without one, or when a response is created
    outside any user turn (a text turn); it ends with the ``response.done``
    of its last response (after the follow-ups of its tool calls). Stages
    that did not happen are None. Durations are properties (None when a
    stage they need is missing); `stages` has them all by name.

    On a call's sideband (``sideband``) the caller's audio goes to the
    server directly: there is no client audio clock, so ``user_audio_end``,
    ``endpoint_audio_sent``, the audio deltas and the stages built on them
    are None; ``output_audio_started`` (``output_audio_buffer.started``,
    the server starting to play to the caller) stands in for the first audio.

    Attributes:
        index: The turn's number in its conversation, from 0.
        sideband: Measured on a call's sideband.
        manual: The turn ended with a commit and no VAD event (turn detection off).
        started: When the turn opened.
        user_audio_start: When we sent the audio at the server's ``audio_start_ms``.
        user_audio_end: When we sent the last audible sample before the
            server's end of speech (or before the commit); the end of user audio.
        speech_started: ``input_audio_buffer.speech_started`` received.
        speech_stopped: ``input_audio_buffer.speech_stopped`` received.
        audio_start_ms: The server's ``audio_start_ms`` (ms into the session's audio).
        audio_end_ms: The server's ``audio_end_ms`` (it includes the silence window).
        endpoint_audio_sent: When we sent the audio at ``audio_end_ms``, or
            with a manual commit the last audio before it: when the server
            had what it needed to decide.
        committed: ``input_audio_buffer.committed`` received.
        response_created: The first ``response.created`` of the turn received.
        first_audio_delta: The first ``response.output_audio.delta`` received.
        first_audible: The first delta holding audio above the silence threshold received.
        leading_silence: Seconds of response audio before its first audible window.
        first_transcript_delta: The first transcript (or text) delta received.
        output_audio_started: ``output_audio_buffer.started`` received (WebRTC and SIP).
        response_done: The ``response.done`` that ended the turn received.
        response_ids: The turn's responses (a tool call's follow-up is the same turn).
        status: The last response's status (``completed``, ``cancelled``...).
        tool_round_trips: Per tool call, seconds from its arguments
            (``response.function_call_arguments.done``) to the follow-up's
            ``response.created``.
        interrupted: The assistant was cut off (a barge-in, or `interrupt`).
        interrupted_at: When.
        interruption_settle: Seconds from the interruption to the audio
            stopping: the interrupted response's ``response.done`` (on a
            sideband, ``output_audio_buffer.cleared`` or ``stopped``).
        discarded_audio: Seconds of received assistant audio never played:
            unplayed at the cut, plus what arrived after it.
        premature: The first audible audio arrived while the user was still
            speaking (audible audio sent after ``user_audio_end``).
        censored: The turn did not end in time (or the conversation ended
            first): its missing stages are longer than ``ended - started``.
        ended: When the record was closed.
    """

    index: int
    sideband: bool = False
    manual: bool = False
    started: float
    user_audio_start: float | None = None
    user_audio_end: float | None = None
    speech_started: float | None = None
    speech_stopped: float | None = None
    audio_start_ms: int | None = None
    audio_end_ms: int | None = None
    endpoint_audio_sent: float | None = None
    committed: float | None = None
    response_created: float | None = None
    first_audio_delta: float | None = None
    first_audible: float | None = None
    leading_silence: float = 0.0
    first_transcript_delta: float | None = None
    output_audio_started: float | None = None
    response_done: float | None = None
    response_ids: tuple[str, ...] = ()
    status: str | None = None
    tool_round_trips: tuple[float, ...] = ()
    interrupted: bool = False
    interrupted_at: float | None = None
    interruption_settle: float | None = None
    discarded_audio: float = 0.0
    premature: bool = False
    censored: bool = False
    ended: float

    # --- the durations -----------------------------------------------------------

    @property
    def decision(self) -> float | None:
        """When the turn's end was decided: ``speech_stopped``, else ``committed``."""
        return (
            self.speech_stopped if self.speech_stopped is not None else self.committed
        )

    @property
    def time_to_first_audio(self) -> float | None:
        """End of user audio to the first audible audio received."""
        return _diff(self.first_audible, self.user_audio_end)

    @property
    def time_to_first_byte(self) -> float | None:
        """End of user audio to the first audio delta received (silent or not)."""
        return _diff(self.first_audio_delta, self.user_audio_end)

    @property
    def endpointing(self) -> float | None:
        """End of user audio to the sending of the audio the server decided on."""
        return _diff(self.endpoint_audio_sent, self.user_audio_end)

    @property
    def network(self) -> float | None:
        """Sending the decisive audio to receiving the decision (network plus client)."""
        return _diff(self.decision, self.endpoint_audio_sent)

    @property
    def generation(self) -> float | None:
        """The decision to the first audible audio (on a sideband: to ``output_audio_buffer.started``)."""
        if self.sideband:
            return _diff(self.output_audio_started, self.decision)
        return _diff(self.first_audible, self.decision)

    @property
    def response_start(self) -> float | None:
        """The decision to ``response.created``."""
        return _diff(self.response_created, self.decision)

    @property
    def first_transcript(self) -> float | None:
        """End of user audio to the first transcript delta."""
        return _diff(self.first_transcript_delta, self.user_audio_end)

    @property
    def turn_total(self) -> float | None:
        """End of user audio (on a sideband: ``speech_stopped``) to the last ``response.done``."""
        start = self.speech_stopped if self.sideband else self.user_audio_end
        return _diff(self.response_done, start)

    def stages(self) -> dict[str, tuple[float, ...]]:
        """Every duration of `STAGES` measured in this turn, in seconds, by name.

        Each is a tuple: empty when not measured, one value, or one per tool
        call (``tool_round_trip``).
        """
        values: dict[str, tuple[float, ...]] = {}
        for name in STAGES:
            if name == "tool_round_trip":
                values[name] = self.tool_round_trips
                continue
            value = getattr(self, name)
            values[name] = () if value is None else (value,)
        return values

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON-ready data: every field, plus the durations under ``"stages"``."""
        data: dict[str, Any] = attrs.asdict(self, recurse=False)
        data["response_ids"] = list(self.response_ids)
        data["tool_round_trips"] = list(self.tool_round_trips)
        data["stages"] = {
            name: (list(value) if name == "tool_round_trip" else _one(value))
            for name, value in self.stages().items()
        }
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TurnMetrics:
        """Read back a record written by `to_dict` (``stages`` is recomputed)."""
        fields = {f.name for f in attrs.fields(cls)}
        given = {k: v for k, v in data.items() if k in fields}
        given["response_ids"] = tuple(given.get("response_ids", ()))
        given["tool_round_trips"] = tuple(given.get("tool_round_trips", ()))
        return cls(**given)


def _one(value: tuple[float, ...]) -> float | None:
    return value[0] if value else None


def is_finite(value: float) -> bool:
    """Whether ``value`` is a measured duration (not the infinity of a censored one)."""
    return not math.isinf(value)
