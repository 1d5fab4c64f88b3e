"""The simulator through our own client: conversation items, bad input, request correlation."""

from __future__ import annotations

import attrs
import pytest
import trio
import trio.testing

from realtime_trio import UNSET, ServerError, events
from realtime_trio.audio import decode_audio
from realtime_trio.testing import RealtimeSimulator
from tests.helpers.client_sim import (
    TEXT_ONLY,
    connect,
    of_type,
    output_audio,
    receive_until,
    user_text,
    wire_types,
)

# --- conversation items ----------------------------------------------------------------


async def test_create_item_returns_the_added_item_then_done_follows(
    nursery: trio.Nursery,
    autojump_clock: trio.testing.MockClock,
) -> None:
    sim = RealtimeSimulator()
    async with connect(sim, nursery) as conn:
        await conn.receive()
        first = await conn.create_item(user_text("Hello"))
        assert isinstance(first, events.MessageItem)
        assert isinstance(first.id, str) and first.id.startswith("item_")
        assert len(first.id) <= 32
        # conversation.item.added carries no "object", as recorded sessions show.
        assert (first.object, first.status, first.role) == (
            UNSET,
            "completed",
            "user",
        )
        assert first.content == (events.InputText(text="Hello"),)
        second = await conn.create_item(user_text("World", "item_second"))
        assert second.id == "item_second"  # type: ignore[union-attr]
        root = await conn.create_item(
            user_text("Before all", "item_root"), previous_item_id="root"
        )
        received = await receive_until(
            conn, events.ConversationItemDone, where=lambda e: e.item.id == "item_root"
        )
        assert (
            wire_types(received)
            == ["conversation.item.added", "conversation.item.done"] * 3
        )
        added = of_type(received, events.ConversationItemAdded)
        assert [a.item for a in added] == [first, second, root]
        assert [a.previous_item_id for a in added] == [None, first.id, None]
        done = of_type(received, events.ConversationItemDone)
        assert [d.item for d in done] == [first, second, root]


