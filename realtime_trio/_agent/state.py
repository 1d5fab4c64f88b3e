"""`ConversationState`: a sans-IO mirror of the server's conversation (no trio here).

Theory of operation
-------------------
Feed every server event to `ConversationState.apply`, in the order received;
the state updates itself and never raises for what the server sends. It
never sends anything and never waits: the trio layer (`open_conversation`)
decides what to do with what it holds, and so can you.

What it keeps:

* the items, by id, and the order of the conversation, which the server
  states with ``previous_item_id`` (``conversation.item.added``,
  ``.created``, ``.done`` and ``input_audio_buffer.committed``);
* per item: type, role, status, text, audio transcript, the bytes of output
  audio received (counted from the base64 length, never decoded unless
  ``keep_audio_bytes`` asks for the audio itself), the input transcription of
  user audio, and for calls the name, ``call_id``, arguments and output;
* the responses, by id, with status, status details and usage, and which
  of them are in progress;
* the usage totals, by token kind, and those of the input transcription;
* the MCP approval requests, pending and answered.

Events do not always arrive in the order a naive mirror expects, and each
case below is handled on purpose:

* A delta (audio, text, transcript, arguments) or a content part may name
  an item before ``response.output_item.added`` or ``conversation.item.added``
  made it known: the item is created then, as a placeholder filled in by the
  events that follow, and placed at the end of the conversation until an
  event with ``previous_item_id`` places it exactly.
* The transcription of user audio arrives asynchronously: before the
  item's ``conversation.item.added``, or long after the response that
  answered it is done, and across turns out of order. It is matched by
  ``item_id``, always.
* ``response.done`` may arrive late (after a ``response.cancel``, even after
  the next ``response.created``): responses are keyed by id, so a late one
  ends its own response and no other, and the active response is the latest
  in-progress one in the default conversation.
* A malformed ``response.done`` (an `events.InvalidEvent`) still ends its
  response, read by its id; one without a readable id ends the default
  conversation's active response, so that nothing waits for it forever.
* Out-of-band responses (``conversation: "none"``) have their items and
  usage kept, but their items are not part of the conversation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, final

from .._audio.formats import PCM16_24K, PCMA, PCMU, AudioFormat
from .._core import server_events as sev
from .._core.invalid import InvalidEvent, ReceivedEvent
from .._core.record import UnknownObject
from .._core.response_models import Response
from .._core.sentinel import UNSET
from .._core.session_models import AnySessionConfig, AudioPCMA, AudioPCMU
from .items import ItemBook, item_id, item_type
from .records import ItemState, ResponseState, TranscriptionTotals, UsageTotals

__all__ = ["ConversationState", "wire_format"]


def wire_format(fmt: object) -> AudioFormat | None:
    """The `AudioFormat` of a format record (``audio/pcm``, ``pcmu``, ``pcma``), if known."""
    if isinstance(fmt, AudioPCMU):
        return PCMU
    if isinstance(fmt, AudioPCMA):
        return PCMA
    if fmt is None or fmt is UNSET or isinstance(fmt, UnknownObject):
        return None
    return PCM16_24K


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


@final
class ConversationState:
    """A mirror of the server's conversation, fed with `apply` (see below).

    Feed it every server event, in the order received (`open_conversation`
    does); it updates itself, never raises for what the server sends, never
    sends and never waits. Read it at any time: `items` in the server's
    order, `responses`, `usage`, `transcript`. Events that arrive in an
    unexpected order are handled on purpose: deltas that name an item not
    announced yet, input transcripts that arrive late or out of order
    (matched by item id), a ``response.done`` that arrives late after a
    cancel (responses are keyed by id), and a malformed ``response.done``
    (which still ends its response).

    Args:
        session: The session as last reported, if the events that reported
            it will not be applied (`RealtimeConnection.session`): it gives
            the output audio format until ``session.created`` or ``.updated``.
        keep_audio_bytes: How many bytes of received output audio to keep,
            decoded, on the items (`ItemState.audio`). 0, the default, keeps
            none: durations are counted from the base64 length alone. When
            the budget is spent, the oldest item's audio goes first. An hour
            of PCM16 at 24 kHz is about 170 MB.

    Attributes:
        usage: The sum of every response's usage (`UsageTotals`).
        transcription_usage: The sum of the input transcription's usage.
        session: The session as the server last reported it.
        interrupt_response: Whether server VAD cancels a response when the
            user speaks (False when turn detection is off).
        output_audio_response_id: On a call, the response whose audio the
            server is playing (``output_audio_buffer.started`` until
            ``stopped`` or ``cleared``).
        responses_created: How many ``response.created`` events were applied.
        events_applied: How many events were applied.

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        *,
        session: AnySessionConfig | None = None,
        keep_audio_bytes: int = 0,
    ) -> None:
        if keep_audio_bytes < 0:
            raise ValueError("keep_audio_bytes must not be negative")
        #: The session as the server last reported it.
        self.session: AnySessionConfig | None = None
        #: Whether server VAD cancels a response when the user speaks
        #: (``interrupt_response``; False when turn detection is off).
        self.interrupt_response = True
        #: The response whose audio the server plays on a call
        #: (``output_audio_buffer.started`` until ``stopped`` or ``cleared``).
        self.output_audio_response_id: str | None = None
        #: The sum of every response's usage.
        self.usage = UsageTotals()
        #: The sum of the input transcription's usage.
        self.transcription_usage = TranscriptionTotals()
        #: Responses created so far (``response.created`` events).
        self.responses_created = 0
        #: Events applied so far.
        self.events_applied = 0
        self._responses: dict[str, ResponseState] = {}
        self._in_progress: dict[str, ResponseState] = {}
        self._book = book = ItemBook(self._responses, keep_audio_bytes)
        self._audio_delta = book.audio_delta
        self._handlers: dict[type[Any], Callable[[Any], None]] = {
            sev.SessionCreated: self._session,
            sev.SessionUpdated: self._session,
            sev.ConversationItemCreated: book.placed,
            sev.ConversationItemAdded: book.placed,
            sev.ConversationItemDone: book.placed,
            sev.ConversationItemRetrieved: self._item_retrieved,
            sev.ConversationItemTruncated: self._item_truncated,
            sev.ConversationItemDeleted: self._item_deleted,
            sev.ConversationItemInputAudioTranscriptionDelta: book.transcription_delta,
            sev.ConversationItemInputAudioTranscriptionCompleted: self._transcribed,
            sev.ConversationItemInputAudioTranscriptionFailed: book.transcription_failed,
            sev.InputAudioBufferCommitted: book.committed,
            sev.OutputAudioBufferStarted: self._output_started,
            sev.OutputAudioBufferStopped: self._output_ended,
            sev.OutputAudioBufferCleared: self._output_ended,
            sev.ResponseCreated: self._response_created,
            sev.ResponseDone: self._response_done,
            sev.ResponseOutputItemAdded: book.output_item,
            sev.ResponseOutputItemDone: book.output_item,
            sev.ResponseContentPartAdded: book.content_part,
            sev.ResponseContentPartDone: book.content_part,
            sev.ResponseOutputTextDelta: book.text_delta,
            sev.ResponseOutputTextDone: book.text_done,
            sev.ResponseOutputAudioTranscriptDelta: book.transcript_delta,
            sev.ResponseOutputAudioTranscriptDone: book.transcript_done,
            sev.ResponseFunctionCallArgumentsDelta: book.arguments_delta,
            sev.ResponseFunctionCallArgumentsDone: book.arguments_done,
            sev.ResponseMcpCallArgumentsDelta: book.mcp_arguments,
            sev.ResponseMcpCallArgumentsDone: book.mcp_arguments,
            sev.ResponseMcpCallInProgress: book.mcp_status,
            sev.ResponseMcpCallCompleted: book.mcp_status,
            sev.ResponseMcpCallFailed: book.mcp_status,
        }
        if session is not None:
            self._set_session(session)

    def __repr__(self) -> str:
        return (
            f"<ConversationState {len(self._book.order)} items, "
            f"{len(self._responses)} responses>"
        )

    # --- reading ------------------------------------------------------------------

    @property
    def keep_audio_bytes(self) -> int:
        """The budget of received audio kept on the items (0: none)."""
        return self._book.keep_audio_bytes

    @property
    def output_format(self) -> AudioFormat:
        """The session's output audio format (PCM16 24 kHz until told otherwise)."""
        return self._book.output_format

    @property
    def items(self) -> list[ItemState]:
        """The items of the conversation, in the server's order (a new list)."""
        items = self._book.items
        return [items[i] for i in self._book.order]

    def item(self, item_id: str) -> ItemState | None:
        """The item ``item_id`` (out-of-band and deleted ones included), or None."""
        return self._book.items.get(item_id)

    @property
    def items_added(self) -> int:
        """How many items entered the conversation (``conversation.item.added``)."""
        return self._book.added

    def call(self, call_id: str) -> ItemState | None:
        """The ``function_call`` item of ``call_id``, or None."""
        return self._book.calls.get(call_id)

    @property
    def responses(self) -> list[ResponseState]:
        """Every response, in the order they were created (a new list)."""
        return list(self._responses.values())

    def response(self, response_id: str) -> ResponseState | None:
        """The response ``response_id``, or None."""
        return self._responses.get(response_id)

    @property
    def active_response(self) -> ResponseState | None:
        """The response in progress in the default conversation, if any.

        There is at most one on the server; should the events say otherwise
        (a ``response.done`` still to come), the latest one created.
        """
        for response in reversed(self._in_progress.values()):
            if response.in_conversation:
                return response
        return None

    @property
    def responses_in_progress(self) -> list[ResponseState]:
        """Every response created and not yet done, out-of-band ones included."""
        return list(self._in_progress.values())

    @property
    def approval_requests(self) -> list[ItemState]:
        """The MCP approval requests not answered yet, in the order they came."""
        return [
            item
            for item in self._book.items.values()
            if item.type == "mcp_approval_request"
            and item.approved is None
            and not item.deleted
        ]

    def transcript(self) -> list[tuple[str, str]]:
        """The conversation as ``(role, text)`` lines, in order.

        One line per message with something to read: its text, else its
        audio transcript, else the transcription of the user's audio.
        Function calls and other items are left out (they are in `items`).
        """
        lines = []
        for item in self.items:
            if item.type == "message":
                text = item.spoken_text
                if text:
                    lines.append((item.role or "", text))
        return lines

    # --- applying ---------------------------------------------------------------

    def apply(self, event: ReceivedEvent) -> None:
        """Update the state with one received event (never raises for its content)."""
        self.events_applied += 1
        kind = type(event)
        if kind is sev.ResponseOutputAudioDelta:
            self._audio_delta(event)  # type: ignore[arg-type]  # the hot path
            return
        handler = self._handlers.get(kind)
        if handler is not None:
            handler(event)
        elif kind is InvalidEvent:
            self._invalid(event)  # type: ignore[arg-type]

    def _session(self, event: sev.SessionCreated | sev.SessionUpdated) -> None:
        self._set_session(event.session)

    def _set_session(self, session: AnySessionConfig) -> None:
        self.session = session
        audio = getattr(session, "audio", None)
        fmt = wire_format(getattr(getattr(audio, "output", None), "format", None))
        if fmt is not None:
            self._book.output_format = fmt
        turn = getattr(getattr(audio, "input", None), "turn_detection", UNSET)
        if turn is None:
            self.interrupt_response = False
        elif turn is not UNSET:
            # Absent means the server's default, which is to interrupt.
            self.interrupt_response = (
                getattr(turn, "interrupt_response", UNSET) is not False
            )

    def _item_retrieved(self, event: sev.ConversationItemRetrieved) -> None:
        key = item_id(event.item)
        item = self._book.items.get(key) if key else None
        if item is not None:
            self._book.fill(item, event.item)

    def _item_truncated(self, event: sev.ConversationItemTruncated) -> None:
        item = self._book.items.get(event.item_id)
        if item is not None:
            item.audio_end_ms = event.audio_end_ms

    def _item_deleted(self, event: sev.ConversationItemDeleted) -> None:
        self._book.delete(event.item_id)

    def _transcribed(
        self, event: sev.ConversationItemInputAudioTranscriptionCompleted
    ) -> None:
        self._book.transcription_completed(event)
        self.transcription_usage = self.transcription_usage.plus(event.usage)

    # --- responses --------------------------------------------------------------

    def _response_created(self, event: sev.ResponseCreated) -> None:
        record = event.response
        response_id = _str(record.id)
        if response_id is None:
            return
        self.responses_created += 1
        response = self._responses.get(response_id)
        if response is None:
            response = self._responses[response_id] = ResponseState(id=response_id)
        self._update_response(response, record)
        if not response.done:
            self._in_progress[response_id] = response

    def _update_response(self, response: ResponseState, record: Response) -> None:
        response.response = record
        status = _str(record.status)
        if status is not None:
            response.status = status
        response.in_conversation = isinstance(record.conversation_id, str)
        if isinstance(record.metadata, Mapping):
            response.metadata = record.metadata
        output = getattr(record.audio, "output", None)
        fmt = wire_format(getattr(output, "format", None))
        if fmt is not None:
            response.audio_format = fmt
        elif response.audio_format is None:
            response.audio_format = self._book.output_format

    def _response_done(self, event: sev.ResponseDone) -> None:
        record = event.response
        response_id = _str(record.id)
        if response_id is None:
            self._end_active()
            return
        response = self._responses.get(response_id)
        if response is None:
            response = self._responses[response_id] = ResponseState(id=response_id)
        first = not response.done
        self._update_response(response, record)
        details = record.status_details
        response.status_details = None if details is UNSET else details
        usage = None if record.usage is UNSET else record.usage
        response.usage = usage
        if first and usage is not None:
            self.usage = self.usage.plus(usage)
        book = self._book
        for output in record.output if isinstance(record.output, tuple) else ():
            key = item_id(output)
            if key is not None:
                book.fill(book.ensure(key, item_type(output), response_id), output)
        self._end(response)

    def _end(self, response: ResponseState) -> None:
        response.done = True
        self._in_progress.pop(response.id, None)
        if response.status == "in_progress":
            response.status = None

    def _end_active(self) -> None:
        active = self.active_response
        if active is not None:
            active.status = None
            self._end(active)

    # --- output audio buffer (calls) -------------------------------------------

    def _output_started(self, event: sev.OutputAudioBufferStarted) -> None:
        self.output_audio_response_id = event.response_id

    def _output_ended(
        self, event: sev.OutputAudioBufferStopped | sev.OutputAudioBufferCleared
    ) -> None:
        if not event.response_id or event.response_id == self.output_audio_response_id:
            self.output_audio_response_id = None

    # --- malformed events ---------------------------------------------------------

    def _invalid(self, event: InvalidEvent) -> None:
        """Apply what a malformed message says, as far as it can be read."""
        kind = event.type
        if kind == sev.ResponseDone.TYPE:
            if event.response_id is None:
                self._end_active()
                return
            response = self._responses.get(event.response_id)
            if response is not None and not response.done:
                response.status = _str(event.lookup("response", "status"))
                self._end(response)
        elif kind == sev.ResponseCreated.TYPE and event.response_id is not None:
            if event.response_id not in self._responses:
                self.responses_created += 1
                response = ResponseState(
                    id=event.response_id,
                    in_conversation=isinstance(
                        event.lookup("response", "conversation_id"), str
                    ),
                    audio_format=self._book.output_format,
                )
                self._responses[event.response_id] = response
                self._in_progress[event.response_id] = response
        elif kind == sev.ConversationItemDeleted.TYPE and event.item_id is not None:
            self._book.delete(event.item_id)
