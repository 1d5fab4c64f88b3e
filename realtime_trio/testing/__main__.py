"""``python -m realtime_trio.testing --port N``: run the simulator standalone."""

from __future__ import annotations

import sys

from .._cli.simulate import main

if __name__ == "__main__":
    sys.exit(main())
