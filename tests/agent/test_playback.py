"""Playback arithmetic and the layer's decisions, without an event loop."""

from __future__ import annotations

import pytest

from realtime_trio._agent.playback import Cut, PlaybackLedger, audio_end_ms
from realtime_trio._agent.policy import CallBook, is_busy, plan_interruption
from realtime_trio.audio import PCM16_24K, PCMA, PCMU

KEY = ("item_a", 0)


# --- the truncation point ------------------------------------------------------------


@pytest.mark.parametrize(
    ("played", "received", "expected"),
    [
        (0, 48_000, 0),
        (47, 48_000, 0),  # 23 samples: under one millisecond
        (48, 48_000, 1),  # 24 samples: one millisecond
        (23_999, 48_000, 499),  # 11,999 whole samples = 499.96 ms, rounded down
        (24_000, 48_000, 500),
        (60_000, 48_000, 1000),  # clamped to the audio received
        (48_001, 48_001, 1000),  # a trailing odd byte is not a sample
    ],
)
def test_audio_end_ms_at_24_khz(played: int, received: int, expected: int) -> None:
    assert audio_end_ms(PCM16_24K, played, received) == expected


@pytest.mark.parametrize("fmt", [PCMU, PCMA])
@pytest.mark.parametrize(
    ("played", "received", "expected"),
    [
        (7, 8_000, 0),  # 7 samples: under one millisecond at 8 kHz
        (8, 8_000, 1),
        (4_004, 8_000, 500),  # 500.5 ms, rounded down
        (12_345, 8_000, 1000),  # clamped
    ],
)
def test_audio_end_ms_at_8_khz(
    fmt: object, played: int, received: int, expected: int
) -> None:
    assert audio_end_ms(fmt, played, received) == expected  # type: ignore[arg-type]


def test_a_cut_reports_what_was_discarded() -> None:
    cut = Cut(
        item_id="a",
        content_index=0,
        format=PCM16_24K,
        received_bytes=48_000,
        played_bytes=12_000,
    )
    assert (cut.audio_end_ms, cut.played_ms) == (250, 250.0)
    assert (cut.discarded_samples, cut.discarded_ms) == (18_000, 750.0)
    assert cut.unheard
    g711 = Cut(
        item_id="a",
        content_index=0,
        format=PCMU,
        received_bytes=8_000,
        played_bytes=8_000,
    )
    assert (
        g711.audio_end_ms,
        g711.discarded_samples,
        g711.discarded_ms,
        g711.unheard,
    ) == (1000, 0, 0.0, False)


# --- the ledger --------------------------------------------------------------------------


def test_reported_positions_are_clamped_and_whole_samples() -> None:
    ledger = PlaybackLedger("reported")
    assert ledger.received(KEY, PCM16_24K, 4_800)
    ledger.played(KEY, 1_001)
    assert ledger.position(KEY, now=0) == 1_000  # whole samples
    ledger.played(KEY, 10_000)
    assert ledger.position(KEY, now=0) == 4_800  # never past what arrived
    assert ledger.unplayed(now=0) == 0
    assert ledger.position(("unknown", 0), now=0) == 0


def test_paced_positions_follow_the_clock_chunk_by_chunk() -> None:
    ledger = PlaybackLedger("paced")
    ledger.received(KEY, PCM16_24K, 9_600)  # 200 ms
    ledger.chunk_started(KEY, 4_800, at=10.0)
    assert ledger.position(KEY, now=9.0) == 0
    assert ledger.position(KEY, now=10.05) == 2_400
    assert (
        ledger.position(KEY, now=11.0) == 4_800
    )  # the chunk ended; no more was written
    # An underrun: the next chunk starts late; the gap does not count as played.
    ledger.chunk_started(KEY, 4_800, at=12.0)
    assert ledger.position(KEY, now=12.025) == 6_000
    assert ledger.unplayed(now=12.025) == 3_600


def test_server_positions_follow_the_server_playback() -> None:
    ledger = PlaybackLedger("server")
    ledger.received(KEY, PCMU, 8_000)
    assert ledger.position(KEY, now=5.0) == 0  # not started
    ledger.stream_started(KEY, at=5.0)
    assert ledger.position(KEY, now=5.25) == 2_000
    ledger.stream_stopped(KEY, at=5.5)
    assert ledger.position(KEY, now=9.0) == 4_000


def test_a_cut_freezes_the_position_and_drops_later_audio() -> None:
    ledger = PlaybackLedger("paced")
    ledger.received(KEY, PCM16_24K, 48_000)
    ledger.chunk_started(KEY, 48_000, at=0.0)
    cut = ledger.cut(now=0.25)
    assert cut is not None
    assert (cut.played_bytes, cut.received_bytes, cut.audio_end_ms) == (
        12_000,
        48_000,
        250,
    )
    assert ledger.position(KEY, now=5.0) == 12_000
    assert not ledger.received(
        KEY, PCM16_24K, 4_800
    )  # audio still in flight is dropped
    assert ledger.current is None
    assert ledger.cut(now=1.0) is None  # nothing playing any more
    ledger.received(("item_b", 0), PCM16_24K, 960)
    assert ledger.current == ("item_b", 0)


