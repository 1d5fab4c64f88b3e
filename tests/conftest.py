from __future__ import annotations

import os

from hypothesis import settings

# FAST=1 for a quick local loop (cattrs does the same); CI runs the default profile.
settings.register_profile("fast", max_examples=10)
settings.register_profile("default", max_examples=60, deadline=None)
# DEEP=1 for a long search (before landing a change to a parser).
settings.register_profile("deep", max_examples=3000, deadline=None)
settings.load_profile(
    "fast"
    if os.environ.get("FAST")
    else "deep"
    if os.environ.get("DEEP")
    else "default"
)
