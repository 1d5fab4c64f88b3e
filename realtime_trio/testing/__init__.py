"""realtime_trio.testing: a local simulator of the OpenAI Realtime API.

`open_simulator` runs a `RealtimeSimulator` on a loopback port: a real
HTTP and WebSocket server that speaks the GA Realtime protocol closely enough
for real clients (ours, or the official ``openai`` SDK) to hold a
conversation with it. `RealtimeSimulator.handle_stream` serves one
connection over any trio stream, for tests under a mock clock.

What the simulated model does is scripted with a `Scenario` (or a `Replay`
of a recorded connection); `Recorder` writes connections as JSONL.
`synthesize_speech`, `tone` and `silence` make test audio.
"""

from __future__ import annotations

from realtime_trio._util import fixup_module_metadata as _fixup_module_metadata

from ._calls import SimCall as SimCall
from ._recording import RecordedEvent as RecordedEvent
from ._recording import Recorder as Recorder
from ._recording import Replay as Replay
from ._recording import load_recording as load_recording
from ._scenario import CallTool as CallTool
from ._scenario import CloseConnection as CloseConnection
from ._scenario import ConnectionFault as ConnectionFault
from ._scenario import Delay as Delay
from ._scenario import DropConnection as DropConnection
from ._scenario import Fail as Fail
from ._scenario import Rule as Rule
from ._scenario import Say as Say
from ._scenario import Scenario as Scenario
from ._scenario import ScenarioError as ScenarioError
from ._sim_connection import ConnectionRecord as ConnectionRecord
from ._simulator import RealtimeSimulator as RealtimeSimulator
from ._simulator import open_simulator as open_simulator
from ._voice import silence as silence
from ._voice import synthesize_speech as synthesize_speech
from ._voice import tone as tone

__all__ = [
    "CallTool",
    "CloseConnection",
    "ConnectionFault",
    "ConnectionRecord",
    "Delay",
    "DropConnection",
    "Fail",
    "RealtimeSimulator",
    "RecordedEvent",
    "Recorder",
    "Replay",
    "Rule",
    "Say",
    "Scenario",
    "ScenarioError",
    "SimCall",
    "load_recording",
    "open_simulator",
    "silence",
    "synthesize_speech",
    "tone",
]


_fixup_module_metadata(__name__, globals(), __all__)
del _fixup_module_metadata
