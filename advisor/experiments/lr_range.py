"""The learning-rate range test as an experiment: a fresh copy (optimizer state reset, no
scheduler) is trained with the rate growing exponentially from 1e-7 to 10, one step per rate,
until the smoothed loss stays above 4x its best (or turns non-finite).

The running smoothing is a lower quartile of 9 points (so heavy batches, e.g. ones holding
outliers, cannot fake a divergence), then a bias-corrected exponential average; it decides only
when to stop. The reading of the curve is `advisor.facts.lr_range.suggest`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from advisor.experiments.loop import StepOutput, run_steps
from advisor.experiments.recipe import set_lr
from advisor.experiments.steps import fixed_rate_run
from advisor.facts.lr_range import Sweep, suggest
from advisor.probing.context import ProbeContext

START_LR, END_LR = 1e-7, 10.0
POINTS = 100
WINDOW = 9


def lr_range_test(ctx: ProbeContext, deadline: float | None = None, points: int = POINTS,
                  beta: float = 0.8, heavy_tailed: bool = False,
                  activity: Any = None) -> Sweep:
    """Sweep the rate over [1e-7, 10] in `points` steps.

    `heavy_tailed`: the training run found batch losses scattering far more than their level
    (a few batches hold huge outliers); the smoothing then follows the running minimum of 15
    points instead of the lower quartile of 9, so that outlier batches neither stop the sweep
    nor shape the curve; the test then reports its rates but suggests none."""
    window, q = (15, 0.0) if heavy_tailed else (WINDOW, 0.25)
    res = Sweep(window=window, quantile=q)
    trainee, step_fn = fixed_rate_run(ctx, START_LR)
    lrs = np.geomspace(START_LR, END_LR, points)
    state = {"avg": 0.0, "best": math.inf, "above": 0}

    def before(i: int) -> None:
        set_lr(trainee.optimizer, float(lrs[i]))

    def after(i: int, out: StepOutput, batch: Any) -> bool:
        res.lrs.append(float(lrs[i]))
        res.losses.append(out.loss)
        state["avg"] = beta * state["avg"] + (1 - beta) * float(
            np.quantile(res.losses[-window:], q))
        smooth = state["avg"] / (1 - beta ** (i + 1))
        res.smoothed.append(smooth)
        state["best"] = min(state["best"], smooth)
        state["above"] = state["above"] + 1 if smooth > 4 * state["best"] > 0 else 0
        return not (i > points // 10 and state["above"] >= 3)

    batches = (ctx.on_device(b) for b in ctx.train.forever())

    loop = run_steps(trainee, batches, points, step_fn, deadline=deadline, before_step=before,
                     after_step=after, activity=activity)
    if loop.stopped == "nonfinite":
        res.lrs.append(float(lrs[loop.steps - 1]))
        res.losses.append(loop.losses[-1])
    res.stopped = {"nonfinite": "nonfinite", "error": "error", "callback": "diverged",
                   "capped": "capped"}.get(loop.stopped, "")
    return suggest(res)


def sweep_series(res: Sweep) -> dict[str, Any]:
    """The sweep for the report's plot."""
    return {"lr": res.lrs, "loss": [v if math.isfinite(v) else None for v in res.losses],
            "smoothed": res.smoothed}
