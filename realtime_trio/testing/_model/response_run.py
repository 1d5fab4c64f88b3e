"""One simulated response: the event stream, its pacing, and cancellation (sans-IO).

Theory of operation
-------------------
`ResponseRun.steps` is a generator of `Emit` (send this server event),
`Sleep` (wait this long, on the trio clock) and connection faults. The trio
shell sends each `Emit` and, only once it was sent, calls
`ResponseRun.observe` with it, which records it in the run's
`ResponseState` (see `response_state`). Everything the run reports later
(``response.done``'s output, the items of the conversation, the tail of a
cancelled response) is built from the observed events only, so a response
cancelled at any point, even in the middle of sending an event, ends with a
consistent tail: `ResponseRun.cancel_tail` closes the open content parts
and items (``*.done`` events with what was sent so far, status
``incomplete``) and ends with ``response.done`` (``status: "cancelled"``).

The order of events is the real server's (protocol reference section 9):
``response.created``, ``rate_limits.updated``, then per output item
``response.output_item.added``, ``conversation.item.added``,
``response.content_part.added``, the deltas (transcript deltas just before
the audio delta they belong to), ``response.output_audio.done``,
``response.output_audio_transcript.done``, ``response.content_part.done``,
``response.output_item.done``, ``conversation.item.done``; finally
``response.done``. Out-of-band responses (``conversation: "none"``) send no
``conversation.item.*`` events and leave the conversation alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from ..._audio.b64 import encode_audio
from ..._core.item_models import (
    AudioPart,
    ConversationItem,
    FunctionCallItem,
    MessageItem,
    TextPart,
)
from ..._core.response_models import (
    ErrorDetail,
    RateLimit,
    Response,
    StatusDetails,
    StatusError,
)
from ..._core.server_events import (
    ConversationItemAdded,
    ConversationItemDone,
    ErrorEvent,
    OutputAudioBufferStarted,
    OutputAudioBufferStopped,
    RateLimitsUpdated,
    ResponseContentPartAdded,
    ResponseContentPartDone,
    ResponseCreated,
    ResponseDone,
    ResponseFunctionCallArgumentsDelta,
    ResponseFunctionCallArgumentsDone,
    ResponseOutputAudioDelta,
    ResponseOutputAudioDone,
    ResponseOutputAudioTranscriptDelta,
    ResponseOutputAudioTranscriptDone,
    ResponseOutputItemAdded,
    ResponseOutputItemDone,
    ResponseOutputTextDelta,
    ResponseOutputTextDone,
    ServerEvent,
    UnknownEvent,
)
from .conversation import Conversation, added_item
from .ids import IdFactory
from .rendering import ResponseSettings, render_audio, split_words
from .response_state import ResponseState
from .scenario import CallTool, Delay, Fail, Say, Step
from .steps import Emit, RunStep, Sleep


class ResponseRun:
    """The events of one response, and what has been sent of them.

    Args:
        response_id: The ``resp_...`` id.
        settings: The effective settings of this response.
        plan: What the model does.
        ids: Where event and item ids come from.
        conversation: The default conversation, or None for an out-of-band
            response.
        input_tokens: The usage this response reports for its input.
        load_wav: Reads the WAV file of a `Say` with ``audio_file``.

    Attributes:
        state: What has been sent of this response.
    """

    def __init__(
        self,
        *,
        response_id: str,
        settings: ResponseSettings,
        plan: tuple[Step, ...],
        ids: IdFactory,
        conversation: Conversation | None,
        input_tokens: int,
        load_wav: Callable[[str], bytes],
    ) -> None:
        self.id = response_id
        self.settings = settings
        self.plan = plan
        self.conversation = conversation
        self.state = ResponseState(
            id=response_id,
            settings=settings,
            ids=ids,
            conversation=conversation,
            input_tokens=input_tokens,
        )
        self._ids = ids
        self._load_wav = load_wav
        self._failure: tuple[str, str | None] | None = None
        self._incomplete = False

    @property
    def in_conversation(self) -> bool:
        """Whether this response writes to the default conversation."""
        return self.conversation is not None

    def _response(self, status: str, details: StatusDetails | None) -> Response:
        return self.state.response(status, details)

    # --- the plan --------------------------------------------------------------

    def steps(self) -> Iterator[RunStep]:
        """Yield what to send and when (see the module docstring)."""
        ids = self._ids
        yield Emit(
            ResponseCreated(
                event_id=ids.event(), response=self._response("in_progress", None)
            )
        )
        yield Emit(_rate_limits_event(ids.event()))
        index = 0
        for step in self.plan:
            if isinstance(step, Say):
                yield from self._say(step, index)
                index += 1
            elif isinstance(step, CallTool):
                yield from self._call(step, index)
                index += 1
            elif isinstance(step, Fail):
                self._failure = (step.type, step.code)
                detail = ErrorDetail(
                    type=step.type,
                    code=step.code,
                    message=step.message,
                    param=None,
                    event_id=None,
                )
                yield Emit(ErrorEvent(event_id=ids.event(), error=detail))
                break
            elif isinstance(step, Delay):
                yield Sleep(step.seconds)
            else:
                yield step
        yield Emit(ResponseDone(event_id=ids.event(), response=self._final_response()))
        if self.state.playing:
            yield Emit(
                OutputAudioBufferStopped(event_id=ids.event(), response_id=self.id)
            )

    def _final_response(self) -> Response:
        if self._failure is not None:
            error_type, code = self._failure
            details = StatusDetails(
                type="failed", error=StatusError(type=error_type, code=code)
            )
            return self._response("failed", details)
        if self._incomplete:
            details = StatusDetails(type="incomplete", reason="max_output_tokens")
            return self._response("incomplete", details)
        return self._response("completed", None)

    def _item_added(self, item: ConversationItem, index: int) -> Iterator[RunStep]:
        ids = self._ids
        yield Emit(
            ResponseOutputItemAdded(
                event_id=ids.event(), response_id=self.id, output_index=index, item=item
            )
        )
        if self.conversation is not None:
            # The output item was observed, so it is in the conversation now.
            previous = self.state.items[index].previous_id
            yield Emit(
                ConversationItemAdded(
                    event_id=ids.event(),
                    item=added_item(item),
                    previous_item_id=previous,
                )
            )

    def _item_done(self, index: int) -> Iterator[RunStep]:
        ids = self._ids
        state = self.state.items[index]
        item = state.record(status="completed")
        yield Emit(
            ResponseOutputItemDone(
                event_id=ids.event(), response_id=self.id, output_index=index, item=item
            )
        )
        if self.conversation is not None:
            yield Emit(
                ConversationItemDone(
                    event_id=ids.event(),
                    item=added_item(item),
                    previous_item_id=state.previous_id,
                )
            )

    def _limit_text(self, text: str) -> str:
        limit = self.settings.max_output_tokens
        if limit is not None and len(text) > 4 * limit:
            self._incomplete = True
            return text[: 4 * limit]
        return text

    def _say(self, step: Say, index: int) -> Iterator[RunStep]:
        ids = self._ids
        settings = self.settings
        text = self._limit_text(step.text)
        item_id = ids.new("item_")
        added = MessageItem(
            id=item_id,
            object="realtime.item",
            status="in_progress",
            role="assistant",
            content=(),
        )
        yield from self._item_added(added, index)
        common: dict[str, Any] = {
            "response_id": self.id,
            "item_id": item_id,
            "output_index": index,
            "content_index": 0,
        }
        words = split_words(text)
        if not settings.audio:
            yield Emit(
                ResponseContentPartAdded(
                    event_id=ids.event(), part=TextPart(text=""), **common
                )
            )
            for word in words:
                yield Emit(
                    ResponseOutputTextDelta(event_id=ids.event(), delta=word, **common)
                )
                if settings.realtime:
                    yield Sleep(settings.word_seconds)
            yield Emit(
                ResponseOutputTextDone(event_id=ids.event(), text=text, **common)
            )
            yield Emit(
                ResponseContentPartDone(
                    event_id=ids.event(), part=TextPart(text=text), **common
                )
            )
            yield from self._item_done(index)
            return
        yield Emit(
            ResponseContentPartAdded(
                event_id=ids.event(), part=AudioPart(transcript=""), **common
            )
        )
        if settings.sideband and not self.state.playing:
            # The call's output buffer starts playing once audio is on its way.
            self.state.playing = True
            yield Emit(
                OutputAudioBufferStarted(event_id=ids.event(), response_id=self.id)
            )
        wav = None if step.audio_file is None else self._load_wav(step.audio_file)
        audio = render_audio(text, settings, wav=wav)
        if settings.time_to_first_audio > 0:
            yield Sleep(settings.time_to_first_audio)
        word_starts = audio.word_starts_ms(words)
        next_word = 0
        for n, (chunk, end_ms) in enumerate(audio.chunks()):
            while next_word < len(words) and word_starts[next_word] < end_ms:
                yield Emit(
                    ResponseOutputAudioTranscriptDelta(
                        event_id=ids.event(),
                        delta=words[next_word],
                        obfuscation=ids.obfuscation(words[next_word]),
                        **common,
                    )
                )
                next_word += 1
            if n and settings.realtime:
                yield Sleep(settings.chunk_ms / 1000)
            yield Emit(
                ResponseOutputAudioDelta(
                    event_id=ids.event(), delta=encode_audio(chunk), **common
                )
            )
        for word in words[next_word:]:
            yield Emit(
                ResponseOutputAudioTranscriptDelta(
                    event_id=ids.event(),
                    delta=word,
                    obfuscation=ids.obfuscation(word),
                    **common,
                )
            )
        yield Emit(ResponseOutputAudioDone(event_id=ids.event(), **common))
        yield Emit(
            ResponseOutputAudioTranscriptDone(
                event_id=ids.event(), transcript=text, **common
            )
        )
        yield Emit(
            ResponseContentPartDone(
                event_id=ids.event(), part=AudioPart(transcript=text), **common
            )
        )
        yield from self._item_done(index)

    def _call(self, step: CallTool, index: int) -> Iterator[RunStep]:
        ids = self._ids
        item_id = ids.new("item_")
        call_id = step.call_id or ids.new("call_")[:21]
        added = FunctionCallItem(
            id=item_id,
            object="realtime.item",
            status="in_progress",
            name=step.name,
            call_id=call_id,
            arguments="",
        )
        yield from self._item_added(added, index)
        arguments = step.arguments_json
        common: dict[str, Any] = {
            "response_id": self.id,
            "item_id": item_id,
            "output_index": index,
            "call_id": call_id,
        }
        for start in range(0, len(arguments), 16):
            yield Emit(
                ResponseFunctionCallArgumentsDelta(
                    event_id=ids.event(), delta=arguments[start : start + 16], **common
                )
            )
            if self.settings.realtime:
                yield Sleep(self.settings.word_seconds)
        yield Emit(
            ResponseFunctionCallArgumentsDone(
                event_id=ids.event(), name=step.name, arguments=arguments, **common
            )
        )
        yield from self._item_done(index)

    # --- what was sent -------------------------------------------------------------

    def observe(
        self, event: ServerEvent | UnknownEvent, now: float | None = None
    ) -> None:
        """Record that ``event`` (from `steps` or `cancel_tail`) was sent at ``now``."""
        self.state.observe(event, now)

    def cancel_tail(self, reason: str) -> list[ServerEvent]:
        """Return the events that end this response as cancelled (given what was sent)."""
        return self.state.cancel_tail(reason)


def _rate_limits_event(event_id: str) -> RateLimitsUpdated:
    """A deterministic ``rate_limits.updated``."""
    return RateLimitsUpdated(
        event_id=event_id,
        rate_limits=(
            RateLimit(name="requests", limit=5000, remaining=4999, reset_seconds=0.012),
            RateLimit(
                name="tokens", limit=800000, remaining=799000, reset_seconds=0.075
            ),
        ),
    )
