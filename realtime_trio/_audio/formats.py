"""Audio formats: the encodings and rates that the audio helpers understand.

The Realtime API knows three wire formats (protocol reference, section 5):

==============  =======================================  =========
wire ``type``   encoding                                 rate
==============  =======================================  =========
``audio/pcm``   16-bit signed PCM, little-endian, mono   24000 Hz
``audio/pcmu``  G.711 µ-law, one byte per sample, mono   8000 Hz
``audio/pcma``  G.711 A-law, one byte per sample, mono   8000 Hz
==============  =======================================  =========

Local audio (microphones, sound cards, WAV files) is usually PCM16 at some
other rate, so `AudioFormat` also describes PCM16 at 8, 16, 44.1 and 48 kHz.
Those formats exist only on the local side of a conversion;
`AudioFormat.to_wire` refuses them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Literal, final

import attrs

from .._core.errors import RealtimeError

__all__ = [
    "AudioEncoding",
    "AudioFormat",
    "AudioFormatError",
    "BYTES_PER_SAMPLE",
    "PCM16_24K",
    "PCMA",
    "PCMU",
    "SAMPLE_RATE",
    "SUPPORTED_PCM_RATES",
    "bytes_for_duration",
    "duration_ms",
    "frame_bytes",
]


class AudioFormatError(RealtimeError, ValueError):
    """Audio data or an audio format is invalid or not supported.

    Raised for unsupported encodings or sample rates, malformed base64, PCM16
    data that is not a whole number of samples, and unreadable WAV files.
    """


AudioEncoding = Literal["pcm16", "pcmu", "pcma"]
"""The sample encodings: linear PCM16, G.711 µ-law, G.711 A-law."""

SAMPLE_RATE: Final = 24_000
"""The Realtime API's PCM16 sample rate (``audio/pcm``), in Hz."""

BYTES_PER_SAMPLE: Final = 2
"""Bytes per PCM16 sample (mono, so also bytes per frame)."""

SUPPORTED_PCM_RATES: Final[tuple[int, ...]] = (8_000, 16_000, 24_000, 44_100, 48_000)
"""The PCM16 sample rates that `AudioFormat` and `Resampler` accept, in Hz."""

_G711_RATE: Final = 8_000

_WIRE_TYPES: Final[dict[str, AudioEncoding]] = {
    "audio/pcm": "pcm16",
    "audio/pcmu": "pcmu",
    "audio/pcma": "pcma",
}
_ENCODING_TO_WIRE: Final[dict[AudioEncoding, str]] = {
    v: k for k, v in _WIRE_TYPES.items()
}
# The beta API named formats with bare strings; servers still echo them in
# places (protocol reference, section 10, item 3), so from_wire() accepts them.
_BETA_NAMES: Final[dict[str, AudioEncoding]] = {
    "pcm16": "pcm16",
    "g711_ulaw": "pcmu",
    "g711_alaw": "pcma",
}


def _check_encoding(instance: AudioFormat, attribute: object, value: str) -> None:
    if value not in _ENCODING_TO_WIRE:
        raise AudioFormatError(
            f"unsupported audio encoding {value!r}; expected 'pcm16', 'pcmu' or 'pcma'"
        )


def _check_rate(instance: AudioFormat, attribute: object, value: int) -> None:
    if type(value) is not int:
        raise AudioFormatError(f"sample rate must be an int, got {value!r}")
    if instance.encoding == "pcm16":
        if value not in SUPPORTED_PCM_RATES:
            raise AudioFormatError(
                f"unsupported PCM16 sample rate {value} Hz; supported rates are "
                + ", ".join(str(r) for r in SUPPORTED_PCM_RATES)
            )
    elif value != _G711_RATE:
        raise AudioFormatError(
            f"G.711 ({instance.encoding}) is always 8000 Hz, got {value} Hz"
        )


