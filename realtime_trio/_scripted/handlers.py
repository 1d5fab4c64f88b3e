"""The SIP call handler a script names (``sip: {handler: ...}``), imported.

``file.py:function`` loads ``file.py`` (relative to the script's folder)
as a module of its own, the way pytest loads a test file, without touching
``sys.path``; ``package.module:function`` imports an installed or
importable module. Either way the module runs: a script that names a
handler runs its code, as a test file does.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .script import Script, ScriptError

_loaded: dict[Path, Any] = {}


def _module_from_file(path: Path) -> Any:
    path = path.resolve()
    if path in _loaded:
        return _loaded[path]
    name = f"_realtime_trio_script_handler_{len(_loaded)}_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path} as Python")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look modules up by name
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    _loaded[path] = module
    return module


def load_handler(script: Script) -> Callable[..., Any] | None:
    """The call handler ``script`` names, or None when it is not a phone call.

    Raises:
        ScriptError: The module cannot be imported or has no such callable
            (the error says which, and where the script names it).
    """
    spec = script.sip_handler
    if spec is None:
        return None
    where, _, function = spec.rpartition(":")

    def fail(problem: str) -> ScriptError:
        return ScriptError(problem, source=script.source, path="sip.handler")

    try:
        if where.endswith(".py"):
            base = script.source.parent if script.source is not None else Path()
            file = base / where
            if not file.is_file():
                raise fail(f"{file}: no such file")
            module = _module_from_file(file)
        else:
            module = importlib.import_module(where)
    except ScriptError:
        raise
    except Exception as exc:  # the handler's module failed to import: say how
        raise fail(f"cannot import {where}: {type(exc).__name__}: {exc}") from exc
    handler = getattr(module, function, None)
    if not callable(handler):
        raise fail(f"{where} has no function {function!r}")
    return handler  # type: ignore[no-any-return]
