"""The simulator's options, defined once (see `realtime_trio._core.options`).

`RealtimeSimulator` takes them, `open_simulator` passes them on, and
``realtime-trio simulate`` fills them from its command line. Their names and
types are `SimulatorOptions`, their defaults `SIMULATOR_DEFAULTS`; what each
one means is documented on `RealtimeSimulator`. `session_settings` derives
from them the settings every simulated session gets.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Collection
from typing import Final, TypedDict, Unpack, cast

from ..._core.options import fill_options, takes_options
from .._model.recording import Replay
from .._model.rendering import load_wav_24k
from .._model.scenario import Scenario, ScenarioError
from .._model.session_config import SESSION_LIFETIME_S
from .._model.state import SimSettings

#: The default largest client message, in characters (16 MiB).
DEFAULT_MAX_MESSAGE_SIZE: Final = 16 * 2**20
#: The default number of events of each kind a `ConnectionRecord` keeps.
DEFAULT_HISTORY: Final = 1_000
#: The default number of ended connections `RealtimeSimulator.connections` keeps.
DEFAULT_KEEP_ENDED: Final = 1_000


class SimulatorOptions(TypedDict, total=False):
    """The keyword options of `RealtimeSimulator` (also taken by `open_simulator`)."""

    api_keys: Collection[str] | None
    scenario: Scenario | Replay | None
    realtime: bool
    time_to_first_audio: float
    seed: int
    require_safety_identifier: bool
    max_message_size: int
    audio_chunk_ms: int
    session_duration: float
    record_dir: str | os.PathLike[str] | None
    elide_audio: bool
    history: int
    keep_ended: int
    sideband_grace: float | None


SIMULATOR_DEFAULTS: Final[SimulatorOptions] = {
    "api_keys": None,
    "scenario": None,
    "realtime": False,
    "time_to_first_audio": 0.0,
    "seed": 0,
    "require_safety_identifier": False,
    "max_message_size": DEFAULT_MAX_MESSAGE_SIZE,
    "audio_chunk_ms": 100,
    "session_duration": float(SESSION_LIFETIME_S),
    "record_dir": None,
    "elide_audio": False,
    "history": DEFAULT_HISTORY,
    "keep_ended": DEFAULT_KEEP_ENDED,
    "sideband_grace": None,
}


def fill_simulator_options(func_name: str, given: SimulatorOptions) -> SimulatorOptions:
    """Every option of one call: ``given`` over `SIMULATOR_DEFAULTS`.

    Raises:
        TypeError: An unknown option, worded as Python words it.
        ValueError: ``history``, ``keep_ended`` or ``sideband_grace`` is negative.
    """
    filled = fill_options(func_name, SimulatorOptions, SIMULATOR_DEFAULTS, given)
    for name in ("history", "keep_ended"):
        if filled[name] < 0:
            raise ValueError(f"{name} must be >= 0, not {filled[name]!r}")
    grace = filled["sideband_grace"]
    if grace is not None and not grace >= 0:
        raise ValueError(f"sideband_grace must be >= 0 seconds or None, not {grace!r}")
    return cast(SimulatorOptions, filled)


@takes_options(SimulatorOptions, SIMULATOR_DEFAULTS)
def session_settings(**options: Unpack[SimulatorOptions]) -> SimSettings:
    """The settings of every session of a simulator with these options.

    A `Replay` (which needs no model) leaves the sessions an empty
    `Scenario`. WAV files are read through a cache of their own, and each
    one the scenario names is read once here.

    Raises:
        ScenarioError: A WAV file of the scenario cannot be read or played.
    """
    options = fill_simulator_options("session_settings", options)
    scenario = options["scenario"]
    load_wav = functools.lru_cache(maxsize=32)(load_wav_24k)
    if isinstance(scenario, Scenario):
        # A broken WAV is found now, not when a response first plays it.
        for path in scenario.audio_files():
            try:
                load_wav(path)
            except (OSError, ValueError) as exc:
                raise ScenarioError(f"cannot play {path}: {exc}") from exc
    return SimSettings(
        realtime=options["realtime"],
        time_to_first_audio=options["time_to_first_audio"],
        audio_chunk_ms=options["audio_chunk_ms"],
        seed=options["seed"],
        max_message_size=options["max_message_size"],
        session_duration=options["session_duration"],
        scenario=scenario if isinstance(scenario, Scenario) else Scenario(),
        load_wav=load_wav,
    )
