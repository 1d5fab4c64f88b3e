"""Small helpers shared by the public namespaces."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def fixup_module_metadata(
    module_name: str, namespace: Mapping[str, Any], names: Iterable[str]
) -> None:
    """Show public objects as ``module_name.X`` rather than ``..._private.X``.

    Reprs, tracebacks, pickles and the docs then name the public namespace,
    as trio does in its ``__init__``. Only classes and functions defined in a
    private module (one with a dotted part that starts with ``_``, such as
    ``realtime_trio._audio.formats``) are renamed.
    """
    for name in names:
        obj = namespace[name]
        module = getattr(obj, "__module__", None)
        if (
            isinstance(module, str)
            and any(part.startswith("_") for part in module.split("."))
            and hasattr(obj, "__qualname__")
        ):
            obj.__module__ = module_name
