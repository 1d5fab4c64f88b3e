"""Opening a talk on a target: the connection, the conversation, the recording (trio).

* simulator: a `RealtimeSimulator` in this process, over memory streams
  (no socket, so a mock clock drives it), pacing its audio in real time;
* replay: the same, serving back the talk's recording (`Replay`);
* url: `open_realtime` to the endpoint, with the API key;
* sip: a SIP handler end to end (``sip.py``).

Each records the client's view of the wire to ``<record>/<name>.jsonl``
when the target records (messages only: the API key, a handshake header,
is never in it).
"""

from __future__ import annotations

import functools
import os
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import trio

from .._agent.conversation import open_conversation
from .._agent.tools import ToolFunction
from .._agent.tracker import PlaybackTracker
from .._client.exceptions import ConnectionBroken, HandshakeError, ServerError
from .._client.open import open_realtime
from .._core.server_events import ErrorEvent
from .._core.session_models import SessionConfig
from .._trio.unwrap import open_hidden_nursery
from .describe import failure, record_hint, replaying, stale_recording
from .errors import ExpectationFailed, ScriptedError, TargetUnavailable
from .log import EventLog, VirtualSpeaker, observe
from .naming import TargetLike
from .talk import SipHandler, Talk

__all__ = ["MEMORY_URL", "SIMULATOR_KEY", "open_talk"]

#: The URL of an in-memory simulator connection (only its path is checked).
MEMORY_URL = "ws://simulator/v1/realtime"
#: The key sent to the in-process simulator, which accepts any.
SIMULATOR_KEY = "sk-simulated"


#: The code of the error a strict replay answers an unrecorded client event with.
UNRECORDED = "replay_unrecorded_event"


def _mismatch(log: EventLog, exc: BaseException | None) -> str | None:
    """What the test sent that the recording replayed does not have, if anything."""
    while exc is not None:
        if isinstance(exc, ServerError) and exc.code == UNRECORDED:
            return exc.event.error.message
        exc = exc.__cause__ or exc.__context__
    for entry in log.entries:
        event = entry.event
        if isinstance(event, ErrorEvent) and event.error.code == UNRECORDED:
            return event.error.message
    return None


def _stale(talk: Talk | None, mismatch: str) -> ExpectationFailed:
    """The failure of a replay whose recording is stale (``talk``: once open)."""
    expected, seen = "what the recording has", stale_recording(mismatch)
    if talk is not None:
        return talk._fail(expected, seen)
    return failure(
        expected=expected,
        seen=seen,
        elapsed=0.0,
        transcript=(),
        entries=(),
        start=0.0,
        recording=None,
        ended="the session did not open",
    )


def _simulator(target: TargetLike, name: str, scenario: Any) -> Any:
    from ..testing import RealtimeSimulator, Replay

    if target.kind == "replay":
        path = target.replay_path(name)
        assert path is not None
        if not path.is_file():
            raise TargetUnavailable(
                f"no recording to replay for {name!r}: {path} does not exist "
                f"(record it first, with {record_hint()} or Target.recording_to)"
            )
        try:
            # Strict, and answering what it does not have with an error: a
            # stale recording fails instead of leaving a request unanswered.
            replay = Replay.load(path, unrecorded="error", strict=True)
        except (OSError, ValueError) as exc:
            raise TargetUnavailable(f"cannot replay {path}: {exc}") from exc
        return RealtimeSimulator(scenario=replay, realtime=True)
    return RealtimeSimulator(
        scenario=scenario if scenario is not None else target.scenario_default,
        realtime=True,
    )


@asynccontextmanager
async def open_talk(
    target: TargetLike,
    *,
    name: str,
    session: SessionConfig | Mapping[str, Any] | None,
    tools: Iterable[ToolFunction],
    scenario: Any,
    sip: bool,
    handler: SipHandler | None,
) -> AsyncIterator[Talk]:
    """Open a talk on ``target`` for the block (see `Target.talk`)."""
    __tracebackhide__ = True  # a stale replay's failure is the test's, not this
    if isinstance(session, Mapping) and "type" not in session:
        # The API (and so the simulator) refuses a session without its type.
        session = {"type": "realtime", **session}
    if sip:
        from .sip import open_sip_talk

        async with open_sip_talk(
            target, name=name, session=session, scenario=scenario, handler=handler
        ) as talk:
            yield talk
        return
    if handler is not None:
        raise ScriptedError("handler= is for a SIP talk: pass sip=True too")
    tools = list(tools)
    log = EventLog()
    speaker = VirtualSpeaker(log)
    tracker = PlaybackTracker(speaker)
    recording = target.recording_path(name)
    async with AsyncExitStack() as stack:
        replayed = target.replay_path(name) if target.kind == "replay" else None
        if replayed is not None:
            stack.enter_context(replaying(str(replayed)))
        nursery = await stack.enter_async_context(open_hidden_nursery())
        options: dict[str, Any] = {"model": target.model, "session": session}
        sim = None
        if target.kind == "url":
            key = target.api_key or os.environ.get("OPENAI_API_KEY")
            if not key:
                raise TargetUnavailable(
                    "no API key for the endpoint: pass --realtime-api-key "
                    "(or Target.url(api_key=...)) or set OPENAI_API_KEY"
                )
            options.update(url=target.endpoint, api_key=key)
            where = target.endpoint
        else:
            sim = _simulator(target, name, scenario)
            options.update(
                url=MEMORY_URL,
                api_key=SIMULATOR_KEY,
                connect_stream=functools.partial(sim.open_memory_stream, nursery),
            )
            where = "the simulator" if target.kind == "simulator" else "the replay"
        recorder = None
        if recording is not None:
            from ..testing import Recorder

            recording.parent.mkdir(parents=True, exist_ok=True)
            recorder = stack.enter_context(
                Recorder(
                    recording, elide_audio=target.elide_audio, clock=trio.current_time
                )
            )
        try:
            conn = await stack.enter_async_context(
                open_realtime(**options, recorder=recorder)
            )
        except (HandshakeError, ConnectionBroken, OSError) as exc:
            raise TargetUnavailable(
                f"could not open a session on {where}: {exc}"
            ) from exc
        except ServerError as exc:
            # Its session.update is not the one recorded.
            if target.kind != "replay" or (mismatch := _mismatch(log, exc)) is None:
                raise
            raise _stale(None, mismatch) from None
        convo = await stack.enter_async_context(
            open_conversation(conn, tools=tools, playback=tracker)
        )
        speaker.format = convo.state.output_format
        talk = Talk(
            kind=target.kind,
            state=convo.state,
            log=log,
            conn=conn,
            convo=convo,
            tracker=tracker,
            speaker=speaker,
            sim=sim,
            recording=None if recording is None else str(recording),
            tool_names=frozenset(tool.name for tool in tools),
        )
        async with open_hidden_nursery() as inner:
            talk._nursery = inner
            inner.start_soon(observe, convo, log)
            try:
                yield talk
            except Exception as exc:
                mismatch = _mismatch(log, exc) if replayed is not None else None
                if mismatch is not None and not isinstance(exc, TargetUnavailable):
                    raise _stale(talk, mismatch) from None
                raise
            finally:
                talk._refresh_turn()
                inner.cancel_scope.cancel()
            if replayed is not None and (mismatch := _mismatch(log, None)):
                raise _stale(talk, mismatch)
        if recorder is not None and log.ended and conn.close_reason is not None:
            reason = conn.close_reason
            recorder.record_close(reason.code, reason.reason)
