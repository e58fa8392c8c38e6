"""An observation's certainty is how sure the observer is of the VALUE (issue 8 #6): it scales
how much a test counts and never turns into evidence against the value."""

from __future__ import annotations

import math

import pytest

from advisor.engine.forward import normalize


@pytest.fixture
def lr_kb(kbdir, facts_yaml, rule_yaml):
    kbdir.write("facts.yaml", facts_yaml)
    kbdir.write("rules.yaml", "rules:\n" + rule_yaml(
        "rate_at_least_one", {"fact": "q.n", "ge": 1}, cf=0.9,
        fires={"q.n": 2}, silent={"q.n": 0.5}))
    return kbdir


def test_doubting_a_value_is_not_evidence_for_the_opposite(lr_kb):
    engine = lr_kb.engine()
    # "I doubt the rate is 0.5" says nothing about the rate being >= 1
    result = engine.diagnose({"q.n": {"value": 0.5, "cf": -0.5}})
    assert result.diagnoses == []
    assert "rate_at_least_one" not in result.certainties


def test_a_sure_enough_observation_scales_the_test(lr_kb):
    engine = lr_kb.engine()
    result = engine.diagnose({"q.n": {"value": 2, "cf": 0.5}})
    assert result.get("rate_at_least_one").certainty == pytest.approx(0.5 * 0.9)
    # a test that fails on a half-sure value counts -0.5: the rule stays silent, ruled out
    state = engine.chain({"q.n": {"value": 0.5, "cf": 0.5}})
    assert state.premise == {0: -0.5}
    assert "rate_at_least_one" in state.ruled_out


@pytest.mark.parametrize("cf, kept", [(1, 1.0), (0.3, 0.3), (2, 1.0), (0, None), (-0.5, None),
                                      (-1, None), (math.nan, None), ("high", None)])
def test_normalize_keeps_certainties_in_0_1(cf, kept):
    out = normalize({"q.n": {"value": 0.5, "cf": cf}})
    assert out == ({} if kept is None else {"q.n": (0.5, kept)})
