"""The sans-IO reader of server WebSocket frames, without an event loop.

Its verdicts are checked against wsproto's (the reader it replaces on the
receive path) on generated frame streams, split into reads at random.
"""

from __future__ import annotations

import os
import struct
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from wsproto.connection import Connection, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, TextMessage
from wsproto.events import Ping as WsPing

from realtime_trio._core.ws_frames import Close, FrameError, FrameReader, Ping
from tests.helpers.frames import close_frame, frame, text

BIG = 2**30


def run(data: bytes, chunks: list[int] | None = None, max_size: int = BIG) -> list[Any]:
    """Feed ``data`` in reads of the given sizes; the outcome as a flat list."""
    reader = FrameReader(max_size)
    out: list[Any] = []
    pieces = split(data, chunks) if chunks else [data]
    try:
        for piece in pieces:
            reader.feed(piece)
            while True:
                control = reader.process()
                out.extend(("message", m) for m in reader.messages)
                reader.messages.clear()
                if control is None:
                    break
                if isinstance(control, Close):
                    out.append(("close", control.code))
                    return out
                out.append(("ping", control.payload))
    except FrameError as exc:
        out.extend(("message", m) for m in reader.messages)
        out.append(("close", exc.code))
    return out


def split(data: bytes, sizes: list[int]) -> list[bytes]:
    pieces, pos = [], 0
    for size in sizes:
        if pos >= len(data):
            break
        pieces.append(data[pos : pos + size])
        pos += size
    if pos < len(data):
        pieces.append(data[pos:])
    return pieces


def wsproto_outcome(data: bytes, chunks: list[int]) -> list[Any]:
    """What wsproto's client makes of the same bytes (pongs dropped, as we do)."""
    conn = Connection(ConnectionType.CLIENT)
    out: list[Any] = []
    parts: list[Any] = []
    for piece in split(data, chunks):
        conn.receive_data(piece)
        for event in conn.events():
            if isinstance(event, TextMessage | BytesMessage):
                parts.append(event.data)
                if event.message_finished:
                    joined = (
                        "".join(parts)
                        if isinstance(event, TextMessage)
                        else b"".join(parts)
                    )
                    out.append(("message", joined))
                    parts = []
            elif isinstance(event, WsPing):
                out.append(("ping", bytes(event.payload)))
            elif isinstance(event, CloseConnection):
                out.append(("close", int(event.code)))
                return out
    return out


# --- the hot path and ordinary frames ---------------------------------------------


def test_text_frames_of_each_length_form() -> None:
    small, medium, large = "a" * 10, "b" * 6_600, "c" * 70_000
    data = text(small) + text(medium) + text(large)
    assert run(data) == [("message", small), ("message", medium), ("message", large)]


def test_binary_and_empty_messages() -> None:
    data = frame(0x2, b"\x00\xff") + text("") + frame(0x2, b"")
    assert run(data) == [("message", b"\x00\xff"), ("message", ""), ("message", b"")]


def test_fragmented_text_with_a_character_split_across_fragments() -> None:
    encoded = "héllo wörld".encode()
    data = (
        frame(0x1, encoded[:2], fin=False)  # ends in the middle of "é"
        + frame(0x9, b"hi")  # control frames may come between fragments
        + frame(0x0, encoded[2:7], fin=False)
        + frame(0x0, encoded[7:])
    )
    assert run(data) == [("ping", b"hi"), ("message", "héllo wörld")]


def test_fragmented_binary() -> None:
    data = frame(0x2, b"ab", fin=False) + frame(0x0, b"", fin=False) + frame(0x0, b"c")
    assert run(data) == [("message", b"abc")]


def test_pongs_are_skipped_and_pings_returned_in_order() -> None:
    data = text("1") + frame(0xA, b"x") + frame(0x9, b"p") + text("2")
    assert run(data) == [("message", "1"), ("ping", b"p"), ("message", "2")]


def test_nothing_after_a_close_is_read() -> None:
    data = text("before") + close_frame(1001, b"going") + text("after")
    assert run(data) == [("message", "before"), ("close", 1001)]


def test_a_large_frame_over_many_reads_is_gathered_once() -> None:
    payload = os.urandom(3_000_000).hex()  # 6 MB of text
    reader = FrameReader(BIG)
    data = text(payload)
    step = 65_536
    for pos in range(0, len(data), step):
        reader.feed(data[pos : pos + step])
        assert reader.process() is None
        if pos + step < len(data):
            assert not reader.messages
            # Held pieces are joined only once the whole frame is there.
            assert len(reader._held) == pos // step + 1
    assert list(reader.messages) == [payload]


