"""The input audio of one simulated session: appends, voice activity, commits.

`AudioTurns` handles the ``input_audio_buffer.*`` events, turns what the
voice activity detector finds into ``speech_started``/``speech_stopped``
(committing the turn, cancelling the response it interrupts and asking
`Responses` for the next; on a call, cutting the call's audio where the
caller stopped hearing it, see `call_media`), transcribes committed audio
when the session says so, and keeps the ``idle_timeout_ms`` timer of
``server_vad``. Its audio comes from ``input_audio_buffer.append`` or, on a
call, from the caller (`AudioTurns.feed`).
"""

from __future__ import annotations

from typing import Any, Final

from ..._audio.b64 import decode_audio
from ..._core.client_events import InputAudioBufferAppend
from ..._core.item_models import InputAudio, MessageItem
from ..._core.response_models import (
    LogProb,
    TranscriptTokenDetails,
    TranscriptTokenUsage,
)
from ..._core.sentinel import UNSET
from ..._core.server_events import (
    ConversationItemAdded,
    ConversationItemDone,
    ConversationItemInputAudioTranscriptionCompleted,
    ConversationItemInputAudioTranscriptionDelta,
    InputAudioBufferCleared,
    InputAudioBufferCommitted,
    InputAudioBufferSpeechStarted,
    InputAudioBufferSpeechStopped,
    InputAudioBufferTimeoutTriggered,
)
from .api_errors import ApiError
from .call_media import cut_call_audio
from .conversation import StoredItem, added_item
from .outputs import CancelResponse, Output
from .rendering import split_words
from .response_run import ResponseRun
from .responses import Responses
from .session_config import turn_detection
from .state import SessionState
from .steps import Emit
from .vad import SpeechStarted

#: The largest ``input_audio_buffer.append`` payload, decoded (15 MiB).
MAX_APPEND_BYTES: Final = 15 * 2**20


