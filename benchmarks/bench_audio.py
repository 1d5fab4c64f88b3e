"""Throughput of the sans-IO audio helpers, as multiples of real time.

Run it directly (pytest does not collect it)::

    python benchmarks/bench_audio.py [--seconds 10] [--repeat 5]

Each conversion processes ``--seconds`` of noise, either in one call or in
20 ms chunks (the typical microphone or network chunk), and reports the best
of ``--repeat`` runs. "x real time" is audio seconds per second of CPU: 500x
means one core converts 500 seconds of audio per second. numpy's BLAS may use
more than one thread for the large one-call products; set
``OPENBLAS_NUM_THREADS=1`` for strictly single-core figures.
"""

from __future__ import annotations

import argparse
import functools
import time
from collections.abc import Callable

import numpy as np

from realtime_trio.audio import (
    PCM16_24K,
    PCMU,
    AudioFormat,
    InputAudioPipeline,
    OutputAudioDecoder,
    Resampler,
    alaw_to_pcm16,
    decode_audio,
    encode_audio,
    pcm16_to_alaw,
    pcm16_to_ulaw,
    ulaw_to_pcm16,
)

RESAMPLE_PAIRS = [
    (24000, 8000),
    (8000, 24000),
    (48000, 24000),
    (24000, 48000),
    (24000, 16000),
    (16000, 24000),
    (44100, 48000),
    (48000, 44100),
    (44100, 24000),
    (24000, 44100),
    (48000, 8000),
]


def noise(rate: int, seconds: float, width: int = 2) -> bytes:
    rng = np.random.default_rng(rate)
    n = int(rate * seconds)
    if width == 1:
        return rng.integers(0, 256, n, dtype=np.uint8).tobytes()
    return np.clip(rng.normal(0, 6000, n), -32768, 32767).astype("<i2").tobytes()


def chunks(data: bytes, nbytes: int) -> list[bytes]:
    return [data[i : i + nbytes] for i in range(0, len(data), nbytes)]


def best_of(repeat: int, run: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def map_all(func: Callable[[bytes], bytes], pieces: list[bytes]) -> None:
    for piece in pieces:
        func(piece)


def resample_all(a: int, b: int, pieces: list[bytes], quality: str) -> None:
    r = Resampler(a, b, quality=quality)  # type: ignore[arg-type]
    for piece in pieces:
        r.process(piece)
    r.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--quality", choices=["low", "medium", "high"], default="medium"
    )
    args = parser.parse_args()
    seconds: float = args.seconds
    repeat: int = args.repeat

    rows: list[tuple[str, str, float]] = []

    def measure(name: str, mode: str, run: Callable[[], object]) -> None:
        rows.append((name, mode, seconds / best_of(repeat, run)))

    for a, b in RESAMPLE_PAIRS:
        data = noise(a, seconds)
        name = f"Resampler {a / 1000:g}k -> {b / 1000:g}k ({args.quality})"
        for mode, pieces in [
            ("one call", [data]),
            ("20 ms", chunks(data, a * 2 * 20 // 1000)),
        ]:
            run = functools.partial(resample_all, a, b, pieces, args.quality)
            measure(name, mode, run)

    pcm8 = noise(8000, seconds)
    codes = noise(8000, seconds, width=1)
    for label, func, payload in [
        ("pcm16_to_ulaw (8k)", pcm16_to_ulaw, pcm8),
        ("ulaw_to_pcm16 (8k)", ulaw_to_pcm16, codes),
        ("pcm16_to_alaw (8k)", pcm16_to_alaw, pcm8),
        ("alaw_to_pcm16 (8k)", alaw_to_pcm16, codes),
    ]:
        measure(label, "one call", functools.partial(func, payload))
        parts = chunks(payload, 8000 * len(payload) // len(codes) // 50)
        measure(label, "20 ms", functools.partial(map_all, func, parts))

    pcm24 = noise(24000, seconds)
    text = encode_audio(pcm24)
    measure("encode_audio (PCM16 24k)", "one call", lambda: encode_audio(pcm24))
    measure("decode_audio (PCM16 24k)", "one call", lambda: decode_audio(text))

    mic = noise(48000, seconds)
    mic_pieces = chunks(mic, 48000 * 2 * 20 // 1000)

    def to_phone() -> None:
        pipe = InputAudioPipeline(AudioFormat.pcm16(48000), PCMU)
        for piece in mic_pieces:
            pipe.feed(piece)
        pipe.flush()

    measure("InputAudioPipeline 48k PCM16 -> pcmu", "20 ms", to_phone)

    deltas = [encode_audio(p) for p in chunks(pcm24, 24000 * 2 * 20 // 1000)]

    def to_speaker() -> None:
        dec = OutputAudioDecoder(PCM16_24K, 48000)
        for delta in deltas:
            dec.decode(delta)
        dec.flush()

    measure("OutputAudioDecoder b64 24k -> 48k", "20 ms", to_speaker)

    width = max(len(name) for name, _, _ in rows)
    print(f"{seconds:g} s of audio, best of {repeat}\n")
    print(f"{'conversion':<{width}}  {'chunks':<8}  {'x real time':>12}")
    print(f"{'-' * width}  {'-' * 8}  {'-' * 12}")
    for name, mode, factor in rows:
        print(f"{name:<{width}}  {mode:<8}  {factor:>12,.0f}")


if __name__ == "__main__":
    main()
