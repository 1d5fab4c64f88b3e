"""Script files: parsing, and every error naming the file, the line and the path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from realtime_trio._scripted.script import (
    Expectation,
    ScriptError,
    UserTurn,
    load_script,
    loads_script,
    parse_script,
)
from realtime_trio.testing import CallTool, Say, Scenario

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples" / "scripts"

# The example of issue 13, as written there, with its `rules: [...]` filled in.
ISSUE_EXAMPLE = """\
name: weather in Paris
session: {instructions: "You are a weather assistant.", tools: [{type: function, name: get_weather, parameters: {type: object, properties: {city: {type: string}}}}]}
simulator: {rules: [{when: {text: weather}, steps: [{call_tool: {name: get_weather, arguments: {city: Paris}}}]}]}
turns:
  - user: {say: "What's the weather in Paris?"}     # or {text: ...}, {audio: file.wav}, {silence: 0.5}, {dtmf: "1"}; optional barge_in_after
    expect:
      - tool_call: {name: get_weather, arguments: {city: Paris}, output: {temp_c: 22}}
      - reply: {contains: "22", within: 5}
  - user: {say: "Tell me a long story."}
    expect: []                                       # the next turn barges into this answer
  - user: {say: "Stop", barge_in_after: 0.3}         # starts once 0.3 s of the answer in progress were played
    expect:
      - response: {status: cancelled}                # the interrupted response (the simulator paces it, so it is still in progress)
"""


def test_the_issue_example_parses_exactly() -> None:
    script = loads_script(ISSUE_EXAMPLE, source=Path("weather.yaml"))
    assert script.name == "weather in Paris"
    assert script.session is not None
    assert script.session["instructions"] == "You are a weather assistant."
    assert script.session["tools"][0]["name"] == "get_weather"
    assert script.simulator is not None
    assert script.simulator.rules[0].text == "weather"
    assert script.simulator.rules[0].steps == (
        CallTool(name="get_weather", arguments={"city": "Paris"}),
    )
    first, second, third = script.turns
    assert first.user == UserTurn(kind="say", value="What's the weather in Paris?")
    assert first.expect == (
        Expectation(
            kind="tool_call",
            options={
                "name": "get_weather",
                "arguments": {"city": "Paris"},
                "output": {"temp_c": 22},
            },
            path="turns[0].expect[0]",
            line=7,
        ),
        Expectation(
            kind="reply",
            options={"contains": "22", "within": 5},
            path="turns[0].expect[1]",
            line=8,
        ),
    )
    assert second.user == UserTurn(kind="say", value="Tell me a long story.")
    assert second.expect == ()
    assert third.user == UserTurn(kind="say", value="Stop", barge_in_after=0.3)
    assert [e.kind for e in third.expect] == ["response"]
    assert third.expect[0].options == {"status": "cancelled"}
    assert script.stem == "weather"


def test_json_is_a_script_too() -> None:
    data = {
        "name": "json",
        "turns": [{"user": {"text": "hi"}, "expect": [{"reply": {"contains": "hi"}}]}],
    }
    script = loads_script(json.dumps(data, indent=2))
    assert script == parse_script(data)
    assert script.turns[0].expect[0].options == {"contains": "hi"}
    assert script.turns[0].expect[0].line == 9  # json.dumps' layout


def test_every_user_kind_and_relative_audio(tmp_path: Path) -> None:
    text = """\
sip: {handler: "agent.py:handler"}
simulator: {transcripts: ["hello"], rules: [{steps: [{say: {text: hi, audio: hi.wav}}]}]}
turns:
  - user: {audio: hello.wav}
  - user: {silence: 0.5}
  - user: {dtmf: 12}
  - user: {say: spoken, barge_in_after: 0}
  - expect: [{no_reply: {within: 0}}, {closed: null}, {error: {code: bad}}]
