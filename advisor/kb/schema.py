"""The knowledge-base file format as a JSON Schema.

This dictionary is the single source of truth for field names, types and allowed values: the
loader validates against it (with file:line locations), and `advisor kb schema` publishes it so
editors can complete and check rule files while they are typed. A test keeps the published copy
in `knowledge/schema.json` equal to this one and checks it with the reference validator.
"""

from __future__ import annotations

from typing import Any

from advisor.kb.model import COMPARISONS, FACT_TYPES, KINDS, SEVERITIES
from advisor.kb.trials import TRANSFORMS, Argument

SCHEMA_ID = "https://advisor.dev/schema/advisor-kb-1.json"
FACT_NAME = r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$"
RULE_ID = r"^[a-z][a-z0-9_]*$"

_text = {"type": "string", "minLength": 1}
_scalar = {"type": ["string", "number", "boolean"]}


def _object(properties: dict[str, Any], required: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
        **extra,
    }


def _fact_test() -> dict[str, Any]:
    ops: dict[str, Any] = {"fact": {"type": "string", "pattern": FACT_NAME}}
    for op in COMPARISONS:
        if op == "in":
            ops[op] = {"type": "array", "items": _scalar, "minItems": 1}
        elif op in ("is", "ne"):
            ops[op] = _scalar
        else:
            ops[op] = {"type": "number"}
    return _object(ops, ["fact"], minProperties=2)


def _condition_defs() -> dict[str, Any]:
    cond = {"$ref": "#/$defs/condition"}
    return {
        "condition": {
            "description": "all / any / not over conditions, a fact test, or another rule's "
            "conclusion",
            "oneOf": [
                _object({"all": {"type": "array", "items": cond, "minItems": 1}}, ["all"]),
                _object({"any": {"type": "array", "items": cond, "minItems": 1}}, ["any"]),
                _object({"not": cond}, ["not"]),
                _object({"rule": {"type": "string", "pattern": RULE_ID}}, ["rule"]),
                _fact_test(),
            ],
        }
    }


def _fact() -> dict[str, Any]:
    ask = _object(
        {
            "question": _text,
            "help": {"type": "string"},
            "choices": {
                "type": "object",
                "description": "value -> label shown to the person",
                "additionalProperties": {"type": "string"},
            },
        },
        ["question", "help"],
    )
    return _object(
        {
            "name": {"type": "string", "pattern": FACT_NAME},
            "type": {"enum": list(FACT_TYPES)},
            "values": {"type": "array", "items": _text, "minItems": 1},
            "meaning": _text,
            "unit": {"type": "string"},
            "measured": {"type": "string"},
            "ask": ask,
            "replaces": {"type": "boolean"},
        },
        ["name", "type", "meaning"],
    )


def _rule() -> dict[str, Any]:
    source = _object(
        {"seed": _text, "section": {"type": "string"}, "ref": _text, "note": {"type": "string"}},
        [],
        minProperties=1,
    )
    remedy = _object(
        {
            "action": _text,
            "detail": {"type": "string"},
            "sources": {"type": "array", "items": _text},
            "trial": {"$ref": "#/$defs/trial"},
        },
        ["action"],
    )
    example = _object(
        {
            "name": {"type": "string"},
            "given": {"type": "object", "additionalProperties": True},
            "expect": {"enum": ["fires", "silent"]},
            "min_cf": {"type": "number", "minimum": -1, "maximum": 1},
        },
        ["given", "expect"],
    )
    return _object(
        {
            "id": {"type": "string", "pattern": RULE_ID},
            "title": _text,
            "kind": {"enum": list(KINDS)},
            "severity": {"enum": list(SEVERITIES)},
            "cf": {"type": "number", "minimum": -1, "maximum": 1},
            "when": {"$ref": "#/$defs/condition"},
            "explanation": _text,
            "remedies": {"type": "array", "items": remedy},
            "sources": {"type": "array", "items": source, "minItems": 1},
            "contested": {"type": "string"},
            "examples": {"type": "array", "items": example, "minItems": 2},
            "concludes": {"type": "string", "pattern": RULE_ID},
            "replaces": {"type": "boolean"},
            "tags": {"type": "array", "items": _text},
        },
        ["id", "title", "kind", "severity", "cf", "when", "explanation", "sources", "examples"],
    )


def _argument(arg: Argument) -> dict[str, Any]:
    """One trial argument's type and range, as `TRANSFORMS` defines it."""
    if arg.kind == "choice":
        return {"enum": list(arg.choices), "description": arg.doc}
    out: dict[str, Any] = {"type": "integer" if arg.kind == "integer" else "number",
                           "description": arg.doc}
    if arg.minimum is not None:
        out["exclusiveMinimum" if arg.minimum_exclusive else "minimum"] = arg.minimum
    if arg.maximum is not None:
        out["exclusiveMaximum" if arg.maximum_exclusive else "maximum"] = arg.maximum
    if arg.not_equal is not None:
        out["not"] = {"const": arg.not_equal}
    return out


def _trial_defs() -> dict[str, Any]:
    """`trial:` of a remedy: a transform of the closed vocabulary and its arguments.

    Every argument name of the vocabulary is a property (nothing else is allowed); one
    `if transform is X then ...` per transform adds X's required arguments, their ranges and
    which names X takes, so an editor flags a wrong argument as it is typed. The loader checks
    the same with `advisor.kb.trials.check_trial`, which words the messages better.
    """
    names = list(dict.fromkeys(a.name for s in TRANSFORMS.values() for a in s.arguments))
    cases = []
    for spec in TRANSFORMS.values():
        then: dict[str, Any] = {
            "properties": {a.name: _argument(a) for a in spec.arguments},
            "propertyNames": {"enum": ["transform", *spec.argument_names]},
        }
        required = [a.name for a in spec.arguments if a.required]
        if required:
            then["required"] = required
        if spec.one_of:
            then["oneOf"] = [{"required": [a]} for a in spec.one_of]
        cases.append({"if": {"properties": {"transform": {"const": spec.name}},
                             "required": ["transform"]},
                      "then": then})
    properties: dict[str, Any] = {
        "transform": {"enum": list(TRANSFORMS),
                      "description": "the change made to a copy of the setup"}}
    properties.update({n: {"type": ["number", "string"]} for n in names})
    return {"trial": {
        "description": "a change advisor probe --verify makes to a copy of the setup to test "
                       "this remedy: {transform: NAME, ARGUMENT: VALUE, ...}",
        **_object(properties, ["transform"]),
        "allOf": cases,
    }}


def kb_file_schema() -> dict[str, Any]:
    """The JSON Schema of one knowledge-base YAML file."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "advisor knowledge-base file",
        "description": "Facts and symptom -> cause -> remedy rules for the advisor engine.",
        "type": "object",
        "properties": {
            "version": {"const": 1},
            "facts": {"type": "array", "items": {"$ref": "#/$defs/fact"}},
            "rules": {"type": "array", "items": {"$ref": "#/$defs/rule"}},
        },
        "additionalProperties": False,
        "$defs": {"fact": _fact(), "rule": _rule(), **_condition_defs(), **_trial_defs()},
    }
