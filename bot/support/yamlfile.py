"""YAML loading that remembers line numbers, so every problem can be reported as file:line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class Problem(Exception):
    """A problem in a data file, reported to people as ``file:line: message``."""

    def __init__(
        self,
        file: Path | str,
        line: int | None,
        message: str,
        field: str = "",
        code: str = "",
        **details: str,
    ) -> None:
        self.file = str(file)
        self.line = line
        self.message = message
        # for an editor that shows it beside the field: which field, what kind of problem
        self.field, self.code, self.details = field, code, details
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


class LineDict(dict):
    """A mapping that knows the line of each of its keys (1-based)."""

    line: int = 0
    key_lines: dict[Any, int]

    def line_of(self, key: Any) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list):
    """A sequence that knows the line of each of its items (1-based)."""

    line: int = 0
    item_lines: list[int]

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if index < len(self.item_lines) else self.line


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, list | dict):
            raise Problem(
                "", key_node.start_mark.line + 1, "a key must be a word, not a list or mapping"
            )
        if key in result:
            raise Problem("", key_node.start_mark.line + 1, f"duplicate key {key!r}")
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> LineList:
    result = LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def load(path: Path) -> Any:
    """Parse a YAML file into LineDict/LineList values; raise Problem on any failure."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise Problem(path, None, "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise Problem(path, None, f"cannot read file: {exc}") from None
    return loads(text, path)


def loads(text: str, path: Path | str) -> Any:
    """Parse YAML text as ``load`` does (``path`` names it in problems)."""
    try:
        return yaml.load(text, Loader=_LineLoader)
    except Problem as exc:
        raise Problem(path, exc.line, exc.message) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        reason = getattr(exc, "problem", None) or str(exc)
        raise Problem(path, line, f"not valid YAML: {reason}") from None
