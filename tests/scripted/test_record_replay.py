"""Record a talk's wire session, then replay it deterministically."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import trio
import trio.testing

from realtime_trio.scripted import ExpectationFailed, Talk, Target, TargetUnavailable
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


GREETING = Scenario(rules=[Rule(text="hello", steps=[Say(text="Hi, stop me.")])])


def _record(
    tmp_path: Path, turn: str, session: dict[str, object] | None = None
) -> None:
    """Record a talk of one turn, ``text:WORDS`` or ``say:WORDS``, in its own run."""

    async def main() -> None:
        target = Target.simulator().recording_to(tmp_path)
        async with target.talk(
            name="greeting", scenario=GREETING, session=session
        ) as talk:
            await _turn(talk, turn)
            await talk.expect_reply(contains="stop")

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))


async def _turn(talk: Talk, turn: str) -> None:
    kind, words = turn.split(":", 1)
    if kind == "say":
        await talk.say(words)
    else:
        await talk.send_text(words)


def _replay(tmp_path: Path, turn: str, session: dict[str, object] | None = None) -> str:
    """Replay the recording with a talk of one turn; the failure's message."""

    async def main() -> None:
        # A bound on the mock clock: a replay that waits for an answer that
        # never comes jumps from keepalive ping to keepalive ping forever.
        with trio.fail_after(600):
            async with Target.replay(tmp_path).talk(
                name="greeting", session=session
            ) as talk:
                await _turn(talk, turn)
                await talk.expect_reply(contains="stop")

    with pytest.raises(ExpectationFailed) as caught:
        trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    return str(caught.value)


def test_a_message_the_recording_does_not_have_fails_at_once(tmp_path: Path) -> None:
    _record(tmp_path, "say:hello")
    message = _replay(tmp_path, "text:hello")
    assert message.splitlines()[1] == (
        "     got the test sent conversation.item.create with text 'hello'; "
        "the recording has input_audio_buffer.append here: "
        "record again with --realtime-record DIR"
    )
    assert f"wire recording: {tmp_path / 'greeting.jsonl'} (replayed" in message


def test_a_changed_text_fails_with_what_the_recording_has(tmp_path: Path) -> None:
    _record(tmp_path, "text:hello")
    message = _replay(tmp_path, "text:tell me about tax law")
    assert (
        "the test sent conversation.item.create with text 'tell me about tax law'; "
        "the recording has 'hello' here: record again with --realtime-record DIR"
    ) in message


def test_changed_instructions_fail_with_what_the_recording_has(tmp_path: Path) -> None:
    _record(tmp_path, "text:hello", session={"instructions": "Be brief."})
    message = _replay(tmp_path, "text:hello", session={"instructions": "Be long."})
    assert (
        "the test sent session.update with session.instructions 'Be long.'; "
        "the recording has 'Be brief.' here"
    ) in message


def test_changed_speech_fails_against_a_recording_with_its_audio(
    tmp_path: Path,
) -> None:
    _record(tmp_path, "say:hello")
    message = _replay(tmp_path, "say:hello there")
    assert (
        "the test sent input_audio_buffer.append with other audio than the "
        "recording has at byte"
    ) in message


def test_a_failure_in_a_replay_names_the_recording(tmp_path: Path) -> None:
    _record(tmp_path, "text:hello")

    async def main() -> None:
        async with Target.replay(tmp_path).talk(name="greeting") as talk:
            await talk.send_text("hello")
            await talk.expect_reply(contains="goodbye")

    with pytest.raises(ExpectationFailed) as caught:
        trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    path = tmp_path / "greeting.jsonl"
    assert str(caught.value).splitlines()[-1] == (
        f"wire recording: {path} (replayed; record again with --realtime-record DIR)"
    )
