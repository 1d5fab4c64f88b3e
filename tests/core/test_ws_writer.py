"""The sans-IO writer of client WebSocket frames, held to wsproto's output byte for byte."""

from __future__ import annotations

import os
import random
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st
from wsproto.frame_protocol import FrameProtocol, Opcode

from realtime_trio._core import ws_writer
from realtime_trio._core.ws_frames import FrameReader
from realtime_trio._core.ws_writer import client_frame, mask

#: Lengths around every boundary: the Python tail, numpy's 8-byte words, the
#: 7-, 16- and 64-bit length encodings, and a 100 ms audio append.
LENGTHS = [0, 1, 3, 4, 7, 8, 9, 63, 64, 65, 125, 126, 127, 6445, 65535, 65536, 100_003]


def wsproto_frame(opcode: Opcode, payload: bytes, key: bytes) -> bytes:
    """wsproto's frame for ``payload``, its masking key fixed to ``key``."""
    protocol = FrameProtocol(client=True, extensions=[])
    with mock.patch("wsproto.frame_protocol.os.urandom", return_value=key):
        return bytes(protocol._serialize_frame(opcode, payload))


@pytest.mark.parametrize("n", LENGTHS)
def test_text_frame_matches_wsproto(n: int) -> None:
    rng = random.Random(n)
    for _ in range(5):
        payload = rng.randbytes(n)
        key = rng.randbytes(4)
        assert client_frame(ws_writer.TEXT, payload, key) == wsproto_frame(
            Opcode.TEXT, payload, key
        )


@given(payload=st.binary(max_size=3000), key=st.binary(min_size=4, max_size=4))
def test_random_payloads_match_wsproto(payload: bytes, key: bytes) -> None:
    assert client_frame(ws_writer.BINARY, payload, key) == wsproto_frame(
        Opcode.BINARY, payload, key
    )


@pytest.mark.parametrize(
    ("opcode", "wsproto_opcode"),
    [
        (ws_writer.CLOSE, Opcode.CLOSE),
        (ws_writer.PING, Opcode.PING),
        (ws_writer.PONG, Opcode.PONG),
    ],
)
def test_control_frames_match_wsproto(opcode: int, wsproto_opcode: Opcode) -> None:
    payload = b"\x03\xe8bye"
    key = os.urandom(4)
    assert client_frame(opcode, payload, key) == wsproto_frame(
        wsproto_opcode, payload, key
    )


@given(data=st.binary(max_size=500), key=st.binary(min_size=4, max_size=4))
def test_mask_is_its_own_inverse(data: bytes, key: bytes) -> None:
    masked = mask(data, key)
    assert len(masked) == len(data)
    assert mask(masked, key) == data


def test_memoryview_and_bytearray_payloads() -> None:
    payload = os.urandom(1000)
    key = os.urandom(4)
    expected = client_frame(ws_writer.TEXT, payload, key)
    assert client_frame(ws_writer.TEXT, bytearray(payload), key) == expected
    assert client_frame(ws_writer.TEXT, memoryview(payload), key) == expected


def test_a_server_reads_our_frames() -> None:
    """Unmasked by the key in the frame, the payload is what we sent."""
    payload = "é" * 5000
    frame = client_frame(ws_writer.TEXT, payload.encode(), os.urandom(4))
    # Our reader refuses masked frames (a server never sends them): unmask first.
    assert frame[1] == 0xFE and int.from_bytes(frame[2:4], "big") == 10_000
    key = frame[4:8]
    unmasked = bytes((frame[0], 0x7E)) + frame[2:4] + mask(frame[8:], key)
    reader = FrameReader(2**20)
    reader.feed(unmasked)
    assert reader.process() is None
    assert list(reader.messages) == [payload]


def test_mask_keys_are_fresh() -> None:
    keys = ws_writer.MaskKeys()
    drawn = [keys.next() for _ in range(600)]  # past the 256 keys of one draw
    assert all(len(k) == 4 for k in drawn)
    # 600 random 32-bit keys: a repeat is a 4e-5 chance, a run of them a bug.
    assert len(set(drawn)) >= 599


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (None, None),
        (1005, None),
        (1000, None),
        (1000, ""),
        (1011, "the keepalive ping timed out"),
        (1006, "local only"),
        (1015, None),
        (4000, "é" * 100),  # 200 bytes: cut at a character boundary
        (1008, "x" * 200),
    ],
)
def test_close_frames_match_wsproto(code: int | None, reason: str | None) -> None:
    key = os.urandom(4)
    protocol = FrameProtocol(client=True, extensions=[])
    with mock.patch("wsproto.frame_protocol.os.urandom", return_value=key):
        expected = bytes(protocol.close(code, reason))
    frame = client_frame(ws_writer.CLOSE, ws_writer.close_payload(code, reason), key)
    assert frame == expected


def test_close_reason_needs_a_code() -> None:
    with pytest.raises(TypeError):
        ws_writer.close_payload(None, "why")
