"""Record a talk's wire session, then replay it deterministically."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import trio
import trio.testing

from realtime_trio.scripted import Talk, Target, TargetUnavailable
from realtime_trio.testing import CallTool, Rule, Say, Scenario

SCENARIO = Scenario(
    rules=[
        Rule(
            text="weather",
            steps=[CallTool(name="get_weather", arguments={"city": "Paris"})],
        ),
        Rule(tool="get_weather", steps=[Say(text="It is 22 degrees in Paris.")]),
        Rule(text="story", steps=[Say(text="A long story about the sea. " * 8)]),
        Rule(text="stop", steps=[Say(text="Okay, I stop.")]),
    ]
)


async def conversation(talk: Talk) -> list[str]:
    await talk.say("What's the weather in Paris?")
    await talk.expect_tool_call(
        "get_weather", arguments={"city": "Paris"}, output={"temp_c": 22}
    )
    first = await talk.expect_reply(contains="22")
    await talk.expect_first_audio()
    await talk.send_text("Stop")
    last = await talk.expect_reply(contains="stop")
    return [first.text, last.text]


async def test_a_recorded_talk_replays_the_same(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    recorder = Target.simulator().recording_to(tmp_path)
    async with recorder.talk(name="weather talk", scenario=SCENARIO) as talk:
        recorded = await conversation(talk)
    path = tmp_path / "weather_talk.jsonl"
    assert talk.recording == str(path)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert {line["direction"] for line in lines} == {"client", "server"}
    assert "sk-simulated" not in path.read_text()  # the key is never recorded

    async with Target.replay(tmp_path).talk(name="weather talk") as replayed_talk:
        replayed = await conversation(replayed_talk)
    assert replayed == recorded


async def test_audio_can_be_left_out_of_a_recording(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    target = Target.simulator().recording_to(tmp_path, elide_audio=True)
    async with target.talk(name="short", scenario=SCENARIO) as talk:
        await talk.say("Stop")
        await talk.expect_reply(contains="stop")
    lines = [
        json.loads(line) for line in (tmp_path / "short.jsonl").read_text().splitlines()
    ]
    appends = [
        line
        for line in lines
        if line.get("event", {}).get("type") == "input_audio_buffer.append"
    ]
    assert appends and all(
        line["event"]["audio"] == "" and line["elided"]["audio"] > 0 for line in appends
    )


async def test_replaying_a_missing_recording_says_how_to_make_it(
    tmp_path: Path,
) -> None:
    with pytest.raises(
        TargetUnavailable,
        match=r"no recording to replay for 'nothing'.*--realtime-record",
    ):
        async with Target.replay(tmp_path).talk(name="nothing"):
            pass  # pragma: no cover


async def barge_in(talk: Talk) -> dict[str, object]:
    # A tool call first: the answers then no longer keep step with the microphone's chunks.
    await conversation(talk)
    await talk.say("Tell me a long story.")
    turn = await talk.say("Stop", barge_in_after=0.3)
    interrupted = await talk.expect_response(status="cancelled")
    interruption = await talk.expect_truncated()
    reply = await talk.expect_reply(contains="stop")
    return {
        "played": turn.played_at_barge_in,
        "interrupted": interrupted.status,
        "truncated_ms": interruption.audio_end_ms,
        "reply": reply.text,
        "elapsed": talk.elapsed,
    }


def _wire(path: Path) -> list[tuple[float, str, str]]:
    """When, who and what, line by line."""
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    return [
        (line["t"], line["direction"], line.get("event", {}).get("type", "close"))
        for line in lines
    ]


def test_a_recorded_barge_in_replays_the_same(tmp_path: Path) -> None:
    # Two runs, as a recording run and a replay run are: each on its own mock clock.
    async def run(target: Target) -> dict[str, object]:
        async with target.talk(name="barge in", scenario=SCENARIO) as talk:
            return await barge_in(talk)

    def in_new_clock(target: Target) -> dict[str, object]:
        clock = trio.testing.MockClock(autojump_threshold=0)
        return trio.run(run, target, clock=clock)

    recorded = in_new_clock(Target.simulator().recording_to(tmp_path / "rec"))
    assert recorded["played"] == pytest.approx(0.3, abs=1e-4)
    assert recorded["interrupted"] == "cancelled"
    # Replayed (and recorded again): the same outcome, and the same wire, to the bit.
    replayed = in_new_clock(
        Target.replay(tmp_path / "rec").recording_to(
            tmp_path / "again", elide_audio=True
        )
    )
    assert replayed == recorded
    assert _wire(tmp_path / "again" / "barge_in.jsonl") == _wire(
        tmp_path / "rec" / "barge_in.jsonl"
    )
