"""Whole-run facts from logged series (`advisor logs`): the loss, validation loss, learning
rate and gradient norm of a finished run, as a log file recorded them.

Logs are long (a million points per tag), noisy (one minibatch per point), irregular (logged
every k steps, k changing, steps repeated after a resume) and may hold NaN. So every series is
first put in order (stable sort by step, the last value logged for a repeated step wins: a
resumed run overwrote it), then smoothed on the STEP axis, not the index axis: the run is cut
into at most MAX_BINS bins of equal step width, and each bin's median and MAD stand for the
level and the noise there. Every threshold compares a change with that noise (robust units:
1.4826 * MAD) and with the level itself, never with a fixed absolute line. All of it is
vectorised numpy (a sort per series), so a 1M-point tag takes well under a second.

Definitions, thresholds and the reasons for them: advisor/logs/MEASUREMENTS.md. A fact the
series cannot decide (too short, absent, too sparse) is left out, never guessed.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from advisor.facts import Judgement
from advisor.facts.curves import (
    mann_whitney_z,
    oscillation,
    robust_std,
    rolling_median,
    step_scatter,
    val_trend,
)
from advisor.facts.loop import COLLAPSE_FRACTION
from advisor.logs.run import LoggedRun, Series

MIN_POINTS = 20          # finite points a series needs before any shape is judged
MAX_BINS = 400           # bins of equal step width: the smoothing grid
POINTS_PER_BIN = 16      # ... with this many points each on average (fewer bins when sparse)
SEGMENTS = 4             # the run is cut into this many equal step spans for the trend
TREND_Z = 2.33           # rank test (one-sided 1 %) between a segment's first and last quarter
TREND_REL = 0.02         # ... and a change of at least 2 % of the level
TREND_SAMPLE = 400       # points per quarter handed to the rank test (evenly thinned)
SPIKE_Z = 8.0            # a spike point: this many robust units above the previous bin's level
SPIKE_REL = 0.10         # ... and at least 10 % of that level above it (loss)
GRAD_SPIKE_RATIO = 2.0   # a gradient-norm spike: at least 2x the previous bin's level
SPIKE_POINTS = 2         # ... held over at least 2 consecutive logged points
SPIKE_GAP = 10           # flagged points this close (in logged points) form one event
RECOVER_WINDOW = 0.05    # recovered: back to the pre-spike level within 5 % of the run ...
RECOVER_MIN_POINTS = 20  # ... and at least this many logged points
RECOVER_MEDIAN = 5       # "back" = the median of the next 5 points
RECOVER_Z = 3.0          # ... within 3 robust units of the pre-spike level
MAX_EVENTS = 200         # spike events examined one by one (the largest ones)
DIVERGE_SHARE = 0.5      # diverged: the end gave back half of the gain (or rose above start)
DIVERGE_BAND = 0.05      # onset: the level left 5 % above its lowest for good
SMOOTH_BINS = 9          # running median over bin levels (curves.rolling_median) for "lowest"
PLATEAU_REL = 0.01       # meaningful improvement: 1 % of the level ...
PLATEAU_Z = 5.0          # ... and 5 standard errors of a smoothed level
PLATEAU_MIN_BINS = 6     # filled bins the plateau needs (as the divergence does): with 2 or 3
                         # bins (a per-epoch log) the last bin is "the plateau" whatever the curve
OSC_MIN_POINTS = 200     # oscillation is judged only on densely logged series
OSC_MIN_BINS = 20
OSC_TURNS = 6            # the smoothed level changes direction 6 times (3 swings) ...
OSC_AMPLITUDE = 0.05     # ... by more than 5 % of the level
OSC_GAIN_SHARE = 0.05    # ... or of 5 % of the run's fall, whichever is larger
OVERFIT_MIN_VAL = 5      # validation points needed for the overfitting onset
OVERFIT_AFTER = 2        # validation points after the minimum (so a rise, not one point)
TRAIN_FALL_REL = 0.01    # training "still falls": 1 % lower at the last validation step
WARMUP_START = 0.5       # warmup: the first rate below half the peak ...
WARMUP_RISING = 0.9      # ... rising (non-decreasing) over 90 % of the steps up to the peak
WARMUP_PEAK_BY = 0.5     # ... peak reached in the first half of the run
DECAY_RATIO = 0.5        # decayed: the last rate at most half the peak
RESTART_LOW, RESTART_HIGH = 0.5, 0.8   # restart: below 0.5x the peak so far, back above 0.8x
ZERO_LR = COLLAPSE_FRACTION   # "zero": below 1e-3 of the peak (three decades, as in the watch)
LEAD_WINDOW = 0.01       # a gradient spike leads a loss spike: within 1 % of the run before it
LEAD_MIN_STEPS = 10      # ... or 10 steps, whichever is longer
LEAD_SHARE = 0.5         # ... for at least half of the loss spikes
CLIP_REL = 1e-3          # clipped: this close to the largest logged norm ...
CLIP_SHARE = 0.01        # ... on at least 1 % of the points
CLIP_MIN_POINTS = 5      # ... and at least 5 of them


# ------------------------------------------------------------------ series preparation
@dataclass
class Clean:
    """A series in step order, one value per step, finite values only."""

    steps: np.ndarray
    values: np.ndarray
    first_nonfinite: int | None
    nonfinite_count: int
    duplicates: int
    total: int


def clean(series: Series) -> Clean:
    """Stable sort by step; the first non-finite step is read from every logged value; of a
    repeated step the LAST logged value is kept (a resumed run logged the step again)."""
    steps = np.asarray(series.steps, dtype=np.int64)
    values = np.asarray(series.values, dtype=np.float64)
    order = np.argsort(steps, kind="stable")
    steps, values = steps[order], values[order]
    bad = ~np.isfinite(values)
    first = int(steps[np.argmax(bad)]) if bad.any() else None
    last = np.ones(len(steps), dtype=bool)
    last[:-1] = steps[1:] != steps[:-1]
    duplicates = int(len(steps) - last.sum())
    steps, values = steps[last], values[last]
    keep = np.isfinite(values)
    return Clean(steps[keep], values[keep], first, int(bad.sum()), duplicates, len(order))


@dataclass
class Bins:
    """The smoothing grid: per bin its first step, median, robust noise and point count.
    `of` maps every point to its bin."""

    start: np.ndarray
    level: np.ndarray
    sigma: np.ndarray
    count: np.ndarray
    of: np.ndarray

    @property
    def filled(self) -> np.ndarray:
        return self.count > 0


def grouped_median(values: np.ndarray, group: np.ndarray, n: int) -> np.ndarray:
    """Median of `values` per group 0..n-1 (NaN for empty groups). `group` is non-decreasing
    (the points are in step order), so each group is a slice: one partition per bin, linear
    in the points (a global sort of a 1M-point series costs ten times more)."""
    bounds = np.searchsorted(group, np.arange(n + 1))
    out = np.full(n, np.nan)
    for b in np.flatnonzero(np.diff(bounds)):
        out[b] = np.median(values[bounds[b]: bounds[b + 1]])
    return out


def bin_series(steps: np.ndarray, values: np.ndarray) -> Bins:
    """Median and robust noise (1.4826 MAD) in bins of equal step width, about POINTS_PER_BIN
    points each, at most MAX_BINS. Sparse bins (< 5 points) borrow the median noise of the
    others: a MAD of two points says nothing."""
    n = len(values)
    nb = int(max(1, min(MAX_BINS, n // POINTS_PER_BIN)))
    s0, span = steps[0], steps[-1] - steps[0]
    if span <= 0:
        nb = 1
        of = np.zeros(n, dtype=np.int64)
    else:
        of = np.minimum(((steps - s0) / span * nb).astype(np.int64), nb - 1)
    count = np.bincount(of, minlength=nb)
    level = grouped_median(values, of, nb)
    sigma = 1.4826 * grouped_median(np.abs(values - level[of]), of, nb)
    solid = count >= 5
    typical = float(np.median(sigma[solid])) if solid.any() else robust_std(values)
    sigma = np.where(solid, sigma, typical)
    floor = 1e-3 * float(np.median(np.abs(values))) + 1e-12
    sigma = np.maximum(sigma, floor)
    first = np.full(nb, -1, dtype=np.int64)
    firsts = np.flatnonzero(np.r_[True, of[1:] != of[:-1]])
    first[of[firsts]] = steps[firsts]
    return Bins(first, level, sigma, count, of)


def _previous_filled(bins: Bins) -> np.ndarray:
    """For each bin, the index of the last non-empty bin strictly before it (-1: none)."""
    idx = np.where(bins.filled, np.arange(len(bins.count)), -1)
    prev = np.maximum.accumulate(idx)
    return np.r_[-1, prev[:-1]]


# ------------------------------------------------------------------ spikes
@dataclass
class Spike:
    start_step: int
    peak_step: int
    size: float            # largest excursion, in robust units of the pre-spike bin
    rise: float            # peak - pre-spike level (log units for gradient norms)
    before: float          # the pre-spike level
    recovered: bool | None = None
    recovery_step: int | None = None
    at_lr_restart: bool = False   # began just after the schedule restarted its rate


def find_spikes(steps: np.ndarray, x: np.ndarray, bins: Bins, min_rise: np.ndarray | float,
                span: int, recover: bool, restarts: np.ndarray | None = None) -> list[Spike]:
    """Points SPIKE_Z robust units and `min_rise` above the level of the previous non-empty
    bin (so a jump is measured from where the series was before it, not from a window that
    already holds it); flagged points within SPIKE_GAP points form one event, and an event
    that has not recovered absorbs the flagged points that follow it, unless the LR schedule
    restarted in between (`restarts`): a new cycle starts a new event, marked at_lr_restart
    when it begins within LEAD_WINDOW of the restart."""
    prev = _previous_filled(bins)[bins.of]
    has = prev >= 0
    before = np.where(has, bins.level[np.maximum(prev, 0)], np.nan)
    sigma = np.where(has, bins.sigma[np.maximum(prev, 0)], np.nan)
    rise = x - before
    floor = min_rise if np.isscalar(min_rise) else np.asarray(min_rise)[np.maximum(prev, 0)]
    with np.errstate(invalid="ignore"):
        flagged = np.flatnonzero(has & (rise > SPIKE_Z * sigma) & (rise >= floor))
    if len(flagged) == 0:
        return []
    cuts = np.flatnonzero(np.diff(flagged) > SPIKE_GAP) + 1
    groups = np.split(flagged, cuts)
    # a lone point is one bad batch (heavy-tailed losses have many); a spike outlasts it
    groups = [g for g in groups if _longest_run(g) >= SPIKE_POINTS]
    if len(groups) > MAX_EVENTS:   # keep the largest ones, in step order
        z = np.array([float(np.max(rise[g] / sigma[g])) for g in groups])
        keep = np.sort(np.argsort(-z)[:MAX_EVENTS])
        groups = [groups[i] for i in keep]
    window = max(RECOVER_WINDOW * span, 1)
    restarts = np.array([], dtype=np.int64) if restarts is None else restarts
    at_restart = _after(steps[[int(g[0]) for g in groups]], restarts,
                        max(LEAD_WINDOW * span, LEAD_MIN_STEPS))
    events: list[Spike] = []
    end_of_last: int | None = None   # index where the previous event recovered
    for g, restarted in zip(groups, at_restart, strict=True):
        crossed = bool(events) and bool(np.any((restarts > events[-1].start_step)
                                               & (restarts <= steps[g[0]])))
        if events and not crossed and (end_of_last is None or g[0] < end_of_last):
            ev = events[-1]       # still inside the previous excursion
            peak = g[np.argmax(x[g])]
            if x[peak] - ev.before > ev.rise:
                ev.rise, ev.peak_step = float(x[peak] - ev.before), int(steps[peak])
                ev.size = max(ev.size, float(np.max(rise[g] / sigma[g])))
            continue
        i0 = int(g[0])
        peak = int(g[np.argmax(x[g])])
        ev = Spike(int(steps[i0]), int(steps[peak]), float(np.max(rise[g] / sigma[g])),
                   float(x[peak] - before[i0]), float(before[i0]), at_lr_restart=bool(restarted))
        end_of_last = int(g[-1]) + 1
        if recover:
            end_of_last = _recovery(steps, x, ev, peak, float(sigma[i0]), window)
        events.append(ev)
    return events


def _longest_run(g: np.ndarray) -> int:
    """The most consecutive indices in the sorted index array `g`."""
    breaks = np.flatnonzero(np.diff(g) != 1)
    edges = np.r_[-1, breaks, len(g) - 1]
    return int(np.max(np.diff(edges)))


def _recovery(steps: np.ndarray, x: np.ndarray, ev: Spike, peak: int, sigma: float,
              window: float) -> int | None:
    """Sets ev.recovered: the median of RECOVER_MEDIAN points after the peak came back within
    RECOVER_Z robust units of the pre-spike level, within the window. None (undecided) when
    the run ended before the window did. Returns the index of the recovery, else None."""
    limit = steps[peak] + window
    end = int(np.searchsorted(steps, limit, side="right"))
    end = max(end, min(len(x), peak + 1 + RECOVER_MIN_POINTS))
    tail = x[peak + 1: end + RECOVER_MEDIAN - 1]
    target = ev.before + RECOVER_Z * sigma
    if len(tail) >= RECOVER_MEDIAN:
        med = np.median(np.lib.stride_tricks.sliding_window_view(tail, RECOVER_MEDIAN), axis=1)
        back = np.flatnonzero(med[: end - peak - 1] <= target)
        if len(back):
            at = peak + 1 + int(back[0])
            ev.recovered, ev.recovery_step = True, int(steps[at])
            return at
    covered = steps[-1] >= limit and end - peak - 1 >= RECOVER_MIN_POINTS
    ev.recovered = False if covered else None
    return None


# ------------------------------------------------------------------ loss shape
def segment_trends(steps: np.ndarray, x: np.ndarray, bins: Bins) -> list[str | None]:
    """decreasing / flat / increasing for each of SEGMENTS equal step spans: the rank test
    between the segment's first and last quarter (thinned to TREND_SAMPLE points each) and a
    change of TREND_REL of the level. None for a segment with under 6 points per quarter."""
    s0, span = steps[0], steps[-1] - steps[0]
    out: list[str | None] = []
    for k in range(SEGMENTS):
        a = s0 + span * k / SEGMENTS
        q = span / SEGMENTS / 4
        lo = slice(*np.searchsorted(steps, [a, a + q]))
        hi = slice(*np.searchsorted(steps, [a + 3 * q, a + 4 * q], side="right"))
        head, tail = _thin(x[lo]), _thin(x[hi])
        if len(head) < 6 or len(tail) < 6:
            out.append(None)
            continue
        early, late = float(np.median(head)), float(np.median(tail))
        level = abs(early) or 1.0
        z = mann_whitney_z(head, tail)
        if z > TREND_Z and early - late >= TREND_REL * level:
            out.append("decreasing")
        elif z < -TREND_Z and late - early >= TREND_REL * level:
            out.append("increasing")
        else:
            out.append("flat")
    return out


def _thin(x: np.ndarray) -> np.ndarray:
    if len(x) <= TREND_SAMPLE:
        return x
    return x[np.linspace(0, len(x) - 1, TREND_SAMPLE).astype(np.int64)]


def _bin_error(bins: Bins) -> np.ndarray:
    """Standard error of each bin's median (1.2533 sigma / sqrt(n))."""
    return 1.2533 * bins.sigma / np.sqrt(np.maximum(bins.count, 1))


