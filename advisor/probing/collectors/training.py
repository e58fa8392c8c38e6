"""The short training run: the user's loop, instrumented.

Every step records the loss and the per-tensor gradient norms (one fused `_foreach_norm`, cheap);
every `cadence` steps a step also records activation statistics (dead ReLU units, saturated
sigmoid/tanh units) and update-to-weight ratios. The validation loss is taken at a few points on
the same cached batches. The run stops at the first non-finite loss, at the first error raised by
the user's code (which becomes an observation), or when its time is up.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from advisor.probing.context import ProbeContext
from advisor.probing.device import grad_scaler, synchronize
from advisor.probing.errors import classify_error, error_message
from advisor.probing.facts import Observations
from advisor.probing.series import final_level, loss_shape, median_ratio, val_trend
from advisor.probing.trace import ActivationRecorder

Progress = Callable[[str, int, int], None]
MIN_STEPS = 20        # a shorter run says nothing about trends, whatever the budget
MIN_TREND_STEPS = 12  # below this, loss.trend and friends stay unknown


@dataclass
class TrainRecord:
    """Everything the run measured, step by step."""

    losses: list[float] = field(default_factory=list)
    grad_norms: list[torch.Tensor] = field(default_factory=list)   # per step, per tensor
    grad_present: list[list[int]] = field(default_factory=list)
    names: list[str] = field(default_factory=list)                 # tracked tensor names
    weight_idx: list[int] = field(default_factory=list)            # matrices among them
    update_ratios: list[float] = field(default_factory=list)       # per check step
    activity: list[tuple[int, dict[int, torch.Tensor]]] = field(default_factory=list)
    saturation: list[tuple[int, dict[int, float]]] = field(default_factory=list)
    val_points: list[tuple[int, float]] = field(default_factory=list)
    step_times: list[float] = field(default_factory=list)
    first_nonfinite_step: int | None = None
    grad_nonfinite_step: int | None = None
    nonfinite_batch: Any = None
    pre_step_state: dict[str, torch.Tensor] | None = None
    error: BaseException | None = None
    error_step: int | None = None
    ever_grad: set[int] = field(default_factory=set)
    amp_skipped: list[int] = field(default_factory=list)
    planned: int = 0
    model: torch.nn.Module | None = None
    optimizer: torch.optim.Optimizer | None = None
    grad_series: dict[str, list[float]] = field(default_factory=dict)
    global_norms: list[float] = field(default_factory=list)

    @property
    def steps(self) -> int:
        return len(self.losses)


def plan_cadence(steps: int) -> int:
    """Sampled steps for the expensive statistics: about 25 per run, and at most every 4th step
    (the overhead goal is 1.3x a plain loop; Cockpit and AUTOTRAINER sample similarly)."""
    return max(4, round(steps / 25))


def run_training(ctx: ProbeContext, seconds: float, progress: Progress | None = None,
                 steps: int | None = None) -> TrainRecord:
    """Train a fresh copy of the model for up to `steps` steps or `seconds` seconds."""
    rec = TrainRecord()
    steps = steps or ctx.options.steps
    model = ctx.fresh_model()
    opt = ctx.recipe.build(model)
    rec.model, rec.optimizer = model, opt
    tracked = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    rec.names = [n for n, _ in tracked]
    rec.weight_idx = [i for i, (_, p) in enumerate(tracked) if p.dim() >= 2]
    weights = [tracked[i][1] for i in rec.weight_idx]
    scaler = grad_scaler(ctx.device, ctx.options.amp)
    layouts = {k: layout for k, (_, _, layout) in enumerate(ctx.structure.activation_sites)}
    skip = {ctx.structure.final_site} if ctx.structure.final_site is not None else set()
    start = time.perf_counter()
    deadline = start + seconds
    rec.planned = steps
    cadence = plan_cadence(steps)
    val_every = max(1, steps // 6)
    batches = ctx.train.forever()
    step = 0
    while step < rec.planned:
        try:
            batch = next(batches)
        except StopIteration:
            break
        check = step % cadence == 0 or step == rec.planned - 1
        t0 = time.perf_counter()
        try:
            ok = _one_step(ctx, rec, model, opt, scaler, ctx.on_device(batch), step, check,
                           tracked, weights, layouts, skip)
        except Exception as exc:  # the user's code raised: an observation, not a crash
            rec.error, rec.error_step = exc, step
            break
        synchronize(ctx.device) if check else None
        rec.step_times.append(time.perf_counter() - t0)
        if progress:
            progress("training", step + 1, rec.planned, rec.losses[-1] if rec.losses else None)
        if not ok:
            break
        step += 1
        if step == 3 and rec.planned > 3:  # now the step time is known: fit the budget
            rec.planned = _fit_budget(rec, steps, deadline)
            cadence = plan_cadence(rec.planned)
            val_every = max(1, rec.planned // 6)
        if ctx.val_batches and (step % val_every == 0 or step == rec.planned or step == 1):
            rec.val_points.append((step, _val_loss(ctx, model)))
        if time.perf_counter() > deadline + 2 * seconds:  # hard stop for very slow steps
            break
    _finish_series(rec)
    return rec


def _fit_budget(rec: TrainRecord, steps: int, deadline: float) -> int:
    """Steps that fit the remaining time, rounded down to a multiple of 10 so that reruns of
    the same setup plan the same number of steps despite small timing differences."""
    per_step = float(np.median(rec.step_times[1:])) if len(rec.step_times) > 1 \
        else rec.step_times[0]
    per_step *= 1.15  # sampled steps and validation cost a little more
    left = max(deadline - time.perf_counter(), 0.0)
    fit = 3 + int(left / max(per_step, 1e-6))
    planned = min(steps, max(fit, MIN_STEPS))
    if planned > 30:
        planned -= planned % 10
    return max(planned, 3)


def _val_loss(ctx: ProbeContext, model: torch.nn.Module) -> float:
    try:
        v = ctx.mean_loss(model, ctx.val_batches)
    except Exception:  # validation batches that fail are reported by the val scan
        return math.nan
    return math.nan if v is None else v


def _one_step(ctx: ProbeContext, rec: TrainRecord, model: torch.nn.Module,
              opt: torch.optim.Optimizer, scaler: Any, batch: Any, step: int, check: bool,
              tracked: list[tuple[str, torch.nn.Parameter]], weights: list[torch.Tensor],
              layouts: dict[int, str], skip: set[int]) -> bool:
    """One training step as the user's loop would do it. False when the run must stop."""
    model.zero_grad(set_to_none=True)
    opt.zero_grad(set_to_none=True)
    recorder = ActivationRecorder(layouts, skip) if check else None
    if recorder is not None:
        with recorder:
            loss, _, _ = ctx.loss(model, batch, ctx.options.amp)
    else:
        loss, _, _ = ctx.loss(model, batch, ctx.options.amp)
    value = float(loss.detach().float()) if loss.numel() == 1 else float(loss.detach().mean())
    rec.losses.append(value)
    if recorder is not None:
        rec.activity.append((step, recorder.active))
        rec.saturation.append((step, recorder.saturation))
    if not math.isfinite(value):
        rec.first_nonfinite_step = step
        rec.nonfinite_batch = batch
        return False
    if scaler is not None:
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
    else:
        loss.backward()
    present = [i for i, (_, p) in enumerate(tracked) if p.grad is not None]
    rec.ever_grad.update(present)
    if present:
        norms = torch.stack(torch._foreach_norm([tracked[i][1].grad for i in present]))
        rec.grad_norms.append(norms.detach().float())
        rec.grad_present.append(present)
        if rec.grad_nonfinite_step is None and not bool(torch.isfinite(norms).all()):
            rec.grad_nonfinite_step = step
            if scaler is None:
                rec.pre_step_state = {k: v.detach().clone()
                                      for k, v in model.state_dict().items()}
                rec.nonfinite_batch = batch
    before = [w.detach().clone() for w in weights] if check and weights else None
    if scaler is not None:
        scale = scaler.get_scale()
        scaler.step(opt)
        scaler.update()
        if scaler.get_scale() < scale:
            rec.amp_skipped.append(step)
    else:
        opt.step()
    if before is not None:
        _update_ratio(rec, before, weights)
    return True


