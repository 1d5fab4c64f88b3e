"""The pytest plugin of realtime_trio: the ``realtime`` fixture and its options.

Installing realtime_trio registers it (the ``pytest11`` entry point), so it
is loaded into every pytest run: it imports nothing but pytest until a test
uses its fixture. Its test-time needs come with ``realtime-trio[pytest]``
(pytest-trio).

``realtime`` is the target of the test: the built-in simulator by default,
in this process and paced in real time on the trio clock, which the plugin
makes a `trio.testing.MockClock` with autojump (so a talk costs no wall time
and always goes the same way); ``--realtime-url URL`` a real endpoint, on
the real clock; ``--realtime-replay DIR`` the recordings that
``--realtime-record DIR`` made. ::

    async def test_weather(realtime):
        async with realtime.talk(session=..., scenario=...) as talk:
            await talk.say("What's the weather in Paris?")
            await talk.expect_reply(contains="22")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pathlib import Path

    from ._scripted.fixture import Realtime

__all__ = [
    "pytest_addoption",
    "pytest_collect_file",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "realtime",
]

_INSTALL = "pip install 'realtime-trio[pytest]'"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("realtime", "realtime_trio: scripted voice conversations")
    group.addoption(
        "--realtime-url",
        metavar="URL",
        default=None,
        help="run the `realtime` tests against this endpoint (ws:// or wss://), "
        "on the real clock, instead of the built-in simulator",
    )
    group.addoption(
        "--realtime-api-key",
        metavar="KEY",
        default=None,
        help="the API key for --realtime-url (default: OPENAI_API_KEY)",
    )
    group.addoption(
        "--realtime-record",
        metavar="DIR",
        default=None,
        help="write each `realtime` test's wire session to DIR/<test>.jsonl "
        "(API keys are never recorded)",
    )
    group.addoption(
        "--realtime-elide-audio",
        action="store_true",
        default=False,
        help="with --realtime-record: leave the audio out of the recordings",
    )
    group.addoption(
        "--realtime-replay",
        metavar="DIR",
        default=None,
        help="replay the recordings in DIR (made with --realtime-record), deterministically",
    )


def pytest_configure(config: pytest.Config) -> None:
    url = config.getoption("--realtime-url")
    replay = config.getoption("--realtime-replay")
    if url is not None and replay is not None:
        raise pytest.UsageError(
            "--realtime-url and --realtime-replay: give one of them"
        )
    if url is not None and not str(url).startswith(("ws://", "wss://")):
        raise pytest.UsageError(f"--realtime-url must be ws:// or wss://, not {url!r}")
    if replay is not None:
        import os

        if not os.path.isdir(replay):
            raise pytest.UsageError(
                f"--realtime-replay: {replay}: no such directory "
                "(make it with --realtime-record DIR)"
            )
    record = config.getoption("--realtime-record")
    if replay is not None and record is not None and str(replay) == str(record):
        raise pytest.UsageError(
            "--realtime-record and --realtime-replay name the same directory"
        )


class _RunWithClock:
    """``trio.run`` for the tests that use ``realtime``, with the clock its target wants.

    pytest-trio passes ``clock=None`` when the test asked for no clock
    fixture; then a simulator or a replay gets a `MockClock` with autojump,
    a real endpoint the real clock. A clock the test asked for is kept.
    """

    def __init__(self, mock: bool) -> None:
        self.mock = mock

    def __call__(self, fn: Any, *args: Any, clock: Any = None, **kwargs: Any) -> Any:
        __tracebackhide__ = True  # a failure's traceback starts in the test
        import trio

        if clock is None and self.mock:
            import trio.testing

            clock = trio.testing.MockClock(autojump_threshold=0)
        try:
            return trio.run(fn, *args, clock=clock, **kwargs)
        except BaseExceptionGroup as group:
            # pytest-trio runs the test in a nursery, so a failing expectation
            # arrives wrapped in a group: show the one failure as itself.
            from ._trio.unwrap import leaves, reraise

            found = [e for e in leaves(group) if not isinstance(e, trio.Cancelled)]
            if len(found) != 1:
                raise
            reraise(found[0])
            raise  # unreachable: reraise raises


def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    if not config.pluginmanager.hasplugin("trio"):
        return  # the fixture says what is missing
    mock = config.getoption("--realtime-url") is None
    marker = pytest.mark.trio(run=_RunWithClock(mock))
    for item in items:
        if "realtime" in getattr(item, "fixturenames", ()):
            item.add_marker(marker, append=False)


@pytest.fixture
def realtime(request: pytest.FixtureRequest) -> Realtime:
    """The target of the test: ``async with realtime.talk(...) as talk:``.

    The built-in simulator unless ``--realtime-url`` or ``--realtime-replay``
    says otherwise; the plugin picks the clock for it.
    """
    config = request.config
    if not config.pluginmanager.hasplugin("trio"):
        pytest.fail(
            f"the realtime fixture needs pytest-trio: {_INSTALL}", pytrace=False
        )
    # The public faces first: they show their names as `realtime_trio.X`
    # (``realtime_trio.scripted.ExpectationFailed`` in a failure, not the
    # private module it is defined in).
    from . import scripted as scripted
    from ._scripted.fixture import Realtime, target_from_options

    target = target_from_options(config)
    return Realtime(target, request.node.nodeid)


# --- script files (issue 13b) -------------------------------------------------------
def pytest_collect_file(
    file_path: Path, parent: pytest.Collector
) -> pytest.Collector | None:
    """Collect ``realtime_*.yaml`` script files as tests (the driver loads only then)."""
    if not (file_path.name.startswith("realtime_") and file_path.suffix == ".yaml"):
        return None
    from ._scripted.collect import collect_file

    return collect_file(file_path, parent)


# --- end of script files ---------------------------------------------------------------
