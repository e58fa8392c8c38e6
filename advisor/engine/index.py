"""What the engine precomputes once per knowledge base, so that each diagnosis is cheap."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from advisor.engine.evaluate import Premise, compile_condition
from advisor.kb.graph import rule_order
from advisor.kb.model import KnowledgeBase, Rule, fact_names, rule_refs
from advisor.kb.trials import TRIAL_TAG


@dataclass
class RuleIndex:
    """Evaluation order and the premise -> rule indexes used by forward and backward chaining."""

    order: list[Rule]
    position: dict[str, int]
    by_fact: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    by_conclusion_use: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    rules_for: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    # the rules for a conclusion that must all be decided before it is ruled out: rules_for
    # without the trial evidence (advisor.kb.trials), whose fact only `probe --verify` measures
    deciders: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    inputs_facts: list[tuple[str, ...]] = field(default_factory=list)
    inputs_rules: list[tuple[str, ...]] = field(default_factory=list)
    # per position: the conclusion and |cf|; the diagnoses in file order; facts a person is asked
    conclusion_of: list[str] = field(default_factory=list)
    strength: list[float] = field(default_factory=list)
    diagnoses: list[Rule] = field(default_factory=list)
    diagnosis_rank: dict[str, int] = field(default_factory=dict)
    askable: frozenset[str] = frozenset()
    premises: list[Premise] = field(default_factory=list)  # each rule's compiled condition
    cache: dict[str, Any] = field(default_factory=dict)  # derived data other modules keep here

    def ancestors(self, conclusion: str) -> frozenset[int]:
        """Positions of the rules that can change `conclusion`: its rules, and theirs, upwards.
        Chaining only these gives the conclusion the same certainty as a full run, for a
        fraction of it (rule examples, calibration); computed once per conclusion."""
        memo = self.cache.setdefault("ancestors", {})
        if conclusion not in memo:
            positions: set[int] = set()
            stack, seen = [conclusion], set()
            while stack:
                cid = stack.pop()
                if cid in seen:
                    continue
                seen.add(cid)
                for p in self.rules_for.get(cid, ()):
                    positions.add(p)
                    stack.extend(self.inputs_rules[p])
            memo[conclusion] = frozenset(positions)
        return memo[conclusion]

    @classmethod
    def build(cls, kb: KnowledgeBase, graph: Any = None) -> RuleIndex:
        """`graph`: the rule graph of `kb` when the caller has built it already (the loader
        keeps the one it validated on `kb.graph`)."""
        graph = graph if graph is not None else kb.graph
        order = [kb.rules[rid] for rid in rule_order(kb, graph)]
        index = cls(order=order, position={r.id: i for i, r in enumerate(order)})
        index.conclusion_of = [r.conclusion for r in order]
        index.strength = [abs(r.cf) for r in order]
        index.diagnoses = [r for r in kb.rules.values() if not r.concludes]
        index.diagnosis_rank = {r.id: i for i, r in enumerate(index.diagnoses)}
        index.askable = frozenset(n for n, f in kb.facts.items() if f.ask is not None)
        index.premises = [compile_condition(r.when) for r in order]
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
            if TRIAL_TAG not in rule.tags:
                index.deciders[rule.conclusion].append(i)
        return index
