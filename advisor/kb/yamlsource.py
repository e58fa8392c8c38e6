"""Safe YAML parsing that remembers where every value was written.

JSON-Schema validators only see parsed objects and cannot report lines, so we walk PyYAML's node
tree ourselves and record a line map (path -> position) while building plain Python data.
Only the safe constructor is used: object tags such as `!!python/object` are refused.

Every YAML file advisor reads (knowledge files, facts files, reports) goes through
`parse_yaml` (text) or `read_yaml_file` (a path), so the rules below hold everywhere:

- **No aliases of mappings or lists.** An alias (`*name`) makes the composed node graph share
  a node; building plain data copies it once per use, so a 400-byte "billion laughs" file
  expands to gigabytes. We refuse every alias of a mapping or a list with the alias's
  `file:line:col`, instead of allowing some bounded expansion: knowledge and facts files are
  short and written by hand, an alias saves a few lines there, and "refused" is a rule a person
  can follow where "refused beyond N values" is not. Merge keys (`<<: *base`) copy a mapping
  and are refused as well. Aliases of a single scalar (`*lr`) cannot multiply anything and stay
  allowed. The check costs one set lookup per mapping or list.
- **Numbers as people write them.** YAML 1.1 reads `3e-4` and `1.0e5` as strings (its float
  needs a dot and a signed exponent); `_NumberResolver` reads them as floats.
- **Text is UTF-8.** A file that is not gets its line and column and "save the file as UTF-8";
  a tab in the indentation gets "use spaces for indentation, not tabs".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path as FilePath
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
    built: set[int] = field(default_factory=set, repr=False, compare=False)  # nodes built once
    text: str = field(default="", repr=False, compare=False)  # the source, to place aliases

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
    """A file advisor cannot read as YAML; `problem` says where and why.

    `syntax` is False for what advisor refuses in well-formed YAML (aliases, tags, duplicate
    keys): the fast parser's answer is final then, with no second parse for a better message.
    """

    def __init__(self, problem: Problem, syntax: bool = True):
        super().__init__(str(problem))
        self.problem = problem
        self.syntax = syntax


def _position(mark: yaml.Mark | None) -> tuple[int, int]:
    return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)


_SCIENTIFIC = re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$")


def _with_numbers(loader_class: type) -> type:
    """`loader_class` that also reads `3e-4`, `1e5`, `1.0e5` as floats (YAML 1.2 does).

    The resolver is consulted by libyaml's parser as well, so both loaders agree. The class
    attribute is copied by `add_implicit_resolver`, so PyYAML's own loaders are untouched.
    """
    cls = type(f"Advisor{loader_class.__name__}", (loader_class,), {})
    cls.add_implicit_resolver("tag:yaml.org,2002:float", _SCIENTIFIC, list("-+0123456789."))
    return cls


# libyaml's parser is about ten times faster; the pure-Python one words its errors better.
_FAST_LOADER = _with_numbers(yaml.CSafeLoader) if hasattr(yaml, "CSafeLoader") else None
_SLOW_LOADER = _with_numbers(yaml.SafeLoader)


def read_yaml_file(path: str | FilePath, shown: str | None = None) -> YamlDocument:
    """Read and parse one file; YamlError (with file:line:col) for unreadable or bad text.

    `shown` is the name used in messages (default: the path as given). OSError propagates, so
    callers keep their own wording for a missing file or a folder.
    """
    shown = str(path) if shown is None else shown
    raw = FilePath(path).read_bytes()
    return parse_yaml(decode_utf8(raw, shown), shown)


def decode_utf8(raw: bytes, file: str) -> str:
    """`raw` as text; YamlError at the first byte that is not UTF-8, with its line and column."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = raw.rfind(b"\n", 0, exc.start) + 1
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - line_start + 1
        byte = raw[exc.start]
        raise YamlError(Problem(Location(file, line, col),
                                f"not UTF-8 text (byte 0x{byte:02x} at column {col}); save the "
                                "file as UTF-8")) from None


def parse_yaml(text: str, file: str) -> YamlDocument:
    """Parse one YAML document; raise YamlError with file:line:col on any syntax problem."""
    if _FAST_LOADER is not None:
        try:
            return _parse(text, file, _FAST_LOADER)
        except YamlError as exc:
            if not exc.syntax:
                raise  # found while building the data: the same with either parser
            # a syntax error: parse again below, for the pure-Python parser's clearer message
    return _parse(text, file, _SLOW_LOADER)


def _parse(text: str, file: str, loader_class: type) -> YamlDocument:
    try:
        loader = loader_class(text)
    except yaml.reader.ReaderError as exc:  # a control character: the reader checks at once
        before = text[: exc.position]
        line, col = before.count("\n") + 1, len(before) - before.rfind("\n")
        raise YamlError(Problem(Location(file, line, col), f"YAML: unacceptable character "
                                f"#x{exc.character:04x}: {exc.reason}")) from None
    try:
        try:
            node = loader.get_single_node()
        except yaml.YAMLError as exc:
            raise _located(exc, text, file) from None
        doc = YamlDocument(file, None, text=text)
        try:
            doc.data = _build(loader, node, (), doc) if node is not None else None
        except yaml.YAMLError as exc:
            raise _located(exc, text, file, syntax=False) from None
        return doc
    finally:
        loader.dispose()


