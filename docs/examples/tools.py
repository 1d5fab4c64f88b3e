"""Function tools on the conversation layer: the model calls, the layer answers.

With no OPENAI_API_KEY it talks to the built-in simulator, scripted to call
the tool; with one, to the real API.

    python docs/examples/tools.py
"""

from __future__ import annotations

import os
from contextlib import AsyncExitStack
from typing import Literal

import attrs
import trio

import realtime_trio
from realtime_trio import SessionConfig, events, function_tool
from realtime_trio.testing import CallTool, Rule, Scenario, open_simulator


@attrs.frozen
class Forecast:
    city: str
    sky: str
    temperature: float
    unit: str


@function_tool
async def get_weather(
    city: str, unit: Literal["celsius", "fahrenheit"] = "celsius"
) -> Forecast:
    """The current weather in a city.

    Args:
        city: The city's name, such as "Paris".
        unit: The unit of the temperature.
    """
    await trio.sleep(0.1)  # a real tool would ask a weather service
    celsius = 22.0
    temperature = celsius if unit == "celsius" else celsius * 9 / 5 + 32
    return Forecast(city=city, sky="sunny", temperature=temperature, unit=unit)


@function_tool(time_limit=5)
async def get_air_quality(city: str) -> str:
    """The air quality index of a city."""
    raise LookupError(f"no air quality station in {city}")


async def talk(conn: realtime_trio.RealtimeConnection) -> None:
    tools = [get_weather, get_air_quality]
    async with realtime_trio.open_conversation(conn, tools=tools) as convo:
        question = "What is the weather and the air quality in Paris, in fahrenheit?"
        await conn.create_item(
            events.MessageItem(role="user", content=(events.InputText(text=question),))
        )
        await convo.create_response()
        async for event in convo:
            match event:
                case events.ConversationItemAdded(
                    item=events.FunctionCallOutputItem(call_id=call_id, output=output)
                ):
                    call = convo.state.call(call_id)
                    assert call is not None
                    print(f"[tool] {call.name}({call.arguments}) -> {output}")
                case events.ResponseDone(response=response):
                    output = (
                        response.output if isinstance(response.output, tuple) else ()
                    )
                    calls = [
                        i for i in output if isinstance(i, events.FunctionCallItem)
                    ]
                    if not calls:  # the answer after the calls
                        print(f"assistant: {convo.state.items[-1].spoken_text}")
                        break
        stats = convo.statistics()
        print(
            f"[{stats.tool_calls} calls, {stats.tool_errors} failed, "
            f"{stats.follow_ups} follow-up response]"
        )


def scenario() -> Scenario:
    """The simulated model: both calls at once, then it reads back the outputs."""
    return Scenario(
        rules=[
            Rule(
                text="weather",
                steps=[
                    CallTool(
                        name="get_weather",
                        arguments={"city": "Paris", "unit": "fahrenheit"},
                    ),
                    CallTool(name="get_air_quality", arguments={"city": "Paris"}),
                ],
            )
        ]
    )


async def main() -> None:
    async with AsyncExitStack() as stack:
        if os.environ.get("OPENAI_API_KEY"):
            url, key = None, None
        else:
            sim = await stack.enter_async_context(open_simulator(scenario=scenario()))
            url, key = sim.url, "sk-local"
        conn = await stack.enter_async_context(
            realtime_trio.open_realtime(
                model="gpt-realtime-2",
                url=url,
                api_key=key,
                session=SessionConfig(
                    instructions="Use the tools to answer.", output_modalities=("text",)
                ),
            )
        )
        with trio.fail_after(60):
            await talk(conn)


if __name__ == "__main__":
    trio.run(main)
