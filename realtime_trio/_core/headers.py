"""Checking a header value before it goes on the wire, without ever showing it (no I/O).

An API key read from a file often keeps its trailing newline; pasted from a
web page it may carry a non-breaking space or a typographic quote. Sent as
is, the HTTP library refuses it with an error that quotes the whole header,
key included, into messages, logs and tracebacks. `check_header_value`
refuses such a value first, with `InvalidHeaderError`, whose message says
what is wrong and where, and never contains the value.

The rule is RFC 9110's field-value as h11 enforces it: visible ASCII, spaces
and tabs inside (not at either end), and bytes 0x80-0xFF (Latin-1
``obs-text``); no control characters (CR, LF, NUL...). `check_header_name`
checks a header's name (an RFC 9110 token), which is no secret and is shown.
"""

from __future__ import annotations

import re

from .errors import RealtimeError

_VALID = re.compile(
    r"[\x21-\x7e\x80-\xff]([\x20-\x7e\x80-\xff\t]*[\x21-\x7e\x80-\xff])?"
)
#: RFC 9110's token, the rule for a header's name (h11's too).
_TOKEN = re.compile(r"[-!#$%&'*+.^_`|~0-9a-zA-Z]+")


class InvalidHeaderError(RealtimeError, ValueError):
    """A header value (API key, safety identifier, extra header) that cannot be sent.

    Also raised for a header name that is not an HTTP token. Raised before
    connecting. The message names the header and the problem
    (a line break at the end, a control character, a character outside
    Latin-1...) and its position, never the value: for the API key that
    would be the secret.

    Attributes:
        header: The header's name (``Authorization`` for the API key).
    """

    def __init__(self, header: str, message: str) -> None:
        super().__init__(message)
        self.header = header


def _problem(value: str) -> str:
    """What is wrong with ``value``, in words that do not quote it."""
    if not value:
        return "it is empty"
    if value[-1] in "\r\n":
        ending = "\\r\\n" if value.endswith("\r\n") else repr(value[-1])[1:-1]
        return (
            f"it ends with a line break ({ending}), as a value read from a file "
            "often does: strip it"
        )
    if value[0] in " \t" or value[-1] in " \t":
        return "it starts or ends with white space: strip it"
    for index, char in enumerate(value):
        code = ord(char)
        if code > 0xFF:
            return (
                f"character {index + 1} of {len(value)} is U+{code:04X}, which "
                "HTTP headers cannot carry (a character pasted from a web page?)"
            )
        if (code < 0x20 and char != "\t") or code == 0x7F:
            return (
                f"character {index + 1} of {len(value)} is the control "
                f"character U+{code:04X}"
            )
    return "it is not a valid HTTP header value"  # pragma: no cover - defensive


def check_header_value(header: str, value: str, *, what: str | None = None) -> str:
    """Return ``value`` if it can be sent as header ``header``; else raise.

    Args:
        header: The header's name, for the message.
        value: The value to check (never shown in the message).
        what: How to call the value in the message (``"the API key"``);
            default: ``"the value of header <header>"``.

    Raises:
        InvalidHeaderError: the value cannot go on the wire.
    """
    if _VALID.fullmatch(value):
        return value
    name = what if what is not None else f"the value of header {header}"
    raise InvalidHeaderError(header, f"{name} cannot be sent: {_problem(value)}")


def check_header_name(name: str) -> str:
    """Return ``name`` if it can be sent as a header's name; else raise.

    A name is no secret: the message quotes it.

    Raises:
        InvalidHeaderError: the name is not an RFC 9110 token (empty, or with
            a space, a colon, a line break, a non-ASCII character...).
    """
    if _TOKEN.fullmatch(name):
        return name
    raise InvalidHeaderError(
        name,
        f"the header name {name!r} cannot be sent: a header name is letters, "
        "digits and !#$%&'*+-.^_`|~ only",
    )
