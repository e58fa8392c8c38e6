"""Facts from the training run's record: the loss curve, the validation curve, the gradients,
the updates and the activations. Pure functions of plain numbers (no torch).

A run cut short by the time cap (`capped`) is never read as flat, not decreasing or otherwise
converged: only the shapes a short run proves (a NaN, a divergence) are reported from it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from advisor.facts import Judgement
from advisor.facts.curves import final_level, loss_shape, median_ratio, val_trend

MIN_TREND_STEPS = 12  # below this, loss.trend and friends stay unknown
CONCLUSIVE_WHEN_SHORT = ("nonfinite", "diverging")


@dataclass
class TrainingMeasurements:
    """What the training run recorded, as plain numbers."""

    losses: list[float]
    planned: int
    capped: bool = False
    initial_loss: float | None = None
    first_nonfinite_step: int | None = None
    val_points: list[tuple[int, float]] = field(default_factory=list)
    train_loss_eval: float | None = None     # eval-mode mean loss on fixed train batches, at end
    batch_noise: float | None = None         # std of the loss across batches at fixed weights
    global_norms: list[float] = field(default_factory=list)
    grad_nonfinite_step: int | None = None
    layer_grad_medians: dict[str, float] = field(default_factory=dict)   # weight tensors
    first_last_layers: tuple[str | None, str | None] = (None, None)
    update_ratios: list[float] = field(default_factory=list)
    dead_fraction_per_site: dict[str, float] = field(default_factory=dict)
    worst_saturation_per_step: list[float] = field(default_factory=list)
    step_seconds: list[float] = field(default_factory=list)
    clipped_steps: int = 0
    clip_checked_steps: int = 0


def judge_training(m: TrainingMeasurements) -> Judgement:
    """Every training fact the record supports."""
    j = Judgement()
    j.merge(judge_loss(m)).merge(judge_gradients(m)).merge(judge_activations(m))
    if m.step_seconds:
        j.facts["perf.step_ms"] = 1000 * float(np.median(m.step_seconds))
    if m.clipped_steps:  # seen clipping; never "false": a max_norm that never triggered hides
        j.facts["training.gradient_clipping"] = True
        j.details["clipped_steps"] = f"{m.clipped_steps} of {m.clip_checked_steps} sampled"
    if m.capped:
        j.details["training_capped"] = True
        j.notes.append(
            f"The training run was cut short by the time budget after {len(m.losses)} of "
            f"{m.planned} steps: trends that need the whole run are left unknown (raise "
            "--budget, or lower --steps).")
    return j


def judge_loss(m: TrainingMeasurements) -> Judgement:
    j = Judgement()
    if not m.losses:
        return j
    nonfinite = m.first_nonfinite_step is not None
    j.facts["loss.nonfinite"] = nonfinite
    if nonfinite:
        j.facts["loss.first_nonfinite_step"] = m.first_nonfinite_step
    final = final_level(m.losses)
    if final is not None and len(m.losses) >= 6:
        j.facts["train.final_loss"] = final
    vals = [v for _, v in m.val_points if math.isfinite(v)]
    if vals:
        j.facts["val.final_loss"] = vals[-1]
        trend = val_trend(vals)
        if trend and not m.capped:
            j.facts["val.trend"] = trend
        if m.train_loss_eval is not None and math.isfinite(m.train_loss_eval):
            j.details["train_loss_eval_mode"] = m.train_loss_eval
            gap = gap_ratio(vals[-1], m.train_loss_eval, m.initial_loss)
            if gap is not None:
                j.facts["val.gap_ratio"] = gap
    shape = loss_shape(m.losses, m.initial_loss, m.batch_noise)
    if shape is None:
        return j
    if shape.trend != "nonfinite" and len(m.losses) < MIN_TREND_STEPS:
        return j
    if m.capped and shape.trend not in CONCLUSIVE_WHEN_SHORT:
        j.details["loss_trend_if_complete"] = shape.trend
        return j
    j.facts["loss.trend"] = shape.trend
    j.details["loss_batch_noise"] = m.batch_noise
    if shape.trend != "nonfinite":
        j.facts["loss.relative_decrease"] = shape.relative_decrease
        j.facts["loss.oscillation"] = shape.oscillation
        j.details["loss_smoothed"] = shape.smoothed
    return j


def gap_ratio(val: float, train: float, initial: float | None) -> float | None:
    """(val - train) / train, with train floored at a quarter of the loss before training.

    Both losses are taken in eval mode on fixed batches at the end. The floor keeps the ratio
    meaningful when the training loss is nearly zero (0.09 vs 0.03 is not a "200 %" gap on a
    task whose loss started at 2.3); for ordinary training losses it changes nothing."""
    floor = 0.25 * initial if initial is not None and math.isfinite(initial) and initial > 0 \
        else 0.0
    denom = max(train, floor)
    if not denom > 0:
        return None
    return (val - train) / denom


def judge_gradients(m: TrainingMeasurements) -> Judgement:
    """Largest norm, growth over the run (late / early median of the global norm, at least 10
    recorded steps), the weakest layer, first/last layer ratio and the update ratio."""
    j = Judgement()
    if m.global_norms:
        finite = [g for g in m.global_norms if math.isfinite(g)]
        j.facts["grad.nonfinite"] = m.grad_nonfinite_step is not None
        if finite:
            j.facts["grad.max_norm"] = max(finite)
        n = len(m.global_norms)
        k = max(1, n // 5)
        growth = median_ratio(m.global_norms[-k:], m.global_norms[:k])
        if growth is not None and n >= 10 and not m.capped:
            j.facts["grad.norm_growth"] = growth
        medians = m.layer_grad_medians
        if medians:
            j.facts["grad.min_layer_norm"] = min(medians.values())
            j.details["grad_median_per_layer"] = dict(medians)
        first, last = m.first_last_layers
        if first in medians and last in medians and first != last and medians[last] > 0:
            j.facts["grad.first_last_ratio"] = medians[first] / medians[last]
            j.details["grad_first_last_layers"] = [first, last]
    if m.update_ratios:
        j.facts["update.ratio_median"] = float(np.median(m.update_ratios))
    return j


def first_last(exec_order: Sequence[str], weight_names: Sequence[str]) -> tuple[str | None,
                                                                             str | None]:
    """Weight tensors of the first and the last weight layer in execution order (falling back
    to parameter order when the trace saw fewer than two)."""
    weights = set(weight_names)
    order = [f"{m}.weight" if m else "weight" for m in exec_order]
    order = [n for n in order if n in weights]
    if len(order) < 2:
        order = list(weight_names)
    if len(order) < 2:
        return None, None
    return order[0], order[-1]


def judge_activations(m: TrainingMeasurements) -> Judgement:
    """Dead ReLU units: the largest share of units never active over the late sampled
    batches, over call sites. Saturation: median over sampled steps of the worst hidden
    sigmoid/tanh call site."""
    j = Judgement()
    if m.dead_fraction_per_site:
        j.facts["act.dead_relu_fraction"] = max(m.dead_fraction_per_site.values())
        j.details["dead_relu_per_site"] = {k: round(v, 4)
                                           for k, v in m.dead_fraction_per_site.items()}
    if m.worst_saturation_per_step:
        j.facts["act.saturated_fraction"] = float(np.median(m.worst_saturation_per_step))
    return j
