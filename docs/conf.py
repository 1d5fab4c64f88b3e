"""Sphinx configuration for realtime_trio."""

from __future__ import annotations

from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx

import realtime_trio

project = "realtime_trio"
author = "the realtime_trio developers"
copyright = "2026, the realtime_trio developers"
version = release = realtime_trio.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinxcontrib_trio",
    "sphinxcontrib.towncrier.ext",
]
# changes.rst: the ``towncrier-draft-entries`` directive runs
# ``towncrier build --draft`` in the project root and renders the unreleased
# fragments of newsfragments/ (nothing once a release has consumed them).
towncrier_draft_working_directory = str(Path(__file__).resolve().parent.parent)
towncrier_draft_autoversion_mode = "draft"
towncrier_draft_include_empty = False
# No intersphinx: CI has no network to fetch other projects' inventories, so
# references to trio/attrs/cattrs objects are written as plain literals, and
# ``nitpicky`` stays off (house style asks for it; it would need those inventories).
default_role = "py:obj"
nitpicky = False
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_format = "short"
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
exclude_patterns = ["_build"]
html_theme = "alabaster"
suppress_warnings = ["ref.python"]


def _drop_trailing_blank_lines(app: Sphinx, doctree: nodes.document) -> None:
    """A ``literalinclude`` cut with ``:end-before:`` keeps the blank lines that
    separate the fragment from the next statement of the file: drop them."""
    for block in doctree.findall(nodes.literal_block):
        if len(block.children) != 1 or not isinstance(block[0], nodes.Text):
            continue
        text = block.astext()
        trimmed = text.rstrip("\n")
        if trimmed != text and block.rawsource == text:
            block.rawsource = trimmed
            block.replace(block[0], nodes.Text(trimmed))


def setup(app: Sphinx) -> None:
    app.connect("doctree-read", _drop_trailing_blank_lines)
