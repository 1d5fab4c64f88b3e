"""`MetricsTracker`: builds a `TurnMetrics` per turn from what was sent and received (sans-IO).

It is fed ``(timestamp, event)`` for every event received and
``(timestamp, audio)`` for every piece of user audio sent, on one monotonic
clock; it never reads a clock itself.

Mapping the server's audio offsets onto our clock
-------------------------------------------------
The server reports where speech started and stopped as offsets into all the
audio of the session (``audio_start_ms``, ``audio_end_ms``, counted from the
first sample appended). We count the same offsets as we send, and remember,
for the last `SENT_WINDOW` pieces, the offset at which each piece ends, when
it was sent, and whether it was audible. The sample at offset *X* was sent
with the first piece that ends at or after *X*: that is its send time. So
``endpoint_audio_sent`` is the send time of ``audio_end_ms`` (which includes
the server's silence window), and ``user_audio_end`` the send time of the
last audible piece starting before it. Audio must be reported in the order
it is sent, and all of it (or the offsets drift).

Audible means: one `WINDOW_MS` window whose RMS level is above the silence
threshold (``silence_threshold_dbfs``, `SILENCE_THRESHOLD_DBFS` by default),
for the user's audio and for the response's.
"""

from __future__ import annotations

import binascii
import math
from collections import deque
from collections.abc import Callable
from typing import Final

import attrs
import numpy as np

from .._audio.formats import PCM16_24K, AudioFormat
from .._audio.g711 import alaw_to_pcm16, ulaw_to_pcm16
from .._core import item_models as im
from .._core import server_events as sev
from .._core.invalid import ReceivedEvent
from .metrics import TurnMetrics
from .records import Interruption

#: The default silence threshold: a window whose RMS level is above this is audible.
#: -50 dBFS is well below speech (about -20 dBFS) and above dithered digital silence.
SILENCE_THRESHOLD_DBFS: Final = -50.0
#: The analysis window of the silence threshold, in milliseconds.
WINDOW_MS: Final = 10
#: How many pieces of sent audio are remembered for the offset mapping.
SENT_WINDOW: Final = 4096
#: How many completed turns a tracker keeps.
MAX_TURNS: Final = 10_000


