"""WAV reading and writing."""

from __future__ import annotations

import gc
import io
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from realtime_trio.audio import (
    AudioFormatError,
    WavAudio,
    WavWriter,
    read_wav,
    write_wav,
)


def noise(n: int, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    return rng.integers(-32768, 32768, n).astype("<i2").tobytes()


def raw_wav(
    frames: bytes, *, channels: int = 1, width: int = 2, rate: int = 8000
) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(frames)
    return buf.getvalue()


def test_round_trip_through_a_path(tmp_path: Path) -> None:
    pcm = noise(4801)
    path = tmp_path / "a.wav"
    write_wav(path, pcm, 24000)
    audio = read_wav(path)
    assert audio == WavAudio(pcm, 24000, 1)
    assert audio.duration_ms == pytest.approx(4801 / 24)
    # A str path works as well, and the stdlib agrees on the header.
    assert read_wav(str(path)).pcm == pcm
    with wave.open(str(path), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 24000)
        assert w.getnframes() == 4801


def test_round_trip_through_a_file_object_left_open() -> None:
    pcm = noise(100, seed=1)
    buf = io.BytesIO()
    write_wav(buf, pcm, 44100)
    assert not buf.closed
    buf.seek(0)
    audio = read_wav(buf)
    assert not buf.closed
    assert (audio.pcm, audio.rate, audio.channels) == (pcm, 44100, 1)


def test_reads_files_written_by_the_stdlib() -> None:
    pcm = noise(333, seed=2)
    audio = read_wav(io.BytesIO(raw_wav(pcm, rate=16000)))
    assert (audio.pcm, audio.rate, audio.channels) == (pcm, 16000, 1)


def test_stereo_needs_mix_to_mono() -> None:
    data = raw_wav(noise(20), channels=2)
    with pytest.raises(AudioFormatError, match="2 channels; pass mix_to_mono=True"):
        read_wav(io.BytesIO(data))


def test_mix_to_mono_averages_rounding_half_up() -> None:
    pairs = [
        (1, 2),
        (-1, -2),
        (32767, 32767),
        (-32768, -32768),
        (32767, -32768),
        (3, 3),
        (0, -1),
    ]
    frames = np.array(pairs, "<i2").tobytes()
    audio = read_wav(io.BytesIO(raw_wav(frames, channels=2)), mix_to_mono=True)
    assert audio.channels == 2
    assert np.frombuffer(audio.pcm, "<i2").tolist() == [2, -1, 32767, -32768, 0, 3, 0]


def test_mix_to_mono_with_three_channels() -> None:
    frames = np.array([(1, 1, 2), (-3, 0, 0), (30000, 30000, 30000)], "<i2").tobytes()
    audio = read_wav(io.BytesIO(raw_wav(frames, channels=3)), mix_to_mono=True)
    # 4/3 -> 1, -1 -> -1, 30000 -> 30000
    assert np.frombuffer(audio.pcm, "<i2").tolist() == [1, -1, 30000]


def test_mono_files_ignore_mix_to_mono() -> None:
    pcm = noise(50, seed=3)
    assert read_wav(io.BytesIO(raw_wav(pcm)), mix_to_mono=True).pcm == pcm


@pytest.mark.parametrize("width", [1, 3, 4])
def test_rejects_other_sample_widths(width: int) -> None:
    data = raw_wav(b"\x00" * width * 10, width=width)
    with pytest.raises(AudioFormatError, match=f"{8 * width}-bit; only 16-bit"):
        read_wav(io.BytesIO(data))


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"RIFF\x00\x00\x00\x00WAVE",
        b"not a wav file at all, just text" * 3,
        # A WAVE_FORMAT_IEEE_FLOAT header (format tag 3).
        raw_wav(b"\x00\x00" * 4).replace(
            b"fmt \x10\x00\x00\x00\x01\x00", b"fmt \x10\x00\x00\x00\x03\x00"
        ),
    ],
)
def test_rejects_non_pcm_and_garbage(data: bytes) -> None:
    with pytest.raises(AudioFormatError, match="not a readable PCM WAV file"):
        read_wav(io.BytesIO(data))


