"""`Target`: where a scripted conversation runs (no trio here).

The built-in simulator (in this process, over memory streams, paced in
real time on the trio clock), a real endpoint (a URL and an API key, on the
real clock), or a replay of recordings made earlier. Any of them can record
each talk's wire session as JSONL.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import attrs

from .naming import recording_name

if TYPE_CHECKING:
    from .._agent.tools import ToolFunction
    from .._core.session_models import SessionConfig
    from .talk import SipHandler, Talk

__all__ = ["DEFAULT_MODEL", "Target", "recording_name"]

#: The model a talk opens a session with when its session does not say.
DEFAULT_MODEL = "gpt-realtime"


@attrs.frozen(kw_only=True)
class Target:
    """Where scripted conversations run; make one with `simulator`, `url` or `replay`.

    Attributes:
        kind: ``"simulator"``, ``"url"`` or ``"replay"``.
        endpoint: The URL of the endpoint (``"url"`` targets).
        api_key: The API key (``"url"`` targets; default ``OPENAI_API_KEY``).
            Never shown in the repr, never recorded.
        model: The model of the sessions a talk opens.
        replay_dir: Where the recordings to replay are (``"replay"`` targets).
        scenario_default: The simulator's scenario when a talk gives none.
        record: Write each talk's wire session to ``<record>/<name>.jsonl``.
        elide_audio: Leave the audio payloads out of those recordings.

    .. versionadded:: 0.1.0
    """

    kind: Literal["simulator", "url", "replay"]
    endpoint: str | None = None
    api_key: str | None = attrs.field(default=None, repr=False)
    model: str = DEFAULT_MODEL
    replay_dir: Path | None = None
    scenario_default: Any = None
    record: Path | None = None
    elide_audio: bool = False

    @classmethod
    def simulator(cls, *, scenario_default: Any = None) -> Target:
        """The built-in simulator, in this process, paced in real time on the trio clock.

        Under a `trio.testing.MockClock` with ``autojump_threshold=0`` a talk
        takes no wall time and always goes the same way.
        """
        return cls(kind="simulator", scenario_default=scenario_default)

    @classmethod
    def url(
        cls, url: str, *, api_key: str | None = None, model: str = DEFAULT_MODEL
    ) -> Target:
        """A real endpoint (``wss://`` or ``ws://``), on the real clock.

        ``api_key`` defaults to ``OPENAI_API_KEY``, read when a talk opens.
        """
        if not url.startswith(("ws://", "wss://")):
            raise ValueError(f"the URL must be ws:// or wss://, not {url!r}")
        return cls(kind="url", endpoint=url, api_key=api_key, model=model)

    @classmethod
    def replay(cls, directory: str | os.PathLike[str]) -> Target:
        """Serve back the recordings in ``directory`` (made with `recording_to`),
        one per talk name, deterministically (client-generated ids normalised)."""
        return cls(kind="replay", replay_dir=Path(directory))

    def recording_to(
        self, directory: str | os.PathLike[str] | None, *, elide_audio: bool = False
    ) -> Target:
        """This target, recording each talk to ``directory`` (None: not recording)."""
        return attrs.evolve(
            self,
            record=None if directory is None else Path(directory),
            elide_audio=elide_audio,
        )

    @property
    def uses_mock_clock(self) -> bool:
        """Whether talks on this target are meant for a mock clock (simulator, replay)."""
        return self.kind != "url"

    def recording_path(self, name: str) -> Path | None:
        """Where the talk ``name`` is recorded, if this target records."""
        if self.record is None:
            return None
        return self.record / f"{recording_name(name)}.jsonl"

    def replay_path(self, name: str) -> Path | None:
        """The recording a replay target serves for the talk ``name``."""
        if self.replay_dir is None:
            return None
        return self.replay_dir / f"{recording_name(name)}.jsonl"

    def talk(
        self,
        *,
        name: str = "talk",
        session: SessionConfig | Mapping[str, Any] | None = None,
        tools: Iterable[ToolFunction] = (),
        scenario: Any = None,
        sip: bool = False,
        handler: SipHandler | None = None,
    ) -> AbstractAsyncContextManager[Talk]:
        """Open a connection and a conversation on this target, for the block.

        Use it as ``async with target.talk(...) as talk:``. See `Talk`.

        Args:
            name: Names the recording (``<record>/<name>.jsonl``) and the
                recording a replay serves.
            session: The session to configure (a `SessionConfig` or its JSON).
            tools: `ToolFunction`\\ s the conversation runs when the model calls them.
            scenario: What the simulated model does (a `Scenario`); ignored
                against a real endpoint and a replay.
            sip: Run a SIP ``handler`` end to end instead: a simulated SIP
                call, its signed webhook, the SIP call server and the handler,
                which owns the call's connection (the simulator only).
            handler: The call handler of a ``sip`` talk.
        """
        from .opening import open_talk

        return open_talk(
            self,
            name=name,
            session=session,
            tools=tools,
            scenario=scenario,
            sip=sip,
            handler=handler,
        )
