"""Human-readable views of rules and facts (`advisor kb show`, the TUI's browser).

Describing a condition needs no evaluation, so this lives with the knowledge model (the
engine's explanations import `describe_test` from here; never the other way round).
"""

from __future__ import annotations

import re
import textwrap
from typing import Any

from advisor.kb.model import (
    AllOf,
    AnyOf,
    Condition,
    Fact,
    FactTest,
    KnowledgeBase,
    Not,
    Rule,
    rule_refs,
    walk,
)
from advisor.kb.trials import TRIAL_TAG

_SYMBOLS = {"is": "=", "ne": "!=", "in": "in", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}


def describe_test(test: FactTest) -> str:
    """`optim.lr > 0.01 and optim.lr < 1`: a fact test as one line."""
    parts = []
    for op, ref in test.comparisons:
        shown = "[" + ", ".join(map(str, ref)) + "]" if op == "in" else _fmt(ref)
        parts.append(f"{test.fact} {_SYMBOLS[op]} {shown}")
    return " and ".join(parts)


def _fmt(value: Any) -> str:
    if value == "":
        return '""'  # `x != ""` rather than a dangling `x !=`
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def condition_lines(cond: Condition, indent: str = "") -> list[str]:
    if isinstance(cond, FactTest):
        return [f"{indent}{describe_test(cond)}"]
    if isinstance(cond, (AllOf, AnyOf)):
        head = "all of:" if isinstance(cond, AllOf) else "any of:"
        lines = [f"{indent}{head}"]
        for part in cond.parts:
            lines += condition_lines(part, indent + "  ")
        return lines
    if isinstance(cond, Not):
        return [f"{indent}not:"] + condition_lines(cond.part, indent + "  ")
    return [f"{indent}conclusion {cond.rule}"]


_LIST_ITEM = re.compile(r"\s*(?:[-*\u2022]|\d+[.)])\s")


def paragraphs(text: str) -> list[str]:
    """Text as rule authors write it in a YAML `|` block, ready to wrap to another width.

    A line break inside a paragraph is only the author's wrapping, so the lines are joined;
    a list item starts a new line; a blank line between paragraphs is kept as "".
    """
    out: list[str] = []
    current: list[str] = []
    for line in text.strip().splitlines():
        if not line.strip() or _LIST_ITEM.match(line):
            if current:
                out.append(" ".join(current))
                current = []
            if not line.strip():
                out.append("")
                continue
        current.append(line.strip())
    if current:
        out.append(" ".join(current))
    return out


def _para(text: str, indent: str = "  ") -> str:
    return "\n".join(textwrap.fill(p, 78, initial_indent=indent, subsequent_indent=indent)
                     for p in paragraphs(text) if p)


def rule_text(kb: KnowledgeBase, rule: Rule) -> str:
    out = [f"{rule.id}: {rule.title}",
           f"  kind {rule.kind}, severity {rule.severity}, cf {rule.cf:+.2f}",
           f"  defined at {rule.location}"]
    if rule.concludes:
        out.append(f"  adds evidence for: {rule.concludes}")
    if TRIAL_TAG in rule.tags:
        out.append(textwrap.fill(f"synthesised by the loader from the remedy trials of "
                                 f"{rule.concludes} (advisor probe --verify measures its fact)",
                                 78, initial_indent="  ", subsequent_indent="  "))
    out += ["", "When:"] + condition_lines(rule.when, "  ")
    out += ["", "Why it matters:", _para(rule.explanation)]
    if rule.contested:
        out += ["", "Contested:", _para(rule.contested)]
    if rule.remedies:
        out += ["", "Remedies:"]
        for i, r in enumerate(rule.remedies, 1):
            out.append(textwrap.fill(f"{i}. {r.action}", 78, initial_indent="  ",
                                     subsequent_indent="     "))
            if r.detail:
                out.append(_para(r.detail, "     "))
            if r.trial is not None:
                out.append(f"     trial: {r.trial.label}")
    out += ["", "Sources:"] + [f"  - {s}" for s in rule.sources]
    out += ["", "Examples:"]
    for ex in rule.examples:
        given = ", ".join(f"{k}={v}" for k, v in ex.given.items())
        out.append(f"  {ex.expect:<6} {given}")
    users = [r.id for r in kb.rules.values()
             if rule.conclusion in rule_refs(r.when) and r.id != rule.id]
    evidence = [r.id for r in kb.rules.values() if r.concludes == rule.id]
    if evidence:
        out += ["", "Also concluded by: " + ", ".join(evidence)]
    if users:
        out += ["", "Used by: " + ", ".join(users)]
    return "\n".join(out)


def fact_text(kb: KnowledgeBase, fact: Fact) -> str:
    out = [f"{fact.name} ({fact.type}{', ' + fact.unit if fact.unit else ''})",
           _para(fact.meaning)]
    if fact.values:
        out.append("  values: " + ", ".join(fact.values))
    if fact.measured:
        out += ["", "Measured:", _para(fact.measured)]
    if fact.ask:
        out += ["", f"Asked: {fact.ask.question}"]
        if fact.ask.help:
            out.append(_para(fact.ask.help))
    users = [r.id for r in kb.rules.values()
             if any(isinstance(n, FactTest) and n.fact == fact.name for n in walk(r.when))]
    out += ["", "Used by: " + (", ".join(users) if users else "no rule")]
    return "\n".join(out)
