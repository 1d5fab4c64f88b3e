"""Streaming PCM16 sample-rate conversion with a polyphase windowed-sinc filter.

Theory of operation
-------------------

Converting from rate ``F`` to rate ``T`` reduces to the ratio ``L / M``
(``T / F`` in lowest terms; 44.1 kHz -> 48 kHz is 160 / 147).
Output sample ``n`` sits at time ``n * M / L``, measured in input samples, and
is the weighted sum of the ``K`` input samples around that time:

    y[n] = sum over k of x[floor(n*M/L) - K/2 + 1 + k] * H[(n*M) mod L][k]

``H`` is a table of ``L`` phases of ``K`` taps each, sampled from one
Kaiser-windowed sinc low-pass whose cut-off sits just below the Nyquist
frequency of the *lower* of the two rates.
So downsampling is anti-aliased and upsampling rejects images with the same
filter.
The filter is symmetric around each output instant, so the output has no
delay: sample ``n`` of the output is at the same time as input sample
``n * M / L``.

Three details make the output independent of how the input is chunked:

* **Exact integer arithmetic.** The taps are integers, scaled by ``2**24``,
  and the samples are integers, so every product and every partial sum is an
  integer below ``2**53``, which float64 holds exactly.
  The result therefore does not depend on summation order, BLAS kernels or
  vector widths, and the streaming output is bit-identical to one-shot
  output for every chunking.
  Each phase's taps sum to exactly ``2**24``, so DC passes through unchanged.
* **Explicit rounding.** Each sum is divided by ``2**24`` with round half up,
  ``(acc + 2**23) >> 24``, then clipped to the int16 range.
* **Carried state.** The resampler keeps the input samples that later output
  samples still need (under ``K`` of them), the index of the next output
  sample and an odd trailing byte, if any.
  The stream starts as if preceded by silence; `Resampler.flush` appends
  silence to compute the tail, so after it the output holds
  ``ceil(n_in * T / F)`` samples in all: every output instant inside the input.

The latency is half the filter: ``K / 2`` input samples, 2 ms at the default
quality whatever the ratio.

The computation is vectorised two ways. Outputs ``n, n + L, n + 2L, ...``
share a phase and lie ``M`` inputs apart, so a call with many outputs per
phase does one matrix-vector product per phase over a strided, zero-copy view
of the input. A call with few outputs per phase gathers the input windows it
needs and multiplies them with whole periods of the phase table (kept in
output order) in one ``einsum``. Long inputs are cut into bounded blocks to
bound memory. Since the arithmetic is exact, every path gives the same bits.
"""

from __future__ import annotations

import functools
import math
from typing import Final, Literal, final

import numpy as np
import numpy.typing as npt

from .formats import SUPPORTED_PCM_RATES, AudioFormatError

__all__ = ["Resampler", "ResampleQuality"]

ResampleQuality = Literal["low", "medium", "high"]

# quality -> (half-length in samples at the lower rate, Kaiser beta, cut-off as
# a fraction of the lower Nyquist frequency). Measured continuous responses:
#   low:    16 taps, stopband from Nyquist >= 62 dB down, -3 dB at 0.334 fs
#   medium: 32 taps, stopband from Nyquist >= 76 dB down, -3 dB at 0.410 fs
#   high:   64 taps, stopband from Nyquist >= 95 dB down, -3 dB at 0.442 fs
# (fs is the lower rate: at 8 kHz, medium is -3 dB at 3.28 kHz.)
_QUALITY: Final[dict[str, tuple[int, float, float]]] = {
    "low": (8, 5.5, 0.72),
    "medium": (16, 7.5, 0.85),
    "high": (32, 9.5, 0.90),
}

_FRAC_BITS: Final = 24
_ONE: Final = 1 << _FRAC_BITS
_HALF: Final = 1 << (_FRAC_BITS - 1)
_INT16_MIN: Final = -32768
_INT16_MAX: Final = 32767
# From this many output rows per phase on, one matrix-vector product per
# phase beats gathering the input windows into a (rows, K) matrix.
_ROWS_PER_PHASE_FOR_MATMUL: Final = 64
# Gather at most about this many window values at once (512 KiB of float64),
# so that the gathered block stays in cache.
_GATHER_BLOCK: Final = 1 << 16
# Compute at most about this many multiply-adds per _convolve call: this
# bounds the temporary memory (16 MiB of float64) ...
_CALL_BLOCK: Final = 1 << 21
# ... and process() converts at most this many input samples per _run.
_RUN_BLOCK: Final = 1 << 18


