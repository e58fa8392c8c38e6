"""Safe YAML parsing that remembers where every value was written.

JSON-Schema validators only see parsed objects and cannot report lines, so we walk PyYAML's node
tree ourselves and record a line map (path -> position) while building plain Python data.
Only the safe constructor is used: object tags such as `!!python/object` are refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from advisor.errors import AdvisorError
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


class YamlError(AdvisorError):
    def __init__(self, problem: Problem):
        super().__init__(str(problem))
        self.problem = problem


def _position(mark: yaml.Mark | None) -> tuple[int, int]:
    return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)


# libyaml's parser is about ten times faster; the pure-Python one words its errors better.
_FAST_LOADER = getattr(yaml, "CSafeLoader", None)


def parse_yaml(text: str, file: str) -> YamlDocument:
    """Parse one YAML document; raise YamlError with file:line:col on any syntax problem."""
    if _FAST_LOADER is not None:
        try:
            return _parse(text, file, _FAST_LOADER)
        except YamlError:
            pass  # parse it again below, for the pure-Python parser's clearer message
    return _parse(text, file, yaml.SafeLoader)


def _parse(text: str, file: str, loader_class: type) -> YamlDocument:
    try:
        loader = loader_class(text)
    except yaml.reader.ReaderError as exc:  # a control character: the reader checks at once
        before = text[: exc.position]
        line, col = before.count("\n") + 1, len(before) - before.rfind("\n")
        raise YamlError(Problem(Location(file, line, col), f"YAML: unacceptable character "
                                f"#x{exc.character:04x}: {exc.reason}")) from None
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


_PLAIN_TAGS = {yaml.MappingNode: "tag:yaml.org,2002:map",
               yaml.SequenceNode: "tag:yaml.org,2002:seq"}
_STR_TAG = "tag:yaml.org,2002:str"
_FLATTEN_TAGS = ("tag:yaml.org,2002:merge", "tag:yaml.org,2002:value")


def _build(loader: yaml.SafeLoader, node: yaml.Node, path: Path, doc: YamlDocument,
           active: set[int] | None = None) -> Any:
    doc.value_marks[path] = _position(node.start_mark)
    if isinstance(node, yaml.ScalarNode):
        return _scalar(loader, node)
    # Mappings and lists are built here, not by the constructor, so refuse their tags here
    # (`!!python/object:...` on a mapping), and aliases that contain themselves.
    if node.tag != _PLAIN_TAGS[type(node)]:
        raise yaml.MarkedYAMLError(
            problem=f"the tag {node.tag!r} is not allowed: knowledge files hold plain "
                    "mappings, lists and scalars",
            problem_mark=node.start_mark,
        )
    active = set() if active is None else active
    if id(node) in active:
        raise yaml.MarkedYAMLError(problem="an alias refers to a node that contains it",
                                   problem_mark=node.start_mark)
    active.add(id(node))
    # Plain strings, most of a file, are handled inline: a call per leaf costs a third of the time.
    value_marks = doc.value_marks
    try:
        if isinstance(node, yaml.SequenceNode):
            items = []
            for i, item in enumerate(node.value):
                if item.__class__ is yaml.ScalarNode and item.tag == _STR_TAG:
                    mark = item.start_mark
                    value_marks[path + (i,)] = (mark.line + 1, mark.column + 1)
                    items.append(item.value)
                else:
                    items.append(_build(loader, item, path + (i,), doc, active))
            return items
        result: dict[Any, Any] = {}
        for key_node, _ in node.value:
            if key_node.tag in _FLATTEN_TAGS:
                loader.flatten_mapping(node)  # `<<: *base` merge keys
                break
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                key = _scalar(loader, key_node)
            else:  # a mapping or list as a key: refused below, after its own checks
                key = _build(loader, key_node, path + ("<key>",), doc, active)
                value_marks.pop(path + ("<key>",), None)
            if not isinstance(key, (str, int, float, bool)) or key is None:
                raise yaml.MarkedYAMLError(
                    problem="a mapping key must be a plain scalar",
                    problem_mark=key_node.start_mark,
                )
            if key in result:
                raise yaml.MarkedYAMLError(
                    problem=f"duplicate key {key!r}", problem_mark=key_node.start_mark
                )
            where = path + (key,)
            doc.key_marks[where] = _position(key_node.start_mark)
            if value_node.__class__ is yaml.ScalarNode and value_node.tag == _STR_TAG:
                mark = value_node.start_mark
                value_marks[where] = (mark.line + 1, mark.column + 1)
                result[key] = value_node.value
            else:
                result[key] = _build(loader, value_node, where, doc, active)
        return result
    finally:
        active.discard(id(node))


def _scalar(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    if node.tag == _STR_TAG:  # what the constructor would return, without its overhead
        return node.value
    try:
        return loader.construct_object(node, deep=True)
    except yaml.YAMLError:
        raise
    except Exception:  # an explicit tag whose text does not parse: `!!int abc`, `!!timestamp x`
        raise yaml.MarkedYAMLError(
            problem=f"{node.value!r} is not a valid {node.tag.rsplit(':', 1)[-1]}",
            problem_mark=node.start_mark,
        ) from None