@pytest.mark.parametrize("channels", [1, 2])
def test_truncated_data_drops_the_partial_frame(channels: int) -> None:
    frames = noise(40, seed=5)
    data = raw_wav(frames, channels=channels)[:-3]  # cut mid-frame
    audio = read_wav(io.BytesIO(data), mix_to_mono=True)
    whole = (len(frames) - 3) // (2 * channels)
    assert len(audio.pcm) == 2 * whole
    if channels == 1:
        assert audio.pcm == frames[: 2 * whole]


def test_missing_file_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_wav(tmp_path / "missing.wav")


def test_write_wav_validates() -> None:
    with pytest.raises(AudioFormatError, match="whole number of samples"):
        write_wav(io.BytesIO(), b"\x00\x01\x02", 24000)
    with pytest.raises(AudioFormatError, match="positive int"):
        write_wav(io.BytesIO(), b"", 0)


# --- WavWriter -----------------------------------------------------------------


def test_writer_streams_chunks_and_fixes_the_header(tmp_path: Path) -> None:
    pcm = noise(2401, seed=4)
    path = tmp_path / "stream.wav"
    with WavWriter(path, 24000) as wav:
        assert wav.rate == 24000
        for i in range(0, len(pcm), 333):  # odd chunk sizes split samples
            wav.write(pcm[i : i + 333])
        assert wav.frames_written == 2401
    assert wav.closed
    with wave.open(str(path), "rb") as w:
        assert w.getnframes() == 2401
        assert w.readframes(2401) == pcm
    assert read_wav(path) == WavAudio(pcm, 24000, 1)


def test_writer_header_is_provisional_until_close() -> None:
    buf = io.BytesIO()
    wav = WavWriter(buf, 8000)
    wav.write(noise(10))
    states = [wav.closed]
    wav.close()
    wav.close()  # idempotent
    states.append(wav.closed)
    assert states == [False, True]
    assert read_wav(io.BytesIO(buf.getvalue())).pcm == noise(10)
    assert not buf.closed


def test_writer_rejects_writes_after_close() -> None:
    wav = WavWriter(io.BytesIO(), 8000)
    wav.close()
    with pytest.raises(ValueError, match="closed"):
        wav.write(b"\x00\x00")


def test_writer_reports_a_dangling_odd_byte() -> None:
    buf = io.BytesIO()
    wav = WavWriter(buf, 8000)
    wav.write(b"\x01\x00\x02")
    with pytest.raises(AudioFormatError, match="odd byte"):
        wav.close()
    assert wav.closed
    assert read_wav(io.BytesIO(buf.getvalue())).pcm == b"\x01\x00"


def test_writer_does_not_mask_the_body_exception() -> None:
    buf = io.BytesIO()
    writers: list[WavWriter] = []

    def body() -> None:
        with WavWriter(buf, 8000) as wav:
            writers.append(wav)
            wav.write(b"\x01")  # an odd byte is left dangling
            raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        body()
    assert writers[0].closed
    assert read_wav(io.BytesIO(buf.getvalue())).pcm == b""


@pytest.mark.parametrize("where", ["missing directory", "a directory"])
def test_writer_to_an_unwritable_path_raises_and_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    # wave.open() on such a path leaves a half-built Wave_write, whose __del__
    # prints "Exception ignored in Wave_write.__del__": catch that here.
    unraisable: list[object] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    target = (
        tmp_path / "missing" / "x.wav" if where == "missing directory" else tmp_path
    )
    with pytest.raises(OSError, match=str(target.name)) as excinfo:
        WavWriter(target, 24000)
    del excinfo
    gc.collect()
    assert unraisable == []


def test_writer_to_an_unwritable_path_prints_nothing(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "x.wav"
    script = (
        "import sys\n"
        "from realtime_trio._audio.wav import WavWriter\n"
        "try:\n"
        "    WavWriter(sys.argv[1], 24000)\n"
        "except OSError as exc:\n"
        "    print(type(exc).__name__)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(target)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "FileNotFoundError\n", "")


def test_writer_rejects_bad_rates() -> None:
    for rate in (0, -8000, 8000.0):
        with pytest.raises(AudioFormatError, match="positive int"):
            WavWriter(io.BytesIO(), rate)  # type: ignore[arg-type]
