"""A ready SIP call server: webhook in, accepted call with a sideband out, your handler in between.

Theory of operation
-------------------

::

    SipCallServer.serve ── CallsClient (httpx pool, closed last)
      └ nursery  (cancelling it is the shutdown)
          ├ hypercorn.trio.serve(_WebhookApp)     HTTP/1.1 + h2 on one port
          │    POST {path}: read ≤ max_body_size → verify_webhook (signature,
          │    timestamp, de-duplication) → start the call's task → 200 at once
          └ one task per call: _run_call
               decide (or default Accept) ─┐ bounded by setup_timeout
               accept (REST)  ─────────────┘ or reject (REST)
               open_realtime(call_id=...)     the sideband, with the 404 retry
               await handler(call)            the user's code
               finally: hang up if the call is still up (shielded, close_timeout)

The webhook endpoint never waits for a call: OpenAI retries deliveries that
are not answered with a 2xx within a few seconds, so verification is the only
work done before answering, and the call runs in the server's nursery, not
in the HTTP request's task. Every call task catches its own ``Exception``\\ s
(a failing handler is logged, with the call id only, and its call hung up),
so one call can never end another or the server; ``Cancelled`` and
``KeyboardInterrupt`` pass through, and shutdown is just cancellation: each
call's sideband closes (bounded by the connection's ``close_timeout``) and
the call is hung up (shielded, bounded by our ``close_timeout``).

Why hypercorn: it is a maintained, typed ASGI server with a native trio
worker (no asyncio bridge), built on the sans-IO h11/h2/wsproto stack; a raw
ASGI callable needs no web framework for one endpoint (docs/guide/sip.rst).
"""

from __future__ import annotations

import functools
import logging
import math
import os
import socket
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from typing import Any, Final, TypedDict, Unpack, final

import attrs
import httpx
import hypercorn.config
import hypercorn.trio
import trio
from hypercorn.typing import ASGIReceiveCallable, ASGISendCallable, Scope

from .._client.open import open_realtime
from .._client.unwrap import open_hidden_nursery
from .._core.session_models import SessionConfig
from .._webhooks.dedup import MemoryWebhookIdStore, WebhookIdStore
from .._webhooks.events import (
    DuplicateWebhookError,
    RealtimeCallIncoming,
    verify_webhook,
)
from .._webhooks.signature import (
    DEFAULT_TOLERANCE,
    InvalidSecretError,
    WebhookVerificationError,
    secret_key,
)
from .call import (
    Accept,
    CallHandler,
    CallOutcome,
    Decider,
    IncomingCall,
    Reject,
    classify_close,
    logger,
    outcome_of_error,
)
from .rest import (
    DEFAULT_BASE_URL,
    APIConnectionError,
    APIError,
    CallNotFoundError,
    CallsClient,
)

#: The default largest webhook body accepted (OpenAI's are a few KiB).
DEFAULT_MAX_BODY_SIZE: Final = 1 * 2**20
#: The SIP status of calls rejected because the server is full.
BUSY_STATUS: Final = 486
#: The SIP status of calls rejected because deciding failed or took too long.
UNAVAILABLE_STATUS: Final = 480
#: Seconds a client may take to send a webhook's body (a slow sender holds a task).
BODY_TIMEOUT: Final = 10.0
#: Seconds hypercorn waits for each read (slow headers, stalled connections).
READ_TIMEOUT: Final = 30
#: Sideband close codes after which the call is surely over (no hang-up needed).
CLEAN_CLOSE_CODES: Final = frozenset({1000, 1001})

_http_logger = logging.getLogger("realtime_trio.sip.http")


class SipServerOptions(TypedDict, total=False):
    """The keyword options of `SipCallServer` (also taken by `open_sip_server` and `serve_sip`)."""

    webhook_secret: str | None
    api_key: str | None
    api_base_url: str
    realtime_url: str | None
    host: str
    port: int
    path: str
    decide: Decider | None
    session: SessionConfig | Mapping[str, Any] | None
    store: WebhookIdStore | None
    tolerance: float
    max_concurrent_calls: int
    setup_timeout: float
    close_timeout: float
    hangup_on_shutdown: bool
    attach_attempts: int
    attach_backoff: float
    connect_timeout: float
    safety_identifier: str | None
    max_body_size: int
    http_client: httpx.AsyncClient | None
    keep_ended_calls: int


