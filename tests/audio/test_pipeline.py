"""AudioChunker, InputAudioPipeline and OutputAudioDecoder."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from realtime_trio.audio import (
    PCM16_24K,
    PCMA,
    PCMU,
    AudioChunker,
    AudioFormat,
    AudioFormatError,
    InputAudioPipeline,
    OutputAudioDecoder,
    Resampler,
    alaw_to_pcm16,
    encode_audio,
    pcm16_to_alaw,
    pcm16_to_ulaw,
    ulaw_to_pcm16,
)

Codec = Callable[[bytes | bytearray | memoryview], bytes]


def noise(n: int, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    return np.clip(rng.normal(0, 8000, n), -32768, 32767).astype("<i2").tobytes()


def resampled(a: int, b: int, data: bytes) -> bytes:
    r = Resampler(a, b)
    return r.process(data) + r.flush()


def split(data: bytes, sizes: list[int]) -> list[bytes]:
    """Cut *data* into pieces of the given sizes, cycling, 0 included."""
    pieces: list[bytes] = []
    i = 0
    for size in itertools.cycle(sizes):
        if i >= len(data):
            return pieces
        pieces.append(data[i : i + size])
        i += size
    raise AssertionError  # pragma: no cover


# --- AudioChunker -------------------------------------------------------------


def test_chunker_frames_and_remainder() -> None:
    c = AudioChunker(4)
    assert c.frame_bytes == 4
    assert c.feed(b"ab") == []
    assert c.pending == 2
    assert c.feed(b"cdefghij") == [b"abcd", b"efgh"]
    assert c.pending == 2
    assert c.feed(b"") == []
    assert c.flush() == b"ij"
    assert c.pending == 0
    assert c.flush() == b""
    assert c.feed(b"1234") == [b"1234"]


@pytest.mark.parametrize("size", [0, -1, 1.5, "960"])
def test_chunker_rejects_bad_sizes(size: object) -> None:
    with pytest.raises(AudioFormatError, match="positive int"):
        AudioChunker(size)  # type: ignore[arg-type]


@given(
    frame=st.integers(1, 50),
    pieces=st.lists(st.binary(max_size=120), max_size=30),
)
def test_chunker_loses_and_reorders_nothing(frame: int, pieces: list[bytes]) -> None:
    c = AudioChunker(frame)
    frames: list[bytes] = []
    for piece in pieces:
        frames += c.feed(piece)
        assert c.pending < frame
    assert all(len(f) == frame for f in frames)
    assert all(type(f) is bytes for f in frames)
    assert b"".join(frames) + c.flush() == b"".join(pieces)


def test_chunker_accepts_buffers() -> None:
    c = AudioChunker(2)
    assert c.feed(bytearray(b"abc")) == [b"ab"]
    assert c.feed(memoryview(b"d")) == [b"cd"]


# --- InputAudioPipeline -------------------------------------------------------


def run(pipe: InputAudioPipeline, pieces: list[bytes]) -> tuple[list[bytes], bytes]:
    frames: list[bytes] = []
    for piece in pieces:
        frames += pipe.feed(piece)
    return frames, pipe.flush()


def test_microphone_48k_to_api_pcm_in_20ms_frames() -> None:
    mic = noise(48000 // 2 + 123, seed=1)  # half a second and a bit
    pipe = InputAudioPipeline(AudioFormat.pcm16(48000), PCM16_24K)
    assert (pipe.frame_ms, pipe.frame_bytes) == (20, 960)
    frames, tail = run(pipe, split(mic, [1, 0, 7, 961, 3, 4000]))
    assert all(len(f) == 960 for f in frames)
    assert b"".join(frames) + tail == resampled(48000, 24000, mic)
    # Nothing lost: the output covers the input's duration.
    assert len(b"".join(frames) + tail) == 2 * -(-(len(mic) // 2) // 2)


@settings(max_examples=25, deadline=None)
@given(sizes=st.lists(st.integers(0, 2000), min_size=1, max_size=10))
def test_frames_do_not_depend_on_write_sizes(sizes: list[int]) -> None:
    if not any(sizes):
        sizes = [1]
    mic = noise(16000 // 4, seed=2)
    pipe = InputAudioPipeline(AudioFormat.pcm16(16000), PCMU, frame_ms=20)
    frames, tail = run(pipe, split(mic, sizes))
    want = pcm16_to_ulaw(resampled(16000, 8000, mic))
    assert all(len(f) == 160 for f in frames)
    assert b"".join(frames) + tail == want
    assert len(frames) == len(want) // 160


def test_pcm_to_alaw() -> None:
    audio = noise(24000 // 5, seed=3)
    pipe = InputAudioPipeline(PCM16_24K, PCMA, frame_ms=10)
    frames, tail = run(pipe, [audio])
    assert all(len(f) == 80 for f in frames)
    assert b"".join(frames) + tail == pcm16_to_alaw(resampled(24000, 8000, audio))


def test_phone_line_ulaw_to_api_pcm() -> None:
    line = pcm16_to_ulaw(noise(8000 // 4, seed=4))
    pipe = InputAudioPipeline(PCMU, PCM16_24K, frame_ms=40)
    frames, tail = run(pipe, split(line, [33, 160, 1]))
    assert all(len(f) == 1920 for f in frames)
    assert b"".join(frames) + tail == resampled(8000, 24000, ulaw_to_pcm16(line))


def test_same_g711_format_is_framing_only() -> None:
    # Both µ-law zeros (0x7F and 0xFF) must survive: no decode and re-encode.
    line = bytes(range(256)) * 3 + b"\x7f\xff\x7f"
    pipe = InputAudioPipeline(PCMU, PCMU)
    frames, tail = run(pipe, split(line, [1, 99]))
    assert [len(f) for f in frames] == [160] * 4
    assert b"".join(frames) + tail == line
    assert len(tail) == len(line) - 640


def test_ulaw_to_alaw_transcodes() -> None:
    line = bytes(range(256)) * 2
    frames, tail = run(InputAudioPipeline(PCMU, PCMA), [line])
    assert b"".join(frames) + tail == pcm16_to_alaw(ulaw_to_pcm16(line))


def test_same_pcm_format_carries_odd_bytes() -> None:
    audio = noise(1000, seed=5)
    pipe = InputAudioPipeline(PCM16_24K, PCM16_24K)
    frames, tail = run(pipe, split(audio, [3, 5, 1001]))
    assert b"".join(frames) + tail == audio
    assert len(tail) == len(audio) % 960


def test_pending_reporting() -> None:
    pipe = InputAudioPipeline(PCM16_24K, PCMU, frame_ms=20)
    assert (pipe.source, pipe.target) == (PCM16_24K, PCMU)
    assert (pipe.pending, pipe.pending_ms) == (0, 0.0)
    frames = pipe.feed(noise(24000 // 10))  # 100 ms in
    # 100 ms minus the resampler's 2 ms delay: 98 ms out, 4 frames + 18 ms.
    assert len(frames) == 4
    assert pipe.pending == 144
    assert pipe.pending_ms == 18.0
    tail = pipe.flush()
    assert len(tail) == 144 + 16
    assert (pipe.pending, pipe.pending_ms) == (0, 0.0)


def test_flush_with_an_odd_pcm_byte_raises_and_loses_nothing() -> None:
    audio = noise(700, seed=6)
    pipe = InputAudioPipeline(PCM16_24K, AudioFormat.pcm16(16000))
    frames = pipe.feed(audio[:-1])
    with pytest.raises(AudioFormatError, match="odd byte"):
        pipe.flush()
    frames += pipe.feed(audio[-1:])
    out = b"".join(frames) + pipe.flush()
    assert out == resampled(24000, 16000, audio)


def test_pipeline_is_reusable_after_flush() -> None:
    audio = noise(5000, seed=7)
    pipe = InputAudioPipeline(AudioFormat.pcm16(44100), PCM16_24K)
    first = run(pipe, [audio])
    second = run(pipe, [audio])
    assert first == second


def test_frame_must_fit_the_target_rate() -> None:
    with pytest.raises(AudioFormatError, match="whole number of samples"):
        InputAudioPipeline(PCM16_24K, AudioFormat.pcm16(44100), frame_ms=15)
    with pytest.raises(AudioFormatError, match="positive int"):
        InputAudioPipeline(PCM16_24K, PCMU, frame_ms=0)


# --- OutputAudioDecoder -------------------------------------------------------


def test_pcm_deltas_pass_through_at_24k() -> None:
    audio = noise(2400, seed=8)
    dec = OutputAudioDecoder(PCM16_24K)
    assert dec.target == PCM16_24K
    assert dec.source == PCM16_24K
    deltas = [encode_audio(p) for p in split(audio, [480, 4801])]
    out = b"".join(dec.decode(d) for d in deltas) + dec.flush()
    assert out == audio


def test_pcm_deltas_to_48k_for_a_sound_card() -> None:
    audio = noise(2400, seed=9)
    dec = OutputAudioDecoder(PCM16_24K, 48000)
    assert dec.target == AudioFormat.pcm16(48000)
    out = b"".join(dec.decode(encode_audio(p)) for p in split(audio, [999, 1]))
    out += dec.flush()
    assert out == resampled(24000, 48000, audio)


@pytest.mark.parametrize(
    ("fmt", "encode", "decode"),
    [(PCMU, pcm16_to_ulaw, ulaw_to_pcm16), (PCMA, pcm16_to_alaw, alaw_to_pcm16)],
)
def test_g711_deltas_to_pcm(fmt: AudioFormat, encode: Codec, decode: Codec) -> None:
    line = encode(noise(1600, seed=10))
    dec = OutputAudioDecoder(fmt, 24000)
    out = b"".join(dec.decode(encode_audio(p)) for p in split(line, [160, 7]))
    out += dec.flush()
    assert out == resampled(8000, 24000, decode(line))
    dec8 = OutputAudioDecoder(fmt, 8000)
    assert dec8.decode(line) + dec8.flush() == decode(line)  # raw bytes work too


def test_decoder_rejects_bad_base64_and_rates() -> None:
    with pytest.raises(AudioFormatError, match="invalid base64"):
        OutputAudioDecoder(PCM16_24K).decode("not base64!")
    with pytest.raises(AudioFormatError, match="unsupported PCM16 sample rate"):
        OutputAudioDecoder(PCM16_24K, 22050)
