"""Checks a parsed YAML file against the JSON Schema, reporting file:line:col.

A small interpreter for the subset of JSON Schema that `schema.py` uses. Conditions (the
recursive `$defs/condition`) are left to the condition parser, which gives better messages
than a generic `oneOf` failure could.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from advisor.kb.model import Problem
from advisor.kb.yamlsource import Path, YamlDocument

_TYPE_NAMES = {
    "string": "a string",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "a mapping",
}


def _is_type(value: Any, name: str) -> bool:
    if name == "string":
        return isinstance(value, str)
    if name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if name == "boolean":
        return isinstance(value, bool)
    if name == "array":
        return isinstance(value, list)
    if name == "object":
        return isinstance(value, dict)
    return True


ECHO_LIMIT = 80  # characters of a person's value echoed back in a message


def shorten(text: str, limit: int = ECHO_LIMIT) -> str:
    """`text` cut to `limit` characters with "…": a 50 MB value must not come back whole."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe(value: Any) -> str:
    """`string 'abc'`, `number 3`, `list`: a value's kind and (cut) text, for messages."""
    kind = {bool: "boolean", int: "number", float: "number", str: "string", list: "list",
            dict: "mapping", type(None): "nothing"}.get(type(value), type(value).__name__)
    if isinstance(value, str):
        shown = repr(value) if len(value) <= ECHO_LIMIT else repr(shorten(value)) + \
            f" ({len(value):,} characters)"
    elif isinstance(value, (int, float, bool)):
        shown = shorten(repr(value))
    else:
        shown = ""
    return f"{kind} {shown}".strip()


def suggest(word: str, choices: list[str]) -> str:
    """"; did you mean 'x'?" for the closest choice, or "". Long words are not compared: no
    name is that long, and difflib's cost grows with the length."""
    word = str(word)
    if len(word) > 4 * ECHO_LIMIT:
        return ""
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


class StructureChecker:
    """Walks one document with the schema; collects every problem, not only the first."""

    def __init__(self, schema: dict[str, Any], doc: YamlDocument):
        self.schema = schema
        self.doc = doc
        self.problems: list[Problem] = []

    def run(self) -> list[Problem]:
        self.check(self.doc.data, self.schema, (), "file")
        return self.problems

    def fail(self, path: Path, message: str, key: bool = False) -> None:
        self.problems.append(Problem(self.doc.at(path, key=key), message))

    def check(self, value: Any, spec: dict[str, Any], path: Path, what: str) -> bool:
        if "$ref" in spec:
            name = spec["$ref"].rsplit("/", 1)[-1]
            if name in ("condition", "trial"):
                return True  # parsed by the condition parser, checked by kb.trials.check_trial
            return self.check(value, self.schema["$defs"][name], path, what)
        if "const" in spec and value != spec["const"]:
            self.fail(path, f"{what} must be {spec['const']!r}, got {describe(value)}")
            return False
        if "enum" in spec and value not in spec["enum"]:
            allowed = ", ".join(map(str, spec["enum"]))
            hint = suggest(value, [str(e) for e in spec["enum"]])
            self.fail(path, f"{what} must be one of {allowed}; got {describe(value)}{hint}")
            return False
        types = spec.get("type")
        if types is not None:
            names = [types] if isinstance(types, str) else list(types)
            if not any(_is_type(value, t) for t in names):
                wanted = " or ".join(_TYPE_NAMES.get(t, t) for t in names)
                self.fail(path, f"{what} must be {wanted}, got {describe(value)}")
                return False
        if isinstance(value, str):
            self._check_string(value, spec, path, what)
        elif _is_type(value, "number"):
            self._check_number(value, spec, path, what)
        elif isinstance(value, list):
            self._check_array(value, spec, path, what)
        elif isinstance(value, dict):
            self._check_object(value, spec, path, what)
        return True

    def _check_string(self, value: str, spec: dict[str, Any], path: Path, what: str) -> None:
        if len(value.strip()) < spec.get("minLength", 0):
            self.fail(path, f"{what} must not be empty")
        pattern = spec.get("pattern")
        if pattern and not re.match(pattern, value):
            self.fail(path, f"{what} {shorten(value)!r} does not match {pattern} "
                            "(lower-case words joined by '_' or '.')")

    def _check_number(self, value: float, spec: dict[str, Any], path: Path, what: str) -> None:
        if "minimum" in spec and value < spec["minimum"]:
            self.fail(path, f"{what} must be at least {spec['minimum']}, got {value}")
        if "maximum" in spec and value > spec["maximum"]:
            self.fail(path, f"{what} must be at most {spec['maximum']}, got {value}")

    def _check_array(self, value: list, spec: dict[str, Any], path: Path, what: str) -> None:
        if len(value) < spec.get("minItems", 0):
            self.fail(path, f"{what} needs at least {spec['minItems']} item(s), got {len(value)}")
        items = spec.get("items")
        if items:
            for i, item in enumerate(value):
                self.check(item, items, path + (i,), f"{what}[{i}]")

    def _check_object(self, value: dict, spec: dict[str, Any], path: Path, what: str) -> None:
        props: dict[str, Any] = spec.get("properties", {})
        label = _label(value, what)
        for key in spec.get("required", []):
            if key not in value:
                self.fail(path, f"{label} is missing the required field '{key}'")
        if len(value) < spec.get("minProperties", 0):
            self.fail(path, f"{label} must have at least {spec['minProperties']} field(s)")
        extra = spec.get("additionalProperties", True)
        for key, item in value.items():
            if key in props:
                self.check(item, props[key], path + (key,), f"'{key}'")
            elif extra is False:
                allowed = ", ".join(props)
                self.fail(path + (key,), f"unknown field '{key}' in {label}"
                          f"{suggest(key, list(props))} (allowed: {allowed})", key=True)
            elif isinstance(extra, dict):
                self.check(item, extra, path + (key,), f"'{key}'")


def _label(value: dict, what: str) -> str:
    if "id" in value and isinstance(value["id"], str):
        return f"rule '{value['id']}'"
    if "name" in value and isinstance(value["name"], str) and "type" in value:
        return f"fact '{value['name']}'"
    return what
