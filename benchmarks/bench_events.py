"""Events parsed and dumped per second: realtime_trio vs json, orjson and the openai SDK.

Run it directly (pytest does not collect it)::

    python benchmarks/bench_events.py [--quick] [--json out.json]

Three server events are measured: a ``response.output_audio.delta`` carrying
100 ms of audio (4,800 random PCM16 bytes, base64), and the ``response.done``
and ``session.updated`` examples of ``tests/data/examples``. Each operation is
timed ``timeit``-style: a loop of ``number`` calls (calibrated to last about
``--loop-ms``), repeated ``--repeat`` times, and the best loop is reported
(best-of-N: noise only ever adds time). The loops of all candidates for one
event are interleaved round-robin, so a burst of load elsewhere on the machine
spoils one loop of each rather than all loops of one. Loops are timed with
this thread's CPU time by default (``--clock wall`` for wall time): on a small
shared machine, time spent preempted by other processes is not the code's.
As with `timeit`, the garbage collector is off while a loop runs.

Parsing: ``json.loads`` (the floor), ``orjson.loads``, our
``EventCodec(json_library="json"|"orjson").parse``, and the openai SDK's
pydantic types (``TypeAdapter(RealtimeServerEvent)``: ``validate_json(text)``
and ``validate_python(json.loads(text))``; the faster is the "SDK typed"
figure). For context, the SDK connection's own receive path,
``construct_type_unchecked(json.loads(text))`` (no validation), is shown too.

Dumping: our ``dump_event`` (record to dict) and ``encode_event`` (record to
text), ``json.dumps(dict)``, ``orjson.dumps(dict)``, and the SDK model's
``model_dump_json()`` and ``to_json()`` (the faster is the "SDK" figure).
"""

from __future__ import annotations

import argparse
import binascii
import gc
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

import realtime_trio
from realtime_trio import EventCodec, dump_event, encode_event

EXAMPLES = Path(__file__).resolve().parent.parent / "tests" / "data" / "examples"
AUDIO_BYTES = 4_800  # 100 ms of PCM16 mono 24 kHz

#: The issue's targets for the audio delta.
MAX_PARSE_VS_JSON_LOADS = 2.0


def audio_delta_text() -> str:
    """A compact ``response.output_audio.delta`` with 100 ms of random audio."""
    payload = os.urandom(AUDIO_BYTES)
    event = {
        "type": "response.output_audio.delta",
        "event_id": "event_CCXGtNfnIBPxXLYfXJYkE",
        "response_id": "resp_CCXGsnANqMmA0KNajEVHP",
        "item_id": "item_CCXGsvjl2QHPPbnUsmkBY",
        "output_index": 0,
        "content_index": 0,
        "delta": binascii.b2a_base64(payload, newline=False).decode("ascii"),
    }
    return json.dumps(event, separators=(",", ":"))


def example_text(name: str) -> str:
    """An example event as a server sends it (compact JSON)."""
    obj = json.loads((EXAMPLES / f"{name}.json").read_text())
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


# --- timing -------------------------------------------------------------------


def calibrate(func: Callable[[], object], loop_seconds: float) -> int:
    """The number of calls that makes one loop last about ``loop_seconds``."""
    number = 1
    while True:
        start = time.perf_counter()
        for _ in range(number):
            func()
        elapsed = time.perf_counter() - start
        if elapsed >= loop_seconds / 4 or number >= 10_000_000:
            return max(1, int(number * loop_seconds / max(elapsed, 1e-9)))
        number *= 4


