"""AudioFormat, size helpers and base64 payloads."""

from __future__ import annotations

import base64

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from realtime_trio.audio import (
    BYTES_PER_SAMPLE,
    PCM16_24K,
    PCMA,
    PCMU,
    SAMPLE_RATE,
    SUPPORTED_PCM_RATES,
    AudioFormat,
    AudioFormatError,
    bytes_for_duration,
    decode_audio,
    duration_ms,
    encode_audio,
    frame_bytes,
)

# --- AudioFormat -------------------------------------------------------------


def test_api_formats() -> None:
    assert (PCM16_24K.encoding, PCM16_24K.rate) == ("pcm16", 24000)
    assert (PCMU.encoding, PCMU.rate) == ("pcmu", 8000)
    assert (PCMA.encoding, PCMA.rate) == ("pcma", 8000)
    assert (PCM16_24K.sample_width, PCMU.sample_width, PCMA.sample_width) == (2, 1, 1)
    assert PCM16_24K.bytes_per_second == 48000
    assert PCMU.bytes_per_second == PCMA.bytes_per_second == 8000
    assert PCM16_24K.wire_type == "audio/pcm"
    assert PCMU.wire_type == "audio/pcmu"
    assert PCMA.wire_type == "audio/pcma"
    assert SAMPLE_RATE == 24000
    assert BYTES_PER_SAMPLE == 2


@pytest.mark.parametrize("rate", [8000, 16000, 24000, 44100, 48000])
def test_pcm16_at_supported_rates(rate: int) -> None:
    fmt = AudioFormat.pcm16(rate)
    assert fmt == AudioFormat("pcm16", rate)
    assert fmt.sample_width == 2
    assert fmt.bytes_per_second == 2 * rate
    assert rate in SUPPORTED_PCM_RATES


def test_pcm16_defaults_to_the_api_rate() -> None:
    assert AudioFormat.pcm16() == PCM16_24K


@pytest.mark.parametrize(
    ("encoding", "rate", "message"),
    [
        ("pcm16", 22050, "unsupported PCM16 sample rate 22050"),
        ("pcm16", 0, "unsupported PCM16 sample rate 0"),
        ("pcm16", 24000.0, "must be an int"),
        ("pcmu", 16000, "always 8000 Hz"),
        ("pcma", 24000, "always 8000 Hz"),
        ("opus", 48000, "unsupported audio encoding 'opus'"),
        ("audio/pcm", 24000, "unsupported audio encoding"),
    ],
)
def test_invalid_formats(encoding: str, rate: object, message: str) -> None:
    with pytest.raises(AudioFormatError, match=message):
        AudioFormat(encoding, rate)  # type: ignore[arg-type]


def test_audio_format_error_is_a_value_error() -> None:
    assert issubclass(AudioFormatError, ValueError)


def test_formats_are_frozen_and_hashable() -> None:
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        PCMU.rate = 16000  # type: ignore[misc]
    assert {PCM16_24K, AudioFormat.pcm16(24000), PCMU} == {PCM16_24K, PCMU}


# --- wire mapping -----------------------------------------------------------


@pytest.mark.parametrize(
    ("wire", "fmt"),
    [
        ({"type": "audio/pcm", "rate": 24000}, PCM16_24K),
        ({"type": "audio/pcm"}, PCM16_24K),
        ({}, PCM16_24K),
        ({"rate": 24000}, PCM16_24K),
        ({"type": "audio/pcmu"}, PCMU),
        ({"type": "audio/pcma"}, PCMA),
        ({"type": "audio/pcmu", "rate": 8000}, PCMU),
        ("pcm16", PCM16_24K),
        ("g711_ulaw", PCMU),
        ("g711_alaw", PCMA),
    ],
)
def test_from_wire(wire: dict[str, object] | str, fmt: AudioFormat) -> None:
    assert AudioFormat.from_wire(wire) == fmt


@pytest.mark.parametrize(
    ("wire", "message"),
    [
        ({"type": "audio/opus"}, "unsupported audio format type 'audio/opus'"),
        ({"type": "audio/pcm", "rate": 16000}, "allows only 24000"),
        ({"type": "audio/pcm", "rate": "24000"}, "allows only 24000"),
        ({"type": "audio/pcmu", "rate": 16000}, "allows only 8000"),
        ({"type": None}, "unsupported audio format type None"),
        ({"type": 7}, "unsupported audio format type 7"),
        ("g722", "unknown audio format name 'g722'"),
        (["audio/pcm"], "must be a mapping"),
    ],
)
def test_from_wire_rejects(wire: object, message: str) -> None:
    with pytest.raises(AudioFormatError, match=message):
        AudioFormat.from_wire(wire)  # type: ignore[arg-type]


