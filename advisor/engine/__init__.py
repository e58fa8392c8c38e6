"""The inference engine: forward chaining with certainty factors, backward chaining to pick the
next question, and explanations. Imports neither torch nor textual."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from advisor.engine.backward import Question, next_question
from advisor.engine.certainty import THRESHOLD
from advisor.engine.explain import evidence, explain
from advisor.engine.forward import ChainState, chain
from advisor.engine.index import RuleIndex
from advisor.engine.result import SEVERITY_RANK, Conclusion, DiagnosisResult, Explanation
from advisor.kb.model import KnowledgeBase

__all__ = ["Conclusion", "DiagnosisResult", "Engine", "Explanation", "Question"]


class Engine:
    """Reasons over one knowledge base; build it once and reuse it for many diagnoses."""

    def __init__(self, kb: KnowledgeBase, threshold: float = THRESHOLD, *, graph: Any = None):
        """`graph`: the rule graph (`advisor.kb.graph.build_graph(kb)`) if already built."""
        self.kb = kb
        self.threshold = threshold
        self.index = RuleIndex.build(kb, graph)

    def chain(self, facts: Mapping[str, Any]) -> ChainState:
        return chain(self.index, facts, self.threshold)

    def diagnose(self, facts: Mapping[str, Any]) -> DiagnosisResult:
        """Every diagnosis the observations support, root causes first.

        Errors and warnings come before tips. Among them, a symptom that a reported cause
        already explains (the cause's rule used it as evidence) comes after the unexplained
        ones: "the loss diverges" is less useful at the top than "the learning rate is too
        high, as the diverging loss shows".
        """
        unknown = sorted(name for name in facts if name not in self.kb.facts)
        facts = {k: v for k, v in facts.items() if k in self.kb.facts}  # reported, not used
        state = self.chain(facts)
        found = []
        for cid, cf in state.evidence.items():
            rule = self.kb.rules.get(cid)
            if rule is None or rule.concludes or cf < self.threshold:
                continue
            expl = explain(self.index, state, cid)
            found.append(Conclusion(rule, cf, expl, evidence(expl)))
        _mark_explained(found, state, self.index)
        found.sort(key=_rank)
        return DiagnosisResult(found, facts, dict(state.evidence), unknown)

    def next_question(self, facts: Mapping[str, Any],
                      skip: Iterable[str] = ()) -> Question | None:
        """The askable fact whose answer would most change the open hypotheses, or None.

        `skip` holds facts the person declined ("don't know"), so they are not asked again.
        """
        state = self.chain(facts)
        return next_question(self.kb, self.index, facts, state, set(skip) | set(facts),
                             self.threshold)

    def explain(self, facts: Mapping[str, Any], conclusion: str) -> Explanation:
        state = self.chain(facts)
        return explain(self.index, state, conclusion)


def _mark_explained(found: list[Conclusion], state: ChainState, index: RuleIndex) -> None:
    """Record, for each conclusion, the reported causes whose fired rules used it."""
    reported = {c.id for c in found}
    for cause in found:
        if cause.kind != "cause" or cause.severity == "info":
            continue
        used = {ref for pos in state.fired.get(cause.id, []) for ref in index.inputs_rules[pos]}
        for c in found:
            if c.id in used and c.id != cause.id and c.id in reported:
                c.explained_by.append(cause.id)


def _rank(c: Conclusion) -> tuple:
    group = 2 if c.severity == "info" else (1 if c.explained_by else 0)
    return (group, SEVERITY_RANK[c.severity], -c.certainty, c.id)

