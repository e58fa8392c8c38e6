"""The small-batch overfit test as an experiment: a fresh copy with dropout off trains on the
same 16 samples. The user's optimizer settings are tried first; if they fail, a second attempt
(`advisor.facts.overfit.fallback_rate`) tries the LR range test's rate or Adam at 1e-3, so that a
merely mistuned rate (which other facts report) does not read as "cannot learn". An attempt runs
until the loss is low enough, it stalls, or MAX_STEPS; the verdict is
`advisor.facts.overfit.conclude`.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import torch

from advisor.experiments.loop import StepOutput, run_steps
from advisor.experiments.samples import layout
from advisor.experiments.steps import fixed_rate_run
from advisor.facts.overfit import (
    MAX_STEPS,
    SAMPLES,
    OverfitResult,
    conclude,
    fallback_rate,
    stalled,
)
from advisor.probing.batches import first_tensor
from advisor.probing.collectors.loss import LossFloor, TaskInfo
from advisor.probing.context import ProbeContext
from advisor.probing.errors import error_message

DROPOUTS = (torch.nn.Dropout, torch.nn.Dropout1d, torch.nn.Dropout2d, torch.nn.Dropout3d,
            torch.nn.AlphaDropout, torch.nn.FeatureAlphaDropout)


def overfit_test(ctx: ProbeContext, batch: Any, deadline: float | None = None,
                 fallback_lr: float | None = None, max_steps: int = MAX_STEPS,
                 activity: Any = None) -> OverfitResult:
    cut, samples = small_batch(ctx, batch)
    small = ctx.on_device(cut)
    result = _attempt(ctx, small, max_steps, deadline, "user", activity=activity,
                      share=_summed_share(ctx, samples))
    if result.failed and cut is not batch:  # the cut broke the batch: try the whole one
        small, samples = ctx.on_device(batch), None
        result = _attempt(ctx, small, max_steps, deadline, "user", activity=activity)
    result.samples = samples
    if result.passed or result.failed or not (result.conclusive or result.unfinished):
        return result  # a verdict, or a run cut short (time, a crash): no second attempt
    # inconclusive at the user's rate, or still memorising when its steps ran out (a slow
    # rate): the same batch at the suggested rate tells whether the model can memorise it
    plan, lr = fallback_rate(ctx.obs.get("optim.kind"), ctx.obs.get("optim.lr"), fallback_lr)
    if plan == "none":
        return result
    label = f"suggested_lr_{lr:.2g}" if plan == "suggested" else "adam_1e-3"
    second = _attempt(ctx, small, max_steps, deadline, label, lr=lr, adam=plan == "adam",
                      activity=activity, share=_summed_share(ctx, samples))
    second.samples = samples
    if second.passed or (second.loss_ratio or math.inf) < (result.loss_ratio or math.inf):
        second.losses = result.losses + second.losses
        second.conclusive = second.conclusive or result.conclusive
        return second
    return result


def small_batch(ctx: ProbeContext, batch: Any) -> tuple[Any, int | None]:
    """SAMPLES samples of the batch, cut along the dimension that holds them
    (`advisor.experiments.samples`), and how many samples that is; the whole batch when it is
    small enough or no dimension holds the samples (then the count is unknown: None)."""
    found = layout(ctx, batch)
    if found is None:
        return batch, None
    if found.size <= SAMPLES:
        return batch, found.size
    return found.take(batch, SAMPLES), SAMPLES


def _summed_share(ctx: ProbeContext, samples: int | None) -> float:
    """What a summed loss of the small batch is worth against one of a training batch: the
    training run's losses add up a whole batch, the small batch's only `samples`."""
    full = ctx.obs.details.get("loss_reduction_samples")
    if ctx.obs.get("training.loss_reduction") != "sum" or not samples or not full:
        return 1.0
    return min(1.0, samples / full)


def _attempt(ctx: ProbeContext, batch: Any, max_steps: int, deadline: float | None,
             label: str, lr: float | None = None, adam: bool = False,
             activity: Any = None, share: float = 1.0) -> OverfitResult:
    """One attempt; `share` scales the training run's losses to the small batch's (a summed
    loss, `_summed_share`) before they serve as the reference."""
    reference, start = (_number(ctx.obs.get(k)) for k in ("train.final_loss", "loss.initial"))
    res = OverfitResult(optimizer=label, reference=None if reference is None else reference * share,
                        reference_start=None if start is None else start * share,
                        floor=loss_floor(ctx, batch))
    trainee, step_fn = fixed_rate_run(ctx, lr, adam=adam)
    for m in trainee.model.modules():
        if isinstance(m, DROPOUTS):
            m.eval()

    def after(i: int, out: StepOutput, _: Any) -> bool:
        res.losses.append(out.loss)
        if i % 10 == 9 or i == max_steps - 1:
            res.accuracy = accuracy(out.outputs, out.targets, ctx.task,
                                    ctx.structure.final_activation)
            if conclude(_copy(res), capped=False).passed or stalled(res.losses):
                return False
        return True

    loop = run_steps(trainee, _repeat(batch), max_steps, step_fn, deadline=deadline,
                     after_step=after, activity=activity)
    if loop.error is not None:
        res.failed, res.error = True, error_message(loop.error, limit=200)
        return res
    if loop.stopped == "nonfinite":
        res.losses.append(loop.losses[-1])
    return conclude(res, capped=loop.capped)


def _copy(res: OverfitResult) -> OverfitResult:
    return dataclasses.replace(res, losses=list(res.losses), accuracy=None)


@torch.no_grad()
def loss_floor(ctx: ProbeContext, batch: Any) -> float:
    """The lowest value the loss's element-wise terms can take on this batch
    (`advisor.probing.collectors.loss.LossFloor`); 0 when the loss cannot be traced."""
    floor = LossFloor()
    try:
        with floor:
            ctx.loss(ctx.fresh_model(), batch)
    except Exception:
        return 0.0
    value = floor.floor
    return value if floor.terms and math.isfinite(value) and value > 0 else 0.0


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else None


def _repeat(batch: Any) -> Any:
    while True:
        yield batch


@torch.no_grad()
def accuracy(outputs: Any, targets: Any, task: TaskInfo | None, final: str) -> float | None:
    """Share of the batch predicted right (classification only; None without outputs, e.g.
    when the user's train_step ran the step)."""
    out = first_tensor(outputs)
    t = targets if isinstance(targets, torch.Tensor) else first_tensor(targets)
    if task is None or not task.classification or out is None or t is None:
        return None
    out, t = out.detach().float(), t.detach()
    try:
        if task.kind == "multiclass" and out.dim() >= 2 and out.shape[1] > 1:
            pred = out.argmax(1)
            truth = t.argmax(1) if t.dim() == out.dim() and not task.class_indices else t.long()
            keep = truth != task.ignore_index
            return float((pred[keep] == truth[keep]).float().mean()) if keep.any() else None
        cut = 0.5 if final in ("sigmoid", "softmax") or task.loss == "bce" else 0.0
        if task.loss not in ("bce", "bce_with_logits") and final == "none":
            cut = 0.5  # a regression loss on 0/1 targets
        pred = (out > cut).float().reshape(t.shape) if out.numel() == t.numel() else None
        if pred is None:
            return None
        return float((pred == (t.float() > 0.5).float()).float().mean())
    except (RuntimeError, IndexError):
        return None
