"""The simulator's hidden nursery: one exception comes out, never a group.

`open_simulator` runs its listener in a private nursery, so it must not leak
that nursery's `ExceptionGroup` (trio's "designing for multiple errors"). The
policy is the one of `realtime_trio.open_realtime` (``_client/unwrap.py``);
the simulator may not import the client engine (the layer contracts in
``setup.cfg``), so this is a copy, small because the simulator's own tasks
never raise `Exception` (a failing connection is logged and ends alone):

1. A `KeyboardInterrupt` anywhere wins.
2. If, apart from `trio.Cancelled`, the group holds only what the ``async
   with`` body raised, that comes out unchanged.
3. If it holds nothing but `trio.Cancelled`, the first one comes out.
4. Anything else is a bug: `RealtimeInternalError`, the group as its cause.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio

from ..._core.errors import RealtimeInternalError


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]


def collapse(
    group: BaseExceptionGroup[BaseException], body: BaseException | None
) -> BaseException:
    """The one exception that leaves a nursery that raised ``group`` (see above)."""
    leaves = _leaves(group)
    for leaf in leaves:
        if isinstance(leaf, KeyboardInterrupt):
            return leaf
    others = [leaf for leaf in leaves if not isinstance(leaf, trio.Cancelled)]
    if not others:
        return leaves[0]
    # By identity: trio re-derives groups, so the body's group is not in ``group``.
    body_ids = {id(leaf) for leaf in _leaves(body)} if body is not None else set()
    if body is not None and all(id(leaf) in body_ids for leaf in others):
        return body
    internal = RealtimeInternalError(
        "unexpected errors in the simulator's tasks; please report this bug"
    )
    internal.__cause__ = group
    return internal


@asynccontextmanager
async def open_hidden_nursery() -> AsyncIterator[trio.Nursery]:
    """`trio.open_nursery`, but what leaves it is one exception (see `collapse`)."""
    body: BaseException | None = None
    try:
        async with trio.open_nursery() as nursery:
            try:
                yield nursery
            except BaseException as exc:
                body = exc
                raise
    except BaseExceptionGroup as group:
        out = collapse(group, body)
        context = out.__context__
        try:
            raise out
        finally:
            # Not chained onto the group we are handling: as it was raised.
            out.__context__ = context
            del out, context
