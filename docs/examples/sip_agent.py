"""A phone agent: answer SIP calls, keep the instructions and the tools on your server.

OpenAI receives the call on its SIP trunk and POSTs a signed
``realtime.call.incoming`` webhook to this server, which verifies it,
decides, accepts the call with a session, attaches the sideband connection
and runs ``handler`` below for the length of the call.

Against the real API (put the URL behind your HTTPS reverse proxy and
register it as the project's webhook)::

    export OPENAI_API_KEY=sk-... OPENAI_WEBHOOK_SECRET=whsec_...
    python docs/examples/sip_agent.py --port 8000

Locally, with no key and no phone: the simulator places one call::

    python docs/examples/sip_agent.py --simulate
"""

from __future__ import annotations

import argparse
import base64
import functools
import json
import logging
import os
import sys
from collections.abc import Sequence

import trio

from realtime_trio import SessionConfig, events
from realtime_trio.calls import Accept, IncomingCall, Reject, open_sip_server

logger = logging.getLogger("sip_agent")

BLOCKED_NUMBERS = {"+15550000000"}
OPERATOR = "tel:+14155550100"
GOODBYE_SECONDS = 5.0  # how long to let the goodbye play before hanging up

SESSION = SessionConfig(
    model="gpt-realtime-2",
    instructions=(
        "You are the phone assistant of Acme Shop. Be brief and friendly. "
        "Use lookup_order to answer questions about orders. "
        "If the caller asks for a person, call transfer_to_operator. "
        "When the caller is done, say goodbye and call end_call."
    ),
    tools=(
        events.FunctionTool(
            name="lookup_order",
            description="Find an order by its id.",
            parameters={
                "type": "object",
                "properties": {"order_id": {"type": "string"}},
                "required": ["order_id"],
            },
        ),
        events.FunctionTool(
            name="transfer_to_operator", description="Transfer the call to a person."
        ),
        events.FunctionTool(
            name="end_call", description="Hang up, after saying goodbye."
        ),
    ),
)


def lookup_order(order_id: str) -> dict[str, str]:
    """Your business logic: it runs here, on your server, never on the phone."""
    return {"order_id": order_id, "status": "shipped", "eta": "tomorrow"}


async def decide(call: IncomingCall) -> Accept | Reject:
    """Accept or reject before the caller stops hearing ringing (a few seconds at most)."""
    caller = call.caller or ""
    if any(number in caller for number in BLOCKED_NUMBERS):
        return Reject(603)
    return (
        Accept()
    )  # with the server's session (or Accept(SessionConfig(...)) per call)


async def handler(
    call: IncomingCall, *, goodbye_seconds: float = GOODBYE_SECONDS
) -> None:
    """Drive one call: greet, answer tool calls, transfer or hang up."""
    conn = call.connection
    await conn.create_response(
        events.ResponseCreateParams(
            instructions="Greet the caller and ask how you can help."
        )
    )
    ending = False
    async for event in conn:  # ends when the call ends (caller hung up, transfer done)
        match event:
            case events.ResponseFunctionCallArgumentsDone(
                name="lookup_order", call_id=tool_call, arguments=args
            ):
                result = lookup_order(json.loads(args).get("order_id", ""))
                await conn.create_item(
                    events.FunctionCallOutputItem(
                        call_id=tool_call, output=json.dumps(result)
                    )
                )
                await conn.create_response()
            case events.ResponseFunctionCallArgumentsDone(name="transfer_to_operator"):
                await call.refer(OPERATOR)
            case events.ResponseFunctionCallArgumentsDone(name="end_call"):
                ending = True
            case events.ResponseDone() if ending:
                break  # the goodbye was generated; let it play out below
            case events.InputAudioBufferDtmfEventReceived(event="0"):
                await call.refer(OPERATOR)
            case events.InputAudioBufferDtmfEventReceived(event="#"):
                break
    if ending:
        # Over SIP the server plays the audio: wait for its buffer to drain.
        with trio.move_on_after(goodbye_seconds):
            async for event in conn:
                if isinstance(event, events.OutputAudioBufferStopped):
                    break
    await call.hangup()  # does nothing if the call already ended


async def serve(args: argparse.Namespace) -> None:
    """Serve the real API until Ctrl-C."""
    async with open_sip_server(
        handler, decide=decide, session=SESSION, host=args.host, port=args.port
    ) as server:
        print(f"webhook URL: {server.url}", flush=True)
        await trio.sleep_forever()


async def simulate() -> int:
    """One call end to end against the local simulator; prints what happened."""
    from realtime_trio.testing import CallTool, Rule, Say, Scenario, open_simulator

    # What the simulated model does: greet and look up an order, answer, then say goodbye.
    scenario = Scenario(
        rules=[
            Rule(
                turn=1,
                steps=[
                    Say(text="Hello, Acme Shop!"),
                    CallTool(name="lookup_order", arguments={"order_id": "A123"}),
                ],
            ),
            Rule(
                tool="lookup_order",
                steps=[
                    Say(text="Order A123 arrives tomorrow. Goodbye!"),
                    CallTool(name="end_call"),
                ],
            ),
        ]
    )
    secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    async with open_simulator(scenario=scenario) as sim:
        async with open_sip_server(
            functools.partial(
                handler, goodbye_seconds=0.1
            ),  # the simulator plays no audio
            decide=decide,
            session=SESSION,
            webhook_secret=secret,
            api_key="sk-simulated",
            api_base_url=sim.base_url,
            realtime_url=sim.url,
        ) as server:
            call_id = await sim.place_sip_call(server.url, secret)
            with trio.fail_after(30):
                call = await server.wait_call(call_id)
                await call.wait_ended()
        said = [
            event.transcript
            for record in sim.connections
            for event in record.server_events
            if isinstance(event, events.ResponseOutputAudioTranscriptDone)
        ]
    print(f"webhook answered: {sim.calls[call_id].webhook_status}")
    print(f"the call went: {' -> '.join(sim.calls[call_id].history)}")
    for line in said:
        print(f"assistant: {line}")
    print(f"outcome: {call.outcome.value if call.outcome else None}")
    return 0 if call.outcome is not None and call.outcome.value == "hung_up" else 1


async def main(argv: Sequence[str]) -> int:
    """The command line."""
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument(
        "--simulate",
        action="store_true",
        help="run one call against the local simulator",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    if args.simulate:
        return await simulate()
    await serve(args)
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    try:
        sys.exit(trio.run(main, sys.argv[1:]))
    except KeyboardInterrupt:
        pass
