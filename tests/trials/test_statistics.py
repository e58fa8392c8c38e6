"""The trial decision: an exact sign-flip test on matched seeds, an effect size, its interval."""

from __future__ import annotations

import itertools
import math

import pytest

from advisor.trials.statistics import (
    bootstrap_interval,
    decide,
    relative_changes,
    signed_rank_p,
    smallest_p,
)


def test_five_seeds_all_better_reach_the_smallest_p():
    d = decide([1.0, 1.1, 0.9, 1.2, 1.0], [0.5, 0.6, 0.4, 0.7, 0.5])
    assert d.verdict == "helps"
    assert d.p_value == pytest.approx(1 / 32)
    assert d.effect == pytest.approx(-0.5, abs=0.05)
    lo, hi = d.interval
    assert lo <= d.effect <= hi < 0


def test_all_worse_hurts_and_mixed_is_no_effect():
    assert decide([1, 1, 1, 1, 1], [2, 2, 2, 2, 2]).verdict == "hurts"
    mixed = decide([1, 1, 1, 1, 1], [0.5, 1.5, 0.9, 1.2, 1.0])
    assert mixed.verdict == "no_effect"
    assert mixed.p_value > 0.05


def test_three_seeds_can_never_be_significant():
    d = decide([1, 1, 1], [0.1, 0.1, 0.1])
    assert d.verdict == "no_effect"
    assert d.p_value == pytest.approx(1 / 8)
    assert smallest_p(3) > 0.05 >= smallest_p(5)


def test_identical_arms_have_no_effect():
    d = decide([0.3, 0.4, 0.5, 0.6, 0.7], [0.3, 0.4, 0.5, 0.6, 0.7])
    assert (d.verdict, d.p_value, d.effect) == ("no_effect", 1.0, 0.0)


def test_a_nan_run_is_the_worst_outcome_without_swamping_the_others():
    # the remedy avoided the control's NaN in one seed and lowered the loss in the others
    d = decide([None, 1.0, 1.0, 1.0, math.nan], [0.5, 0.8, 0.7, 0.9, 0.6])
    assert d.verdict == "helps"
    # a treated NaN counts against the remedy
    assert decide([1, 1, 1, 1, 1], [math.inf, 2, 2, 2, 2]).verdict == "hurts"
    assert relative_changes([None], [None]) == [0.0]
    assert relative_changes([1.0], [None]) == [10.0]
    assert relative_changes([None], [0.5]) == [-1.0]


def test_p_values_match_a_brute_force_enumeration():
    changes = [-0.3, 0.1, -0.2, -0.5, 0.05, -0.01]
    ranks = {x: r for r, x in enumerate(sorted(changes, key=abs), start=1)}
    observed = sum(math.copysign(ranks[x], x) for x in changes)
    totals = [sum(s * ranks[x] for s, x in zip(signs, changes, strict=True))
              for signs in itertools.product((1, -1), repeat=len(changes))]
    lower = sum(t <= observed for t in totals) / len(totals)
    higher = sum(t >= observed for t in totals) / len(totals)
    assert signed_rank_p(changes) == pytest.approx((lower, higher))


def test_false_positive_rate_under_the_null_stays_below_alpha():
    import random

    rng = random.Random(1)
    positives = 0
    for _ in range(400):
        control = [rng.gauss(1, 0.1) for _ in range(5)]
        treated = [rng.gauss(1, 0.1) for _ in range(5)]
        positives += decide(control, treated).verdict == "helps"
    assert positives / 400 <= 0.05 + 0.02


def test_bootstrap_interval_is_seeded_and_ordered():
    changes = [-0.4, -0.2, -0.3, 0.1, -0.5]
    assert bootstrap_interval(changes, seed=3) == bootstrap_interval(changes, seed=3)
    lo, hi = bootstrap_interval(changes)
    assert lo <= hi
    assert bootstrap_interval([0.2]) == (0.2, 0.2)


def test_mismatched_arms_are_refused():
    with pytest.raises(ValueError, match="same positive number"):
        decide([1, 2], [1])


def test_a_consistent_but_negligible_change_is_no_effect():
    control = [1.0, 1.1, 0.9, 1.2, 1.0]
    treated = [c * 0.9998 for c in control]  # every seed 0.02 % lower: significant, not a remedy
    d = decide(control, treated)
    assert d.p_lower == pytest.approx(1 / 32)
    assert d.verdict == "no_effect"
    assert decide(control, [c * 0.97 for c in control]).verdict == "helps"
    assert decide(control, [c * 1.03 for c in control]).verdict == "hurts"