@attrs.frozen
class SipServerStatistics:
    """A snapshot of a `SipCallServer`'s counters (see `SipCallServer.statistics`).

    Attributes:
        active_calls: Calls being decided, set up or handled now.
        calls_received: Calls announced by a verified, new webhook.
        calls_accepted: Calls accepted over REST.
        calls_rejected: Calls rejected (by a decision, or busy).
        calls_failed: Calls whose setup or handler failed.
        webhooks_received: POSTs to the webhook path.
        webhooks_invalid: Deliveries refused with 4xx (forged, tampered, stale, malformed, too big).
        webhooks_duplicate: Authentic deliveries seen before (answered 200, not acted on).
        webhooks_ignored: Authentic deliveries of other event types (answered 200).
    """

    active_calls: int
    calls_received: int
    calls_accepted: int
    calls_rejected: int
    calls_failed: int
    webhooks_received: int
    webhooks_invalid: int
    webhooks_duplicate: int
    webhooks_ignored: int


@attrs.define
class _Counters:
    calls_received: int = 0
    calls_accepted: int = 0
    calls_rejected: int = 0
    calls_failed: int = 0
    webhooks_received: int = 0
    webhooks_invalid: int = 0
    webhooks_duplicate: int = 0
    webhooks_ignored: int = 0


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
            ``OPENAI_WEBHOOK_SECRET``). Checked when the server is made.
        api_key: A standard API key for REST and the sideband (default:
            ``OPENAI_API_KEY``).
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
        store: Where ``webhook-id`` values are remembered (default: a new
            `~realtime_trio.webhooks.MemoryWebhookIdStore`); share one between
            instances behind a load balancer.
        tolerance: Accepted clock skew of ``webhook-timestamp``, in seconds.
        max_concurrent_calls: Calls beyond this are rejected with 486 Busy Here.
        setup_timeout: Bound on deciding plus accepting one call; past it the
            call is rejected (480) or, if the accept was sent, hung up.
        close_timeout: Bound on each cleanup request (the hang-up at the end).
        hangup_on_shutdown: Hang up calls still up when the server shuts down
            (without a sideband nobody would control them).
        attach_attempts: Sideband attempts while the API answers 404 right after accepting.
        attach_backoff: The first delay between those attempts.
        connect_timeout: Bound on each sideband attempt (handshake plus
            ``session.created``). A shutdown waits for an attempt under way.
        safety_identifier: Sent as ``OpenAI-Safety-Identifier``.
        max_body_size: The largest webhook body read (413 beyond).
        http_client: An ``httpx.AsyncClient`` for the REST calls (you close it).
        keep_ended_calls: How many ended calls `get_call` still knows.

    Raises:
        InvalidSecretError: the webhook secret is malformed.
        ValueError: no webhook secret or API key, or a bad option.
    """

    def __init__(
        self,
        handler: CallHandler,
        *,
        webhook_secret: str | None = None,
        api_key: str | None = None,
        api_base_url: str = DEFAULT_BASE_URL,
        realtime_url: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        path: str = "/webhook",
        decide: Decider | None = None,
        session: SessionConfig | Mapping[str, Any] | None = None,
        store: WebhookIdStore | None = None,
        tolerance: float = DEFAULT_TOLERANCE,
        max_concurrent_calls: int = 100,
        setup_timeout: float = 30.0,
        close_timeout: float = 5.0,
        hangup_on_shutdown: bool = True,
        attach_attempts: int = 6,
        attach_backoff: float = 0.25,
        connect_timeout: float = 10.0,
        safety_identifier: str | None = None,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        http_client: httpx.AsyncClient | None = None,
        keep_ended_calls: int = 256,
    ) -> None:
        secret = (
            webhook_secret
            if webhook_secret is not None
            else os.environ.get("OPENAI_WEBHOOK_SECRET")
        )
        if not secret:
            raise ValueError(
                "no webhook secret: pass webhook_secret= or set OPENAI_WEBHOOK_SECRET"
            )
        secret_key(secret)  # InvalidSecretError now rather than 500s later
        key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        if not key:
            raise ValueError("no API key: pass api_key= or set OPENAI_API_KEY")
        if not path.startswith("/"):
            raise ValueError(f"path must start with '/', not {path!r}")
        if max_concurrent_calls < 1 or max_body_size < 1 or keep_ended_calls < 0:
            raise ValueError(
                "max_concurrent_calls and max_body_size must be >= 1, keep_ended_calls >= 0"
            )
        if not (setup_timeout > 0 and close_timeout > 0 and connect_timeout > 0):
            raise ValueError("timeouts must be positive")
        if math.isnan(tolerance):
            raise ValueError("tolerance must be a number")
        self._handler = handler
        self._secret = secret
        self._api_key = key
        self._api_base_url = api_base_url
        self._realtime_url = realtime_url
        self._host = host
        self._port = port
        self._path = path
        self._decide = decide
        self._session = session
        self._store: WebhookIdStore = (
            store if store is not None else MemoryWebhookIdStore()
        )
        self._tolerance = tolerance
        self._max_calls = max_concurrent_calls
        self._setup_timeout = setup_timeout
        self._close_timeout = close_timeout
        self._hangup_on_shutdown = hangup_on_shutdown
        self._attach_attempts = attach_attempts
        self._attach_backoff = attach_backoff
        self._connect_timeout = connect_timeout
        self._safety_identifier = safety_identifier
        self._max_body_size = max_body_size
        self._http_client = http_client
        self._keep_ended = keep_ended_calls
        self._active: dict[str, IncomingCall] = {}
        self._ended: OrderedDict[str, IncomingCall] = OrderedDict()
        self._running = 0
        self._counters = _Counters()
        self._changed = trio.Event()
        self._calls_client: CallsClient | None = None
        self._nursery: trio.Nursery | None = None
        self._origin: str | None = None
        self._started = False
        self._closing = False
        self._stopped = trio.Event()

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
        c = self._counters
        return SipServerStatistics(
            active_calls=len(self._active),
            calls_received=c.calls_received,
            calls_accepted=c.calls_accepted,
            calls_rejected=c.calls_rejected,
            calls_failed=c.calls_failed,
            webhooks_received=c.webhooks_received,
            webhooks_invalid=c.webhooks_invalid,
            webhooks_duplicate=c.webhooks_duplicate,
            webhooks_ignored=c.webhooks_ignored,
        )

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
            async with CallsClient(
                api_key=self._api_key,
                base_url=self._api_base_url,
                safety_identifier=self._safety_identifier,
                http_client=self._http_client,
            ) as calls:
                self._calls_client = calls
                # Call tasks never raise; what can come out is a failure to
                # start (OSError: address in use) or the HTTP server's.
                async with open_hidden_nursery() as nursery:
                    self._nursery = nursery
                    binds = await nursery.start(self._serve_http)
                    self._origin = binds[0]
                    logger.info("SIP webhook endpoint listening on %s", self.url)
                    task_status.started(self)
                    await trio.sleep_forever()
        finally:
            self._closing = True
            self._stopped.set()

    async def aclose(self) -> None:
        """Shut down: stop taking webhooks, end every call's tasks, wait for them.

        Calls still up are hung up (unless ``hangup_on_shutdown=False``); each
        cleanup is bounded by ``close_timeout``. Idempotent; a checkpoint.
        """
        self._closing = True
        if self._nursery is not None:
            self._nursery.cancel_scope.cancel()
        if self._started:
            await self._stopped.wait()
        else:
            await trio.lowlevel.checkpoint()

    # --- HTTP -------------------------------------------------------------------

    async def _serve_http(
        self, *, task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED
    ) -> None:
        config = hypercorn.config.Config()
        # Bind the socket ourselves and hand hypercorn its descriptor: a bind
        # that fails then closes its socket (hypercorn's own binding leaks it).
        sock = await _bind_tcp(self._host, self._port)
        config.bind = [f"fd://{sock.detach()}"]
        config.accesslog = None
        config.errorlog = _http_logger
        config.include_server_header = False
        config.read_timeout = READ_TIMEOUT
        await hypercorn.trio.serve(
            _WebhookApp(self), config, task_status=task_status, mode="asgi"
        )

    def _handle_webhook(
        self, body: bytes, headers: list[tuple[str, str]]
    ) -> tuple[int, bytes]:
        """Verify one delivery and start its call; return the HTTP status and body.

        Synchronous on purpose: nothing here may wait, so the answer goes out
        at once whatever the calls are doing.
        """
        counters = self._counters
        try:
            event = verify_webhook(
                body,
                headers,
                self._secret,
                tolerance=self._tolerance,
                store=self._store,
            )
        except DuplicateWebhookError as exc:
            counters.webhooks_duplicate += 1
            logger.info("duplicate webhook %s ignored", exc.webhook_id)
            return 200, b"duplicate"
        except InvalidSecretError:
            logger.error("the webhook secret is invalid: check the configuration")
            return 500, b"server misconfigured"
        except WebhookVerificationError as exc:
            counters.webhooks_invalid += 1
            logger.warning("webhook refused: %s: %s", type(exc).__name__, exc)
            return 400, b"invalid webhook"
        webhook_id = _header(headers, "webhook-id") or ""
        if not isinstance(event, RealtimeCallIncoming):
            counters.webhooks_ignored += 1
            logger.debug("webhook of type %s ignored", type(event).__name__)
            return 200, b"ignored"
        if self._closing or self._nursery is None:
            self._store.forget(webhook_id)  # let OpenAI's retry reach a live instance
            return 503, b"shutting down"
        self._start_call(event, webhook_id)
        return 200, b"ok"

    # --- calls -----------------------------------------------------------------

    def _start_call(self, event: RealtimeCallIncoming, webhook_id: str) -> None:
        assert self._nursery is not None
        assert self._calls_client is not None
        call_id = event.data.call_id
        if call_id in self._active or call_id in self._ended:
            # Another delivery (another webhook-id) of a call we handle or
            # handled: acting on it would accept it twice.
            logger.info(
                "call %s announced again (webhook %s); ignored", call_id, webhook_id
            )
            return
        call = IncomingCall(event, webhook_id=webhook_id, calls=self._calls_client)
        self._active[call_id] = call
        self._counters.calls_received += 1
        busy = self._running >= self._max_calls
        if not busy:
            self._running += 1
        self._notify()
        self._nursery.start_soon(
            functools.partial(self._run_call, call, busy=busy),
            name=f"realtime_trio sip call {call_id}",
        )

    async def _run_call(self, call: IncomingCall, *, busy: bool) -> None:
        try:
            if busy:
                logger.warning(
                    "call %s rejected: %d calls in progress",
                    call.call_id,
                    self._running,
                )
                await self._reject_quietly(call, BUSY_STATUS)
            else:
                await self._call_lifecycle(call)
        except Exception as exc:  # a bug of ours: never let it end the server
            logger.exception("call %s: internal error", call.call_id)
            call._set_outcome(CallOutcome.FAILED, exc)
        finally:
            if not busy:
                self._running -= 1
            self._retire(call)

    async def _call_lifecycle(self, call: IncomingCall) -> None:
        calls = self._calls_client
        assert calls is not None
        # rejectable: nothing was sent yet that could have accepted the call.
        # accept_unknown: an accept was sent and neither succeeded nor was refused.
        rejectable = True
        accept_unknown = accepted = cancelled = False
        try:
            with trio.fail_after(self._setup_timeout):
                decision = (
                    await self._decide(call) if self._decide is not None else None
                )
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
                    decision.session if decision.session is not None else self._session
                )
                rejectable = False
                accept_unknown = True
                try:
                    await calls.accept(call.call_id, session)
                except APIError as exc:
                    # Refused: the call was not accepted. Unless it is gone,
                    # reject it rather than leave the caller ringing.
                    accept_unknown = False
                    rejectable = not isinstance(exc, CallNotFoundError)
                    raise
            accept_unknown = False
            accepted = True
            call.state = "accepted"
            self._counters.calls_accepted += 1
            logger.info("call %s accepted", call.call_id)
            async with open_realtime(
                call_id=call.call_id,
                api_key=self._api_key,
                url=self._realtime_url,
                safety_identifier=self._safety_identifier,
                attach_attempts=self._attach_attempts,
                attach_backoff=self._attach_backoff,
                connect_timeout=self._connect_timeout,
            ) as conn:
                call._attach(conn)
                try:
                    await self._handler(call)
                finally:
                    call.close_reason = conn.close_reason
            if call.outcome is None and call.close_reason is not None:
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
        calls = self._calls_client
        assert calls is not None
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
        if cancelled and not self._hangup_on_shutdown:
            return
        with trio.move_on_after(self._close_timeout, shield=True):
            try:
                await calls.hangup(call.call_id)
            except (APIError, APIConnectionError) as exc:
                logger.debug("call %s: hang-up refused: %s", call.call_id, exc)
            else:
                call._set_outcome(CallOutcome.HUNG_UP)
                logger.info("call %s hung up", call.call_id)

    async def _reject_quietly(
        self, call: IncomingCall, status: int, *, record: bool = True
    ) -> None:
        calls = self._calls_client
        assert calls is not None
        with trio.move_on_after(self._close_timeout, shield=True):
            try:
                await calls.reject(call.call_id, status_code=status)
            except (APIError, APIConnectionError) as exc:
                logger.debug("call %s: reject refused: %s", call.call_id, exc)
        if record:
            call._set_outcome(CallOutcome.REJECTED)

    def _retire(self, call: IncomingCall) -> None:
        counters = self._counters
        if call.outcome is CallOutcome.REJECTED:
            counters.calls_rejected += 1
        elif call.outcome is CallOutcome.FAILED:
            counters.calls_failed += 1
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


async def _bind_tcp(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` (not listening yet), closed if binding fails."""
    infos = await trio.socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind(address)
    except BaseException:
        sock.close()
        raise
    return sock


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    for key, value in headers:
        if key == name:
            return value
    return None


