"""Certainty-factor arithmetic (MYCIN/EMYCIN) in advisor.engine.certainty."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from advisor.engine.certainty import (
    THRESHOLD,
    combine,
    combine_all,
    conjunction,
    disjunction,
    negation,
)

# Open interval: at exactly +1 / -1 the combination is a guarded special case (see below).
inner = st.floats(min_value=-0.99, max_value=0.99, allow_nan=False)
closed = st.floats(min_value=-1.0, max_value=1.0, allow_nan=False)


def test_threshold_is_emycin_point_two():
    assert THRESHOLD == 0.2


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (0.5, 0.6, 0.8),  # a + b(1 - a)
        (0.6, 0.5, 0.8),
        (0.0, 0.7, 0.7),
        (0.3, 0.0, 0.3),
        (1.0, 0.4, 1.0),
        (-0.5, -0.6, -0.8),  # a + b(1 + a)
        (-0.6, -0.5, -0.8),
        (-1.0, -0.3, -1.0),
        (0.8, -0.4, (0.8 - 0.4) / (1 - 0.4)),  # (a + b) / (1 - min(|a|, |b|))
        (-0.8, 0.4, (-0.8 + 0.4) / (1 - 0.4)),
        (0.3, -0.9, (0.3 - 0.9) / (1 - 0.3)),
        (0.5, -0.5, 0.0),
        (1.0, -0.5, 1.0),  # certain evidence is not shaken by weaker contrary evidence
        (-1.0, 0.5, -1.0),
    ],
)
def test_combine_values(a, b, expected):
    assert combine(a, b) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(("a", "b"), [(1.0, -1.0), (-1.0, 1.0)])
def test_combine_contradictory_certainties_guard(a, b):
    # (a + b) / (1 - 1) would divide by zero: contradictory certainty gives no evidence either way.
    assert combine(a, b) == 0.0


def test_combine_all():
    assert combine_all([]) == 0.0
    assert combine_all([0.5]) == pytest.approx(0.5)
    assert combine_all([0.5, 0.6]) == pytest.approx(0.8)
    assert combine_all([0.5, 0.6, -0.4]) == pytest.approx((0.8 - 0.4) / 0.6)


@settings(max_examples=200, deadline=None)
@given(closed, closed)
def test_combine_is_commutative_and_bounded(a, b):
    assert combine(a, b) == pytest.approx(combine(b, a), abs=1e-12)
    assert -1.0 <= combine(a, b) <= 1.0


@settings(max_examples=200, deadline=None)
@given(inner, inner, inner)
def test_combine_is_associative(a, b, c):
    # The EMYCIN function multiplies likelihood ratios, so the order evidence arrives in is
    # irrelevant (away from the +1/-1 poles, where the ratio is 0 or infinite).
    assert combine(combine(a, b), c) == pytest.approx(combine(a, combine(b, c)), abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(st.lists(inner, min_size=1, max_size=6), st.randoms(use_true_random=False))
def test_combine_all_ignores_order(values, rnd):
    shuffled = list(values)
    rnd.shuffle(shuffled)
    assert combine_all(values) == pytest.approx(combine_all(shuffled), abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(inner)
def test_zero_is_the_identity_and_positive_evidence_only_increases(a):
    assert combine(a, 0.0) == pytest.approx(a)
    assert combine(a, 0.3) >= a - 1e-12
    assert combine(a, -0.3) <= a + 1e-12


# --- conjunction (all) ------------------------------------------------------------------------

def test_conjunction_is_the_minimum_when_everything_is_known():
    assert conjunction([0.9, 0.5, 0.7]) == 0.5
    assert conjunction([1.0]) == 1.0
    assert conjunction([0.9, -1.0]) == -1.0


def test_conjunction_unknown_part_keeps_it_unknown():
    assert conjunction([None]) is None
    assert conjunction([0.9, None]) is None
    assert conjunction([None, 0.5, 1.0]) is None


def test_conjunction_decided_false_by_one_known_part_at_or_below_threshold():
    assert conjunction([None, -1.0]) == -1.0
    assert conjunction([0.9, None, 0.1]) == 0.1
    assert conjunction([None, 0.2]) == 0.2  # at the threshold counts as false
    assert conjunction([None, 0.21]) is None  # just above: still open


def test_conjunction_with_custom_threshold():
    assert conjunction([None, 0.4], threshold=0.5) == 0.4
    assert conjunction([None, 0.4], threshold=0.2) is None


# --- disjunction (any) ------------------------------------------------------------------------

def test_disjunction_is_the_maximum_when_everything_is_known():
    assert disjunction([0.1, 0.5, -0.7]) == 0.5
    assert disjunction([-1.0, -0.5]) == -0.5


def test_disjunction_unknown_part_keeps_it_unknown():
    assert disjunction([None]) is None
    assert disjunction([-1.0, None]) is None
    assert disjunction([None, 0.2]) is None  # at the threshold is not yet true


def test_disjunction_decided_true_by_one_known_part_above_threshold():
    assert disjunction([None, 0.21]) == 0.21
    assert disjunction([None, -1.0, 0.9]) == 0.9


# --- negation ---------------------------------------------------------------------------------

def test_negation():
    assert negation(None) is None
    assert negation(0.7) == -0.7
    assert negation(-1.0) == 1.0
    assert negation(0.0) == 0.0


maybe = st.one_of(st.none(), closed)


@settings(max_examples=200, deadline=None)
@given(st.lists(maybe, min_size=1, max_size=6))
def test_de_morgan_and_bounds(values):
    neg = [negation(v) for v in values]
    conj, disj = conjunction(values), disjunction(neg)
    # not(all(x)) == any(not x) whenever both are decided: the threshold is asymmetric, so
    # only the decided values are compared.
    if conj is not None and disj is not None:
        assert negation(conj) == pytest.approx(disj)
    for result in (conj, disj):
        assert result is None or -1.0 <= result <= 1.0
    if all(v is not None for v in values):
        assert conj == min(values)
        assert disjunction(values) == max(values)
