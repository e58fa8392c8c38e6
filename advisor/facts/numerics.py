"""How close numerically unsafe operations come to zero: the margin and its trend.

`advisor.instruments.numerics` records, per sampled step, the smallest |input| handed to log,
sqrt, rsqrt, reciprocal, a division's denominator or a fractional power (grouped by op family).
The margin is the distance of that input from the smallest normal number of its dtype, in
decades (powers of ten): a float32 softmax probability of 1e-30 handed to log leaves about 8
decades before it underflows to 0, where log gives -inf and its gradient inf (0 * inf = NaN
in the backward pass of NLL). A margin that shrinks steadily will be used up; when it is used
up only after the probe's few hundred steps, the trend is the only warning there is.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from advisor.facts import Judgement
from advisor.facts.curves import late_half_fit

MIN_POINTS = 6          # sampled steps needed for a trend
PER_STEPS = 100         # the trend's unit: decades per 100 steps

StepMargins = tuple[int, Mapping[str, tuple[float, float]]]   # (step, {op: (smallest, tiny)})


def decades(smallest: float, tiny: float) -> float:
    """Decades between the smallest |input| and the dtype's smallest normal number; 0 when the
    input reached zero or the subnormal range."""
    if not math.isfinite(smallest) or smallest <= tiny:
        return 0.0 if smallest <= tiny else math.inf
    return math.log10(smallest) - math.log10(tiny)


def margin_series(records: Sequence[StepMargins]) -> dict[str, list[tuple[int, float]]]:
    """Per op family, (step, margin in decades) over the sampled steps."""
    out: dict[str, list[tuple[int, float]]] = {}
    for step, per_op in records:
        for op, (smallest, tiny) in per_op.items():
            m = decades(smallest, tiny)
            if math.isfinite(m):
                out.setdefault(op, []).append((step, m))
    return out


def recent_slope(points: Sequence[tuple[int, float]]) -> float | None:
    """Least-squares slope of the margin over the later half of the sampled steps, in decades
    per 100 steps (negative: the margin shrinks). The later half says where the run is going
    now: an input that is floored by an epsilon stops falling, one that is not keeps going."""
    if len(points) < MIN_POINTS:
        return None
    fit = late_half_fit(points)
    return None if fit is None else fit[0] * PER_STEPS


def judge_numerics(records: Sequence[StepMargins]) -> Judgement:
    """numerics.unsafe_margin (smallest margin of the run), the op it belongs to, the trend of
    that op's margin and, when it shrinks, the steps left at that pace."""
    j = Judgement()
    series = margin_series(records)
    if not series:
        return j
    op = min(series, key=lambda k: (min(m for _, m in series[k]), k))
    points = series[op]
    margin = min(m for _, m in points)
    j.facts["numerics.unsafe_margin"] = round(margin, 3)
    j.facts["numerics.unsafe_op"] = op
    j.details["numerics_margin_per_op"] = {k: round(min(m for _, m in v), 2)
                                           for k, v in sorted(series.items())}
    trend = recent_slope(points)
    if trend is None:
        return j
    j.facts["numerics.margin_trend"] = round(trend, 4)
    last = points[-1][1]
    if trend < -0.01:  # a flat margin (an epsilon floor) has no end
        j.facts["numerics.steps_to_exhaustion"] = round(last / (-trend / PER_STEPS))
    return j