def divergence(bins: Bins) -> dict | None:
    """The smoothed loss came down to its lowest level, then ended above its start or gave
    back DIVERGE_SHARE of its gain. Onset: the first bin after the last one still within
    DIVERGE_BAND of the lowest level (the rise that never came back)."""
    ok = np.flatnonzero(bins.filled)
    if len(ok) < 6:
        return None
    lv = rolling_median(bins.level[ok], SMOOTH_BINS)
    k = max(3, len(lv) // 20)
    start, end = float(np.median(lv[:3])), float(np.median(lv[-k:]))
    lo = int(np.argmin(lv))
    low = float(lv[lo])
    facts = {"lowest": low, "lowest_step": int(bins.start[ok[lo]]), "start": start, "end": end}
    if lo >= len(lv) - k:
        return {"diverged": False, **facts}   # still at its lowest at the end
    gain = start - low
    noise = float(np.median(_bin_error(bins)[ok]))
    diverged = end - low > max(DIVERGE_SHARE * max(gain, 0.0), 6 * noise) and \
        (end > start or end - low >= DIVERGE_SHARE * gain)
    if not diverged:
        return {"diverged": False, **facts}
    band = low + max(DIVERGE_BAND * abs(low), 3 * noise)
    within = np.flatnonzero(lv[lo:] <= band)
    onset = min(lo + int(within[-1]) + 1, len(lv) - 1)
    return {"diverged": True, "step": int(bins.start[ok[onset]]), **facts}


def plateau_fraction(steps: np.ndarray, bins: Bins) -> tuple[float, int]:
    """Share of the run (in steps) at its end during which the smoothed loss did not improve
    meaningfully: from the first bin after which no later bin is lower by PLATEAU_REL of the
    level and PLATEAU_Z standard errors. Returns (fraction, step where it began)."""
    ok = np.flatnonzero(bins.filled)
    lv = rolling_median(bins.level[ok], SMOOTH_BINS)
    later_min = np.minimum.accumulate(lv[::-1])[::-1]
    # the running median's error, at the run's ends where its window holds half the bins
    error = _bin_error(bins)[ok] / math.sqrt(SMOOTH_BINS // 2 + 1)
    threshold = np.maximum(PLATEAU_REL * np.abs(lv), PLATEAU_Z * error)
    improving = (lv - later_min) >= threshold
    idx = np.flatnonzero(improving)
    first = int(idx[-1]) + 1 if len(idx) else 0
    first = min(first, len(lv) - 1)
    begin = int(bins.start[ok[first]])
    span = max(int(steps[-1] - steps[0]), 1)
    return float((steps[-1] - begin) / span), begin


def oscillating(x: np.ndarray, bins: Bins) -> dict | None:
    """Only on densely logged series (OSC_MIN_POINTS points, OSC_MIN_BINS bins). Either the
    step-to-step scatter of the second half exceeds half the level (curves.step_scatter: a loss
    that jumps from one logged step to the next by more than noise can), or the smoothed
    level swings around its own slow trend (a running median over a tenth of the run): at
    least OSC_TURNS changes of direction (curves.oscillation, moves beyond three standard
    errors of a bin) with a swing (robust std about the trend) over OSC_AMPLITUDE of the
    level. Both are measured against the larger of the late level and OSC_GAIN_SHARE of the
    fall from the start: a converged loss near zero is not oscillating."""
    ok = np.flatnonzero(bins.filled)
    if len(x) < OSC_MIN_POINTS or len(ok) < OSC_MIN_BINS:
        return None
    lv = bins.level[ok]
    late = float(np.median(lv[len(lv) // 2:]))
    # A loss that fell from 1.6 to 0.002 bounces by more than its own tiny level from batch
    # to batch; what matters is the swing against the progress made, so the reference is the
    # late level or OSC_GAIN_SHARE of the fall, whichever is larger.
    start = float(np.median(lv[:3]))
    reference = max(abs(late), OSC_GAIN_SHARE * (start - late)) or 1.0
    scatter = step_scatter(x, reference, None)
    err = float(np.median(_bin_error(bins)[ok]))
    turns = round(oscillation(lv, 6 * err) * (len(lv) - 2))   # its tolerance: half the noise
    trend = rolling_median(lv, max(5, len(lv) // 10 | 1))
    amplitude = robust_std(lv - trend) / reference
    slow = turns >= OSC_TURNS and amplitude > OSC_AMPLITUDE
    return {"oscillating": bool(scatter or slow), "turns": int(turns),
            "amplitude": amplitude, "batch_scatter": bool(scatter)}


# ------------------------------------------------------------------ judging
def judge_logs(run: LoggedRun) -> Judgement:
    """Every `logs.*` fact the run's series support."""
    j = Judgement()
    loss, lr = run.get("loss"), run.get("lr")
    lr_clean = clean(lr) if lr is not None and len(lr.steps) else None
    ctx: dict = {"lr_restart_steps": restart_steps(lr_clean) if lr_clean else np.array([])}
    if loss is not None and len(loss.steps):
        j.merge(judge_loss(run, clean(loss), ctx))
    val = run.get("val_loss")
    val_clean = clean(val) if val is not None and len(val.steps) else None
    if val_clean is not None and val_clean.first_nonfinite is not None:
        # an evaluation that overflows (fp16 eval, a bad validation batch) while training
        # goes on: no training loss needed to say so
        j.facts["logs.val_first_nonfinite_step"] = val_clean.first_nonfinite
        j.details["val_loss_nonfinite"] = {"logged": val_clean.nonfinite_count,
                                           "of": val_clean.total}
    if val_clean is not None and "loss" in ctx:
        j.merge(judge_validation(val_clean, ctx))
    if lr_clean is not None:
        epoch = run.get("epoch")
        j.merge(judge_lr(lr_clean, clean(epoch) if epoch is not None else None, ctx))
    grad = run.get("grad_norm")
    if grad is not None and len(grad.steps):
        j.merge(judge_grad_norm(clean(grad), ctx))
    return j


def judge_loss(run: LoggedRun, c: Clean, ctx: dict) -> Judgement:
    """Non-finite values (logged, or hidden by HF as 0.0 with a NaN gradient norm), then the
    shape of the finite part: trend per segment, spikes, divergence, plateau, oscillation."""
    j = Judgement()
    nonfinite = [s for s in (c.first_nonfinite, *run.hidden_nan_steps) if s is not None]
    j.facts["logs.loss_nonfinite"] = bool(nonfinite)
    if nonfinite:
        first = int(min(nonfinite))
        j.facts["logs.first_nonfinite_step"] = first
        j.details["loss_nonfinite"] = {
            "logged": c.nonfinite_count, "hidden_by_trainer": len(run.hidden_nan_steps),
            "finite_after": int(np.sum(c.steps > first))}
    if c.duplicates:
        j.notes.append(f"The loss logs {c.duplicates} steps more than once (a resumed run?): "
                       "the last value logged for a step is used.")
    steps, x = c.steps, c.values
    if run.hidden_nan_steps:   # the 0.0 the trainer logged in place of a NaN is no loss
        real = ~np.isin(steps, np.asarray(run.hidden_nan_steps, dtype=np.int64))
        steps, x = steps[real], x[real]
    if len(x) < 2:
        return j
    span = int(steps[-1] - steps[0])
    bins = bin_series(steps, x)
    # the training level beside the validation loss needs no shape: a log of one line per
    # epoch (Keras' CSVLogger, 10 epochs) still shows overfitting
    ctx.update(loss=(steps, x, bins), span=max(span, 1))
    if len(x) < MIN_POINTS:
        return j
    j.details["loss_smoothed"] = [(int(s), float(v)) for s, v in
                                  zip(bins.start[bins.filled], bins.level[bins.filled],
                                      strict=True)]
    j.details["loss_points"] = {"used": len(x), "logged": c.total, "bins": int(
        bins.filled.sum()), "median_step_gap": float(np.median(np.diff(steps)))}
    trends = segment_trends(steps, x, bins)
    decided = [t for t in trends if t is not None]
    if decided:
        j.details["loss_trend_segments"] = trends   # a list: the report shows it, rules
        # reason over its last decided entry
        j.facts["logs.loss_trend_last"] = decided[-1]
    spikes = find_spikes(steps, x, bins, SPIKE_REL * np.abs(bins.level), span, recover=True,
                         restarts=ctx["lr_restart_steps"])
    by_design = [s for s in spikes if s.at_lr_restart]
    if by_design:   # the loss rises when a schedule restarts its rate: not a spike
        j.details["loss_rises_at_lr_restarts"] = [asdict(s) for s in by_design[:20]]
        spikes = [s for s in spikes if not s.at_lr_restart]
    ctx["loss_spikes"] = spikes
    j.facts["logs.spike_count"] = len(spikes)
    if spikes:
        j.facts["logs.spike_max_size"] = max(s.size for s in spikes)
        decided = [s for s in spikes if s.recovered is not None]
        if decided:
            j.facts["logs.unrecovered_spike"] = any(not s.recovered for s in decided)
        j.details["loss_spikes"] = [asdict(s) for s in spikes[:20]]
    div = divergence(bins)
    if div is not None:
        j.facts["logs.diverged"] = div["diverged"]
        if div["diverged"]:
            j.facts["logs.divergence_step"] = div["step"]
        j.details["divergence"] = div
        if div["start"] > 0:   # how much of its starting level the loss shed, start to end
            j.facts["logs.loss_relative_decrease"] = (div["start"] - div["end"]) / div["start"]
    if int(bins.filled.sum()) >= PLATEAU_MIN_BINS:
        frac, begin = plateau_fraction(steps, bins)
        j.facts["logs.plateau_fraction"] = frac
        j.details["plateau_from_step"] = begin
    osc = oscillating(x, bins)
    if osc is not None:
        j.facts["logs.oscillating"] = osc.pop("oscillating")
        j.details["oscillation"] = osc
    return j


def _level_at(steps: np.ndarray, x: np.ndarray, at: int, width: float) -> float | None:
    """Median of the training losses logged in (at - width, at]."""
    lo, hi = np.searchsorted(steps, [at - width, at], side="right")
    return float(np.median(x[lo:hi])) if hi > lo else None


def judge_validation(v: Clean, ctx: dict) -> Judgement:
    """The train/validation gap at the last validation step, and the overfitting onset: the
    step of the lowest validation loss after which it rose (curves.val_trend says "rising")
    while the training loss kept falling."""
    j = Judgement()
    steps, x, _ = ctx["loss"]
    if len(v.values) == 0:
        return j
    width = max(0.02 * ctx["span"], float(np.median(np.diff(steps))) * 5)
    last_step, last_val = int(v.steps[-1]), float(v.values[-1])
    train = _level_at(steps, x, last_step, width)
    if train is not None and train > 0:
        j.facts["logs.train_val_gap"] = (last_val - train) / train
        j.details["train_val_gap"] = {"step": last_step, "val": last_val, "train": train}
    if len(v.values) < OVERFIT_MIN_VAL:
        return j
    trend = val_trend(v.values.tolist())
    j.details["val_trend"] = trend
    lo = int(np.argmin(v.values))
    after = len(v.values) - lo - 1
    if trend != "rising" or after < OVERFIT_AFTER:
        if trend is not None:
            j.facts["logs.overfitting"] = False
        return j
    at_min = _level_at(steps, x, int(v.steps[lo]), width)
    if at_min is None or train is None:
        return j
    falling = at_min - train >= TRAIN_FALL_REL * abs(at_min)
    j.facts["logs.overfitting"] = bool(falling)
    if falling:
        j.facts["logs.overfit_onset_step"] = int(v.steps[lo])
    j.details["overfit"] = {"val_min_step": int(v.steps[lo]), "val_min": float(v.values[lo]),
                            "train_at_val_min": at_min, "train_at_end": train,
                            "train_still_falling": bool(falling)}
    return j


def restart_steps(c: Clean) -> np.ndarray:
    """Steps where the rate starts rising again after it fell below RESTART_LOW of its
    highest value so far, when it then climbs above RESTART_HIGH of it (a warm restart or a
    cyclic schedule; a warmup never fell first, ReduceLROnPlateau never climbs)."""
    lr = c.values
    if len(lr) < 3:
        return np.array([], dtype=np.int64)
    high = np.maximum.accumulate(lr)
    label = np.where(lr <= RESTART_LOW * high, -1, np.where(lr >= RESTART_HIGH * high, 1, 0))
    at = np.flatnonzero(label)
    marks = label[at]
    k = np.flatnonzero((marks[:-1] == -1) & (marks[1:] == 1))
    return c.steps[at[k] + 1]


def _after(starts: np.ndarray, events: np.ndarray, window: float) -> np.ndarray:
    """For each start, whether one of the (sorted) event steps lies in [start - window,
    start]."""
    if len(starts) == 0 or len(events) == 0:
        return np.zeros(len(starts), dtype=bool)
    lo = np.searchsorted(events, starts - window, side="left")
    hi = np.searchsorted(events, starts, side="right")
    return hi > lo


def judge_lr(c: Clean, epoch: Clean | None, ctx: dict) -> Judgement:
    """Schedule shape: warmup, decay, restarts, and the share of the run spent at a rate that
    is effectively zero (below ZERO_LR of the peak) after the peak."""
    j = Judgement()
    steps, lr = c.steps, c.values
    if len(lr) < 3 or not (lr > 0).any():
        return j
    peak_at = int(np.argmax(lr))
    peak = float(lr[peak_at])
    end = max(int(steps[-1]), int(ctx["loss"][0][-1]) if "loss" in ctx else 0)
    begin = min(int(steps[0]), int(ctx["loss"][0][0]) if "loss" in ctx else int(steps[0]))
    span = max(end - begin, 1)
    reach = int(np.argmax(lr >= 0.99 * peak))
    head = np.diff(lr[: reach + 1])
    rising = float(np.mean(head >= 0)) if len(head) else 0.0
    warm = bool(lr[0] < WARMUP_START * peak and reach > 0 and rising >= WARMUP_RISING
                and steps[reach] - begin <= WARMUP_PEAK_BY * span)
    j.facts["logs.lr_warmup"] = warm
    if warm:
        j.details["lr_warmup_steps"] = int(steps[reach] - steps[0])
    j.facts["logs.lr_decayed"] = bool(lr[-1] <= DECAY_RATIO * peak)
    j.details["lr"] = {"peak": peak, "peak_step": int(steps[peak_at]), "last": float(lr[-1])}
    restarts = ctx["lr_restart_steps"]
    j.facts["logs.lr_restart"] = bool(len(restarts))
    if len(restarts):
        j.details["lr_restart_steps"] = [int(r) for r in restarts[:20]]
    zero = lr <= ZERO_LR * peak
    zero[:peak_at] = False
    # the step intervals a zero rate governs: from its step to the next logged one (the last
    # logged rate holds until the end of the run)
    nxt = np.r_[steps[1:], end]
    held = np.maximum(nxt - steps, 0)
    frac = float(held[zero].sum() / span)
    j.facts["logs.lr_zero_fraction"] = frac
    if zero.any():
        first = int(steps[np.argmax(zero)])
        j.facts["logs.lr_zero_step"] = first
        if epoch is not None and len(epoch.values):
            i = max(int(np.searchsorted(epoch.steps, first, side="right")) - 1, 0)
            j.facts["logs.lr_zero_epoch"] = float(epoch.values[i])
    return j


def judge_grad_norm(c: Clean, ctx: dict) -> Judgement:
    """Gradient-norm spikes (on log norms: GRAD_SPIKE_RATIO times the previous level), whether
    they lead the loss spikes, and clipping made visible by a norm pinned at its maximum."""
    j = Judgement()
    if c.first_nonfinite is not None:
        j.facts["logs.grad_first_nonfinite_step"] = c.first_nonfinite
    g = c.values
    if len(g) < MIN_POINTS:
        return j
    top = float(np.max(g))
    pinned = int(np.sum(g >= top * (1 - CLIP_REL)))
    j.facts["logs.grad_norm_clipped"] = bool(top > 0 and pinned >= CLIP_MIN_POINTS
                                             and pinned >= CLIP_SHARE * len(g))
    j.details["grad_norm_at_max"] = {"max": top, "points": pinned, "of": len(g)}
    pos = g > 0
    if pos.sum() < MIN_POINTS:
        return j
    steps, lg = c.steps[pos], np.log(g[pos])
    bins = bin_series(steps, lg)
    span = ctx.get("span", max(int(steps[-1] - steps[0]), 1))
    spikes = find_spikes(steps, lg, bins, math.log(GRAD_SPIKE_RATIO), span, recover=False)
    j.facts["logs.grad_spike_count"] = len(spikes)
    if spikes:
        j.details["grad_spikes"] = [{"step": s.start_step, "ratio": math.exp(s.rise)}
                                    for s in spikes[:20]]
    loss_spikes = ctx.get("loss_spikes")
    if loss_spikes and spikes:
        window = max(LEAD_WINDOW * span, LEAD_MIN_STEPS)
        led = _after(np.array([s.start_step for s in loss_spikes]),
                     np.array([s.start_step for s in spikes]), window)
        j.facts["logs.grad_spikes_lead_loss_spikes"] = bool(led.sum() >= LEAD_SHARE * len(led))
        j.details["loss_spikes_led_by_grad"] = f"{int(led.sum())} of {len(led)}"
    elif loss_spikes and len(steps) >= MIN_POINTS:
        j.facts["logs.grad_spikes_lead_loss_spikes"] = False
    return j
