"""``python -m realtime_trio`` is the ``realtime-trio`` command."""

from __future__ import annotations

import sys

from ._cli.main import main

if __name__ == "__main__":
    sys.exit(main())
