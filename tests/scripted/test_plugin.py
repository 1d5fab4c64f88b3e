"""The pytest plugin in isolated pytest runs (pytester, in process), and its import cost."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

# pytester's in-process runs drop the modules they imported when they end, and
# numpy cannot be imported twice in one process: since ``import realtime_trio``
# is lazy, load the API (numpy with it) before the first run.
import realtime_trio.scripted  # noqa: F401

pytest_plugins = ["pytester"]

TESTS = """
import trio, trio.testing
from realtime_trio.testing import Rule, Say, Scenario

SCENARIO = Scenario(rules=[Rule(text="hello", steps=[Say(text="Hello there, friend.")])])

async def test_hello(realtime):
    assert realtime.kind == REALTIME_KIND
    assert isinstance(trio.lowlevel.current_clock(), trio.testing.MockClock)
    async with realtime.talk(scenario=SCENARIO) as talk:
        await talk.send_text("hello")
        await talk.expect_reply(contains="friend")

async def test_wrong(realtime):
    async with realtime.talk(scenario=SCENARIO) as talk:
        await talk.send_text("hello")
        await talk.expect_reply(contains="goodbye")
"""


def write(pytester: pytest.Pytester, kind: str) -> None:
    pytester.makepyfile(test_talks=TESTS.replace("REALTIME_KIND", repr(kind)))


def test_the_fixture_runs_on_the_simulator_and_failures_read_like_the_talk(
    pytester: pytest.Pytester,
) -> None:
    write(pytester, "simulator")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*expected a reply containing 'goodbye'",
            "*got the reply 'Hello there, friend.'*",
            "*transcript so far:*",
            "*wire recording: none (record it with --realtime-record DIR)*",
        ]
    )


def test_record_then_replay_through_the_options(pytester: pytest.Pytester) -> None:
    records = pytester.path / "records"
    write(pytester, "simulator")
    recorded = pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", "--realtime-record", str(records), "-k", "hello"
    )
    recorded.assert_outcomes(passed=1, deselected=1)
    (path,) = records.glob("*.jsonl")
    assert path.name == "test_talks.py_test_hello.jsonl"
    assert all(
        json.loads(line)["direction"] in ("client", "server")
        for line in path.read_text().splitlines()
    )
    write(pytester, "replay")
    replayed = pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", "--realtime-replay", str(records), "-k", "hello"
    )
    replayed.assert_outcomes(passed=1, deselected=1)
    missing = pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", "--realtime-replay", str(records), "-k", "wrong"
    )
    missing.assert_outcomes(failed=1, deselected=1)
    missing.stdout.fnmatch_lines(["*no recording to replay for*--realtime-record*"])


def test_a_failure_names_its_recording(pytester: pytest.Pytester) -> None:
    write(pytester, "simulator")
    result = pytester.runpytest_inprocess(
        "-p",
        "no:cacheprovider",
        "--realtime-record",
        "recs",
        "--realtime-elide-audio",
        "-k",
        "wrong",
    )
    result.assert_outcomes(failed=1, deselected=1)
    result.stdout.fnmatch_lines(
        ["*wire recording: recs*test_talks.py_test_wrong.jsonl"]
    )
    # The failure is shown as itself, not inside pytest-trio's exception group.
    result.stdout.fnmatch_lines(
        ["E *realtime_trio.scripted.ExpectationFailed: expected *"]
    )
    assert "ExceptionGroup" not in result.stdout.str()


def test_a_real_endpoint_runs_on_the_real_clock(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_url="""
import trio, trio.testing
async def test_clock(realtime):
    assert realtime.kind == "url"
    assert not isinstance(trio.lowlevel.current_clock(), trio.testing.MockClock)
"""
    )
    result = pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", "--realtime-url", "ws://127.0.0.1:9/v1/realtime"
    )
    result.assert_outcomes(passed=1)


def test_bad_options_are_usage_errors(pytester: pytest.Pytester) -> None:
    both = pytester.runpytest_inprocess(
        "--realtime-url", "wss://x.invalid", "--realtime-replay", "d"
    )
    assert both.ret == pytest.ExitCode.USAGE_ERROR
    both.stderr.fnmatch_lines(
        ["*--realtime-url and --realtime-replay: give one of them*"]
    )
    scheme = pytester.runpytest_inprocess("--realtime-url", "https://x.invalid")
    assert scheme.ret == pytest.ExitCode.USAGE_ERROR
    missing = pytester.runpytest_inprocess("--realtime-replay", "no-such-dir")
    assert missing.ret == pytest.ExitCode.USAGE_ERROR
    missing.stderr.fnmatch_lines(
        ["*--realtime-replay: no-such-dir: no such directory*"]
    )


def test_without_pytest_trio_the_fixture_says_what_to_install(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_sync="""
def test_needs_it(realtime):
    pass
"""
    )
    result = pytester.runpytest_inprocess("-p", "no:trio", "-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*the realtime fixture needs pytest-trio: pip install 'realtime-trio?pytest?'*"
        ]
    )


def test_tests_without_the_fixture_are_left_alone(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_plain="""
import pytest
def test_sync(request):
    assert not list(request.node.iter_markers("trio"))
"""
    )
    pytester.runpytest_inprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_loading_the_plugin_imports_nothing_of_ours() -> None:
    """pytest loads the plugin in every run: it must import neither trio nor any of our layers.

    ``import realtime_trio`` is lazy (the first public name asked for imports
    the API), so loading the entry point brings only the package, its version
    and the plugin module.
    """
    code = (
        "import sys; before = set(sys.modules); "
        "import realtime_trio.pytest_plugin; "
        "print(' '.join(sorted(set(sys.modules) - before)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    added = set(done.stdout.split())
    ours = {name for name in added if name.startswith("realtime_trio")}
    assert ours == {
        "realtime_trio",
        "realtime_trio._version",
        "realtime_trio.pytest_plugin",
    }
    assert not added & {
        "trio",
        "numpy",
        "attrs",
        "cattrs",
        "trio.testing",
        "pytest_trio",
    }
    assert not added & {"yaml", "httpx", "hypercorn"}


def test_the_entry_point_registers_the_plugin() -> None:
    from importlib.metadata import entry_points

    (point,) = [p for p in entry_points(group="pytest11") if p.name == "realtime_trio"]
    assert point.value == "realtime_trio.pytest_plugin"
    assert Path(__file__).parent.is_dir()
