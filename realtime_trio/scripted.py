"""Scripted test conversations: a voice agent's regression test, written like the conversation.

::

    from realtime_trio.scripted import Target

    async with Target.simulator().talk(session=..., scenario=...) as talk:
        await talk.say("What's the weather in Paris?")
        call = await talk.expect_tool_call("get_weather", arguments={"city": "Paris"})
        await call.reply({"temp_c": 22})
        await talk.expect_reply(contains="22")

The same talk runs against the built-in simulator (`Target.simulator`), a
real endpoint (`Target.url`) or recordings (`Target.replay`). In pytest,
the ``realtime`` fixture of the plugin `realtime_trio.pytest_plugin` gives
the target chosen on the command line. See the guide "Testing a voice agent".
"""

from __future__ import annotations

from ._core.util import fixup_module_metadata as _fixup_module_metadata
from ._scripted.errors import ExpectationFailed as ExpectationFailed
from ._scripted.errors import ScriptedError as ScriptedError
from ._scripted.errors import TargetUnavailable as TargetUnavailable
from ._scripted.model import Script as Script
from ._scripted.model import ScriptError as ScriptError
from ._scripted.records import ClosedRecord as ClosedRecord
from ._scripted.records import ErrorRecord as ErrorRecord
from ._scripted.records import ReplyRecord as ReplyRecord
from ._scripted.records import ToolCallRecord as ToolCallRecord
from ._scripted.records import TurnRecord as TurnRecord
from ._scripted.results import ScriptRun as ScriptRun
from ._scripted.runner import run_script as run_script
from ._scripted.script import load_script as load_script
from ._scripted.talk import Talk as Talk
from ._scripted.target import Target as Target

__all__ = [
    "ClosedRecord",
    "ErrorRecord",
    "ExpectationFailed",
    "ReplyRecord",
    "Script",
    "ScriptError",
    "ScriptRun",
    "ScriptedError",
    "Talk",
    "Target",
    "TargetUnavailable",
    "ToolCallRecord",
    "TurnRecord",
    "load_script",
    "run_script",
]


_fixup_module_metadata(__name__, globals(), __all__)
del _fixup_module_metadata