class _WebhookApp:
    """The raw ASGI application: one POST endpoint, lifespan, nothing else."""

    def __init__(self, server: SipCallServer) -> None:
        self._server = server

    async def __call__(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": ""})
            return
        status, body, extra = await self._respond(scope, receive)
        headers = [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"no-store"),
            *extra,
        ]
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": headers,
                "trailers": False,
            }
        )
        await send({"type": "http.response.body", "body": body, "more_body": False})

    async def _respond(
        self, scope: Scope, receive: ASGIReceiveCallable
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        server = self._server
        assert scope["type"] == "http"
        if scope["path"] != server._path:
            return 404, b"not found", []
        if scope["method"] != "POST":
            return 405, b"method not allowed", [(b"allow", b"POST")]
        server._counters.webhooks_received += 1
        headers = [
            (k.decode("latin-1").lower(), v.decode("latin-1"))
            for k, v in scope["headers"]
        ]
        limit = server._max_body_size
        length = _header(headers, "content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            server._counters.webhooks_invalid += 1
            return 413, b"body too large", []
        body = bytearray()
        with trio.move_on_after(BODY_TIMEOUT) as reading:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return 400, b"", []
                if message["type"] != "http.request":  # pragma: no cover
                    continue
                body += message.get("body", b"")
                if len(body) > limit:
                    server._counters.webhooks_invalid += 1
                    return 413, b"body too large", []
                if not message.get("more_body", False):
                    break
        if reading.cancelled_caught:
            server._counters.webhooks_invalid += 1
            return 408, b"body too slow", []
        try:
            status, text = server._handle_webhook(bytes(body), headers)
        except Exception:
            logger.exception("webhook handling failed")
            return 500, b"internal error", []
        return status, text, []


@asynccontextmanager
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