def test_the_ledger_forgets_old_items() -> None:
    ledger = PlaybackLedger("reported")
    for n in range(100):
        ledger.received((f"item_{n}", 0), PCM16_24K, 10)
    assert ledger.track(("item_0", 0)) is None
    assert ledger.track(("item_99", 0)) is not None


# --- interruptions -----------------------------------------------------------------------


def _cut(played: int, received: int = 48_000) -> Cut:
    return Cut(
        item_id="a",
        content_index=0,
        format=PCM16_24K,
        received_bytes=received,
        played_bytes=played,
    )


def _plan(**overrides: object):  # type: ignore[no-untyped-def]
    args: dict[str, object] = {
        "barge_in": True,
        "interrupt_response": True,
        "sideband": False,
        "active_response": "resp_1",
        "cancel_sent": False,
        "cut": _cut(12_000),
        "cut_in_conversation": True,
        "cut_response_done": False,
    }
    args.update(overrides)
    return plan_interruption(**args)  # type: ignore[arg-type]


def test_barge_in_with_interrupt_response_on_truncates_only() -> None:
    plan = _plan()
    assert plan.cancel is None  # the server cancels it itself
    assert plan.truncate is not None and plan.truncate.audio_end_ms == 250
    assert not plan.clear


def test_barge_in_with_interrupt_response_off_cancels_then_truncates() -> None:
    plan = _plan(interrupt_response=False)
    assert plan.cancel == "resp_1"
    assert plan.truncate is not None


def test_an_explicit_interrupt_always_cancels_what_is_in_progress() -> None:
    assert _plan(barge_in=False).cancel == "resp_1"
    assert _plan(barge_in=False, cancel_sent=True).cancel is None  # never twice
    assert _plan(barge_in=False, active_response=None).cancel is None


def test_no_truncate_when_nothing_was_played_or_nothing_unheard() -> None:
    assert _plan(cut=_cut(0)).truncate is None
    assert _plan(cut=_cut(47)).truncate is None  # under a millisecond
    assert _plan(cut=None).truncate is None
    assert _plan(cut_in_conversation=False).truncate is None  # out of band
    # Everything received was played and the response is done: nothing to cut.
    assert _plan(cut=_cut(48_000), cut_response_done=True).truncate is None
    # ... but while it is still producing, the server has more than was heard.
    assert _plan(cut=_cut(48_000), cut_response_done=False).truncate is not None


def test_on_a_sideband_the_server_handles_its_own_barge_in() -> None:
    plan = _plan(sideband=True)
    assert (plan.cancel, plan.truncate, plan.clear) == (None, None, False)
    plan = _plan(sideband=True, interrupt_response=False)
    assert plan.cancel == "resp_1" and plan.truncate is not None and plan.clear
    plan = _plan(sideband=True, barge_in=False)
    assert plan.cancel == "resp_1" and plan.truncate is not None and plan.clear


def test_busy() -> None:
    quiet = {
        "response_in_progress": False,
        "unplayed_bytes": 0,
        "tools_running": 0,
        "server_playing": False,
    }
    assert not is_busy(**quiet)  # type: ignore[arg-type]
    for key, value in [
        ("response_in_progress", True),
        ("unplayed_bytes", 2),
        ("tools_running", 1),
        ("server_playing", True),
    ]:
        assert is_busy(**{**quiet, key: value})  # type: ignore[arg-type]


# --- tool calls ----------------------------------------------------------------------------


def test_parallel_calls_follow_up_once_all_are_answered_and_the_response_is_done() -> (
    None
):
    book = CallBook()
    assert book.started("resp_1", "call_a") and book.started("resp_1", "call_b")
    assert not book.started("resp_1", "call_a")  # once
    assert book.answered("call_a") is None
    assert book.answered("call_b") is None  # the response is not done yet
    assert book.response_done("resp_1", "completed", [])
    assert not book.ready("resp_1")  # only once


def test_the_last_answer_after_the_response_is_done_follows_up() -> None:
    book = CallBook()
    book.started("resp_1", "call_a")
    book.started("resp_1", "call_b")
    assert not book.response_done("resp_1", "completed", [])
    assert book.answered("call_b") is None
    assert book.answered("call_a") == "resp_1"


@pytest.mark.parametrize("status", ["cancelled", "failed", "incomplete", None])
def test_no_follow_up_unless_the_response_completed(status: str | None) -> None:
    book = CallBook()
    book.started("resp_1", "call_a")
    book.answered("call_a")
    assert not book.response_done("resp_1", status, [])


def test_no_follow_up_with_a_foreign_or_cancelled_call() -> None:
    book = CallBook()
    book.started("resp_1", "call_a")
    book.answered("call_a")
    assert not book.response_done("resp_1", "completed", ["call_app"])
    book.started("resp_2", "call_b")
    book.started("resp_2", "call_c")
    book.abandoned("call_c")
    book.answered("call_b")
    assert not book.response_done("resp_2", "completed", [])
    assert book.answered("call_unknown") is None
    assert not book.response_done("resp_unknown", "completed", [])
