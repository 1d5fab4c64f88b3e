"""Record connections as JSONL, and serve a recording back as a scenario.

The recording format
--------------------
One JSON object per line, in the order the events passed::

    {"t": 0.0, "direction": "server", "event": {"type": "session.created", ...}}
    {"t": 0.012, "direction": "client", "event": {"type": "input_audio_buffer.append", "audio": ""},
     "elided": {"audio": 4800}}
    {"t": 1.5, "direction": "server", "close": {"code": 1000, "reason": ""}}

``t`` is seconds since the recorder started, on a monotonic clock, at the
clock's full precision (so that a replay keeps the order, and under a mock
clock the exact times, of events a hair apart);
``direction`` is ``"client"`` (sent by the client) or ``"server"``. With
``elide_audio`` the base64 audio payloads (``input_audio_buffer.append``'s
``audio``, ``response.output_audio.delta``'s ``delta`` and the ``audio`` of
content parts) are replaced by ``""`` and ``elided`` maps their paths to the
number of audio bytes that were there. A ``close`` line records the end of
the connection (``direction`` says who closed it).

Replay
------
`Replay` serves a recording back, following the recording's own causality:
on connect it sends the server events recorded before the first client
event; then each client event *matches* the next recorded client event of
the same type (recorded client events skipped on the way are dropped, with
what they were answered), and the server events recorded after that one
(up to the next recorded client event) are sent as many seconds after the
match as the recording has between them and it (the difference of their
``t``), on the trio clock, and never before the events recorded earlier. So a reply that arrived 0.3 s after a client event
arrives 0.3 s after the client sends it again, and a barge-in replays as it
happened. Under ``trio.testing.MockClock(autojump_threshold=0)`` these
delays cost no wall time. A client event with no recorded match left is
ignored, or answered with an ``error`` event when ``unrecorded="error"``.
A strict replay (``strict=True``, as the test driver's) also matches by
content: a client event unlike the recorded one is unrecorded too.
Appends are matched by audio bytes rather than by count, so the client may
chunk its audio differently: a recorded append is matched when the client
has appended at least as many bytes in total. Elided audio comes back as
silence of the recorded length. A recorded server close is replayed as a
close.

Ids that a client makes up (``event_id``, the ``id`` of an item it creates,
the ``realtime_trio_request`` tag of ``response.metadata``, ...) differ from
run to run. Each client event that matches a recorded one maps the recorded
ids to the client's, and the server events released carry the client's ids
(see `replay_session`), so a recording made through the connection's
helpers replays through them.
"""

from __future__ import annotations

import copy
import json
import os
import time
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import IO, Any, Literal, Self

import attrs

from ..._audio.b64 import encode_audio
from ..._core.record import Record
from ..._core.serde import get_codec

Direction = Literal["client", "server"]
_AUDIO_PARTS = frozenset({"input_audio", "output_audio", "audio"})


def _b64_len(text: str) -> int:
    return len(text) * 3 // 4 - text[-2:].count("=") if text else 0


def _elide_parts(obj: Any, path: str, elided: dict[str, int]) -> None:
    if isinstance(obj, dict):
        if obj.get("type") in _AUDIO_PARTS and isinstance(obj.get("audio"), str):
            elided[f"{path}.audio" if path else "audio"] = _b64_len(obj["audio"])
            obj["audio"] = ""
        for key, value in obj.items():
            _elide_parts(value, f"{path}.{key}" if path else key, elided)
    elif isinstance(obj, list):
        for index, value in enumerate(obj):
            _elide_parts(value, f"{path}[{index}]", elided)


def elide_audio(event: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, int]]:
    """Return a copy of ``event`` without audio payloads, and what was elided."""
    copied = copy.deepcopy(dict(event))
    elided: dict[str, int] = {}
    kind = copied.get("type")
    if kind == "input_audio_buffer.append" and isinstance(copied.get("audio"), str):
        elided["audio"] = _b64_len(copied["audio"])
        copied["audio"] = ""
    elif kind == "response.output_audio.delta" and isinstance(copied.get("delta"), str):
        elided["delta"] = _b64_len(copied["delta"])
        copied["delta"] = ""
    for key in ("item", "response"):
        if key in copied:
            _elide_parts(copied[key], key, elided)
    return copied, elided