def best_of_interleaved(
    funcs: list[Callable[[], object]],
    repeat: int,
    loop_seconds: float,
    clock: Callable[[], float] = time.thread_time,
) -> list[float]:
    """Seconds per call of each function: the best of ``repeat`` loops.

    The loops are interleaved round-robin (A B C A B C ...), so that a burst of
    load from elsewhere on the machine spoils one loop of each candidate rather
    than every loop of one. The garbage collector is off while a loop runs.
    """
    numbers = [calibrate(func, loop_seconds) for func in funcs]
    best = [float("inf")] * len(funcs)
    gc_was_enabled = gc.isenabled()
    gc.collect()
    try:
        for _ in range(repeat):
            for index, (func, number) in enumerate(zip(funcs, numbers, strict=True)):
                gc.disable()
                start = clock()
                for _ in range(number):
                    func()
                elapsed = clock() - start
                if gc_was_enabled:
                    gc.enable()
                best[index] = min(best[index], elapsed / number)
    finally:
        if gc_was_enabled:
            gc.enable()
    return best


# --- the candidates -------------------------------------------------------------


class Sdk:
    """The openai SDK's pydantic types, or the reason they are unavailable."""

    def __init__(self) -> None:
        self.error: str | None = None
        self.version = ""
        try:
            import openai
            import pydantic
            from openai._models import construct_type_unchecked
            from openai.types.realtime import RealtimeServerEvent
        except Exception as exc:  # ImportError, or a broken install
            self.error = f"{type(exc).__name__}: {exc}"
            return
        self.version = openai.__version__
        self.adapter: Any = pydantic.TypeAdapter(RealtimeServerEvent)
        self.event_type: Any = RealtimeServerEvent
        self.construct: Callable[..., Any] = construct_type_unchecked


Row = dict[str, Any]


def measure_event(
    name: str,
    text: str,
    sdk: Sdk,
    repeat: int,
    loop_seconds: float,
    clock: Callable[[], float],
) -> dict[str, Any]:
    """Time every parser and dumper on one event's text."""
    codec_json = EventCodec(json_library="json")
    codec_orjson = EventCodec(json_library="orjson")
    obj = json.loads(text)
    record = codec_orjson.parse(text)
    assert type(record).__name__ != "UnknownEvent", name
    assert codec_json.parse(text) == record
    assert json.loads(json.dumps(dump_event(record))) == obj

    parse: list[tuple[str, Callable[[], object]]] = [
        ("json.loads (floor)", lambda: json.loads(text)),
        ("orjson.loads", lambda: orjson.loads(text)),
        ('EventCodec("json").parse', lambda: codec_json.parse(text)),
        ('EventCodec("orjson").parse', lambda: codec_orjson.parse(text)),
    ]
    dump: list[tuple[str, Callable[[], object]]] = [
        ("json.dumps(dict) (floor)", lambda: json.dumps(obj)),
        ("orjson.dumps(dict).decode()", lambda: orjson.dumps(obj).decode()),
        ("dump_event(record) -> dict", lambda: dump_event(record)),
        ("encode_event(record) -> str", lambda: encode_event(record)),
        ('EventCodec("json").encode', lambda: codec_json.encode(record)),
    ]
    if sdk.error is None:
        adapter, construct, event_type = sdk.adapter, sdk.construct, sdk.event_type
        model = adapter.validate_json(text)
        parse += [
            ("SDK validate_json(text)", lambda: adapter.validate_json(text)),
            (
                "SDK validate_python(json.loads)",
                lambda: adapter.validate_python(json.loads(text)),
            ),
            (
                "SDK construct_type_unchecked *",
                lambda: construct(value=json.loads(text), type_=event_type),
            ),
        ]
        dump += [
            ("SDK model_dump_json()", lambda: model.model_dump_json()),
            ("SDK to_json()", lambda: model.to_json()),
        ]

    def run(cases: list[tuple[str, Callable[[], object]]]) -> list[Row]:
        funcs = [func for _, func in cases]
        times = best_of_interleaved(funcs, repeat, loop_seconds, clock)
        return [
            {"name": label, "us": seconds * 1e6, "ops": 1 / seconds}
            for (label, _), seconds in zip(cases, times, strict=True)
        ]

    return {
        "event": name,
        "json_bytes": len(text.encode()),
        "parse": run(parse),
        "dump": run(dump),
    }


