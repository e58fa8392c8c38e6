"""Cross-checks that need the whole merged base: references, enum values, examples' facts."""

from __future__ import annotations

import math
from typing import Any

from advisor.kb.model import Fact, FactTest, KnowledgeBase, Location, Problem, RuleRef, walk
from advisor.kb.structure import describe, reads_as_number, shorten, suggest

LISTED = 20  # problems of one kind listed in full; the rest are counted ("and N more")
OBSERVATION_KEYS = ("value", "cf")
_OBSERVATION_SYNONYMS = {"certainty": "cf", "confidence": "cf", "conf": "cf", "p": "cf",
                         "probability": "cf", "val": "value", "v": "value"}


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
    if fact.type == "number" and isinstance(value, str) and reads_as_number(value):
        return (f"fact '{fact.name}' is number, got {describe(value)}: expected a number; "
                "write it without quotes")
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
    """`v` or `{value: v, cf: c}` -> (v, c); a certainty that is not a number gives NaN.

    Tolerant on purpose: the engine drops what this cannot read as an observation (see
    `advisor.engine.forward.normalize`); `observation_problems` says what is wrong with it.
    """
    if isinstance(value, dict) and "value" in value:
        cf = value.get("cf", 1.0)
        if isinstance(cf, bool) or not isinstance(cf, (int, float)):
            return value["value"], math.nan
        try:
            return value["value"], float(cf)
        except OverflowError:  # an integer too large for a float
            return value["value"], math.inf if cf > 0 else -math.inf
    return value, 1.0


def observation_problems(name: str, raw: Any) -> list[str]:
    """What is wrong with the form of one observation (not with its value).

    An observation's certainty is how sure the observer is of the VALUE, in (0, 1]. It is
    not evidence against the value: "I doubt the rate is 0.5" says nothing about whether the
    rate is above or below 1, so a zero or negative certainty is refused. To say a bool fact
    is false, observe `false`; to say nothing, leave the fact out.
    """
    if not isinstance(raw, dict):
        return []
    problems = []
    for key in raw:
        if key not in OBSERVATION_KEYS:
            known = _OBSERVATION_SYNONYMS.get(str(key).lower())
            hint = f"; did you mean '{known}'?" if known else suggest(str(key),
                                                                      list(OBSERVATION_KEYS))
            problems.append(f"unknown key '{shorten(str(key))}' in the observation of '{name}'"
                            f"{hint} (an observation with a certainty is written "
                            "{value: V, cf: C})")
    if "value" not in raw:
        problems.append(f"the observation of '{name}' has no 'value' (write {{value: V, cf: C}},"
                        " or the plain value)")
    if "cf" in raw:
        cf = raw["cf"]
        if isinstance(cf, bool) or not isinstance(cf, (int, float)) or math.isnan(cf):
            problems.append(f"certainty of '{name}' must be a number in (0, 1], got "
                            f"{describe(cf)}")
        elif not 0 < cf <= 1:
            problems.append(f"certainty of '{name}' is {shorten(repr(cf))}: the certainty of an "
                            "observation must be in (0, 1]; to say a fact is false use its "
                            "value, and leave out a fact you do not know")
    return problems


def check_facts(kb: KnowledgeBase, facts: dict[str, Any], where: Location,
                locations: dict[str, Location] | None = None,
                listed: int = LISTED) -> list[Problem]:
    """Problems with a set of observations (an example's `given`, a facts file, a report).

    At most `listed` problems of each kind (unknown names, bad values, bad observations) are
    given in full, the rest as one "N more" line: a file with two million unknown names gets
    a readable answer, and costs one dictionary lookup per name (the did-you-mean search,
    which compares a name with every fact, runs only for the names listed).
    """
    locations = locations or {}
    counts = {"unknown": 0, "value": 0, "form": 0}
    listing: list[Problem] = []
    names: list[str] | None = None

    def add(kind: str, loc: Location, message: str) -> bool:
        counts[kind] += 1
        if counts[kind] <= listed:
            listing.append(Problem(loc, message))
        return counts[kind] <= listed

    for name, raw in facts.items():
        loc = locations.get(name, where)
        fact = kb.facts.get(name)
        if fact is None:
            if counts["unknown"] < listed:
                names = names if names is not None else list(kb.facts)
                add("unknown", loc, f"unknown fact '{shorten(str(name))}'{suggest(name, names)}")
            else:
                counts["unknown"] += 1
            continue
        for message in observation_problems(name, raw):
            add("form", loc, message)
        value, _cf = normalize_observation(raw)
        if value is None or (isinstance(raw, dict) and "value" not in raw):
            continue
        if not fact.accepts(value):
            if counts["value"] < listed:
                add("value", loc, check_value(fact, value) or "")
            else:
                counts["value"] += 1
    what = {"unknown": "unknown fact names", "value": "values a fact does not accept",
            "form": "malformed observations"}
    for kind, count in counts.items():
        if count > listed:  # "unknown fact..." first, so a report's filter treats it alike
            prefix = "unknown fact names: " if kind == "unknown" else f"{what[kind]}: "
            listing.append(Problem(where, f"{prefix}{count - listed:,} more not listed "
                                   f"({count:,} in all; the first {listed} are above)"))
    return listing


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
