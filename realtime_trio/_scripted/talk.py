"""`Talk`: the user's side of a scripted conversation (trio).

A talk is opened by `Target.talk` (or the pytest fixture ``realtime``). The
user's turns (`Talk.say`, `send_text`, `send_audio`, `silence`, `dtmf`) go
out at real-time pace on the trio clock; the expectations (`TalkBase`) wait
for what comes back. With ``barge_in_after=seconds`` a turn starts once that
much of the assistant's answer in progress has been played into the test's
virtual speaker (a barge-in), so "played" means the same on every target.

On a SIP talk the talk is the caller of a simulated call: its voice goes
to the call's session as the call's media would
(`RealtimeSimulator.send_caller_audio`), and "played" is what the call
played to the caller (`RealtimeSimulator.caller_heard`).
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeAlias

import trio

from .._agent.records import ItemState, ResponseState
from .._client.exceptions import ConnectionBroken, ConnectionClosed
from .._core.item_models import FunctionCallOutputItem, InputText, MessageItem
from .._core.sentinel import UNSET
from .._core.server_events import ResponseCreated
from .errors import ScriptedError
from .records import ToolCallRecord, TurnRecord, output_text
from .timeline import TimelineExpectations
from .voice import espeak_speech, pcm_of, silence_pcm

__all__ = ["SipHandler", "Talk"]

#: A SIP call handler, ``async def handler(call: IncomingCall) -> None``.
SipHandler: TypeAlias = Callable[[Any], Awaitable[None]]

#: Audio goes out in pieces this long, at real-time pace, as from a microphone.
CHUNK_SECONDS = 0.02
#: Silence sent after an utterance, so that voice activity detection ends the turn.
TRAILING_SILENCE = 1.0
#: Seconds between the keys of `Talk.dtmf`.
DTMF_GAP = 0.1
#: How often a barge-in wait looks at the played position when nothing wakes it.
POLL = 0.05
_DTMF_KEYS = frozenset("0123456789*#ABCD")


class Talk(TimelineExpectations):
    """One scripted conversation: the user's turns, and expectations on the answers.

    Get one from ``async with target.talk(...) as talk:`` (or
    ``realtime.talk(...)`` in pytest). Every turn returns its `TurnRecord`;
    `turns` holds them all. Expectations look at what arrived since the
    current turn started (see `TalkBase` and `TimelineExpectations`).

    .. versionadded:: 0.1.0
    """

    _nursery: trio.Nursery | None = None
    _mic: trio.CancelScope | None = None
    _mic_done: trio.Event
    #: When the trailing silence sends its next chunk; set to stop it after that one.
    _mic_next: float = 0.0
    _mic_last: bool = False

    # --- turns ------------------------------------------------------------------------

    async def say(
        self, text: str, *, barge_in_after: float | None = None
    ) -> TurnRecord:
        """Speak ``text`` (then a second of silence, so that the turn ends).

        Against the simulator: in its voice, and the simulator hears exactly
        ``text`` (on a SIP talk, the caller says it on the call). Against a
        real endpoint: espeak-ng's voice, if it is installed; else
        `ScriptedError` (use `send_audio`).
        """
        turn = await self._begin("say", text, barge_in_after)
        if self._kind == "url":
            speech = await espeak_speech(text)
        else:
            from ..testing import synthesize_speech

            speech = synthesize_speech(text)
            if self._sim is not None:
                self._sim.hear(text, connection=self._sideband_index())
        await self._speak(turn, speech)
        return turn

    async def send_audio(
        self,
        audio: bytes | str | os.PathLike[str],
        *,
        barge_in_after: float | None = None,
    ) -> TurnRecord:
        """Send audio: a WAV file's path (any rate, mono or not), or PCM16 24 kHz bytes.

        A second of silence follows, so that voice activity detection ends the turn.
        """
        pcm = pcm_of(audio)
        turn = await self._begin("audio", None, barge_in_after)
        await self._speak(turn, pcm)
        return turn

    async def silence(
        self, seconds: float, *, barge_in_after: float | None = None
    ) -> TurnRecord:
        """Send ``seconds`` of silence (the user says nothing)."""
        if seconds < 0:
            raise ValueError(f"seconds must be >= 0, not {seconds!r}")
        turn = await self._begin("silence", None, barge_in_after)
        await self._stream(silence_pcm(seconds))
        turn.user_audio_end = trio.current_time()
        return turn

    async def send_text(
        self, text: str, *, barge_in_after: float | None = None
    ) -> TurnRecord:
        """Add an ``input_text`` user message and ask for a response.

        With ``barge_in_after`` the answer in progress is interrupted first
        (`RealtimeConversation.interrupt`: cancelled, and truncated where
        the playing stopped), as typing over it would.
        """
        convo = self._convo
        if convo is None or self._conn is None:
            raise ScriptedError(
                "send_text on a SIP talk: a phone caller cannot type; speak with "
                "say() or send_audio(), or press keys with dtmf()"
            )
        turn = await self._begin("text", text, barge_in_after)
        if barge_in_after is not None:
            self._log.add(await convo.interrupt())
        await self._acked(
            "the user's message",
            self._conn.create_item,
            MessageItem(role="user", content=(InputText(text=text),)),
        )
        turn.user_audio_end = trio.current_time()
        await convo.create_response()
        return turn

    async def dtmf(
        self, digits: str, *, barge_in_after: float | None = None
    ) -> TurnRecord:
        """Press keys on the simulated SIP call (``0``-``9``, ``*``, ``#``, ``A``-``D``).

        Only on a SIP talk (``talk(sip=True, handler=...)``): DTMF comes from
        the caller's phone.
        """
        sim, call_id = self._sim, self._call_id
        if sim is None or call_id is None:
            raise ScriptedError(
                "dtmf() needs a simulated SIP call: open the talk with "
                "talk(sip=True, handler=...) against the simulator; a real "
                "endpoint gets DTMF only from a caller's phone"
            )
        bad = sorted(set(digits) - _DTMF_KEYS)
        if not digits or bad:
            raise ValueError(f"not DTMF keys: {digits!r} (use 0-9, *, #, A-D)")
        turn = await self._begin("dtmf", digits, barge_in_after)
        for index, key in enumerate(digits):
            if index:
                await trio.sleep(DTMF_GAP)
            await sim.send_dtmf(call_id, key)
        turn.user_audio_end = trio.current_time()
        return turn

    # --- the machinery ------------------------------------------------------------------

    def _sideband_index(self) -> int | None:
        """The connection index of the call's sideband (None: not a SIP talk)."""
        sim, call_id = self._sim, self._call_id
        if sim is None or call_id is None:
            return None
        open_ = [
            r.index
            for r in sim.connections
            if r.call_id == call_id and not r.closed.is_set()
        ]
        return open_[-1] if open_ else None

    @contextlib.contextmanager
    def _audio_out(self) -> Iterator[Callable[[bytes], Awaitable[None]]]:
        """Where the user's audio goes: the connection, or the call's line."""
        if self._conn is not None:
            with self._conn.audio_sender() as sender:
                yield sender.send
            return
        sim, call_id = self._sim, self._call_id
        assert sim is not None and call_id is not None
        yield functools.partial(sim.send_caller_audio, call_id)

    async def _begin(
        self, kind: str, text: str | None, barge_in_after: float | None
    ) -> TurnRecord:
        interrupted = played = None
        if barge_in_after is not None:
            if not barge_in_after >= 0:
                raise ValueError(f"barge_in_after must be >= 0, not {barge_in_after!r}")
            interrupted, played = await self._wait_played(barge_in_after)
        await self._mic_off()
        self._refresh_turn()
        turn = TurnRecord(
            index=len(self.turns),
            kind=kind,
            text=text,
            barge_in_after=barge_in_after,
            interrupted_response_id=interrupted,
            played_at_barge_in=played,
            started_at=trio.current_time(),
        )
        self._turn_start = len(self._log.entries)
        self._interrupted = interrupted
        self.turns.append(turn)
        return turn

    def _refresh_turn(self) -> None:
        """Fill in the current turn's responses, first audio and end, as far as known."""
        if not self.turns:
            return
        turn = self.turns[-1]
        for entry in self._log.entries[self._turn_start :]:
            event = entry.event
            if isinstance(event, ResponseCreated) and isinstance(
                event.response.id, str
            ):
                response = self._state.response(event.response.id)
                if response is not None and response.id not in turn.response_ids:
                    turn.response_ids.append(response.id)
        done = [self._state.response(i) for i in turn.response_ids]
        if done and all(r is not None and r.done for r in done):
            ends = [
                e.t
                for e in self._log.entries[self._turn_start :]
                if getattr(type(e.event), "TYPE", None) == "response.done"
            ]
            turn.done_at = ends[-1] if ends else turn.done_at
        if turn.first_audio_at is None and turn.user_audio_end is not None:
            turn.first_audio_at = self._first_audio_after(turn.user_audio_end)

    async def _stream(self, pcm: bytes, *, mic: bool = False) -> None:
        chunk = round(CHUNK_SECONDS * 24_000) * 2
        next_time = trio.current_time()
        if mic:
            self._mic_next, self._mic_last = next_time, False
        with self._audio_out() as send:
            for start in range(0, len(pcm), chunk):
                await send(pcm[start : start + chunk])
                if mic and self._mic_last:
                    return
                next_time += CHUNK_SECONDS
                if mic:
                    self._mic_next = next_time
                await trio.sleep_until(next_time)

    async def _speak(self, turn: TurnRecord, pcm: bytes) -> None:
        """Send an utterance; the microphone goes on with silence until the next turn."""
        await self._stream(pcm)
        turn.user_audio_end = trio.current_time()
        if self._conn is not None and not self._has_vad():
            assert self._conn is not None and self._convo is not None
            await self._acked("the commit of the audio", self._conn.commit_audio)
            await self._convo.create_response()
        elif self._nursery is not None:
            self._mic_done = done = trio.Event()
            self._mic = scope = trio.CancelScope()
            self._nursery.start_soon(self._trailing_silence, scope, done)

    async def _trailing_silence(
        self, scope: trio.CancelScope, done: trio.Event
    ) -> None:
        try:
            # The connection may end meanwhile: the expectations say so.
            with contextlib.suppress(ConnectionClosed, ConnectionBroken), scope:
                await self._stream(silence_pcm(TRAILING_SILENCE), mic=True)
        finally:
            done.set()

    async def _mic_off(self) -> None:
        if self._mic is not None:
            # A chunk due now goes out first, whichever task trio runs first, so
            # the audio timeline (and so a barge-in) is the same on every run.
            if self._mic_next <= trio.current_time():
                self._mic_last = True
                with trio.move_on_after(CHUNK_SECONDS):
                    await self._mic_done.wait()
            self._mic.cancel()
            await self._mic_done.wait()
            self._mic = None

    def _has_vad(self) -> bool:
        session = self._state.session
        audio = getattr(session, "audio", None)
        detection = getattr(getattr(audio, "input", None), "turn_detection", UNSET)
        return detection is not None

    def _answer_in_progress(self, since: int) -> ResponseState | None:
        active = self._state.active_response
        if active is not None:
            return active
        latest = None
        for entry in self._log.entries[since:]:
            if isinstance(entry.event, ResponseCreated) and isinstance(
                entry.event.response.id, str
            ):
                found = self._state.response(entry.event.response.id)
                if found is not None and found.in_conversation:
                    latest = found
        return latest

    def _spoken_item(self, response: ResponseState | None) -> ItemState | None:
        if response is None:
            return None
        for item_id in reversed(response.output_item_ids):
            item = self._state.item(item_id)
            if item is not None and item.type == "message" and item.audio_bytes:
                return item
        return None

    def _played(self, response: ResponseState | None) -> tuple[float, bool]:
        """Seconds of an answer played, and whether some of what arrived is still to play."""
        if self._tracker is None:  # a SIP talk: the call plays it to the caller
            sim, call_id = self._sim, self._call_id
            assert sim is not None and call_id is not None
            heard = None if response is None else sim.caller_heard(call_id, response.id)
            return (0.0, False) if heard is None else (heard[0], heard[0] < heard[1])
        item = self._spoken_item(response)
        if item is None:
            return 0.0, False
        played = self._tracker.position_ms(item.id, item.audio_content_index) / 1000
        return played, self._tracker.unplayed_bytes > 0

    async def _wait_played(self, seconds: float) -> tuple[str | None, float]:
        """Wait until ``seconds`` of the answer in progress were played; return it and the position."""
        wanted = f"{seconds:g} s of the answer played, to barge in"
        limit = self._within + seconds
        deadline = trio.current_time() + limit
        since = self._turn_start
        while True:
            response = self._answer_in_progress(since)
            played, unplayed = self._played(response)
            if played >= seconds - 1e-9:
                return (response.id if response else None), played
            now = trio.current_time()
            if response is not None and response.done and not unplayed:
                raise self._fail(
                    wanted,
                    f"the answer {response.id} ended after {played:.3f} s played",
                )
            if self._log.ended:
                raise self._fail(wanted, f"{played:.3f} s played")
            if now >= deadline:
                got = "no answer" if response is None else f"{played:.3f} s played"
                raise self._fail(wanted, f"{got} within {limit:g} s")
            if unplayed:
                await trio.sleep(min(seconds - played, POLL))
            else:
                await self._log.wait(min(deadline, now + POLL))

    async def _acked(
        self, what: str, request: Callable[..., Awaitable[object]], *args: Any
    ) -> None:
        """Await a request the server acknowledges at once, within the talk's limit.

        A server that is alive (it answers the keepalive's pings) but never
        acknowledges the message would otherwise hold the turn forever.
        """
        with trio.move_on_after(self._within):
            await request(*args)
            return
        raise self._fail(
            f"the server to acknowledge {what}", f"no answer within {self._within:g} s"
        )

    async def _answer_call(self, call: ToolCallRecord, output: Any) -> None:
        conn, convo = self._conn, self._convo
        if conn is None or convo is None:
            raise ScriptedError("a SIP talk cannot answer tool calls: its handler does")
        if call.name in self._tool_names or call.call_id in self._answered:
            return
        self._answered.add(call.call_id)
        await self._acked(
            f"the output of {call.name}",
            conn.create_item,
            FunctionCallOutputItem(call_id=call.call_id, output=output_text(output)),
        )
        response = self._state.response(call.response_id)
        items = [] if response is None else response.output_item_ids
        pending = [
            item
            for item in (self._state.item(i) for i in items)
            if item is not None
            and item.type == "function_call"
            and item.call_id not in self._answered
            and item.name not in self._tool_names
        ]
        if not pending:
            await convo.create_response()
