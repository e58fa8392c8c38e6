"""Explanations: how each conclusion was reached, as data and as readable text."""

from __future__ import annotations

from typing import Any

from advisor.engine.evaluate import Trace, trace
from advisor.engine.forward import ChainState
from advisor.engine.index import RuleIndex
from advisor.engine.result import Explanation, Firing


def explain(index: RuleIndex, state: ChainState, conclusion: str,
            _seen: frozenset[str] = frozenset()) -> Explanation:
    """The rules that fired for `conclusion`, each with its premise tree, recursively."""

    lookup = state.conclusion
    firings = []
    supports: dict[str, Explanation] = {}
    for pos in state.fired.get(conclusion, []):
        rule = index.order[pos]
        premise = state.premise[pos] or 0.0
        tree = trace(rule.when, state.facts, lookup)
        firings.append(Firing(rule, premise, premise * rule.cf, tree))
        for ref in index.inputs_rules[pos]:
            if ref in state.fired and ref not in supports and ref not in _seen:
                supports[ref] = explain(index, state, ref, _seen | {conclusion})
    return Explanation(conclusion, state.evidence.get(conclusion, 0.0), firings, supports)


def evidence(explanation: Explanation) -> list[dict[str, Any]]:
    """The observations that spoke for the conclusion, deduplicated, nested conclusions too."""
    found: dict[str, dict[str, Any]] = {}

    def visit(node: Trace, sign: float) -> None:
        if node.certainty is None or node.certainty * sign <= 0:
            return
        if node.kind == "fact":
            found.setdefault(node.ref, {"fact": node.ref, "value": node.value,
                                        "test": node.label if sign > 0 else f"not {node.label}",
                                        "certainty": round(abs(node.certainty), 4)})
        for child in node.children:
            visit(child, -sign if node.kind == "not" else sign)

    def walk(expl: Explanation) -> None:
        for firing in expl.firings:
            visit(firing.trace, 1.0)
        for sub in expl.supports.values():
            walk(sub)

    walk(explanation)
    return list(found.values())
