"""The judgements of unsafe-operation margins, gradient-norm growth and the decay share, on
hand-made records (no torch)."""

from __future__ import annotations

import math

import pytest

from advisor.facts.decay import judge_decay
from advisor.facts.gradients_growth import judge_gradient_growth
from advisor.facts.numerics import decades, judge_numerics

TINY32 = 1.1754943508222875e-38


def softmax_drift(start: float, per_step: float, steps: int = 200, every: int = 8):
    """A float32 probability handed to log that loses `per_step` decades per step."""
    return [(s, {"log": (start * 10 ** (-per_step * s), TINY32)})
            for s in range(0, steps, every)]


def test_margin_is_counted_in_decades_above_the_smallest_normal():
    assert decades(1e-30, TINY32) == pytest.approx(7.93, abs=0.01)
    assert decades(0.0, TINY32) == 0.0
    assert decades(1e-40, TINY32) == 0.0          # subnormal: used up


def test_a_steady_drift_towards_zero_has_a_trend_and_an_end():
    j = judge_numerics(softmax_drift(1e-2, 0.1))
    assert j.facts["numerics.unsafe_op"] == "log"
    assert j.facts["numerics.margin_trend"] == pytest.approx(-10.0, rel=1e-3)
    margin = j.facts["numerics.unsafe_margin"]
    assert margin == pytest.approx(decades(1e-2 * 10 ** (-0.1 * 192), TINY32), abs=1e-3)
    assert j.facts["numerics.steps_to_exhaustion"] == pytest.approx(margin / 0.1, rel=0.01)


def test_an_epsilon_floor_stops_the_trend():
    records = [(s, {"log": (max(1e-2 * 10 ** (-0.1 * s), 1e-8), TINY32)})
               for s in range(0, 200, 8)]
    j = judge_numerics(records)
    assert j.facts["numerics.margin_trend"] == pytest.approx(0.0, abs=1e-6)
    assert "numerics.steps_to_exhaustion" not in j.facts
    assert j.facts["numerics.unsafe_margin"] == pytest.approx(decades(1e-8, TINY32), abs=1e-3)


def test_the_worst_op_family_is_reported_and_short_runs_give_no_trend():
    records = [(s, {"log": (1e-3, TINY32), "div": (1e-20, TINY32)}) for s in range(0, 20, 4)]
    j = judge_numerics(records)
    assert j.facts["numerics.unsafe_op"] == "div"
    assert "numerics.margin_trend" not in j.facts          # 5 sampled steps: too few
    assert judge_numerics([]).facts == {}


def test_gradient_norm_slope_in_decades_per_hundred_steps():
    geometric = [0.5 * 1.01 ** i for i in range(200)]
    j = judge_gradient_growth(geometric)
    assert j.facts["grad.norm_log_slope"] == pytest.approx(100 * math.log10(1.01), rel=1e-3)
    steady = [1.0 + 0.1 * ((-1) ** i) for i in range(200)]
    assert abs(judge_gradient_growth(steady).facts["grad.norm_log_slope"]) < 0.01
    assert judge_gradient_growth(geometric, capped=True).facts == {}
    assert judge_gradient_growth(geometric[:10]).facts == {}


def test_decay_ratio_needs_three_sampled_steps():
    assert judge_decay([0.9, 1.1, 1.0]).facts["optim.decay_grad_ratio"] == pytest.approx(1.0)
    assert judge_decay([0.9, 1.1]).facts == {}
