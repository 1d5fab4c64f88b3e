"""One SIP call, from its webhook to its end: decide, accept, attach, handle, hang up.

::

    CallRunner.run(call)
      busy? ── reject 486 (shielded, close_timeout)
      decide (or default Accept) ─┐ bounded by setup_timeout
      accept (REST)  ─────────────┘ or reject (REST)
      open_realtime(call_id=...)     the sideband, with the 404 retry ─┐ bounded by
      await handler(call)            the user's code                  ─┘ max_call_seconds
      finally: hang up if the call is still up (shielded, close_timeout)

`CallRunner.run` catches every ``Exception`` (a failing handler is logged,
with the call id only, and its call hung up), so one call can never end
another or the server; ``Cancelled`` and ``KeyboardInterrupt`` pass through,
and shutdown is just cancellation: the sideband closes (bounded by the
connection's ``close_timeout``) and the call is hung up (shielded, bounded by
our ``close_timeout``).
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Final, TypeAlias

import trio

from .._client.open import open_realtime
from .call import (
    Accept,
    CallHandler,
    CallOutcome,
    IncomingCall,
    Reject,
    classify_close,
    logger,
    outcome_of_error,
)
from .errors import APIConnectionError, APIError, CallNotFoundError
from .leases import LeaseState
from .options import ServerConfig
from .rest import CallsClient
from .statistics import Counters

#: Records a call's progress in the shared call store (the server's; it never raises).
CallMarker: TypeAlias = Callable[[IncomingCall, LeaseState], Awaitable[None]]

#: The SIP status of calls rejected because the server is full.
BUSY_STATUS: Final = 486
#: The SIP status of calls rejected because deciding failed or took too long.
UNAVAILABLE_STATUS: Final = 480
#: Sideband close codes after which the call is surely over (no hang-up needed).
CLEAN_CLOSE_CODES: Final = frozenset({1000, 1001})


class CallRunner:
    """Runs each call of one server (see the module's diagram).

    Args:
        handler: ``async def handler(call: IncomingCall) -> None``.
        config: The server's options (``decide``, ``session``, the timeouts,
            the sideband's options) and API key.
        calls: The server's REST client.
        counters: Counts accepted calls.
        mark: Records a call's progress (``accepting``, ``accepted``) in the
            shared call store, if the server has one.
        hand_over_on_cancel: When a call's task is cancelled (the server
            shutting down), leave the call up for another instance to take
            over instead of hanging it up.

    Attributes:
        calls: The server's REST client (each `IncomingCall` gets it too).
    """

    def __init__(
        self,
        handler: CallHandler,
        config: ServerConfig,
        calls: CallsClient,
        counters: Counters,
        *,
        mark: CallMarker | None = None,
        hand_over_on_cancel: bool = False,
    ) -> None:
        self._handler = handler
        self._config = config
        self._options = config.options
        self.calls = calls
        self._counters = counters
        self._marker = mark
        self._hand_over_on_cancel = hand_over_on_cancel

    async def run(self, call: IncomingCall, *, busy: bool) -> None:
        """Run ``call`` to its end (reject it at once if ``busy``); never raises `Exception`."""
        try:
            if busy:
                logger.warning(
                    "call %s rejected: %d calls in progress",
                    call.call_id,
                    self._options["max_concurrent_calls"],
                )
                self._counters.calls_busy += 1
                await self._reject_quietly(call, BUSY_STATUS)
            else:
                await self._lifecycle(call)
        except Exception as exc:  # a bug of ours: never let it end the server
            logger.exception("call %s: internal error", call.call_id)
            call._set_outcome(CallOutcome.FAILED, exc)

    async def _lifecycle(self, call: IncomingCall) -> None:
        options = self._options
        decide = options["decide"]
        # rejectable: nothing was sent yet that could have accepted the call.
        # accept_unknown: an accept was sent and neither succeeded nor was refused.
        rejectable = True
        accept_unknown = accepted = cancelled = False
        try:
            if call.resumed:
                # Taken over: the instance it comes from accepted it (or was
                # accepting it), so only the sideband is attached again.
                rejectable = False
            else:
                with trio.fail_after(options["setup_timeout"]):
                    decision = await decide(call) if decide is not None else None
                    if call.state != "incoming":  # the decider rejected it itself
                        return
                    decision = Accept() if decision is None else decision
                    if isinstance(decision, Reject):
                        await call.reject(decision.status_code)
                        logger.info(
                            "call %s rejected (%d)", call.call_id, decision.status_code
                        )
                        return
                    if not isinstance(decision, Accept):
                        raise TypeError(
                            f"decide() must return Accept, Reject or None, not {decision!r}"
                        )
                    session = (
                        decision.session
                        if decision.session is not None
                        else options["session"]
                    )
                    rejectable = False
                    await self._mark(call, "accepting")
                    accept_unknown = True
                    try:
                        await self.calls.accept(call.call_id, session)
                    except APIError as exc:
                        # Refused: the call was not accepted. Unless it is gone,
                        # reject it rather than leave the caller ringing.
                        accept_unknown = False
                        rejectable = not isinstance(exc, CallNotFoundError)
                        raise
            accept_unknown = False
            accepted = True
            call.state = "accepted"
            if call.resumed:
                logger.info("call %s resumed: attaching a sideband", call.call_id)
            else:
                self._counters.calls_accepted += 1
                logger.info("call %s accepted", call.call_id)
                await self._mark(call, "accepted")
            # max_call_seconds: at the limit the handler is cancelled, and
            # the call (outcome still None) hung up below, freeing its slot.
            limit = options["max_call_seconds"]
            with trio.move_on_after(math.inf if limit is None else limit) as timer:
                async with open_realtime(
                    call_id=call.call_id,
                    api_key=self._config.api_key,
                    url=options["realtime_url"],
                    safety_identifier=options["safety_identifier"],
                    attach_attempts=options["attach_attempts"],
                    attach_backoff=options["attach_backoff"],
                    connect_timeout=options["connect_timeout"],
                ) as conn:
                    call._attach(conn)
                    try:
                        await self._handler(call)
                    finally:
                        call.close_reason = conn.close_reason
            if timer.cancelled_caught:
                self._counters.calls_timed_out += 1
                logger.warning(
                    "call %s: time limit reached (max_call_seconds=%g); hanging up",
                    call.call_id,
                    limit,
                )
            elif call.outcome is None and call.close_reason is not None:
                call._set_outcome(classify_close(call.close_reason))
        except trio.Cancelled:
            cancelled = True
            raise
        except Exception as exc:
            outcome = outcome_of_error(exc) if call.state == "connected" else None
            if outcome is CallOutcome.ENDED:
                call._set_outcome(outcome)
            elif outcome is CallOutcome.NETWORK_ERROR:
                logger.warning("call %s: sideband lost: %s", call.call_id, exc)
                call._set_outcome(outcome, exc)
            else:
                logger.error(
                    "call %s failed in state %s: %s: %s",
                    call.call_id,
                    call.state,
                    type(exc).__name__,
                    exc,
                    exc_info=exc,
                )
                call._set_outcome(CallOutcome.FAILED, exc)
        finally:
            await self._end_call(
                call,
                rejectable=rejectable,
                accepted=accepted,
                accept_unknown=accept_unknown,
                cancelled=cancelled,
            )

    async def _end_call(
        self,
        call: IncomingCall,
        *,
        rejectable: bool,
        accepted: bool,
        accept_unknown: bool,
        cancelled: bool,
    ) -> None:
        """Hang up or reject what is still up; bounded and shielded (we may be cancelled)."""
        if cancelled and (call._handing_over or self._hand_over_on_cancel):
            # Another instance takes it over (its lease says how far it got):
            # neither hang up nor reject.
            call._set_outcome(CallOutcome.HANDED_OVER)
            return
        if cancelled:
            call._set_outcome(CallOutcome.SHUTDOWN)
        if rejectable and call.state == "incoming":
            # Deciding failed, took too long, or the server is shutting down:
            # do not leave the caller ringing.
            await self._reject_quietly(call, UNAVAILABLE_STATUS, record=False)
            return
        up = call.outcome in (
            None,
            CallOutcome.FAILED,
            CallOutcome.NETWORK_ERROR,
            CallOutcome.SHUTDOWN,
        ) or (
            # The server closed the sideband with an error: the call may go on.
            call.outcome is CallOutcome.ENDED
            and call.close_reason is not None
            and call.close_reason.code not in CLEAN_CLOSE_CODES
        )
        if not (accepted or accept_unknown) or not up:
            return
        if cancelled and not self._options["hangup_on_shutdown"]:
            return
        with trio.move_on_after(self._options["close_timeout"], shield=True):
            try:
                await self.calls.hangup(call.call_id)
            except (APIError, APIConnectionError) as exc:
                logger.debug("call %s: hang-up refused: %s", call.call_id, exc)
            else:
                call._set_outcome(CallOutcome.HUNG_UP)
                logger.info("call %s hung up", call.call_id)

    async def _mark(self, call: IncomingCall, state: LeaseState) -> None:
        if self._marker is not None:
            await self._marker(call, state)

    async def _reject_quietly(
        self, call: IncomingCall, status: int, *, record: bool = True
    ) -> None:
        with trio.move_on_after(self._options["close_timeout"], shield=True):
            try:
                await self.calls.reject(call.call_id, status_code=status)
            except (APIError, APIConnectionError) as exc:
                logger.debug("call %s: reject refused: %s", call.call_id, exc)
        if record:
            call._set_outcome(CallOutcome.REJECTED)


__all__ = [
    "BUSY_STATUS",
    "CLEAN_CLOSE_CODES",
    "UNAVAILABLE_STATUS",
    "CallMarker",
    "CallRunner",
]
