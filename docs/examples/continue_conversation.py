"""Continue a conversation on a new connection, seeded from the state of the old one.

A Realtime session lasts at most 60 minutes, and a connection can break. The
conversation does not survive either: a new connection starts an empty one.
This recipe keeps the `ConversationState` of the old conversation and
replays its items, as text, into the new one before going on.

It runs against the built-in simulator, whose session is made to expire
after 2 seconds (the real API's lasts an hour), so that it runs in a few.

    python docs/examples/continue_conversation.py
"""

from __future__ import annotations

from contextlib import AsyncExitStack

import trio

import realtime_trio
from realtime_trio import (
    ConnectionBroken,
    ConversationState,
    ItemState,
    SessionConfig,
    events,
)
from realtime_trio.testing import open_simulator

QUESTIONS = ["My name is Ada.", "I like trains.", "What is my name?", "What do I like?"]


def replayable(item: ItemState) -> events.ConversationItem | None:
    """The item to recreate on a new connection (as text), or None to leave it out."""
    if item.type == "message" and item.spoken_text:
        # Audio cannot be recreated (and assistant audio cannot be created):
        # what was said becomes text. A truncated answer's transcript may
        # hold words after the cut (item.audio_end_ms says where it was).
        if item.role == "assistant":
            part: events.ContentPart = events.OutputText(text=item.spoken_text)
        else:
            part = events.InputText(text=item.spoken_text)
        return events.MessageItem(role=item.role or "user", content=(part,))
    if item.type == "function_call" and item.call_id and item.name:
        return events.FunctionCallItem(
            name=item.name, arguments=item.arguments or "{}", call_id=item.call_id
        )
    if item.type == "function_call_output" and item.call_id:
        return events.FunctionCallOutputItem(
            call_id=item.call_id, output=item.output or ""
        )
    return None


async def seed(conn: realtime_trio.RealtimeConnection, old: ConversationState) -> int:
    """Recreate the old conversation's items, in order, on ``conn``; return how many."""
    count = 0
    for item in old.items:
        record = replayable(item)
        if record is not None:
            await conn.create_item(record)
            count += 1
    return count


async def converse(
    conn: realtime_trio.RealtimeConnection,
    pending: list[str],
    old: ConversationState | None,
    states: list[ConversationState],
) -> None:
    """Ask the pending questions; then wait for the end of the session."""
    async with realtime_trio.open_conversation(conn) as convo:
        states.append(convo.state)
        if old is not None:
            print(f"[seeded the new conversation with {await seed(conn, old)} items]")
        while pending:
            await conn.create_item(
                events.MessageItem(
                    role="user", content=(events.InputText(text=pending[0]),)
                )
            )
            response = await convo.create_response()
            async for event in convo:
                if (
                    isinstance(event, events.ResponseDone)
                    and event.response.id == response.id
                ):
                    break
            print(f"user: {pending.pop(0)}")
            print(f"assistant: {convo.state.items[-1].spoken_text}")
        if len(states) == 1:  # keep the first connection until it ends
            async for event in convo:
                if isinstance(event, events.ErrorEvent):
                    print(f"[server: {event.error.message}]")


async def main() -> None:
    async with AsyncExitStack() as stack:
        sim = await stack.enter_async_context(open_simulator(session_duration=2))
        pending = QUESTIONS[:2]
        later = QUESTIONS[2:]
        states: list[ConversationState] = []
        # A loop of our own around open_realtime: no hidden reconnection.
        for attempt in range(1, 4):
            old = states[-1] if states else None
            try:
                async with realtime_trio.open_realtime(
                    model="gpt-realtime-2",
                    url=sim.url,
                    api_key="sk-local",
                    session=SessionConfig(output_modalities=("text",)),
                ) as conn:
                    with trio.fail_after(60):
                        await converse(conn, pending, old, states)
                break
            except ConnectionBroken as exc:
                print(f"[connection {attempt} ended: {exc}]")
                pending += later
                later = []
        print("transcript of the new conversation:")
        for role, text in states[-1].transcript():
            print(f"  {role}: {text}")


if __name__ == "__main__":
    trio.run(main)
