"""What the engine precomputes once per knowledge base, so that each diagnosis is cheap."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from advisor.kb.graph import rule_order
from advisor.kb.model import KnowledgeBase, Rule, fact_names, rule_refs


@dataclass
class RuleIndex:
    """Evaluation order and the premise -> rule indexes used by forward and backward chaining."""

    order: list[Rule]
    position: dict[str, int]
    by_fact: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    by_conclusion_use: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    rules_for: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    inputs_facts: list[tuple[str, ...]] = field(default_factory=list)
    inputs_rules: list[tuple[str, ...]] = field(default_factory=list)

    @classmethod
    def build(cls, kb: KnowledgeBase) -> RuleIndex:
        order = [kb.rules[rid] for rid in rule_order(kb)]
        index = cls(order=order, position={r.id: i for i, r in enumerate(order)})
        for i, rule in enumerate(order):
            facts = tuple(fact_names(rule.when))
            refs = tuple(rule_refs(rule.when))
            index.inputs_facts.append(facts)
            index.inputs_rules.append(refs)
            for name in facts:
                index.by_fact[name].append(i)
            for ref in refs:
                index.by_conclusion_use[ref].append(i)
            index.rules_for[rule.conclusion].append(i)
        return index
