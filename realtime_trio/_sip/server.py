"""A ready SIP call server: webhook in, accepted call with a sideband out, your handler in between.

Theory of operation
-------------------

::

    SipCallServer.serve ── CallsClient (httpx pool, closed last)
      └ hidden nursery  (cancelling it is the shutdown)
          ├ serve_http(WebhookApp)          hypercorn: HTTP/1.1 + h2 on one port
          │    POST {path}: read ≤ max_body_size → WebhookIntake (signature,
          │    timestamp, de-duplication) → start the call's task → 200 at once
          │    GET {health_path}: 200 while serving, 503 while shutting down
          └ one task per call: CallRunner.run
               decide, accept, attach the sideband, run the handler, hang up

The webhook endpoint never waits for a call: OpenAI retries deliveries that
are not answered with a 2xx within a few seconds, so verification is the only
work done before answering, and the call runs in the server's nursery, not
in the HTTP request's task. Every call task catches its own ``Exception``\\ s,
so one call can never end another or the server; shutdown is just
cancellation.

The parts, one module each: the options (`.options`), the HTTP side
(`.http`), the intake of webhooks (`.intake`), the run of one call
(`.runner`) and the counters (`.statistics`). This module holds the server
object, which owns the calls in progress, and its two entry points.
"""

from __future__ import annotations

import functools
import math
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from typing import Unpack, final

import trio

from .._core.options import takes_options
from .._trio.unwrap import open_hidden_nursery
from .._webhooks.events import RealtimeCallIncoming
from .call import CallHandler, CallOutcome, IncomingCall, logger
from .http import WebhookApp, health_answer, serve_http
from .intake import WebhookIntake
from .leases import CallLeaseStore, LeasedCall
from .options import SIP_SERVER_DEFAULTS, ServerConfig, SipServerOptions
from .rest import CallsClient
from .runner import CallRunner
from .statistics import Counters, SipServerStatistics
from .takeover import LeaseKeeper, new_owner_id


