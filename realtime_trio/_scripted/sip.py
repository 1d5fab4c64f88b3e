"""A SIP talk: a phone agent's handler, end to end, against the simulator (trio).

The simulator (on loopback: the SIP call server is an HTTP server) places a
simulated SIP call and POSTs its signed ``realtime.call.incoming`` webhook to
a `SipCallServer` running the handler under test; the server verifies it,
accepts the call over REST and attaches the call's sideband, and the
handler runs. The talk follows the sideband from the simulator's side
(`follow_record`), so the handler keeps the connection to itself. It is
the caller: it presses keys (`Talk.dtmf`) and speaks (`Talk.say`,
`send_audio`, `silence`: its voice reaches the call's session as the call's
media would, `RealtimeSimulator.send_caller_audio`), and a barge-in waits
for what the call played to the caller (`RealtimeSimulator.caller_heard`).

Sockets and a mock clock do not mix (an autojump would fire every timeout
while a socket is waited on), so under a `trio.testing.MockClock` the
clock runs at real-time rate, without autojump, for the talk.
"""

from __future__ import annotations

import base64
import math
import os
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import trio
import trio.testing

from .._agent.state import ConversationState
from .._core.session_models import SessionConfig
from .._trio.unwrap import open_hidden_nursery
from .errors import ScriptedError, TargetUnavailable
from .log import EventLog, follow_record
from .naming import TargetLike, recording_name
from .talk import SipHandler, Talk

__all__ = ["open_sip_talk"]

#: How long the simulated call may take to reach the handler.
SETUP_TIMEOUT = 10.0
#: How many events of the sideband the simulator keeps for the talk to follow.
HISTORY = 100_000


@contextmanager
def _real_time() -> Iterator[None]:
    """Run a `MockClock` at real-time rate, without autojump, for the block."""
    clock = trio.lowlevel.current_clock()
    if not isinstance(clock, trio.testing.MockClock):
        yield
        return
    saved = clock.rate, clock.autojump_threshold
    clock.autojump_threshold = math.inf
    clock.rate = 1.0
    try:
        yield
    finally:
        clock.rate, clock.autojump_threshold = saved


@asynccontextmanager
async def open_sip_talk(
    target: TargetLike,
    *,
    name: str,
    session: SessionConfig | Mapping[str, Any] | None,
    scenario: Any,
    handler: SipHandler | None,
) -> AsyncIterator[Talk]:
    """Run ``handler`` on a simulated SIP call for the block; the talk is the caller."""
    if target.kind != "simulator":
        raise ScriptedError(
            "a SIP talk (sip=True) runs against the simulator only: the "
            "simulated call, its webhook, its caller's voice and keys come from it"
        )
    if handler is None:
        raise ScriptedError(
            "talk(sip=True) needs handler=, the call handler under test"
        )
    from .._sip.server import open_sip_server
    from ..testing import open_simulator

    secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    record_dir = None
    if target.record is not None:
        record_dir = target.record / recording_name(name)
    log = EventLog()
    state = ConversationState()
    with _real_time():
        async with (
            open_simulator(
                scenario=scenario if scenario is not None else target.scenario_default,
                realtime=True,
                history=HISTORY,
                record_dir=record_dir,
                elide_audio=target.elide_audio,
            ) as sim,
            open_sip_server(
                handler,
                webhook_secret=secret,
                api_key="sk-simulated",
                api_base_url=sim.base_url,
                realtime_url=sim.url,
                attach_backoff=0.01,
                session=session,
            ) as server,
        ):
            try:
                with trio.fail_after(SETUP_TIMEOUT):
                    call_id = await sim.place_sip_call(server.url, secret)
                    status = sim.calls[call_id].webhook_status
                    if status != 200:
                        raise TargetUnavailable(
                            f"the SIP call server answered the call's webhook with HTTP {status}"
                        )
                    await server.wait_call(call_id)
                    record = None
                    while record is None:  # the sideband attaches after the accept
                        record = next(
                            (r for r in sim.connections if r.call_id == call_id), None
                        )
                        if record is None:
                            await trio.sleep(0.01)
            except trio.TooSlowError as exc:
                raise TargetUnavailable(
                    f"the simulated SIP call did not reach the handler within {SETUP_TIMEOUT:g} s"
                ) from exc
            talk = Talk(
                kind="simulator",
                state=state,
                log=log,
                sim=sim,
                call_id=call_id,
                recording=None if record_dir is None else str(record_dir),
            )
            async with open_hidden_nursery() as nursery:
                talk._nursery = nursery  # the caller's line, between turns
                nursery.start_soon(follow_record, record, state, log)
                try:
                    yield talk
                finally:
                    talk._refresh_turn()
                    nursery.cancel_scope.cancel()
