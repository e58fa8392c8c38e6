"""Backward chaining: which question is worth asking next, and why.

From every open hypothesis (a diagnosis not yet ruled out nor certain) importance flows
backwards through the rules that could still change it (MYCIN skips rules whose premise is
already decided: "don't ask dumb questions"), split among each rule's unknown inputs. The
askable facts that collect the most importance are the candidates; for the best few we then
simulate every answer and keep the one whose answers would move the hypotheses' certainties most.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from advisor.engine.forward import ChainState, chain
from advisor.engine.index import RuleIndex
from advisor.kb.model import Fact, KnowledgeBase

SEVERITY_WEIGHT = {"error": 1.0, "warning": 0.7, "info": 0.3}
CANDIDATES_SIMULATED = 5


@dataclass
class Question:
    """The next fact to ask about, with the rule chain that makes it worth asking."""

    fact: Fact
    score: float
    hypothesis: str
    chain: list[str] = field(default_factory=list)  # rule ids, from the asking rule upwards

    @property
    def text(self) -> str:
        return self.fact.ask.question if self.fact.ask else self.fact.meaning

    @property
    def help(self) -> str:
        return self.fact.ask.help if self.fact.ask else ""

    @property
    def choices(self) -> tuple[tuple[Any, str], ...]:
        return self.fact.answer_choices()

    def why(self, kb: KnowledgeBase) -> str:
        """MYCIN's WHY: the rule being tried, the conclusion it serves, up to the hypothesis."""
        lines = []
        for rid in self.chain:
            rule = kb.rules[rid]
            target = kb.rules.get(rule.conclusion, rule)
            lines.append(f"rule {rid} ({rule.title}) would add evidence for "
                         f"'{target.id}' ({target.title}) with cf {rule.cf:+.2f}")
        head = kb.rules.get(self.hypothesis)
        goal = f"{self.hypothesis} ({head.title})" if head else self.hypothesis
        return (f"I am trying to establish whether {goal} holds.\n"
                + "\n".join(f"  {i + 1}. {line}" for i, line in enumerate(lines))
                + f"\n  '{self.fact.name}' is a premise of rule {self.chain[0]}.")

    def to_dict(self) -> dict[str, Any]:
        return {"fact": self.fact.name, "question": self.text, "help": self.help,
                "choices": [{"value": v, "label": label} for v, label in self.choices],
                "hypothesis": self.hypothesis, "chain": self.chain,
                "score": round(self.score, 4)}


def _hypotheses(kb: KnowledgeBase, state: ChainState) -> dict[str, float]:
    weights = {}
    for rule in kb.rules.values():
        if rule.concludes or rule.id in state.ruled_out:
            continue
        cf = state.evidence.get(rule.id, 0.0)
        if cf >= 0.99:
            continue
        weights[rule.id] = SEVERITY_WEIGHT[rule.severity] * (1.0 + max(cf, 0.0))
    return weights


def _spread(kb: KnowledgeBase, index: RuleIndex, state: ChainState, skip: set[str]):
    """Importance per askable unknown fact, and the rule chain that carried it there."""
    importance: dict[str, float] = defaultdict(float, _hypotheses(kb, state))
    parent: dict[str, int] = {}
    score: dict[str, float] = defaultdict(float)
    best: dict[str, tuple[float, int]] = {}
    for pos in range(len(index.order) - 1, -1, -1):
        rule = index.order[pos]
        weight = importance.get(rule.conclusion, 0.0)
        if weight <= 0 or state.premise.get(pos) is not None:
            continue
        facts = [f for f in index.inputs_facts[pos] if f not in state.facts]
        refs = [r for r in index.inputs_rules[pos]
                if r not in state.evidence and r not in state.ruled_out]
        if not facts and not refs:
            continue
        share = weight * abs(rule.cf) / (len(facts) + len(refs))
        for name in facts:
            fact = kb.facts.get(name)
            if fact is None or fact.ask is None or name in skip:
                continue
            score[name] += share
            if share > best.get(name, (0.0, -1))[0]:
                best[name] = (share, pos)
        for ref in refs:
            if share > importance.get(ref, 0.0):
                parent[ref] = pos
            importance[ref] += share
    return score, best, parent


def _chain(index: RuleIndex, start: int, parent: dict[str, int], roots) -> tuple[list[str], str]:
    rules = [index.order[start].id]
    conclusion = index.order[start].conclusion
    seen = {conclusion}
    while conclusion in parent and conclusion not in roots:
        pos = parent[conclusion]
        rules.append(index.order[pos].id)
        conclusion = index.order[pos].conclusion
        if conclusion in seen:
            break
        seen.add(conclusion)
    return rules, conclusion


def _movement(kb: KnowledgeBase, index: RuleIndex, facts: Mapping[str, Any], fact: Fact,
              before: ChainState, hypotheses: dict[str, float]) -> float | None:
    """Expected change in the hypotheses' certainties over the fact's possible answers."""
    answers = [v for v, _ in fact.answer_choices()]
    if not answers:
        return None
    total = 0.0
    for answer in answers:
        after = chain(index, {**facts, fact.name: answer})
        for h in hypotheses:
            old = before.evidence.get(h, -1.0 if h in before.ruled_out else 0.0)
            new = after.evidence.get(h, -1.0 if h in after.ruled_out else 0.0)
            total += abs(new - old) * SEVERITY_WEIGHT[kb.rules[h].severity]
    return total / len(answers)


def next_question(kb: KnowledgeBase, index: RuleIndex, facts: Mapping[str, Any],
                  state: ChainState, skip: set[str]) -> Question | None:
    score, best, parent = _spread(kb, index, state, skip)
    if not score:
        return None
    ranked = sorted(score, key=lambda n: (-score[n], n))
    hypotheses = _hypotheses(kb, state)
    top = ranked[:CANDIDATES_SIMULATED]
    moves = {n: _movement(kb, index, facts, kb.facts[n], state, hypotheses) for n in top}
    chosen = max(top, key=lambda n: (moves[n] if moves[n] is not None else -1.0, score[n]))
    if moves[chosen] is not None and moves[chosen] <= 0:
        chosen = ranked[0]
    rules, hypothesis = _chain(index, best[chosen][1], parent, hypotheses)
    return Question(kb.facts[chosen], score[chosen], hypothesis, rules)
