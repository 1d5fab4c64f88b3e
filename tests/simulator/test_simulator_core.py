"""Sans-IO building blocks of the simulator: VAD, voice, ids, scenarios, errors, config."""

from __future__ import annotations

import inspect
import json
import math

import pytest

from realtime_trio._core.options import option_names
from realtime_trio._core.serde import get_codec
from realtime_trio.audio import write_wav
from realtime_trio.testing import (
    CallTool,
    CloseConnection,
    ConnectionFault,
    Delay,
    DropConnection,
    Fail,
    RealtimeSimulator,
    Rule,
    Say,
    Scenario,
    ScenarioError,
    open_simulator,
    silence,
    synthesize_speech,
    tone,
)
from realtime_trio.testing._model.api_errors import ApiError, from_protocol_error
from realtime_trio.testing._model.ids import IdFactory
from realtime_trio.testing._model.rendering import split_words, to_output_format
from realtime_trio.testing._model.session_config import (
    apply_update,
    default_session,
    server_vad_defaults,
)
from realtime_trio.testing._model.vad import (
    EnergyVad,
    SpeechStarted,
    SpeechStopped,
    VadParams,
    rms_dbfs,
    threshold_dbfs,
)
from realtime_trio.testing._server.options import (
    SIMULATOR_DEFAULTS,
    SimulatorOptions,
    session_settings,
)

# --- VAD --------------------------------------------------------------------------


def test_threshold_maps_linearly_to_dbfs() -> None:
    assert threshold_dbfs(0.0) == -60.0
    assert threshold_dbfs(0.5) == -35.0
    assert threshold_dbfs(1.0) == -10.0


def test_tone_levels_are_as_asked() -> None:
    assert rms_dbfs(tone(500, dbfs=-20)) == pytest.approx(-20, abs=0.2)
    assert rms_dbfs(tone(500, dbfs=-50)) == pytest.approx(-50, abs=0.5)
    assert rms_dbfs(silence(100)) == -math.inf


def test_vad_reports_padded_start_and_silence_included_end() -> None:
    vad = EnergyVad(
        VadParams(threshold=0.5, prefix_padding_ms=300, silence_duration_ms=200)
    )
    events = vad.feed(silence(1000) + tone(800) + silence(500))
    assert events == [
        SpeechStarted(audio_start_ms=700),
        SpeechStopped(audio_end_ms=2000),
    ]
    assert not vad.in_speech
    assert vad.position_ms == 2300


def test_vad_start_is_not_before_the_buffer_start() -> None:
    vad = EnergyVad(VadParams(prefix_padding_ms=300))
    assert vad.feed(silence(100) + tone(200)) == [SpeechStarted(audio_start_ms=0)]
    vad2 = EnergyVad(VadParams(prefix_padding_ms=300))
    vad2.skip_ms(1000)
    vad2.reset(buffer_start_ms=1000)
    assert vad2.feed(silence(100) + tone(200)) == [SpeechStarted(audio_start_ms=1000)]


def test_vad_ignores_quiet_noise_and_short_clicks() -> None:
    vad = EnergyVad(VadParams())
    assert vad.feed(tone(2000, dbfs=-50)) == []
    assert vad.feed(tone(20) + silence(300)) == []  # 20 ms < 30 ms minimum


def test_vad_threshold_moves_the_level() -> None:
    quiet = silence(200) + tone(500, dbfs=-30) + silence(400)
    assert EnergyVad(VadParams(threshold=0.5)).feed(quiet)  # -30 > -35
    assert EnergyVad(VadParams(threshold=0.8)).feed(quiet) == []  # -30 < -20


def test_vad_short_pauses_do_not_end_speech() -> None:
    vad = EnergyVad(VadParams(silence_duration_ms=200))
    events = vad.feed(tone(300) + silence(150) + tone(300) + silence(300))
    assert [type(e) for e in events] == [SpeechStarted, SpeechStopped]
    assert events[1] == SpeechStopped(audio_end_ms=950)