@functools.lru_cache(maxsize=64)
def _design(up: int, down: int, quality: str) -> tuple[npt.NDArray[np.float64], int]:
    """Return the integer phase table and the filter's half-length ``K / 2``.

    Row ``j`` of the table (``2 * up`` x ``K``) holds the taps of every output
    sample ``n`` with ``n % up == j % up``.
    """
    half_low, beta, cutoff = _QUALITY[quality]
    # Widen the kernel (in input samples) when downsampling: its length is
    # fixed at the lower rate.
    stretch = max(1.0, down / up)
    half = math.ceil(half_low * stretch)
    ntaps = 2 * half
    # Cut-off as a fraction of the input Nyquist frequency.
    rel = cutoff * min(1.0, up / down)
    frac = np.arange(up, dtype=np.float64)[:, None] / up
    k = np.arange(ntaps, dtype=np.float64)[None, :]
    dist = frac + (half - 1) - k  # output instant minus tap position
    window = np.i0(beta * np.sqrt(np.clip(1.0 - (dist / half) ** 2, 0.0, None)))
    taps = rel * np.sinc(rel * dist) * window / np.i0(beta)
    taps /= taps.sum(axis=1, keepdims=True)
    table = np.rint(taps * _ONE)
    # Put each phase's rounding residue on its largest tap so that every phase
    # sums to exactly 2**24: then DC is reproduced exactly.
    residue = _ONE - table.sum(axis=1)
    table[np.arange(up), np.argmax(table, axis=1)] += residue
    # Output n has phase (n * down) % up: order the phases by n % up instead,
    # and repeat them once.
    cyclic = np.tile(table[(np.arange(up) * down) % up], (2, 1))
    cyclic.setflags(write=False)
    return cyclic, half


