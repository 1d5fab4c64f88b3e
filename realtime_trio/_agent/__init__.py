"""The conversation layer (issue 12): state, tools, one response at a time, playback and barge-in.

It sits on `_client` and never imports the simulator. Its sans-IO modules
(no trio; import-linter and ruff's banned-api rule check it):

* ``records.py``: `ItemState`, `ResponseState`, `UsageTotals`,
  `TranscriptionTotals`, `Interruption`;
* ``state.py``: `ConversationState`, the mirror of the server's
  conversation, fed event by event; ``items.py``: its items and their order;
* ``schema.py``: JSON schemas from type hints; ``tools.py``: `function_tool`,
  `ToolFunction`, arguments in and outputs out;
* ``playback.py``: the playback arithmetic (positions, truncation points);
* ``policy.py``: what an interruption sends, when tool calls are answered;
* ``metrics.py``: `TurnMetrics`, the stages of a turn; ``metrics_tracker.py``:
  `MetricsTracker`, which builds them from timestamped events and sent
  audio; ``metrics_summary.py``: the aggregates (issue 14).

Its trio shell, which only moves data and waits:

* ``tracker.py``: `PlaybackTracker`, the trio clock and the pacing of a sink;
* ``engine.py``: the conversation's state, own requests, the response gate,
  interruptions;
* ``pump.py``: the one task that reads the connection;
* ``tool_runner.py``: tool calls and the response after them;
* ``conversation.py``: `open_conversation` and `RealtimeConversation`;
* ``conversation_metrics.py``: `ConversationMetrics`, the turn metrics of a
  conversation, awaited.
"""
