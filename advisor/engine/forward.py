"""Forward chaining: from observations to every conclusion they support, with certainties.

Rules are evaluated in the rule graph's topological order, and only those that an observation
or a newly known conclusion can affect are put on the agenda. A rule whose inputs are all
unknown would evaluate to unknown anyway, so skipping it changes nothing but the cost. One pass
in that order reaches the fixpoint because a rule never depends on a later one.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from advisor.engine.certainty import THRESHOLD, combine
from advisor.engine.evaluate import Observations, evaluate
from advisor.engine.index import RuleIndex
from advisor.kb.semantics import normalize_observation


@dataclass
class ChainState:
    """Everything one forward-chaining run established."""

    facts: Observations
    premise: dict[int, float | None] = field(default_factory=dict)  # rule position -> certainty
    evidence: dict[str, float] = field(default_factory=dict)  # conclusion -> combined certainty
    fired: dict[str, list[int]] = field(default_factory=dict)  # conclusion -> rule positions
    ruled_out: set[str] = field(default_factory=set)


def normalize(facts: Mapping[str, Any]) -> Observations:
    """Observations as name -> (value, certainty); None values mean unknown and are dropped."""
    out: Observations = {}
    for name, raw in facts.items():
        value, cf = normalize_observation(raw)
        if value is not None and cf != 0:
            out[name] = (value, cf)
    return out


def chain(index: RuleIndex, facts: Mapping[str, Any], threshold: float = THRESHOLD) -> ChainState:
    state = ChainState(normalize(facts))
    agenda: list[int] = []
    queued: set[int] = set()

    def push(positions: list[int]) -> None:
        for p in positions:
            if p not in queued:
                queued.add(p)
                heapq.heappush(agenda, p)

    for name in state.facts:
        push(index.by_fact.get(name, []))

    def conclusion(cid: str) -> float | None:
        if cid in state.evidence:
            return state.evidence[cid]
        if cid in state.ruled_out:
            return -1.0
        return None

    while agenda:
        pos = heapq.heappop(agenda)
        rule = index.order[pos]
        cf = evaluate(rule.when, state.facts, conclusion)
        state.premise[pos] = cf
        if cf is None:
            continue
        target = rule.conclusion
        if cf > threshold:
            contribution = cf * rule.cf
            state.evidence[target] = combine(state.evidence.get(target, 0.0), contribution)
            state.fired.setdefault(target, []).append(pos)
            state.ruled_out.discard(target)
        elif target not in state.evidence and all(
            state.premise.get(p) is not None for p in index.rules_for[target]
        ):
            state.ruled_out.add(target)
        push(index.by_conclusion_use.get(target, []))
    return state
