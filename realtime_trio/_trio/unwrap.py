"""Turning the exception group of a private nursery into one exception.

`open_realtime` hides its nursery, so it must not leak the nursery's
`ExceptionGroup` (trio's "designing for multiple errors"). The policy, in one
place and tested exhaustively:

1. A `KeyboardInterrupt` anywhere wins.
2. If, apart from `trio.Cancelled`, the group holds exactly the exception
   raised in the ``async with`` body (the caller's own, or our setup's), that
   exception comes out, unchanged.
3. If it holds nothing but `trio.Cancelled`, the first `Cancelled` comes out
   (cancellation from an enclosing scope propagates as usual).
4. Anything else is a bug in realtime_trio: `RealtimeInternalError`, with the
   group as its cause (attached as ``__context__`` to the body's exception
   instead, when there is one: the caller's own error comes out first).

It never looks at ``len(group.exceptions) == 1`` alone, which is how
latent bugs hide (trio reference-core, "Designing for multiple errors").

`open_hidden_nursery` is the one way this package hides a nursery: every
"private nursery, one exception out" in the library goes through it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio

from .._core.errors import RealtimeInternalError


def leaves(exc: BaseException) -> list[BaseException]:
    """The non-group exceptions inside ``exc`` (``exc`` itself if it is not a group)."""
    if isinstance(exc, BaseExceptionGroup):
        out: list[BaseException] = []
        for inner in exc.exceptions:
            out.extend(leaves(inner))
        return out
    return [exc]


def collapse(
    group: BaseExceptionGroup[BaseException], body: BaseException | None
) -> BaseException:
    """Return the one exception that should leave a private nursery that raised ``group``.

    Args:
        group: What the nursery raised.
        body: The exception the nursery's body raised, if any (it may itself
            be a group raised by the caller: it comes out whole).
    """
    all_leaves = leaves(group)
    for leaf in all_leaves:
        if isinstance(leaf, KeyboardInterrupt):
            return leaf
    others = [e for e in all_leaves if not isinstance(e, trio.Cancelled)]
    # Match by the identity of the leaves: trio re-derives groups (to strip
    # Cancelled), so a group raised by the body is not itself in ``group``.
    body_ids = {id(e) for e in leaves(body)} if body is not None else set()
    if others and all(id(e) in body_ids for e in others):
        return body  # type: ignore[return-value]
    if not others:
        return all_leaves[0]
    internal = RealtimeInternalError(
        "unexpected errors in realtime_trio's tasks; please report this bug"
    )
    internal.__cause__ = group
    if body is not None and any(id(e) in body_ids for e in others):
        # The caller's own exception matters most to them; keep ours beside it.
        if body.__context__ is None:
            body.__context__ = internal
        return body
    return internal


def reraise(exc: BaseException) -> None:
    """Raise ``exc`` without chaining the group we are handling onto it.

    A bare ``raise exc`` inside an ``except`` block would set its
    ``__context__`` to the group; keep the caller's exception as it was.
    """
    __tracebackhide__ = True
    context = exc.__context__
    try:
        raise exc
    finally:
        exc.__context__ = context
        del exc, context


@asynccontextmanager
async def open_hidden_nursery() -> AsyncIterator[trio.Nursery]:
    """A nursery whose exception group never leaves: one exception comes out.

    Use it as ``trio.open_nursery()``. What the ``async with`` body raises
    (setup included) is "the body's exception" of `collapse`, which decides
    what comes out of the whole block: the body's own exception, a
    `KeyboardInterrupt`, the first `trio.Cancelled`, or `RealtimeInternalError`.
    """
    body_error: BaseException | None = None
    try:
        async with trio.open_nursery() as nursery:
            try:
                yield nursery
            except BaseException as exc:
                body_error = exc
                raise
    except BaseExceptionGroup as group:
        reraise(collapse(group, body_error))
