"""G.711 µ-law / A-law: exhaustive bit-exactness against two references.

1. ``audioop`` (the stdlib C module, removed in Python 3.13), when it exists.
2. ``SunG711`` below: a line-by-line transcription of Sun Microsystems'
   public-domain ``g711.c``, the code ``audioop`` is built on. It runs on
   every Python, so the comparison never depends on ``audioop`` being there,
   and it is itself checked against ``audioop`` where possible.
"""

from __future__ import annotations

import types
import warnings
from collections.abc import Callable

import numpy as np
import pytest

from realtime_trio.audio import (
    AudioFormatError,
    alaw_to_pcm16,
    pcm16_to_alaw,
    pcm16_to_ulaw,
    ulaw_to_pcm16,
)

Codec = Callable[[bytes | bytearray | memoryview], bytes]


def _import_audioop() -> types.ModuleType | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            import audioop
        except ImportError:  # Python >= 3.13
            return None
    return audioop


audioop = _import_audioop()
needs_audioop = pytest.mark.skipif(
    audioop is None, reason="audioop was removed in Python 3.13"
)


class SunG711:
    """Sun's g711.c (public domain), transcribed to Python without vectorising.

    Names and structure follow the C source; ``lin2ulaw`` and friends apply
    the sample shifts that audioop.c uses for 16-bit input.
    """

    SIGN_BIT = 0x80
    QUANT_MASK = 0xF
    SEG_SHIFT = 4
    SEG_MASK = 0x70
    BIAS = 0x84
    CLIP = 8159
    seg_aend = (0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF)
    seg_uend = (0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF)

    @staticmethod
    def search(val: int, table: tuple[int, ...]) -> int:
        for i, end in enumerate(table):
            if val <= end:
                return i
        return len(table)

    @classmethod
    def linear2alaw(cls, pcm_val: int) -> int:
        """2's complement, 13-bit range."""
        if pcm_val >= 0:
            mask = 0xD5  # sign (7th) bit = 1
        else:
            mask = 0x55  # sign bit = 0
            pcm_val = -pcm_val - 1
        seg = cls.search(pcm_val, cls.seg_aend)
        if seg >= 8:  # out of range, return maximum value
            return 0x7F ^ mask
        aval = seg << cls.SEG_SHIFT
        if seg < 2:
            aval |= (pcm_val >> 1) & cls.QUANT_MASK
        else:
            aval |= (pcm_val >> seg) & cls.QUANT_MASK
        return aval ^ mask

    @classmethod
    def alaw2linear(cls, a_val: int) -> int:
        a_val ^= 0x55
        t = (a_val & cls.QUANT_MASK) << 4
        seg = (a_val & cls.SEG_MASK) >> cls.SEG_SHIFT
        if seg == 0:
            t += 8
        elif seg == 1:
            t += 0x108
        else:
            t += 0x108
            t <<= seg - 1
        return t if a_val & cls.SIGN_BIT else -t

    @classmethod
    def linear2ulaw(cls, pcm_val: int) -> int:
        """2's complement, 14-bit range."""
        if pcm_val < 0:
            pcm_val = -pcm_val
            mask = 0x7F
        else:
            mask = 0xFF
        if pcm_val > cls.CLIP:
            pcm_val = cls.CLIP
        pcm_val += cls.BIAS >> 2
        seg = cls.search(pcm_val, cls.seg_uend)
        if seg >= 8:
            return 0x7F ^ mask
        uval = (seg << 4) | ((pcm_val >> (seg + 1)) & 0xF)
        return uval ^ mask

    @classmethod
    def ulaw2linear(cls, u_val: int) -> int:
        u_val = ~u_val & 0xFF
        t = ((u_val & cls.QUANT_MASK) << 3) + cls.BIAS
        t <<= (u_val & cls.SEG_MASK) >> cls.SEG_SHIFT
        return cls.BIAS - t if u_val & cls.SIGN_BIT else t - cls.BIAS

    # audioop.c, width 2: lin2ulaw codes sample >> 2, lin2alaw codes sample >> 3.

    @classmethod
    def lin2ulaw(cls, pcm: bytes) -> bytes:
        samples = np.frombuffer(pcm, "<i2").tolist()
        return bytes(cls.linear2ulaw(s >> 2) for s in samples)

    @classmethod
    def lin2alaw(cls, pcm: bytes) -> bytes:
        samples = np.frombuffer(pcm, "<i2").tolist()
        return bytes(cls.linear2alaw(s >> 3) for s in samples)

    @classmethod
    def ulaw2lin(cls, data: bytes) -> bytes:
        return np.array([cls.ulaw2linear(c) for c in data], "<i2").tobytes()

    @classmethod
    def alaw2lin(cls, data: bytes) -> bytes:
        return np.array([cls.alaw2linear(c) for c in data], "<i2").tobytes()


ALL_PCM = np.arange(-32768, 32768, dtype="<i2").tobytes()
ALL_CODES = bytes(range(256))