class Recorder:
    """Writes the events of one connection as JSONL (see the module docstring).

    A small synchronous object: call `record` for every event sent or
    received, `record_close` at the end, and `close` (or use it as a context
    manager). Writing never blocks on the network; it is buffered file I/O.

    Args:
        target: A path, or a text file opened for writing (not closed by
            `close`).
        elide_audio: Replace audio payloads by their length.
        clock: The monotonic clock of ``t`` (``time.monotonic`` by default;
            the simulator passes ``trio.current_time``).
    """

    def __init__(
        self,
        target: str | os.PathLike[str] | IO[str],
        *,
        elide_audio: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if isinstance(target, str | os.PathLike):
            self._file: IO[str] = open(target, "w", encoding="utf-8")  # noqa: SIM115
            self._owned = True
        else:
            self._file = target
            self._owned = False
        self.elide_audio = elide_audio
        self._clock = clock
        self._start = clock()
        self.closed = False

    def _write(self, line: dict[str, Any]) -> None:
        if self.closed:
            return
        self._file.write(
            json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n"
        )

    def record(
        self, direction: Direction, event: Record | Mapping[str, Any] | str
    ) -> None:
        """Record one event (a record, a JSON object, or the text of a message)."""
        if direction not in ("client", "server"):
            raise ValueError(
                f"direction must be 'client' or 'server', not {direction!r}"
            )
        if isinstance(event, str):
            try:
                obj: Any = json.loads(event)
            except ValueError:
                obj = None
            if not isinstance(obj, dict):
                line: dict[str, Any] = {
                    "t": self._elapsed(),
                    "direction": direction,
                    "raw": event,
                }
                self._write(line)
                return
        elif isinstance(event, Mapping):
            obj = dict(event)
        else:
            obj = get_codec().dump(event)
        line = {"t": self._elapsed(), "direction": direction}
        if self.elide_audio:
            obj, elided = elide_audio(obj)
            line["event"] = obj
            if elided:
                line["elided"] = elided
        else:
            line["event"] = obj
        self._write(line)

    def record_close(
        self, code: int | None, reason: str | None, *, direction: Direction = "server"
    ) -> None:
        """Record the end of the connection, closed by ``direction``."""
        self._write(
            {
                "t": self._elapsed(),
                "direction": direction,
                "close": {"code": code, "reason": reason or ""},
            }
        )

    def _elapsed(self) -> float:
        return self._clock() - self._start

    def close(self) -> None:
        """Flush, and close the file if the recorder opened it."""
        if self.closed:
            return
        self._file.flush()
        if self._owned:
            self._file.close()
        self.closed = True

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@attrs.frozen(kw_only=True)
class RecordedEvent:
    """One line of a recording.

    Attributes:
        t: Seconds since the recording started.
        direction: ``"client"`` or ``"server"``.
        event: The event's JSON (None for ``close`` and ``raw`` lines).
        elided: Paths of elided audio and their byte counts.
        close: ``(code, reason)`` for a close line.
        raw: The text of a message that was not a JSON object.
    """

    t: float
    direction: str
    event: Mapping[str, Any] | None = None
    elided: Mapping[str, int] = attrs.field(factory=dict)
    close: tuple[int | None, str] | None = None
    raw: str | None = None

    @property
    def type(self) -> str | None:
        """The event's ``type``, if it is an event."""
        kind = self.event.get("type") if self.event is not None else None
        return kind if isinstance(kind, str) else None

    def restored(self, silence: Callable[[int], bytes]) -> dict[str, Any]:
        """The event with elided audio put back as ``silence(nbytes)``."""
        assert self.event is not None
        obj = copy.deepcopy(dict(self.event))
        for path, nbytes in self.elided.items():
            _set_path(obj, path, encode_audio(silence(nbytes)))
        return obj


def _set_path(obj: Any, path: str, value: str) -> None:
    parts: list[str | int] = []
    for piece in path.replace("[", ".[").split("."):
        if piece.startswith("["):
            parts.append(int(piece[1:-1]))
        elif piece:
            parts.append(piece)
    for part in parts[:-1]:
        obj = obj[part]
    obj[parts[-1]] = value


def parse_recording(lines: Iterable[str]) -> list[RecordedEvent]:
    """Parse the lines of a JSONL recording (blank lines are skipped).

    Raises:
        ValueError: A line is not a recording line.
    """
    events = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            event = obj.get("event")
            if event is not None and not isinstance(event, dict):
                raise ValueError("its event is not a JSON object")
            close = obj.get("close")
            events.append(
                RecordedEvent(
                    t=float(obj["t"]),
                    direction=str(obj["direction"]),
                    event=event,
                    elided=obj.get("elided") or {},
                    close=None
                    if close is None
                    else (close.get("code"), close.get("reason") or ""),
                    raw=obj.get("raw"),
                )
            )
        except KeyError as exc:
            raise ValueError(
                f"line {number} is not a recording line: it has no {exc.args[0]!r}"
            ) from exc
        except (ValueError, TypeError, AttributeError) as exc:
            raise ValueError(f"line {number} is not a recording line: {exc}") from exc
    return events


def load_recording(path: str | os.PathLike[str]) -> list[RecordedEvent]:
    """Read a JSONL recording written by `Recorder`."""
    with open(path, encoding="utf-8") as file:
        return parse_recording(file)


def _events(events: Iterable[RecordedEvent]) -> tuple[RecordedEvent, ...]:
    return tuple(events)


@attrs.frozen(kw_only=True)
class Replay:
    """A scenario that serves a recorded connection back (see the module docstring).

    Attributes:
        events: The recording.
        unrecorded: What a client event the rest of the recording does not
            contain gets: ``"ignore"`` (the default: nothing, so a client
            may send more than it did when recorded) or ``"error"`` (an
            ``error`` event with code ``replay_unrecorded_event`` and the
            client's ``event_id``, so that a helper waiting for an answer
            raises `ServerError` instead of waiting).
        strict: Match a client event only by its like in content too, not
            in type only: the same event once the ids its client made up are
            set aside (and the fields the server echoes, such as a
            truncation's ``audio_end_ms``), its audio compared by length; and
            the client's appended audio byte for byte with the recorded audio
            (not when the recording left the audio out). An event that
            differs is unrecorded, and the session's ``mismatch`` says what
            differs first. The test driver replays strictly.
    """

    events: tuple[RecordedEvent, ...] = attrs.field(converter=_events)
    unrecorded: Literal["ignore", "error"] = attrs.field(
        default="ignore", validator=attrs.validators.in_(("ignore", "error"))
    )
    strict: bool = False

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        *,
        unrecorded: Literal["ignore", "error"] = "ignore",
        strict: bool = False,
    ) -> Replay:
        """Read a JSONL recording."""
        return cls(events=load_recording(path), unrecorded=unrecorded, strict=strict)
