"""msgspec mirrors of the records of ``session.updated``, for ``bench_parse_ceiling.py``.

Structs decoded in C: the same fields, tagged unions (``type``) and `UNSET`
defaults as realtime_trio's records, for the round trip's answer. msgspec
drops unknown keys (the records keep them), which makes it a little faster
than a full equivalent would be. Imported only when msgspec is installed
(the ``bench`` extra).
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType


class AudioPCM(
    msgspec.Struct, tag="audio/pcm", tag_field="type", kw_only=True, frozen=True
):
    rate: int | UnsetType | None = UNSET


class AudioPCMU(
    msgspec.Struct, tag="audio/pcmu", tag_field="type", kw_only=True, frozen=True
):
    pass


class AudioPCMA(
    msgspec.Struct, tag="audio/pcma", tag_field="type", kw_only=True, frozen=True
):
    pass


class ServerVad(
    msgspec.Struct, tag="server_vad", tag_field="type", kw_only=True, frozen=True
):
    threshold: float | UnsetType | None = UNSET
    prefix_padding_ms: int | UnsetType | None = UNSET
    silence_duration_ms: int | UnsetType | None = UNSET
    create_response: bool | UnsetType | None = UNSET
    interrupt_response: bool | UnsetType | None = UNSET
    idle_timeout_ms: int | UnsetType | None = UNSET


class SemanticVad(
    msgspec.Struct, tag="semantic_vad", tag_field="type", kw_only=True, frozen=True
):
    eagerness: str | UnsetType | None = UNSET
    create_response: bool | UnsetType | None = UNSET
    interrupt_response: bool | UnsetType | None = UNSET


class NoiseReduction(msgspec.Struct, kw_only=True, frozen=True):
    type: str | UnsetType | None = UNSET


class Transcription(msgspec.Struct, kw_only=True, frozen=True):
    model: str | UnsetType | None = UNSET
    language: str | UnsetType | None = UNSET
    prompt: str | UnsetType | None = UNSET


class AudioInput(msgspec.Struct, kw_only=True, frozen=True):
    format: AudioPCM | AudioPCMU | AudioPCMA | UnsetType | None = UNSET
    noise_reduction: NoiseReduction | UnsetType | None = UNSET
    transcription: Transcription | UnsetType | None = UNSET
    turn_detection: ServerVad | SemanticVad | UnsetType | None = UNSET


class AudioOutput(msgspec.Struct, kw_only=True, frozen=True):
    format: AudioPCM | AudioPCMU | AudioPCMA | UnsetType | None = UNSET
    voice: str | UnsetType | None = UNSET
    speed: float | UnsetType | None = UNSET


class AudioConfig(msgspec.Struct, kw_only=True, frozen=True):
    input: AudioInput | UnsetType | None = UNSET
    output: AudioOutput | UnsetType | None = UNSET


class Session(
    msgspec.Struct, tag="realtime", tag_field="type", kw_only=True, frozen=True
):
    object: str | UnsetType = UNSET
    id: str | UnsetType = UNSET
    expires_at: int | UnsetType | None = UNSET
    model: str | UnsetType | None = UNSET
    instructions: str | UnsetType | None = UNSET
    output_modalities: tuple[str, ...] | UnsetType | None = UNSET
    audio: AudioConfig | UnsetType | None = UNSET
    include: tuple[str, ...] | UnsetType | None = UNSET
    tools: tuple[dict[str, Any], ...] | UnsetType | None = UNSET
    tool_choice: str | dict[str, Any] | UnsetType | None = UNSET
    parallel_tool_calls: bool | UnsetType | None = UNSET
    max_output_tokens: int | str | UnsetType | None = UNSET
    tracing: str | dict[str, Any] | UnsetType | None = UNSET
    prompt: dict[str, Any] | UnsetType | None = UNSET


class SessionUpdated(
    msgspec.Struct, tag="session.updated", tag_field="type", kw_only=True, frozen=True
):
    event_id: str
    session: Session


#: Decode the text of a ``session.updated`` into `SessionUpdated`.
decode = msgspec.json.Decoder(SessionUpdated).decode
VERSION = msgspec.__version__
