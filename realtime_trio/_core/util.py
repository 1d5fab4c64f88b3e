"""Small helpers shared by the public namespaces."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def fixup_module_metadata(
    module_name: str, namespace: Mapping[str, Any], names: Iterable[str]
) -> None:
    """Show public objects as ``module_name.X`` rather than ``..._private.X``.

    Reprs, tracebacks, pickles and the docs then name the public namespace,
    as trio does in its ``__init__``. This is the one ``__module__`` fix-up of
    the package: every public namespace calls it once, at the end, with its
    ``__all__`` (minus anything that must keep another home).

    Only classes and functions defined in a private module of this package
    (one with a dotted part that starts with ``_``, such as
    ``realtime_trio._audio.formats``) are renamed. An object already shown
    under a public namespace keeps it, so the first namespace imported (the
    top-level package imports ``events``, ``audio`` and ``webhooks`` first)
    decides where an object re-exported by two of them lives.
    """
    root = module_name.partition(".")[0]
    for name in names:
        obj = namespace[name]
        module = getattr(obj, "__module__", None)
        if (
            isinstance(module, str)
            and module.partition(".")[0] == root
            and any(part.startswith("_") for part in module.split("."))
            and hasattr(obj, "__qualname__")
        ):
            obj.__module__ = module_name
