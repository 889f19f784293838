"""Load YAML and validate it with pydantic, reporting errors by file, line and field."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from safecity.core.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


class _Located:
    """A YAML node tree kept beside the data so that a field path maps to a line."""

    def __init__(self, node: yaml.Node) -> None:
        self.root = node

    def line_of(self, loc: tuple[int | str, ...]) -> int:
        node: yaml.Node = self.root
        for index, part in enumerate(loc):
            child = self._child(node, part, last=index == len(loc) - 1)
            if child is None:
                break
            node = child
        return node.start_mark.line + 1

    @staticmethod
    def _child(node: yaml.Node, part: int | str, *, last: bool) -> yaml.Node | None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    # The field named by the error is reported where its key stands (a
                    # block value starts a line later); only a path through it descends.
                    return key if last or isinstance(value, yaml.ScalarNode) else value
            return None
        if isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            return node.value[part] if 0 <= part < len(node.value) else None
        return None


def _format_loc(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def load_yaml_model(path: Path, model: type[M]) -> M:
    """Parse ``path`` and validate it as ``model``; raise ConfigError naming file:line: field."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}:{line}: not UTF-8 text ({exc.reason})") from exc
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data: Any = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else 0
        raise ConfigError(f"{path}:{line}: YAML syntax error: {exc.problem}") from exc
    if node is None or data is None:
        raise ConfigError(f"{path}:1: the file is empty")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        located = _Located(node)
        lines = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            lines.append(f"{path}:{located.line_of(loc)}: {_format_loc(loc)}: {error['msg']}")
        raise ConfigError("\n".join(lines)) from exc
