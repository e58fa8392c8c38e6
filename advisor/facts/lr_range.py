"""The learning-rate range test's reading (Smith 2017; fastai `lr_find`, torch-lr-finder):
from the sweep's rates and losses to three rates and a suggestion. Pure numpy.

The curve gives `steep` (steepest descent of the smoothed loss in log-rate), `min` (lowest
smoothed loss) and `diverge` (where it blew up). The suggestion is the smaller of `steep` and
`min / 10`, capped at half the diverging rate (the folk rule "the best rate is about half the
rate that diverges" overestimates on a fast sweep: each rate gets one step, so the loss blows up
later than it would at that rate in training).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from advisor.facts import Judgement

MIN_DROP = 0.1  # the curve must fall 10 % below its start to suggest anything


@dataclass
class Sweep:
    """What the sweep recorded. `stopped`: '' (ran through), 'diverged', 'nonfinite', 'error'
    or 'capped'; `quantile` 0.0 marks the heavy-tailed smoothing (running minimum)."""

    lrs: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    smoothed: list[float] = field(default_factory=list)
    stopped: str = ""
    window: int = 9
    quantile: float = 0.25
    suggested: float | None = None
    steep: float | None = None
    minimum: float | None = None
    diverge: float | None = None


def centered_quantile(x: np.ndarray, window: int = 7, q: float = 0.25) -> np.ndarray:
    half = window // 2
    return np.array([np.quantile(x[max(0, i - half): i + half + 1], q)
                     for i in range(len(x))])


def suggest(res: Sweep) -> Sweep:
    """Pick the rates from the lag-free smoothed curve (ignoring the first 10 % of points).

    suggested = min(steep, minimum / 10), capped at half the diverging rate: the conservative
    end of the published heuristics (torch-lr-finder's steepest point, fastai's minimum/10). A
    sweep cut short by the time cap suggests nothing: it never saw the high rates."""
    raw = np.asarray([v for v in res.losses if math.isfinite(v)], dtype=np.float64)
    if res.stopped == "diverged":
        raw = raw[:-2]  # the sweep runs 2 points past the start of the blow-up
    lrs = np.asarray(res.lrs[: len(raw)], dtype=np.float64)
    if len(raw) < 10 or res.stopped == "capped":
        return res
    if res.stopped in ("diverged", "nonfinite"):
        res.diverge = float(lrs[-1])
    s = centered_quantile(raw, 7 if res.quantile > 0 else 11, res.quantile)
    skip = max(1, len(s) // 10)
    body, body_lr = s[skip:], lrs[skip:]
    imin = int(np.argmin(body))
    res.minimum = float(body_lr[imin])
    start = float(np.median(body[: max(3, len(body) // 10)]))
    if start - float(body[imin]) < MIN_DROP * abs(start):
        return res  # the loss never fell clearly: no usable curve, no suggestion
    res.steep = steepest(body[: imin + 1], np.log10(body_lr[: imin + 1])) or res.minimum
    res.steep = min(max(res.steep, res.minimum / 1000), res.minimum)
    suggestion = min(res.steep, res.minimum / 10)
    if res.diverge is not None:
        suggestion = min(suggestion, res.diverge / 2)
    if res.quantile == 0.0:
        return res  # heavy-tailed batch losses: the curve's shape is luck, suggest nothing
    res.suggested = suggestion
    return res


def steepest(curve: np.ndarray, log_lr: np.ndarray, half_decade: float = 0.5) -> float | None:
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


def judge_lr_range(res: Sweep, configured_lr: float | None) -> Judgement:
    j = Judgement()
    j.details["lr_range"] = {"steep": res.steep, "minimum": res.minimum,
                             "diverge": res.diverge, "stopped": res.stopped,
                             "points": len(res.lrs), "heavy_tailed": res.quantile == 0.0}
    if res.stopped == "capped":
        j.notes.append("The LR range test was cut short by the time budget: no rate is "
                       "suggested.")
    if res.suggested is None:
        return j
    j.facts["lr_range.suggested_lr"] = res.suggested
    if configured_lr:
        j.facts["lr_range.lr_vs_suggested"] = configured_lr / res.suggested
    return j