@final
class SipCallServer:
    """A webhook endpoint that answers SIP calls and runs a handler for each.

    Use `open_sip_server` (an async context manager) or `serve_sip` (for
    ``nursery.start``); both build one of these. For each verified, new
    ``realtime.call.incoming`` webhook it answers 200 at once, then, in a task
    of its own:

    1. asks ``decide(call)`` (if given) whether to accept, and with which
       session, or to reject (with a SIP status);
    2. accepts the call over REST (``POST /realtime/calls/{id}/accept``);
    3. attaches the sideband connection (``open_realtime(call_id=...)``);
    4. runs ``await handler(call)``;
    5. hangs up if the call is still up when the handler returns or fails.

    Args:
        handler: ``async def handler(call: IncomingCall) -> None``.
        webhook_secret: The endpoint's ``whsec_...`` signing secret (default:
            ``OPENAI_WEBHOOK_SECRET``). Checked when the server is made. A
            secret without the ``whsec_`` prefix is used as raw UTF-8 bytes,
            as the official SDK does, with a warning when the server starts.
        api_key: A standard API key for REST and the sideband (default:
            ``OPENAI_API_KEY``). Checked when the server is made.
        api_base_url: The REST base (``sim.base_url`` for the simulator).
        realtime_url: The WebSocket endpoint (``sim.url`` for the simulator);
            None for the API's.
        host: Where to listen (``127.0.0.1`` by default; ``0.0.0.0`` behind a
            TLS-terminating proxy).
        port: The TCP port; 0 picks a free one (see `url`).
        path: The webhook path.
        decide: ``async def decide(call) -> Accept | Reject | None``; None
            (or a None result) accepts with ``session``.
        session: The session calls are accepted with by default (a
            `SessionConfig` or its JSON object); None for the API's defaults.
        store: Where ``webhook-id`` values are remembered, sync or async
            (default: a new `~realtime_trio.webhooks.MemoryWebhookIdStore`). A
            shared `~realtime_trio.webhooks.RedisWebhookIdStore` also claims each
            call once and lets instances take over each other's calls.
        tolerance: Accepted clock skew of ``webhook-timestamp``, in seconds.
        max_concurrent_calls: Calls beyond this are rejected with 486 Busy Here.
        setup_timeout: Bound on deciding plus accepting one call; past it the
            call is rejected (480) or, if the accept was sent, hung up.
        close_timeout: Bound on each cleanup request (the hang-up at the end).
        hangup_on_shutdown: Hang up calls still up when the server shuts down
            (without a sideband nobody would control them).
        on_shutdown: What `aclose` does with the calls in progress:
            ``"hang_up"``, ``"hand_over"`` (to another instance sharing the
            Redis store) or ``"wait"``; see `aclose`.
        shutdown_timeout: The longest ``"wait"`` waits (None: no bound).
        attach_attempts: Sideband attempts while the API answers 404 right after accepting.
        attach_backoff: The first delay between those attempts.
        connect_timeout: Bound on each sideband attempt (handshake plus
            ``session.created``). A shutdown waits for an attempt under way.
        safety_identifier: Sent as ``OpenAI-Safety-Identifier``.
        max_body_size: The largest webhook body read (413 beyond).
        max_connections: HTTP connections served at once (more wait).
        header_timeout: Seconds a connection may take to send a request's
            headers (from its opening or last response), else it is closed.
        max_call_seconds: Bound on each call from its accept (None: none); at
            it the handler is cancelled and the call hung up.
        health_path: ``GET`` here answers 200 and a small JSON body while
            serving, 503 while shutting down (None: no health check).
        http_client: An ``httpx.AsyncClient`` for the REST calls (you close it).
        keep_ended_calls: How many ended calls `get_call` still knows.

    Raises:
        InvalidSecretError: the webhook secret is malformed.
        InvalidHeaderError: the API key or the safety identifier cannot be
            sent as an HTTP header (a trailing newline...); the message never
            shows it.
        ValueError: no webhook secret or API key, or a bad option.
    """

    @takes_options(SipServerOptions, SIP_SERVER_DEFAULTS)
    def __init__(
        self, handler: CallHandler, **options: Unpack[SipServerOptions]
    ) -> None:
        self._handler = handler
        self._config = ServerConfig.from_options(options)
        self._path = self._config.options["path"]
        self._keep_ended = self._config.options["keep_ended_calls"]
        self._max_calls = self._config.options["max_concurrent_calls"]
        self._active: dict[str, IncomingCall] = {}
        self._ended: OrderedDict[str, IncomingCall] = OrderedDict()
        self._running = 0
        self._counters = Counters()
        self._changed = trio.Event()
        self._runner: CallRunner | None = None
        self._nursery: trio.Nursery | None = None
        self._origin: str | None = None
        self._started = False
        self._closing = False
        self._stopped = trio.Event()
        self._leases: LeaseKeeper | None = None
        if isinstance(store := self._config.store, CallLeaseStore):
            self._leases = LeaseKeeper(store, self._counters, owner=new_owner_id())
        self._scopes: dict[str, trio.CancelScope] = {}
        self._draining: trio.CancelScope | None = None

    def __repr__(self) -> str:
        where = self.url if self._origin is not None else "not serving"
        return f"<SipCallServer {where} active={len(self._active)}>"

    # --- public surface ---------------------------------------------------------

    @property
    def url(self) -> str:
        """The webhook URL, ``http://HOST:PORT/webhook`` (register its public equivalent).

        Raises:
            RuntimeError: the server is not serving yet.
        """
        if self._origin is None:
            raise RuntimeError("the SIP server is not serving yet")
        return self._origin + self._path

    @property
    def calls(self) -> Mapping[str, IncomingCall]:
        """The calls in progress (being decided, set up or handled), by call id."""
        return _ReadOnly(self._active)

    def get_call(self, call_id: str) -> IncomingCall | None:
        """A call in progress, or one of the last ``keep_ended_calls`` ended ones."""
        return self._active.get(call_id) or self._ended.get(call_id)

    async def wait_call(self, call_id: str) -> IncomingCall:
        """Wait until a webhook announced ``call_id``, and return its call.

        Returns at once if the call is in progress or recently ended.
        Combine with `IncomingCall.wait_ended`. This is a checkpoint.
        """
        while (call := self.get_call(call_id)) is None:
            await self._changed.wait()
        await trio.lowlevel.checkpoint()
        return call

    def statistics(self) -> SipServerStatistics:
        """Return a snapshot of the counters (never blocks)."""
        return self._counters.snapshot(active_calls=len(self._active))

    async def serve(
        self,
        *,
        task_status: trio.TaskStatus[SipCallServer] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Listen and handle calls until cancelled or `aclose` is called.

        ``task_status.started(self)`` is called once the port is bound, so
        `url` is valid after ``await nursery.start(server.serve)``. Returns
        normally after `aclose`; every call's tasks have ended by then.

        Raises:
            OSError: the address cannot be bound.
            RuntimeError: the server was already started.
        """
        if self._started:
            raise RuntimeError("a SipCallServer can be served only once")
        self._started = True
        try:
            options = self._config.options
            async with CallsClient(
                api_key=self._config.api_key,
                base_url=options["api_base_url"],
                safety_identifier=options["safety_identifier"],
                http_client=options["http_client"],
            ) as calls:
                leases = self._leases
                self._runner = CallRunner(
                    self._handler,
                    self._config,
                    calls,
                    self._counters,
                    mark=leases.mark if leases is not None else None,
                    hand_over_on_cancel=leases is not None
                    and options["on_shutdown"] != "hang_up",
                )
                # Call tasks never raise; what can come out is a failure to
                # start (OSError: address in use) or the HTTP server's.
                async with open_hidden_nursery() as nursery:
                    self._nursery = nursery
                    app = WebhookApp(
                        path=self._path,
                        max_body_size=options["max_body_size"],
                        handle=WebhookIntake(
                            self._config,
                            self._counters,
                            self._start_call,
                            leases=leases,
                        ),
                        counters=self._counters,
                        health_path=options["health_path"],
                        health=self._health,
                    )
                    binds = await nursery.start(
                        functools.partial(
                            serve_http,
                            app,
                            options["host"],
                            options["port"],
                            max_connections=options["max_connections"],
                            header_timeout=options["header_timeout"],
                            counters=self._counters,
                        )
                    )
                    self._origin = binds[0]
                    if self._config.raw_secret:
                        logger.warning(
                            "the webhook secret does not start with 'whsec_': "
                            "its text is used as the signing key, as the "
                            "official SDK does (OpenAI's secrets start with "
                            "'whsec_': check that it is this endpoint's)"
                        )
                    logger.info("SIP webhook endpoint listening on %s", self.url)
                    if leases is not None:
                        nursery.start_soon(leases.run, self)
                    task_status.started(self)
                    await trio.sleep_forever()
        finally:
            self._closing = True
            self._stopped.set()
            if self._origin is not None:
                logger.info("SIP server stopped: %s", self.statistics().summary())

    async def aclose(self) -> None:
        """Shut down: stop taking webhooks, end every call's tasks, wait for them.

        The calls still up are, by ``on_shutdown``: hung up (``"hang_up"``,
        unless ``hangup_on_shutdown=False``); handed over to another instance
        (``"hand_over"``); or waited for (``"wait"``: new calls get 503 until
        the calls end, ``shutdown_timeout`` passes or `aclose` is called
        again; the rest are then handed over if the store has call leases,
        else hung up). Each cleanup is bounded by ``close_timeout``.
        """
        if self._draining is not None:
            self._draining.cancel()  # called again: stop waiting
        elif (
            self._config.options["on_shutdown"] == "wait"
            and self._nursery is not None
            and not self._closing
        ):
            self._closing = True
            limit = self._config.options["shutdown_timeout"]
            with trio.move_on_after(math.inf if limit is None else limit) as drain:
                self._draining = drain
                while self._active:
                    await self._changed.wait()
        self._closing = True
        if self._nursery is not None:
            self._nursery.cancel_scope.cancel()
        if self._started:
            await self._stopped.wait()
        else:
            await trio.lowlevel.checkpoint()

    def _health(self) -> tuple[int, bytes]:
        """The health check's answer (see `.http.health_answer`)."""
        return health_answer(closing=self._closing, active_calls=len(self._active))

    # --- calls -----------------------------------------------------------------

    def _start_call(self, event: RealtimeCallIncoming, webhook_id: str) -> bool:
        """Start the task of a new call (see `WebhookIntake`); False when shutting down."""
        if self._closing or self._nursery is None or self._runner is None:
            return False
        call_id = event.data.call_id
        if call_id in self._active or call_id in self._ended:
            # Another delivery (another webhook-id) of a call we handle or
            # handled: acting on it would accept it twice.
            logger.info(
                "call %s announced again (webhook %s); ignored", call_id, webhook_id
            )
            return True
        self._counters.calls_received += 1
        self._launch(
            self._nursery,
            self._runner,
            IncomingCall(event, webhook_id=webhook_id, calls=self._runner.calls),
        )
        return True

    def _launch(
        self, nursery: trio.Nursery, runner: CallRunner, call: IncomingCall
    ) -> None:
        self._active[call.call_id] = call
        busy = self._running >= self._max_calls
        if not busy:
            self._running += 1
        self._notify()
        nursery.start_soon(
            functools.partial(self._call_task, runner, call, busy=busy),
            name=f"realtime_trio sip call {call.call_id}",
        )

    async def _call_task(
        self, runner: CallRunner, call: IncomingCall, *, busy: bool
    ) -> None:
        with trio.CancelScope() as self._scopes[call.call_id]:
            try:
                await runner.run(call, busy=busy)
            finally:
                del self._scopes[call.call_id]
                if not busy:
                    self._running -= 1
                if self._leases is not None:
                    over = call.outcome is CallOutcome.HANDED_OVER
                    await self._leases.release(
                        call.call_id, "handed_over" if over else "ended"
                    )
                self._retire(call)

    def free_slots(self) -> int:
        """How many calls this instance would take over now (`.takeover.LeaseHost`)."""
        return 0 if self._closing else self._max_calls - self._running

    def lose_call(self, call_id: str) -> None:
        """Another instance has ``call_id``: stop controlling it, leave it up."""
        call, scope = self._active.get(call_id), self._scopes.get(call_id)
        if call is not None and scope is not None:
            call._handing_over = True
            scope.cancel()

    def resume_call(self, leased: LeasedCall, event: RealtimeCallIncoming) -> bool:
        """Run a call taken over: set up from the start if only claimed, else resumed."""
        if self._closing or self._nursery is None or self._runner is None:
            return False
        if leased.call_id not in self._active:
            call = IncomingCall(
                event,
                webhook_id=leased.webhook_id,
                calls=self._runner.calls,
                resumed=leased.state != "claimed",
            )
            self._launch(self._nursery, self._runner, call)
        return True

    def _retire(self, call: IncomingCall) -> None:
        counters = self._counters
        if call.outcome is CallOutcome.REJECTED:
            counters.calls_rejected += 1
        elif call.outcome is CallOutcome.FAILED:
            counters.calls_failed += 1
        elif call.outcome is CallOutcome.HANDED_OVER:
            counters.calls_handed_over += 1
        self._active.pop(call.call_id, None)
        if self._keep_ended:
            self._ended[call.call_id] = call
            while len(self._ended) > self._keep_ended:
                self._ended.popitem(last=False)
        call._finish()
        logger.info(
            "call %s ended: %s",
            call.call_id,
            call.outcome.value if call.outcome is not None else "unknown",
        )
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()


class _ReadOnly(Mapping[str, IncomingCall]):
    """A live, read-only view of a dict of calls."""

    def __init__(self, data: dict[str, IncomingCall]) -> None:
        self._data = data

    def __getitem__(self, key: str) -> IncomingCall:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._data))

    def __len__(self) -> int:
        return len(self._data)


