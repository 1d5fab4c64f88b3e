"""YAML text to plain data, remembering the line of every value (sans-IO).

`parse_located` reads a document with PyYAML's safe loader (no tags that
build Python objects; JSON is valid YAML, so JSON scripts load the same way)
and returns the data together with a `Lines` index: `Lines.line(path)` is
the line (from 1) where the value at ``path`` (a tuple of keys and indices)
starts, or of its deepest ancestor that exists, so an error about a missing
key points at the mapping that lacks it. A key given twice in a mapping is
refused: PyYAML would silently keep the last one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

Path = tuple[str | int, ...]


def format_path(path: Sequence[str | int]) -> str:
    """``("turns", 0, "user")`` as ``turns[0].user``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


class YamlSyntaxError(ValueError):
    """The text is not valid YAML; ``line`` is where the parser gave up (from 1)."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.line = line


class DuplicateKeyError(ValueError):
    """A mapping has the same key twice; ``path`` and ``line`` locate the second."""

    def __init__(self, key: str, path: Path, line: int) -> None:
        super().__init__(f"key {key!r} is given twice")
        self.path = path
        self.line = line


class Lines:
    """Where each value of a composed YAML document starts."""

    def __init__(self, root: yaml.Node | None) -> None:
        self._root = root

    def line(self, path: Sequence[str | int]) -> int | None:
        """The line of the value at ``path``, or of its deepest existing ancestor."""
        node = self._root
        if node is None:
            return None
        for part in path:
            child = _child(node, part)
            if child is None:
                break
            node = child
        return node.start_mark.line + 1

    def key_line(self, path: Sequence[str | int]) -> int | None:
        """The line of the last key of ``path`` itself (where an unknown key is)."""
        parent = self._root
        if parent is None or not path:
            return self.line(path)
        for part in path[:-1]:
            child = _child(parent, part)
            if child is None:
                return self.line(path)
            parent = child
        if isinstance(parent, yaml.MappingNode):
            for key, _ in parent.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(path[-1]):
                    return int(key.start_mark.line) + 1
        return self.line(path)


def _child(node: yaml.Node, part: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode) and isinstance(part, str):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == part:
                return value  # type: ignore[no-any-return]
    if (
        isinstance(node, yaml.SequenceNode)
        and isinstance(part, int)
        and 0 <= part < len(node.value)
    ):
        return node.value[part]  # type: ignore[no-any-return]
    return None


def _check_duplicates(node: yaml.Node, path: Path) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else None
            if isinstance(name, str):
                if name in seen:
                    line = int(key.start_mark.line) + 1
                    raise DuplicateKeyError(name, path, line)
                seen.add(name)
                _check_duplicates(value, (*path, name))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _check_duplicates(item, (*path, index))


def parse_located(text: str) -> tuple[Any, Lines]:
    """Parse one YAML (or JSON) document: its data and where each value starts.

    Raises:
        YamlSyntaxError: The text is not one valid YAML document.
        DuplicateKeyError: A mapping has a key twice.
    """
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is not None:
            _check_duplicates(root, ())
        data = None if root is None else loader.construct_document(root)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = None if mark is None else mark.line + 1
        problem = exc.problem or exc.context or "not valid YAML"
        if exc.problem and exc.context and exc.context_mark is not None:
            # "expected ',' or '}' ... (while parsing a flow mapping at line 2)"
            problem += f" ({exc.context} at line {exc.context_mark.line + 1})"
        raise YamlSyntaxError(f"not valid YAML: {problem}", line) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(f"not valid YAML: {exc}", None) from None
    finally:
        loader.dispose()
    return data, Lines(root)
