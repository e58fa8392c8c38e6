"""The engine's shortcuts give exactly what the plain algorithms give.

- `rechain` (one more observation, only the rules downstream of it re-evaluated) equals a full
  `chain` on the changed observations,
- `chain(..., only=ancestors)` (used to check rule examples) equals a full chain for the
  conclusion whose ancestors they are,
- `next_question` equals a straightforward version that re-chains everything for each
  simulated answer and compares every hypothesis,
- each rule's compiled condition equals `evaluate` on its condition tree.

Exact equality, not approximate: the shortcuts must combine the same numbers in the same order.
"""

from __future__ import annotations

import importlib.util
import math
from collections import defaultdict
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advisor.engine import Engine
from advisor.engine.backward import (
    CANDIDATES_SIMULATED,
    SEVERITY_WEIGHT,
    UNTOUCHED_FOCUS,
    Question,
    _chain,
)
from advisor.engine.evaluate import evaluate
from advisor.engine.forward import chain, normalize, rechain
from advisor.kb import load_kb
from advisor.kb.model import FactTest, walk

REPO = Path(__file__).resolve().parents[2]


def _bench_module():
    spec = importlib.util.spec_from_file_location("advisor_bench_engine",
                                                  REPO / "benchmarks" / "engine.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    """A dense generated base: 240 rules six deep over 40 facts, some rules `concludes`."""
    root = tmp_path_factory.mktemp("dense")
    _bench_module().generate(240, root, seed=11, n_facts=40)
    return Engine(load_kb([root], builtin=False, use_env=False))


def _value(fact, draw):
    if fact.type == "bool":
        return draw(st.booleans())
    if fact.type == "number":
        return draw(st.sampled_from([0, 0.5, 3, 10, 49.5, 60, 150, 250]))
    return draw(st.sampled_from(list(fact.values)))


@st.composite
def observations(draw, kb):
    names = draw(st.lists(st.sampled_from(sorted(kb.facts)), max_size=12, unique=True))
    facts = {}
    for name in names:
        value = _value(kb.facts[name], draw)
        cf = draw(st.sampled_from([1.0, 1.0, 0.9, 0.5, 0.25, -0.4]))
        facts[name] = value if cf == 1.0 else {"value": value, "cf": cf}
    return facts


def _known(premise):
    return {p: v for p, v in premise.items() if v is not None}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_rechain_equals_a_full_chain(engine, data):
    kb, index = engine.kb, engine.index
    facts = data.draw(observations(kb))
    name = data.draw(st.sampled_from(sorted(kb.facts)))
    value = None if data.draw(st.integers(0, 4)) == 0 else _value(kb.facts[name], data.draw)
    before = chain(index, facts)
    after, changed = rechain(index, before, name, value)
    full = chain(index, {**{k: v for k, v in facts.items() if k != name}, name: value})
    assert after.evidence == full.evidence
    assert after.ruled_out == full.ruled_out
    assert after.fired == full.fired
    assert _known(after.premise) == _known(full.premise)
    assert after.facts == full.facts
    for cid in set(before.evidence) | set(full.evidence) | before.ruled_out | full.ruled_out:
        if cid not in changed:
            assert before.evidence.get(cid) == full.evidence.get(cid)
            assert (cid in before.ruled_out) == (cid in full.ruled_out)
    # the state it started from is left as it was
    assert before.evidence == chain(index, facts).evidence


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_chain_restricted_to_ancestors_equals_a_full_chain(engine, data):
    kb, index = engine.kb, engine.index
    facts = data.draw(observations(kb))
    full = chain(index, facts)
    for rule in data.draw(st.lists(st.sampled_from(list(kb.rules.values())), min_size=1,
                                   max_size=8)):
        cid = rule.conclusion
        part = chain(index, facts, only=index.ancestors(cid))
        assert part.evidence.get(cid) == full.evidence.get(cid)
        assert (cid in part.ruled_out) == (cid in full.ruled_out)
        assert part.fired.get(cid) == full.fired.get(cid)


# --- the straightforward next_question -------------------------------------------------------

def _reference_probe_values(kb, fact):
    cuts = sorted({v for r in kb.rules.values() for n in walk(r.when)
                   if isinstance(n, FactTest) and n.fact == fact.name
                   for op, v in n.comparisons if op in ("gt", "ge", "lt", "le")})
    if not cuts:
        return []
    pairs = zip(cuts, cuts[1:], strict=False)
    middle = [math.sqrt(a * b) if a > 0 else (a + b) / 2 for a, b in pairs]
    first = cuts[0] / 2 if cuts[0] > 0 else cuts[0] - 1
    last = cuts[-1] * 2 if cuts[-1] > 0 else cuts[-1] + 1
    return [first, *middle, last]


def _reference_next_question(kb, index, facts, state, skip, threshold=0.2):
    weights = {}
    for rule in kb.rules.values():
        if rule.concludes or rule.id in state.ruled_out:
            continue
        cf = state.evidence.get(rule.id, 0.0)
        if cf >= 0.99:
            continue
        weights[rule.id] = SEVERITY_WEIGHT[rule.severity] * (1.0 + max(cf, 0.0))
    # rules in focus: evaluated ones, and (to a fixpoint) those using a focused conclusion
    focused = set(state.premise)
    changed = True
    while changed:
        changed = False
        concl = {index.order[p].conclusion for p in focused}
        for pos in range(len(index.order)):
            if pos not in focused and set(index.inputs_rules[pos]) & concl:
                focused.add(pos)
                changed = True
    focused_conclusions = {index.order[p].conclusion for p in focused}
    untouched = UNTOUCHED_FOCUS if state.premise else 1.0
    importance = defaultdict(float, weights)
    parent, score, best = {}, defaultdict(float), {}
    for pos in range(len(index.order) - 1, -1, -1):
        rule = index.order[pos]
        weight = importance.get(rule.conclusion, 0.0)
        if weight <= 0 or state.premise.get(pos) is not None:
            continue
        unknown = [f for f in index.inputs_facts[pos] if f not in state.facts]
        refs = [r for r in index.inputs_rules[pos]
                if r not in state.evidence and r not in state.ruled_out]
        if not unknown and not refs:
            continue
        focus = 1.0 if pos in focused else untouched
        share = weight * abs(rule.cf) * focus / (len(unknown) + len(refs))
        for name in unknown:
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
    if not score:
        return None

    def movement(fact):
        answers = [v for v, _ in fact.answer_choices()] or _reference_probe_values(kb, fact)
        if not answers:
            return None
        total = 0.0
        for answer in answers:
            after = chain(index, {**facts, fact.name: answer}, threshold)
            for h in weights:
                old = state.evidence.get(h, -1.0 if h in state.ruled_out else 0.0)
                new = after.evidence.get(h, -1.0 if h in after.ruled_out else 0.0)
                focus = 1.0 if h in focused_conclusions else untouched
                total += abs(new - old) * SEVERITY_WEIGHT[kb.rules[h].severity] * focus
        return total / len(answers)

    ranked = sorted(score, key=lambda n: (-score[n], n))
    top = ranked[:CANDIDATES_SIMULATED]
    moves = {n: movement(kb.facts[n]) for n in top}
    chosen = max(top, key=lambda n: (moves[n] if moves[n] is not None else -1.0, score[n]))
    if moves[chosen] is not None and moves[chosen] <= 0:
        chosen = ranked[0]
    rules, hypothesis = _chain(index, best[chosen][1], parent)
    return Question(kb.facts[chosen], score[chosen], hypothesis, rules)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_next_question_equals_the_straightforward_version(engine, data):
    kb = engine.kb
    facts = data.draw(observations(kb))
    skip = data.draw(st.lists(st.sampled_from(sorted(kb.facts)), max_size=4))
    got = engine.next_question(facts, skip=skip)
    state = engine.chain(facts)
    want = _reference_next_question(kb, engine.index, facts, state, set(skip) | set(facts))
    if want is None:
        assert got is None
    else:
        assert got is not None
        assert (got.fact.name, got.score, got.hypothesis, got.chain) == \
            (want.fact.name, want.score, want.hypothesis, want.chain)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_compiled_conditions_equal_evaluate(engine, data):
    kb, index = engine.kb, engine.index
    facts = data.draw(observations(kb))
    # values of the wrong type too: a comparison that cannot be made is unknown
    for name in data.draw(st.lists(st.sampled_from(sorted(kb.facts)), max_size=3)):
        facts[name] = data.draw(st.sampled_from(["text", None, [1], {"value": "x"}, True]))
    observed = normalize(facts)
    conclusions = data.draw(st.dictionaries(
        st.sampled_from([r.id for r in kb.rules.values()]),
        st.one_of(st.none(), st.floats(-1, 1)), max_size=30))
    for pos, rule in enumerate(index.order):
        assert index.premises[pos](observed, conclusions.get) == \
            evaluate(rule.when, observed, conclusions.get)
