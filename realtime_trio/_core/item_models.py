"""Conversation items and their content parts (protocol reference section 4.5).

Items are tagged by ``type``; messages carry a ``role`` and a tuple of content
parts, themselves tagged by ``type``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, TypeAlias

import attrs

from .record import Record, UnknownObject
from .sentinel import UNSET, UnsetType

# --- content parts ---------------------------------------------------------


@attrs.frozen(kw_only=True)
class InputText(Record):
    """Text from the user or the system."""

    TYPE: ClassVar[str] = "input_text"
    text: str | None


@attrs.frozen(kw_only=True)
class InputAudio(Record):
    """User audio (base64 in the session's input format); the server omits the bytes."""

    TYPE: ClassVar[str] = "input_audio"
    audio: str | UnsetType | None = UNSET
    transcript: str | UnsetType | None = UNSET


@attrs.frozen(kw_only=True)
class InputImage(Record):
    """An image as a data URI; ``detail`` is ``auto``, ``low`` or ``high``."""

    TYPE: ClassVar[str] = "input_image"
    image_url: str | UnsetType | None = UNSET
    detail: str | UnsetType | None = UNSET


@attrs.frozen(kw_only=True)
class OutputText(Record):
    """Text produced by the model."""

    TYPE: ClassVar[str] = "output_text"
    text: str | UnsetType | None = UNSET


@attrs.frozen(kw_only=True)
class OutputAudio(Record):
    """Audio produced by the model, with its transcript (bytes omitted by the server)."""

    TYPE: ClassVar[str] = "output_audio"
    audio: str | UnsetType | None = UNSET
    transcript: str | UnsetType | None = UNSET


@attrs.frozen(kw_only=True)
class TextPart(Record):
    """A ``text`` part, as ``response.content_part.*`` events report it."""

    TYPE: ClassVar[str] = "text"
    text: str | UnsetType | None = UNSET


@attrs.frozen(kw_only=True)
class AudioPart(Record):
    """An ``audio`` part, as ``response.content_part.*`` events report it."""

    TYPE: ClassVar[str] = "audio"
    audio: str | UnsetType | None = UNSET
    transcript: str | UnsetType | None = UNSET


ContentPart: TypeAlias = (
    InputText
    | InputAudio
    | InputImage
    | OutputText
    | OutputAudio
    | TextPart
    | AudioPart
    | UnknownObject
)

# --- items -----------------------------------------------------------------


@attrs.frozen(kw_only=True)
class MessageItem(Record):
    """A message; ``role`` is ``system``, ``user`` or ``assistant``.

    ``phase`` marks an assistant message of a reasoning model (such as
    ``gpt-realtime-2``) as a preamble, ``"commentary"``, or as the answer,
    ``"final_answer"``.
    """

    TYPE: ClassVar[str] = "message"
    role: str
    content: tuple[ContentPart, ...]
    id: str | UnsetType | None = UNSET
    object: str | UnsetType | None = UNSET
    status: str | UnsetType | None = UNSET
    phase: str | UnsetType | None = UNSET


@attrs.frozen(kw_only=True)
class FunctionCallItem(Record):
    """A call of a function tool by the model; ``arguments`` is a JSON string."""

    TYPE: ClassVar[str] = "function_call"
    name: str
    arguments: str
    call_id: str | UnsetType | None = UNSET
    id: str | UnsetType | None = UNSET
    object: str | UnsetType | None = UNSET
    status: str | UnsetType | None = UNSET


@attrs.frozen(kw_only=True)
class FunctionCallOutputItem(Record):
    """The app's result for a function call, matched by ``call_id``."""

    TYPE: ClassVar[str] = "function_call_output"
    call_id: str
    output: str
    id: str | UnsetType | None = UNSET
    object: str | UnsetType | None = UNSET
    status: str | UnsetType | None = UNSET


@attrs.frozen(kw_only=True)
class McpListedTool(Record):
    """One tool an MCP server offers."""

    name: str
    input_schema: Mapping[str, Any]
    description: str | UnsetType | None = UNSET
    annotations: Mapping[str, Any] | UnsetType | None = UNSET


@attrs.frozen(kw_only=True)
class McpListToolsItem(Record):
    """The tools an MCP server offered when it was added to the session."""

    TYPE: ClassVar[str] = "mcp_list_tools"
    server_label: str
    tools: tuple[McpListedTool, ...]
    id: str | UnsetType | None = UNSET


@attrs.frozen(kw_only=True)
class McpProtocolError(Record):
    """An MCP protocol error."""

    TYPE: ClassVar[str] = "protocol_error"
    code: int
    message: str


@attrs.frozen(kw_only=True)
class McpToolExecutionError(Record):
    """An MCP tool failed."""

    TYPE: ClassVar[str] = "tool_execution_error"
    message: str


@attrs.frozen(kw_only=True)
class McpHttpError(Record):
    """The MCP server answered with an HTTP error."""

    TYPE: ClassVar[str] = "http_error"
    code: int
    message: str


McpError: TypeAlias = (
    McpProtocolError | McpToolExecutionError | McpHttpError | UnknownObject
)


@attrs.frozen(kw_only=True)
class McpCallItem(Record):
    """A call of an MCP tool, run by OpenAI."""

    TYPE: ClassVar[str] = "mcp_call"
    id: str
    server_label: str
    name: str
    arguments: str
    approval_request_id: str | UnsetType | None = UNSET
    output: str | UnsetType | None = UNSET
    error: McpError | UnsetType | None = UNSET


@attrs.frozen(kw_only=True)
class McpApprovalRequestItem(Record):
    """The model wants to call an MCP tool that needs the app's approval."""

    TYPE: ClassVar[str] = "mcp_approval_request"
    id: str
    server_label: str
    name: str
    arguments: str


@attrs.frozen(kw_only=True)
class McpApprovalResponseItem(Record):
    """The app's answer to an MCP approval request."""

    TYPE: ClassVar[str] = "mcp_approval_response"
    id: str
    approval_request_id: str
    approve: bool
    reason: str | UnsetType | None = UNSET


@attrs.frozen(kw_only=True)
class ItemReference(Record):
    """A reference to an existing item, for ``response.create``'s ``input``."""

    TYPE: ClassVar[str] = "item_reference"
    id: str


ConversationItem: TypeAlias = (
    MessageItem
    | FunctionCallItem
    | FunctionCallOutputItem
    | McpListToolsItem
    | McpCallItem
    | McpApprovalRequestItem
    | McpApprovalResponseItem
    | ItemReference
    | UnknownObject
)
