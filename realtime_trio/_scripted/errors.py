"""The errors of scripted conversations (no trio here)."""

from __future__ import annotations

from .._core.errors import RealtimeError

__all__ = ["ExpectationFailed", "ScriptedError", "TargetUnavailable"]


class ScriptedError(RealtimeError):
    """A scripted conversation was used wrongly, or cannot do what was asked.

    For example `Talk.dtmf` against a real endpoint (DTMF comes from a
    caller's phone), or `Talk.say` against one with no text-to-speech
    program installed.

    .. versionadded:: 0.1.0
    """


class TargetUnavailable(ScriptedError):
    """The conversation could not run: the connection was refused or failed to open,
    a recording to replay is missing, or the simulated call did not come through.

    .. versionadded:: 0.1.0
    """


class ExpectationFailed(AssertionError):
    """An expectation of a scripted conversation was not met.

    An `AssertionError`, so pytest reports it as a test failure. Its message
    reads like the conversation: what was expected, what came instead, the
    transcript so far, the last events received, the time elapsed, and the
    path of the wire recording of the test (when it is recorded).

    Attributes:
        expected: What was expected, in one line.
        seen: What came instead, in one line.
        elapsed: Seconds since the conversation started (trio clock).
        recording: The path of the wire recording, if the talk was recorded.

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        message: str,
        *,
        expected: str = "",
        seen: str = "",
        elapsed: float = 0.0,
        recording: str | None = None,
    ) -> None:
        super().__init__(message)
        self.expected = expected
        self.seen = seen
        self.elapsed = elapsed
        self.recording = recording
