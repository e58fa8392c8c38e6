"""Safe YAML parsing that remembers where every value was written.

JSON-Schema validators only see parsed objects and cannot report lines, so we walk PyYAML's node
tree ourselves and record a line map (path -> position) while building plain Python data.
Only the safe constructor is used: object tags such as `!!python/object` are refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from advisor.kb.model import Location, Problem

Path = tuple[Any, ...]


@dataclass
class YamlDocument:
    """Parsed data plus the position of every key and value in the source text."""

    file: str
    data: Any
    value_marks: dict[Path, tuple[int, int]] = field(default_factory=dict)
    key_marks: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def at(self, path: Path, key: bool = False) -> Location:
        """Location of the value at `path` (or of its key), falling back to the nearest parent."""
        marks = self.key_marks if key else self.value_marks
        probe = tuple(path)
        while probe:
            if probe in marks:
                return Location(self.file, *marks[probe])
            if key and probe in self.value_marks:
                return Location(self.file, *self.value_marks[probe])
            probe = probe[:-1]
        line, col = self.value_marks.get((), (1, 1))
        return Location(self.file, line, col)


class YamlError(Exception):
    def __init__(self, problem: Problem):
        super().__init__(str(problem))
        self.problem = problem


def _position(mark: yaml.Mark | None) -> tuple[int, int]:
    return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)


def parse_yaml(text: str, file: str) -> YamlDocument:
    """Parse one YAML document; raise YamlError with file:line:col on any syntax problem."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        doc = YamlDocument(file, None)
        doc.data = _build(loader, node, (), doc) if node is not None else None
        return doc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = " ".join(p for p in (exc.context, exc.problem) if p) or str(exc)
        raise YamlError(Problem(Location(file, *_position(mark)), f"YAML: {message}")) from None
    except yaml.YAMLError as exc:
        raise YamlError(Problem(Location(file, 1, 1), f"YAML: {exc}")) from None
    finally:
        loader.dispose()


def _build(loader: yaml.SafeLoader, node: yaml.Node, path: Path, doc: YamlDocument) -> Any:
    doc.value_marks[path] = _position(node.start_mark)
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        loader.flatten_mapping(node)
        for key_node, value_node in node.value:
            key = _build(loader, key_node, path + ("<key>",), doc)
            if not isinstance(key, (str, int, float, bool)) or key is None:
                raise yaml.MarkedYAMLError(
                    problem="a mapping key must be a plain scalar",
                    problem_mark=key_node.start_mark,
                )
            if key in result:
                raise yaml.MarkedYAMLError(
                    problem=f"duplicate key {key!r}", problem_mark=key_node.start_mark
                )
            doc.key_marks[path + (key,)] = _position(key_node.start_mark)
            result[key] = _build(loader, value_node, path + (key,), doc)
        doc.value_marks.pop(path + ("<key>",), None)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(loader, item, path + (i,), doc) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)
