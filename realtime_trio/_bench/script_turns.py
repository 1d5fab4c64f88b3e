"""The turns of a script file (the scripted-conversation format) as bench turns.

Only the user's side is played: ``say`` (spoken with the simulator's
synthesized voice), ``audio`` (a WAV file) and ``text`` turns. The script's
expectations are not checked, its ``simulator`` rules and its ``session``
are not used (the bench's own short answer and session are), and
``silence`` and ``dtmf`` turns cannot be benchmarked (there is no turn to
measure in them): such a script is refused.
"""

from __future__ import annotations

from .._scripted.errors import ScriptedError
from .._scripted.script import load_script
from .._scripted.voice import pcm_of
from ..testing._model.voice import synthesize_speech
from .config import BenchFailed
from .turns import BenchTurn


def script_turns(path: str) -> list[BenchTurn]:
    """The user turns of the script at ``path``, in order.

    Raises:
        BenchFailed: the script cannot be read, is not valid, has a turn
            that cannot be benchmarked, or has no user turn at all.
    """
    try:
        script = load_script(path)
    except ScriptedError as exc:
        raise BenchFailed(str(exc)) from None
    turns: list[BenchTurn] = []
    for number, turn in enumerate(script.turns):
        user = turn.user
        if user is None:
            continue
        if user.kind == "say":
            turns.append(
                BenchTurn("audio", str(user.value), synthesize_speech(str(user.value)))
            )
        elif user.kind == "text":
            turns.append(BenchTurn("text", str(user.value)))
        elif user.kind == "audio":
            try:
                pcm = pcm_of(str(user.value))
            except ScriptedError as exc:
                raise BenchFailed(f"{path}: turns[{number}]: {exc}") from None
            turns.append(BenchTurn("audio", str(user.value), pcm))
        else:
            raise BenchFailed(
                f"{path}: turns[{number}]: a {user.kind} turn cannot be benchmarked "
                "(say, audio and text turns can)"
            )
    if not turns:
        raise BenchFailed(f"{path}: no user turn to play")
    return turns