def first_audible_ms(
    pcm: bytes, fmt: AudioFormat, threshold_dbfs: float
) -> float | None:
    """The offset (ms) of the first `WINDOW_MS` window of ``pcm`` above ``threshold_dbfs``, or None."""
    if fmt.encoding == "pcmu":
        pcm = ulaw_to_pcm16(pcm)
    elif fmt.encoding == "pcma":
        pcm = alaw_to_pcm16(pcm)
    samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2")
    if not samples.size:
        return None
    window = max(1, fmt.rate * WINDOW_MS // 1000)
    n = math.ceil(samples.size / window)
    padded = np.zeros(n * window, dtype=np.float64)
    padded[: samples.size] = samples
    windows = padded.reshape(n, window)
    power = np.mean(windows * windows, axis=1)
    limit = (32768.0 * 10 ** (threshold_dbfs / 20)) ** 2
    loud = np.flatnonzero(power > limit)
    return None if not loud.size else float(loud[0] * WINDOW_MS)


@attrs.define
class _Turn:
    """A turn being measured (the mutable twin of `TurnMetrics`)."""

    index: int
    started: float
    sideband: bool = False
    manual: bool = False
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
    response_ids: list[str] = attrs.Factory(list)
    status: str | None = None
    tool_round_trips: list[float] = attrs.Factory(list)
    interrupted: bool = False
    interrupted_at: float | None = None
    interruption_settle: float | None = None
    discarded_audio: float = 0.0
    premature: bool = False
    # Not in the record:
    audio_seconds: float = 0.0
    calls: dict[str, float] = attrs.Factory(dict)
    awaiting_follow_up: bool = False

    @property
    def decided(self) -> bool:
        return self.speech_stopped is not None or self.committed is not None

    def freeze(self, ended: float, *, censored: bool = False) -> TurnMetrics:
        # Every field of the record, by name (lists become tuples): a field
        # added to TurnMetrics and not here fails at once.
        values = {name: getattr(self, name) for name in _RECORDED}
        values["response_ids"] = tuple(self.response_ids)
        values["tool_round_trips"] = tuple(self.tool_round_trips)
        return TurnMetrics(**values, censored=censored, ended=ended)


#: The fields a `_Turn` hands to its `TurnMetrics` (the record's own two aside).
_RECORDED: Final = tuple(
    f.name for f in attrs.fields(TurnMetrics) if f.name not in ("censored", "ended")
)


def _b64_size(b64: str) -> int:
    size = len(b64) // 4 * 3
    if size and b64[-1] == "=":
        size -= 2 if b64[-2] == "=" else 1
    return size


class MetricsTracker:
    """Turn metrics from a stream of timestamped events (see the module docstring).

    Args:
        sideband: The connection is a call's sideband (no client audio clock).
        input_format: The format of the audio given to `audio_sent`.
        output_format: Returns the format of the response audio (the session's).
        silence_threshold_dbfs: The level above which a window is audible.

    Attributes:
        completed: The completed turns (`TurnMetrics`), oldest first (the last 10,000).
        turns_completed: How many turns were completed in all.

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        *,
        sideband: bool = False,
        input_format: AudioFormat = PCM16_24K,
        output_format: Callable[[], AudioFormat] = lambda: PCM16_24K,
        silence_threshold_dbfs: float = SILENCE_THRESHOLD_DBFS,
    ) -> None:
        self.sideband = sideband
        self.input_format = input_format
        self.output_format = output_format
        self.silence_threshold_dbfs = silence_threshold_dbfs
        self.completed: deque[TurnMetrics] = deque(maxlen=MAX_TURNS)
        self.turns_completed = 0
        self._turns = 0
        self._open: list[_Turn] = []
        self._by_response: dict[str, _Turn] = {}
        self._sent: deque[tuple[float, float, float, bool]] = deque(maxlen=SENT_WINDOW)
        self._sent_ms = 0.0
        self._last_sent: float | None = None
        self._last_audible: float | None = None

    # --- what we send ---------------------------------------------------------------

    def audio_sent(self, now: float, pcm: bytes) -> None:
        """``pcm`` (in ``input_format``) was handed to the connection at ``now``."""
        if not pcm:
            return
        fmt = self.input_format
        audible = first_audible_ms(pcm, fmt, self.silence_threshold_dbfs) is not None
        self.audio_sent_ms(now, len(pcm) * 1000 / fmt.bytes_per_second, audible=audible)

    def audio_sent_ms(self, now: float, duration_ms: float, *, audible: bool) -> None:
        """``duration_ms`` of user audio was sent at ``now`` (audible or not)."""
        self._sent_ms += duration_ms
        self._sent.append((self._sent_ms, duration_ms, now, audible))
        self._last_sent = now
        if audible:
            self._last_audible = now

    def sent_at(self, offset_ms: float) -> float | None:
        """When the sample at ``offset_ms`` into the session's audio was sent (None: unknown)."""
        if offset_ms > self._sent_ms:
            return None
        for end, duration, at, _ in self._sent:
            if end >= offset_ms:
                return at if end - duration <= offset_ms else None
        return None

    def audible_end(self, offset_ms: float) -> float | None:
        """When the last audible piece starting before ``offset_ms`` was sent (None: unknown)."""
        for end, duration, at, audible in reversed(self._sent):
            if audible and end - duration < offset_ms:
                return at
        return None

    # --- what we receive --------------------------------------------------------------

    def received(self, now: float, event: ReceivedEvent) -> None:
        """``event`` was received at ``now``."""
        kind = type(event)
        if kind is sev.ResponseOutputAudioDelta:
            self._audio_delta(now, event)  # type: ignore[arg-type]
            return
        handler = _HANDLERS.get(kind)
        if handler is not None:
            handler(self, now, event)

    def interrupted(self, now: float, interruption: Interruption) -> None:
        """The conversation cut the assistant off at ``now``.

        The turn is the one of the interrupted response, or else the one whose
        audio was cut. When that turn was already complete (its audio was
        still playing after ``response.done``), its record in `completed` is
        replaced by one marked interrupted, with a settle time of 0 (nothing
        more arrives; the playback stopped at the cut).
        """
        keys = [k for k in (interruption.response_id,) if k is not None]
        turn = next(
            (self._by_response[k] for k in keys if k in self._by_response), None
        )
        if turn is None and interruption.item_id is not None:
            self._mark_completed(now, interruption)
            return
        if turn is None or turn.interrupted:
            return
        turn.interrupted = True
        turn.interrupted_at = now
        turn.discarded_audio += interruption.discarded_ms / 1000

    def _mark_completed(self, now: float, interruption: Interruption) -> None:
        record = self.completed[-1] if self.completed else None
        if record is None or record.first_audio_delta is None or record.interrupted:
            return
        self.completed[-1] = attrs.evolve(
            record,
            interrupted=True,
            interrupted_at=now,
            interruption_settle=0.0,
            discarded_audio=record.discarded_audio + interruption.discarded_ms / 1000,
        )

    def censor_open(self, now: float) -> list[TurnMetrics]:
        """Close every turn still open as censored (timed out); return them."""
        closed = [self._close(turn, now, censored=True) for turn in list(self._open)]
        return closed

    @property
    def open_turns(self) -> int:
        """How many turns are being measured."""
        return len(self._open)

    # --- the turns ----------------------------------------------------------------

    def _new(self, now: float) -> _Turn:
        turn = _Turn(index=self._turns, started=now, sideband=self.sideband)
        self._turns += 1
        self._open.append(turn)
        return turn

    def _close(self, turn: _Turn, now: float, *, censored: bool = False) -> TurnMetrics:
        if turn in self._open:
            self._open.remove(turn)
        for key in turn.response_ids:
            self._by_response.pop(key, None)
        record = turn.freeze(now, censored=censored)
        self.completed.append(record)
        self.turns_completed += 1
        return record

    def _listening(self) -> _Turn | None:
        """The turn whose user audio is still coming (no decision yet)."""
        if self._open and not self._open[-1].decided:
            return self._open[-1]
        return None

    def _speech_started(self, now: float, event: ReceivedEvent) -> None:
        assert isinstance(event, sev.InputAudioBufferSpeechStarted)
        turn = self._listening() or self._new(now)
        turn.speech_started = now
        turn.audio_start_ms = event.audio_start_ms
        turn.user_audio_start = self.sent_at(event.audio_start_ms)

    def _speech_stopped(self, now: float, event: ReceivedEvent) -> None:
        assert isinstance(event, sev.InputAudioBufferSpeechStopped)
        turn = self._listening() or self._new(now)
        turn.speech_stopped = now
        end = event.audio_end_ms
        turn.audio_end_ms = end
        turn.endpoint_audio_sent = self.sent_at(end)
        turn.user_audio_end = self.audible_end(end)

    def _committed(self, now: float, event: ReceivedEvent) -> None:
        for turn in self._open:
            if turn.speech_stopped is not None and turn.committed is None:
                turn.committed = now
                return
        turn = self._listening() or self._new(now)
        turn.committed = now
        turn.manual = True
        if not self.sideband:
            turn.endpoint_audio_sent = self._last_sent
            turn.user_audio_end = self._last_audible

    def _response_created(self, now: float, event: ReceivedEvent) -> None:
        assert isinstance(event, sev.ResponseCreated)
        response = event.response
        key = response.id
        if not isinstance(key, str) or not isinstance(response.conversation_id, str):
            return  # out of band: not a turn's answer
        turn = next((t for t in self._open if t.awaiting_follow_up), None)
        if turn is not None:
            turn.awaiting_follow_up = False
            turn.tool_round_trips.extend(now - at for at in turn.calls.values())
            turn.calls.clear()
        else:
            turn = next(
                (t for t in self._open if t.decided and not t.response_ids), None
            ) or self._new(now)
        if turn.response_created is None:
            turn.response_created = now
        turn.response_ids.append(key)
        self._by_response[key] = turn

    def _audio_delta(self, now: float, event: sev.ResponseOutputAudioDelta) -> None:
        turn = self._by_response.get(event.response_id)
        if turn is None or (turn.first_audible is not None and not turn.interrupted):
            return
        fmt = self.output_format()
        if turn.interrupted:
            turn.discarded_audio += _b64_size(event.delta) / fmt.bytes_per_second
            return
        if turn.first_audio_delta is None:
            turn.first_audio_delta = now
        try:
            pcm = binascii.a2b_base64(event.delta)
        except (binascii.Error, ValueError):
            return
        offset = first_audible_ms(pcm, fmt, self.silence_threshold_dbfs)
        if offset is None:
            turn.audio_seconds += len(pcm) / fmt.bytes_per_second
            return
        turn.first_audible = now
        turn.leading_silence = turn.audio_seconds + offset / 1000
        last = self._last_audible
        if turn.user_audio_end is not None and last is not None:
            turn.premature = last > turn.user_audio_end

    def _transcript_delta(self, now: float, event: ReceivedEvent) -> None:
        turn = self._by_response.get(getattr(event, "response_id", ""))
        if turn is not None and turn.first_transcript_delta is None:
            turn.first_transcript_delta = now

    def _buffer_started(self, now: float, event: ReceivedEvent) -> None:
        turn = self._by_response.get(getattr(event, "response_id", ""))
        if turn is not None and turn.output_audio_started is None:
            turn.output_audio_started = now

    def _buffer_stopped(self, now: float, event: ReceivedEvent) -> None:
        for turn in list(self._open):
            if turn.interrupted and turn.interruption_settle is None:
                assert turn.interrupted_at is not None
                turn.interruption_settle = now - turn.interrupted_at
                if turn.response_done is not None:
                    self._close(turn, now)

    def _call_done(self, now: float, event: ReceivedEvent) -> None:
        assert isinstance(event, sev.ResponseFunctionCallArgumentsDone)
        turn = self._by_response.get(event.response_id)
        if turn is not None:
            turn.calls.setdefault(event.call_id, now)

    def _response_done(self, now: float, event: ReceivedEvent) -> None:
        assert isinstance(event, sev.ResponseDone)
        response = event.response
        turn = (
            self._by_response.get(response.id) if isinstance(response.id, str) else None
        )
        if turn is None:
            return
        status = response.status if isinstance(response.status, str) else None
        turn.status = status
        turn.response_done = now
        if turn.interrupted and turn.interruption_settle is None and not turn.sideband:
            assert turn.interrupted_at is not None
            turn.interruption_settle = now - turn.interrupted_at
        outputs = response.output if isinstance(response.output, tuple) else ()
        calls = any(isinstance(item, im.FunctionCallItem) for item in outputs)
        if calls and status == "completed" and not turn.interrupted:
            turn.awaiting_follow_up = True
            for item in outputs:
                if isinstance(item, im.FunctionCallItem) and isinstance(
                    item.call_id, str
                ):
                    turn.calls.setdefault(item.call_id, now)
            return
        if turn.interrupted and turn.sideband and turn.interruption_settle is None:
            return  # the cleared buffer settles it
        self._close(turn, now)


_HANDLERS: Final[dict[type, Callable[[MetricsTracker, float, ReceivedEvent], None]]] = {
    sev.InputAudioBufferSpeechStarted: MetricsTracker._speech_started,
    sev.InputAudioBufferSpeechStopped: MetricsTracker._speech_stopped,
    sev.InputAudioBufferCommitted: MetricsTracker._committed,
    sev.ResponseCreated: MetricsTracker._response_created,
    sev.ResponseOutputAudioTranscriptDelta: MetricsTracker._transcript_delta,
    sev.ResponseOutputTextDelta: MetricsTracker._transcript_delta,
    sev.OutputAudioBufferStarted: MetricsTracker._buffer_started,
    sev.OutputAudioBufferStopped: MetricsTracker._buffer_stopped,
    sev.OutputAudioBufferCleared: MetricsTracker._buffer_stopped,
    sev.ResponseFunctionCallArgumentsDone: MetricsTracker._call_done,
    sev.ResponseDone: MetricsTracker._response_done,
}