@final
class Resampler:
    """Convert a stream of PCM16 little-endian mono audio between sample rates.

    Feed chunks of any size to `process`, then call `flush` at the end of
    the stream.
    The output is bit-identical however the input is chunked, including
    one-byte and odd-length chunks: an odd trailing byte is kept for the
    next call.
    Converting between equal rates passes the audio through unchanged.

    The filter is a Kaiser-windowed sinc low-pass at the lower rate's Nyquist
    frequency, applied polyphase; *quality* picks its length:
    ``"low"`` (16 taps at the lower rate), ``"medium"`` (32) or ``"high"``
    (64).
    The delay is half the filter, 2 ms for ``"medium"``; the output is
    aligned with the input, with no delay of its own.

    Args:
        from_rate: Input rate in Hz, one of `SUPPORTED_PCM_RATES`.
        to_rate: Output rate in Hz, one of `SUPPORTED_PCM_RATES`.
        quality: Filter length preset.

    Raises:
        AudioFormatError: A rate or *quality* is not supported.
    """

    def __init__(
        self, from_rate: int, to_rate: int, *, quality: ResampleQuality = "medium"
    ) -> None:
        for rate in (from_rate, to_rate):
            if rate not in SUPPORTED_PCM_RATES:
                raise AudioFormatError(
                    f"unsupported sample rate {rate!r} Hz; supported rates are "
                    + ", ".join(str(r) for r in SUPPORTED_PCM_RATES)
                )
        if quality not in _QUALITY:
            raise AudioFormatError(
                f"unknown resampler quality {quality!r}; "
                "expected 'low', 'medium' or 'high'"
            )
        self._from_rate = from_rate
        self._to_rate = to_rate
        self._quality: ResampleQuality = quality
        g = math.gcd(from_rate, to_rate)
        self._up = to_rate // g
        self._down = from_rate // g
        self._passthrough = from_rate == to_rate
        # _cyclic[j] holds the taps of output n when n % up == j, twice over,
        # so that the taps of up consecutive outputs are a contiguous slice.
        self._cyclic, self._half = _design(self._up, self._down, quality)
        self._reset()

    def _reset(self) -> None:
        self._carry = b""
        # Input samples still needed, starting at global input index _base.
        # The stream starts as if preceded by silence.
        self._history: npt.NDArray[np.float64] = np.zeros(
            self._half - 1, dtype=np.float64
        )
        self._base = 1 - self._half
        self._next_out = 0  # global index of the next output sample
        self._samples_in = 0

    @property
    def from_rate(self) -> int:
        """Input sample rate in Hz."""
        return self._from_rate

    @property
    def to_rate(self) -> int:
        """Output sample rate in Hz."""
        return self._to_rate

    @property
    def quality(self) -> ResampleQuality:
        """The filter quality preset."""
        return self._quality

    @property
    def delay_samples(self) -> int:
        """How many input samples `process` holds back before it can output them.

        This is half the filter length, in input samples (0 when passing
        through).
        """
        return 0 if self._passthrough else self._half

    @property
    def pending_bytes(self) -> int:
        """Input bytes held until a later call completes their sample (0 or 1)."""
        return len(self._carry)

    def process(self, chunk: bytes | bytearray | memoryview) -> bytes:
        """Convert the next *chunk* of input and return the output it completes.

        The returned audio is a whole number of samples; it may be empty
        while the filter fills.
        """
        if self._carry:
            chunk = self._carry + chunk
        whole = len(chunk) & ~1
        self._carry = bytes(chunk[whole:])
        if self._passthrough:
            return bytes(chunk[:whole])
        samples = np.frombuffer(chunk, dtype="<i2", count=whole // 2)
        if len(samples) <= _RUN_BLOCK:
            return self._run(samples.astype(np.float64), final=False)
        # Long inputs go in pieces: the result is the same, the memory bounded.
        return b"".join(
            self._run(samples[i : i + _RUN_BLOCK].astype(np.float64), final=False)
            for i in range(0, len(samples), _RUN_BLOCK)
        )

    def flush(self) -> bytes:
        """End the stream: return the remaining output and reset the resampler.

        The tail is computed as if the input were followed by silence.
        After a reset the resampler is ready for a new, unrelated stream.

        Raises:
            AudioFormatError: The stream ended with an odd byte, half a
                sample. The state is left unchanged, so a caller can still
                supply the missing byte.
        """
        if self._carry:
            raise AudioFormatError(
                "PCM16 stream ended with an odd byte (half a sample); "
                "feed the missing byte or discard the stream"
            )
        if self._passthrough:
            return b""
        out = self._run(np.zeros(self._half, dtype=np.float64), final=True)
        self._reset()
        return out

    def _run(self, new: npt.NDArray[np.float64], *, final: bool) -> bytes:
        up, down, half = self._up, self._down, self._half
        if final:
            # Every output instant before the end of the real input.
            stop = -(-self._samples_in * up // down)
        else:
            self._samples_in += len(new)
        x = np.concatenate((self._history, new)) if len(self._history) else new
        last = self._base + len(x) - 1  # global index of the newest sample
        # Output n needs inputs up to floor(n*down/up) + half.
        limit = last - half + 1  # outputs with floor(n*down/up) < limit
        end = max(self._next_out, -(-limit * up // down))
        if final:
            end = stop
        start = self._next_out
        count = end - start
        out = np.empty(max(count, 0), dtype=np.float64)
        # Bound the memory one _convolve call needs (see _CALL_BLOCK).
        step = max(
            _ROWS_PER_PHASE_FOR_MATMUL * up, _CALL_BLOCK // (2 * half) // up * up
        )
        for lo in range(0, count, step):
            hi = min(lo + step, count)
            out[lo:hi] = self._convolve(x, start + lo, hi - lo)
        self._next_out = end
        # Keep the inputs from the first one the next output needs. The
        # kernel spans at least down/up + 1 inputs, so that is never beyond x.
        keep_from = (end * down) // up - half + 1 - self._base
        self._history = x[keep_from:].copy()
        self._base += keep_from
        return _to_pcm16(out)

    def _convolve(
        self, x: npt.NDArray[np.float64], start: int, count: int
    ) -> npt.NDArray[np.float64]:
        up, down, ntaps = self._up, self._down, 2 * self._half
        # windows[i] is x[i : i + ntaps], a zero-copy view of the contiguous x.
        windows: npt.NDArray[np.float64] = np.ndarray(
            (len(x) - ntaps + 1, ntaps), np.float64, x, 0, (x.itemsize, x.itemsize)
        )
        first = start * down // up - self._half + 1 - self._base
        out = np.empty(count, dtype=np.float64)
        if count >= _ROWS_PER_PHASE_FOR_MATMUL * up:
            # Outputs n, n + up, n + 2*up, ... share a phase and lie down
            # inputs apart: one strided view and one product per phase.
            for i in range(up):
                rows = len(range(i, count, up))
                offset = (start + i) * down // up - start * down // up
                view = windows[first + offset :: down][:rows]
                out[i::up] = view @ self._cyclic[(start + i) % up]
            return out
        # Gather the windows, a bounded block at a time to stay in cache.
        # Output start + j has the taps _cyclic[p + j % up], p = start % up:
        # so whole periods of up outputs share one contiguous (up, K) slice
        # of the doubled table, and so does the rest.
        p = start % up
        taps = self._cyclic[p : p + up]
        block = up * max(1, _GATHER_BLOCK // (up * ntaps))
        n = np.arange(count, dtype=np.int64) + start
        window_index = n * down // up - start * down // up + first
        for lo in range(0, count, block):
            hi = min(lo + block, count)
            gathered = windows[window_index[lo:hi]]
            body = (hi - lo) - (hi - lo) % up
            if body:
                out[lo : lo + body] = np.einsum(
                    "jik,ik->ji", gathered[:body].reshape(-1, up, ntaps), taps
                ).reshape(body)
            if lo + body < hi:
                out[lo + body : hi] = np.einsum(
                    "ij,ij->i", gathered[body:], taps[: hi - lo - body]
                )
        return out


def _to_pcm16(acc: npt.NDArray[np.float64]) -> bytes:
    # acc holds exact integers (scaled by 2**24): round half up, then clip.
    scaled = (acc.astype(np.int64) + _HALF) >> _FRAC_BITS
    clipped: npt.NDArray[np.int64] = np.clip(scaled, _INT16_MIN, _INT16_MAX)
    return clipped.astype("<i2").tobytes()
