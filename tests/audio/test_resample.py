"""Resampler: streaming invariance, exact arithmetic, length, delay and quality."""

from __future__ import annotations

import itertools
import math

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from realtime_trio._audio.resample import _design
from realtime_trio.audio import SUPPORTED_PCM_RATES, AudioFormatError, Resampler

Samples = npt.NDArray[np.float64]

RATES = SUPPORTED_PCM_RATES
CONVERSIONS = [(a, b) for a in RATES for b in RATES if a != b]
DOWN = [(a, b) for a, b in CONVERSIONS if b < a]
UP = [(a, b) for a, b in CONVERSIONS if b > a]


def pcm(x: npt.ArrayLike) -> bytes:
    return np.asarray(x).astype("<i2").tobytes()


def samples(data: bytes) -> Samples:
    return np.frombuffer(data, "<i2").astype(np.float64)


def one_shot(a: int, b: int, data: bytes, quality: str = "medium") -> bytes:
    r = Resampler(a, b, quality=quality)  # type: ignore[arg-type]
    return r.process(data) + r.flush()


def noise(n: int, seed: int = 0, scale: float = 9000.0) -> bytes:
    rng = np.random.default_rng(seed)
    return pcm(np.clip(rng.normal(0, scale, n), -32768, 32767))


def tone(rate: int, freq: float, n: int, amp: float = 16000.0) -> bytes:
    return pcm(np.round(amp * np.sin(2 * np.pi * freq * np.arange(n) / rate)))


def edge(rate: int) -> int:
    """Output samples to ignore at each end: the filter's transient, with margin."""
    return 8 * rate // 1000  # 8 ms, four times the default filter's half-length


def db(power_ratio: float | np.floating) -> float:
    return 10 * math.log10(max(float(power_ratio), 1e-30))  # all-zero output is -300 dB


# --- construction -------------------------------------------------------------


@pytest.mark.parametrize(
    ("from_rate", "to_rate"),
    [(22050, 24000), (24000, 0), (24000, 96000), (-8000, 8000)],
)
def test_rejects_unsupported_rates(from_rate: int, to_rate: int) -> None:
    with pytest.raises(AudioFormatError, match="unsupported sample rate"):
        Resampler(from_rate, to_rate)


def test_rejects_unknown_quality() -> None:
    with pytest.raises(AudioFormatError, match="quality 'best'"):
        Resampler(24000, 8000, quality="best")  # type: ignore[arg-type]


def test_properties() -> None:
    r = Resampler(48000, 8000, quality="high")
    assert (r.from_rate, r.to_rate, r.quality) == (48000, 8000, "high")
    # 32 samples at 8 kHz (the lower rate) is 192 at 48 kHz: 4 ms either way.
    assert r.delay_samples == 192
    assert Resampler(8000, 48000).delay_samples == 16
    assert Resampler(24000, 24000).delay_samples == 0
    assert r.pending_bytes == 0
    r.process(b"\x01\x02\x03")
    assert r.pending_bytes == 1


# --- passthrough ----------------------------------------------------------------


def test_same_rate_is_passthrough_with_carry() -> None:
    data = noise(501)
    r = Resampler(16000, 16000)
    out = r.process(data[:3]) + r.process(data[3:4]) + r.process(data[4:])
    assert out == data
    assert r.flush() == b""


# --- streaming ------------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(
    pair=st.sampled_from(CONVERSIONS),
    nsamples=st.integers(0, 1200),
    seed=st.integers(0, 2**32 - 1),
    data=st.data(),
)
def test_any_chunking_gives_identical_output(
    pair: tuple[int, int], nsamples: int, seed: int, data: st.DataObject
) -> None:
    signal = noise(nsamples, seed, scale=12000.0)
    cuts = data.draw(
        st.lists(st.integers(0, len(signal)), max_size=40).map(sorted), label="cuts"
    )
    r = Resampler(*pair)
    bounds = [0, *cuts, len(signal)]
    out = b"".join(r.process(signal[i:j]) for i, j in itertools.pairwise(bounds))
    out += r.flush()
    assert out == one_shot(*pair, signal)


@pytest.mark.parametrize("pair", CONVERSIONS)
def test_one_byte_chunks_give_identical_output(pair: tuple[int, int]) -> None:
    signal = noise(300, seed=sum(pair))
    r = Resampler(*pair)
    out = b"".join(r.process(signal[i : i + 1]) for i in range(len(signal)))
    out += r.flush()
    assert out == one_shot(*pair, signal)


