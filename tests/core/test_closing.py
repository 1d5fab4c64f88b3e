"""How a connection ended (`realtime_trio._core.closing`), without an event loop."""

from __future__ import annotations

import pytest

from realtime_trio import CloseReason
from realtime_trio._core.closing import ConnectionEnd, Ending, Phase, classify_close


def classify(
    code: int | None,
    reason: str | None = None,
    *,
    phase: Phase = "receiving",
    we_closed: bool = False,
    sideband: bool = False,
) -> ConnectionEnd:
    return classify_close(
        CloseReason(code, reason), phase=phase, we_closed=we_closed, sideband=sideband
    )


def test_close_reason_text() -> None:
    assert str(CloseReason(None)) == "no close frame"
    assert str(CloseReason(1001)) == "code 1001"
    assert str(CloseReason(1011, "boom")) == "code 1011 (boom)"


def test_before_session_created_is_broken() -> None:
    end = classify(1011, "no", phase="connecting", sideband=True)
    assert end.kind is Ending.BROKEN and end.is_failure
    assert end.message == (
        "the server closed the connection before session.created (code 1011, no)"
    )
    assert end.close_reason == CloseReason(1011, "no")
    lost = classify(1006, phase="connecting")
    assert lost.message.endswith("before session.created (code 1006)")


@pytest.mark.parametrize("code", [1000, 1001, 1006, 1011])
@pytest.mark.parametrize("phase", ["receiving", "sending"])
def test_we_closed_is_closed_whatever_the_code(code: int, phase: Phase) -> None:
    end = classify(code, phase=phase, we_closed=True, sideband=True)
    assert end.kind is Ending.CLOSED and not end.is_failure
    assert end.message == "the connection is closed"


def test_a_clean_server_close_ends_the_stream() -> None:
    for sideband in (False, True):
        end = classify(1000, sideband=sideband)
        assert end.kind is Ending.SERVER_CLOSED and not end.is_failure
        assert end.message == "the server closed the connection"


@pytest.mark.parametrize(
    ("code", "sideband", "kind"),
    [
        (1001, False, Ending.BROKEN),
        (1011, False, Ending.BROKEN),
        (1006, False, Ending.BROKEN),
        (1001, True, Ending.CALL_ENDED),
        (1011, True, Ending.CALL_ENDED),
        (1006, True, Ending.BROKEN),  # lost without a close frame: the network
    ],
)
def test_other_closes_fail_and_a_sideband_close_frame_ends_the_call(
    code: int, sideband: bool, kind: Ending
) -> None:
    end = classify(code, "bye", sideband=sideband)
    assert end.kind is kind and end.is_failure
    assert end.message == f"the connection ended: code {code} (bye)"


def test_lost_while_sending_is_broken_even_with_1000() -> None:
    for code in (1000, 1006):
        end = classify(code, phase="sending", sideband=True)
        assert end.kind is Ending.BROKEN
        assert end.message == f"the connection ended while sending: code {code}"


def test_a_server_close_frame_says_the_server_closed() -> None:
    assert CloseReason(1002, "bad").closed_by == "server"
    end = classify(1002, "bad", phase="connecting")
    assert end.message.startswith("the server closed the connection")


@pytest.mark.parametrize("sideband", [False, True])
@pytest.mark.parametrize("phase", ["connecting", "receiving", "sending"])
def test_a_connection_we_failed_says_realtime_trio_closed_it(
    phase: Phase, sideband: bool
) -> None:
    reason = CloseReason(1002, "unknown opcode 0x3", closed_by="client")
    end = classify_close(reason, phase=phase, we_closed=False, sideband=sideband)
    assert end.kind is Ending.BROKEN and end.is_failure  # never CALL_ENDED
    assert end.close_reason.closed_by == "client"
    assert "the server closed" not in end.message
    assert end.message.startswith("realtime_trio closed the connection")
    assert "(code 1002, unknown opcode 0x3)" in end.message
    assert ("before session.created" in end.message) is (phase == "connecting")


def test_a_connection_we_failed_while_closing_is_closed() -> None:
    reason = CloseReason(1007, "invalid UTF-8", closed_by="client")
    end = classify_close(reason, phase="receiving", we_closed=True, sideband=False)
    assert end.kind is Ending.CLOSED
