"""The input-audio half of `SimSession`: appends, VAD turns, commits, transcription.

Split out of ``_sim_session.py`` to keep modules small; `AudioTurnsMixin` is
only meant to be mixed into `SimSession`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

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
    InputAudioBufferCommitted,
    InputAudioBufferSpeechStarted,
    InputAudioBufferSpeechStopped,
    InputAudioBufferTimeoutTriggered,
)
from .api_errors import ApiError
from .conversation import StoredItem, added_item
from .items import ItemsMixin
from .output import split_words
from .steps import CancelResponse, Emit, Output
from .vad import SpeechStarted

#: The largest ``input_audio_buffer.append`` payload, decoded (15 MiB).
MAX_APPEND_BYTES: Final = 15 * 2**20


class AudioTurnsMixin(ItemsMixin):
    """Input audio, voice activity and commits of `SimSession`."""

    _speech_item: str | None
    _speech_start_ms: int
    _idle_deadline: float | None

    if TYPE_CHECKING:

        def _turn_detection(self) -> Mapping[str, Any] | None: ...

    def _append(self, event: InputAudioBufferAppend) -> list[Output]:
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
        outputs: list[Output] = []
        for vad_event in self.buffer.append(audio):
            if isinstance(vad_event, SpeechStarted):
                outputs += self._speech_started(
                    max(vad_event.audio_start_ms, round(self.buffer.start_ms))
                )
            else:
                outputs += self._speech_stopped(vad_event.audio_end_ms)
        return outputs

    def _speech_started(self, audio_start_ms: int) -> list[Output]:
        self._idle_deadline = None
        self._speech_item = self._ids.new("item_")
        self._speech_start_ms = audio_start_ms
        outputs: list[Output] = [
            Emit(
                InputAudioBufferSpeechStarted(
                    event_id=self._ids.event(),
                    audio_start_ms=audio_start_ms,
                    item_id=self._speech_item,
                )
            )
        ]
        td = self._turn_detection() or {}
        if (
            self.active is not None
            and td.get("interrupt_response", True)
            and not self.is_transcription
        ):
            outputs.append(CancelResponse(self.active, "turn_detected"))
        return outputs

    def _speech_stopped(self, audio_end_ms: int) -> list[Output]:
        item_id = self._speech_item or self._ids.new("item_")
        self._speech_item = None
        outputs: list[Output] = [
            Emit(
                InputAudioBufferSpeechStopped(
                    event_id=self._ids.event(),
                    audio_end_ms=audio_end_ms,
                    item_id=item_id,
                )
            )
        ]
        audio = self.buffer.take(self._speech_start_ms, audio_end_ms, reset_vad=False)
        outputs += self.commit_audio(audio, item_id)
        outputs += self._auto_response()
        return outputs

    def _auto_response(self) -> list[Output]:
        td = self._turn_detection() or {}
        if (
            self.is_transcription
            or not td.get("create_response", True)
            or self.active is not None
        ):
            return []
        return self.create_response(UNSET, None)

    def idle_timeout(self) -> list[Output]:
        """``idle_timeout_ms`` elapsed: commit the (silent) buffer and answer."""

        item_id = self._ids.new("item_")
        start, end = round(self.buffer.start_ms), round(self.buffer.total_ms)
        outputs: list[Output] = [
            Emit(
                InputAudioBufferTimeoutTriggered(
                    event_id=self._ids.event(),
                    audio_start_ms=start,
                    audio_end_ms=end,
                    item_id=item_id,
                )
            )
        ]
        outputs += self.commit_audio(self.buffer.take(), item_id, transcribe=False)
        return outputs + self._auto_response()

    def commit_buffer(self) -> list[Output]:
        """Handle ``input_audio_buffer.commit``."""
        duration = self.buffer.duration_ms
        if duration < 100:
            raise ApiError(
                "Error committing input audio buffer: buffer too small. Expected at least "
                f"100ms of audio, but buffer only has {duration:.2f}ms of audio.",
                code="input_audio_buffer_commit_empty",
            )
        item_id = self._speech_item or self._ids.new("item_")
        self._speech_item = None
        return self.commit_audio(self.buffer.take(), item_id)

    def commit_audio(
        self, audio: bytes, item_id: str, *, transcribe: bool = True
    ) -> list[Output]:
        """Turn committed audio into a user item (and transcribe it when configured)."""
        ids = self._ids
        transcript = self.next_transcript() if transcribe else None
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
            bytes_per_ms=self.buffer.bytes_per_ms,
            transcript=transcript,
        )
        previous = self.conversation.insert(stored)
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
        if transcribe and self.session.get("audio", {}).get("input", {}).get(
            "transcription"
        ):
            outputs += self._transcription_events(item_id, transcript, stored.audio_ms)
        return outputs

    def _transcription_events(
        self, item_id: str, transcript: str | None, audio_ms: float
    ) -> list[Output]:
        text = transcript or ""
        logprobs = "item.input_audio_transcription.logprobs" in (
            self.session.get("include") or ()
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
                        event_id=self._ids.event(),
                        item_id=item_id,
                        content_index=0,
                        delta=word,
                        obfuscation=self._ids.obfuscation(word),
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
                    event_id=self._ids.event(),
                    item_id=item_id,
                    content_index=0,
                    transcript=text,
                    usage=usage,
                )
            )
        )
        return outputs

    # --- responses ---------------------------------------------------------------