async def test_retrieve_and_delete_and_their_errors(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator()
    async with connect(sim, nursery) as conn:
        await conn.receive()
        item = await conn.create_item(user_text("Keep me", "item_keep"))
        await receive_until(conn, events.ConversationItemDone)
        await conn.send(events.ConversationItemRetrieve(item_id="item_keep"))
        (retrieved,) = of_type(
            await receive_until(conn, events.ConversationItemRetrieved),
            events.ConversationItemRetrieved,
        )
        assert retrieved.item == attrs.evolve(item, object="realtime.item")
        await conn.send(events.ConversationItemDelete(item_id="item_keep"))
        deleted = (await receive_until(conn, events.ConversationItemDeleted))[-1]
        assert deleted.item_id == "item_keep"
        expected = {
            "conversation.item.retrieve": (
                "item_retrieve_invalid_item_id",
                "Error retrieving item: the item with id 'item_keep' does not exist.",
            ),
            "conversation.item.delete": (
                "item_delete_invalid_item_id",
                "Error deleting item: the item with id 'item_keep' does not exist.",
            ),
        }
        await conn.send(
            events.ConversationItemRetrieve(item_id="item_keep", event_id="evt_r")
        )
        await conn.send(
            events.ConversationItemDelete(item_id="item_keep", event_id="evt_d")
        )
        errors = [(await receive_until(conn, events.ErrorEvent))[-1] for _ in expected]
        for error, (code, message) in zip(errors, expected.values(), strict=True):
            assert (error.error.type, error.error.code, error.error.param) == (
                "invalid_request_error",
                code,
                "item_id",
            )
            assert error.error.message == message
        assert [e.error.event_id for e in errors] == ["evt_r", "evt_d"]
        # Still connected and working.
        assert (await conn.update_session(TEXT_ONLY)).output_modalities == ("text",)  # type: ignore[union-attr]


async def test_unknown_previous_item_id_raises_server_error(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator()
    async with connect(sim, nursery) as conn:
        await conn.receive()
        with pytest.raises(ServerError) as info:
            await conn.create_item(user_text("Orphan"), previous_item_id="item_missing")
        error = info.value.event.error
        assert (error.code, error.param) == (
            "item_create_invalid_previous_item_id",
            "previous_item_id",
        )
        assert error.message == (
            "Error adding item: the previous item with id 'item_missing' does not exist."
        )
        assert error.event_id == sim.connections[0].client_events[-1].event_id
        # Not added: the same id can be created afterwards.
        created = await conn.create_item(user_text("Orphan", "item_orphan"))
        assert created.id == "item_orphan"  # type: ignore[union-attr]


async def test_truncate_assistant_audio_and_its_errors(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator()
    async with connect(sim, nursery) as conn:
        await conn.receive()
        await conn.create_item(user_text("Hello", "item_user"))
        await conn.create_response()
        received = await receive_until(conn, events.ResponseDone)
        assistant = received[-1].response.output[0]
        assert isinstance(assistant, events.MessageItem)
        # "You said: Hello" is 15 characters of 60 ms.
        assert len(output_audio(received)) == 15 * 60 * 48

        await conn.send(
            events.ConversationItemTruncate(
                item_id=assistant.id,
                content_index=0,
                audio_end_ms=500,  # type: ignore[arg-type]
            )
        )
        truncated = (await receive_until(conn, events.ConversationItemTruncated))[-1]
        assert (truncated.item_id, truncated.content_index, truncated.audio_end_ms) == (
            assistant.id,
            0,
            500,
        )
        await conn.send(events.ConversationItemRetrieve(item_id=assistant.id))  # type: ignore[arg-type]
        item = (await receive_until(conn, events.ConversationItemRetrieved))[-1].item
        (part,) = item.content
        assert isinstance(part, events.OutputAudio)
        assert part.transcript is None  # the transcript of a truncated item is gone
        assert len(decode_audio(part.audio)) == 500 * 48  # type: ignore[arg-type]

        bad = [
            (assistant.id, 600, "invalid_value", "audio_end_ms",
             "Audio content of 500ms is already shorter than 600ms"),
            ("item_missing", 100, "item_truncate_invalid_item_id", "item_id",
             "Error truncating item: the item with id 'item_missing' does not exist."),
            ("item_user", 100, "invalid_value", "item_id",
             "Only assistant message items can be truncated."),
        ]  # fmt: skip
        for n, (item_id, end_ms, code, param, message) in enumerate(bad):
            await conn.send(
                events.ConversationItemTruncate(
                    item_id=item_id,  # type: ignore[arg-type]
                    content_index=0,
                    audio_end_ms=end_ms,
                    event_id=f"evt_truncate_{n}",
                )
            )
            error = (await receive_until(conn, events.ErrorEvent))[-1].error
            assert (error.code, error.param, error.message, error.event_id) == (
                code,
                param,
                message,
                f"evt_truncate_{n}",
            )


# --- bad input never kills the connection ---------------------------------------------------


async def test_bad_input_answers_errors_and_the_connection_goes_on(
    nursery: trio.Nursery,
    autojump_clock: trio.testing.MockClock,
) -> None:
    sim = RealtimeSimulator(max_message_size=10_000)
    async with connect(sim, nursery) as conn:
        await conn.receive()
        await conn.send({"type": "bogus.event", "event_id": "bad_1"})
        await conn.send(
            {"type": "conversation.item.delete", "item_id": 42, "event_id": "bad_2"}
        )
        await conn.send({"type": "response.create", "bogus": 1, "event_id": "bad_3"})
        big = user_text("x" * 20_000)
        await conn.send(events.ConversationItemCreate(item=big, event_id="bad_4"))
        errors = [
            (await receive_until(conn, events.ErrorEvent))[-1].error for _ in range(4)
        ]
        unknown, wrong_type, unknown_field, too_large = errors
        assert (unknown.code, unknown.param, unknown.event_id) == (
            "invalid_value",
            "type",
            "bad_1",
        )
        assert unknown.message.startswith(
            "Invalid value: 'bogus.event'. Supported values are: 'session.update', "
        )
        assert (wrong_type.code, wrong_type.param, wrong_type.event_id) == (
            "invalid_type",
            "item_id",
            "bad_2",
        )
        assert wrong_type.message == (
            "Invalid type for 'item_id': expected a string, but got an integer instead."
        )
        assert (unknown_field.code, unknown_field.param, unknown_field.event_id) == (
            "unknown_parameter",
            "bogus",
            "bad_3",
        )
        assert unknown_field.message == "Unknown parameter: 'bogus'."
        assert too_large.code == "message_too_large"
        assert too_large.message.endswith("characters, the limit is 10000.")
        assert {e.type for e in errors} == {"invalid_request_error"}
        # The connection is fine: a correlated helper still works.
        updated = await conn.update_session(
            {"type": "realtime", "instructions": "Still here."}
        )
        assert updated.instructions == "Still here."  # type: ignore[union-attr]
    record = sim.connections[0]
    assert len(record.invalid_messages) == 4
    assert record.error is None


# --- correlating requests with their answers ------------------------------------------------


async def test_create_response_never_returns_a_response_it_did_not_create(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    sim = RealtimeSimulator(realtime=True)
    async with connect(sim, nursery, session=TEXT_ONLY) as conn:
        for attempt in range(5):
            await conn.create_item(user_text(f"turn {attempt}"))
            # Another part of the application starts a response first...
            await conn.send(events.ResponseCreate())
            # ...so the server refuses this one: the helper must say so.
            with pytest.raises(ServerError) as info:
                await conn.create_response()
            assert info.value.code == "conversation_already_has_active_response"
            await receive_until(conn, events.ResponseDone)
