"""The single source of the package version (setup.cfg reads it)."""

from __future__ import annotations

__version__ = "0.1.0.dev0"
