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

from .._core.util import fixup_module_metadata as _fixup_module_metadata
from ._model.recording import RecordedEvent as RecordedEvent
from ._model.recording import Recorder as Recorder
from ._model.recording import Replay as Replay
from ._model.recording import load_recording as load_recording
from ._model.scenario import CallTool as CallTool
from ._model.scenario import CloseConnection as CloseConnection
from ._model.scenario import ConnectionFault as ConnectionFault
from ._model.scenario import Delay as Delay
from ._model.scenario import DropConnection as DropConnection
from ._model.scenario import Fail as Fail
from ._model.scenario import Rule as Rule
from ._model.scenario import Say as Say
from ._model.scenario import Scenario as Scenario
from ._model.scenario import ScenarioError as ScenarioError
from ._model.voice import silence as silence
from ._model.voice import synthesize_speech as synthesize_speech
from ._model.voice import tone as tone
from ._server.calls import SimCall as SimCall
from ._server.run import open_simulator as open_simulator
from ._server.sim_connection import ConnectionRecord as ConnectionRecord
from ._server.simulator import RealtimeSimulator as RealtimeSimulator

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