def _located(exc: yaml.YAMLError, text: str, file: str, syntax: bool = True) -> YamlError:
    """PyYAML's error as a YamlError at file:line:col, with a plain word for tabs."""
    if not isinstance(exc, yaml.MarkedYAMLError):
        return YamlError(Problem(Location(file, 1, 1), f"YAML: {exc}"), syntax)
    mark = exc.problem_mark or exc.context_mark
    message = " ".join(p for p in (exc.context, exc.problem) if p) or str(exc)
    line, col = _position(mark)
    tab = _tab_in_indentation(text, line) if syntax else None
    if tab:
        line, col = tab
        message = "a tab in the indentation; use spaces for indentation, not tabs"
    return YamlError(Problem(Location(file, line, col), f"YAML: {message}"), syntax)


def _tab_in_indentation(text: str, line: int) -> tuple[int, int] | None:
    """(line, col) of a tab in the leading whitespace of `line` or the line before, if any:
    the usual cause of a YAML error near a tab, which PyYAML words as a bad token."""
    lines = text.split("\n", line)[:line]
    for number in (line, line - 1):
        if 1 <= number <= len(lines):
            content = lines[number - 1]
            indent = content[: len(content) - len(content.lstrip(" \t"))]
            if "\t" in indent:
                return number, indent.index("\t") + 1
    return None


_PLAIN_TAGS = {yaml.MappingNode: "tag:yaml.org,2002:map",
               yaml.SequenceNode: "tag:yaml.org,2002:seq"}
_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_VALUE_TAG = "tag:yaml.org,2002:value"  # a plain `=` key, which YAML 1.1 gives its own tag


def _build(loader: yaml.SafeLoader, node: yaml.Node, path: Path, doc: YamlDocument,
           active: set[int] | None = None, where: yaml.Mark | None = None) -> Any:
    """Plain data for `node`; `where` is the mark of the key (or list) that holds it, used to
    place an alias, since the composer hands back the anchored node itself."""
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
    if id(node) in doc.built:
        _refuse_alias(node, where, doc.text)
    doc.built.add(id(node))
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
                    items.append(_build(loader, item, path + (i,), doc, active,
                                        _item_mark(node, i)))
            return items
        result: dict[Any, Any] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:  # `<<: *base` copies a mapping: an alias too
                raise yaml.MarkedYAMLError(
                    problem="a merge key (<<) is not allowed in advisor files: write the values "
                            "out (like aliases, merges let a few bytes stand for many)",
                    problem_mark=key_node.start_mark)
        for key_node, value_node in node.value:
            if key_node.tag == _VALUE_TAG:
                key = key_node.value
            elif isinstance(key_node, yaml.ScalarNode):
                key = _scalar(loader, key_node)
            else:  # a mapping or list as a key: refused below, after its own checks
                key = _build(loader, key_node, path + ("<key>",), doc, active, key_node.start_mark)
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
                result[key] = _build(loader, value_node, where, doc, active, key_node.start_mark)
        return result
    finally:
        active.discard(id(node))


def _item_mark(sequence: yaml.SequenceNode, i: int) -> yaml.Mark:
    """Where the text of item `i` may start: just after the item before it, or at the start
    of the list for the first item (an alias has no mark of its own)."""
    if i == 0:
        return sequence.start_mark
    return sequence.value[i - 1].end_mark


def _offset(text: str, mark: yaml.Mark) -> int:
    """The character offset of a mark, from its line and column (libyaml's `index` may count
    bytes, which differ from characters in non-ASCII text)."""
    start = 0
    for _ in range(mark.line):
        start = text.index("\n", start) + 1
    return start + mark.column


def _refuse_alias(node: yaml.Node, where: yaml.Mark | None, text: str) -> None:
    kind = "mapping" if isinstance(node, yaml.MappingNode) else "list"
    anchor_line, anchor_col = _position(node.start_mark)
    mark = where or node.start_mark
    star = text.find("*", _offset(text, mark)) if where is not None and text else -1
    if star >= 0:  # the alias itself: the first `*` after the key or the previous item
        line = text.count("\n", 0, star)
        mark = yaml.Mark(mark.name, star, line, star - text.rfind("\n", 0, star) - 1, None, None)
    raise yaml.MarkedYAMLError(
        problem=f"an alias of a {kind} (anchored at line {anchor_line}, column {anchor_col}) is "
                "not allowed in advisor files: write the values out (aliases let a few hundred "
                "bytes expand to gigabytes)",
        problem_mark=mark,
    )


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