def test_bytearray_reads() -> None:
    reader = FrameReader(BIG)
    reader.feed(bytearray(text("x") + frame(0x2, b"y")))
    assert reader.process() is None
    assert list(reader.messages) == ["x", b"y"]
    assert type(reader.messages[1]) is bytes


def test_feed_before_processing_is_refused() -> None:
    reader = FrameReader(BIG)
    reader.feed(frame(0x9, b"") + text("x"))
    assert reader.process() == Ping(b"")
    with pytest.raises(RuntimeError, match="process"):
        reader.feed(text("y"))


# --- close frames ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"", Close(1005, "")),
        (struct.pack("!H", 1000), Close(1000, "")),
        (struct.pack("!H", 1001) + "bye ✓".encode(), Close(1001, "bye ✓")),
        (struct.pack("!H", 1014), Close(1014, "")),
        (struct.pack("!H", 3000), Close(3000, "")),
        (struct.pack("!H", 4999), Close(4999, "")),
    ],
)
def test_valid_close_frames(payload: bytes, expected: Close) -> None:
    reader = FrameReader(BIG)
    reader.feed(frame(0x8, payload))
    assert reader.process() == expected


@pytest.mark.parametrize(
    ("payload", "code", "match"),
    [
        (b"\x03", 1002, "one byte"),
        (struct.pack("!H", 999), 1002, "invalid close code 999"),
        (struct.pack("!H", 1004), 1002, "1004"),
        (struct.pack("!H", 1005), 1002, "1005"),
        (struct.pack("!H", 1006), 1002, "1006"),
        (struct.pack("!H", 1015), 1002, "1015"),
        (struct.pack("!H", 2999), 1002, "2999"),
        (struct.pack("!H", 5000), 1002, "5000"),
        (struct.pack("!H", 1000) + b"\xff", 1007, "UTF-8"),
    ],
)
def test_invalid_close_frames(payload: bytes, code: int, match: str) -> None:
    reader = FrameReader(BIG)
    reader.feed(frame(0x8, payload))
    with pytest.raises(FrameError, match=match) as info:
        reader.process()
    assert info.value.code == code


# --- protocol errors ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "code", "match"),
    [
        (text("x", rsv=1), 1002, "reserved bits"),
        (text("x", rsv=4), 1002, "reserved bits"),
        (text("x", mask=b"abcd"), 1002, "masked"),
        (frame(0x3, b""), 1002, "unknown opcode 0x3"),
        (frame(0xB, b""), 1002, "unknown opcode 0xb"),
        (frame(0x9, b"", fin=False), 1002, "fragmented control"),
        (frame(0x9, b"x" * 126), 1002, "over 125"),
        (frame(0x0, b"x"), 1002, "no message to continue"),
        (text("a", fin=False) + text("b"), 1002, "before the fragmented one ended"),
        (text("a", fin=False) + frame(0x2, b"b"), 1002, "before the fragmented"),
        (text("x", length_form=16), 1002, "minimally"),
        (text("x" * 200, length_form=64), 1002, "out of range"),
        (bytes([0x81, 127]) + b"\x80" + b"\x00" * 7, 1002, "out of range"),
        (frame(0x1, b"\xc3\x28"), 1007, "UTF-8"),
        (frame(0x1, b"ok\xff", fin=False), 1007, "UTF-8"),
    ],
)
def test_protocol_errors(data: bytes, code: int, match: str) -> None:
    reader = FrameReader(BIG)
    reader.feed(data)
    with pytest.raises(FrameError, match=match) as info:
        reader.process()
    assert info.value.code == code


def test_message_size_is_checked_before_the_payload_arrives() -> None:
    reader = FrameReader(1_000)
    reader.feed(bytes([0x81, 127]) + struct.pack("!Q", 2**40))  # header only
    with pytest.raises(FrameError, match="larger than 1000 bytes") as info:
        reader.process()
    assert info.value.code == 1009


