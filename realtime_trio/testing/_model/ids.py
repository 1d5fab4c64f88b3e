"""Deterministic ids for the simulator (``sess_...``, ``item_...``, ``event_...``).

Real ids look like ``event_C9G5RJeJ2gF77mV7f2B1j``: a prefix and 21 or 22
base62 characters. The simulator draws them from a `random.Random` seeded by
the simulator's seed and the connection's index, so that one connection's
ids do not depend on what other connections do concurrently.

The ``obfuscation`` padding of delta events comes from a second generator
of the same stream, so that it does not shift the ids.
"""

from __future__ import annotations

import random
import string
from typing import Final

_ALPHABET: Final = string.ascii_letters + string.digits
_HEX: Final = "0123456789abcdef"

#: How many random characters follow the prefix of a base62 id.
ID_LENGTH: Final = 22
#: A delta and its ``obfuscation`` together make a multiple of this many characters.
OBFUSCATION_BLOCK: Final = 16


class IdFactory:
    """Makes ids from a seeded generator: same seed, same ids.

    Args:
        seed: The simulator's seed.
        stream: Which independent stream of ids (for example the index of a
            connection); each stream has its own generator.
    """

    def __init__(self, seed: int, stream: int | str = 0) -> None:
        self._rng = random.Random(f"{seed}:{stream}")
        self._padding = random.Random(f"{seed}:{stream}:obfuscation")

    def new(self, prefix: str) -> str:
        """Return ``prefix`` followed by 22 random base62 characters."""
        choice = self._rng.choice
        return prefix + "".join([choice(_ALPHABET) for _ in range(ID_LENGTH)])

    def hex(self, prefix: str, length: int = 32) -> str:
        """Return ``prefix`` followed by ``length`` random hex digits (call ids)."""
        choice = self._rng.choice
        return prefix + "".join([choice(_HEX) for _ in range(length)])

    def obfuscation(self, delta: str) -> str:
        """Return the random ``obfuscation`` string of a delta event carrying ``delta``.

        The real server pads deltas with random base62 characters so that
        their length does not give the text away; in the recorded examples a
        delta and its padding together make 16 characters (``"Hey"`` gets 13),
        so the padding here fills ``delta`` up to the next multiple of 16.
        """
        choice = self._padding.choice
        length = OBFUSCATION_BLOCK - len(delta) % OBFUSCATION_BLOCK
        return "".join([choice(_ALPHABET) for _ in range(length)])

    def event(self) -> str:
        """Return a new server event id."""
        return self.new("event_")

    def random(self) -> random.Random:
        """Return the underlying generator (for other deterministic choices)."""
        return self._rng
