"""Explanations: how each conclusion was reached, as data and as readable text."""

from __future__ import annotations

import textwrap
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


def _cf(x: float | None) -> str:
    return "unknown" if x is None else f"{x:+.2f}"


WIDTH = 80


def _fit(line: str) -> list[str]:
    """A line wrapped to 80 columns, continued four columns further in; ids are never split."""
    if len(line) <= WIDTH:
        return [line]
    indent = line[: len(line) - len(line.lstrip())]
    return textwrap.wrap(line.strip(), WIDTH, initial_indent=indent,
                         subsequent_indent=indent + "    ", break_long_words=False,
                         break_on_hyphens=False)


def explanation_text(expl: Explanation, indent: str = "") -> str:
    """A tree a person can read in an 80-column terminal."""
    lines = _fit(f"{indent}{expl.conclusion}: certainty {expl.certainty:.2f}")
    for f in expl.firings:
        lines += _fit(f"{indent}  <- rule {f.rule.id} (rule cf {f.rule.cf:+.2f}) "
                      f"premise {f.premise:.2f} => {f.contribution:+.2f}")
        lines += _trace_lines(f.trace, indent + "     ")
    for sub in expl.supports.values():
        lines.append(f"{indent}  where")
        lines.append(explanation_text(sub, indent + "    "))
    return "\n".join(lines)


def _trace_lines(node: Trace, indent: str) -> list[str]:
    if node.kind == "fact":
        value = "unknown" if node.value is None else node.value
        return _fit(f"{indent}{node.label}  [observed {value}; {_cf(node.certainty)}]")
    if node.kind == "rule":
        return _fit(f"{indent}conclusion {node.label}  [{_cf(node.certainty)}]")
    lines = [f"{indent}{node.kind}  [{_cf(node.certainty)}]"]
    for child in node.children:
        lines += _trace_lines(child, indent + "  ")
    return lines
