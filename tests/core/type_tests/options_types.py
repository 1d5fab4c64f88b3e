"""What the options of open_realtime / connect_realtime are typed as; checked by
mypy --strict from tests/core/test_typing.py.

Never run: only type-checked. A ``# type: ignore[...]`` below marks an error
mypy must report (strict mode warns about an ignore that is not needed): the
options are one ``TypedDict`` behind ``**options``, and every call site is
still checked option by option.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import assert_type

import trio

from realtime_trio import (
    RealtimeConnection,
    SessionConfig,
    connect_realtime,
    open_realtime,
)
from realtime_trio.audio import PCMU


async def right(nursery: trio.Nursery) -> None:
    async with open_realtime(
        model="gpt-realtime",
        session=SessionConfig(instructions="hi"),
        input_audio_format=PCMU,
        max_buffered_events=0,
        close_timeout=1,
        headers={"X-A": "b"},
        strict=True,
    ) as conn:
        assert_type(conn, RealtimeConnection)
    manager: AbstractAsyncContextManager[RealtimeConnection] = open_realtime(
        call_id="rtc_1"
    )
    del manager
    conn = await connect_realtime(
        nursery, model="gpt-realtime", session={"type": "realtime"}
    )
    assert_type(conn, RealtimeConnection)


async def wrong(nursery: trio.Nursery) -> None:
    async with open_realtime(model="m", max_buffered_events="many"):  # type: ignore[arg-type]
        pass
    async with open_realtime(model=1):  # type: ignore[arg-type]
        pass
    async with open_realtime(model="m", modle="m"):  # type: ignore[call-arg]
        pass
    await connect_realtime(nursery, model="m", close_timeout="5 s")  # type: ignore[arg-type]
    await connect_realtime(model="m")  # type: ignore[call-arg]
    await connect_realtime(nursery, "gpt-realtime")  # type: ignore[call-arg]
