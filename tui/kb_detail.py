"""What the knowledge-base browser shows for a rule or a fact, as paragraphs to wrap.

The sections and their order are those of `advisor kb show` (`advisor.kb.display`), but each
paragraph stays one unbroken line: the browser's pane is narrower than the 78 columns the
command line wraps at, and the YAML line breaks of explanations are only the author's.
"""

from __future__ import annotations

from advisor.tui.widgets.reflowed import Block

from advisor.kb.display import describe_test, paragraphs
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


def condition_blocks(cond: Condition, indent: int = 2) -> list[Block]:
    if isinstance(cond, FactTest):
        return [Block(describe_test(cond), indent, indent + 4)]
    if isinstance(cond, (AllOf, AnyOf)):
        head = "all of:" if isinstance(cond, AllOf) else "any of:"
        return [Block(head, indent)] + [b for part in cond.parts
                                        for b in condition_blocks(part, indent + 2)]
    if isinstance(cond, Not):
        return [Block("not:", indent)] + condition_blocks(cond.part, indent + 2)
    return [Block(f"conclusion {cond.rule}", indent)]


def text_blocks(text: str, indent: int = 2) -> list[Block]:
    """A knowledge text's paragraphs, each one block; a blank line between them stays."""
    return [Block(p, indent) for p in paragraphs(text)]


def _heading(title: str) -> list[Block]:
    return [Block(""), Block(title, style="bold")]


def rule_blocks(kb: KnowledgeBase, rule: Rule) -> list[Block]:
    out = [Block(f"{rule.id}: {rule.title}", style="bold"),
           Block(f"kind {rule.kind}, severity {rule.severity}, cf {rule.cf:+.2f}", 2),
           Block(f"defined at {rule.location}", 2)]
    if rule.concludes:
        out.append(Block(f"adds evidence for: {rule.concludes}", 2))
    out += _heading("When:") + condition_blocks(rule.when)
    out += _heading("Why it matters:") + text_blocks(rule.explanation)
    if rule.contested:
        out += _heading("Contested:") + text_blocks(rule.contested)
    if rule.remedies:
        out += _heading("Remedies:")
        for i, remedy in enumerate(rule.remedies, 1):
            out.append(Block(f"{i}. {remedy.action}", 2, 5))
            if remedy.detail:
                out += text_blocks(remedy.detail, 5)
    out += _heading("Sources:") + [Block(f"- {s}", 2, 4) for s in rule.sources]
    out += _heading("Examples:")
    for ex in rule.examples:
        given = ", ".join(f"{k}={v}" for k, v in ex.given.items())
        out.append(Block(f"{ex.expect:<6} {given}", 2, 9))
    evidence = [r.id for r in kb.rules.values() if r.concludes == rule.id]
    users = [r.id for r in kb.rules.values()
             if rule.conclusion in rule_refs(r.when) and r.id != rule.id]
    if evidence:
        out += [Block(""), Block("Also concluded by: " + ", ".join(evidence), 0, 2)]
    if users:
        out += [Block(""), Block("Used by: " + ", ".join(users), 0, 2)]
    return out


def fact_blocks(kb: KnowledgeBase, fact: Fact) -> list[Block]:
    unit = f", {fact.unit}" if fact.unit else ""
    out = [Block(f"{fact.name} ({fact.type}{unit})", style="bold"), *text_blocks(fact.meaning)]
    if fact.values:
        out.append(Block("values: " + ", ".join(fact.values), 2, 4))
    if fact.measured:
        out += _heading("Measured:") + text_blocks(fact.measured)
    if fact.ask:
        out += [Block(""), Block(f"Asked: {fact.ask.question}", 0, 2)]
        if fact.ask.help:
            out += text_blocks(fact.ask.help)
    users = [r.id for r in kb.rules.values()
             if any(isinstance(n, FactTest) and n.fact == fact.name for n in walk(r.when))]
    out += [Block(""), Block("Used by: " + (", ".join(users) if users else "no rule"), 0, 2)]
    return out
