"""Forward chaining: from observations to every conclusion they support, with certainties.

Rules are evaluated in the rule graph's topological order, and only those that an observation
or a newly known conclusion can affect are put on the agenda. A rule whose inputs are all
unknown would evaluate to unknown anyway, so skipping it changes nothing but the cost. One pass
in that order reaches the fixpoint because a rule never depends on a later one.
"""

from __future__ import annotations

import heapq
from collections.abc import Container, Mapping
from dataclasses import dataclass, field
from typing import Any

from advisor.engine.certainty import THRESHOLD, combine
from advisor.engine.evaluate import Observations
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
    cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def conclusion(self, cid: str) -> float | None:
        """What `{rule: cid}` evaluates to: its certainty, -1 once ruled out, else unknown."""
        if cid in self.evidence:
            return self.evidence[cid]
        return -1.0 if cid in self.ruled_out else None


def normalize(facts: Mapping[str, Any]) -> Observations:
    """Observations as name -> (value, certainty); None values mean unknown and are dropped.

    An observation's certainty is how sure the observer is of the VALUE, so it lies in (0, 1]
    and scales how much each test on the fact counts (+c when the test holds, -c when it does
    not). It never turns into evidence against the value: "I doubt lr is 0.5" does not mean
    "lr is at least 1". Files are checked before they get here (`check_facts` refuses a
    certainty outside (0, 1]); for observations handed over in code, a certainty at or below
    0, or not a number, leaves the fact unknown, and one above 1 counts as 1.
    """
    out: Observations = {}
    for name, raw in facts.items():
        value, cf = normalize_observation(raw)
        if value is not None and cf > 0:  # NaN compares False: dropped too
            out[name] = (value, min(1.0, cf))
    return out


def chain(index: RuleIndex, facts: Mapping[str, Any], threshold: float = THRESHOLD,
          only: Container[int] | None = None) -> ChainState:
    """Forward chaining; with `only`, rules outside that set of positions are never evaluated.

    `only` must be closed under "the rules for a conclusion this rule uses" (the ancestors of a
    conclusion are): the conclusions inside it then get exactly the certainties a full run gives.
    """
    state = ChainState(normalize(facts))
    agenda: list[int] = []
    queued: set[int] = set()

    def push(positions: list[int]) -> None:
        for p in positions:
            if p not in queued and (only is None or p in only):
                queued.add(p)
                heapq.heappush(agenda, p)

    for name in state.facts:
        push(index.by_fact.get(name, []))

    conclusion = state.conclusion

    while agenda:
        pos = heapq.heappop(agenda)
        rule = index.order[pos]
        cf = index.premises[pos](state.facts, conclusion)  # = evaluate(rule.when, ...)
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
            state.premise.get(p) is not None for p in index.deciders[target]
        ):
            state.ruled_out.add(target)
        push(index.by_conclusion_use.get(target, []))
    return state


def settle(index: RuleIndex, state: ChainState, target: str, threshold: float = THRESHOLD) -> None:
    """Recompute one conclusion from the premises of all its rules.

    This is the state `chain` leaves once every rule for `target` is evaluated: the
    contributions of the rules that fired combined in rule order, or ruled out when every rule
    for it was decided and none fired (trial evidence aside: `RuleIndex.deciders`).
    """
    total, fired = 0.0, []
    for p in index.rules_for[target]:
        cf = state.premise.get(p)
        if cf is not None and cf > threshold:
            total = combine(total, cf * index.order[p].cf)
            fired.append(p)
    if fired:
        state.evidence[target] = total
        state.fired[target] = fired
        state.ruled_out.discard(target)
        return
    state.evidence.pop(target, None)
    state.fired.pop(target, None)
    if all(state.premise.get(p) is not None for p in index.deciders[target]):
        state.ruled_out.add(target)
    else:
        state.ruled_out.discard(target)


def rechain(index: RuleIndex, before: ChainState, name: str, value: Any,
            threshold: float = THRESHOLD) -> tuple[ChainState, set[str]]:
    """`before` with the observation `name = value` added (None: removed), and the conclusions
    that were recomputed.

    Only the rules downstream of `name` are evaluated again; the evidence, ruled-out set and
    firings are those `chain` gives on the changed observations (a premise that `chain` would
    not evaluate may be recorded here as unknown). Backward chaining uses it to simulate answers.
    """
    facts = dict(before.facts)
    facts.pop(name, None)
    facts.update(normalize({name: value}))
    state = ChainState(facts, dict(before.premise), dict(before.evidence), dict(before.fired),
                       set(before.ruled_out))

    conclusion = state.conclusion

    agenda = list(index.by_fact.get(name, ()))
    heapq.heapify(agenda)
    queued = set(agenda)
    changed: set[str] = set()
    while agenda:
        pos = heapq.heappop(agenda)
        rule = index.order[pos]
        state.premise[pos] = index.premises[pos](state.facts, conclusion)
        target = rule.conclusion
        settle(index, state, target, threshold)
        changed.add(target)
        for p in index.by_conclusion_use.get(target, ()):
            if p not in queued:
                queued.add(p)
                heapq.heappush(agenda, p)
    return state, changed
