"""Helpers for the tests that run the conversation layer against the simulator.

The connection runs in memory (``connect_stream=``), so the tests run under
``autojump_clock``; every wait is bounded on the trio clock. No tests here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import trio

import realtime_trio
from realtime_trio import RealtimeConversation, events
from realtime_trio.testing import RealtimeSimulator
from tests.helpers.client_sim import WAIT, connect

T = TypeVar("T")

TEXT_ONLY = events.SessionConfig(output_modalities=("text",))


def vad(**turn_detection: Any) -> events.SessionConfig:
    """A spoken session with ``server_vad`` set to these fields."""
    return events.SessionConfig(
        audio=events.AudioConfig(
            input=events.AudioInput(turn_detection=events.ServerVad(**turn_detection))
        )
    )


class Collector:
    """Iterates a conversation in a task and keeps what it got."""

    def __init__(self, convo: RealtimeConversation) -> None:
        self.convo = convo
        self.events: list[Any] = []
        self.error: BaseException | None = None
        self.ended = trio.Event()
        self._lot = trio.lowlevel.ParkingLot()

    async def run(self) -> None:
        try:
            async for event in self.convo:
                self.events.append(event)
                self._lot.unpark_all()
        except Exception as exc:
            self.error = exc
        finally:
            self.ended.set()
            self._lot.unpark_all()

    def of_type(self, kind: type[T]) -> list[T]:
        return [e for e in self.events if isinstance(e, kind)]

    async def until(
        self,
        kind: type[T],
        where: Callable[[T], bool] | None = None,
        *,
        start: int = 0,
    ) -> T:
        """Wait for the first ``kind`` (that ``where`` accepts) from index ``start`` on."""
        with trio.fail_after(WAIT):
            while True:
                for event in self.events[start:]:
                    if isinstance(event, kind) and (where is None or where(event)):
                        return event
                if self.ended.is_set():
                    raise AssertionError(f"the stream ended before a {kind.__name__}")
                await self._lot.park()


@asynccontextmanager
async def conversation(
    sim: RealtimeSimulator,
    nursery: trio.Nursery,
    *,
    session: events.SessionConfig | None = None,
    connect_options: dict[str, Any] | None = None,
    **options: Any,
) -> AsyncIterator[
    tuple[realtime_trio.RealtimeConnection, RealtimeConversation, Collector]
]:
    """A connection to ``sim``, a conversation over it, and a collector iterating it."""
    async with (
        connect(sim, nursery, session=session, **(connect_options or {})) as conn,
        realtime_trio.open_conversation(conn, **options) as convo,
    ):
        collector = Collector(convo)
        async with trio.open_nursery() as inner:
            inner.start_soon(collector.run)
            yield conn, convo, collector
            inner.cancel_scope.cancel()


def user_text(text: str) -> events.MessageItem:
    return events.MessageItem(role="user", content=(events.InputText(text=text),))


def client_types(sim: RealtimeSimulator, index: int = 0) -> list[str]:
    """The wire types of the client events a connection sent (appends aside)."""
    return [
        e.TYPE
        for e in sim.connections[index].client_events
        if not isinstance(e, events.InputAudioBufferAppend)
    ]


def client_events(sim: RealtimeSimulator, kind: type[T], index: int = 0) -> list[T]:
    return [e for e in sim.connections[index].client_events if isinstance(e, kind)]
