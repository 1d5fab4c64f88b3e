"""A session that serves a recording back (sans-IO; see `recording` for the rules).

Ids the client made up differ from run to run: `create_item` gives an item
without one a random id, and event ids (and the ``response.metadata`` tag of
`create_response`, which is one) depend on what the client sent before. So
each client event that matches a recorded one teaches the session which of
its ids stand for which recorded ones (`CLIENT_ID_PATHS`), and every server
event it releases says the client's ids instead of the recorded ones. A
value the server only echoes from the client's request (`ECHOED_FIELDS`: the
``audio_end_ms`` of a truncation) is the client's too. A strict replay
compares what is left (`content`), and the client's audio with the recorded
audio byte for byte.
"""

from __future__ import annotations

import json
import math
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any, Final

import attrs

from ..._audio.b64 import decode_audio
from ..._core.requests import REQUEST_METADATA_KEY
from ..._core.serde import get_codec
from ..._core.server_events import ErrorEvent, ServerEvent, UnknownEvent
from .api_errors import ApiError
from .ids import IdFactory
from .outputs import Output
from .recording import RecordedEvent, Replay, elide_audio
from .response_run import ResponseRun
from .scenario import CloseConnection
from .steps import Emit

_SILENCE = {"audio/pcm": b"\x00", "audio/pcmu": b"\xff", "audio/pcma": b"\xd5"}

#: Where a client event carries an id that its client may have made up.
CLIENT_ID_PATHS: Final = (
    ("event_id",),
    ("item", "id"),
    ("previous_item_id",),
    ("item_id",),
    ("response", "metadata", REQUEST_METADATA_KEY),
)


#: Fields of a server event that echo the client event it answers, by their types:
#: the server truncates where the client said, whatever was recorded.
ECHOED_FIELDS: Final[Mapping[tuple[object, object], tuple[str, ...]]] = {
    ("conversation.item.truncate", "conversation.item.truncated"): ("audio_end_ms",),
}


def _lookup(obj: Mapping[str, Any], path: tuple[str, ...]) -> object:
    value: object = obj
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def learn_ids(
    recorded: Mapping[str, Any], sent: Mapping[str, Any], ids: dict[str, str]
) -> None:
    """Add to ``ids`` the client's id for each recorded one (`CLIENT_ID_PATHS`)."""
    for path in CLIENT_ID_PATHS:
        old, new = _lookup(recorded, path), _lookup(sent, path)
        if isinstance(old, str) and isinstance(new, str) and old != new:
            ids[old] = new


def substitute_ids(obj: Any, ids: Mapping[str, str]) -> Any:
    """``obj`` (decoded JSON) with every string that is a key of ``ids`` replaced."""
    if isinstance(obj, str):
        return ids.get(obj, obj)
    if isinstance(obj, dict):
        return {key: substitute_ids(value, ids) for key, value in obj.items()}
    if isinstance(obj, list):
        return [substitute_ids(value, ids) for value in obj]
    return obj


def _echo(obj: dict[str, Any], sent: Mapping[str, Any]) -> None:
    """Put in ``obj`` the fields it echoes of ``sent`` (`ECHOED_FIELDS`)."""
    for name in ECHOED_FIELDS.get((sent.get("type"), obj.get("type")), ()):
        if name in sent:
            obj[name] = sent[name]


def _drop(obj: dict[str, Any], path: tuple[str, ...]) -> None:
    for key in path[:-1]:
        value = obj.get(key)
        if not isinstance(value, dict):
            return
        obj = value
    obj.pop(path[-1], None)


def content(
    event: Mapping[str, Any], elided: Mapping[str, int] | None = None
) -> tuple[dict[str, Any], dict[str, int]]:
    """What a strict replay compares of a client event, and its audio lengths.

    The event without the ids its client may make up (`CLIENT_ID_PATHS`) and
    the fields the server echoes (`ECHOED_FIELDS`), its audio payloads
    replaced by their byte counts (``elided``: those of a recorded event whose
    audio was left out).
    """
    obj, lengths = elide_audio(event)
    lengths.update(elided or {})
    for path in CLIENT_ID_PATHS:
        _drop(obj, path)
    for (request, _), names in ECHOED_FIELDS.items():
        if obj.get("type") == request:
            for name in names:
                obj.pop(name, None)
    return obj, lengths