"""
    file = tmp_path / "realtime_all.yaml"
    file.write_text(text)
    (tmp_path / "hello.wav").write_bytes(b"")  # checked to exist, read when played
    script = load_script(file)
    assert script.name == "realtime_all"
    assert script.sip
    assert script.sip_handler == "agent.py:handler"
    users = [turn.user for turn in script.turns]
    assert users[:4] == [
        UserTurn(kind="audio", value=str(tmp_path / "hello.wav")),
        UserTurn(kind="silence", value=0.5),
        UserTurn(kind="dtmf", value="12"),
        UserTurn(kind="say", value="spoken", barge_in_after=0.0),
    ]
    assert users[4] is None
    assert script.simulator == Scenario(
        transcripts=("hello",),
        rules=Scenario.from_dict(
            {"rules": [{"steps": [{"say": {"text": "hi", "audio": "hi.wav"}}]}]},
            base_dir=str(tmp_path),
        ).rules,
    )
    step = script.simulator.rules[0].steps[0]
    assert isinstance(step, Say)
    assert step.audio_file == str(tmp_path / "hi.wav")
    assert [(e.kind, dict(e.options)) for e in script.turns[4].expect] == [
        ("no_reply", {"within": 0}),
        ("closed", {}),
        ("error", {"code": "bad"}),
    ]


def test_descriptions_for_reports() -> None:
    script = loads_script(ISSUE_EXAMPLE)
    assert script.turns[0].user is not None
    assert script.turns[0].user.describe() == 'say "What\'s the weather in Paris?"'
    assert script.turns[2].user is not None
    assert script.turns[2].user.describe() == "say 'Stop' (barge in after 0.3 s)"
    assert [e.describe() for e in script.turns[0].expect] == [
        "tool_call get_weather {'city': 'Paris'}",
        "reply contains '22' within 5 s",
    ]
    silence = UserTurn(kind="silence", value=0.5)
    assert silence.describe() == "silence 0.5 s"


def error_of(text: str, name: str = "s.yaml") -> str:
    with pytest.raises(ScriptError) as caught:
        loads_script(text, source=Path(name))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{name}:")
    return message


BASE = "turns:\n  - user: {say: hi}\n"

ERRORS = {
    "syntax": (
        "turns:\n  - user: {say: hi\n  - expect: []\n",
        "s.yaml:3: not valid YAML: ",
    ),
    "tab": ("turns:\n\t- user: {say: hi}\n", "s.yaml:2: not valid YAML: "),
    "empty": ("", "s.yaml: the script is empty"),
    "not a mapping": (
        "- a\n- b\n",
        "s.yaml:1: must be a mapping with 'turns', not a list",
    ),
    "no turns": ("name: x\n", "s.yaml:1: has no 'turns'"),
    "empty turns": (
        "turns: []\n",
        "s.yaml:1: turns: must be a list of at least one turn",
    ),
    "unknown top key": (
        "name: x\nturn:\n  - user: {say: hi}\n",
        "s.yaml:2: turn: unknown key 'turn'; did you mean 'turns'?",
    ),
    "unknown top key, nothing close": (
        BASE + "colour: red\n",
        "s.yaml:3: colour: unknown key 'colour'; expected one of name, description,"
        " session, simulator, sip, turns",
    ),
    "duplicate key": (
        "name: a\nname: b\n" + BASE,
        "s.yaml:2: key 'name' is given twice",
    ),
    "unknown user kind": (
        "turns:\n  - user:\n      sya: hi\n",
        "s.yaml:3: turns[0].user.sya: unknown key 'sya'; did you mean 'say'?",
    ),
    "two user kinds": (
        "turns:\n  - user: {say: hi, text: hi}\n",
        "s.yaml:2: turns[0].user: has both 'say' and 'text': a turn does one thing",
    ),
    "no user kind": (
        "turns:\n  - user: {barge_in_after: 1}\n",
        "s.yaml:2: turns[0].user: needs one of say, text, audio, silence, dtmf",
    ),
    "empty say": (
        "turns:\n  - user: {say: ''}\n",
        "s.yaml:2: turns[0].user.say: must not be empty",
    ),
    "negative silence": (
        "turns:\n  - user: {silence: -1}\n",
        "s.yaml:2: turns[0].user.silence: must be more than 0 seconds, not -1",
    ),
    "silence as text": (
        "turns:\n  - user: {silence: long}\n",
        "s.yaml:2: turns[0].user.silence: must be a number of seconds, "
        "not the string 'long'",
    ),
    "missing audio file": (
        "turns:\n  - user: {audio: nothere.wav}\n",
        "s.yaml:2: turns[0].user.audio: nothere.wav: no such file",
    ),
    "dtmf without sip": (
        "turns:\n  - user: {dtmf: '1'}\n",
        "s.yaml:2: turns[0].user.dtmf: DTMF needs a phone call: add sip: {handler: ...}",
    ),
    "text on a phone call": (
        "sip: {handler: 'a.py:h'}\nturns:\n  - user: {text: hello}\n",
        "s.yaml:3: turns[0].user.text: a phone caller cannot type: "
        "use say, audio, silence or dtmf",
    ),
    "bad dtmf digit": (
        "sip: {handler: 'a.py:h'}\nturns:\n  - user: {dtmf: '1x'}\n",
        "s.yaml:3: turns[0].user.dtmf: 'x' is not a keypad digit",
    ),
    "sip without handler": (
        "sip: {}\n" + BASE,
        "s.yaml:1: sip: needs the call 'handler' under test",
    ),
    "sip true": (
        "sip: true\n" + BASE,
        "s.yaml:1: sip: must be a mapping such as {handler: agent.py:handler}, not true",
    ),
    "sip handler not a reference": (
        "sip: {handler: agent.py}\n" + BASE,
        "s.yaml:1: sip.handler: must be file.py:function or package.module:function",
    ),
    "unknown turn key": (
        "turns:\n  - user: {say: hi}\n    expects: []\n",
        "s.yaml:3: turns[0].expects: unknown key 'expects'; did you mean 'expect'?",
    ),
    "unknown expectation": (
        BASE + "    expect:\n      - replyy: {contains: x}\n",
        "s.yaml:4: turns[0].expect[0].replyy: unknown expectation 'replyy'; "
        "did you mean 'reply'?",
    ),
    "unknown option": (
        BASE + "    expect:\n      - reply:\n          contain: x\n",
        "s.yaml:5: turns[0].expect[0].reply.contain: unknown key 'contain'; "
        "did you mean 'contains'?",
    ),
    "bad within": (
        BASE + "    expect:\n      - reply: {contains: x}\n      - reply:\n"
        "          within: soon\n",
        "s.yaml:6: turns[0].expect[1].reply.within: must be a number of seconds",
    ),
    "bad regex": (
        BASE + "    expect: [{reply: {matches: '('}}]\n",
        "s.yaml:3: turns[0].expect[0].reply.matches: is not a regular expression",
    ),
    "bad status": (
        BASE + "    expect: [{response: {status: canceled}}]\n",
        "s.yaml:3: turns[0].expect[0].response.status: unknown status 'canceled'; "
        "did you mean 'cancelled'?",
    ),
    "tool call without a name": (
        BASE + "    expect: [{tool_call: {output: 1}}]\n",
        "s.yaml:3: turns[0].expect[0].tool_call: needs the tool's 'name'",
    ),
    "expectation with two keys": (
        BASE + "    expect: [{reply: {}, response: {}}]\n",
        "s.yaml:3: turns[0].expect[0]: must be a mapping with one key",
    ),
    "bad scenario": (
        "simulator:\n  rules:\n    - when: {text: 1}\n" + BASE,
        "s.yaml:3: simulator.rules[0].when.text: must be a string",
    ),
    "unknown scenario step": (
        "simulator:\n  rules:\n    - steps:\n      - sya: hi\n" + BASE,
        "s.yaml:4: simulator.rules[0].steps[0]: unknown step 'sya' in rules[0].steps[0]",
    ),
    "session not a mapping": (
        "session: fast\n" + BASE,
        "s.yaml:1: session: must be a mapping (the session), not the string 'fast'",
    ),
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_errors_name_the_file_the_line_and_the_path(case: str) -> None:
    text, expected = ERRORS[case]
    assert error_of(text).startswith(expected)


def test_error_attributes() -> None:
    with pytest.raises(ScriptError) as caught:
        loads_script(
            BASE + "    expect: [{reply: {within: 0}}]\n", source=Path("x.yml")
        )
    error = caught.value
    assert (error.source, error.path, error.line) == (
        Path("x.yml"),
        "turns[0].expect[0].reply.within",
        3,
    )
    assert error.problem == "must be more than 0 seconds, not 0"


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ScriptError, match=r"nope\.yaml: No such file or directory"):
        load_script(tmp_path / "nope.yaml")


def test_not_utf8(tmp_path: Path) -> None:
    file = tmp_path / "latin.yaml"
    file.write_bytes(b"name: caf\xe9\nturns: [{user: {say: hi}}]\n")
    with pytest.raises(ScriptError, match=r"latin\.yaml: not UTF-8 text"):
        load_script(file)


def test_python_tags_are_refused() -> None:
    message = error_of("name: !!python/object/apply:os.system [echo hi]\n" + BASE)
    assert "not valid YAML" in message


def test_the_shipped_examples_are_valid() -> None:
    files = sorted(EXAMPLES.glob("*.yaml"))
    assert len(files) >= 3
    for file in files:
        script = load_script(file)
        assert script.turns, file
