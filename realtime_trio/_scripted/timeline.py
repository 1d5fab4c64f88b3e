"""Expectations on the audio timeline and on the end of the connection (trio).

`TimelineExpectations` adds to `TalkBase`: where a barge-in truncated the
answer (never past what was played), when the answer started sounding, and
how the connection ended.
"""

from __future__ import annotations

import trio

from .._agent.records import Interruption
from .._client.exceptions import ConnectionBroken
from .._core.server_events import ConversationItemTruncated, ResponseOutputAudioDelta
from .errors import ScriptedError
from .expect import TalkBase
from .records import ClosedRecord

__all__ = ["TimelineExpectations"]


class TimelineExpectations(TalkBase):
    """The expectations on the audio timeline and the connection's end."""

    async def expect_truncated(self, *, within: float | None = None) -> Interruption:
        """Wait for this turn's barge-in to truncate the answer, and check where.

        Met when the assistant's item is truncated at or before the played
        position: ``audio_end_ms`` never past what was played into the
        test's speaker. Returns the `Interruption` the conversation layer made.

        On a SIP talk the call's server truncates the item by itself when the
        caller talks over the assistant, never past what the call played to
        the caller; the `Interruption` returned describes that truncation.
        """
        wanted = "the answer truncated at or before the played position"
        if self._tracker is None:
            return await self._expect_call_truncated(wanted, within)
        used = self._used["truncated"]

        def find() -> Interruption | None:
            interruption = next(
                (e for _, e in self._since_turn() if isinstance(e, Interruption)), None
            )
            if interruption is None or interruption in used:
                return None
            truncated = [
                e
                for _, e in self._since_turn()
                if isinstance(e, ConversationItemTruncated)
            ]
            end = interruption.audio_end_ms
            if end is None:
                raise self._fail(wanted, "a barge-in that truncated nothing")
            if not truncated:
                return None
            used.add(interruption)
            if end > interruption.played_ms + 1e-6 or truncated[0].audio_end_ms > end:
                raise self._fail(
                    wanted,
                    f"truncated at {truncated[0].audio_end_ms} ms with "
                    f"{interruption.played_ms:.1f} ms played",
                )
            return interruption

        return await self._wait_for(find, within, wanted, lambda: "no truncation")

    async def _expect_call_truncated(
        self, wanted: str, within: float | None
    ) -> Interruption:
        """`expect_truncated` on a SIP talk (the server truncates)."""
        sim, call_id = self._sim, self._call_id
        if sim is None or call_id is None:
            raise ScriptedError("expect_truncated needs a talk that plays the answer")
        used = self._used["truncated"]

        def find() -> Interruption | None:
            for _, event in self._since_turn():
                if not isinstance(event, ConversationItemTruncated) or event in used:
                    continue
                item = self._state.item(event.item_id)
                response_id = item.response_id if item is not None else None
                heard = (
                    sim.caller_heard(call_id, response_id)
                    if response_id is not None
                    else None
                )
                used.add(event)
                played_ms = heard[0] * 1000 if heard is not None else 0.0
                if heard is None or event.audio_end_ms > played_ms + 1e-6:
                    raise self._fail(
                        wanted,
                        f"truncated at {event.audio_end_ms} ms with "
                        f"{played_ms:.1f} ms played to the caller",
                    )
                return Interruption(
                    reason="speech_started",
                    response_id=response_id,
                    item_id=event.item_id,
                    content_index=event.content_index,
                    played_ms=played_ms,
                    audio_end_ms=event.audio_end_ms,
                )
            return None

        return await self._wait_for(find, within, wanted, lambda: "no truncation")

    async def expect_first_audio(self, *, within: float | None = None) -> float:
        """Wait until the answer of this turn starts sounding; return the latency.

        The latency is seconds from the end of the user's input to the first
        non-silent audio of the answer played into the test's speaker (also
        `TurnRecord.time_to_first_audio`). On a SIP talk: to the first audio
        the call played to the caller (its first delta, seen within 10 ms).
        """
        if not self.turns:
            raise ScriptedError("expect_first_audio needs a turn with played audio")
        turn = self.turns[-1]

        def find() -> float | None:
            end = (
                turn.user_audio_end
                if turn.user_audio_end is not None
                else turn.started_at
            )
            first = self._first_audio_after(end)
            if first is None:
                return None
            turn.first_audio_at = first
            return first - end

        return await self._wait_for(
            find, within, "the answer's first audible audio", lambda: "silence"
        )

    def _first_audio_after(self, t: float) -> float | None:
        """When the answer's first audible audio at or after ``t`` started playing."""
        if self._speaker is not None:
            return self._speaker.first_sound_after(t)
        # A SIP talk: the call plays the audio to the caller as it comes.
        return next(
            (
                e.t
                for e in self._log.entries
                if e.t >= t and isinstance(e.event, ResponseOutputAudioDelta)
            ),
            None,
        )

    async def expect_closed(self, *, within: float | None = None) -> ClosedRecord:
        """Wait until the connection ends (dropped or closed); return how it ended."""

        def find() -> ClosedRecord | None:
            if not self._log.ended:
                return None
            error = self._log.error
            reason = getattr(error, "close_reason", None)
            if reason is None and self._conn is not None:
                reason = self._conn.close_reason
            return ClosedRecord(
                broken=isinstance(error, ConnectionBroken),
                code=getattr(reason, "code", None),
                reason=getattr(reason, "reason", "") or "",
                closed_by=getattr(error or reason, "closed_by", None),
                error=error,
            )

        wanted = "the connection to end"
        limit = self._within if within is None else within
        deadline = trio.current_time() + limit
        while not self._log.ended and trio.current_time() < deadline:
            await self._log.wait(deadline)
        record = find()
        if record is None:
            raise self._fail(wanted, f"it still open after {limit:g} s")
        await trio.lowlevel.checkpoint()
        return record