def test_message_size_counts_every_fragment() -> None:
    data = text("a" * 600, fin=False) + frame(0x0, b"b" * 400) + text("c")
    assert run(data, max_size=1_000) == [
        ("message", "a" * 600 + "b" * 400),
        ("message", "c"),
    ]
    data = text("a" * 600, fin=False) + frame(0x0, b"b" * 401)
    assert run(data, max_size=1_000) == [("close", 1009)]


def test_messages_before_an_error_are_kept() -> None:
    assert run(text("one") + text("two", mask=b"abcd")) == [
        ("message", "one"),
        ("close", 1002),
    ]


# --- generated streams: every way of splitting, and wsproto's verdict -------------

payloads = st.one_of(
    st.text(max_size=40).map(str.encode),
    st.binary(max_size=40),
    st.just("x" * 300).map(str.encode),  # a 16-bit length
    st.just(b"y" * 70_000),  # a 64-bit length
)
close_payloads = st.one_of(
    st.just(b""),
    st.binary(min_size=1, max_size=1),
    st.builds(
        lambda code, reason: struct.pack("!H", code) + reason,
        st.sampled_from(
            [
                999,
                1000,
                1001,
                1002,
                1004,
                1005,
                1008,
                1011,
                1013,
                2000,
                3001,
                4000,
                5000,
            ]
        ),
        st.one_of(st.text(max_size=20).map(str.encode), st.binary(max_size=5)),
    ),
)


@st.composite
def any_frame(draw: st.DrawFn) -> bytes:
    """One frame, any opcode, sometimes broken."""
    opcode = draw(st.sampled_from([0x0, 0x1, 0x2, 0x8, 0x9, 0xA, 0x3, 0xB]))
    if opcode == 0x8:
        payload = draw(close_payloads)
    elif opcode >= 0x8:
        payload = draw(st.binary(max_size=130))
    else:
        payload = draw(payloads)
    return frame(
        opcode,
        payload,
        fin=draw(st.sampled_from([True] * 4 + [False])),
        rsv=draw(st.sampled_from([0] * 6 + [1, 2, 4])),
        mask=draw(st.sampled_from([None] * 6 + [b"\x01\x02\x03\x04"])),
        length_form=draw(st.sampled_from([None] * 6 + [16, 64])),
    )


@st.composite
def message(draw: st.DrawFn) -> bytes:
    """A whole message in one or more fragments, maybe with pings and pongs between."""
    opcode = draw(st.sampled_from([0x1, 0x1, 0x2]))
    payload = draw(payloads)
    cuts = sorted(draw(st.lists(st.integers(0, len(payload)), max_size=3)))
    bounds = [0, *cuts, len(payload)]
    out = b""
    for i in range(len(bounds) - 1):
        last = i == len(bounds) - 2
        out += frame(
            opcode if i == 0 else 0x0, payload[bounds[i] : bounds[i + 1]], fin=last
        )
        if not last and draw(st.booleans()):
            out += frame(
                draw(st.sampled_from([0x9, 0xA])), draw(st.binary(max_size=10))
            )
    return out


units = st.one_of(
    message(),
    message(),
    message(),
    st.binary(max_size=20).map(lambda p: frame(0x9, p)),
    close_payloads.map(lambda p: frame(0x8, p)),
    any_frame(),
)


streams = st.lists(units, min_size=1, max_size=12).map(b"".join)
read_sizes = st.lists(st.integers(min_value=1, max_value=9_000), max_size=30)


@given(streams, read_sizes)
def test_same_verdict_as_wsproto(data: bytes, sizes: list[int]) -> None:
    expected = wsproto_outcome(data, sizes or [len(data)])
    assert run(data, sizes) == expected


@given(
    st.lists(
        st.sampled_from(
            [
                text("a" * 5),
                text("b" * 300),
                frame(0x2, b"c" * 70_000),
                frame(0x9, b"p"),
                text("d", fin=False) + frame(0x0, "é".encode()),
            ]
        ),
        min_size=1,
        max_size=8,
    ).map(b"".join),
    read_sizes,
)
def test_any_split_gives_the_same_result(data: bytes, sizes: list[int]) -> None:
    assert run(data, sizes) == run(data)


def test_every_split_point_of_a_small_stream() -> None:
    data = text("héllo") + frame(0x9, b"p") + text("x" * 130) + close_frame(1000)
    whole = run(data)
    for a in range(1, len(data)):
        for b in (1, 2, 3, 7):
            assert run(data, [a, b] * 200) == whole, (a, b)
