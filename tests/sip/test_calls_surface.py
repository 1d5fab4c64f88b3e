"""The public surface of ``realtime_trio.calls``."""

from __future__ import annotations

import subprocess
import sys

import realtime_trio.calls
from realtime_trio import calls


def test_calls_namespace_all_is_sorted_and_complete() -> None:
    names = realtime_trio.calls.__all__
    assert names == sorted(names)
    public = {
        name
        for name, value in vars(realtime_trio.calls).items()
        if not name.startswith("_")
        and getattr(value, "__module__", "").startswith("realtime_trio")
    }
    assert public <= set(names)


def test_calls_namespace_module_names() -> None:
    for name in realtime_trio.calls.__all__:
        obj = getattr(realtime_trio.calls, name)
        module = getattr(obj, "__module__", "")
        if hasattr(obj, "__qualname__") and module.startswith("realtime_trio"):
            assert module == "realtime_trio.calls", name


def test_the_package_imports_calls_only_when_asked() -> None:
    # httpx and hypercorn are a third of a second of imports a WebSocket
    # client does not need; `realtime_trio.calls` still works without an
    # explicit import of the submodule.
    code = (
        "import sys, realtime_trio\n"
        "assert 'httpx' not in sys.modules and 'hypercorn' not in sys.modules\n"
        "assert 'calls' in realtime_trio.__all__\n"
        "assert realtime_trio.calls.CallsClient.__module__ == 'realtime_trio.calls'\n"
        "assert 'httpx' in sys.modules\n"
        "try:\n"
        "    realtime_trio.nothing\n"
        "except AttributeError as exc:\n"
        "    assert 'nothing' in str(exc)\n"
        "else:\n"
        "    raise SystemExit('no AttributeError')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_errors_are_realtime_errors() -> None:
    from realtime_trio import RealtimeError

    assert issubclass(calls.APIError, RealtimeError)
    assert issubclass(calls.CallNotFoundError, calls.APIError)
    assert issubclass(calls.APIRedirectError, calls.APIError)
    assert issubclass(calls.APIConnectionError, RealtimeError)
