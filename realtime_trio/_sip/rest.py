"""Call control over REST: accept, reject, refer and hang up calls; client secrets; WebRTC calls.

The HTTP client is httpx: well kept, typed, and it runs on trio (through
anyio, which httpcore uses for its I/O), so these coroutines are ordinary
trio code that a cancel scope interrupts anywhere. httpx's own timeouts are
switched off: as everywhere in realtime_trio, timeouts come from the
caller's cancel scopes (``with trio.fail_after(10): await calls.accept(...)``).

The errors (`APIError`, `CallNotFoundError`, `APIRedirectError`,
`APIConnectionError`, and `RemoteProtocolError` for a 2xx answer we cannot
use) are in `.errors`. Redirects are never followed, not even by an
``http_client`` of yours made with ``follow_redirects=True``: a 3xx is
`APIRedirectError`, never success. Every header value (the API key, the
safety identifier, the ``http_client``'s default headers) is checked when
the client is made, so a key with a stray newline is refused with
`InvalidHeaderError`, which never shows it, instead of leaking into the
HTTP library's error.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any, Final, final
from urllib.parse import quote

import attrs
import httpx
import trio

from .._core import record as _record
from .._core.errors import RemoteProtocolError
from .._core.headers import check_header_value
from .._core.record import Record
from .._core.sentinel import UNSET, UnsetType
from .._core.serde import get_codec
from .._core.session_models import AnySessionConfig, SessionConfig
from .._version import __version__
from .errors import APIConnectionError, APIRedirectError, api_error

#: The REST base of the API.
DEFAULT_BASE_URL: Final = "https://api.openai.com/v1"


@attrs.frozen(kw_only=True)
class ExpiresAfter(Record):
    """When a client secret expires: ``seconds`` (10 to 7,200; default 600) after ``anchor``.

    Attributes:
        anchor: The only value the API knows is ``"created_at"``.
        seconds: The lifetime of the key.
    """

    anchor: str | UnsetType = UNSET
    seconds: int | UnsetType = UNSET


@attrs.frozen(kw_only=True)
class ClientSecret(Record):
    """An ephemeral key (``ek_...``) for a browser or phone client, as minted by the API.

    Its ``repr`` hides the key, so logging the object does not leak it.

    Attributes:
        value: The key itself: hand it to the client, never log it.
        expires_at: Unix seconds after which no new session can start with it
            (a session already started goes on).
        session: The session configuration bound to the key, as the server
            reports it (a `SessionConfig` for a realtime session).
    """

    value: str
    expires_at: int
    session: AnySessionConfig

    def __repr__(self) -> str:
        return f"ClientSecret(value='ek_...', expires_at={self.expires_at})"


@attrs.frozen
class CreatedCall:
    """A WebRTC call created by `CallsClient.create_call`.

    Attributes:
        call_id: The call's id (the last segment of ``Location``): attach a
            sideband with ``open_realtime(call_id=...)``, hang up with
            `CallsClient.hangup`.
        sdp_answer: The SDP answer, for the browser's ``setRemoteDescription``.
        location: The ``Location`` header as sent.
    """

    call_id: str
    sdp_answer: str
    location: str


@final
class CallsClient:
    """REST client for call control, client secrets and WebRTC call creation.

    Use it as an async context manager (it owns an ``httpx.AsyncClient``,
    with its connection pool, unless you pass one)::

        async with CallsClient() as calls:
            with trio.fail_after(10):
                await calls.accept(call_id, SessionConfig(instructions="Be brief."))

    Every method is a checkpoint and can be cancelled (bound it with your own
    cancel scope: the client has no timeouts of its own). A cancelled request
    may or may not have reached the API.

    Redirects (HTTP 3xx) are never followed and never taken for success:
    they raise `APIRedirectError`.

    Args:
        api_key: A standard API key (default: ``OPENAI_API_KEY``). It is sent
            only in the ``Authorization`` header: never logged, never in a
            repr or an error message.
        base_url: The REST base, ``https://api.openai.com/v1`` by default
            (``sim.base_url`` for the local simulator).
        safety_identifier: Sent as ``OpenAI-Safety-Identifier`` with the
            requests that create sessions (client secrets, call creation).
        http_client: An ``httpx.AsyncClient`` to use instead of our own (for
            proxies, custom TLS or transports); you close it. Give it
            ``timeout=None`` to keep timeouts in your cancel scopes.

    Raises:
        InvalidHeaderError: the API key, the safety identifier or a default
            header of ``http_client`` cannot be sent as an HTTP header (a
            trailing newline, a control character...). The message says what
            is wrong and never contains the value. It is also a `ValueError`.
        ValueError: no API key.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str = DEFAULT_BASE_URL,
        safety_identifier: str | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        if not key:
            raise ValueError("no API key: pass api_key= or set OPENAI_API_KEY")
        # Check every header value now: sent as is, a bad one makes the HTTP
        # library raise an error that quotes it, API key included.
        check_header_value(
            "Authorization",
            key,
            what="the API key"
            if api_key is not None
            else "the API key (OPENAI_API_KEY)",
        )
        if safety_identifier is not None:
            check_header_value(
                "OpenAI-Safety-Identifier",
                safety_identifier,
                what="the safety identifier",
            )
        if http_client is not None:
            for name, value in http_client.headers.raw:
                header = name.decode("latin-1")
                check_header_value(
                    header,
                    value.decode("latin-1"),
                    what=f"the http_client's default header {header}",
                )
        self._key = key
        self._base = base_url.rstrip("/")
        self._safety_identifier = safety_identifier
        self._owns_client = http_client is None
        self._http = http_client or httpx.AsyncClient(
            timeout=None, follow_redirects=False
        )
        self._codec = get_codec()

    def __repr__(self) -> str:
        return f"CallsClient(base_url={self._base!r})"

    @property
    def base_url(self) -> str:
        """The REST base URL requests go to."""
        return self._base

    async def __aenter__(self) -> CallsClient:
        await trio.lowlevel.checkpoint()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client (if this object created it). Idempotent; a checkpoint."""
        if self._owns_client:
            with trio.CancelScope(shield=True):
                await self._http.aclose()
        await trio.lowlevel.checkpoint()

    # --- call control -----------------------------------------------------------

    async def accept(
        self, call_id: str, session: SessionConfig | Mapping[str, Any] | None = None
    ) -> None:
        """Accept an incoming SIP call with this session configuration.

        ``POST /realtime/calls/{call_id}/accept``. The API answers once the
        session is being set up; then attach a sideband with
        ``open_realtime(call_id=call_id)``.

        Args:
            call_id: The ``rtc_...`` id from the ``realtime.call.incoming`` webhook.
            session: The session (``type`` defaults to ``"realtime"``); None
                accepts with the API's defaults.

        Raises:
            CallNotFoundError: no such call (or it already ended).
            APIError: any other HTTP error (400 ``invalid_call_state``...).
            APIConnectionError: no answer.
        """
        body = self._session_body(session)
        await self._post(_call_path(call_id, "accept"), json_body=body)

    async def reject(self, call_id: str, *, status_code: int | None = None) -> None:
        """Reject an incoming SIP call with a SIP status (603 Decline by default).

        ``POST /realtime/calls/{call_id}/reject``; 486 (Busy Here) is the other
        usual choice.

        Raises:
            CallNotFoundError: no such call.
            APIError: any other HTTP error (the call was already accepted...).
            APIConnectionError: no answer.
        """
        body = {} if status_code is None else {"status_code": status_code}
        await self._post(_call_path(call_id, "reject"), json_body=body)

    async def refer(self, call_id: str, target_uri: str) -> None:
        """Transfer an accepted call (SIP REFER) to ``target_uri``.

        ``POST /realtime/calls/{call_id}/refer``; ``target_uri`` becomes the
        SIP ``Refer-To``, for example ``tel:+14155550123`` or
        ``sip:agent@example.com``.

        Raises:
            CallNotFoundError: no such call.
            APIError: any other HTTP error.
            APIConnectionError: no answer.
        """
        await self._post(
            _call_path(call_id, "refer"), json_body={"target_uri": target_uri}
        )

    async def hangup(self, call_id: str) -> None:
        """End a SIP or WebRTC call (``POST /realtime/calls/{call_id}/hangup``).

        Its sideband connections are then closed by the server.

        Raises:
            CallNotFoundError: no such call.
            APIError: any other HTTP error (the call already ended...).
            APIConnectionError: no answer.
        """
        await self._post(_call_path(call_id, "hangup"))

    # --- client secrets and WebRTC -------------------------------------------

    async def create_client_secret(
        self,
        *,
        session: AnySessionConfig | Mapping[str, Any] | None = None,
        expires_after: ExpiresAfter | int | None = None,
    ) -> ClientSecret:
        """Mint an ephemeral key for a browser or device (``POST /realtime/client_secrets``).

        Args:
            session: The session the key starts (a `SessionConfig`, a
                transcription config, or a dict); None for the API's defaults.
            expires_after: An `ExpiresAfter`, or a number of seconds (10 to
                7,200) after creation; None for the API's 600 s.

        Returns:
            The key, its expiry and its session. Its repr hides the key.

        Raises:
            APIError: an HTTP error (400 for an invalid session or lifetime).
            APIConnectionError: no answer.
            RemoteProtocolError: the answer is not a client secret.
        """
        body: dict[str, Any] = {}
        if session is not None:
            body["session"] = self._session_body(session)
        if isinstance(expires_after, int):
            expires_after = ExpiresAfter(anchor="created_at", seconds=expires_after)
        if expires_after is not None:
            body["expires_after"] = self._codec.dump(expires_after)
        path = "/realtime/client_secrets"
        response = await self._post(path, json_body=body, safety=True)
        data = _json(response, path)
        if not isinstance(data, dict):
            raise RemoteProtocolError(
                f"POST {path}: the answer is not a JSON object", raw=data
            )
        secret = self._codec.structure(data, ClientSecret)
        assert isinstance(secret, ClientSecret)
        if not isinstance(secret.value, str) or not isinstance(secret.expires_at, int):
            raise RemoteProtocolError(
                f"POST {path}: the answer has no value or expires_at"
            )
        return secret

    async def create_call(
        self,
        sdp_offer: str,
        *,
        session: SessionConfig | Mapping[str, Any] | None = None,
    ) -> CreatedCall:
        """Create a WebRTC call from a browser's SDP offer (``POST /realtime/calls``).

        With ``session`` the request is the multipart form of the "unified
        interface" (parts ``sdp`` and ``session``), for a server that holds the
        standard key and relays the browser's offer; without, a plain
        ``application/sdp`` body (the session then comes from the key, for
        example an ephemeral key from `create_client_secret`).

        Returns:
            The call id (from ``Location``) and the SDP answer for the browser.

        Raises:
            APIError: an HTTP error (400 ``invalid_offer``...).
            APIConnectionError: no answer.
            RemoteProtocolError: the answer has no ``Location`` with a call id.
        """
        path = "/realtime/calls"
        headers = {"Accept": "application/sdp"}
        if session is None:
            response = await self._post(
                path,
                content=sdp_offer.encode(),
                headers={**headers, "Content-Type": "application/sdp"},
                safety=True,
            )
        else:
            files = {
                "sdp": (None, sdp_offer.encode(), "application/sdp"),
                "session": (
                    None,
                    json.dumps(self._session_body(session)).encode(),
                    "application/json",
                ),
            }
            response = await self._post(path, files=files, headers=headers, safety=True)
        location = response.headers.get("location", "")
        call_id = location.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        if not call_id or call_id == "calls":
            raise RemoteProtocolError(
                f"POST {path}: the answer has no Location with a call id "
                f"(Location: {location!r})"
            )
        return CreatedCall(call_id=call_id, sdp_answer=response.text, location=location)

    # --- plumbing ---------------------------------------------------------------

    def _session_body(
        self, session: AnySessionConfig | Mapping[str, Any] | None
    ) -> dict[str, Any]:
        if session is None:
            return {"type": "realtime"}
        body = (
            self._codec.dump(session) if isinstance(session, Record) else dict(session)
        )
        body.setdefault("type", "realtime")
        return body

    async def _post(
        self,
        path: str,
        *,
        json_body: Any = None,
        content: bytes | None = None,
        files: Any = None,
        headers: Mapping[str, str] | None = None,
        safety: bool = False,
    ) -> httpx.Response:
        all_headers = {
            "Authorization": f"Bearer {self._key}",
            "User-Agent": f"realtime_trio/{__version__}",
            "Accept": "*/*",
            **(headers or {}),
        }
        if safety and self._safety_identifier is not None:
            all_headers["OpenAI-Safety-Identifier"] = self._safety_identifier
        request = self._http.build_request(
            "POST",
            self._base + path,
            json=json_body,
            content=content,
            files=files,
            headers=all_headers,
        )
        # Send the body from memory through a plain async iterator: httpx's
        # own body streams are async generators, which a cancellation in the
        # middle of sending leaves unfinished, and trio then warns when they
        # are garbage collected (encode/httpx#3686).
        request.stream = _Body(request.read())
        try:
            # Never follow a redirect, whatever the http_client says: it
            # would carry the key elsewhere, and the API never redirects.
            response = await self._http.send(request, follow_redirects=False)
        except httpx.HTTPError as exc:
            # str(exc) of httpx errors names the URL at most, never headers
            # (which the constructor checked, so h11 does not quote them).
            raise APIConnectionError(
                f"POST {path}: {type(exc).__name__}: {exc}"
            ) from exc
        if 300 <= response.status_code < 400:
            raise APIRedirectError(
                response.status_code,
                response.content,
                method="POST",
                path=path,
                request_id=response.headers.get("x-request-id"),
                location=response.headers.get("location"),
            )
        if response.status_code >= 400:
            raise api_error(
                response.status_code,
                response.content,
                method="POST",
                path=path,
                request_id=response.headers.get("x-request-id"),
            )
        return response


class _Body(httpx.AsyncByteStream):
    """A request body held in memory, iterated without an async generator."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def __aiter__(self) -> _BodyIterator:
        return _BodyIterator(self._data)


class _BodyIterator:
    def __init__(self, data: bytes) -> None:
        self._data: bytes | None = data

    def __aiter__(self) -> _BodyIterator:
        return self

    async def __anext__(self) -> bytes:
        data, self._data = self._data, None
        if not data:
            raise StopAsyncIteration
        return data


def _call_path(call_id: str, action: str) -> str:
    if not call_id:
        raise ValueError("call_id must not be empty")
    return f"/realtime/calls/{quote(call_id, safe='')}/{action}"


def _json(response: httpx.Response, path: str) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise RemoteProtocolError(
            f"POST {path}: the answer is not JSON", raw=response.content
        ) from exc


def _resolve_annotations() -> None:
    # Resolve the string annotations now, against a namespace that has the
    # names `Record`'s own annotations use (its ``__module__`` is renamed by
    # the public namespaces, so lazy resolution would look in the wrong place).
    namespace = {**vars(_record), **globals()}
    for cls in (ExpiresAfter, ClientSecret):
        attrs.resolve_types(cls, globalns=namespace)


_resolve_annotations()

__all__ = [
    "CallsClient",
    "ClientSecret",
    "CreatedCall",
    "DEFAULT_BASE_URL",
    "ExpiresAfter",
]
