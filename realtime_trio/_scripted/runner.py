"""Run a `Script` against a `Target` through the driver (`Talk`); only moves data.

Each turn's ``user:`` becomes one call of the driver (``say`` to
`Talk.say`, ``text`` to `Talk.send_text`, ``audio`` to `Talk.send_audio`,
``silence`` to `Talk.silence`, ``dtmf`` to `Talk.dtmf`, with its
``barge_in_after``), and each of its ``expect:`` entries one call of
``Talk.expect_<kind>`` with the entry's options as keyword arguments, in
order: the driver meets the expectations of a turn in order, and a
``response`` expectation in a barge-in turn refers first to the response it
interrupted. A ``tool_call`` with an ``output`` answers the call.

The first expectation that fails ends the run (the later ones are "not
run"): what follows a failure is rarely worth reading. A script that cannot
go on for another reason (the connection was refused or broken, the server
failed, the target cannot do a user turn) ends as an ``error``; any other
exception is a bug and propagates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import trio

from .._core.errors import RealtimeError
from .errors import ExpectationFailed
from .handlers import load_handler
from .records import TurnRecord
from .results import (
    ExpectationResult,
    ExpectationStatus,
    RunStatus,
    ScriptRun,
    TurnResult,
)
from .script import Script, ScriptTurn

if TYPE_CHECKING:
    from .talk import Talk
    from .target import Target

ProgressCallback = Callable[[Script, TurnResult], None]

_USER_METHODS = {
    "say": "say",
    "text": "send_text",
    "audio": "send_audio",
    "silence": "silence",
    "dtmf": "dtmf",
}


def _expectations(
    turn: ScriptTurn, met: int, failed: str | None
) -> tuple[ExpectationResult, ...]:
    results = []
    for index, expectation in enumerate(turn.expect):
        status: ExpectationStatus = (
            "passed"
            if index < met
            else "failed"
            if index == met and failed
            else "not_run"
        )
        results.append(
            ExpectationResult(
                kind=expectation.kind,
                description=expectation.describe(),
                path=expectation.path,
                line=expectation.line,
                status=status,
                message=failed if status == "failed" else None,
            )
        )
    return tuple(results)


def _turn_result(
    turn: ScriptTurn,
    index: int,
    *,
    started: bool,
    record: TurnRecord | None = None,
    met: int = 0,
    failed: str | None = None,
    user_failed: str | None = None,
) -> TurnResult:
    return TurnResult(
        index=index,
        user=None if turn.user is None else turn.user.describe(),
        started=started,
        message=user_failed,
        first_audio=None if record is None else record.time_to_first_audio,
        done=None if record is None else record.time_to_done,
        expectations=_expectations(turn, met, failed),
    )


def _session(script: Script) -> dict[str, Any] | None:
    """The script's session; ``type: realtime`` unless it says otherwise (the API needs it)."""
    if script.session is None:
        return None
    return {"type": "realtime", **script.session}


class _Progress:
    """What a run has done so far, kept up to date as it goes."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.records: dict[int, TurnRecord] = {}
        self.met: dict[int, int] = {}
        self.failed: dict[int, str] = {}
        self.user_failed: dict[int, str] = {}
        self.reached = 0

    def turns(self) -> tuple[TurnResult, ...]:
        return tuple(
            _turn_result(
                turn,
                index,
                started=index < self.reached,
                record=self.records.get(index),
                met=self.met.get(index, 0),
                failed=self.failed.get(index),
                user_failed=self.user_failed.get(index),
            )
            for index, turn in enumerate(self.script.turns)
        )


async def _run_turn(
    talk: Talk, turn: ScriptTurn, index: int, progress: _Progress
) -> bool:
    """Do one turn; False when one of its expectations failed."""
    progress.reached = index + 1
    if turn.user is not None:
        act = getattr(talk, _USER_METHODS[turn.user.kind])
        try:
            record = await act(turn.user.value, barge_in_after=turn.user.barge_in_after)
        except ExpectationFailed as exc:  # the barge-in found no answer to barge into
            progress.user_failed[index] = str(exc)
            return False
        if isinstance(record, TurnRecord):
            progress.records[index] = record
    for number, expectation in enumerate(turn.expect):
        expect: Callable[..., Any] = getattr(talk, f"expect_{expectation.kind}")
        try:
            await expect(**expectation.options)
        except ExpectationFailed as exc:
            progress.failed[index] = str(exc)
            return False
        progress.met[index] = number + 1
    return True


async def run_script(
    script: Script,
    target: Target,
    *,
    name: str | None = None,
    on_progress: ProgressCallback | None = None,
) -> ScriptRun:
    """Run ``script`` once against ``target``; return what happened.

    Args:
        script: The checked script.
        target: Where to run it (the simulator, a real endpoint, a replay).
        name: The name of its wire recording (``<name>.jsonl``); the
            script's `Script.stem` by default.
        on_progress: Called with the script and the `TurnResult` so far each
            time a turn ends (its latency may still be unknown then, when the
            next turn barges into its answer).

    Raises:
        ScriptError: The SIP handler the script names cannot be loaded.
        Anything the driver raises that is neither an `ExpectationFailed`
        nor a reason the script could not run (those are in the result).
    """
    name = name or script.stem
    recording: str | None = None  # the talk's, once it opened
    handler = load_handler(script)
    progress = _Progress(script)
    status: RunStatus = "passed"
    message: str | None = None
    start = trio.current_time()
    try:
        async with target.talk(
            name=name,
            session=_session(script),
            scenario=script.simulator,
            sip=script.sip,
            handler=handler,
        ) as talk:
            recording = talk.recording
            for index, turn in enumerate(script.turns):
                passed = await _run_turn(talk, turn, index, progress)
                if on_progress is not None:
                    on_progress(script, progress.turns()[index])
                if not passed:
                    status = "failed"
                    message = progress.failed.get(index) or progress.user_failed[index]
                    break
    except ExpectationFailed as exc:  # raised by the driver outside an expectation
        status, message = "failed", str(exc)
    except (RealtimeError, OSError, trio.TooSlowError) as exc:
        if status != "failed":  # leaving after a failure may go wrong too: keep it
            status, message = "error", str(exc) or type(exc).__name__
        if progress.reached and on_progress is not None:
            on_progress(script, progress.turns()[progress.reached - 1])
    return ScriptRun(
        status=status,
        turns=progress.turns(),
        message=message,
        recording=recording,
        duration=trio.current_time() - start,
    )
