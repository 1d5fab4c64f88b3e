"""Failure messages that read like the conversation (no trio here).

A failed expectation says what was expected, what came instead, the time
elapsed, the transcript so far, the last events received and where the
wire recording of the test is.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from .._agent.records import Interruption
from .._core.server_events import (
    ErrorEvent,
    ResponseDone,
    ResponseFunctionCallArgumentsDone,
    UnknownEvent,
)
from .errors import ExpectationFailed

if TYPE_CHECKING:
    from .log import Entry

__all__ = [
    "event_summary",
    "failure",
    "quote",
    "record_hint",
    "recording_hint",
    "replaying",
    "stale_recording",
]

#: How many of the last events a failure message lists.
LAST_EVENTS = 12
#: The longest text quoted in a message.
QUOTE_LIMIT = 200
#: Events too frequent to be worth listing.
_NOISE = frozenset(
    {
        "response.output_audio.delta",
        "response.output_audio_transcript.delta",
        "response.output_text.delta",
        "response.function_call_arguments.delta",
        "rate_limits.updated",
    }
)


#: How the runner in use records a test's wire session (see `recording_hint`).
_RECORD_HINT: ContextVar[str] = ContextVar(
    "realtime_trio_record_hint", default="--realtime-record DIR"
)


#: The recording a replay serves (see `replaying`).
_REPLAYING: ContextVar[str | None] = ContextVar("realtime_trio_replaying", default=None)


@contextmanager
def replaying(path: str) -> Iterator[None]:
    """Within the block, failure messages name ``path`` as the recording replayed."""
    token = _REPLAYING.set(path)
    try:
        yield
    finally:
        _REPLAYING.reset(token)


def stale_recording(mismatch: str) -> str:
    """What a replay that met something the recording does not have says."""
    return f"{mismatch}: record again with {record_hint()}"


def record_hint() -> str:
    """How to record a wire session, as the runner in use spells it.

    pytest's option (``--realtime-record DIR``) unless a runner said
    otherwise with `recording_hint`.
    """
    return _RECORD_HINT.get()


@contextmanager
def recording_hint(hint: str) -> Iterator[None]:
    """Within the block (and the trio tasks it starts), messages say ``hint``.

    ``realtime-trio run`` says ``--record DIR``.
    """
    token = _RECORD_HINT.set(hint)
    try:
        yield
    finally:
        _RECORD_HINT.reset(token)


def quote(text: str | None) -> str:
    """``text`` quoted for a message (shortened if long)."""
    if text is None:
        return "nothing"
    if len(text) > QUOTE_LIMIT:
        text = text[: QUOTE_LIMIT - 1] + "…"
    return repr(text)


def wire_type(event: Any) -> str:
    if isinstance(event, Interruption):
        return "(barge-in)"
    if isinstance(event, UnknownEvent):
        return event.type
    return str(getattr(type(event), "TYPE", type(event).__name__))


def event_summary(event: Any) -> str:
    """One line about an event: its type and what matters in it."""
    kind = wire_type(event)
    if isinstance(event, ResponseDone):
        return f"{kind} {event.response.id} {event.response.status}"
    if isinstance(event, ErrorEvent):
        error = event.error
        code = error.code if isinstance(error.code, str) else None
        return f"{kind} {code or error.type}: {quote(error.message)}"
    if isinstance(event, ResponseFunctionCallArgumentsDone):
        return f"{kind} {event.name}({event.arguments})"
    if isinstance(event, Interruption):
        return (
            f"{kind} played {event.played_ms:.0f} ms, "
            f"truncated at {event.audio_end_ms} ms"
        )
    return kind


def failure(
    *,
    expected: str,
    seen: str,
    elapsed: float,
    transcript: Sequence[tuple[str, str]],
    entries: Sequence[Entry],
    start: float,
    recording: str | None,
    ended: str | None = None,
) -> ExpectationFailed:
    """The `ExpectationFailed` of an expectation that was not met."""
    lines = [f"expected {expected}", f"     got {seen}"]
    lines.append(f"after {elapsed:.3f} s of conversation")
    if ended:
        lines.append(ended)
    lines.append("transcript so far:")
    if transcript:
        lines.extend(
            f"  {role or '?'}: {text if text == '(audio)' or role == 'tool' else quote(text)}"
            for role, text in transcript
        )
    else:
        lines.append("  (nothing said yet)")
    shown = [e for e in entries if wire_type(e.event) not in _NOISE][-LAST_EVENTS:]
    lines.append("last events received:")
    if shown:
        lines.extend(
            f"  {entry.t - start:8.3f} s  {event_summary(entry.event)}"
            for entry in shown
        )
    else:
        lines.append("  (none)")
    replayed = _REPLAYING.get()
    if recording is not None:
        lines.append(f"wire recording: {recording}")
        if replayed is not None:
            lines.append(f"replaying: {replayed}")
    elif replayed is not None:
        lines.append(
            f"wire recording: {replayed} (replayed; record again with {record_hint()})"
        )
    else:
        lines.append(f"wire recording: none (record it with {record_hint()})")
    return ExpectationFailed(
        "\n".join(lines),
        expected=expected,
        seen=seen,
        elapsed=elapsed,
        recording=recording,
    )
