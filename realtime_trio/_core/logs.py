"""The names of realtime_trio's loggers: one per area a user may want to tune.

Users configure loggers by name (``logging.getLogger("realtime_trio.sip")
.setLevel(...)``), so the names are public and stable, unlike module paths,
which are private and move. The scheme: the package name, then the *area* of
the library, never the module. An area is a part of the library a user
turns on or off as a whole:

=========================  =====================================================
logger                     what logs to it
=========================  =====================================================
``realtime_trio``          the client: opening, the connection engine, audio
                           input (`open_realtime`, `connect_realtime`)
``realtime_trio.sip``      call control and the SIP call server (`realtime_trio.calls`)
``realtime_trio.sip.http`` hypercorn, the SIP call server's HTTP server (its error log)
``realtime_trio.testing``  the simulator (`realtime_trio.testing`)
=========================  =====================================================

Because the client logs to the root of the package, configuring
``realtime_trio`` reaches every area (the others are its children). A new
area adds a line to the table and to `Area`; a module gets its logger with
`get_logger` rather than ``logging.getLogger(__name__)``. The user docs show
this table in docs/howto/errors.rst ("Logging"): keep the two in step.
"""

from __future__ import annotations

import logging
from typing import Final, Literal, TypeAlias

#: The package's logger name: the client logs here.
ROOT: Final = "realtime_trio"

#: The areas below the root (see the table above).
Area: TypeAlias = Literal["sip", "sip.http", "testing"]


def get_logger(area: Area | None = None) -> logging.Logger:
    """The logger of ``area`` (None: the client's, ``realtime_trio``)."""
    return logging.getLogger(ROOT if area is None else f"{ROOT}.{area}")