def test_vad_is_chunking_invariant() -> None:
    pcm = silence(333) + tone(777) + silence(451) + tone(100) + silence(300)
    whole = EnergyVad(VadParams()).feed(pcm)
    chunked_vad = EnergyVad(VadParams())
    chunked = []
    for start in range(0, len(pcm), 317):
        chunked += chunked_vad.feed(pcm[start : start + 317])
    assert whole == chunked


def test_vad_params_from_turn_detection() -> None:
    assert VadParams.from_turn_detection(server_vad_defaults()) == VadParams(
        0.5, 300, 200
    )
    semantic = VadParams.from_turn_detection(
        {"type": "semantic_vad", "eagerness": "high"}
    )
    assert semantic.silence_duration_ms == 250
    low = VadParams.from_turn_detection({"type": "semantic_vad", "eagerness": "low"})
    assert low.silence_duration_ms == 1000


def test_vad_at_8khz() -> None:
    import numpy as np

    pcm24 = np.frombuffer(silence(500) + tone(600) + silence(400), dtype="<i2")
    pcm8 = pcm24[::3].astype("<i2").tobytes()
    events = EnergyVad(VadParams(), rate=8000).feed(pcm8)
    assert events == [
        SpeechStarted(audio_start_ms=200),
        SpeechStopped(audio_end_ms=1300),
    ]


# --- voice ------------------------------------------------------------------------------


def test_speech_is_deterministic_and_speech_level() -> None:
    a = synthesize_speech("Hello there, how are you?")
    assert a == synthesize_speech("Hello there, how are you?")
    assert a != synthesize_speech("Hello there, how are you?", seed=1)
    assert len(a) == 2 * 24 * 25 * 60  # 25 characters at 60 ms, PCM16 24 kHz
    assert -26 < rms_dbfs(a) < -18
    vad = EnergyVad(VadParams())
    events = vad.feed(a + silence(400))
    assert [type(e) for e in events] == [SpeechStarted, SpeechStopped]


def test_speech_duration_is_capped() -> None:
    assert len(synthesize_speech("x" * 1000, max_ms=2000)) == 2 * 24 * 2000
    assert len(synthesize_speech("")) == 2 * 24 * 200


def test_g711_output_is_8khz() -> None:
    pcm = tone(1000)
    assert len(to_output_format(pcm, "audio/pcmu")) == 8000
    assert len(to_output_format(pcm, "audio/pcma")) == 8000
    assert to_output_format(pcm, "audio/pcm") is pcm


def test_split_words_round_trips() -> None:
    for text in ["You said: hello  there", "  leading", "", "one"]:
        assert "".join(split_words(text)) == text
    assert split_words("a b c") == ["a ", "b ", "c"]


# --- ids ------------------------------------------------------------------------------------


def test_ids_are_seeded_and_shaped_like_real_ones() -> None:
    a, b = IdFactory(7, 1), IdFactory(7, 1)
    assert [a.event() for _ in range(3)] == [b.event() for _ in range(3)]
    assert IdFactory(7, 2).event() != IdFactory(7, 1).event()
    sess = a.new("sess_")
    assert sess.startswith("sess_") and len(sess) == 5 + 22 and sess[5:].isalnum()
    call = a.hex("rtc_")
    assert call.startswith("rtc_") and len(call) == 36


# --- scenarios --------------------------------------------------------------------------------