class AudioTurns:
    """The input audio of one session (see the module docstring).

    Args:
        state: The session's shared state.
        responses: The session's responses, which a turn interrupts or asks for.

    Attributes:
        idle_deadline: When ``idle_timeout_ms`` runs out (trio time), or None.
    """

    def __init__(self, state: SessionState, responses: Responses) -> None:
        self._state = state
        self._responses = responses
        self._speech_item: str | None = None
        self._speech_start_ms = 0
        self.idle_deadline: float | None = None

    def append(self, event: InputAudioBufferAppend, now: float) -> list[Output]:
        """Handle ``input_audio_buffer.append``."""
        try:
            audio = decode_audio(event.audio)
        except ValueError:
            raise ApiError(
                "Invalid 'audio'. Expected base64-encoded audio bytes.",
                code="invalid_value",
                param="audio",
            ) from None
        if len(audio) > MAX_APPEND_BYTES:
            raise ApiError(
                f"Invalid 'audio': {len(audio)} bytes of audio; an append may carry at "
                f"most {MAX_APPEND_BYTES} bytes (15 MiB).",
                code="invalid_value",
                param="audio",
            )
        return self.feed(audio, now)

    def feed(self, audio: bytes, now: float) -> list[Output]:
        """Add input audio (in the input format), appended or from a call's caller."""
        buffer = self._state.buffer
        outputs: list[Output] = []
        for vad_event in buffer.append(audio):
            if isinstance(vad_event, SpeechStarted):
                outputs += self._speech_started(
                    max(vad_event.audio_start_ms, round(buffer.start_ms)), now
                )
            else:
                outputs += self._speech_stopped(vad_event.audio_end_ms)
        return outputs

    def clear(self) -> list[Output]:
        """Handle ``input_audio_buffer.clear``."""
        self._state.buffer.clear()
        self._speech_item = None
        return [Emit(InputAudioBufferCleared(event_id=self._state.ids.event()))]

    def _speech_started(self, audio_start_ms: int, now: float) -> list[Output]:
        state = self._state
        self.idle_deadline = None
        self._speech_item = state.ids.new("item_")
        self._speech_start_ms = audio_start_ms
        outputs: list[Output] = [
            Emit(
                InputAudioBufferSpeechStarted(
                    event_id=state.ids.event(),
                    audio_start_ms=audio_start_ms,
                    item_id=self._speech_item,
                )
            )
        ]
        td = turn_detection(state.config) or {}
        active = self._responses.active
        interrupt = td.get("interrupt_response", True) and not state.is_transcription
        if active is not None and interrupt:
            outputs.append(CancelResponse(active, "turn_detected"))
        if state.sideband and interrupt:
            # On a call the server plays the audio: it cuts it where it was heard.
            played = self._responses.latest_played()
            outputs += cut_call_audio(state, played, now)
        return outputs

    def _speech_stopped(self, audio_end_ms: int) -> list[Output]:
        ids = self._state.ids
        item_id = self._speech_item or ids.new("item_")
        self._speech_item = None
        outputs: list[Output] = [
            Emit(
                InputAudioBufferSpeechStopped(
                    event_id=ids.event(),
                    audio_end_ms=audio_end_ms,
                    item_id=item_id,
                )
            )
        ]
        audio = self._state.buffer.take(
            self._speech_start_ms, audio_end_ms, reset_vad=False
        )
        outputs += self._commit_audio(audio, item_id)
        outputs += self._auto_response()
        return outputs

    def _auto_response(self) -> list[Output]:
        td = turn_detection(self._state.config) or {}
        if (
            self._state.is_transcription
            or not td.get("create_response", True)
            or self._responses.active is not None
        ):
            return []
        return self._responses.create(UNSET)

    # --- the idle timeout --------------------------------------------------------------

    def response_finished(self, run: ResponseRun, now: float) -> None:
        """A run has ended: with ``idle_timeout_ms``, start waiting for the user."""
        td = turn_detection(self._state.config)
        if (
            run.in_conversation
            and td is not None
            and td.get("type") == "server_vad"
            and isinstance(td.get("idle_timeout_ms"), int)
        ):
            sent = run.state
            playback_end = max(now, (sent.first_audio_at or now) + sent.audio_ms / 1000)
            self.idle_deadline = playback_end + td["idle_timeout_ms"] / 1000

    def on_timer(self, now: float) -> list[Output]:
        """Fire the idle timeout if it is due (and the user is not speaking)."""
        if self.idle_deadline is None or now < self.idle_deadline:
            return []
        self.idle_deadline = None
        if self._state.buffer.in_speech or self._responses.active is not None:
            return []
        return self._idle_timeout()

    def _idle_timeout(self) -> list[Output]:
        """``idle_timeout_ms`` elapsed: commit the (silent) buffer and answer."""
        ids, buffer = self._state.ids, self._state.buffer
        item_id = ids.new("item_")
        start, end = round(buffer.start_ms), round(buffer.total_ms)
        outputs: list[Output] = [
            Emit(
                InputAudioBufferTimeoutTriggered(
                    event_id=ids.event(),
                    audio_start_ms=start,
                    audio_end_ms=end,
                    item_id=item_id,
                )
            )
        ]
        outputs += self._commit_audio(buffer.take(), item_id, transcribe=False)
        return outputs + self._auto_response()

    # --- commits -----------------------------------------------------------------------

    def commit_buffer(self) -> list[Output]:
        """Handle ``input_audio_buffer.commit``."""
        buffer = self._state.buffer
        duration = buffer.duration_ms
        if duration < 100:
            raise ApiError(
                "Error committing input audio buffer: buffer too small. Expected at least "
                f"100ms of audio, but buffer only has {duration:.2f}ms of audio.",
                code="input_audio_buffer_commit_empty",
            )
        item_id = self._speech_item or self._state.ids.new("item_")
        self._speech_item = None
        return self._commit_audio(buffer.take(), item_id)

    def _commit_audio(
        self, audio: bytes, item_id: str, *, transcribe: bool = True
    ) -> list[Output]:
        """Turn committed audio into a user item (and transcribe it when configured)."""
        state = self._state
        ids = state.ids
        transcript = state.next_transcript() if transcribe else None
        record = MessageItem(
            id=item_id,
            object="realtime.item",
            status="completed",
            role="user",
            content=(InputAudio(transcript=None),),
        )
        stored = StoredItem(
            record=record,
            audio=audio,
            bytes_per_ms=state.buffer.bytes_per_ms,
            transcript=transcript,
        )
        previous = state.conversation.insert(stored)
        outputs: list[Output] = [
            Emit(
                InputAudioBufferCommitted(
                    event_id=ids.event(), item_id=item_id, previous_item_id=previous
                )
            ),
            Emit(
                ConversationItemAdded(
                    event_id=ids.event(),
                    item=added_item(record),
                    previous_item_id=previous,
                )
            ),
            Emit(
                ConversationItemDone(
                    event_id=ids.event(),
                    item=added_item(record),
                    previous_item_id=previous,
                )
            ),
        ]
        if transcribe and state.config.get("audio", {}).get("input", {}).get(
            "transcription"
        ):
            outputs += _transcription_events(
                state, item_id, transcript, stored.audio_ms
            )
        return outputs


def _transcription_events(
    state: SessionState, item_id: str, transcript: str | None, audio_ms: float
) -> list[Output]:
    """The ``input_audio_transcription`` deltas and completion of a committed turn."""
    ids = state.ids
    text = transcript or ""
    logprobs = "item.input_audio_transcription.logprobs" in (
        state.config.get("include") or ()
    )
    outputs: list[Output] = []
    for word in split_words(text):
        extra: dict[str, Any] = {}
        if logprobs:
            extra["logprobs"] = (
                LogProb(token=word, logprob=-0.0625, bytes=tuple(word.encode())),
            )
        outputs.append(
            Emit(
                ConversationItemInputAudioTranscriptionDelta(
                    event_id=ids.event(),
                    item_id=item_id,
                    content_index=0,
                    delta=word,
                    obfuscation=ids.obfuscation(word),
                    **extra,
                )
            )
        )
    audio_tokens = max(1, round(audio_ms / 50))
    text_tokens = (len(text) + 3) // 4
    usage = TranscriptTokenUsage(
        input_tokens=audio_tokens,
        output_tokens=text_tokens,
        total_tokens=audio_tokens + text_tokens,
        input_token_details=TranscriptTokenDetails(
            audio_tokens=audio_tokens, text_tokens=0
        ),
    )
    outputs.append(
        Emit(
            ConversationItemInputAudioTranscriptionCompleted(
                event_id=ids.event(),
                item_id=item_id,
                content_index=0,
                transcript=text,
                usage=usage,
            )
        )
    )
    return outputs
