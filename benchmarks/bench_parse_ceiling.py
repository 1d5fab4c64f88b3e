"""How fast typed parsing of the round trip's answer could get, with and without attrs records.

Run it directly (pytest does not collect it)::

    python benchmarks/bench_parse_ceiling.py [--quick] [--json out.json]

Issue 16 asks for a round trip within 1.1x of the asyncio floor; what is left
of the gap is the typed parsing of the answer, the ``session.updated`` that
``bench_peers.py`` and ``bench_rtt_paired.py`` send back (8 nested records).
This run says what any change could win there, on that very message:

* ``orjson.loads``: the JSON alone (the floor's client pays ``json.loads``);
* our parse (``EventCodec.parse``: orjson, then the generated structure
  functions of ``_core/serde_codegen.py``);
* **by hand** (``parse_by_hand.py``): ``orjson.loads`` and then the checks
  of our structure functions written out inline for this message, no hook
  call: what perfectly generated code could do;
* **the pure-Python bound**: ``orjson.loads`` and then building the same
  attrs records straight from the parsed dict, with no check, no lookup of
  a missing key and no hook call. No structure function that produces these
  records, however it is generated, can take less than this;
* **a compiled decoder**: msgspec decoding the same text in C into its own
  ``Struct`` mirrors of the records (tagged unions and ``UNSET`` included),
  when msgspec is installed (the ``bench`` extra has it). msgspec cannot
  produce attrs records here (it has no tagged unions of them, and drops
  unknown keys, which the records keep in ``extra_fields``), so this is
  the figure of leaving attrs/cattrs on the hot path.

Timing as in ``bench_events.py``: interleaved ``timeit``-style loops, best of
``--repeat``, this thread's CPU time, the garbage collector off in loops.

With ``--rtt`` it also measures what the bound would do to the round trip
itself, in interleaved blocks (``bench_rtt_paired.py``) against the
asyncio floor: realtime_trio as it is; the same client whose answer is built
by the bound (orjson, then the records without checks); and the same client
with the structuring skipped (orjson, then one record parsed once and handed
back each time), which is what any decoder, compiled or not, tends to.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_connection as bc  # noqa: E402
import bench_events  # noqa: E402
import bench_peers  # noqa: E402
import bench_rtt_paired  # noqa: E402
import bench_server  # noqa: E402
import parse_by_hand  # noqa: E402

from realtime_trio._core import server_events as sev  # noqa: E402
from realtime_trio._core import session_models as sm  # noqa: E402
from realtime_trio._core.serde import EventCodec, get_codec  # noqa: E402


def build_records(d: dict[str, Any]) -> sev.SessionUpdated:
    """The records of ``d`` built directly: the least any structure function does."""
    s = d["session"]
    a = s["audio"]
    i, o = a["input"], a["output"]
    td = i["turn_detection"]
    return sev.SessionUpdated(
        event_id=d["event_id"],
        session=sm.SessionConfig(
            object=s["object"],
            id=s["id"],
            expires_at=s["expires_at"],
            model=s["model"],
            instructions=s["instructions"],
            output_modalities=tuple(s["output_modalities"]),
            audio=sm.AudioConfig(
                input=sm.AudioInput(
                    format=sm.AudioPCM(rate=i["format"]["rate"]),
                    transcription=i["transcription"],
                    noise_reduction=i["noise_reduction"],
                    turn_detection=sm.ServerVad(
                        threshold=td["threshold"],
                        prefix_padding_ms=td["prefix_padding_ms"],
                        silence_duration_ms=td["silence_duration_ms"],
                        idle_timeout_ms=td["idle_timeout_ms"],
                        create_response=td["create_response"],
                        interrupt_response=td["interrupt_response"],
                    ),
                ),
                output=sm.AudioOutput(
                    format=sm.AudioPCM(rate=o["format"]["rate"]),
                    voice=o["voice"],
                    speed=o["speed"],
                ),
            ),
            include=s["include"],
            tools=tuple(s["tools"]),
            tool_choice=s["tool_choice"],
            max_output_tokens=s["max_output_tokens"],
            tracing=s["tracing"],
            prompt=s["prompt"],
        ),
    )


def msgspec_decoder() -> tuple[Callable[[str], Any] | None, str]:
    """msgspec's decoder of ``session.updated`` into Structs, or why there is none."""
    try:
        import msgspec_session
    except ImportError as exc:
        return None, f"{type(exc).__name__}: {exc}"
    return msgspec_session.decode, msgspec_session.VERSION


def msgspec_builtins(value: Any) -> Any:
    """A msgspec Struct as JSON values (`UNSET` fields left out)."""
    import msgspec

    return orjson.loads(msgspec.json.encode(value))


# --- the round trip with each parse (--rtt) ------------------------------------------

#: How the round trip's answer starts (bench_server.Frames: compact JSON, type first).
ANSWER_PREFIX = '{"type":"session.updated"'
#: The --rtt variants of realtime_trio, and what each does with the answer.
RTT_VARIANTS = {
    "realtime_trio": "as it is",
    "realtime_trio, by hand": "orjson.loads + inline checks",
    "realtime_trio, bound": "orjson.loads + records, no checks",
    "realtime_trio, no structuring": "orjson.loads, then a record parsed once",
}


def patch_parse(variant: str) -> None:
    """Make this process's codecs parse the round trip's answer as ``variant`` says."""
    if variant == "realtime_trio":
        return
    original = EventCodec.parse
    once: list[Any] = []

    def parse(self: EventCodec, message: str | bytes, *args: Any, **kw: Any) -> Any:
        if type(message) is not str or not message.startswith(ANSWER_PREFIX):
            return original(self, message, *args, **kw)
        parsed = orjson.loads(message)
        if variant == "realtime_trio, bound":
            return build_records(parsed)
        if variant == "realtime_trio, by hand":
            return parse_by_hand.structure_session_updated(parsed)
        if not once:
            once.append(original(self, message, *args, **kw))
        return once[0]

    EventCodec.parse = parse  # type: ignore[method-assign,assignment]