def _first_difference(sent: Any, recorded: Any, path: str = "") -> tuple[str, Any, Any]:
    """Where ``sent`` and ``recorded`` (decoded JSON) first differ, and their values."""
    if isinstance(sent, dict) and isinstance(recorded, dict):
        for key in [*sent, *(k for k in recorded if k not in sent)]:
            if sent.get(key) != recorded.get(key):
                inner = f"{path}.{key}" if path else key
                return _first_difference(sent.get(key), recorded.get(key), inner)
    if (
        isinstance(sent, list)
        and isinstance(recorded, list)
        and len(sent) == len(recorded)
    ):
        for index, (a, b) in enumerate(zip(sent, recorded, strict=True)):
            if a != b:
                return _first_difference(a, b, f"{path}[{index}]")
    return path, sent, recorded


def _shown(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 120 else text[:119] + "…"


def describe_difference(
    kind: object,
    sent: tuple[dict[str, Any], dict[str, int]],
    recorded: tuple[dict[str, Any], dict[str, int]],
) -> str:
    """``the test sent KIND with ...; the recording has ... here`` (see `content`)."""
    if sent[0] == recorded[0]:
        return (
            f"the test sent {kind} with audio of {sum(sent[1].values())} bytes; "
            f"the recording has {sum(recorded[1].values())} bytes here"
        )
    path, mine, theirs = _first_difference(sent[0], recorded[0])
    name = "text" if path.rsplit(".", 1)[-1] in ("text", "transcript") else path
    return (
        f"the test sent {kind} with {name} {_shown(mine)}; "
        f"the recording has {_shown(theirs)} here"
    )


def _text_of(obj: Any) -> str | None:
    """The first ``text`` (or ``transcript``) in ``obj`` (decoded JSON)."""
    if isinstance(obj, dict):
        for key in ("text", "transcript"):
            if isinstance(obj.get(key), str):
                return str(obj[key])
        values: Iterable[Any] = obj.values()
    elif isinstance(obj, list):
        values = obj
    else:
        return None
    for value in values:
        text = _text_of(value)
        if text is not None:
            return text
    return None


def _recorded_audio(replay: Replay) -> bytes | None:
    """All the audio the client appended in ``replay`` (None when some was elided)."""
    chunks = []
    for line in replay.events:
        if line.direction != "client" or line.type != "input_audio_buffer.append":
            continue
        audio = line.event.get("audio") if line.event is not None else None
        if "audio" in line.elided or not isinstance(audio, str):
            return None
        chunks.append(decode_audio(audio))
    return b"".join(chunks)


@attrs.define
class _Segment:
    trigger: str | None
    append_bytes: int
    #: When the triggering client event was recorded.
    t: float = 0.0
    #: The recorded client event that releases the lines.
    event: Mapping[str, Any] | None = None
    #: Its elided audio (`RecordedEvent.elided`).
    elided: Mapping[str, int] = attrs.field(factory=dict)
    lines: list[RecordedEvent] = attrs.field(factory=list)


def _segments(replay: Replay) -> list[_Segment]:
    segments = [_Segment(trigger=None, append_bytes=0)]
    appended = 0
    for line in replay.events:
        if line.direction == "client":
            if line.event is None:
                continue
            if line.type == "input_audio_buffer.append":
                if "audio" in line.elided:
                    appended += line.elided["audio"]
                else:
                    audio = line.event.get("audio")
                    appended += (
                        len(decode_audio(audio)) if isinstance(audio, str) else 0
                    )
            segments.append(
                _Segment(
                    trigger=line.type,
                    append_bytes=appended,
                    t=line.t,
                    event=line.event,
                    elided=line.elided,
                )
            )
        else:
            segments[-1].lines.append(line)
    return segments


class ReplaySession:
    """Serves a `Replay` on one connection (the same interface as `SimSession`).

    A recorded client event is *matched* when the client sends its like (an
    append: once the client has appended as many bytes in all). The server
    lines recorded after it are then due at the time of the match plus the
    delay recorded between the two, and never before the lines recorded
    earlier: `next_deadline` and `on_timer` send them on time.
    """

    def __init__(self, replay: Replay) -> None:
        self._segments = _segments(replay)
        self._cursor = 1
        self._appended = 0
        #: Server lines of matched segments not sent yet: when each is due, and
        #: the client event that matched its segment.
        self._pending: deque[tuple[float, RecordedEvent, Mapping[str, Any]]] = deque()
        self._last_due = -math.inf
        self._format = "audio/pcm"
        self._codec = get_codec()
        self._unrecorded = replay.unrecorded
        self._strict = replay.strict
        #: The audio the client appended when recorded (None once any was elided).
        self._audio = _recorded_audio(replay) if replay.strict else None
        #: What a strict replay found first that the recording does not have.
        self.mismatch: str | None = None
        self._ids = IdFactory(0, "replay")
        #: The client's id for each recorded one (see the module docstring).
        self._client_ids: dict[str, str] = {}
        self.session: dict[str, Any] = {}
        self.last_client_event: Any = None

    def _release(
        self, lines: Iterable[tuple[RecordedEvent, Mapping[str, Any] | None]]
    ) -> list[Output]:
        outputs: list[Output] = []
        for line, sent in lines:
            if line.close is not None:
                code, reason = line.close
                outputs.append(CloseConnection(code=code or 1000, reason=reason))
                continue
            if line.event is None:
                continue
            obj = line.restored(self._silence)
            if self._client_ids:
                obj = substitute_ids(obj, self._client_ids)
            if sent is not None:
                _echo(obj, sent)
            if obj.get("type") in ("session.created", "session.updated"):
                session = obj.get("session") or {}
                self.session = session
                fmt = session.get("audio", {}).get("output", {}).get("format") or {}
                self._format = fmt.get("type", "audio/pcm")
            event = self._codec.parse(obj)
            if isinstance(event, ServerEvent | UnknownEvent):
                outputs.append(Emit(event))
        return outputs

    def _silence(self, nbytes: int) -> bytes:
        return _SILENCE.get(self._format, b"\x00") * nbytes

    def _match(
        self, segment: _Segment, now: float, sent: Mapping[str, Any] | None = None
    ) -> None:
        """Schedule the lines recorded after ``segment``'s client event, ``sent`` at ``now``."""
        for line in segment.lines:
            due = max(now + max(line.t - segment.t, 0.0), self._last_due)
            self._pending.append((due, line, sent or {}))
            self._last_due = due

    def _match_appends(self, now: float) -> None:
        """Match the recorded appends next in line that the client's bytes cover."""
        segments = self._segments
        while (
            self._cursor < len(segments)
            and segments[self._cursor].trigger == "input_audio_buffer.append"
            and self._appended >= segments[self._cursor].append_bytes
        ):
            self._match(segments[self._cursor], now)
            self._cursor += 1

    def _due(self, now: float) -> list[Output]:
        lines: list[tuple[RecordedEvent, Mapping[str, Any] | None]] = []
        while self._pending and self._pending[0][0] <= now:
            _, line, sent = self._pending.popleft()
            lines.append((line, sent))
        return self._release(lines)

    def start(self) -> list[Output]:
        """The events recorded before the first client event."""
        return self._release((line, None) for line in self._segments[0].lines)

    def handle_message(self, data: str | bytes, now: float) -> list[Output]:
        """Match a client message; send the server events due by ``now``."""
        self.last_client_event = None
        try:
            obj = self._codec.loads(data)
        except Exception:
            return self._due(now)
        if not isinstance(obj, dict):
            return self._due(now)
        try:
            self.last_client_event = self._codec.parse(obj)
        except Exception:
            self.last_client_event = None
        kind = obj.get("type")
        segments = self._segments
        if kind == "input_audio_buffer.append":
            audio = obj.get("audio")
            try:
                self._appended += (
                    len(decode_audio(audio)) if isinstance(audio, str) else 0
                )
            except ValueError:
                return self._due(now)
            diverged = self._check_audio(audio)
            self._match_appends(now)
            outputs = self._due(now)
            if diverged is not None:
                outputs.extend(self._unanswered(obj, diverged))
            return outputs
        sent = content(obj) if self._strict else None
        for index in range(self._cursor, len(segments)):
            segment = segments[index]
            if segment.trigger == kind and (
                sent is None
                or segment.event is None
                or content(segment.event, segment.elided) == sent
            ):
                # Recorded client events skipped on the way are dropped.
                self._cursor = index + 1
                recorded = segments[index].event
                if recorded is not None:
                    learn_ids(recorded, obj, self._client_ids)
                self._match(segments[index], now, obj)
                self._match_appends(now)
                return self._due(now)
        outputs = self._due(now)
        if sent is None:
            message = f"the recording has no {kind!r} client event left to answer"
        else:
            message = self._describe(kind, sent)
        outputs.extend(self._unanswered(obj, message))
        return outputs

    def _describe(
        self, kind: object, sent: tuple[dict[str, Any], dict[str, int]]
    ) -> str:
        """What a strict replay says of a client event it has no match for."""
        segments = self._segments[self._cursor :]
        for segment in segments:
            if segment.trigger == kind and segment.event is not None:
                return describe_difference(
                    kind, sent, content(segment.event, segment.elided)
                )
        text = _text_of(sent[0])
        what = f"{kind} with text {text!r}" if text is not None else f"{kind}"
        nxt = next((s.trigger for s in segments if s.trigger is not None), None)
        here = f"{nxt} here" if nxt is not None else "no client event left"
        return f"the test sent {what}; the recording has {here}"

    def _check_audio(self, audio: object) -> str | None:
        """Whether the client's new audio differs from the recorded audio there."""
        if self._audio is None or self.mismatch is not None:
            return None
        new = decode_audio(audio) if isinstance(audio, str) else b""
        start = self._appended - len(new)
        recorded = self._audio[start : start + len(new)]
        if new[: len(recorded)] == recorded:
            return None
        at = next(
            i for i, (a, b) in enumerate(zip(new, recorded, strict=False)) if a != b
        )
        return (
            "the test sent input_audio_buffer.append with other audio than the "
            f"recording has at byte {start + at} of its input audio"
        )

    def _unanswered(self, obj: Mapping[str, Any], message: str) -> list[Output]:
        """Note a client event the recording does not have; answer it per the policy."""
        if self._strict and self.mismatch is None:
            self.mismatch = message
        if self._unrecorded != "error":
            return []
        event_id = obj.get("event_id")
        error = ApiError(message, code="replay_unrecorded_event", param="type")
        detail = error.detail(event_id if isinstance(event_id, str) else None)
        return [Emit(ErrorEvent(event_id=self._ids.event(), error=detail))]

    def next_deadline(self) -> float | None:
        """When the next recorded server event is due, if one is waiting."""
        return self._pending[0][0] if self._pending else None

    def on_timer(self, now: float) -> list[Output]:
        """Send the recorded server events due by ``now``."""
        return self._due(now)

    def response_finished(self, run: ResponseRun, now: float) -> None:
        """A replay runs no responses."""

    def dtmf(self, key: str, received_at: int) -> list[Output]:
        """A replay ignores key presses."""
        return []

    def caller_audio(self, pcm: bytes, now: float) -> list[Output]:
        """A replay ignores what a caller says."""
        return []
