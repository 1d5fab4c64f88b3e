"""The user's voice: audio for `Talk.say`, `Talk.send_audio` and `Talk.silence` (trio).

Against the simulator (and a replay of it) `say` speaks with the
simulator's own voice (`synthesize_speech`), and the simulator is told the
text, so it hears exactly that. Against a real endpoint it needs a real
text-to-speech program: espeak-ng, if it is on the ``PATH``.
"""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import trio

from .._audio.formats import SUPPORTED_PCM_RATES
from .._audio.resample import Resampler
from .._audio.wav import read_wav
from .errors import ScriptedError

__all__ = ["RATE", "espeak_speech", "pcm_of", "silence_pcm"]

#: The rate of the audio the talk sends (PCM16 mono, the API's rate).
RATE = 24_000
#: How long espeak-ng may take to speak a turn.
TTS_TIMEOUT = 30.0


def silence_pcm(seconds: float) -> bytes:
    """``seconds`` of PCM16 silence at 24 kHz."""
    return bytes(2 * max(0, round(seconds * RATE)))


def _resampled(pcm: bytes, rate: int) -> bytes:
    if rate == RATE:
        return pcm
    if rate in SUPPORTED_PCM_RATES:
        resampler = Resampler(rate, RATE)
        return resampler.process(pcm) + resampler.flush()
    # espeak-ng speaks at 22,050 Hz: linear interpolation is plenty for a test voice.
    import numpy as np

    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    count = round(len(samples) * RATE / rate)
    positions = np.arange(count) * (rate / RATE)
    out = np.interp(positions, np.arange(len(samples)), samples)
    return bytes(np.clip(np.rint(out), -32768, 32767).astype("<i2").tobytes())


def pcm_of(audio: bytes | str | os.PathLike[str]) -> bytes:
    """PCM16 24 kHz mono from a WAV file's path, or PCM as given (bytes).

    Raises:
        ScriptedError: the file cannot be read, or is not a WAV file we can use.
    """
    if isinstance(audio, bytes | bytearray | memoryview):
        pcm = bytes(audio)
        if len(pcm) % 2:
            raise ScriptedError(
                "send_audio: PCM16 audio has an even number of bytes "
                f"(got {len(pcm)}); pass a WAV file's path for anything else"
            )
        return pcm
    try:
        wav = read_wav(Path(audio), mix_to_mono=True)
        return _resampled(wav.pcm, wav.rate)
    except (OSError, ValueError) as exc:
        raise ScriptedError(
            f"send_audio: cannot use {os.fspath(audio)!r}: {exc}"
        ) from exc


async def espeak_speech(text: str) -> bytes:
    """``text`` spoken by espeak-ng, as PCM16 24 kHz mono.

    Raises:
        ScriptedError: espeak-ng is not on the ``PATH`` (the message says to
            install it or to send audio instead), or it failed.
    """
    program = shutil.which("espeak-ng")
    if program is None:
        raise ScriptedError(
            "say() against a real endpoint needs a text-to-speech program and "
            "espeak-ng is not on the PATH: install espeak-ng, or record the "
            "utterance and use send_audio(wav_path) (or send_text)"
        )
    with trio.fail_after(TTS_TIMEOUT):
        done = await trio.run_process(
            [program, "--stdout", text],
            capture_stdout=True,
            capture_stderr=True,
            check=False,
        )
    if done.returncode != 0 or not done.stdout:
        detail = done.stderr.decode(errors="replace").strip()[:200]
        raise ScriptedError(f"espeak-ng failed (exit {done.returncode}): {detail}")
    try:
        wav = read_wav(io.BytesIO(done.stdout), mix_to_mono=True)
    except ValueError as exc:
        raise ScriptedError(f"espeak-ng wrote audio we cannot read: {exc}") from exc
    return _resampled(wav.pcm, wav.rate)