def rtt_worker(variant: str, port: int) -> None:
    """One client's side of the round trips (in its own process)."""
    if variant == "floor":
        bench_rtt_paired.worker("floor", port)
        return
    if variant not in RTT_VARIANTS:
        raise SystemExit(f"unknown round-trip variant {variant!r}")
    patch_parse(variant)
    bench_rtt_paired.worker("realtime_trio", port)


def measure_rtt(blocks: int, per_block: int) -> list[dict[str, Any]]:
    """Every variant and the floor, in interleaved blocks; p50 ratios to the floor."""
    clients = [*RTT_VARIANTS, "floor"]
    server = bc.Server(max_seconds=900, script=bench_peers.SERVER)
    try:
        print(bc.place_processes(server, pin=True))

        def command(client: str) -> list[str]:
            return [sys.executable, __file__, "--rtt-worker", client, str(server.port)]

        results = bench_rtt_paired.run_paired(
            command, clients, blocks=blocks, per_block=per_block
        )
    finally:
        server.stop()
    medians = bench_rtt_paired.summary(results)
    rows = []
    print(
        f"\nround trip in {blocks} interleaved blocks of {per_block}\n"
        "\n| client | what parses the answer | p50 µs | CPU µs/round trip "
        "| / floor, median (quartiles) |\n| --- | --- | ---: | ---: | ---: |"
    )
    for client in clients:
        row = {"client": client, **medians[client]}
        ratio = ""
        if client != "floor":
            ratios = sorted(bench_rtt_paired.block_ratios(results, client, "floor"))
            q1, _, q3 = statistics.quantiles(ratios, n=4)
            row.update(ratio=statistics.median(ratios), q1=q1, q3=q3)
            ratio = f"{row['ratio']:.3f} ({q1:.2f}-{q3:.2f})"
        rows.append(row)
        print(
            f"| {client} | {RTT_VARIANTS.get(client, 'json.loads')} "
            f"| {row['p50_us']:.0f} | {row['cpu_us']:.0f} | {ratio} |"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few-second smoke run")
    parser.add_argument("--repeat", type=int, help="loops per measurement (best of)")
    parser.add_argument(
        "--rtt", action="store_true", help="also the round trip with each parse"
    )
    parser.add_argument("--blocks", type=int, default=30, help="--rtt: blocks")
    parser.add_argument("--per-block", type=int, default=200, help="--rtt: per block")
    parser.add_argument("--json", metavar="PATH", help="also write the results here")
    parser.add_argument("--rtt-worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rtt_worker:
        rtt_worker(args.rtt_worker[0], int(args.rtt_worker[1]))
        return
    repeat: int = args.repeat or (3 if args.quick else 15)
    loop_seconds = (10 if args.quick else 20) / 1000

    text = bench_server.Frames().session_updated
    codec = get_codec()
    ours = codec.parse(text)
    assert type(ours) is sev.SessionUpdated
    assert codec.dump(ours) == orjson.loads(text)
    # The bound builds exactly what our parse builds.
    assert build_records(orjson.loads(text)) == ours, "the bound builds other records"
    assert parse_by_hand.structure_session_updated(orjson.loads(text)) == ours

    cases: list[tuple[str, Callable[[], object]]] = [
        ("orjson.loads (JSON only)", lambda: orjson.loads(text)),
        ("realtime_trio EventCodec.parse", lambda: codec.parse(text)),
        (
            "by hand: orjson.loads + inline checks",
            lambda: parse_by_hand.structure_session_updated(orjson.loads(text)),
        ),
        (
            "pure-Python bound: orjson.loads + records",
            lambda: build_records(orjson.loads(text)),
        ),
    ]
    decode, version = msgspec_decoder()
    if decode is not None:
        # It decoded all of it: back to JSON values, it is the message.
        assert msgspec_builtins(decode(text)) == orjson.loads(text)
        cases.append((f"msgspec {version} Structs (compiled)", lambda: decode(text)))
    else:
        print(f"msgspec: skipped ({version}); pip install -e '.[bench]'")

    print(
        f"session.updated of the round trip, {len(text.encode())} bytes of JSON; best "
        f"of {repeat} interleaved loops (thread CPU time, gc off); load average "
        + ", ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    times = bench_events.best_of_interleaved(
        [func for _, func in cases], repeat, loop_seconds
    )
    rows: list[dict[str, Any]] = [
        {"name": name, "us": seconds * 1e6}
        for (name, _), seconds in zip(cases, times, strict=True)
    ]
    parse_us = rows[1]["us"]
    print("\n| parse | µs | x ours | typed part (minus orjson.loads) µs |")
    print("| --- | ---: | ---: | ---: |")
    for row in rows:
        typed = row["us"] - rows[0]["us"] if row is not rows[0] else 0.0
        if row["name"].startswith("msgspec"):
            typed = row["us"]  # it parses the JSON too
        print(
            f"| {row['name']} | {row['us']:.2f} | {row['us'] / parse_us:.2f} "
            f"| {typed:.2f} |"
        )
    print()
    for row in rows[2:]:
        print(
            f"{row['name']}: saves {parse_us - row['us']:.2f} µs "
            f"({1 - row['us'] / parse_us:.0%}) of our parse"
        )
    out: dict[str, Any] = {"parse": rows}
    if args.rtt:
        out["rtt"] = measure_rtt(args.blocks, args.per_block)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
