"""`ConversationMetrics`: a conversation's turn metrics, read and awaited (trio).

The measuring is sans-IO (``metrics_tracker.py``), fed by the pump with the
trio clock; this module gives the application the records, a way to wait
for each one, the aggregates, and the connection's own timings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, final

import trio

from .metrics import TurnMetrics
from .metrics_summary import MetricSummary, summarize_turns

if TYPE_CHECKING:
    from .engine import ConversationEngine

__all__ = ["ConversationMetrics"]


@final
class ConversationMetrics:
    """The turn metrics of one conversation (`RealtimeConversation.metrics`).

    A `TurnMetrics` is completed at the ``response.done`` that ends its turn
    (after the follow-ups of its tool calls); `turns` lists them, `next_turn`
    and ``async for turn in convo.metrics`` wait for each. When the
    connection ends, the turns still open are completed as censored.

    The end of the user's audio is measured on our own send clock: send the
    user's audio with `RealtimeConversation.send_audio`, or report audio
    sent another way with `audio_sent`. On a call's sideband there is no
    such clock (see `TurnMetrics`).
    """

    def __init__(self, engine: ConversationEngine) -> None:
        self._engine = engine
        self._tracker = engine.metrics
        self._taken = 0

    def __repr__(self) -> str:
        return (
            f"<ConversationMetrics of {self._engine!r}: {self.turns_completed} turns>"
        )

    @property
    def turns(self) -> list[TurnMetrics]:
        """The completed turns, oldest first (the last 10,000)."""
        return list(self._tracker.completed)

    @property
    def turns_completed(self) -> int:
        """How many turns were completed in all."""
        return self._tracker.turns_completed

    @property
    def silence_threshold_dbfs(self) -> float:
        """The level (RMS of a 10 ms window, dBFS) above which audio is audible; -50 by default."""
        return self._tracker.silence_threshold_dbfs

    @silence_threshold_dbfs.setter
    def silence_threshold_dbfs(self, value: float) -> None:
        self._tracker.silence_threshold_dbfs = float(value)

    @property
    def connect_seconds(self) -> float | None:
        """The connection's connect time, up to ``session.created`` (`ConnectionStatistics`)."""
        return self._engine.conn.statistics().connect_seconds

    @property
    def session_update_seconds(self) -> float | None:
        """The round trip of the connection's last ``session.update``."""
        return self._engine.conn.statistics().session_update_seconds

    def summary(self) -> dict[str, MetricSummary]:
        """The aggregates of `turns`, per stage (n, p50, p90, p99, max; see `MetricSummary`)."""
        return summarize_turns(self._tracker.completed)

    def audio_sent(self, pcm: bytes) -> None:
        """Note that ``pcm`` (in the connection's input format) was sent just now.

        For audio that does not go through `RealtimeConversation.send_audio`
        (an `AudioSender`, say). Report all of it, in order.
        """
        self._tracker.audio_sent(trio.current_time(), pcm)

    def censor_open(self) -> list[TurnMetrics]:
        """Complete the turns still open as censored (your own time-out ran out); return them."""
        closed = self._tracker.censor_open(trio.current_time())
        self._engine.changed.unpark_all()
        return closed

    async def next_turn(self) -> TurnMetrics:
        """Wait for the next completed turn not yet returned here, and return it.

        Turns are returned in order, each once (from the last 10,000 kept).
        This is a checkpoint.

        Raises:
            ConnectionClosed / ConnectionBroken: the conversation ended and
                every turn was returned.
        """
        await trio.lowlevel.checkpoint_if_cancelled()
        tracker = self._tracker
        parked = False
        while tracker.turns_completed <= self._taken:
            engine = self._engine
            engine.check()
            await engine.changed.park()
            parked = True
        if not parked:
            await trio.lowlevel.cancel_shielded_checkpoint()
        kept = tracker.completed
        waiting = tracker.turns_completed - self._taken
        if waiting > len(kept):  # the oldest ones were forgotten
            self._taken += waiting - len(kept)
            waiting = len(kept)
        self._taken += 1
        return kept[len(kept) - waiting]

    def __aiter__(self) -> ConversationMetrics:
        return self

    async def __anext__(self) -> TurnMetrics:
        try:
            return await self.next_turn()
        except Exception:
            if self._engine.ended is not None:
                raise StopAsyncIteration from None
            raise
