"""Phone and WebRTC calls: REST call control, and a ready SIP call server.

Call control over REST (httpx, on trio)::

    from realtime_trio import calls

    async with calls.CallsClient() as client:
        await client.accept(call_id, SessionConfig(instructions="Be brief."))
        ...
        await client.hangup(call_id)

A SIP call server (hypercorn's trio worker) that verifies the
``realtime.call.incoming`` webhook, accepts the call, attaches its sideband
connection and runs your handler::

    async def handler(call: calls.IncomingCall) -> None:
        async for event in call.connection:
            ...

    async with calls.open_sip_server(handler, webhook_secret=..., port=8000) as server:
        print(server.url)
        await trio.sleep_forever()

See the SIP and WebRTC guides in the documentation.
"""

from __future__ import annotations

from ._core.util import fixup_module_metadata as _fixup_module_metadata
from ._sip.call import Accept as Accept
from ._sip.call import CallHandler as CallHandler
from ._sip.call import CallOutcome as CallOutcome
from ._sip.call import Decider as Decider
from ._sip.call import Decision as Decision
from ._sip.call import IncomingCall as IncomingCall
from ._sip.call import Reject as Reject
from ._sip.call import interrupt_sideband as interrupt_sideband
from ._sip.errors import APIConnectionError as APIConnectionError
from ._sip.errors import APIError as APIError
from ._sip.errors import APIRedirectError as APIRedirectError
from ._sip.errors import CallNotFoundError as CallNotFoundError
from ._sip.rest import CallsClient as CallsClient
from ._sip.rest import ClientSecret as ClientSecret
from ._sip.rest import CreatedCall as CreatedCall
from ._sip.rest import ExpiresAfter as ExpiresAfter
from ._sip.server import SipCallServer as SipCallServer
from ._sip.server import SipServerOptions as SipServerOptions
from ._sip.server import SipServerStatistics as SipServerStatistics
from ._sip.server import open_sip_server as open_sip_server
from ._sip.server import serve_sip as serve_sip

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIRedirectError",
    "Accept",
    "CallHandler",
    "CallNotFoundError",
    "CallOutcome",
    "CallsClient",
    "ClientSecret",
    "CreatedCall",
    "Decider",
    "Decision",
    "ExpiresAfter",
    "IncomingCall",
    "Reject",
    "SipCallServer",
    "SipServerOptions",
    "SipServerStatistics",
    "interrupt_sideband",
    "open_sip_server",
    "serve_sip",
]


_fixup_module_metadata(__name__, globals(), __all__)
del _fixup_module_metadata
