"""Frozen parameters: a choice or a mistake. Pure functions of plain numbers (no torch).

A parameter with requires_grad=False that the optimizer does not hold was frozen on purpose
when it carries trained values (a pretrained backbone kept fixed while a new head learns). The
same parameter still at the values its layer's own initialisation draws was never trained, and
freezing it leaves that part of the network at random: the fault. Two samples of values are
told apart by the two-sample Kolmogorov-Smirnov distance, so no shape constant of one model is
involved: a reset copy of the same layer provides the "freshly initialised" sample.
"""

from __future__ import annotations

import math

import numpy as np

KS_ALPHA_COEFF = 1.95
"""c(alpha) of the two-sample KS test at alpha = 0.001: distributions differ when the distance
exceeds c * sqrt((n + m) / (n m))."""
MIN_VALUES = 8
"""Fewer values than this tell nothing about a distribution."""
ESCAPE_SHARE = 0.05
"""Trained values leave the range of a fresh draw (a bounded init such as PyTorch's uniform
Kaiming keeps every value within its bound): more than 5 % of them outside it..."""
ESCAPE_MIN_FRESH = 100
"""...judged only against a fresh draw this large, whose range covers its distribution."""


def ks_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Largest gap between the empirical distribution functions of two samples."""
    a, b = np.sort(np.ravel(a)), np.sort(np.ravel(b))
    grid = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, grid, side="right") / len(a)
    cdf_b = np.searchsorted(b, grid, side="right") / len(b)
    return float(np.max(np.abs(cdf_a - cdf_b)))


def trained_values(values: np.ndarray, fresh: np.ndarray) -> bool | None:
    """True when `values` are clearly not drawn like `fresh` (a re-initialised copy of the same
    tensors): the parameter carries trained values. None when there are too few values."""
    n, m = np.size(values), np.size(fresh)
    if n < MIN_VALUES or m < MIN_VALUES:
        return None
    if np.array_equal(np.ravel(values), np.ravel(fresh)):
        return False  # a deterministic init (ones, zeros) it still holds
    bar = KS_ALPHA_COEFF * math.sqrt((n + m) / (n * m))
    if ks_distance(values, fresh) > bar:
        return True
    if m < ESCAPE_MIN_FRESH:
        return False
    top = float(np.max(np.abs(fresh)))
    return float(np.mean(np.abs(np.ravel(values)) > top)) > ESCAPE_SHARE