@pytest.fixture(scope="module")
def sun() -> dict[str, bytes]:
    return {
        "lin2ulaw": SunG711.lin2ulaw(ALL_PCM),
        "lin2alaw": SunG711.lin2alaw(ALL_PCM),
        "ulaw2lin": SunG711.ulaw2lin(ALL_CODES),
        "alaw2lin": SunG711.alaw2lin(ALL_CODES),
    }


def _mismatches(got: bytes, want: bytes, dtype: str) -> list[tuple[int, int, int]]:
    a, b = np.frombuffer(got, dtype), np.frombuffer(want, dtype)
    assert a.shape == b.shape
    bad = np.flatnonzero(a != b)
    return [(int(i), int(a[i]), int(b[i])) for i in bad[:5]]


def test_ulaw_encode_matches_sun_for_all_65536_samples(sun: dict[str, bytes]) -> None:
    assert _mismatches(pcm16_to_ulaw(ALL_PCM), sun["lin2ulaw"], "u1") == []


def test_alaw_encode_matches_sun_for_all_65536_samples(sun: dict[str, bytes]) -> None:
    assert _mismatches(pcm16_to_alaw(ALL_PCM), sun["lin2alaw"], "u1") == []


def test_ulaw_decode_matches_sun_for_all_256_codes(sun: dict[str, bytes]) -> None:
    assert _mismatches(ulaw_to_pcm16(ALL_CODES), sun["ulaw2lin"], "<i2") == []


def test_alaw_decode_matches_sun_for_all_256_codes(sun: dict[str, bytes]) -> None:
    assert _mismatches(alaw_to_pcm16(ALL_CODES), sun["alaw2lin"], "<i2") == []


@needs_audioop
@pytest.mark.parametrize("name", ["lin2ulaw", "lin2alaw"])
def test_encoders_match_audioop_for_all_65536_samples(
    name: str, sun: dict[str, bytes]
) -> None:
    assert audioop is not None
    want = getattr(audioop, name)(ALL_PCM, 2)
    ours = {"lin2ulaw": pcm16_to_ulaw, "lin2alaw": pcm16_to_alaw}[name]
    assert _mismatches(ours(ALL_PCM), want, "u1") == []
    # The transcription agrees with the C code too, so it is a valid oracle
    # where audioop is gone.
    assert sun[name] == want


@needs_audioop
@pytest.mark.parametrize("name", ["ulaw2lin", "alaw2lin"])
def test_decoders_match_audioop_for_all_256_codes(
    name: str, sun: dict[str, bytes]
) -> None:
    assert audioop is not None
    want = getattr(audioop, name)(ALL_CODES, 2)
    ours = {"ulaw2lin": ulaw_to_pcm16, "alaw2lin": alaw_to_pcm16}[name]
    assert _mismatches(ours(ALL_CODES), want, "<i2") == []
    assert sun[name] == want


def test_known_values() -> None:
    # Silence, full scale and a few hand-checked codes from the G.711 tables.
    pcm = np.array([0, 32767, -32768, 1000, -1000], "<i2").tobytes()
    assert pcm16_to_ulaw(pcm) == bytes([0xFF, 0x80, 0x00, 0xCE, 0x4E])
    assert pcm16_to_alaw(pcm) == bytes([0xD5, 0xAA, 0x2A, 0xFA, 0x7A])
    assert np.frombuffer(ulaw_to_pcm16(b"\xff\x7f\x80\x00"), "<i2").tolist() == [
        0,
        0,
        32124,
        -32124,
    ]
    assert np.frombuffer(alaw_to_pcm16(b"\xd5\x55\xaa\x2a"), "<i2").tolist() == [
        8,
        -8,
        32256,
        -32256,
    ]


@pytest.mark.parametrize(
    ("encode", "decode"),
    [(pcm16_to_ulaw, ulaw_to_pcm16), (pcm16_to_alaw, alaw_to_pcm16)],
)
def test_decoded_levels_survive_a_second_pass(encode: Codec, decode: Codec) -> None:
    # Decoding then encoding lands on the same level: the quantiser is
    # idempotent on its own reconstruction levels.
    levels = decode(ALL_CODES)
    assert decode(encode(levels)) == levels


@pytest.mark.parametrize("encode", [pcm16_to_ulaw, pcm16_to_alaw])
def test_encoders_reject_odd_length(encode: Codec) -> None:
    with pytest.raises(AudioFormatError, match="2-byte samples"):
        encode(b"\x00\x01\x02")


@pytest.mark.parametrize(
    "func", [pcm16_to_ulaw, pcm16_to_alaw, ulaw_to_pcm16, alaw_to_pcm16]
)
def test_empty_input_and_buffer_types(func: Codec) -> None:
    assert func(b"") == b""
    data = bytes(range(16))
    out = func(data)
    assert type(out) is bytes
    assert func(bytearray(data)) == out
    assert func(memoryview(data)) == out
