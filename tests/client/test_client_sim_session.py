"""The simulator through our own client: the handshake, and the session and its updates."""

from __future__ import annotations

import time
from typing import Any

import pytest
import trio
import trio.testing

import realtime_trio
from realtime_trio import (
    CallEnded,
    CloseReason,
    ConnectionRejected,
    ServerError,
    events,
)
from realtime_trio.testing import RealtimeSimulator, SimCall, open_simulator
from tests.helpers.client_sim import (
    KEY,
    WAIT,
    connect,
    receive_until,
    wait_closed,
    wire_types,
)

# --- handshake ---------------------------------------------------------------------


async def test_model_handshake_and_the_full_ga_session(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator()
    before = int(time.time())
    async with connect(sim, nursery, model="gpt-realtime-2") as conn:
        created = await conn.receive()
        assert isinstance(created, events.SessionCreated)
        session = created.session
        assert isinstance(session, events.SessionConfig)
        assert conn.session == session
        assert session.object == "realtime.session"
        assert isinstance(session.id, str) and session.id.startswith("sess_")
        assert len(session.id) == len("sess_") + 22
        assert isinstance(session.expires_at, int)
        assert before + 3600 <= session.expires_at <= int(time.time()) + 3600
        assert session.model == "gpt-realtime-2"
        assert isinstance(session.instructions, str)
        assert session.instructions.startswith("Your knowledge cutoff is 2023-10.")
        assert session.output_modalities == ("audio",)
        assert (session.tools, session.tool_choice) == ((), "auto")
        assert session.max_output_tokens == "inf"
        assert (session.tracing, session.prompt, session.include) == (None, None, None)
        audio = session.audio
        assert isinstance(audio, events.AudioConfig)
        assert audio.input.format == events.AudioPCM(rate=24000)  # type: ignore[union-attr]
        assert audio.output.format == events.AudioPCM(rate=24000)  # type: ignore[union-attr]
        assert audio.output.voice == "marin"  # type: ignore[union-attr]
        assert audio.input.turn_detection == events.ServerVad(  # type: ignore[union-attr]
            threshold=0.5,
            prefix_padding_ms=300,
            silence_duration_ms=200,
            idle_timeout_ms=None,
            create_response=True,
            interrupt_response=True,
        )
        assert conn.statistics().state == "open"
        assert not conn.is_sideband
    await wait_closed(sim)
    (record,) = sim.connections
    assert record.status == 101
    assert (record.model, record.call_id) == ("gpt-realtime-2", None)
    assert record.query == {"model": "gpt-realtime-2"}
    assert record.api_key == KEY
    assert dict(record.headers)["authorization"] == "Bearer <redacted>"
    assert record.session["id"] == session.id
    assert (record.close_code, record.closed_by) == (1000, "client")


async def test_call_id_attaches_to_the_accepted_call_and_ends_with_it(
    nursery: trio.Nursery,
    autojump_clock: trio.testing.MockClock,
) -> None:
    sim = RealtimeSimulator()
    call = sim.calls.add(
        SimCall(
            id="rtc_u1_9c6574da8b8a41a18da9308f4ad974ce",
            kind="sip",
            state="accepted",
            session={"type": "realtime", "instructions": "You answer the phone."},
        )
    )
    async with connect(sim, nursery, model=None, call_id=call.id) as conn:
        created = await conn.receive()
        assert isinstance(created, events.SessionCreated)
        assert conn.session.instructions == "You answer the phone."  # type: ignore[union-attr]
        assert conn.is_sideband
        await sim.hang_up(call.id)
        # The end of a call is a clean close: iteration simply ends.
        with trio.fail_after(WAIT):
            assert [e async for e in conn] == []
        assert conn.close_reason is not None and conn.close_reason.code == 1000
    record = sim.connections[0]
    assert (record.call_id, record.model) == (call.id, None)
    assert record.query == {"call_id": call.id}
    assert call.history == ["accepted", "ended"]


async def test_a_sideband_cut_by_the_server_raises_call_ended(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator()
    call = sim.calls.add(SimCall(id="rtc_cut", kind="sip", state="accepted"))
    with pytest.raises(CallEnded) as info:
        async with connect(sim, nursery, model=None, call_id=call.id) as conn:
            assert isinstance(await conn.receive(), events.SessionCreated)
            await sim.close_connections(1011, "media failure")
            with trio.fail_after(WAIT):
                await conn.receive()
    assert info.value.close_reason == CloseReason(1011, "media failure")


async def test_call_accepted_while_the_client_retries(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator()
    call = sim.calls.add(SimCall(id="rtc_pending", kind="sip"))

    async def accept_later() -> None:
        await trio.sleep(0.6)
        call.move("accepted")

    nursery.start_soon(accept_later)
    start = trio.current_time()
    async with connect(
        sim,
        nursery,
        model=None,
        call_id=call.id,
        attach_attempts=5,
        attach_backoff=0.25,
    ) as conn:
        assert isinstance(await conn.receive(), events.SessionCreated)
    # Attempts at 0, 0.25 and 0.75 s: the third finds the call accepted.
    assert [r.status for r in sim.connections] == [404, 404, 101]
    assert trio.current_time() - start == pytest.approx(0.75)


async def test_unknown_call_id_is_rejected_404_after_bounded_retries(
    nursery: trio.Nursery,
    autojump_clock: trio.testing.MockClock,
) -> None:
    sim = RealtimeSimulator()
    start = trio.current_time()
    with pytest.raises(ConnectionRejected) as info:
        async with connect(
            sim, nursery, model=None, call_id="rtc_nope", attach_attempts=3
        ):
            pytest.fail("connected to an unknown call")  # pragma: no cover
    error = info.value
    assert (error.status_code, error.error_code) == (404, "call_id_not_found")
    assert error.error_message == "No session found for the provided call_id"
    assert error.error["type"] == "invalid_request_error"
    assert "after 3 attempts" in str(error)
    assert [r.status for r in sim.connections] == [404, 404, 404]
    # Backoff 0.25 s, doubling: 0.25 + 0.5.
    assert trio.current_time() - start == pytest.approx(0.75)


async def test_bad_key_is_rejected_401_and_never_retried(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator(api_keys={"sk-good"})
    sim.calls.add(SimCall(id="rtc_live", kind="sip", state="accepted"))
    for target in ({"model": "gpt-realtime"}, {"model": None, "call_id": "rtc_live"}):
        with pytest.raises(ConnectionRejected) as info:
            async with connect(sim, nursery, api_key="sk-wrong-key-1234", **target):
                pytest.fail("connected with a bad key")  # pragma: no cover
        assert (info.value.status_code, info.value.error_code) == (
            401,
            "invalid_api_key",
        )
        assert info.value.error_message is not None
        assert info.value.error_message.startswith("Incorrect API key provided: sk-")
        assert "sk-wrong-key-1234" not in info.value.error_message
    assert [r.status for r in sim.connections] == [401, 401]
    async with connect(sim, nursery, api_key="sk-good") as conn:
        assert isinstance(await conn.receive(), events.SessionCreated)


async def test_required_safety_identifier_is_enforced_and_captured(
    nursery: trio.Nursery,
    autojump_clock: trio.testing.MockClock,
) -> None:
    sim = RealtimeSimulator(require_safety_identifier=True)
    with pytest.raises(ConnectionRejected) as info:
        async with connect(sim, nursery):
            pytest.fail("connected without a safety identifier")  # pragma: no cover
    assert (info.value.status_code, info.value.error_code) == (
        400,
        "missing_safety_identifier",
    )
    async with connect(sim, nursery, safety_identifier="user-hash-42") as conn:
        assert isinstance(await conn.receive(), events.SessionCreated)
    assert [r.safety_identifier for r in sim.connections] == [None, "user-hash-42"]
    assert (
        dict(sim.connections[1].headers)["openai-safety-identifier"] == "user-hash-42"
    )


async def test_client_side_handshake_errors_never_reach_the_server(
    nursery: trio.Nursery,
    autojump_clock: trio.testing.MockClock,
) -> None:
    sim = RealtimeSimulator()
    bad: list[dict[str, Any]] = [
        {"model": "gpt-realtime", "call_id": "rtc_x"},  # both
        {"model": None},  # neither
        {"headers": {"OpenAI-Beta": "realtime=v1"}},  # the retired beta shape
    ]
    for kwargs in bad:
        with pytest.raises(ValueError):
            async with connect(sim, nursery, **kwargs):
                pytest.fail("connected")  # pragma: no cover
    assert sim.connections == []


async def test_handshake_over_real_loopback() -> None:
    async with open_simulator(api_keys={"sk-good"}) as sim:
        with trio.fail_after(WAIT):
            with pytest.raises(ConnectionRejected) as info:
                async with realtime_trio.open_realtime(
                    model="gpt-realtime", url=sim.url, api_key="sk-bad"
                ):
                    pytest.fail("connected with a bad key")  # pragma: no cover
            assert info.value.status_code == 401
            async with realtime_trio.open_realtime(
                model="gpt-realtime-mini",
                url=sim.url,
                api_key="sk-good",
                safety_identifier="hashed-user",
            ) as conn:
                created = await conn.receive()
                assert isinstance(created, events.SessionCreated)
                assert created.session.model == "gpt-realtime-mini"  # type: ignore[union-attr]
                assert conn.url == f"{sim.url}?model=gpt-realtime-mini"
            await sim.connections[1].closed.wait()
        assert sim.connections[1].safety_identifier == "hashed-user"
        assert (sim.connections[1].close_code, sim.connections[1].closed_by) == (
            1000,
            "client",
        )


# --- session.update ------------------------------------------------------------------


async def test_update_session_merges_and_returns_the_updated_session(
    nursery: trio.Nursery,
    autojump_clock: trio.testing.MockClock,
) -> None:
    sim = RealtimeSimulator()
    async with connect(sim, nursery) as conn:
        created = await conn.receive()
        update = events.SessionConfig(
            instructions="Be brief.",
            audio=events.AudioConfig(
                input=events.AudioInput(
                    turn_detection=events.ServerVad(silence_duration_ms=500)
                )
            ),
        )
        updated = await conn.update_session(update)
        assert isinstance(updated, events.SessionConfig)
        assert updated.instructions == "Be brief."
        assert updated.id == created.session.id  # type: ignore[union-attr]
        vad = updated.audio.input.turn_detection  # type: ignore[union-attr]
        # Only the fields sent changed; the rest of turn_detection was kept.
        assert isinstance(vad, events.ServerVad)
        assert (vad.silence_duration_ms, vad.threshold, vad.prefix_padding_ms) == (
            500,
            0.5,
            300,
        )
        assert updated.audio.output.voice == "marin"  # type: ignore[union-attr]
        assert conn.session == updated
        # A plain dict works too, and merges on top of the previous update.
        again = await conn.update_session(
            {"type": "realtime", "output_modalities": ["text"]}
        )
        assert again.output_modalities == ("text",)  # type: ignore[union-attr]
        assert again.instructions == "Be brief."  # type: ignore[union-attr]
        # Each answer is also delivered, in order, on the event stream.
        received = await receive_until(
            conn, events.SessionUpdated, where=lambda e: e.session == again
        )
        assert wire_types(received) == ["session.updated", "session.updated"]
    assert sim.connections[0].session["output_modalities"] == ["text"]
    assert sim.connections[0].session["instructions"] == "Be brief."


@pytest.mark.parametrize(
    ("update", "code", "param", "message"),
    [
        (
            {"type": "realtime", "audio": {"output": {"voice": "nobody"}}},
            "invalid_value",
            "session.audio.output.voice",
            "Invalid value: 'nobody'. Supported values are: 'alloy', 'ash', 'ballad', "
            "'coral', 'echo', 'sage', 'shimmer', 'verse', 'marin', and 'cedar'.",
        ),
        (
            {
                "type": "realtime",
                "audio": {
                    "input": {
                        "turn_detection": {"type": "server_vad", "threshold": 1.5}
                    }
                },
            },
            "decimal_above_max_value",
            "session.audio.input.turn_detection.threshold",
            "Invalid 'session.audio.input.turn_detection.threshold': decimal above "
            "maximum value. Expected a value <= 1.0, but got 1.5 instead.",
        ),
        (
            {"type": "realtime", "model": "gpt-4o-realtime-preview"},
            "invalid_value",
            "session.model",
            "The model of a session cannot be changed.",
        ),
        (
            {"type": "realtime", "output_modalities": ["text", "audio"]},
            "invalid_value",
            "session.output_modalities",
            "Invalid 'session.output_modalities': exactly one of 'text' or 'audio' "
            "is supported.",
        ),
        (
            {"type": "transcription"},
            "invalid_value",
            "session.type",
            "Cannot update a realtime session to a transcription session.",
        ),
    ],
)
async def test_invalid_update_raises_the_real_shaped_error(
    nursery: trio.Nursery,
    autojump_clock: trio.testing.MockClock,
    update: dict[str, Any],
    code: str,
    param: str,
    message: str,
) -> None:
    sim = RealtimeSimulator()
    async with connect(sim, nursery) as conn:
        before = (await conn.receive()).session
        with pytest.raises(ServerError) as info:
            await conn.update_session(update)
        error = info.value.event.error
        assert (error.type, error.code, error.param) == (
            "invalid_request_error",
            code,
            param,
        )
        assert error.message == message
        assert info.value.code == code
        (sent,) = sim.connections[0].client_events
        assert isinstance(sent, events.SessionUpdate)
        assert isinstance(sent.event_id, str) and error.event_id == sent.event_id
        # The error event is on the stream too, and nothing changed.
        event = await conn.receive()
        assert event == info.value.event
        assert conn.session == before


async def test_an_invalid_session_argument_fails_open_realtime(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator()
    bad = {"type": "realtime", "audio": {"output": {"speed": 3.0}}}
    with pytest.raises(ServerError) as info:
        async with connect(sim, nursery, session=bad):
            pytest.fail("entered with a rejected session")  # pragma: no cover
    assert (info.value.code, info.value.event.error.param) == (
        "decimal_above_max_value",
        "session.audio.output.speed",
    )
    await wait_closed(sim)
    # The connection was closed properly, not left behind.
    assert (sim.connections[0].close_code, sim.connections[0].closed_by) == (
        1000,
        "client",
    )
