"""G.711 µ-law and A-law codecs, bit-exact with the Sun reference coder.

The reference is Sun Microsystems' public-domain ``g711.c``, the code behind
the stdlib ``audioop`` functions ``lin2ulaw``, ``ulaw2lin``, ``lin2alaw`` and
``alaw2lin`` (``audioop`` was removed in Python 3.13).
For 16-bit input ``audioop`` shifts each sample right by 2 (µ-law, a 14-bit
coder) or by 3 (A-law, a 13-bit coder) before coding, so we do too.

Both directions are table lookups, built once at import with numpy:

* encoding indexes a 65,536-entry ``uint8`` table with the samples viewed as
  ``uint16``;
* decoding indexes a 256-entry little-endian ``int16`` table with the codes.

The tables are computed by vectorised versions of the reference formulas.
The tests check them against ``audioop`` (when it exists) and against a
line-by-line transcription of ``g711.c``.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from .formats import AudioFormatError

__all__ = ["alaw_to_pcm16", "pcm16_to_alaw", "pcm16_to_ulaw", "ulaw_to_pcm16"]

_BIAS: Final = 0x84
_CLIP: Final = 8159
_SEG_UEND: Final = np.array(
    [0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF], dtype=np.int32
)
_SEG_AEND: Final = np.array(
    [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF], dtype=np.int32
)


def _all_int16() -> npt.NDArray[np.int32]:
    # Entry i is the int16 whose bit pattern is the uint16 i, so a table built
    # over this array is indexed by the uint16 view of the samples.
    return np.arange(1 << 16, dtype=np.uint16).view(np.int16).astype(np.int32)


def _build_ulaw_encode() -> npt.NDArray[np.uint8]:
    pcm = _all_int16() >> 2  # the reference codes 14-bit samples
    mask = np.where(pcm < 0, 0x7F, 0xFF)
    mag = np.minimum(np.abs(pcm), _CLIP) + (_BIAS >> 2)
    # g711.c search(): the first segment whose end is >= the magnitude.
    seg = np.searchsorted(_SEG_UEND, mag, side="left")
    quant = (mag >> np.minimum(seg + 1, 8)) & 0xF
    uval = np.where(seg >= 8, 0x7F, (seg << 4) | quant)
    return (uval ^ mask).astype(np.uint8)


def _build_alaw_encode() -> npt.NDArray[np.uint8]:
    pcm = _all_int16() >> 3  # the reference codes 13-bit samples
    mask = np.where(pcm >= 0, 0xD5, 0x55)
    mag = np.where(pcm >= 0, pcm, -pcm - 1)
    seg = np.searchsorted(_SEG_AEND, mag, side="left")
    quant = (mag >> np.clip(seg, 1, 8)) & 0xF
    aval = np.where(seg >= 8, 0x7F, (seg << 4) | quant)
    return (aval ^ mask).astype(np.uint8)


def _build_ulaw_decode() -> npt.NDArray[np.int16]:
    u = ~np.arange(256, dtype=np.int32) & 0xFF
    t = (((u & 0x0F) << 3) + _BIAS) << ((u & 0x70) >> 4)
    return np.where(u & 0x80, _BIAS - t, t - _BIAS).astype("<i2")


def _build_alaw_decode() -> npt.NDArray[np.int16]:
    a = np.arange(256, dtype=np.int32) ^ 0x55
    t = (a & 0x0F) << 4
    seg = (a & 0x70) >> 4
    t = np.where(seg == 0, t + 8, (t + 0x108) << np.maximum(seg - 1, 0))
    return np.where(a & 0x80, t, -t).astype("<i2")


_ULAW_ENCODE: Final = _build_ulaw_encode()
_ALAW_ENCODE: Final = _build_alaw_encode()
_ULAW_DECODE: Final = _build_ulaw_decode()
_ALAW_DECODE: Final = _build_alaw_decode()


def _pcm16_codes(pcm: bytes | bytearray | memoryview) -> npt.NDArray[np.uint16]:
    if len(pcm) % 2:
        raise AudioFormatError(
            f"PCM16 data must be a whole number of 2-byte samples, got {len(pcm)} bytes"
        )
    return np.frombuffer(pcm, dtype="<u2")


def pcm16_to_ulaw(pcm: bytes | bytearray | memoryview) -> bytes:
    """Encode PCM16 little-endian samples as G.711 µ-law, one byte per sample.

    Bit-exact with ``audioop.lin2ulaw(pcm, 2)``.

    Raises:
        AudioFormatError: *pcm* has an odd number of bytes.
    """
    return _ULAW_ENCODE[_pcm16_codes(pcm)].tobytes()


def pcm16_to_alaw(pcm: bytes | bytearray | memoryview) -> bytes:
    """Encode PCM16 little-endian samples as G.711 A-law, one byte per sample.

    Bit-exact with ``audioop.lin2alaw(pcm, 2)``.

    Raises:
        AudioFormatError: *pcm* has an odd number of bytes.
    """
    return _ALAW_ENCODE[_pcm16_codes(pcm)].tobytes()


def ulaw_to_pcm16(data: bytes | bytearray | memoryview) -> bytes:
    """Decode G.711 µ-law bytes to PCM16 little-endian samples.

    Bit-exact with ``audioop.ulaw2lin(data, 2)``.
    """
    return _ULAW_DECODE[np.frombuffer(data, dtype=np.uint8)].tobytes()


def alaw_to_pcm16(data: bytes | bytearray | memoryview) -> bytes:
    """Decode G.711 A-law bytes to PCM16 little-endian samples.

    Bit-exact with ``audioop.alaw2lin(data, 2)``.
    """
    return _ALAW_DECODE[np.frombuffer(data, dtype=np.uint8)].tobytes()
