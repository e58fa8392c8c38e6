"""The shape measurements on synthetic series: each category from its defining pattern, and
minibatch noise or heavy-tailed batches never read as a trend."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from advisor.facts.curves import final_level, loss_shape, mann_whitney_z, val_trend

RNG = np.random.default_rng(0)


def noisy(curve: np.ndarray, rel: float = 0.1, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return curve * (1 + rel * rng.standard_normal(len(curve)))


def test_decreasing_with_minibatch_noise():
    x = noisy(2.3 * np.exp(-np.arange(200) / 60) + 0.2, rel=0.15)
    shape = loss_shape(x, batch_noise=0.15 * 0.5)
    assert shape.trend == "decreasing"
    assert shape.relative_decrease > 0.5


def test_flat_noise_is_flat_not_oscillating():
    x = noisy(np.full(200, 2.3), rel=0.05)
    shape = loss_shape(x, initial=2.3, batch_noise=2.3 * 0.05)
    assert shape.trend == "flat"
    assert abs(shape.relative_decrease) < 0.05


def test_large_minibatch_noise_is_not_oscillation_when_batches_explain_it():
    x = noisy(np.full(200, 1.0), rel=0.4, seed=3)
    assert loss_shape(x, initial=1.0, batch_noise=0.4).trend == "flat"


def test_oscillation_beyond_batch_noise():
    x = 1.0 + 0.8 * (np.arange(200) % 2)  # bounces between 1.0 and 1.8 every step
    shape = loss_shape(x, initial=1.4, batch_noise=0.02)
    assert shape.trend == "oscillating"


def test_diverging():
    x = noisy(0.5 * np.exp(np.arange(200) / 50), rel=0.05)
    assert loss_shape(x).trend == "diverging"


def test_decrease_then_blow_up_is_diverging():
    x = np.concatenate([np.linspace(2.3, 0.1, 120), np.linspace(0.1, 1.5, 80)])
    assert loss_shape(noisy(x, rel=0.02)).trend == "diverging"


def test_spike_and_return_to_start_is_not_decreasing():
    """A loss that blew up in the first steps and came back to where it started has not
    decreased, however high the early steps were."""
    x = np.concatenate([[2.3, 40, 100, 80, 30, 10], np.full(194, 2.31)])
    shape = loss_shape(noisy(x, rel=0.01), initial=2.3, batch_noise=0.01)
    assert shape.trend == "oscillating"
    assert shape.relative_decrease < 0.05


def test_heavy_tailed_batches_are_not_a_trend():
    """Half of the batches hold huge outliers: medians flip, ranks do not."""
    rng = np.random.default_rng(5)
    x = np.where(rng.random(200) < 0.45, rng.uniform(2000, 80000, 200), 1.0)
    assert loss_shape(x, initial=float(x[:4].mean())).trend not in ("diverging", "decreasing")


def test_nonfinite():
    x = [2.3, 2.0, 1.5, math.nan]
    shape = loss_shape(x)
    assert shape.trend == "nonfinite"


def test_too_short_is_unknown():
    assert loss_shape([1.0, 0.9, 0.8]) is None


@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=6, max_size=120),
       st.one_of(st.none(), st.floats(0, 1e3)))
@settings(max_examples=60, deadline=None)
def test_any_finite_series_gets_a_valid_shape(values, noise):
    shape = loss_shape(values, batch_noise=noise)
    assert shape.trend in ("decreasing", "flat", "oscillating", "diverging")
    assert 0.0 <= shape.oscillation <= 1.0


def test_mann_whitney_direction():
    a, b = np.arange(10, 20.0), np.arange(0, 10.0)
    assert mann_whitney_z(a, b) > 3 > -3 > mann_whitney_z(b, a)


@pytest.mark.parametrize("values, expected", [
    ([2.0, 1.5, 1.2, 1.0, 0.9], "decreasing"),
    ([2.0, 1.0, 0.8, 0.9, 1.2], "rising"),
    ([1.0, 1.01, 0.99, 1.0], "flat"),
    ([2.0, 1.16, 1.25, 1.25, 1.25, 1.24, 1.24], "flat"),  # fell early, then stopped improving
])
def test_val_trend(values, expected):
    assert val_trend(values) == expected


def test_gap_ratio_floor():
    from advisor.facts.training import gap_ratio

    assert gap_ratio(1.2, 1.0, 2.3) == pytest.approx(0.2)
    assert gap_ratio(0.09, 0.03, 2.3) == pytest.approx(0.06 / 0.575)  # not 2.0
    assert gap_ratio(1.0, 0.0, None) is None


def test_final_level_ignores_nonfinite():
    assert final_level([3.0, 2.0, 1.0, 1.0, 1.0, math.inf]) == 1.0
