"""Soak: does memory stay flat while a client streams against the simulator?

::

    python benchmarks/soak.py [--seconds 60] [--say-chars 3000] [--sim-arg=--flag ...]

Two processes of their own, both on 127.0.0.1 only:

* the **simulator**, ``python -m realtime_trio.testing --port 0`` (the same
  program as ``realtime-trio simulate``) with output paced as fast as possible
  (the default) and a scenario whose every response says ``--say-chars``
  characters (the default, 3,000, makes 200 audio deltas of 100 ms per
  response);
* a **client** (this file with ``--client URL``): `realtime_trio.open_realtime`
  with server VAD off, which for ``--seconds``
  - streams audio without pause: 100 ms PCM16 chunks through ``send_audio``
    as fast as backpressure lets them go, clearing the input buffer
    (``clear_audio``) after every second of audio;
  - asks for responses one after the other (``create_response``), out of
    band (``conversation: "none"``, so that the conversation, which the real
    API also keeps, does not grow with each response's audio), and reads
    every event.

This script samples the resident set size (psutil) of both processes every
second, then prints a table (start, every 10 s, end, peak) and the growth
per minute, the least-squares slope of the samples from 10 s on (the first
seconds are warm-up: buffers and caches filling to their bounds; a slope is
less sensitive than two end points to the rise and fall of one response's
buffers). It stops by itself:
the client after ``--seconds``, the simulator when told to (SIGINT), and
both are killed if they overrun by 60 s. Not collected by pytest.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped,unused-ignore]

ROOT = Path(__file__).resolve().parent.parent
KEY = "sk-soak"
#: 100 ms of PCM16 mono 24 kHz: a quiet 440 Hz tone (the content does not matter).
CHUNK_BYTES = 4_800
#: Chunks between two ``clear_audio`` calls (one second of audio).
CHUNKS_PER_CLEAR = 10
OVERRUN_S = 60.0


# --- the client process -----------------------------------------------------------------


async def _client(url: str, seconds: float) -> dict[str, Any]:
    import trio

    import realtime_trio
    from realtime_trio import events
    from realtime_trio.testing import tone

    chunk = tone(100, frequency=440)[:CHUNK_BYTES]
    stats = {
        "events": 0,
        "audio_deltas": 0,
        "responses": 0,
        "chunks_sent": 0,
        "clears": 0,
    }
    done = trio.Event()
    session = events.SessionConfig(
        audio=events.AudioConfig(input=events.AudioInput(turn_detection=None))
    )
    async with realtime_trio.open_realtime(
        model="gpt-realtime", url=url, api_key=KEY, session=session
    ) as conn:
        print("connected", flush=True)

        async def read() -> None:
            nonlocal done
            async for event in conn:
                stats["events"] += 1
                if isinstance(event, events.ResponseOutputAudioDelta):
                    stats["audio_deltas"] += 1
                elif isinstance(event, events.ResponseDone):
                    stats["responses"] += 1
                    done.set()

        async def stream_audio() -> None:
            while True:
                for _ in range(CHUNKS_PER_CLEAR):
                    await conn.send_audio(chunk)
                    stats["chunks_sent"] += 1
                await conn.clear_audio()
                stats["clears"] += 1

        async def ask() -> None:
            nonlocal done
            while True:
                done = trio.Event()
                await conn.create_response(
                    events.ResponseCreateParams(conversation="none")
                )
                await done.wait()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(read)
            nursery.start_soon(stream_audio)
            nursery.start_soon(ask)
            await trio.sleep(seconds)
            nursery.cancel_scope.cancel()
    return stats


def run_client(url: str, seconds: float) -> None:
    import trio

    stats = trio.run(_client, url, seconds)
    print(json.dumps(stats), flush=True)


# --- the driver ---------------------------------------------------------------------------


def _rss_mib(process: psutil.Process) -> float:
    try:
        return float(process.memory_info().rss) / 2**20
    except psutil.Error:
        return float("nan")


def _start_simulator(
    scenario: Path, extra: list[str]
) -> tuple[subprocess.Popen[str], str]:
    command = [
        sys.executable,
        "-m",
        "realtime_trio.testing",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--scenario",
        str(scenario),
        *extra,
    ]
    sim = subprocess.Popen(
        command, stdout=subprocess.PIPE, text=True, cwd=ROOT, env=_env()
    )
    assert sim.stdout is not None
    url = sim.stdout.readline().strip()
    if not url.startswith("ws://127.0.0.1:"):
        sim.kill()
        raise SystemExit(f"the simulator did not start (first line: {url!r})")
    return sim, url


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _stop(process: subprocess.Popen[str], how: int = signal.SIGINT) -> None:
    if process.poll() is None:
        process.send_signal(how)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def drive(seconds: float, say_chars: int, sim_args: list[str]) -> None:
    sentence = "This is a long answer that keeps the simulator streaming audio. "
    text = (sentence * (say_chars // len(sentence) + 1))[:say_chars]
    with tempfile.TemporaryDirectory() as tmp:
        scenario = Path(tmp) / "soak.json"
        scenario.write_text(json.dumps({"rules": [{"steps": [{"say": text}]}]}))
        sim, url = _start_simulator(scenario, sim_args)
        client = subprocess.Popen(
            [sys.executable, __file__, "--client", url, "--seconds", str(seconds)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=_env(),
        )
        samples: list[tuple[float, float, float]] = []
        sim_ps, client_ps = psutil.Process(sim.pid), psutil.Process(client.pid)
        try:
            assert client.stdout is not None
            if client.stdout.readline().strip() != "connected":
                raise SystemExit(f"the client failed (exit {client.wait()})")
            start = time.monotonic()
            while client.poll() is None:
                elapsed = time.monotonic() - start
                if elapsed > seconds + OVERRUN_S:
                    raise SystemExit("the client overran; killed")
                samples.append((elapsed, _rss_mib(sim_ps), _rss_mib(client_ps)))
                time.sleep(max(0.0, len(samples) - (time.monotonic() - start)))
            output = client.stdout.read().strip().splitlines()
            if client.returncode != 0 or not output:
                raise SystemExit(f"the client failed (exit {client.returncode})")
            stats = json.loads(output[-1])
        finally:
            _stop(client, signal.SIGKILL)
            _stop(sim)
    _report(samples, stats, seconds, say_chars, sim_args)


def _report(
    samples: list[tuple[float, float, float]],
    stats: dict[str, Any],
    seconds: float,
    say_chars: int,
    sim_args: list[str],
) -> None:
    args = " ".join(sim_args) or "(none)"
    print(
        f"soak: {seconds:g} s, responses of {say_chars} characters, "
        f"extra simulator flags: {args}"
    )
    print(
        f"client: {stats['responses']} responses, {stats['audio_deltas']} audio "
        f"deltas, {stats['events']} events received; {stats['chunks_sent']} "
        f"chunks of 100 ms sent ({stats['chunks_sent'] / 10 / seconds:.0f}x real "
        f"time), {stats['clears']} clears"
    )
    print()
    print(f"{'t (s)':>6}  {'simulator RSS (MiB)':>20}  {'client RSS (MiB)':>17}")
    shown = [s for s in samples if round(s[0]) % 10 == 0 or s is samples[0]]
    if samples[-1] not in shown:
        shown.append(samples[-1])
    last_decade = -1
    for elapsed, sim_rss, client_rss in shown:
        decade = round(elapsed) // 10
        if decade == last_decade and (elapsed, sim_rss, client_rss) != samples[-1]:
            continue
        last_decade = decade
        print(f"{elapsed:6.1f}  {sim_rss:20.1f}  {client_rss:17.1f}")
    print(
        f"{'peak':>6}  {max(s[1] for s in samples):20.1f}  "
        f"{max(s[2] for s in samples):17.1f}"
    )
    steady = [s for s in samples if s[0] >= 10] or samples
    if len(steady) > 1:
        print()
        print(
            f"growth from {steady[0][0]:.0f} s to the end (least-squares slope), "
            f"per minute: simulator {_slope(steady, 1) * 60:+.1f} MiB, "
            f"client {_slope(steady, 2) * 60:+.1f} MiB"
        )


def _slope(samples: list[tuple[float, float, float]], column: int) -> float:
    """MiB per second: the least-squares slope of one column over time."""
    times = [s[0] for s in samples]
    values = [s[column] for s in samples]
    mean_t, mean_v = sum(times) / len(times), sum(values) / len(values)
    spread = sum((t - mean_t) ** 2 for t in times)
    return (
        sum((t - mean_t) * (v - mean_v) for t, v in zip(times, values, strict=True))
        / spread
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument(
        "--say-chars",
        type=int,
        default=3_000,
        help="characters per response (default: %(default)s)",
    )
    parser.add_argument(
        "--sim-arg",
        action="append",
        default=[],
        help="an extra flag for the simulator (repeatable; --sim-arg=--flag)",
    )
    parser.add_argument("--client", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not 1 <= args.seconds <= 3_600:
        parser.error("--seconds must be between 1 and 3600")
    if args.client:
        run_client(args.client, args.seconds)
    else:
        drive(args.seconds, args.say_chars, args.sim_arg)


if __name__ == "__main__":
    main()
