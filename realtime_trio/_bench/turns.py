"""The turns a bench plays: the built-in one, or the user turns of a script file (sans-IO)."""

from __future__ import annotations

from typing import Final, Literal

import attrs

from ..testing._model.voice import synthesize_speech
from .config import BUILTIN_TEXT

#: One piece of streamed audio: 20 ms of PCM16 at 24 kHz.
FRAME_BYTES: Final = 960
#: Its duration in seconds.
FRAME_SECONDS: Final = 0.02


@attrs.frozen
class BenchTurn:
    """One user turn: spoken (``pcm``, PCM16 mono 24 kHz) or written (``text``).

    Attributes:
        kind: ``"audio"`` (streamed at real-time pace) or ``"text"`` (an item, then a response).
        text: What is said (for audio: what the simulator is told it hears).
        pcm: The audio of an audio turn.
    """

    kind: Literal["audio", "text"]
    text: str
    pcm: bytes = b""

    @property
    def seconds(self) -> float:
        """The audio's duration."""
        return len(self.pcm) / 48_000


def builtin_turn() -> BenchTurn:
    """The built-in turn: about half a second of the simulator's synthesized voice."""
    return BenchTurn("audio", BUILTIN_TEXT, synthesize_speech(BUILTIN_TEXT))


def frames(pcm: bytes) -> list[bytes]:
    """``pcm`` cut into 20 ms pieces (the last one may be shorter)."""
    return [pcm[i : i + FRAME_BYTES] for i in range(0, len(pcm), FRAME_BYTES)]
