"""The trend of the global gradient norm over the run: a steady exponential growth is the
explosion that has not happened yet.

`grad.norm_growth` compares the late and early medians, which a short run shows only once the
norm has already grown by a large factor. Gradients that explode through recurrence (an RNN
trained without clipping) grow geometrically: their log norm rises along a straight line long
before it leaves the usual range. The slope of the log norm over the second half of the run
(decades per 100 steps, robust to the early transient of the first steps) projects that
growth forward.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from advisor.facts import Judgement
from advisor.facts.curves import late_half_fit

MIN_STEPS = 20
PER_STEPS = 100


def log_norm_slope(norms: Sequence[float]) -> tuple[float, float] | None:
    """(slope in decades per 100 steps, R^2 of the fit) of log10 of the finite, positive norms
    over the second half of the run; None when too few."""
    points = [(i, math.log10(v)) for i, v in enumerate(norms) if math.isfinite(v) and v > 0]
    if len(points) < MIN_STEPS:
        return None
    fit = late_half_fit(points)
    return None if fit is None else (fit[0] * PER_STEPS, fit[1])


def judge_gradient_growth(norms: Sequence[float], capped: bool = False) -> Judgement:
    """grad.norm_log_slope: decades per 100 steps the global gradient norm gains in the second
    half of the run (0 for a steady norm, 1 for tenfold per 100 steps); its fit is a detail."""
    j = Judgement()
    if capped:
        return j
    fit = log_norm_slope(norms)
    if fit is None:
        return j
    slope, r2 = fit
    j.facts["grad.norm_log_slope"] = round(slope, 4)
    j.details["grad_norm_log_slope_r2"] = round(r2, 3)
    return j
