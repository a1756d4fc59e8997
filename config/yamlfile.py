"""Load a YAML file into plain data and validate it, reporting errors by line.

PyYAML's composed node tree keeps the start mark of every key and value
(the data is built from that same tree: one parse); a
pydantic validation error's ``loc`` is walked through that tree to find the
line of the offending value.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from config.errors import ConfigError

ModelT = TypeVar("ModelT", bound=BaseModel)
# libyaml's parser where PyYAML was built with it (its wheels are): the same
# nodes, marks and data as the pure-Python one, parsed in C. Every process
# start reads the kommun's configuration with it.
LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YamlDocument:
    """A parsed YAML file: its data and a way to find the line of any path in it."""

    def __init__(self, path: Path, data: Any, root: yaml.Node | None) -> None:
        self.path = path
        self.data = data
        self._root = root

    def line_of(self, loc: Sequence[int | str]) -> int | None:
        """1-based line of the value at ``loc``, or of the nearest parent that exists."""
        node = self._root
        if node is None:
            return None
        line = node.start_mark.line + 1
        for step in loc:
            child = _child(node, step)
            if child is None:
                break
            node = child
            line = node.start_mark.line + 1
        return line

    def error(self, loc: Sequence[int | str], problem: str) -> ConfigError:
        return ConfigError(self.path, self.line_of(loc), problem)


def _child(node: yaml.Node, step: int | str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == str(step):
                # A missing/odd value still has a place: point at the key.
                return value if value.start_mark.line >= key.start_mark.line else key
        return None
    items = node.value if isinstance(node, yaml.SequenceNode) else []
    if isinstance(step, int) and 0 <= step < len(items):
        child: yaml.Node = items[step]
        return child
    return None


def read_yaml(path: Path) -> YamlDocument:
    """Read and parse ``path``; a missing file or bad YAML is a ConfigError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(path, None, "filen saknas") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, None, f"kan inte läsas: {exc}") from None
    try:
        loader = LOADER(text)
        try:  # one parse: the node tree (its lines), then the data built from it
            root = loader.get_single_node()
            data = loader.construct_document(root) if root is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(path, line, f"ogiltig YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(path, None, f"ogiltig YAML: {exc}") from None
    return YamlDocument(path, data, root)


def validate(doc: YamlDocument, model: type[ModelT]) -> ModelT:
    """Validate ``doc`` against ``model``; the first error becomes a ConfigError."""
    try:
        return model.model_validate(doc.data if doc.data is not None else {})
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = [step for step in first["loc"] if isinstance(step, int | str)]
        where = _dotted(loc)
        value = first.get("input")
        shown = "" if isinstance(value, dict | list) or value is None else f" (värde: {value!r})"
        raise doc.error(loc, f"{where}: {first['msg']}{shown}") from None


def _dotted(loc: Sequence[int | str]) -> str:
    out = ""
    for step in loc:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out or "(filen)"
