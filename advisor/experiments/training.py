"""The training run: the user's setup trained for the planned number of steps on a fresh copy,
with the instruments attached (gradient norms every step; activations and update ratios on
sampled steps; step times), the validation loss at a few points on the same cached batches,
and, at the end, two measurements at fixed weights that the loss judgements need (the
eval-mode training loss and the loss's scatter across batches).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from advisor.experiments.loop import LoopRecord, StepOutput, run_steps
from advisor.experiments.recipe import Trainee
from advisor.experiments.steps import setup_step
from advisor.facts.training import TrainingMeasurements, first_last
from advisor.instruments import (
    ActivationStats,
    ClippingDetector,
    DecayShare,
    GradientNorms,
    NumericMargins,
    StepClock,
    StepTimer,
    UpdateRatios,
)
from advisor.probing.context import ProbeContext

Progress = Callable[..., None]


@dataclass
class TrainRecord:
    """The training run's loop record, instruments' records and end-of-run measurements."""

    loop: LoopRecord
    grads: Any                    # advisor.instruments.gradients.GradientRecord
    update_ratios: list[float]
    activity: list[tuple[int, dict[int, torch.Tensor]]]
    saturation: list[tuple[int, dict[int, float]]]
    step_seconds: list[float]
    val_points: list[tuple[int, float]] = field(default_factory=list)
    nonfinite_batch: Any = None
    pre_step_state: dict[str, torch.Tensor] | None = None
    model: torch.nn.Module | None = None
    optimizer: torch.optim.Optimizer | None = None
    grad_series: dict[str, list[float]] = field(default_factory=dict)
    global_norms: list[float] = field(default_factory=list)
    train_loss_eval: float | None = None
    batch_noise: float | None = None
    clipped_steps: int = 0            # sampled steps whose gradients shrank before the update
    clip_checked_steps: int = 0
    numeric_margins: Any = None       # advisor.instruments.numerics.MarginRecord
    decay_ratios: list[float] = field(default_factory=list)

    @property
    def losses(self) -> list[float]:
        return self.loop.losses

    @property
    def steps(self) -> int:
        return self.loop.steps

    @property
    def error(self) -> BaseException | None:
        return self.loop.error

    @property
    def first_nonfinite_step(self) -> int | None:
        return self.loop.steps - 1 if self.loop.stopped == "nonfinite" else None

    @property
    def grad_nonfinite_step(self) -> int | None:
        return self.grads.first_nonfinite_step

    @property
    def names(self) -> list[str]:
        return self.grads.names

    @property
    def weight_idx(self) -> list[int]:
        return self.grads.weight_idx

    @property
    def ever_grad(self) -> set[int]:
        return self.grads.ever

    @property
    def backward_steps(self) -> int:
        """Steps on which the optimizer saw gradients."""
        return len(self.grads.norms)


def run_training(ctx: ProbeContext, steps: int, deadline: float | None = None,
                 progress: Progress | None = None,
                 activity: Callable[[str, int], None] | None = None) -> TrainRecord:
    """Train a fresh copy for `steps` steps (fewer only at a NaN, an error, or the cap)."""
    trainee = ctx.build()
    clock = StepClock.for_steps(steps)
    layouts = {k: layout for k, (_, _, layout) in enumerate(ctx.structure.activation_sites)}
    skip = {ctx.structure.final_site} if ctx.structure.final_site is not None else set()
    current: dict[str, Any] = {}
    saved: dict[str, Any] = {}

    def keep_weights(step: int) -> None:  # gradients just turned non-finite: before the update
        saved["state"] = {k: v.detach().clone() for k, v in trainee.model.state_dict().items()}
        saved["batch"] = current.get("batch")

    grads = GradientNorms(clock, on_nonfinite=keep_weights if trainee.scaler is None else None)
    updates, acts = UpdateRatios(clock), ActivationStats(clock, layouts, skip)
    timer = StepTimer(clock, ctx.device)
    clipping = ClippingDetector(clock, trainee.scaler.get_scale if trainee.scaler else None)
    numerics, decay = NumericMargins(clock), DecayShare(clock)
    instruments = [grads, updates, acts, timer, clipping, numerics, decay]
    for instrument in instruments:
        instrument.attach(trainee.model, trainee.optimizer)
    handles = _announce_forward(trainee.model, clock, activity) if activity else []
    step_fn = setup_step(ctx)
    val_points: list[tuple[int, float]] = []
    val_every = max(1, steps // 6)

    def step(t: Trainee, batch: Any) -> StepOutput:
        current["batch"] = batch
        return step_fn(t, batch)

    def after(i: int, out: StepOutput, batch: Any) -> None:
        done = i + 1
        if progress:
            progress("training", done, steps, out.loss)
        if ctx.val_batches and (done % val_every == 0 or done == steps or done == 1):
            val_points.append((done, _val_loss(ctx, trainee.model)))

    batches = (ctx.on_device(b) for b in ctx.train.forever())
    try:
        loop = run_steps(trainee, batches, steps, step, clock, deadline=deadline,
                         after_step=after, activity=activity)
    finally:
        for instrument in instruments:
            instrument.detach()
    try:
        rec = _finish(ctx, trainee, loop, grads, updates, acts, timer, val_points, saved)
        rec.clipped_steps, rec.clip_checked_steps = clipping.clipped, clipping.checked
        rec.numeric_margins, rec.decay_ratios = numerics.record, decay.ratios
        return rec
    finally:
        for handle in handles:
            handle.remove()


def _finish(ctx: ProbeContext, trainee: Trainee, loop: LoopRecord, grads: GradientNorms,
            updates: UpdateRatios, acts: ActivationStats, timer: StepTimer,
            val_points: list[tuple[int, float]], saved: dict[str, Any]) -> TrainRecord:
    """The record, and the two measurements at the final weights."""
    rec = TrainRecord(loop, grads.record, updates.ratios, acts.activity, acts.saturation,
                      timer.seconds[1:] or timer.seconds, val_points,
                      model=trainee.model, optimizer=trainee.optimizer)
    if loop.stopped == "nonfinite":
        rec.nonfinite_batch = loop.last_batch
    elif "state" in saved:
        rec.pre_step_state, rec.nonfinite_batch = saved["state"], saved["batch"]
    rec.grad_series, rec.global_norms = grads.record.series()
    if not loop.losses or loop.stopped == "nonfinite":
        return rec
    rec.train_loss_eval = _safe(lambda: ctx.mean_loss(trainee.model, ctx.train_eval_batches))
    rec.batch_noise = _batch_noise(ctx, trainee.model)
    return rec


def _announce_forward(model: torch.nn.Module, clock: StepClock,
                      activity: Callable[[str, int], None]) -> list[Any]:
    """Tell the watchdog when the forward starts and ends, so a hang is named precisely."""
    def before(*_: Any) -> None:
        activity("forward", clock.step)

    def after(*_: Any) -> None:
        activity("loss, backward and optimizer step", clock.step)

    return [model.register_forward_pre_hook(before), model.register_forward_hook(after)]


def _val_loss(ctx: ProbeContext, model: torch.nn.Module) -> float:
    value = _safe(lambda: ctx.mean_loss(model, ctx.val_batches))
    return math.nan if value is None else value


def _safe(measure: Callable[[], float | None]) -> float | None:
    """A measurement at fixed weights; the user's code failing here was (or will be) recorded
    by the phase that runs it for real."""
    try:
        return measure()
    except Exception:
        return None


@torch.no_grad()
def _batch_noise(ctx: ProbeContext, model: torch.nn.Module) -> float | None:
    """Std of the loss across batches at fixed weights (training mode): the scatter that
    minibatch sampling alone puts into the training loss series."""
    if len(ctx.train_eval_batches) < 3:
        return None
    values = []
    try:
        for b in ctx.train_eval_batches:
            loss, _, _ = ctx.loss(model, ctx.on_device(b))
            values.append(float(loss.detach().float().mean()))
    except Exception:
        return None
    finite = [v for v in values if math.isfinite(v)]
    return float(np.std(finite, ddof=1)) if len(finite) >= 3 else None


def measurements(rec: TrainRecord, ctx: ProbeContext, initial_loss: float | None,
                 capped: bool) -> TrainingMeasurements:
    """The record as plain numbers for `advisor.facts.training.judge_training`."""
    medians = {}
    for i in rec.weight_idx:
        vals = [v for v in rec.grad_series[rec.names[i]] if math.isfinite(v)]
        if vals:
            medians[rec.names[i]] = float(np.median(vals))
    weight_names = [rec.names[i] for i in rec.weight_idx]
    return TrainingMeasurements(
        losses=list(rec.losses), planned=rec.loop.planned, capped=capped,
        initial_loss=initial_loss, first_nonfinite_step=rec.first_nonfinite_step,
        val_points=list(rec.val_points), train_loss_eval=rec.train_loss_eval,
        batch_noise=rec.batch_noise, global_norms=list(rec.global_norms),
        grad_nonfinite_step=rec.grad_nonfinite_step, layer_grad_medians=medians,
        first_last_layers=first_last(ctx.structure.exec_order, weight_names),
        update_ratios=list(rec.update_ratios),
        dead_fraction_per_site=dead_fractions(rec.activity),
        worst_saturation_per_step=[max(s.values()) for _, s in rec.saturation if s],
        step_seconds=list(rec.step_seconds), clipped_steps=rec.clipped_steps,
        clip_checked_steps=rec.clip_checked_steps)


def dead_fractions(activity: list[tuple[int, dict[int, torch.Tensor]]]) -> dict[str, float]:
    """Per ReLU call site, the share of units never active in any sampled batch of the last
    third of the run (a union over several batches, so small batches do not make rare units
    look dead)."""
    if not activity:
        return {}
    cutoff = activity[-1][0] * 2 // 3
    late = [a for s, a in activity if s >= cutoff]
    if len(late) < 3:
        late = [a for _, a in activity[-3:]]
    union: dict[int, torch.Tensor] = {}
    for sites in late:
        for k, act in sites.items():
            prev = union.get(k)
            union[k] = act if prev is None or prev.shape != act.shape else prev | act
    return {str(k): 1.0 - float(v.float().mean()) for k, v in union.items()}