def _update_ratio(rec: TrainRecord, before: list[torch.Tensor],
                  weights: list[torch.Tensor]) -> None:
    """Median over weight matrices of |w_after - w_before| / |w_before| for this step."""
    with torch.no_grad():
        diffs = torch._foreach_sub([w.detach() for w in weights], before)
        num = torch.stack(torch._foreach_norm(diffs)).double()
        den = torch.stack(torch._foreach_norm(before)).double()
    ok = (den > 0) & torch.isfinite(num) & torch.isfinite(den)
    if bool(ok.any()):
        rec.update_ratios.append(float((num[ok] / den[ok]).median()))


def _finish_series(rec: TrainRecord) -> None:
    """Per-tensor gradient norm series (floats) from the per-step vectors."""
    series: dict[str, list[float]] = {n: [math.nan] * len(rec.grad_norms) for n in rec.names}
    globals_ = []
    for s, (present, norms) in enumerate(zip(rec.grad_present, rec.grad_norms, strict=True)):
        values = norms.cpu().tolist()
        for i, v in zip(present, values, strict=True):
            series[rec.names[i]][s] = v
        globals_.append(math.sqrt(sum(v * v for v in values)) if all(
            math.isfinite(v) for v in values) else math.inf)
    rec.grad_series = series
    rec.global_norms = globals_