def _us(rows: list[Row], name: str) -> float | None:
    for row in rows:
        if row["name"] == name:
            return float(row["us"])
    return None


def summarize(result: dict[str, Any]) -> dict[str, Any]:
    """Ratios: ours / json.loads, and SDK / ours (parse and dump)."""
    parse, dump = result["parse"], result["dump"]
    floor = _us(parse, "json.loads (floor)")
    assert floor is not None
    out: dict[str, Any] = {}
    for lib in ("json", "orjson"):
        ours = _us(parse, f'EventCodec("{lib}").parse')
        assert ours is not None
        out[f"parse_{lib}_vs_json_loads"] = ours / floor
    validate_json = _us(parse, "SDK validate_json(text)")
    validate_python = _us(parse, "SDK validate_python(json.loads)")
    if validate_json is not None and validate_python is not None:
        sdk = min(validate_json, validate_python)
        out["sdk_parse_method"] = (
            "validate_json" if validate_json <= validate_python else "validate_python"
        )
        out["sdk_parse_us"] = sdk
        for lib in ("json", "orjson"):
            ours = _us(parse, f'EventCodec("{lib}").parse')
            assert ours is not None
            out[f"sdk_vs_parse_{lib}"] = sdk / ours
        construct = _us(parse, "SDK construct_type_unchecked *")
        assert construct is not None
        out["sdk_construct_vs_parse_orjson"] = construct / _us(  # type: ignore[operator]
            parse, 'EventCodec("orjson").parse'
        )
    dump_json = _us(dump, "SDK model_dump_json()")
    to_json = _us(dump, "SDK to_json()")
    encode = _us(dump, "encode_event(record) -> str")
    assert encode is not None
    json_dumps = _us(dump, "json.dumps(dict) (floor)")
    assert json_dumps is not None
    out["encode_vs_json_dumps"] = encode / json_dumps
    if dump_json is not None and to_json is not None:
        sdk = min(dump_json, to_json)
        out["sdk_dump_method"] = (
            "model_dump_json" if dump_json <= to_json else "to_json"
        )
        out["sdk_dump_us"] = sdk
        out["sdk_vs_encode_event"] = sdk / encode
    return out


# --- output ---------------------------------------------------------------------


def print_table(result: dict[str, Any], summary: dict[str, Any]) -> None:
    print(f"\n### {result['event']} ({result['json_bytes']:,} bytes of JSON)\n")
    for kind, floor_name in (
        ("parse", "json.loads (floor)"),
        ("dump", "json.dumps(dict) (floor)"),
    ):
        rows = result[kind]
        floor = _us(rows, floor_name)
        assert floor is not None
        width = max(32, *(len(r["name"]) for r in rows))
        ratio = f"x {floor_name.split('(')[0].strip()}"
        print(f"| {kind:<{width}} |    µs/op |     ops/s | {ratio:>16} |")
        print(f"| {'-' * width} | -------: | --------: | {'-' * 15}: |")
        for row in rows:
            print(
                f"| {row['name']:<{width}} | {row['us']:8.2f} | {row['ops']:9,.0f} "
                f"| {row['us'] / floor:16.2f} |"
            )
        print()
    lines = [
        f"ours / json.loads: json {summary['parse_json_vs_json_loads']:.2f}x, "
        f"orjson {summary['parse_orjson_vs_json_loads']:.2f}x"
    ]
    if "sdk_parse_us" in summary:
        lines.append(
            f"SDK typed parse ({summary['sdk_parse_method']}, the faster) / ours: "
            f"json {summary['sdk_vs_parse_json']:.2f}x, "
            f"orjson {summary['sdk_vs_parse_orjson']:.2f}x"
            f"  (SDK construct_type_unchecked / ours(orjson): "
            f"{summary['sdk_construct_vs_parse_orjson']:.2f}x)"
        )
    if "sdk_dump_us" in summary:
        lines.append(
            f"SDK dump ({summary['sdk_dump_method']}, the faster) / encode_event: "
            f"{summary['sdk_vs_encode_event']:.2f}x; "
            f"encode_event / json.dumps: {summary['encode_vs_json_dumps']:.2f}x"
        )
    for line in lines:
        print(line)