@pytest.mark.parametrize("chunk", [882, 4410, 44100, 10**6])
def test_every_computation_path_agrees(chunk: int) -> None:
    # 44.1 kHz -> 48 kHz has 160 phases. 10 ms chunks gather their windows
    # in one block, 100 ms chunks in several, one-second chunks take one
    # matrix product per phase, and the one-call reference splits its
    # work into bounded calls.
    signal = noise(44100 * 3, seed=7)
    r = Resampler(44100, 48000)
    out = b"".join(
        r.process(signal[i : i + 2 * chunk]) for i in range(0, len(signal), 2 * chunk)
    )
    out += r.flush()
    assert out == one_shot(44100, 48000, signal)


def test_long_input_in_one_call_matches_small_chunks() -> None:
    # Six seconds at 48 kHz is more than process() converts per internal run.
    signal = noise(48000 * 6, seed=8)
    r = Resampler(48000, 44100)
    step = 2 * 960
    out = b"".join(r.process(signal[i : i + step]) for i in range(0, len(signal), step))
    out += r.flush()
    assert out == one_shot(48000, 44100, signal)


def test_exact_integer_reference() -> None:
    """Every output equals the documented formula, computed in Python ints."""
    for a, b in [(24000, 8000), (8000, 24000), (44100, 48000), (48000, 44100),
                 (16000, 44100), (44100, 8000)]:  # fmt: skip
        g = math.gcd(a, b)
        up, down = b // g, a // g
        table, half = _design(up, down, "medium")
        rows = [[int(t) for t in row] for row in table[:up]]
        for row in rows:
            assert sum(row) == 1 << 24
        x = samples(noise(700, seed=a + b, scale=15000.0)).astype(int).tolist()
        padded = [0] * (half - 1) + x + [0] * half
        want = []
        for n in range(-(-len(x) * up // down)):
            first = n * down // up  # == padded index of x[first - half + 1]
            acc = sum(c * s for c, s in zip(rows[n % up], padded[first:], strict=False))
            want.append(min(32767, max(-32768, (acc + (1 << 23)) >> 24)))
        assert samples(one_shot(a, b, pcm(x))).astype(int).tolist() == want, (a, b)


@pytest.mark.parametrize("pair", CONVERSIONS)
@pytest.mark.parametrize("n", [0, 1, 2, 3, 146, 147, 160, 441, 1001, 4411])
def test_output_length_after_flush(pair: tuple[int, int], n: int) -> None:
    a, b = pair
    out = one_shot(a, b, noise(n))
    assert len(out) % 2 == 0
    got = len(out) // 2
    assert got == -(-n * b // a)  # every output instant inside the input
    assert abs(got - round(n * b / a)) <= 2


@pytest.mark.parametrize(("a", "b"), [(24000, 8000), (8000, 24000), (44100, 48000)])
def test_latency_is_half_the_filter(a: int, b: int) -> None:
    r = Resampler(a, b)
    half = r.delay_samples
    fed = 0
    out = 0
    for size in [1, 5, half - 7, 1, 100, 333, 2 * half]:
        fed += size
        out += len(r.process(noise(size))) // 2
        # Output n is ready once input floor(n * a / b) + half has arrived.
        assert out == max(0, -(-(fed - half) * b // a)), (fed, out)


def test_flush_resets_for_a_new_stream() -> None:
    r = Resampler(24000, 16000)
    signal = noise(999, seed=3)
    first = r.process(signal) + r.flush()
    second = r.process(signal) + r.flush()
    assert first == second
    assert r.flush() == b""


def test_flush_with_an_odd_byte_raises_and_keeps_state() -> None:
    signal = noise(400, seed=4)
    r = Resampler(24000, 8000)
    out = r.process(signal[:-1])
    with pytest.raises(AudioFormatError, match="odd byte"):
        r.flush()
    out += r.process(signal[-1:]) + r.flush()
    assert out == one_shot(24000, 8000, signal)


# --- signal behaviour -----------------------------------------------------------


@pytest.mark.parametrize("pair", CONVERSIONS)
@pytest.mark.parametrize("level", [12345, 32767, -32768])
def test_dc_is_reproduced_exactly(pair: tuple[int, int], level: int) -> None:
    a, b = pair
    y = samples(one_shot(a, b, pcm(np.full(a // 10, level))))
    e = edge(b)
    assert set(y[e:-e].tolist()) == {level}


def test_no_delay_impulse_stays_in_place() -> None:
    for a, b, at in [(8000, 24000, 100), (24000, 8000, 300), (44100, 48000, 441)]:
        x = np.zeros(2000)
        x[at] = 30000
        y = samples(one_shot(a, b, pcm(x)))
        assert int(np.argmax(y)) == at * b // a, (a, b)


@pytest.mark.parametrize(
    ("quality", "min_snr"), [("low", 50.0), ("medium", 75.0), ("high", 80.0)]
)
@pytest.mark.parametrize("pair", CONVERSIONS)
@pytest.mark.parametrize("freq", [440.0, 1000.0])
def test_sine_matches_the_ideal_sine(
    pair: tuple[int, int], freq: float, quality: str, min_snr: float
) -> None:
    a, b = pair
    y = samples(one_shot(a, b, tone(a, freq, a // 4), quality))
    ideal = 16000.0 * np.sin(2 * np.pi * freq * np.arange(len(y)) / b)
    e = edge(b)
    err = y[e:-e] - ideal[e:-e]
    assert db(np.sum(ideal[e:-e] ** 2) / np.sum(err**2)) > min_snr


def test_downsampling_removes_a_10khz_tone() -> None:
    # 10 kHz cannot exist at 8 kHz: without the low-pass it would alias to 2 kHz.
    y = samples(one_shot(24000, 8000, tone(24000, 10000.0, 24000)))
    e = edge(8000)
    power = np.mean(y[e:-e] ** 2)
    assert db(power / (16000.0**2 / 2)) < -40.0


@pytest.mark.parametrize(
    ("pair", "rel"),
    # Tones just above the new Nyquist frequency (0.5) and far above it,
    # as long as they fit below the old one.
    [
        ((a, b), rel)
        for a, b in DOWN
        for rel in (0.52, 0.56, 0.6, 0.75)
        if rel * b < 0.45 * a
    ],
)
@pytest.mark.parametrize(("quality", "min_db"), [("low", 55.0), ("medium", 70.0)])
def test_downsampling_rejects_everything_above_the_new_nyquist(
    pair: tuple[int, int], rel: float, quality: str, min_db: float
) -> None:
    a, b = pair
    freq = rel * b
    y = samples(one_shot(a, b, tone(a, freq, a // 2), quality))
    e = edge(b)
    assert db(np.mean(y[e:-e] ** 2) / (16000.0**2 / 2)) < -min_db


@pytest.mark.parametrize("pair", UP)
def test_upsampling_leaves_no_images(pair: tuple[int, int]) -> None:
    a, b = pair
    freq = 0.3 * a  # a high tone: its first image at a - freq is close
    y = samples(one_shot(a, b, tone(a, freq, a // 2)))
    e = edge(b)
    y = y[e:-e]
    t = np.arange(e, e + len(y)) / b
    basis = np.stack([np.sin(2 * np.pi * freq * t), np.cos(2 * np.pi * freq * t)], 1)
    coef = np.linalg.lstsq(basis, y, rcond=None)[0]
    fitted = basis @ coef
    # Flat passband (within 0.01 dB) and nothing but the tone (images, noise).
    assert abs(20 * math.log10(math.hypot(*coef) / 16000.0)) < 0.01
    assert db(np.sum((y - fitted) ** 2) / np.sum(fitted**2)) < -75.0


def test_overshoot_is_clipped_not_wrapped() -> None:
    # A full-scale square wave rings above full scale after low-pass filtering.
    period = 60
    x = np.where((np.arange(24000) // (period // 2)) % 2 == 0, 32767, -32768)
    y = samples(one_shot(24000, 8000, pcm(x)))
    assert y.max() == 32767
    assert y.min() == -32768
    # Wrapping would flip the sign at the peaks; check the middle of each
    # half period keeps the square's sign.
    centres = np.arange(period // 4, len(x) - period, period // 2)
    e = edge(8000)
    for c in centres[(centres // 3 > e) & (centres // 3 < len(y) - e)]:
        assert np.sign(y[c // 3]) == np.sign(x[c])
