"""The body of the pytest fixture ``realtime``: the target a test talks to.

`realtime_trio.pytest_plugin` stays light (pytest loads it in every run of
everyone who installs realtime_trio); this module is imported when a test
uses the fixture.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest

from .._agent.tools import ToolFunction
from .._core.session_models import SessionConfig
from .talk import SipHandler, Talk
from .target import Target

__all__ = ["Realtime", "target_from_options"]


def target_from_options(config: pytest.Config) -> Target:
    """The target pytest's command line asks for (the simulator by default).

    The ``--realtime-*`` options of `realtime_trio.pytest_plugin`; the
    ``realtime`` fixture and the collected ``realtime_*.yaml`` items share it.
    """
    url = config.getoption("--realtime-url")
    replay = config.getoption("--realtime-replay")
    if url is not None:
        target = Target.url(url, api_key=config.getoption("--realtime-api-key"))
    elif replay is not None:
        target = Target.replay(replay)
    else:
        target = Target.simulator()
    return target.recording_to(
        config.getoption("--realtime-record"),
        elide_audio=config.getoption("--realtime-elide-audio"),
    )


class Realtime:
    """The value of the ``realtime`` fixture: the test's target, and `talk`.

    Attributes:
        target: The `Target` (the simulator unless the command line says otherwise).
        name: The test's name, which names its recording.
    """

    def __init__(self, target: Target, name: str) -> None:
        self.target = target
        self.name = name

    def __repr__(self) -> str:
        return f"<realtime {self.target.kind} for {self.name}>"

    @property
    def kind(self) -> str:
        """``"simulator"``, ``"url"`` or ``"replay"``."""
        return self.target.kind

    def talk(
        self,
        *,
        session: SessionConfig | Mapping[str, Any] | None = None,
        tools: Iterable[ToolFunction] = (),
        scenario: Any = None,
        sip: bool = False,
        handler: SipHandler | None = None,
        name: str | None = None,
    ) -> AbstractAsyncContextManager[Talk]:
        """Open a talk on the test's target: ``async with realtime.talk(...) as talk:``.

        See `Target.talk`; ``name`` (default: the test's) names its recording.
        """
        return self.target.talk(
            name=self.name if name is None else name,
            session=session,
            tools=tools,
            scenario=scenario,
            sip=sip,
            handler=handler,
        )
