"""Property-based: whatever observations arrive, the engine answers and stays within [-1, 1]."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advisor.engine import Engine
from advisor.kb import load_kb

FACTS = """\
facts:
  - {name: p.flag, type: bool, meaning: Flag., measured: probe}
  - {name: p.other, type: bool, meaning: Other flag., measured: probe,
     ask: {question: "Other?", help: ""}}
  - {name: p.n, type: number, meaning: Number., measured: probe,
     ask: {question: "How much?", help: ""}}
  - {name: p.kind, type: enum, values: [a, b, c], meaning: Kind., measured: probe,
     ask: {question: "Which?", help: ""}}
  - {name: p.text, type: string, meaning: Text., measured: probe}
"""

RULES = """\
rules:
  - id: base
    title: Base symptom
    kind: symptom
    severity: info
    cf: 0.9
    when: {any: [{fact: p.flag, is: true}, {fact: p.kind, in: [a, b]}]}
    explanation: x
    sources: [{ref: r}]
    examples:
      - {given: {p.flag: true}, expect: fires}
      - {given: {p.flag: false, p.kind: c}, expect: silent}
  - id: more_base
    title: More base
    kind: symptom
    severity: info
    cf: -0.6
    concludes: base
    when: {fact: p.n, gt: 100}
    explanation: x
    sources: [{ref: r}]
    examples:
      - {given: {p.n: 1000, p.flag: true}, expect: fires}
      - {given: {p.n: 1}, expect: silent}
  - id: middle
    title: Middle
    kind: cause
    severity: warning
    cf: 0.8
    when: {all: [{rule: base}, {not: {fact: p.other, is: true}}, {fact: p.n, ge: 0, lt: 50}]}
    explanation: x
    remedies: [{action: a}]
    sources: [{ref: r}]
    examples:
      - {given: {p.flag: true, p.other: false, p.n: 3}, expect: fires}
      - {given: {p.flag: true, p.other: true, p.n: 3}, expect: silent}
  - id: top
    title: Top
    kind: cause
    severity: error
    cf: 0.7
    when: {any: [{rule: middle}, {all: [{fact: p.text, is: boom}, {not: {rule: base}}]}]}
    explanation: x
    remedies: [{action: a}]
    sources: [{ref: r}]
    examples:
      - {given: {p.flag: true, p.other: false, p.n: 3}, expect: fires}
      - {given: {p.flag: false, p.kind: c, p.text: calm}, expect: silent}
  - id: odd
    title: Odd
    kind: cause
    severity: warning
    cf: 0.5
    when: {all: [{fact: p.kind, ne: c}, {fact: p.text, ne: x}, {not: {rule: top}}]}
    explanation: x
    remedies: [{action: a}]
    sources: [{ref: r}]
    examples:
      - {given: {p.kind: c, p.flag: false, p.text: boom}, expect: silent}
      - {given: {p.kind: a, p.text: y, p.flag: false, p.other: true}, expect: fires}
"""


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    root = tmp_path_factory.mktemp("propkb")
    (root / "facts.yaml").write_text(FACTS)
    (root / "rules.yaml").write_text(RULES)
    return Engine(load_kb([root], builtin=False, use_env=False))


NAMES = ["p.flag", "p.other", "p.n", "p.kind", "p.text"]
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(),
    st.sampled_from(["a", "b", "c", "boom", "x", ""]), st.text(max_size=8),
)
junk = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    max_leaves=6)
cfs = st.one_of(st.floats(min_value=-1, max_value=1), st.floats(), st.integers(),
                st.none(), st.text(max_size=4), st.booleans())
observations = st.one_of(
    junk,
    st.builds(lambda v, c: {"value": v, "cf": c}, junk, cfs),
    st.builds(lambda v: {"value": v}, junk),
)
fact_dicts = st.dictionaries(st.one_of(st.sampled_from(NAMES), st.text(max_size=10)),
                             observations, max_size=8)


def _bounded(x: float) -> bool:
    return -1.0 <= x <= 1.0


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fact_dicts)
def test_diagnose_never_raises_and_stays_in_range(engine, facts):
    result = engine.diagnose(facts)
    for c in result.diagnoses:
        assert _bounded(c.certainty) and c.certainty >= engine.threshold
        assert c.severity in ("error", "warning", "info")
    for value in result.certainties.values():
        assert not math.isnan(value) and _bounded(value)
    result.to_dict()
    assert result.unknown_facts == sorted(n for n in facts if n not in engine.kb.facts)
    question = engine.next_question(facts)
    assert question is None or (question.fact.ask is not None and question.fact.name not in facts)


valid_values = {
    "p.flag": st.booleans(), "p.other": st.booleans(),
    "p.n": st.floats(allow_nan=False, min_value=-1e6, max_value=1e6),
    "p.kind": st.sampled_from(["a", "b", "c"]), "p.text": st.sampled_from(["boom", "x", "y"]),
}
valid_facts = st.fixed_dictionaries({}, optional={
    name: st.one_of(strategy, st.builds(lambda v, c: {"value": v, "cf": c}, strategy,
                                        st.floats(min_value=-1, max_value=1)))
    for name, strategy in valid_values.items()})


@settings(max_examples=150, deadline=None)
@given(valid_facts)
def test_valid_facts_give_consistent_results(engine, facts):
    state = engine.chain(facts)
    result = engine.diagnose(facts)
    for cid, cf in state.evidence.items():
        assert _bounded(cf)
        assert cid not in state.ruled_out
    ids = [c.id for c in result.diagnoses]
    assert len(ids) == len(set(ids))
    rank = {"error": 0, "warning": 1, "info": 2}
    keys = [(rank[c.severity], -c.certainty) for c in result.diagnoses]
    assert keys == sorted(keys)
    for c in result.diagnoses:
        assert c.certainty == pytest.approx(state.evidence[c.id])
        assert all(f.premise > engine.threshold for f in c.explanation.firings)
    # determinism: a second run gives the very same document
    assert engine.diagnose(dict(reversed(list(facts.items())))).to_dict() == result.to_dict()
