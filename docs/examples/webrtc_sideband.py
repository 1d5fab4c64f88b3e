"""The server side of a WebRTC voice app: create the call, then drive it over a sideband.

The browser captures the microphone and plays the audio over WebRTC; it
sends its SDP offer to *your* server, which holds the API key:

1. your server creates the call (``POST /v1/realtime/calls`` with the offer
   and the session) and returns the SDP answer to the browser;
2. your server attaches a sideband connection to the call by its id and keeps
   the instructions and the tools there, where the browser cannot see or
   change them.

Against the real API, with an offer saved from a browser::

    export OPENAI_API_KEY=sk-...
    python docs/examples/webrtc_sideband.py --offer offer.sdp

Locally, with no key and no browser::

    python docs/examples/webrtc_sideband.py --simulate
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import trio

from realtime_trio import SessionConfig, events, open_realtime
from realtime_trio.calls import APIError, CallsClient, CreatedCall

SESSION = SessionConfig(
    model="gpt-realtime-2",
    instructions="You are a calendar assistant. Use get_agenda for questions about the day.",
    tools=(
        events.FunctionTool(
            name="get_agenda",
            description="Today's meetings.",
            parameters={"type": "object", "properties": {}},
        ),
    ),
)


def get_agenda() -> list[dict[str, str]]:
    """Your business logic, on your server."""
    return [
        {"time": "10:00", "title": "Stand-up"},
        {"time": "14:00", "title": "Design review"},
    ]


async def start_call(calls: CallsClient, sdp_offer: str) -> CreatedCall:
    """What your ``POST /session`` endpoint does with the browser's offer.

    Return ``created.sdp_answer`` to the browser (``Content-Type:
    application/sdp``); keep ``created.call_id`` on the server.
    """
    return await calls.create_call(sdp_offer, session=SESSION)


async def drive_call(
    call_id: str,
    transcripts: trio.MemorySendChannel[str],
    *,
    calls: CallsClient,
    url: str | None = None,
    api_key: str | None = None,
    max_seconds: float = 600.0,
) -> None:
    """Attach the sideband and serve tool calls until the call ends.

    What the assistant says goes to ``transcripts`` (to show in the browser,
    or to log), which is closed at the end.
    """
    with transcripts, trio.move_on_after(max_seconds):
        async with open_realtime(call_id=call_id, url=url, api_key=api_key) as conn:
            # Instructions can change at any time, from the server only.
            await conn.update_session(
                SessionConfig(
                    instructions=f"{SESSION.instructions} Today is {date.today()}."
                )
            )
            # The assistant speaks first.
            await conn.create_response(
                events.ResponseCreateParams(
                    instructions="Greet the user and tell them their agenda for today."
                )
            )
            async for (
                event
            ) in conn:  # ends when the call ends (the browser hung up, or we did)
                match event:
                    case events.ResponseFunctionCallArgumentsDone(
                        name="get_agenda", call_id=tool_call
                    ):
                        output = json.dumps(get_agenda())
                        await conn.create_item(
                            events.FunctionCallOutputItem(
                                call_id=tool_call, output=output
                            )
                        )
                        await conn.create_response()
                    case events.ResponseOutputAudioTranscriptDone(transcript=text):
                        await transcripts.send(text)
    # However the call ended: hang up (the API refuses if it is over already).
    try:
        await calls.hangup(call_id)
    except APIError:
        pass


async def simulate() -> int:
    """Create a call and drive it against the local simulator."""
    from realtime_trio.testing import CallTool, Rule, Say, Scenario, open_simulator

    scenario = Scenario(
        rules=[
            Rule(turn=1, steps=[CallTool(name="get_agenda")]),
            Rule(
                tool="get_agenda",
                steps=[
                    Say(text="You have a stand-up at ten and a design review at two.")
                ],
            ),
        ]
    )
    offer = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
    async with (
        open_simulator(scenario=scenario) as sim,
        CallsClient(api_key="sk-simulated", base_url=sim.base_url) as calls,
    ):
        created = await start_call(calls, offer)
        print(
            f"call {created.call_id}: SDP answer of {len(created.sdp_answer)} bytes for the browser"
        )
        send, receive = trio.open_memory_channel[str](16)
        with trio.fail_after(30):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(
                    lambda: drive_call(
                        created.call_id,
                        send,
                        calls=calls,
                        url=sim.url,
                        api_key="sk-simulated",
                    )
                )
                async for text in receive:
                    print(f"assistant: {text}")
                    # The (simulated) user heard the agenda and hangs up in the browser.
                    await calls.hangup(created.call_id)
        print(f"the call went: {' -> '.join(sim.calls[created.call_id].history)}")
    return 0


async def main(argv: Sequence[str]) -> int:
    """The command line."""
    parser = argparse.ArgumentParser(
        description="WebRTC call with a server-side sideband"
    )
    parser.add_argument(
        "--simulate", action="store_true", help="run against the local simulator"
    )
    parser.add_argument(
        "--offer", type=Path, help="a browser's SDP offer, saved to a file"
    )
    args = parser.parse_args(argv)
    if args.simulate:
        return await simulate()
    if args.offer is None:
        parser.error("give --offer FILE or --simulate")
    async with CallsClient() as calls:
        created = await start_call(calls, args.offer.read_text())
        print(
            created.sdp_answer, flush=True
        )  # give this to the browser's setRemoteDescription
        send, receive = trio.open_memory_channel[str](16)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(lambda: drive_call(created.call_id, send, calls=calls))
            async for text in receive:
                print(f"assistant: {text}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(trio.run(main, sys.argv[1:]))
    except KeyboardInterrupt:
        pass