@final
@attrs.frozen
class AudioFormat:
    """A mono audio format: a sample encoding and a sample rate.

    Use the ready constants `PCM16_24K`, `PCMU` and `PCMA` for the Realtime
    API's formats, `AudioFormat.pcm16` for local PCM16 at another rate, and
    `AudioFormat.from_wire` to read a session's ``format`` object.

    Attributes:
        encoding: ``"pcm16"`` (linear, little-endian), ``"pcmu"`` (µ-law) or
            ``"pcma"`` (A-law).
        rate: Samples per second, always 8000 for G.711.

    Raises:
        AudioFormatError: The encoding or the rate is not supported.
    """

    encoding: AudioEncoding = attrs.field(validator=_check_encoding)
    rate: int = attrs.field(validator=_check_rate)

    @classmethod
    def pcm16(cls, rate: int = SAMPLE_RATE) -> AudioFormat:
        """Return PCM16 little-endian mono at *rate* (one of `SUPPORTED_PCM_RATES`).

        Raises:
            AudioFormatError: *rate* is not supported.
        """
        return cls("pcm16", rate)

    @classmethod
    def from_wire(cls, obj: Mapping[str, object] | str) -> AudioFormat:
        """Map a session's wire ``format`` object to an `AudioFormat`.

        Accepts the GA objects ``{"type": "audio/pcm", "rate": 24000}``,
        ``{"type": "audio/pcmu"}`` and ``{"type": "audio/pcma"}``.
        As in the SDK, ``type`` defaults to ``"audio/pcm"`` and ``rate`` to
        24000.
        The beta strings ``"pcm16"``, ``"g711_ulaw"`` and ``"g711_alaw"``
        are accepted too.

        Raises:
            AudioFormatError: The type or the rate is not one the API defines.
        """
        if isinstance(obj, str):
            try:
                encoding = _BETA_NAMES[obj]
            except KeyError:
                raise AudioFormatError(f"unknown audio format name {obj!r}") from None
            return cls(encoding, SAMPLE_RATE if encoding == "pcm16" else _G711_RATE)
        if not isinstance(obj, Mapping):
            raise AudioFormatError(f"audio format must be a mapping, got {obj!r}")
        wire_type = obj.get("type", "audio/pcm")
        if not isinstance(wire_type, str) or wire_type not in _WIRE_TYPES:
            raise AudioFormatError(
                f"unsupported audio format type {wire_type!r}; expected "
                "'audio/pcm', 'audio/pcmu' or 'audio/pcma'"
            )
        encoding = _WIRE_TYPES[wire_type]
        expected = SAMPLE_RATE if encoding == "pcm16" else _G711_RATE
        rate = obj.get("rate", expected)
        if rate != expected:
            raise AudioFormatError(
                f"unsupported rate {rate!r} for {wire_type!r}; the API allows only "
                f"{expected}"
            )
        return cls(encoding, expected)

    def to_wire(self) -> dict[str, object]:
        """Return the wire ``format`` object for a session configuration.

        Raises:
            AudioFormatError: This format is not one the API accepts (PCM16 at a
                rate other than 24000 Hz).
        """
        if self.encoding == "pcm16":
            if self.rate != SAMPLE_RATE:
                raise AudioFormatError(
                    f"the Realtime API accepts PCM16 only at {SAMPLE_RATE} Hz, "
                    f"not {self.rate} Hz; resample first"
                )
            return {"type": "audio/pcm", "rate": SAMPLE_RATE}
        return {"type": _ENCODING_TO_WIRE[self.encoding]}

    @property
    def wire_type(self) -> str:
        """The wire ``type`` string, ``"audio/pcm"``, ``"audio/pcmu"`` or ``"audio/pcma"``."""
        return _ENCODING_TO_WIRE[self.encoding]

    @property
    def sample_width(self) -> int:
        """Bytes per sample, 2 for PCM16 and 1 for G.711."""
        return BYTES_PER_SAMPLE if self.encoding == "pcm16" else 1

    @property
    def bytes_per_second(self) -> int:
        """Bytes of audio per second of sound."""
        return self.rate * self.sample_width


PCM16_24K: Final = AudioFormat("pcm16", SAMPLE_RATE)
"""``audio/pcm``: PCM16 little-endian mono at 24 kHz, the API's default."""

PCMU: Final = AudioFormat("pcmu", _G711_RATE)
"""``audio/pcmu``: G.711 µ-law at 8 kHz."""

PCMA: Final = AudioFormat("pcma", _G711_RATE)
"""``audio/pcma``: G.711 A-law at 8 kHz."""


def bytes_for_duration(fmt: AudioFormat, ms: float) -> int:
    """Return the size in bytes of *ms* milliseconds of audio in *fmt*.

    The duration is rounded to the nearest whole sample, so the result is
    always a multiple of the sample width.

    Raises:
        AudioFormatError: *ms* is negative.
    """
    if ms < 0:
        raise AudioFormatError(f"duration must not be negative, got {ms} ms")
    return round(ms * fmt.rate / 1000) * fmt.sample_width


def duration_ms(fmt: AudioFormat, nbytes: int) -> float:
    """Return how many milliseconds *nbytes* bytes of audio in *fmt* last.

    Raises:
        AudioFormatError: *nbytes* is negative.
    """
    if nbytes < 0:
        raise AudioFormatError(f"byte count must not be negative, got {nbytes}")
    return nbytes * 1000 / fmt.bytes_per_second


def frame_bytes(fmt: AudioFormat, frame_ms: int) -> int:
    """Return the size in bytes of one *frame_ms* frame in *fmt*.

    For example 960 for 20 ms of `PCM16_24K` and 160 for 20 ms of `PCMU`.

    Raises:
        AudioFormatError: *frame_ms* is not positive, or it does not hold a
            whole number of samples (44.1 kHz needs a multiple of 10 ms).
    """
    if type(frame_ms) is not int or frame_ms <= 0:
        raise AudioFormatError(f"frame_ms must be a positive int, got {frame_ms!r}")
    samples, rest = divmod(fmt.rate * frame_ms, 1000)
    if rest:
        raise AudioFormatError(
            f"{frame_ms} ms at {fmt.rate} Hz is not a whole number of samples"
        )
    return samples * fmt.sample_width
