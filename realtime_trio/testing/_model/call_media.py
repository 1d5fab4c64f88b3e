"""The media of a simulated call: the caller's voice in, the assistant's audio out (sans-IO).

On a SIP call the caller's audio reaches the model directly, not through
the sideband: `CallerVoice` turns what the caller says (PCM16 at 24 kHz)
into the session's input format, and the session handles it as it handles
appended audio (server VAD, commits, transcription, responses).

The server plays the assistant's audio to the caller. The simulator plays
it in real time from a response's first audio delta: at time ``t`` the
caller has heard ``t - first_audio_at`` of it, at most the audio sent
(`heard_ms`), until a barge-in or ``output_audio_buffer.clear`` cuts it
(``output_audio_buffer.cleared``). When the caller talks over the assistant
(server VAD with ``interrupt_response``), the real API cancels the response,
clears the call's audio and truncates the item where the caller stopped
hearing it, by itself (`cut_call_audio`). The simulator reports that
truncation with ``conversation.item.truncated``; whether the real API sends
that event then is not documented.
"""

from __future__ import annotations

from ..._audio.g711 import pcm16_to_alaw, pcm16_to_ulaw
from ..._audio.resample import Resampler
from ..._core.client_events import ConversationItemTruncate
from ..._core.server_events import OutputAudioBufferCleared
from . import items
from .api_errors import ApiError
from .outputs import Deferred, Output
from .response_run import ResponseRun
from .response_state import ResponseState
from .state import SessionState
from .steps import Emit
from .voice import RATE

__all__ = ["CallerVoice", "audible_ms", "cut_call_audio", "heard_ms"]


class CallerVoice:
    """The caller's audio (PCM16 24 kHz mono), in the session's input format."""

    def __init__(self) -> None:
        self._resampler: Resampler | None = None

    def convert(self, pcm: bytes, format_type: str) -> bytes:
        """``pcm`` as ``audio/pcm`` (as is), ``audio/pcmu`` or ``audio/pcma`` (8 kHz)."""
        pcm = pcm[: len(pcm) // 2 * 2]
        if format_type == "audio/pcm":
            return pcm
        if self._resampler is None:
            self._resampler = Resampler(RATE, 8000)
        narrow = self._resampler.process(pcm)
        return (
            pcm16_to_ulaw(narrow)
            if format_type == "audio/pcmu"
            else pcm16_to_alaw(narrow)
        )


def heard_ms(state: ResponseState, now: float) -> float:
    """How much of a response's audio the caller has heard at ``now``, in ms."""
    if state.first_audio_at is None:
        return 0.0
    end = now if state.cut_at is None else min(now, state.cut_at)
    return max(0.0, min((end - state.first_audio_at) * 1000, state.audio_ms))


def audible_ms(state: ResponseState) -> float:
    """How much the caller hears of what was sent, once it has played (cut or not)."""
    if state.cut_at is not None:
        return heard_ms(state, state.cut_at)
    return state.audio_ms


def _truncate(state: SessionState, run: ResponseRun, end_ms: int) -> list[Output]:
    """Truncate the response's spoken item at ``end_ms`` (the transcript goes too)."""
    for item in run.state.items:
        stored = item.stored
        if item.part_kind != "audio" or stored is None:
            continue
        if not 0 < end_ms <= stored.audio_ms:
            return []
        event = ConversationItemTruncate(
            item_id=item.id, content_index=0, audio_end_ms=end_ms
        )
        try:
            return list(items.truncate_item(state, event))
        except ApiError:  # the item left the conversation meanwhile
            return []
    return []


def cut_call_audio(
    state: SessionState, played: ResponseRun | None, now: float
) -> list[Output]:
    """The caller talks over the assistant: cut the call's audio where it was heard.

    ``played`` is the latest response whose audio reached the call. A
    response still running is cancelled by the caller of this function,
    and its tail clears the call's audio: the truncation waits for that
    tail (`Deferred`). A response that finished arriving but is still
    playing is cleared here.
    """
    if played is None or played.state.first_audio_at is None:
        return []
    sent = played.state
    if not sent.done:
        # Its tail clears the call's audio: the caller heard it until then.
        return [Deferred(lambda: _truncate(state, played, _heard_end(sent, now)))]
    if heard_ms(sent, now) >= audible_ms(sent):
        return []  # it had finished playing
    sent.cut_at = now
    cleared = OutputAudioBufferCleared(event_id=state.ids.event(), response_id=sent.id)
    return [Emit(cleared), *_truncate(state, played, _heard_end(sent, now))]


def _heard_end(sent: ResponseState, now: float) -> int:
    """Where the caller stopped hearing a response's audio, in whole ms."""
    return int(heard_ms(sent, now if sent.cut_at is None else sent.cut_at))
