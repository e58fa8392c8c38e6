"""Cross-checks that need the whole merged base: references, enum values, examples' facts."""

from __future__ import annotations

import math
from typing import Any

from advisor.kb.model import Fact, FactTest, KnowledgeBase, Location, Problem, RuleRef, walk
from advisor.kb.structure import describe, suggest


def check_semantics(kb: KnowledgeBase) -> list[Problem]:
    problems: list[Problem] = []
    for fact in kb.facts.values():
        problems += _check_fact(fact)
    for rule in kb.rules.values():
        for node in walk(rule.when):
            if isinstance(node, FactTest):
                problems += check_fact_test(kb, node)
            elif isinstance(node, RuleRef) and node.rule not in kb.rules:
                hint = suggest(node.rule, list(kb.rules))
                problems.append(Problem(node.location, f"unknown rule '{node.rule}' in the "
                                        f"condition of '{rule.id}'{hint}"))
        problems += _check_conclusion(kb, rule)
        problems += _check_examples(kb, rule)
    return problems


def _check_fact(fact: Fact) -> list[Problem]:
    problems = []
    if fact.type == "enum" and not fact.values:
        problems.append(Problem(fact.location, f"enum fact '{fact.name}' needs 'values'"))
    if fact.type != "enum" and fact.values:
        problems.append(Problem(fact.location, f"'values' is only for enum facts; "
                                f"'{fact.name}' is {fact.type}"))
    if fact.ask:
        for value, _label in fact.ask.choices:
            if not fact.accepts(value):
                problems.append(Problem(fact.location, f"answer choice {value!r} of fact "
                                        f"'{fact.name}' is not a legal {fact.type} value"))
    return problems


def check_value(fact: Fact, value: Any) -> str | None:
    """Why `value` is not legal for `fact`, or None when it is."""
    if fact.accepts(value):
        return None
    if fact.type == "enum":
        hint = suggest(value, list(fact.values)) if isinstance(value, str) else ""
        return (f"{describe(value)} is not a value of enum fact '{fact.name}' "
                f"(allowed: {', '.join(fact.values)}){hint}")
    return f"fact '{fact.name}' is {fact.type}, got {describe(value)}"


def check_fact_test(kb: KnowledgeBase, node: FactTest) -> list[Problem]:
    fact = kb.facts.get(node.fact)
    if fact is None:
        return [Problem(node.location, f"unknown fact '{node.fact}'"
                        f"{suggest(node.fact, list(kb.facts))}; declare it under 'facts:'")]
    problems = []
    for op, value in node.comparisons:
        if op in ("gt", "ge", "lt", "le") and fact.type != "number":
            problems.append(Problem(node.location, f"'{op}' needs a number fact; "
                                    f"'{fact.name}' is {fact.type}"))
            continue
        for v in value if op == "in" else (value,):
            if op in ("gt", "ge", "lt", "le"):
                continue
            reason = check_value(fact, v)
            if reason:
                problems.append(Problem(node.location, reason))
    return problems


def _check_conclusion(kb: KnowledgeBase, rule) -> list[Problem]:
    if not rule.concludes:
        if not rule.remedies and rule.kind != "symptom":
            return [Problem(rule.location, f"rule '{rule.id}' defines a diagnosis but has no "
                            "remedies; add at least one, or make it kind: symptom")]
        return []
    target = kb.rules.get(rule.concludes)
    if target is None:
        return [Problem(rule.location, f"'{rule.id}' concludes unknown rule '{rule.concludes}'"
                        f"{suggest(rule.concludes, list(kb.rules))}")]
    if target.concludes:
        return [Problem(rule.location, f"'{rule.id}' concludes '{rule.concludes}', which itself "
                        f"concludes '{target.concludes}'; point at '{target.concludes}' directly")]
    return []


def normalize_observation(value: Any) -> tuple[Any, float]:
    """`v` or `{value: v, cf: c}` -> (v, c); a certainty that is not a number gives NaN."""
    if isinstance(value, dict) and "value" in value:
        cf = value.get("cf", 1.0)
        if isinstance(cf, bool) or not isinstance(cf, (int, float)):
            return value["value"], math.nan
        try:
            return value["value"], float(cf)
        except OverflowError:  # an integer too large for a float
            return value["value"], math.inf if cf > 0 else -math.inf
    return value, 1.0


def check_facts(kb: KnowledgeBase, facts: dict[str, Any], where: Location,
                locations: dict[str, Location] | None = None) -> list[Problem]:
    """Problems with a set of observations (an example's `given`, a facts file)."""
    problems = []
    for name, raw in facts.items():
        loc = (locations or {}).get(name, where)
        fact = kb.facts.get(name)
        if fact is None:
            problems.append(Problem(loc, f"unknown fact '{name}'{suggest(name, list(kb.facts))}"))
            continue
        value, cf = normalize_observation(raw)
        if value is None:
            continue
        reason = check_value(fact, value)
        if reason:
            problems.append(Problem(loc, reason))
        if math.isnan(cf):
            problems.append(Problem(loc, f"certainty of '{name}' must be a number within "
                                    f"[-1, 1], got {describe(raw.get('cf'))}"))
        elif not -1.0 <= cf <= 1.0:
            problems.append(Problem(loc, f"certainty of '{name}' must be within [-1, 1], got {cf}"))
    return problems


def _check_examples(kb: KnowledgeBase, rule) -> list[Problem]:
    problems = []
    for ex in rule.examples:
        problems += check_facts(kb, ex.given, ex.location, ex.fact_locations)
    expects = {ex.expect for ex in rule.examples}
    for needed in ("fires", "silent"):
        if needed not in expects:
            problems.append(Problem(rule.location, f"rule '{rule.id}' needs an example with "
                                    f"expect: {needed}"))
    return problems
