"""Shapes of recorded series: the training loss trend, the validation trend, oscillation.

Minibatch losses are noisy, so every judgement compares a change with the noise measured on the
same series (never with a fixed absolute line), and every level with the loss's own early value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def rolling_median(x: np.ndarray, window: int) -> np.ndarray:
    """Centered running median (edges use the available points): robust to single spikes."""
    n = len(x)
    if n == 0 or window <= 1:
        return x.copy()
    half = window // 2
    return np.array([np.median(x[max(0, i - half): i + half + 1]) for i in range(n)])


def robust_std(x: np.ndarray) -> float:
    if len(x) == 0:
        return 0.0
    return float(1.4826 * np.median(np.abs(x - np.median(x))))


@dataclass
class LossShape:
    trend: str
    relative_decrease: float
    oscillation: float
    early: float
    late: float
    noise: float
    smoothed: list[float]


def level_of(x: np.ndarray) -> float:
    """The typical loss of a window of steps: its lower quartile. Unlike a mean or a median it
    stays on the clean batches even when most batches hold an outlier (heavy-tailed losses),
    and for ordinary noise it moves with the level just the same."""
    return float(np.quantile(x, 0.25))


def mann_whitney_z(a: np.ndarray, b: np.ndarray) -> float:
    """z of the Mann-Whitney U test that values of `a` tend to exceed those of `b` (ties
    count half). Rank-based, so a few huge batch losses do not decide it."""
    if len(a) == 0 or len(b) == 0:
        return 0.0
    greater = (a[:, None] > b[None, :]).sum() + 0.5 * (a[:, None] == b[None, :]).sum()
    n1, n2 = len(a), len(b)
    mu = n1 * n2 / 2
    sigma = math.sqrt(n1 * n2 * (n1 + n2 + 1) / 12)
    return float((greater - mu) / sigma) if sigma > 0 else 0.0


def loss_shape(losses: Sequence[float], initial: float | None = None,
               batch_noise: float | None = None) -> LossShape | None:
    """Classify the training loss series.

    early = level (lower quartile) of the first 10 % of steps (3 to 10 steps), or the loss
    before training (`initial`) when that is lower (a loss that shot up in the first steps is
    measured from where it started); late = level of the last 20 % (at least 3 steps). A change
    counts when a Mann-Whitney test between the two windows agrees (z > 1.645), so heavy-tailed
    batch losses do not make a trend. Tests in order: nonfinite (a NaN/Inf loss); diverging
    (late 25 % above early, or back up to 3x the lowest level reached, giving back over a
    quarter of the gain);
    decreasing (at least 5 % lower; runs under 30 steps need 30 % instead of the test);
    oscillating (the loss scatters around its trend more than twice as much as it scatters
    across batches at fixed weights, `batch_noise`, i.e. more than minibatch noise explains,
    and by over 5 % of its level; or it made an excursion above 3x its start); flat otherwise.
    relative_decrease = (early - late) / |early|.
    """
    x = np.asarray(list(losses), dtype=np.float64)
    if len(x) == 0:
        return None
    if not np.isfinite(x).all():
        first = int(np.argmax(~np.isfinite(x)))
        finite = x[:first]
        early = float(np.median(finite[:3])) if len(finite) else math.nan
        return LossShape("nonfinite", math.nan, math.nan, early, math.nan, math.nan, [])
    n = len(x)
    if n < 6:
        return None
    k_early = max(3, min(n // 10, 10))
    k_late = max(3, n // 5)
    head, tail = x[:k_early], x[-k_late:]
    early = level_of(head)
    if initial is not None and math.isfinite(initial) and initial < early:
        early = float(initial)
        head = np.append(head, initial)
    late = level_of(tail)
    level = abs(early) if early != 0 else (float(np.max(np.abs(x))) or 1.0)
    rel = (early - late) / level
    z = mann_whitney_z(head, tail)   # > 0: early values tend to be higher
    smooth = rolling_median(x, max(3, min(9, n // 10 * 2 + 1)))
    heavy = rolling_median(x, max(3, n // 5))
    noise = robust_std((x - smooth)[n // 2:]) or robust_std(x - smooth)
    osc = oscillation(smooth, noise)
    short = n < 30
    if (late > early * 1.25 and (z < -1.645 or short)) or _rose_from_minimum(x, heavy, late,
                                                                             early, k_late):
        trend = "diverging"
    elif rel >= 0.05 and (z > 1.645 or (short and rel >= 0.3)):
        trend = "decreasing"
    elif step_scatter(x, late, batch_noise) or float(np.max(smooth)) > 3 * max(early, late) > 0:
        trend = "oscillating"
    else:
        trend = "flat"
    return LossShape(trend, float(rel), osc, early, late, noise, smooth.tolist())


def _rose_from_minimum(x: np.ndarray, heavy: np.ndarray, late: float, early: float,
                       k: int) -> bool:
    """The loss came down, then went back up: the last steps sit 3x above the lowest stretch
    of the run (and the rank test agrees), giving back over a quarter of what was gained."""
    lo = int(np.argmin(heavy))
    window = x[max(0, lo - k // 2): lo + k // 2 + 1]
    if len(window) < 3 or lo >= len(x) - k:
        return False
    low = float(np.median(window))
    return late > 3 * low > 0 and late - low > 0.25 * (early - low) and \
        mann_whitney_z(x[-k:], window) > 2.33


def step_scatter(x: np.ndarray, late: float, batch_noise: float | None) -> bool:
    """More step-to-step scatter in the second half than minibatch noise explains."""
    n = len(x)
    # the std that step-to-step differences imply (median |diff| of N(0, 2s^2) is 0.954 s):
    # robust to single spikes, and it sees a loss that alternates every step
    spread = float(np.median(np.abs(np.diff(x[n // 2:])))) / 0.954
    level = abs(late) or 1.0
    if spread <= 0.05 * level:
        return False
    if batch_noise is None:
        return spread > 0.5 * level
    return spread > 2.0 * batch_noise


def oscillation(smooth: np.ndarray, noise: float) -> float:
    """Fraction of steps where the smoothed loss changes direction by more than the noise
    (0 for a steady descent, near 1 for a loss that bounces up and down)."""
    d = np.diff(smooth)
    tol = max(noise * 0.5, 1e-12)
    moves = d[np.abs(d) > tol]
    if len(moves) < 2:
        return 0.0
    changes = np.sum(np.sign(moves[1:]) != np.sign(moves[:-1]))
    return float(changes / (len(d) - 1)) if len(d) > 1 else 0.0


def final_level(losses: Sequence[float]) -> float | None:
    """The loss at the end, smoothed: median of the last 10 % of steps (at least 3)."""
    x = np.asarray([v for v in losses if math.isfinite(v)], dtype=np.float64)
    if len(x) == 0:
        return None
    k = max(3, len(x) // 10)
    return float(np.median(x[-k:]))


def val_trend(values: Sequence[float]) -> str | None:
    """decreasing, flat or rising: the validation loss over the second half of the run.

    The validation batches are the same at every point, so there is no sampling noise between
    points. rising = the last value is 10 % above the lowest one before it and above the
    mid-run value; decreasing = the last value is 5 % below the mid-run value; flat otherwise
    (a loss that fell early and then stalled is flat: it stopped improving)."""
    v = np.asarray([x for x in values if math.isfinite(x)], dtype=np.float64)
    if len(v) < 3:
        return None
    mid = float(v[(len(v) - 1) // 2])
    lo = float(v[:-1].min())
    last = float(v[-1])
    if last - lo > 0.1 * abs(lo) and last > mid:
        return "rising"
    if (mid - last) >= 0.05 * abs(mid):
        return "decreasing"
    return "flat"


def median_ratio(late: Sequence[float], early: Sequence[float]) -> float | None:
    a = [x for x in late if math.isfinite(x)]
    b = [x for x in early if math.isfinite(x)]
    if not a or not b or float(np.median(b)) == 0:
        return None
    return float(np.median(a) / np.median(b))


def late_half_fit(points: Sequence[tuple[float, float]]) -> tuple[float, float] | None:
    """(slope per unit of x, R^2) of a least-squares line through the later half of the
    (x, y) points: where a series is going now, not where it started. None when the later
    half spans a single x."""
    late = points[len(points) // 2:]
    x = np.array([px for px, _ in late], dtype=float)
    y = np.array([py for _, py in late], dtype=float)
    if len(late) < 2 or np.ptp(x) <= 0:
        return None
    slope, intercept = np.polyfit(x, y, 1)
    residual = y - (slope * x + intercept)
    total = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum(residual ** 2)) / total if total > 0 else 0.0
    return float(slope), r2
