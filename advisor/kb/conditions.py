"""Turns the `when:` trees of rule files into condition objects, with precise complaints."""

from __future__ import annotations

from typing import Any

from advisor.kb.model import COMPARISONS, AllOf, AnyOf, Condition, FactTest, Not, Problem, RuleRef
from advisor.kb.structure import describe, suggest
from advisor.kb.yamlsource import Path, YamlDocument

_COMBINATORS = ("all", "any", "not")
_KEYS = _COMBINATORS + ("rule", "fact")
# What people write for a comparison from other languages and tools (SQL, Mongo, pandas,
# JavaScript): looked up before the edit-distance guess, which would turn `gte` into `gt`.
SYNONYMS = {
    "gte": "ge", "geq": "ge", ">=": "ge", "min": "ge",
    "lte": "le", "leq": "le", "<=": "le", "max": "le",
    ">": "gt", "greater": "gt", "<": "lt", "less": "lt",
    "eq": "is", "equals": "is", "equal": "is", "==": "is", "=": "is", "value": "is",
    "neq": "ne", "not_equal": "ne", "!=": "ne", "isnot": "ne", "is_not": "ne",
    "nin": "ne", "one_of": "in", "oneof": "in",
}


def suggest_comparison(key: str) -> str:
    """"; did you mean 'ge'?" for a comparison people spell differently, or a close name."""
    known = SYNONYMS.get(str(key).lower())
    if known:
        return f"; did you mean '{known}'?"
    return suggest(key, list(COMPARISONS))


class ConditionParser:
    def __init__(self, doc: YamlDocument, problems: list[Problem]):
        self.doc = doc
        self.problems = problems

    def fail(self, path: Path, message: str, key: bool = False) -> None:
        self.problems.append(Problem(self.doc.at(path, key=key), message))

    def parse(self, raw: Any, path: Path) -> Condition | None:
        """Parse one condition; None (with a problem recorded) when it is malformed."""
        loc = self.doc.at(path)
        if not isinstance(raw, dict) or not raw:
            self.fail(path, "a condition must be a mapping with one of all, any, not, rule or "
                            f"fact; got {describe(raw)}")
            return None
        heads = [k for k in raw if k in _KEYS]
        if set(heads) == {"fact", "not"} and not isinstance(raw["not"], (dict, list)):
            self.fail(path + ("not",), f"'not' beside 'fact' is not a comparison; did you mean "
                      f"'ne'? (write {{fact: {raw['fact']}, ne: VALUE}})", key=True)
            return None
        if len(heads) != 1:
            if not heads:
                key = next(iter(raw))
                self.fail(path + (key,), f"unknown condition key '{key}'{suggest(key, list(_KEYS))}"
                          " (use all, any, not, rule, or fact with is/ne/in/gt/ge/lt/le)", key=True)
            else:
                self.fail(path, f"a condition has exactly one of all/any/not/rule/fact; found "
                                f"{', '.join(heads)} (wrap them in 'all:' to combine)")
            return None
        head = heads[0]
        if head in ("all", "any"):
            return self._combination(raw, head, path, loc)
        if head == "not":
            self._no_extra(raw, {"not"}, path)
            part = self.parse(raw["not"], path + ("not",))
            return Not(part, loc) if part is not None else None
        if head == "rule":
            self._no_extra(raw, {"rule"}, path)
            if not isinstance(raw["rule"], str):
                self.fail(path + ("rule",),
                          f"'rule' must name a rule id, got {describe(raw['rule'])}")
                return None
            return RuleRef(raw["rule"], loc)
        return self._fact_test(raw, path, loc)

    def _combination(self, raw: dict, head: str, path: Path, loc) -> Condition | None:
        self._no_extra(raw, {head}, path)
        items = raw[head]
        if not isinstance(items, list) or not items:
            self.fail(path + (head,), f"'{head}' takes a non-empty list of conditions")
            return None
        parts = [self.parse(item, path + (head, i)) for i, item in enumerate(items)]
        if any(p is None for p in parts):
            return None
        return (AllOf if head == "all" else AnyOf)(tuple(parts), loc)

    def _fact_test(self, raw: dict, path: Path, loc) -> Condition | None:
        name = raw["fact"]
        if not isinstance(name, str):
            self.fail(path + ("fact",), f"'fact' must name a fact, got {describe(name)}")
            return None
        comparisons = []
        ok = True
        for key, value in raw.items():
            if key == "fact":
                continue
            if key not in COMPARISONS:
                self.fail(path + (key,), f"unknown comparison '{key}' on fact '{name}'"
                          f"{suggest_comparison(key)} (allowed: {', '.join(COMPARISONS)})",
                          key=True)
                ok = False
                continue
            if key == "in" and (not isinstance(value, list) or not value):
                self.fail(path + (key,),
                          f"'in' takes a non-empty list of values, got {describe(value)}")
                ok = False
                continue
            if key in ("gt", "ge", "lt", "le") and (
                not isinstance(value, (int, float)) or isinstance(value, bool)
            ):
                self.fail(path + (key,), f"'{key}' compares with a number, got {describe(value)}")
                ok = False
                continue
            comparisons.append((key, tuple(value) if key == "in" else value))
        if ok and not comparisons:
            self.fail(path, f"the test on fact '{name}' has no comparison "
                            "(add is/ne/in/gt/ge/lt/le)")
            return None
        return FactTest(name, tuple(comparisons), loc) if ok else None

    def _no_extra(self, raw: dict, allowed: set[str], path: Path) -> None:
        for key in raw:
            if key not in allowed:
                self.fail(path + (key,), f"unexpected key '{key}' beside '{next(iter(allowed))}' "
                          "(wrap several conditions in 'all:' or 'any:')", key=True)