def test_scenario_from_dict_covers_every_step(tmp_path: object) -> None:
    data = {
        "transcripts": ["what's the weather?"],
        "instructions": "Be brief.",
        "rules": [
            {
                "when": {"text": "weather"},
                "steps": [
                    {
                        "call_tool": {
                            "name": "get_weather",
                            "arguments": {"city": "Paris"},
                        }
                    }
                ],
            },
            {"when": {"tool": "get_weather"}, "steps": [{"say": "Sunny."}]},
            {
                "when": {"pattern": "^bye"},
                "times": 1,
                "steps": [
                    {"say": {"text": "Bye!"}},
                    {"close": {"code": 1000, "reason": "done"}},
                ],
            },
            {
                "when": {"turn": 5},
                "steps": [
                    {"delay": 0.5},
                    {"fail": {"code": "boom", "message": "Boom."}},
                    {"drop": True},
                ],
            },
        ],
        "faults": [
            {"after_events": 40, "drop": True},
            {"after_events": 50, "code": 4001},
        ],
    }
    scenario = Scenario.from_json(json.dumps(data))
    assert scenario.transcripts == ("what's the weather?",)
    assert scenario.instructions == "Be brief."
    assert scenario.rules[0] == Rule(
        text="weather",
        steps=(CallTool(name="get_weather", arguments={"city": "Paris"}),),
    )
    assert scenario.rules[0].steps[0].arguments_json == '{"city": "Paris"}'  # type: ignore[union-attr]
    assert scenario.rules[2].steps == (
        Say(text="Bye!"),
        CloseConnection(code=1000, reason="done"),
    )
    assert scenario.rules[2].times == 1
    assert scenario.rules[3].steps == (
        Delay(seconds=0.5),
        Fail(code="boom", message="Boom."),
        DropConnection(),
    )
    assert scenario.faults == (
        ConnectionFault(after_events=40, drop=True),
        ConnectionFault(after_events=50, code=4001),
    )


