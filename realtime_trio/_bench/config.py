"""`BenchConfig`: what one ``realtime-trio bench`` run does (sans-IO)."""

from __future__ import annotations

from typing import Final, Literal

import attrs

from .._core.errors import RealtimeError


class BenchFailed(RealtimeError):
    """The bench could not run (the simulator did not start, a script cannot be played)."""


TurnDetection = Literal["server_vad", "semantic_vad", "manual"]

#: What the built-in turn says: about half a second (0.48 s) of the simulator's voice,
#: with no trailing pause (a manual commit then follows the speech at once).
BUILTIN_TEXT: Final = "Hi there"
#: What the simulator answers every turn.
SIM_ANSWER: Final = "Sure."
#: The default model of a real endpoint.
DEFAULT_MODEL: Final = "gpt-realtime"
#: Instructions for a real model: keep the answers short, so turns stay short.
INSTRUCTIONS: Final = "Answer in one short sentence."


@attrs.frozen(kw_only=True)
class BenchConfig:
    """One bench run.

    Attributes:
        turns: Turns per conversation.
        turn_detection: ``server_vad``, ``semantic_vad``, or ``manual`` (we commit).
        concurrency: The levels of K (conversations at once), each run in turn.
        repeat: How many times each level is run (the spread between runs).
        url: A real endpoint (None: the built-in simulator).
        model: The model of a real endpoint.
        server_delay: The simulator's delay before each response's first audio (s).
        timeout: Seconds a turn may take, from its start, before it is censored.
        script: A script file of the scripted-conversation format (its user turns are played).
        audio_frame_ms: The connection's ``audio_frame_ms`` (None: the library's default).
    """

    turns: int = 20
    turn_detection: TurnDetection = "server_vad"
    concurrency: tuple[int, ...] = (1,)
    repeat: int = 1
    url: str | None = None
    model: str = DEFAULT_MODEL
    server_delay: float = 0.0
    timeout: float = 15.0
    script: str | None = None
    audio_frame_ms: int | None = None

    @property
    def simulated(self) -> bool:
        """Whether the built-in simulator answers."""
        return self.url is None

    @property
    def total_turns(self) -> int:
        """Turns in the whole bench (every level, every run, every conversation)."""
        return self.turns * self.repeat * sum(self.concurrency)
