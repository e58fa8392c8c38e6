"""Evaluates condition trees against observations, optionally keeping a trace for explanations.

An observation is `(value, certainty)` with the certainty in (0, 1]: how sure the observer is
of the VALUE. A test on it counts +certainty when it holds and -certainty when it does not;
the certainty never negates the value (see `forward.normalize`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from advisor.engine.certainty import conjunction, disjunction, negation
from advisor.kb.display import describe_test
from advisor.kb.model import AllOf, AnyOf, Condition, FactTest, Not, RuleRef

Observations = dict[str, tuple[Any, float]]
ConclusionLookup = Callable[[str], "float | None"]

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "is": lambda a, b: a == b and type(a) is type(b) or _num_eq(a, b),
    "ne": lambda a, b: not (a == b and type(a) is type(b) or _num_eq(a, b)),
    "in": lambda a, b: a in b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
}


def _num_eq(a: Any, b: Any) -> bool:
    numbers = (int, float)
    return (isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool)
            and not isinstance(b, bool) and a == b)


def test_holds(test: FactTest, value: Any) -> bool | None:
    """Whether every comparison holds; None when the value cannot be compared (wrong type)."""
    try:
        return all(_OPS[op](value, ref) for op, ref in test.comparisons)
    except TypeError:
        return None


def evaluate(cond: Condition, facts: Observations, conclusion: ConclusionLookup) -> float | None:
    """The certainty of a condition; None when unknown."""
    if isinstance(cond, FactTest):
        observed = facts.get(cond.fact)
        if observed is None:
            return None
        value, cf = observed
        holds = test_holds(cond, value)
        if holds is None:
            return None
        return cf if holds else -cf
    if isinstance(cond, RuleRef):
        return conclusion(cond.rule)
    if isinstance(cond, AllOf):
        return conjunction([evaluate(p, facts, conclusion) for p in cond.parts])
    if isinstance(cond, AnyOf):
        return disjunction([evaluate(p, facts, conclusion) for p in cond.parts])
    return negation(evaluate(cond.part, facts, conclusion))


Premise = Callable[[Observations, ConclusionLookup], "float | None"]


def compile_condition(cond: Condition) -> Premise:
    """`evaluate` specialised to one condition: a closure that gives exactly what
    `evaluate(cond, facts, conclusion)` gives, without walking the tree each time."""
    if isinstance(cond, FactTest):
        name = cond.fact
        ops = tuple((_OPS[op], ref) for op, ref in cond.comparisons)
        if len(ops) == 1:
            [(op, ref)] = ops

            def fact_test(facts: Observations, conclusion: ConclusionLookup) -> float | None:
                observed = facts.get(name)
                if observed is None:
                    return None
                value, cf = observed
                try:
                    holds = bool(op(value, ref))
                except TypeError:
                    return None
                return cf if holds else -cf

            return fact_test

        def fact_tests(facts: Observations, conclusion: ConclusionLookup) -> float | None:
            observed = facts.get(name)
            if observed is None:
                return None
            value, cf = observed
            try:
                holds = all(op(value, ref) for op, ref in ops)
            except TypeError:
                return None
            return cf if holds else -cf

        return fact_tests
    if isinstance(cond, RuleRef):
        rule_id = cond.rule
        return lambda facts, conclusion: conclusion(rule_id)
    if isinstance(cond, (AllOf, AnyOf)):
        parts = tuple(compile_condition(p) for p in cond.parts)
        combine = conjunction if isinstance(cond, AllOf) else disjunction
        return lambda facts, conclusion: combine([p(facts, conclusion) for p in parts])
    part = compile_condition(cond.part)
    return lambda facts, conclusion: negation(part(facts, conclusion))


@dataclass
class Trace:
    """One node of a condition's evaluation, for "how was this concluded"."""

    label: str
    certainty: float | None
    kind: str  # fact | rule | all | any | not
    value: Any = None
    children: list[Trace] = field(default_factory=list)
    ref: str = ""  # the fact name or the rule id this node tested

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Trace:
        """The node back from `to_dict`'s output (a stored report); missing parts are empty."""
        cf = data.get("certainty")
        return cls(str(data.get("label", "")),
                   float(cf) if isinstance(cf, (int, float)) and not isinstance(cf, bool)
                   else None,
                   str(data.get("kind", "")), data.get("value"),
                   [cls.from_dict(c) for c in data.get("children") or [] if isinstance(c, dict)],
                   str(data.get("fact") or data.get("rule") or ""))

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind, "label": self.label,
                                "certainty": _round(self.certainty)}
        if self.kind == "fact":
            data["fact"] = self.ref
            data["value"] = self.value
        if self.kind == "rule":
            data["rule"] = self.ref
        if self.children:
            data["children"] = [c.to_dict() for c in self.children]
        return data


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def trace(cond: Condition, facts: Observations, conclusion: ConclusionLookup) -> Trace:
    """Like `evaluate`, but keeps every intermediate certainty."""
    if isinstance(cond, FactTest):
        observed = facts.get(cond.fact)
        cf = evaluate(cond, facts, conclusion)
        value = observed[0] if observed else None
        return Trace(describe_test(cond), cf, "fact", value=value, ref=cond.fact)
    if isinstance(cond, RuleRef):
        return Trace(cond.rule, conclusion(cond.rule), "rule", ref=cond.rule)
    if isinstance(cond, (AllOf, AnyOf)):
        children = [trace(p, facts, conclusion) for p in cond.parts]
        combine = conjunction if isinstance(cond, AllOf) else disjunction
        kind = "all" if isinstance(cond, AllOf) else "any"
        return Trace(kind, combine([c.certainty for c in children]), kind, children=children)
    assert isinstance(cond, Not)
    child = trace(cond.part, facts, conclusion)
    return Trace("not", negation(child.certainty), "not", children=[child])