def test_rule_matching() -> None:
    rule = Rule(text="Weather", steps=())
    assert rule.matches(kind="user", text="what's the weather?", tool=None, turn=1)
    assert not rule.matches(kind="user", text="hello", tool=None, turn=1)
    tool_rule = Rule(tool="f", steps=())
    assert tool_rule.matches(kind="tool", text="{}", tool="f", turn=2)
    assert not tool_rule.matches(kind="user", text="f", tool=None, turn=2)
    assert Rule(turn=2, steps=()).matches(kind="none", text="", tool=None, turn=2)
    assert Rule(pattern=r"\d+", steps=()).matches(
        kind="user", text="a 42", tool=None, turn=1
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "must be a JSON object"),
        ({"rulez": []}, "unknown key 'rulez'"),
        ({"rules": [{"steps": [{"sing": "la"}]}]}, "unknown step 'sing'"),
        ({"rules": [{"steps": [{"say": 1}]}]}, "must be a string or an object"),
        ({"rules": [{"when": {"pattern": "("}, "steps": []}]}, "not a regex"),
        ({"rules": [{"when": {"turn": "1"}, "steps": []}]}, "must be an integer"),
        ({"rules": [{"steps": [{"delay": -1}]}]}, "seconds >= 0"),
        ({"transcripts": [1]}, "list of strings"),
        ({"faults": [{"drop": True}]}, "after_events must be an integer"),
        ({"rules": [{"steps": [{"say": "a", "close": {}}]}]}, "exactly one key"),
    ],
)
def test_scenario_errors(data: object, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        Scenario.from_dict(data)  # type: ignore[arg-type]


def test_scenario_load_resolves_audio_relative_to_the_file(
    tmp_path: pytest.TempPathFactory,
) -> None:
    from pathlib import Path

    directory = Path(str(tmp_path))
    write_wav(directory / "hi.wav", tone(100), 24000)
    (directory / "s.json").write_text(
        json.dumps({"rules": [{"steps": [{"say": {"text": "hi", "audio": "hi.wav"}}]}]})
    )
    scenario = Scenario.load(directory / "s.json")
    step = scenario.rules[0].steps[0]
    assert isinstance(step, Say)
    assert step.audio_file == str(directory / "hi.wav")
    with pytest.raises(ScenarioError, match="not valid JSON"):
        Scenario.from_json("{")


# --- error mapping ------------------------------------------------------------------------------


def _map(text: str) -> ApiError:
    from realtime_trio._core.errors import RemoteProtocolError

    with pytest.raises(RemoteProtocolError) as info:
        get_codec(strict=True).parse(text)
    return from_protocol_error(info.value)


@pytest.mark.parametrize(
    ("text", "code", "param", "message"),
    [
        ("{", "invalid_json", None, "We could not parse the JSON"),
        ("[1]", "invalid_event", None, "must be a JSON object"),
        ("{}", "invalid_event", None, "The 'type' field is missing."),
        ('{"type": 1}', "invalid_type", "type", "expected a string"),
        ('{"type": "nope"}', "invalid_value", "type", "Invalid value: 'nope'. Supported values are: 'session.update'"),
        (
            '{"type": "session.update", "session": {"type": "realtime", "modalities": ["text"]}}',
            "unknown_parameter", "session.modalities", "Unknown parameter: 'session.modalities'.",
        ),
        (
            '{"type": "input_audio_buffer.append"}',
            "missing_required_parameter", "audio", "Missing required parameter: 'audio'.",
        ),
        (
            '{"type": "conversation.item.truncate", "item_id": "a", "content_index": 0, "audio_end_ms": "1"}',
            "invalid_type", "audio_end_ms",
            "Invalid type for 'audio_end_ms': expected an integer, but got a string instead.",
        ),
        (
            '{"type": "session.update", "session": {"type": "realtime", "audio": {"input": {"turn_detection": {"type": "x"}}}}}',
            "invalid_value", "session.audio.input.turn_detection.type", "Invalid value: 'x'.",
        ),
        (
            '{"type": "session.update", "session": {}}',
            "missing_required_parameter", "session.type", "Missing required parameter: 'session.type'.",
        ),
    ],
)  # fmt: skip
def test_protocol_errors_map_to_api_errors(
    text: str, code: str, param: str | None, message: str
) -> None:
    error = _map(text)
    assert error.code == code
    assert error.param == param
    assert error.type == "invalid_request_error"
    assert message in error.message


# --- session config ----------------------------------------------------------------------------


def _session() -> dict[str, object]:
    return default_session(session_id="sess_x", model="gpt-realtime", expires_at=10)


def test_turn_detection_merges_within_a_type_and_resets_across_types() -> None:
    session = apply_update(
        _session(),
        {
            "type": "realtime",
            "audio": {
                "input": {"turn_detection": {"type": "server_vad", "threshold": 0.7}}
            },
        },
        audio_produced=False,
    )
    td = session["audio"]["input"]["turn_detection"]  # type: ignore[index]
    assert td == {**server_vad_defaults(), "threshold": 0.7}
    session = apply_update(
        session,
        {
            "type": "realtime",
            "audio": {"input": {"turn_detection": {"type": "semantic_vad"}}},
        },
        audio_produced=False,
    )
    assert session["audio"]["input"]["turn_detection"]["eagerness"] == "auto"  # type: ignore[index]
    session = apply_update(
        session,
        {"type": "realtime", "audio": {"input": {"turn_detection": None}}},
        audio_produced=False,
    )
    assert session["audio"]["input"]["turn_detection"] is None  # type: ignore[index]
    assert session["audio"]["output"]["voice"] == "marin"  # type: ignore[index]


@pytest.mark.parametrize(
    ("update", "code", "param"),
    [
        ({"type": "transcription"}, "invalid_value", "session.type"),
        ({"type": "realtime", "model": "other"}, "invalid_value", "session.model"),
        ({"type": "realtime", "id": "sess_mine"}, "unknown_parameter", "session.id"),
        ({"type": "realtime", "output_modalities": ["text", "audio"]}, "invalid_value", "session.output_modalities"),
        ({"type": "realtime", "output_modalities": ["video"]}, "invalid_value", "session.output_modalities[0]"),
        ({"type": "realtime", "audio": {"output": {"voice": "robot"}}}, "invalid_value", "session.audio.output.voice"),
        ({"type": "realtime", "audio": {"output": {"speed": 3.0}}}, "decimal_above_max_value", "session.audio.output.speed"),
        ({"type": "realtime", "audio": {"input": {"format": {"type": "audio/pcm", "rate": 16000}}}}, "invalid_value", "session.audio.input.format.rate"),
        ({"type": "realtime", "audio": {"input": {"turn_detection": {"type": "server_vad", "threshold": -0.1}}}}, "decimal_below_min_value", "session.audio.input.turn_detection.threshold"),
        ({"type": "realtime", "audio": {"input": {"turn_detection": {"type": "semantic_vad", "eagerness": "eager"}}}}, "invalid_value", "session.audio.input.turn_detection.eagerness"),
        ({"type": "realtime", "max_output_tokens": 5000}, "integer_above_max_value", "session.max_output_tokens"),
        ({"type": "realtime", "max_output_tokens": "lots"}, "invalid_value", "session.max_output_tokens"),
        ({"type": "realtime", "tool_choice": "sometimes"}, "invalid_value", "session.tool_choice"),
        ({"type": "realtime", "include": ["everything"]}, "invalid_value", "session.include[0]"),
        ({"type": "realtime", "tools": [{"type": "function"}]}, "missing_required_parameter", "session.tools[0].name"),
    ],
)  # fmt: skip
def test_invalid_updates_are_refused(
    update: dict[str, object], code: str, param: str
) -> None:
    with pytest.raises(ApiError) as info:
        apply_update(_session(), update, audio_produced=False)
    assert (info.value.code, info.value.param) == (code, param)


def test_voice_is_fixed_once_audio_was_produced() -> None:
    update = {"type": "realtime", "audio": {"output": {"voice": "cedar"}}}
    assert (
        apply_update(_session(), update, audio_produced=False)["audio"]["output"][
            "voice"
        ]
        == "cedar"
    )  # type: ignore[index]
    with pytest.raises(ApiError) as info:
        apply_update(_session(), update, audio_produced=True)
    assert info.value.code == "cannot_update_voice"
    same = {"type": "realtime", "audio": {"output": {"voice": "marin"}}}
    apply_update(_session(), same, audio_produced=True)


def test_tracing_cannot_change_once_enabled() -> None:
    session = apply_update(
        _session(), {"type": "realtime", "tracing": "auto"}, audio_produced=False
    )
    with pytest.raises(ApiError):
        apply_update(
            session, {"type": "realtime", "tracing": None}, audio_produced=False
        )


# --- options ------------------------------------------------------------------------------------


@pytest.mark.parametrize("func", [RealtimeSimulator, open_simulator])
def test_signatures_show_every_option_with_its_default(func: object) -> None:
    params = inspect.signature(func).parameters  # type: ignore[arg-type]
    for name in option_names(SimulatorOptions):
        assert params[name].kind is inspect.Parameter.KEYWORD_ONLY
        assert params[name].default == SIMULATOR_DEFAULTS[name]  # type: ignore[literal-required]
    assert not any(p.kind is p.VAR_KEYWORD for p in params.values())


def test_an_unknown_option_is_refused_as_python_would() -> None:
    with pytest.raises(
        TypeError, match=r"__init__\(\) got an unexpected keyword .*'sead'"
    ):
        RealtimeSimulator(sead=1)  # type: ignore[call-arg]


def test_session_settings_follow_the_options() -> None:
    settings = session_settings(seed=7, audio_chunk_ms=40)
    assert (settings.seed, settings.audio_chunk_ms) == (7, 40)
    assert settings.max_message_size == SIMULATOR_DEFAULTS["max_message_size"]
    assert RealtimeSimulator(seed=7).settings.seed == 7