# ------------------------------------------------------------------------------- facts
def observe_training(rec: TrainRecord, ctx: ProbeContext) -> None:
    """Facts from the run's series."""
    obs = ctx.obs
    if rec.error is not None:
        obs.set("runtime.error", classify_error(rec.error))
        obs.set("runtime.error_message", error_message(rec.error))
        obs.details["runtime_error_step"] = rec.error_step
    obs.series["loss"] = [_num(v) for v in rec.losses]
    obs.series["val_loss"] = [[s, _num(v)] for s, v in rec.val_points]
    obs.series["grad_norm_global"] = [_num(v) for v in rec.global_norms]
    obs.series["grad_norm_layers"] = {
        rec.names[i]: [_num(v) for v in rec.grad_series[rec.names[i]]] for i in rec.weight_idx}
    obs.series["update_ratio"] = [_num(v) for v in rec.update_ratios]
    obs.details["training_steps"] = rec.steps
    _loss_facts(rec, ctx, obs)
    _grad_facts(rec, ctx, obs)
    _activation_facts(rec, obs)
    if rec.step_times:
        obs.set("perf.step_ms", 1000 * float(np.median(rec.step_times)))
    if ctx.options.amp:
        late_skips = [s for s in rec.amp_skipped if s >= 20]
        overflow = rec.first_nonfinite_step is not None or len(late_skips) >= 2
        obs.set("amp.overflow", bool(overflow))
        obs.details["amp_skipped_steps"] = rec.amp_skipped


