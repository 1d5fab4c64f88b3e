"""The SIP and WebRTC examples of the docs run, against the simulator."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        f"example_{name}", EXAMPLES / f"{name}.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_sip_agent_example_simulated(capsys: pytest.CaptureFixture[str]) -> None:
    example = _load("sip_agent")
    assert await example.main(["--simulate"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "webhook answered: 200",
        "the call went: incoming -> accepted -> ended",
        "assistant: Hello, Acme Shop!",
        "assistant: Order A123 arrives tomorrow. Goodbye!",
        "outcome: hung_up",
    ]


async def test_sip_agent_example_decides() -> None:
    example = _load("sip_agent")

    class FakeCall:
        def __init__(self, caller: str) -> None:
            self.caller = caller

    blocked = await example.decide(FakeCall("<sip:+15550000000@carrier>"))
    allowed = await example.decide(FakeCall("<sip:+15551112222@carrier>"))
    assert type(blocked).__name__ == "Reject" and blocked.status_code == 603
    assert type(allowed).__name__ == "Accept" and allowed.session is None
    assert example.lookup_order("A1")["status"] == "shipped"


async def test_webrtc_sideband_example_simulated(
    capsys: pytest.CaptureFixture[str],
) -> None:
    example = _load("webrtc_sideband")
    assert await example.main(["--simulate"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("call rtc_") and "SDP answer" in out[0]
    assert out[1:] == [
        "assistant: You have a stand-up at ten and a design review at two.",
        "the call went: accepted -> ended",
    ]


async def test_webrtc_sideband_example_needs_an_offer() -> None:
    example = _load("webrtc_sideband")
    with pytest.raises(SystemExit):
        await example.main([])
