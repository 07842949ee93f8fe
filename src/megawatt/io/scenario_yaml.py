"""The scenario YAML file (and YAML lists such as ``applicants.yaml``).

YAML is parsed by libyaml (``CParser`` when available) and composed and constructed
here with limits, so that a hostile file is a one-line error, not a hang:

* at most :data:`~megawatt.io.common.MAX_YAML_BYTES` bytes;
* nesting at most :data:`MAX_DEPTH` levels deep;
* at most :data:`MAX_NODES` values once aliases are expanded (an alias counts as
  the whole value it repeats, so a "billion laughs" file is rejected while it is
  read) and no alias inside its own anchor (a recursive value);
* a key given twice in one mapping is an error naming the key and both lines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode
from yaml.resolver import Resolver

from megawatt.errors import input_error
from megawatt.io.common import MAX_YAML_BYTES, read_text

#: Deepest nesting of lists and mappings.
MAX_DEPTH = 64
#: Most values (scalars, lists, mappings) in a file, aliases expanded.
MAX_NODES = 1_000_000

try:  # libyaml's parser when present (several times faster), else pure Python
    from yaml.cyaml import CParser as _Parser
except ImportError:  # pragma: no cover
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Parser(Reader, Scanner, Parser):  # type: ignore[no-redef]
        def __init__(self, stream: str) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)


class LimitError(yaml.YAMLError):
    """A YAML file over one of the limits, or with a duplicate key (with its mark)."""

    def __init__(self, problem: str, mark: Any) -> None:
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = mark


class _LimitedComposer(Composer):
    """PyYAML's composer counting depth and alias-expanded size."""

    def __init__(self) -> None:
        super().__init__()
        self._depth = 0
        self._nodes = 0
        self._sizes: dict[str, int] = {}

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        if self.check_event(AliasEvent):
            event = self.peek_event()
            size = self._sizes.get(event.anchor)
            if event.anchor in self.anchors and size is None:
                raise LimitError(f"alias *{event.anchor} inside its own anchor", event.start_mark)
            self._count(size or 0, event.start_mark)
            return super().compose_node(parent, index)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise LimitError(
                f"nested more than {MAX_DEPTH} levels deep", self.peek_event().start_mark
            )
        event = self.peek_event()
        anchor = getattr(event, "anchor", None)
        before = self._nodes
        self._count(1, event.start_mark)
        node = super().compose_node(parent, index)
        if anchor is not None:
            self._sizes[anchor] = self._nodes - before
        self._depth -= 1
        return node

    def _count(self, n: int, mark: Any) -> None:
        self._nodes += n
        if self._nodes > MAX_NODES:
            raise LimitError(
                f"more than {MAX_NODES:,} values once aliases are expanded (an alias bomb?)",
                mark,
            )


class _StrictConstructor(SafeConstructor):
    """The safe constructor, with duplicate keys an error."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, MappingNode):
            seen: dict[Any, Any] = {}
            for key_node, _ in node.value:
                if (
                    not isinstance(key_node, ScalarNode)
                    or key_node.tag == "tag:yaml.org,2002:merge"
                ):
                    continue
                key = self.construct_object(key_node)
                try:
                    first = seen.get(key)
                except TypeError:
                    continue
                if first is not None:
                    raise LimitError(
                        f"duplicate key {key!r} (first on line {first.line + 1})",
                        key_node.start_mark,
                    )
                seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_timestamp(self, node: ScalarNode) -> Any:
        try:
            return super().construct_yaml_timestamp(node)
        except (ValueError, OverflowError) as exc:
            raise LimitError(f"not a valid date or time ({exc})", node.start_mark) from None


_StrictConstructor.add_constructor(
    "tag:yaml.org,2002:timestamp", _StrictConstructor.construct_yaml_timestamp
)


class BoundedLoader(_Parser, _LimitedComposer, _StrictConstructor, Resolver):  # type: ignore[misc, valid-type]
    """A safe YAML loader with the limits of this module."""

    def __init__(self, stream: str) -> None:
        _Parser.__init__(self, stream)
        _LimitedComposer.__init__(self)
        _StrictConstructor.__init__(self)
        Resolver.__init__(self)

    # CParser brings its own composer; use the counting one above.
    get_single_node = _LimitedComposer.get_single_node
    compose_document = _LimitedComposer.compose_document
    compose_node = _LimitedComposer.compose_node


def load_yaml(text: str) -> Any:
    """Parse YAML text with the limits of this module (:class:`BoundedLoader`)."""
    loader = BoundedLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def _parse(path: Path, detail: bool) -> Any:
    text = read_text(path, MAX_YAML_BYTES)
    try:
        return load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        if isinstance(exc, LimitError):
            raise input_error(path, where, exc.problem) from None
        problem = (getattr(exc, "problem", None) if detail else None) or "not valid YAML"
        text = f"invalid YAML: {problem}" if detail else "invalid YAML"
        raise input_error(path, where, text) from None
    except RecursionError:  # a backstop: the depth limit comes first
        raise input_error(path, "", f"nested more than {MAX_DEPTH} levels deep") from None


def read_yaml_mapping(path: Path) -> dict[str, Any]:
    """Read a YAML file that must hold a mapping (the scenario file)."""
    data = _parse(path, detail=True)
    if not isinstance(data, dict):
        raise input_error(
            path,
            "",
            "must be a YAML mapping (key: value lines) at the top level",
            type(data).__name__,
        )
    return data


def read_scenario_yaml(path: Path) -> dict[str, Any]:
    """The scenario file as a mapping; file names in it are left to the caller."""
    return read_yaml_mapping(path)


def read_yaml_list(path: Path, key: str) -> list[Any]:
    """Read a YAML file holding a list, or a mapping with that list under ``key``."""
    data = _parse(path, detail=False)
    if isinstance(data, dict) and key in data:
        data = data[key]
    if not isinstance(data, list):
        raise input_error(path, "", f"must hold a list of {key}", type(data).__name__)
    return data
