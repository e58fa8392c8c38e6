"""The learning-rate range test (Smith 2017; fastai `lr_find`, torch-lr-finder).

A fresh copy is trained with the user's optimizer while the rate grows exponentially from 1e-7
to 10, one step per rate, until the smoothed loss exceeds 4x its best (or turns non-finite).
The loss is smoothed by a running lower quartile of 9 points (so heavy batches, e.g. ones
holding outliers, cannot fake a divergence), then a bias-corrected exponential average; the
sweep stops when that stays above 4x its best for 3 points. The rates are then read from a
centered (lag-free) running lower quartile of the raw losses.
The curve gives three rates: `steep` (steepest descent of the smoothed loss in log-rate), `min`
(lowest smoothed loss) and `diverge` (where it blew up). The suggestion is the smaller of `steep`
and `min / 10`, capped at half the diverging rate (the folk rule "the best rate is about half the
rate that diverges" overestimates on a fast sweep: each rate gets one step, so the loss blows up
later than it would at that rate in training).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from advisor.probing.collectors.loss import loss_value
from advisor.probing.context import ProbeContext

START_LR, END_LR = 1e-7, 10.0
WINDOW = 9  # running lower quartile over this many points
MIN_DROP = 0.1  # the curve must fall 10 % below its start to suggest anything


@dataclass
class LRRange:
    lrs: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    smoothed: list[float] = field(default_factory=list)
    suggested: float | None = None
    steep: float | None = None
    minimum: float | None = None
    diverge: float | None = None
    stopped: str = ""
    window: int = 9
    quantile: float = 0.25


def lr_range_test(ctx: ProbeContext, seconds: float, points: int = 100,
                  beta: float = 0.8, step_seconds: float | None = None,
                  heavy_tailed: bool = False) -> LRRange:
    """Sweep the rate over [1e-7, 10]; with a known step time, use fewer points (at least 30)
    when 100 do not fit the time, rather than stopping half-way up the range.

    `heavy_tailed`: the training run found batch losses scattering far more than their level
    (a few batches hold huge outliers); the smoothing then follows the running minimum of 15
    points instead of the lower quartile of 9, so that outlier batches neither stop the sweep
    nor shape the curve; the test then reports its rates but suggests none (their shape
    depends on which batches happened to hold outliers)."""
    if step_seconds:
        points = int(min(points, max(30, seconds / step_seconds)))
    window, q = (15, 0.0) if heavy_tailed else (WINDOW, 0.25)
    res = LRRange(window=window, quantile=q)
    model = ctx.fresh_model()
    opt = ctx.recipe.build(model, lr=START_LR, with_state=False)
    lrs = np.geomspace(START_LR, END_LR, points)
    batches = ctx.train.forever()
    deadline = time.perf_counter() + seconds
    avg, best, above = 0.0, math.inf, 0
    for i, lr in enumerate(lrs):
        for g in opt.param_groups:
            g["lr"] = float(lr) if not hasattr(g["lr"], "fill_") else g["lr"].fill_(float(lr))
        try:
            batch = ctx.on_device(next(batches))
            opt.zero_grad(set_to_none=True)
            loss, _, _ = ctx.loss(model, batch)
            value = loss_value(loss)
        except StopIteration:
            break
        except Exception:
            res.stopped = "error"
            break
        res.lrs.append(float(lr))
        res.losses.append(value)
        if not math.isfinite(value):
            res.stopped = "nonfinite"
            break
        avg = beta * avg + (1 - beta) * float(np.quantile(res.losses[-window:], q))
        smooth = avg / (1 - beta ** (i + 1))
        res.smoothed.append(smooth)
        best = min(best, smooth)
        above = above + 1 if smooth > 4 * best > 0 else 0
        if i > points // 10 and above >= 3:
            res.stopped = "diverged"
            break
        try:
            loss.backward()
            opt.step()
        except Exception:
            res.stopped = "error"
            break
        if time.perf_counter() > deadline + seconds:  # twice the share: give up
            res.stopped = "time"
            break
    _suggest(res)
    return res


def centered_quantile(x: np.ndarray, window: int = 7, q: float = 0.25) -> np.ndarray:
    half = window // 2
    return np.array([np.quantile(x[max(0, i - half): i + half + 1], q)
                     for i in range(len(x))])


def _suggest(res: LRRange) -> None:
    """Pick the rates from the lag-free smoothed curve (ignoring the first 10 % of points).

    suggested = min(steep, minimum / 10), capped at half the diverging rate: the conservative
    end of the published heuristics (torch-lr-finder's steepest point, fastai's minimum/10)."""
    raw = np.asarray([v for v in res.losses if math.isfinite(v)], dtype=np.float64)
    if res.stopped == "diverged":
        raw = raw[:-2]  # the sweep runs 2 points past the start of the blow-up
    lrs = np.asarray(res.lrs[: len(raw)], dtype=np.float64)
    if len(raw) < 10:
        return
    if res.stopped in ("diverged", "nonfinite"):
        res.diverge = float(lrs[-1])
    s = centered_quantile(raw, 7 if res.quantile > 0 else 11, res.quantile)
    skip = max(1, len(s) // 10)
    body, body_lr = s[skip:], lrs[skip:]
    imin = int(np.argmin(body))
    res.minimum = float(body_lr[imin])
    start = float(np.median(body[: max(3, len(body) // 10)]))
    if start - float(body[imin]) < MIN_DROP * abs(start):
        return  # the loss never fell clearly: no usable curve, no suggestion
    res.steep = _steepest(body[: imin + 1], np.log10(body_lr[: imin + 1])) or res.minimum
    res.steep = min(max(res.steep, res.minimum / 1000), res.minimum)
    suggestion = min(res.steep, res.minimum / 10)
    if res.diverge is not None:
        suggestion = min(suggestion, res.diverge / 2)
    if res.quantile == 0.0:
        return  # heavy-tailed batch losses: the curve's shape is luck, suggest nothing
    res.suggested = suggestion


def _steepest(curve: np.ndarray, log_lr: np.ndarray, half_decade: float = 0.5) -> float | None:
    """The rate where the loss falls fastest per decade, from a least-squares slope over half
    a decade on each side (a point-to-point gradient picks noise)."""
    best, where = 0.0, None
    for i in range(len(curve)):
        sel = np.abs(log_lr - log_lr[i]) <= half_decade
        if sel.sum() < 3:
            continue
        slope = np.polyfit(log_lr[sel], curve[sel], 1)[0]
        if slope < best:
            best, where = slope, float(10 ** log_lr[i])
    return where


def observe_lr_range(ctx: ProbeContext, res: LRRange) -> None:
    obs = ctx.obs
    obs.series["lr_range"] = {"lr": res.lrs,
                              "loss": [v if math.isfinite(v) else None for v in res.losses],
                              "smoothed": res.smoothed}
    obs.details["lr_range"] = {"steep": res.steep, "minimum": res.minimum,
                               "diverge": res.diverge, "stopped": res.stopped,
                               "points": len(res.lrs), "heavy_tailed": res.quantile == 0.0}
    if res.suggested is None:
        return
    obs.set("lr_range.suggested_lr", res.suggested)
    lr = obs.get("optim.lr")
    if lr:
        obs.set("lr_range.lr_vs_suggested", lr / res.suggested)
