"""`InvalidEvent`: a server message that is not a valid event (no trio here).

A message that is not JSON, or does not fit its record (a wrong-typed field,
say), must not end the consumer's loop: the protocol turns the codec's
`RemoteProtocolError` into an `InvalidEvent`, which the connection delivers
in the event stream where the event would have been. It keeps the message
as received and the error, plus what could still be read from it (the
``type`` and the usual ids), so that the protocol state can apply it (a
malformed ``response.done`` still ends its response) and a helper waiting
for it can fail instead of waiting forever.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeAlias

import attrs

from .errors import RemoteProtocolError
from .server_events import ServerEvent, UnknownEvent


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}..."


@attrs.frozen(kw_only=True)
class InvalidEvent:
    """A server message that is not a valid event, delivered in its place.

    The connection yields it where the event would have been (with
    ``strict=True`` it raises `error` instead), and the events after it keep
    coming. It is not a wire record: it cannot be dumped or sent.

    Attributes:
        type: The wire ``type``, if the message is a JSON object with a
            string ``type``; else None (not JSON, not an object, no type).
        raw: The message exactly as received (``bytes`` for a binary frame).
        error: The `RemoteProtocolError` that says what is wrong; for a field
            that does not fit, its message names the event type and the
            field's path (also on ``error.path``).
        data: The decoded JSON object, when the message is one (else None).
        event_id: The server's ``event_id``, when it is a string.
        response_id: ``response_id``, or else ``response.id`` (as in
            ``response.created`` and ``response.done``), when it is a string.
        item_id: ``item_id``, or else ``item.id`` (as in
            ``conversation.item.added``), when it is a string.
    """

    type: str | None
    raw: str | bytes = attrs.field(repr=_short)
    error: RemoteProtocolError
    data: Mapping[str, Any] | None = attrs.field(default=None, repr=False, hash=False)
    event_id: str | None = None
    response_id: str | None = None
    item_id: str | None = None

    def lookup(self, *path: str) -> Any:
        """The value at ``path`` in `data` (``lookup("response", "status")``), or None.

        None too when the message was not a JSON object or a step of the path
        is not an object.
        """
        value: Any = self.data
        for key in path:
            if not isinstance(value, Mapping):
                return None
            value = value.get(key)
        return value


#: What `RealtimeConnection.receive` returns: a server event, an event of a
#: type this version does not know, or a message that is not a valid event.
ReceivedEvent: TypeAlias = ServerEvent | UnknownEvent | InvalidEvent


def invalid_event(
    message: str | bytes,
    error: RemoteProtocolError,
    loads: Callable[[str | bytes], Any],
) -> InvalidEvent:
    """Make the `InvalidEvent` of ``message``, which failed to parse with ``error``.

    ``loads`` decodes JSON and raises `RemoteProtocolError` when it cannot
    (`EventCodec.loads`). Never raises.
    """
    try:
        obj = loads(message)
    except RemoteProtocolError:
        obj = None
    if type(obj) is not dict:
        return InvalidEvent(type=None, raw=message, error=error)
    return InvalidEvent(
        type=_string(obj.get("type")),
        raw=message,
        error=error,
        data=obj,
        event_id=_string(obj.get("event_id")),
        response_id=_id(obj, "response_id", "response"),
        item_id=_id(obj, "item_id", "item"),
    )


def _string(value: object) -> str | None:
    return value if type(value) is str else None


def _id(obj: Mapping[str, Any], key: str, parent: str) -> str | None:
    """``obj[key]`` or else ``obj[parent]["id"]``, whichever is a string first."""
    found = _string(obj.get(key))
    if found is None:
        nested = obj.get(parent)
        if type(nested) is dict:
            found = _string(nested.get("id"))
    return found


def is_event(event: ReceivedEvent, *classes: type[ServerEvent]) -> bool:
    """Whether ``event`` is one of ``classes``, or an `InvalidEvent` of one of their types."""
    if isinstance(event, InvalidEvent):
        return any(event.type == cls.TYPE for cls in classes)
    return isinstance(event, classes)


def answer_error(event: InvalidEvent) -> RemoteProtocolError:
    """The error a request raises when its answer is ``event``.

    A fresh error, so that the one on the event (which the consumer may
    raise too, or see raised with ``strict=True``) keeps its own traceback.
    """
    error = event.error
    return RemoteProtocolError(
        f"the answer was not a valid event: {error}",
        event_type=error.event_type,
        path=error.path,
        raw=error.raw,
    )