def test_to_wire() -> None:
    assert PCM16_24K.to_wire() == {"type": "audio/pcm", "rate": 24000}
    assert PCMU.to_wire() == {"type": "audio/pcmu"}
    assert PCMA.to_wire() == {"type": "audio/pcma"}
    for fmt in (PCM16_24K, PCMU, PCMA):
        assert AudioFormat.from_wire(fmt.to_wire()) == fmt


@pytest.mark.parametrize("rate", [8000, 16000, 44100, 48000])
def test_to_wire_refuses_local_rates(rate: int) -> None:
    with pytest.raises(AudioFormatError, match="only at 24000 Hz"):
        AudioFormat.pcm16(rate).to_wire()


# --- sizes ------------------------------------------------------------------


def test_frame_bytes() -> None:
    assert frame_bytes(PCM16_24K, 20) == 960
    assert frame_bytes(PCMU, 20) == 160
    assert frame_bytes(PCMA, 100) == 800
    assert frame_bytes(AudioFormat.pcm16(44100), 10) == 882
    assert frame_bytes(AudioFormat.pcm16(48000), 1) == 96


@pytest.mark.parametrize(
    ("fmt", "ms", "message"),
    [
        (AudioFormat.pcm16(44100), 5, "not a whole number of samples"),
        (PCM16_24K, 0, "positive int"),
        (PCM16_24K, -20, "positive int"),
        (PCM16_24K, 20.0, "positive int"),
    ],
)
def test_frame_bytes_rejects(fmt: AudioFormat, ms: object, message: str) -> None:
    with pytest.raises(AudioFormatError, match=message):
        frame_bytes(fmt, ms)  # type: ignore[arg-type]


def test_bytes_for_duration() -> None:
    assert bytes_for_duration(PCM16_24K, 1000) == 48000
    assert bytes_for_duration(PCM16_24K, 20) == 960
    assert bytes_for_duration(PCMU, 100) == 800
    assert bytes_for_duration(PCM16_24K, 0) == 0
    # Rounded to the nearest whole sample, never half a sample.
    assert bytes_for_duration(AudioFormat.pcm16(44100), 1) == 88  # 44.1 samples
    assert bytes_for_duration(AudioFormat.pcm16(44100), 1.02) == 90  # 44.98
    assert bytes_for_duration(PCM16_24K, 0.03) == 2  # 0.72 samples
    with pytest.raises(AudioFormatError, match="negative"):
        bytes_for_duration(PCM16_24K, -1)


def test_duration_ms() -> None:
    assert duration_ms(PCM16_24K, 960) == 20.0
    assert duration_ms(PCMU, 8000) == 1000.0
    assert duration_ms(AudioFormat.pcm16(44100), 2) == pytest.approx(1000 / 44100)
    assert duration_ms(PCMA, 0) == 0.0
    assert isinstance(duration_ms(PCMA, 80), float)
    with pytest.raises(AudioFormatError, match="negative"):
        duration_ms(PCMU, -1)


@given(
    st.sampled_from([PCM16_24K, PCMU, PCMA, AudioFormat.pcm16(44100)]),
    st.integers(0, 10**6),
)
def test_duration_and_size_round_trip(fmt: AudioFormat, samples: int) -> None:
    nbytes = samples * fmt.sample_width
    assert bytes_for_duration(fmt, duration_ms(fmt, nbytes)) == nbytes


# --- base64 -----------------------------------------------------------------


@given(st.binary(max_size=4096))
def test_base64_round_trip_and_standard_alphabet(data: bytes) -> None:
    text = encode_audio(data)
    assert isinstance(text, str)
    assert text == base64.b64encode(data).decode("ascii")
    assert decode_audio(text) == data


def test_base64_known_values() -> None:
    assert encode_audio(b"") == ""
    assert encode_audio(b"\xff\xfe\x00") == "//4A"
    assert encode_audio(b"a") == "YQ=="
    assert decode_audio("") == b""
    assert decode_audio("//4A") == b"\xff\xfe\x00"


@pytest.mark.parametrize(
    "text",
    [
        "YQ",  # missing padding
        "YQ=",  # short padding
        "=YQ=",  # leading padding
        "YQ==YQ==",  # data after the padding
        "YQ==\n",  # trailing newline
        "Y Q==",  # whitespace
        "-_8=",  # URL-safe alphabet
        "YWJj*",  # not base64 at all
        "é",  # not ASCII
    ],
)
def test_decode_audio_is_strict(text: str) -> None:
    with pytest.raises(AudioFormatError, match="invalid base64"):
        decode_audio(text)
