"""Correlated requests: which server event answers which client request (no trio here).

The helpers of a connection (`update_session`, `create_item`,
`create_response`, `commit_audio`, `clear_audio`, `cancel_response`) each
send one event and wait for the server's answer. This module builds those
events and decides, for every event received, which pending request (if any)
it answers; the trio shell only sends, waits, and wakes.

How an answer is matched:

* An ``error`` answers the request whose ``event_id`` it names
  (``error.event_id``): the request fails with the error the shell makes of
  it (`ServerError`). Every request gets an ``event_id`` for this.
* Any other event answers the oldest pending request that expects it
  (`Expectation`): by its type, and where several requests could be waiting
  for the same type, by what identifies the request in the answer: the item's
  ``id`` (`create_item` gives an item without one a fresh id), the
  ``realtime_trio_request`` tag the server echoes in ``response.metadata``
  (`create_response`), the response's ``id`` (`cancel_response`).
* A message that is not a valid event (`InvalidEvent`) answers as far as it
  can be read, by the same rules applied to its ``type`` and ids; the request
  then fails with `RemoteProtocolError` instead of waiting forever.
* An event answers at most one request; events that answer none are only
  delivered to the consumer, as every event is.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, Final, Generic, TypeVar, cast

import attrs

from . import server_events as sev
from .client_events import (
    ClientEvent,
    ConversationItemCreate,
    InputAudioBufferClear,
    InputAudioBufferCommit,
    ResponseCancel,
    ResponseCreate,
    SessionUpdate,
)
from .invalid import InvalidEvent, ReceivedEvent, answer_error
from .item_models import ConversationItem
from .response_models import ResponseCreateParams
from .sentinel import UNSET, UnsetType
from .serde import EventCodec
from .session_models import AnySessionConfig

#: The ``response.metadata`` key that tags the responses `create_response` asks for.
REQUEST_METADATA_KEY: Final = "realtime_trio_request"
#: The API's limit on ``metadata`` pairs.
MAX_METADATA_KEYS: Final = 16

T = TypeVar("T")


@attrs.frozen(eq=False)
class Expectation(Generic[T]):
    """What answers one request: an event of one of ``types`` that passes the tests.

    Attributes:
        types: The event classes of the answer (``T`` is their union).
        test: A further test of a valid event of those types (None: any).
        invalid_test: The same test, of an `InvalidEvent` of those types
            (it reads the ids through `InvalidEvent.lookup`; None: any).
    """

    types: tuple[type[sev.ServerEvent], ...]
    test: Callable[[T], bool] | None = None
    invalid_test: Callable[[InvalidEvent], bool] | None = None

    def matches(self, event: ReceivedEvent) -> bool:
        """Whether ``event`` answers the request."""
        if isinstance(event, InvalidEvent):
            return any(event.type == cls.TYPE for cls in self.types) and (
                self.invalid_test is None or self.invalid_test(event)
            )
        return isinstance(event, self.types) and (
            self.test is None or self.test(cast(T, event))
        )


@attrs.frozen(eq=False)
class Request(Generic[T]):
    """A client event to send and what answers it.

    Attributes:
        event: The event, with its ``event_id`` set.
        expects: What answers it.
    """

    event: ClientEvent
    expects: Expectation[T]

    @property
    def event_id(self) -> str:
        """The ``event_id`` an ``error`` about this request names."""
        return cast(str, self.event.event_id)


@attrs.define(eq=False)
class PendingRequest(Generic[T]):
    """A request sent and not yet answered (see `PendingRequests.add`)."""

    event_id: str
    expects: Expectation[T]
    #: Called once, when the request is settled (answered or failed).
    wake: Callable[[], object]
    answer: T | None = None
    error: BaseException | None = None
    done: bool = False

    def result(self) -> T:
        """The answer, or raise the error. Only once `done`."""
        assert self.done, "the request is still pending"
        if self.error is not None:
            raise self.error
        return cast(T, self.answer)


class PendingRequests:
    """The requests waiting for their answers, in the order they were sent.

    Args:
        rejection: Makes the error a request fails with when an ``error``
            event names it (the shell's `ServerError`).
    """

    __slots__ = ("_pending", "_rejection")

    def __init__(self, rejection: Callable[[sev.ErrorEvent], BaseException]) -> None:
        self._rejection = rejection
        self._pending: list[PendingRequest[Any]] = []

    def __bool__(self) -> bool:
        return bool(self._pending)

    def __len__(self) -> int:
        return len(self._pending)

    def add(
        self, event_id: str, expects: Expectation[T], wake: Callable[[], object]
    ) -> PendingRequest[T]:
        """Start waiting for the answer to the request ``event_id``."""
        request = PendingRequest(event_id, expects, wake)
        self._pending.append(request)
        return request

    def discard(self, request: PendingRequest[Any]) -> None:
        """Stop waiting (the waiter was cancelled); harmless once settled."""
        if request in self._pending:
            self._pending.remove(request)

    def answer(self, event: ReceivedEvent) -> PendingRequest[Any] | None:
        """Settle the request ``event`` answers, if any, and return it."""
        if isinstance(event, InvalidEvent):
            if event.type == sev.ErrorEvent.TYPE:
                request = self._named(event.lookup("error", "event_id"))
            else:
                request = self._expecting(event)
            if request is not None:
                self._settle(request, error=answer_error(event))
            return request
        if isinstance(event, sev.ErrorEvent):
            request = self._named(event.error.event_id)
            if request is not None:
                self._settle(request, error=self._rejection(event))
            return request
        request = self._expecting(event)
        if request is not None:
            self._settle(request, answer=event)
        return request

    def fail_all(self, error: BaseException) -> None:
        """Fail every pending request with ``error`` (the connection ended)."""
        pending, self._pending = self._pending, []
        for request in pending:
            self._settle(request, error=error)

    def _named(self, event_id: object) -> PendingRequest[Any] | None:
        for request in self._pending:
            if request.event_id == event_id:
                return request
        return None

    def _expecting(self, event: ReceivedEvent) -> PendingRequest[Any] | None:
        for request in self._pending:
            if request.expects.matches(event):
                return request
        return None

    def _settle(
        self,
        request: PendingRequest[Any],
        *,
        answer: object = None,
        error: BaseException | None = None,
    ) -> None:
        self.discard(request)
        request.answer = answer
        request.error = error
        request.done = True
        request.wake()


# --- the requests of the helpers ------------------------------------------------


def update_session(
    event_id: str, config: AnySessionConfig | Mapping[str, Any], codec: EventCodec
) -> Request[sev.SessionUpdated]:
    """``session.update``, answered by ``session.updated`` (a dict is converted first)."""
    session: AnySessionConfig = (
        codec.structure(dict(config), AnySessionConfig)  # type: ignore[arg-type]
        if isinstance(config, Mapping)
        else config
    )
    return Request(
        SessionUpdate(event_id=event_id, session=session),
        Expectation((sev.SessionUpdated,)),
    )


AddedItem = sev.ConversationItemAdded | sev.ConversationItemCreated


def create_item(
    event_id: str,
    item: ConversationItem,
    previous_item_id: str | UnsetType | None = UNSET,
) -> Request[AddedItem]:
    """``conversation.item.create``, answered by the ``added`` (or ``created``) of that item.

    An item without an ``id`` gets a fresh one, so that the answer can be
    told from another item's.
    """
    if getattr(item, "id", UNSET) is UNSET and hasattr(item, "id"):
        item = attrs.evolve(item, id=f"item_{os.urandom(8).hex()}")  # type: ignore[arg-type]
    item_id = getattr(item, "id", None)

    def same_item(event: AddedItem) -> bool:
        return getattr(event.item, "id", None) == item_id

    def same_item_invalid(event: InvalidEvent) -> bool:
        return event.item_id == item_id

    return Request(
        ConversationItemCreate(
            event_id=event_id, item=item, previous_item_id=previous_item_id
        ),
        Expectation(
            (sev.ConversationItemAdded, sev.ConversationItemCreated),
            same_item,
            same_item_invalid,
        ),
    )


def create_response(
    event_id: str, params: ResponseCreateParams | None = None
) -> Request[sev.ResponseCreated]:
    """``response.create``, answered by the ``response.created`` of that response.

    The request is tagged in ``response.metadata`` under
    `REQUEST_METADATA_KEY` (its ``event_id``), which the server echoes. If
    ``metadata`` is ``None`` or already holds `MAX_METADATA_KEYS` keys, it
    cannot be tagged and the first ``response.created`` answers.
    """
    params = params if params is not None else ResponseCreateParams()
    metadata = params.metadata
    tagged = metadata is UNSET or (
        isinstance(metadata, Mapping) and len(metadata) < MAX_METADATA_KEYS
    )
    event = ResponseCreate(event_id=event_id, response=params)
    if not tagged:
        return Request(event, Expectation((sev.ResponseCreated,)))
    base = dict(metadata) if isinstance(metadata, Mapping) else {}
    event = ResponseCreate(
        event_id=event_id,
        response=attrs.evolve(
            params, metadata={**base, REQUEST_METADATA_KEY: event_id}
        ),
    )

    def tag_of(echoed: object) -> bool:
        return (
            isinstance(echoed, Mapping) and echoed.get(REQUEST_METADATA_KEY) == event_id
        )

    return Request(
        event,
        Expectation(
            (sev.ResponseCreated,),
            lambda created: tag_of(created.response.metadata),
            lambda invalid: tag_of(invalid.lookup("response", "metadata")),
        ),
    )


def commit_audio(event_id: str) -> Request[sev.InputAudioBufferCommitted]:
    """``input_audio_buffer.commit``, answered by ``input_audio_buffer.committed``."""
    return Request(
        InputAudioBufferCommit(event_id=event_id),
        Expectation((sev.InputAudioBufferCommitted,)),
    )


def clear_audio(event_id: str) -> Request[sev.InputAudioBufferCleared]:
    """``input_audio_buffer.clear``, answered by ``input_audio_buffer.cleared``."""
    return Request(
        InputAudioBufferClear(event_id=event_id),
        Expectation((sev.InputAudioBufferCleared,)),
    )


def cancel_response(
    event_id: str,
    response_id: str | UnsetType = UNSET,
    *,
    default_response_id: str | None,
) -> Request[sev.ResponseDone]:
    """``response.cancel``, answered by the ``response.done`` of the cancelled response.

    Without ``response_id`` the server cancels the response in progress in
    the default conversation: ``default_response_id`` if it is known, and the
    next ``response.done`` of a response in a conversation (not an
    out-of-band one) if not.
    """
    target = response_id if isinstance(response_id, str) else default_response_id

    def is_target(done: sev.ResponseDone) -> bool:
        if target is not None:
            return done.response.id == target
        return isinstance(done.response.conversation_id, str)

    def is_target_invalid(done: InvalidEvent) -> bool:
        if target is not None:
            return done.response_id == target
        return isinstance(done.lookup("response", "conversation_id"), str)

    return Request(
        ResponseCancel(event_id=event_id, response_id=response_id),
        Expectation((sev.ResponseDone,), is_target, is_target_invalid),
    )
