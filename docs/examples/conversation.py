"""A conversation on the conversation layer: helpers, state, one response at a time.

With no OPENAI_API_KEY it talks to the built-in simulator; with one, to the
real API.

    python docs/examples/conversation.py
"""

from __future__ import annotations

import os
from contextlib import AsyncExitStack

import trio

import realtime_trio
from realtime_trio import SessionConfig, events
from realtime_trio.testing import open_simulator


def said(text: str) -> events.MessageItem:
    return events.MessageItem(role="user", content=(events.InputText(text=text),))


async def talk(conn: realtime_trio.RealtimeConnection) -> None:
    # Nothing iterates this conversation: only its helpers and its state are
    # used, so it buffers no events (deliver_events=False).
    async with realtime_trio.open_conversation(conn, deliver_events=False) as convo:
        for question in ("Hello", "What is the capital of France?"):
            await conn.create_item(said(question))
            response = await convo.create_response()
            done = await convo.wait_response_done(response)
            print(f"[{done.status}] {convo.state.items[-1].spoken_text}")

        # Three tasks ask at once: the layer takes them in turn, never
        # provoking conversation_already_has_active_response.
        async def ask(instructions: str) -> None:
            response = await convo.create_response(
                events.ResponseCreateParams(instructions=instructions)
            )
            await convo.wait_response_done(response)

        async with trio.open_nursery() as nursery:
            for style in ("briefly", "politely", "in French"):
                nursery.start_soon(ask, f"Say goodbye {style}.")
        statuses = [r.status for r in convo.state.responses]
        print(f"[{len(statuses)} responses, one at a time: {', '.join(statuses)}]")

        print("transcript:")
        for role, text in convo.state.transcript()[:4]:
            print(f"  {role}: {text}")
        usage = convo.state.usage
        print(f"usage: {usage.total_tokens} tokens over {usage.responses} responses")


async def main() -> None:
    async with AsyncExitStack() as stack:
        if os.environ.get("OPENAI_API_KEY"):
            url, key = None, None
        else:
            sim = await stack.enter_async_context(open_simulator())
            url, key = sim.url, "sk-local"
        conn = await stack.enter_async_context(
            realtime_trio.open_realtime(
                model="gpt-realtime-2",
                url=url,
                api_key=key,
                session=SessionConfig(
                    instructions="Answer in one short sentence.",
                    output_modalities=("text",),
                ),
            )
        )
        with trio.fail_after(60):
            await talk(conn)


if __name__ == "__main__":
    trio.run(main)