@asynccontextmanager
@takes_options(SipServerOptions, SIP_SERVER_DEFAULTS)
async def open_sip_server(
    handler: CallHandler, **options: Unpack[SipServerOptions]
) -> AsyncIterator[SipCallServer]:
    """Run a `SipCallServer` for the duration of the block.

    Entering blocks until the port is bound (`SipCallServer.url` is then
    valid). Exiting shuts the server down as `SipCallServer.aclose` does:
    every call's tasks end (calls still up are hung up), bounded by
    ``close_timeout`` per call. Both are checkpoints. Exactly one exception
    comes out, never a group: your own, `KeyboardInterrupt`, or one error of
    the server (such as `OSError` when the port is taken).

    Args:
        handler: ``async def handler(call: IncomingCall) -> None``.
        options: The keyword options of `SipCallServer`.
    """
    server = SipCallServer(handler, **options)
    async with open_hidden_nursery() as nursery:
        await nursery.start(server.serve)
        try:
            yield server
        finally:
            await server.aclose()


@takes_options(SipServerOptions, SIP_SERVER_DEFAULTS)
async def serve_sip(
    handler: CallHandler,
    *,
    task_status: trio.TaskStatus[SipCallServer] = trio.TASK_STATUS_IGNORED,
    **options: Unpack[SipServerOptions],
) -> None:
    """Run a `SipCallServer` until cancelled, in a nursery of yours.

    ::

        server = await nursery.start(functools.partial(serve_sip, handler, port=8000))

    Hands the server (with its `~SipCallServer.url`) to ``task_status`` once
    listening. Cancel the nursery, or call `SipCallServer.aclose`, to shut it
    down.

    Args:
        handler: ``async def handler(call: IncomingCall) -> None``.
        task_status: From ``nursery.start``.
        options: The keyword options of `SipCallServer`.
    """
    server = SipCallServer(handler, **options)
    await server.serve(task_status=task_status)


__all__ = [
    "SipCallServer",
    "SipServerOptions",
    "SipServerStatistics",
    "open_sip_server",
    "serve_sip",
]
