"""The decisions of the conversation layer: interruptions and tool calls (no trio here).

The trio layer (``pump.py``, ``conversation.py``) asks these functions what
to send and sends it; nothing here sends, waits or reads a clock.

Interruptions
-------------
When the user talks over the assistant (``input_audio_buffer.speech_started``
while it is busy) or the application calls `RealtimeConversation.interrupt`,
`plan_interruption` says what to send, in the documented order (the same as
`realtime_trio.calls.interrupt_sideband`):

1. ``response.cancel``: only if a response is in progress in the default
   conversation, no cancel was sent for it already, and the server will not
   cancel it itself. With server VAD and ``interrupt_response`` on, the
   server cancels at speech start; a second cancel would only provoke
   ``response_cancel_not_active``.
2. ``conversation.item.truncate``: at the played position (`playback.Cut`),
   only if something was played, something received was not (or its
   response is still producing audio), and the item is in the conversation.
   On a call the server truncates by itself at a barge-in with
   ``interrupt_response`` on.
3. ``output_audio_buffer.clear``: only on a sideband (``call_id=``), where
   the server plays the audio; not at a barge-in the server handles itself.

Tool calls
----------
`CallBook` follows the function calls the layer runs, per response: a
response's calls are answered when every one has its output sent, and the
next response is asked for when the response is done (``completed``), all its
calls are answered, and every function call in it is one the layer runs (a
call of a function the layer does not know is the application's to answer,
and then so is the next response).
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from .playback import Cut


@attrs.frozen(kw_only=True)
class InterruptionPlan:
    """What to send to interrupt, in this order (see the module docstring).

    Attributes:
        cancel: The response to cancel, or None.
        truncate: The cut to truncate at, or None.
        clear: Whether to send ``output_audio_buffer.clear``.
    """

    cancel: str | None = None
    truncate: Cut | None = None
    clear: bool = False


def is_busy(
    *,
    response_in_progress: bool,
    unplayed_bytes: int,
    tools_running: int,
    server_playing: bool,
) -> bool:
    """Whether speech from the user now is a barge-in: the assistant is
    answering, its audio is still playing, or its tool calls are running."""
    return (
        response_in_progress
        or unplayed_bytes > 0
        or tools_running > 0
        or server_playing
    )


def plan_interruption(
    *,
    barge_in: bool,
    interrupt_response: bool,
    sideband: bool,
    active_response: str | None,
    cancel_sent: bool,
    cut: Cut | None,
    cut_in_conversation: bool,
    cut_response_done: bool,
) -> InterruptionPlan:
    """Decide what to send for one interruption.

    Args:
        barge_in: It is a barge-in (``speech_started``), not an explicit
            `RealtimeConversation.interrupt`.
        interrupt_response: Server VAD cancels responses at speech start.
        sideband: The connection is a call's sideband (the server plays the audio).
        active_response: The response in progress in the default conversation.
        cancel_sent: A ``response.cancel`` was already sent for it.
        cut: Where the playback of the current item stopped, if any audio arrived.
        cut_in_conversation: The cut item is in the conversation (not out of band).
        cut_response_done: The cut item's response is done (no more audio comes).
    """
    server_handles = barge_in and interrupt_response
    cancel = (
        active_response
        if active_response is not None and not cancel_sent and not server_handles
        else None
    )
    truncate = None
    if (
        cut is not None
        and cut_in_conversation
        and cut.played_bytes > 0
        and cut.audio_end_ms > 0
        and (cut.unheard or not cut_response_done)
        and not (sideband and server_handles)
    ):
        truncate = cut
    clear = sideband and not server_handles
    return InterruptionPlan(cancel=cancel, truncate=truncate, clear=clear)


@attrs.define
class _ResponseCalls:
    started: set[str] = attrs.field(factory=set)
    answered: set[str] = attrs.field(factory=set)
    done: bool = False
    status: str | None = None
    foreign: bool = False
    followed_up: bool = False


class CallBook:
    """The function calls the layer runs, by response (see the module docstring)."""

    def __init__(self) -> None:
        self._responses: dict[str, _ResponseCalls] = {}
        self._response_of: dict[str, str] = {}

    def started(self, response_id: str, call_id: str) -> bool:
        """A call is starting; False if it was started before (run it once)."""
        if call_id in self._response_of:
            return False
        self._response_of[call_id] = response_id
        self._responses.setdefault(response_id, _ResponseCalls()).started.add(call_id)
        return True

    def answered(self, call_id: str) -> str | None:
        """The output of ``call_id`` was sent; return its response if that is now
        ready for the next response (see `ready`)."""
        response_id = self._response_of.get(call_id)
        if response_id is None:
            return None
        self._responses[response_id].answered.add(call_id)
        return response_id if self.ready(response_id) else None

    def abandoned(self, call_id: str) -> None:
        """A call was cancelled: its response will not be followed up."""
        response_id = self._response_of.get(call_id)
        if response_id is not None:
            self._responses[response_id].foreign = True

    def response_done(
        self, response_id: str, status: str | None, function_calls: Iterable[str]
    ) -> bool:
        """A response is done, with these function calls (call ids) in its output
        that the layer does not run; return whether it is ready now."""
        calls = self._responses.get(response_id)
        if calls is None:
            return False
        calls.done = True
        calls.status = status
        if any(True for _ in function_calls):
            calls.foreign = True
        return self.ready(response_id)

    def ready(self, response_id: str) -> bool:
        """Whether the next response may be asked for (once: this marks it)."""
        calls = self._responses.get(response_id)
        if (
            calls is None
            or calls.followed_up
            or not calls.done
            or calls.status != "completed"
            or calls.foreign
            or calls.answered != calls.started
        ):
            return False
        calls.followed_up = True
        return True
