"""Server events, built short, for the sans-IO tests of the conversation layer."""

from __future__ import annotations

import base64
import itertools
from typing import Any

from realtime_trio import events
from realtime_trio.events import UNSET

_ids = itertools.count(1)

CONV = "conv_1"


def eid() -> str:
    """A fresh server event id."""
    return f"event_{next(_ids)}"


def b64(nbytes: int) -> str:
    """``nbytes`` of audio, base64 (never decoded by the state)."""
    return base64.b64encode(bytes(nbytes)).decode()


def user_text(item_id: str, text: str) -> events.MessageItem:
    return events.MessageItem(
        id=item_id,
        role="user",
        status="completed",
        content=(events.InputText(text=text),),
    )


def user_audio(item_id: str, transcript: str | None = None) -> events.MessageItem:
    return events.MessageItem(
        id=item_id,
        role="user",
        status="completed",
        content=(events.InputAudio(transcript=transcript),),
    )


def assistant(
    item_id: str, transcript: str = "", status: str = "in_progress"
) -> events.MessageItem:
    return events.MessageItem(
        id=item_id,
        role="assistant",
        status=status,
        content=(events.OutputAudio(transcript=transcript),)
        if transcript or status != "in_progress"
        else (),
    )


def added(item: Any, previous: Any = UNSET) -> events.ConversationItemAdded:
    return events.ConversationItemAdded(
        event_id=eid(), item=item, previous_item_id=previous
    )


def item_done(item: Any, previous: Any = UNSET) -> events.ConversationItemDone:
    return events.ConversationItemDone(
        event_id=eid(), item=item, previous_item_id=previous
    )


def response(
    response_id: str,
    status: str = "in_progress",
    *,
    conversation: str | None = CONV,
    usage: events.Usage | None = None,
    output: tuple[Any, ...] = (),
    reason: str | None = None,
    fmt: Any = UNSET,
) -> events.Response:
    return events.Response(
        id=response_id,
        object="realtime.response",
        status=status,
        status_details=(
            events.StatusDetails(type=status, reason=reason) if reason else None
        ),
        output=output,
        conversation_id=conversation,
        usage=usage,
        audio=events.ResponseAudio(output=events.ResponseAudioOutput(format=fmt))
        if fmt is not UNSET
        else UNSET,
    )


def created(response_id: str, **kwargs: Any) -> events.ResponseCreated:
    return events.ResponseCreated(
        event_id=eid(), response=response(response_id, **kwargs)
    )


def done(
    response_id: str, status: str = "completed", **kwargs: Any
) -> events.ResponseDone:
    return events.ResponseDone(
        event_id=eid(), response=response(response_id, status, **kwargs)
    )


def usage(input_tokens: int, output_tokens: int, **details: int) -> events.Usage:
    return events.Usage(
        total_tokens=input_tokens + output_tokens,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        input_token_details=events.InputTokenDetails(
            text_tokens=details.get("input_text", input_tokens),
            audio_tokens=details.get("input_audio", 0),
            cached_tokens=details.get("cached", 0),
        ),
        output_token_details=events.OutputTokenDetails(
            text_tokens=details.get("output_text", 0),
            audio_tokens=details.get("output_audio", output_tokens),
        ),
    )


def output_item_added(
    response_id: str, item: Any, index: int = 0
) -> events.ResponseOutputItemAdded:
    return events.ResponseOutputItemAdded(
        event_id=eid(), response_id=response_id, output_index=index, item=item
    )


def ids(response_id: str, item_id: str, index: int = 0) -> dict[str, Any]:
    return {
        "event_id": eid(),
        "response_id": response_id,
        "item_id": item_id,
        "output_index": index,
        "content_index": 0,
    }


def audio_delta(
    response_id: str, item_id: str, nbytes: int
) -> events.ResponseOutputAudioDelta:
    return events.ResponseOutputAudioDelta(
        delta=b64(nbytes), **ids(response_id, item_id)
    )


def transcript_delta(
    response_id: str, item_id: str, text: str
) -> events.ResponseOutputAudioTranscriptDelta:
    return events.ResponseOutputAudioTranscriptDelta(
        delta=text, **ids(response_id, item_id)
    )


def transcript_done(
    response_id: str, item_id: str, text: str
) -> events.ResponseOutputAudioTranscriptDone:
    return events.ResponseOutputAudioTranscriptDone(
        transcript=text, **ids(response_id, item_id)
    )


def transcription(
    item_id: str, text: str, *, tokens: int = 10
) -> events.ConversationItemInputAudioTranscriptionCompleted:
    return events.ConversationItemInputAudioTranscriptionCompleted(
        event_id=eid(),
        item_id=item_id,
        content_index=0,
        transcript=text,
        usage=events.TranscriptTokenUsage(
            input_tokens=tokens, output_tokens=2, total_tokens=tokens + 2
        ),
    )


def transcription_delta(
    item_id: str, text: str
) -> events.ConversationItemInputAudioTranscriptionDelta:
    return events.ConversationItemInputAudioTranscriptionDelta(
        event_id=eid(), item_id=item_id, content_index=0, delta=text
    )


def committed(item_id: str, previous: str | None) -> events.InputAudioBufferCommitted:
    return events.InputAudioBufferCommitted(
        event_id=eid(), item_id=item_id, previous_item_id=previous
    )