def _num(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None


def _loss_facts(rec: TrainRecord, ctx: ProbeContext, obs: Observations) -> None:
    if not rec.losses:
        return
    nonfinite = rec.first_nonfinite_step is not None
    obs.set("loss.nonfinite", nonfinite)
    if nonfinite:
        obs.set("loss.first_nonfinite_step", rec.first_nonfinite_step)
    final = final_level(rec.losses)
    if final is not None and rec.steps >= 6:
        obs.set("train.final_loss", final)
    vals = [v for _, v in rec.val_points if math.isfinite(v)]
    if vals:
        obs.set("val.final_loss", vals[-1])
        trend = val_trend(vals)
        if trend:
            obs.set("val.trend", trend)
        train_end = _safe_mean_loss(ctx, rec.model) if not nonfinite else None
        if train_end is not None and math.isfinite(train_end):
            obs.details["train_loss_eval_mode"] = train_end
            gap = gap_ratio(vals[-1], train_end, obs.get("loss.initial"))
            if gap is not None:
                obs.set("val.gap_ratio", gap)
    noise = None if nonfinite else _batch_noise(ctx, rec.model)
    shape = loss_shape(rec.losses, obs.get("loss.initial"), noise)
    if shape is not None and (shape.trend == "nonfinite" or rec.steps >= MIN_TREND_STEPS):
        obs.set("loss.trend", shape.trend)
        obs.details["loss_batch_noise"] = noise
        if shape.trend != "nonfinite":
            obs.set("loss.relative_decrease", shape.relative_decrease)
            obs.set("loss.oscillation", shape.oscillation)
            obs.series["loss_smoothed"] = shape.smoothed


def _safe_mean_loss(ctx: ProbeContext, model: torch.nn.Module | None) -> float | None:
    if model is None or not ctx.train_eval_batches:
        return None
    try:
        return ctx.mean_loss(model, ctx.train_eval_batches)
    except Exception:  # the user's code failing here was (or will be) recorded elsewhere
        return None


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


@torch.no_grad()
def _batch_noise(ctx: ProbeContext, model: torch.nn.Module | None) -> float | None:
    """Std of the loss across batches at fixed weights (training mode): the scatter that
    minibatch sampling alone puts into the training loss series."""
    if model is None or len(ctx.train_eval_batches) < 3:
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


def _grad_facts(rec: TrainRecord, ctx: ProbeContext, obs: Observations) -> None:
    if not rec.global_norms:
        return
    finite = [g for g in rec.global_norms if math.isfinite(g)]
    obs.set("grad.nonfinite", rec.grad_nonfinite_step is not None)
    if finite:
        obs.set("grad.max_norm", max(finite))
    n = len(rec.global_norms)
    k = max(1, n // 5)
    growth = median_ratio(rec.global_norms[-k:], rec.global_norms[:k])
    if growth is not None and n >= 10:
        obs.set("grad.norm_growth", growth)
    medians = {}
    for i in rec.weight_idx:
        vals = [v for v in rec.grad_series[rec.names[i]] if math.isfinite(v)]
        if vals:
            medians[rec.names[i]] = float(np.median(vals))
    if medians:
        obs.set("grad.min_layer_norm", min(medians.values()))
        obs.details["grad_median_per_layer"] = medians
    first, last = _first_last(ctx, rec)
    if first in medians and last in medians and first != last and medians[last] > 0:
        obs.set("grad.first_last_ratio", medians[first] / medians[last])
        obs.details["grad_first_last_layers"] = [first, last]
    if rec.update_ratios:
        obs.set("update.ratio_median", float(np.median(rec.update_ratios)))


def _first_last(ctx: ProbeContext, rec: TrainRecord) -> tuple[str | None, str | None]:
    """Weight tensors of the first and the last weight layer in execution order."""
    weights = {rec.names[i] for i in rec.weight_idx}
    order = [f"{m}.weight" if m else "weight" for m in ctx.structure.exec_order]
    order = [n for n in order if n in weights]
    if len(order) < 2:
        order = [rec.names[i] for i in rec.weight_idx]
    if len(order) < 2:
        return None, None
    return order[0], order[-1]


def _activation_facts(rec: TrainRecord, obs: Observations) -> None:
    """Dead ReLU units: never active in any sampled batch of the last third of the run (a
    union over several batches, so small batches do not make rare units look dead).
    Saturation: median over sampled steps of the worst hidden sigmoid/tanh call site."""
    if rec.activity:
        cutoff = rec.activity[-1][0] * 2 // 3
        late = [a for s, a in rec.activity if s >= cutoff]
        if len(late) < 3:
            late = [a for _, a in rec.activity[-3:]]
        union: dict[int, torch.Tensor] = {}
        for sites in late:
            for k, act in sites.items():
                prev = union.get(k)
                union[k] = act if prev is None or prev.shape != act.shape else prev | act
        fractions = {k: 1.0 - float(v.float().mean()) for k, v in union.items()}
        if fractions:
            obs.set("act.dead_relu_fraction", max(fractions.values()))
            obs.details["dead_relu_per_site"] = {str(k): round(v, 4) for k, v in fractions.items()}
    if rec.saturation:
        worst = [max(s.values()) for _, s in rec.saturation if s]
        if worst:
            obs.set("act.saturated_fraction", float(np.median(worst)))
