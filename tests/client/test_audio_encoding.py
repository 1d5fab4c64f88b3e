"""What the audio task sends for queued audio (`AudioEncoder`), without an event loop."""

from __future__ import annotations

import base64
import copy
import json
import logging
from typing import Any

import pytest

from realtime_trio import events
from realtime_trio._client.audio_encoding import (
    AudioControl,
    AudioEncoder,
    audio_control,
)
from realtime_trio._core.protocol import RealtimeProtocol
from realtime_trio.audio import PCM16_24K, PCMU
from tests.helpers.fake_server import SESSION_CREATED

#: 10 ms of PCM16 24 kHz.
TEN_MS = 480


def protocol(input_format: dict[str, Any] | None = None) -> RealtimeProtocol:
    proto = RealtimeProtocol()
    created = copy.deepcopy(SESSION_CREATED)
    if input_format is not None:
        created["session"]["audio"]["input"]["format"] = input_format
    proto.receive_message(json.dumps(created))
    return proto


def encoder(proto: RealtimeProtocol, frame_ms: int = 20) -> AudioEncoder:
    return AudioEncoder(proto, PCM16_24K, frame_ms=frame_ms, owner="<conn>")


def appended(texts: list[str]) -> list[bytes]:
    out = []
    for text in texts:
        data = json.loads(text)
        assert data["type"] == "input_audio_buffer.append"
        out.append(base64.b64decode(data["audio"]))
    return out


def test_audio_is_framed_and_appended() -> None:
    proto = protocol()
    enc = encoder(proto)
    audio = bytes(range(256)) * 10  # 2560 bytes: two 20 ms frames and a rest
    frames = appended(enc.audio(audio))
    assert frames == [audio[:960], audio[960:1920]]
    assert proto.input_audio_bytes == 1920
    assert appended(enc.finish()) == [audio[1920:]]
    assert enc.finish() == []  # nothing left


def test_the_session_input_format_is_followed() -> None:
    proto = protocol({"type": "audio/pcmu"})
    enc = encoder(proto)
    frames = appended(enc.audio(bytes(TEN_MS * 10)))  # 100 ms
    assert len(frames) >= 4  # the resampler holds a few samples back
    assert {len(f) for f in frames} == {PCMU.bytes_per_second // 50}
    # The server switches the session back to PCM16: the pipeline follows.
    updated = copy.deepcopy(SESSION_CREATED)
    updated["type"] = "session.updated"
    proto.receive_message(json.dumps(updated))
    assert [len(f) for f in appended(enc.audio(bytes(TEN_MS * 2)))] == [960]


def test_a_commit_sends_the_partial_frame_first() -> None:
    enc = encoder(protocol())
    assert enc.audio(b"\x01\x00" * 100) == []
    text = '{"type":"input_audio_buffer.commit"}'
    out = enc.control(AudioControl(text, flush=True))
    assert appended(out[:1]) == [b"\x01\x00" * 100]
    assert out[1:] == [text]
    assert enc.finish() == []


def test_a_clear_drops_the_partial_frame() -> None:
    enc = encoder(protocol())
    enc.audio(b"\x01\x00" * 100)
    text = '{"type":"input_audio_buffer.clear"}'
    assert enc.control(AudioControl(text, reset=True)) == [text]
    assert enc.finish() == []


def test_half_a_sample_is_padded_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    enc = encoder(protocol())
    enc.audio(b"\x01\x00\x02")
    with caplog.at_level(logging.WARNING, logger="realtime_trio"):
        assert appended(enc.finish()) == [b"\x01\x00\x02\x00"]
    assert "'<conn>': input audio ended with half a sample" in caplog.text


@pytest.mark.parametrize(
    ("event", "flush", "reset"),
    [
        (events.InputAudioBufferCommit(), True, False),
        (events.InputAudioBufferClear(), False, True),
        (events.InputAudioBufferAppend(audio="AAAA"), False, False),
        ({"type": "input_audio_buffer.commit"}, True, False),
        ({"type": "input_audio_buffer.future_thing"}, False, False),
    ],
)
def test_input_audio_buffer_events_go_through_the_audio_task(
    event: Any, flush: bool, reset: bool
) -> None:
    assert audio_control(event, "text") == AudioControl(
        "text", flush=flush, reset=reset
    )


@pytest.mark.parametrize(
    "event", [events.ResponseCreate(), {"type": "response.create"}, {"no": "type"}]
)
def test_other_events_do_not(event: Any) -> None:
    assert audio_control(event, "text") is None