def targets(summary: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """The issue's targets for the audio delta, for each of our JSON libraries."""
    out = []
    for lib in ("orjson", "json"):
        ratio = summary[f"parse_{lib}_vs_json_loads"]
        out.append(
            (
                f'typed parse of an audio delta, EventCodec("{lib}") <= '
                f"{MAX_PARSE_VS_JSON_LOADS:g}x json.loads",
                f"{ratio:.2f}x",
                ratio <= MAX_PARSE_VS_JSON_LOADS,
            )
        )
        if "sdk_parse_us" in summary:
            ratio = summary[f"sdk_vs_parse_{lib}"]
            out.append(
                (
                    f'typed parse of an audio delta, EventCodec("{lib}") faster '
                    "than the SDK's typed parsing",
                    f"SDK/ours {ratio:.2f}x",
                    ratio > 1.0,
                )
            )
    return out


def machine() -> dict[str, str]:
    import importlib.metadata as md

    def version(dist: str) -> str:
        try:
            return md.version(dist)
        except md.PackageNotFoundError:
            return "not installed"

    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": str(os.cpu_count()),
        "realtime_trio": realtime_trio.__version__,
        **{
            d: version(d)
            for d in (
                "orjson",
                "cattrs",
                "attrs",
                "openai",
                "pydantic",
                "pydantic-core",
            )
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few-second smoke run")
    parser.add_argument("--repeat", type=int, help="loops per measurement (best of)")
    parser.add_argument("--loop-ms", type=float, help="target duration of one loop")
    parser.add_argument(
        "--clock",
        choices=["cpu", "wall"],
        default="cpu",
        help="time loops by this thread's CPU time (default) or wall time",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the results here")
    args = parser.parse_args()
    clock = time.thread_time if args.clock == "cpu" else time.perf_counter
    repeat: int = args.repeat or (3 if args.quick else 15)
    loop_seconds: float = (args.loop_ms or (10 if args.quick else 20)) / 1000

    sdk = Sdk()
    info = machine()
    print(
        f"Python {info['python']}, {info['cpus']} CPUs; realtime_trio "
        f"{info['realtime_trio']}, orjson {info['orjson']}, cattrs {info['cattrs']}, "
        f"openai {info['openai']}, pydantic {info['pydantic']}"
    )
    print(
        f"best of {repeat} interleaved loops of ~{loop_seconds * 1000:g} ms each "
        f"({args.clock} time), gc off in loops; load average "
        + ", ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    if sdk.error is not None:
        print(f"openai SDK: skipped ({sdk.error})")

    cases = [
        ("response.output_audio.delta (100 ms audio)", audio_delta_text()),
        ("response.done (with usage)", example_text("response.done")),
        ("session.updated", example_text("session.updated")),
    ]
    results = []
    for name, text in cases:
        result = measure_event(name, text, sdk, repeat, loop_seconds, clock)
        summary = summarize(result)
        result["summary"] = summary
        results.append(result)
        print_table(result, summary)
    if sdk.error is None:
        print(
            "\n* construct_type_unchecked(json.loads(text)) is what the SDK's "
            "connection.recv() does: it builds the models without validating."
        )

    checks = targets(results[0]["summary"])
    print("\n### Targets (audio delta)\n")
    for label, figure, ok in checks:
        print(f"- {'PASS' if ok else 'FAIL'}: {label}: {figure}")

    if args.json:
        out = {
            "machine": info,
            "repeat": repeat,
            "loop_seconds": loop_seconds,
            "clock": args.clock,
            "sdk_skipped": sdk.error,
            "events": results,
            "targets": [
                {"target": label, "figure": figure, "pass": ok}
                for label, figure, ok in checks
            ],
        }
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
