"""The small-batch overfit test (Karpathy's "overfit one batch"): a model that cannot memorise 16
samples has a wiring problem (loss, outputs, targets, a detached graph), not a tuning problem.

Dropout is switched off for the test. The user's optimizer settings are tried first; if they fail,
the same optimizer at the LR range test's suggested rate (or Adam at 1e-3 without a suggestion) is
tried too, so that a learning rate that is merely too low or too high (which other facts report)
does not read as "cannot learn". A test cut short by the time budget before MIN_STEPS steps is
inconclusive and reports nothing. The test passes when the batch is classified
correctly (accuracy >= 0.95) or the loss falls to 5 % of its initial value; it runs until the
loss is that low (or steps or time run out), so loss_ratio measures how far memorisation got.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import torch

from advisor.probing.batches import first_tensor, leading_size, slice_batch
from advisor.probing.collectors.loss import TaskInfo, loss_value
from advisor.probing.collectors.model import DROPOUTS
from advisor.probing.context import ProbeContext
from advisor.probing.state import OptimizerRecipe

SAMPLES = 16
PASS_RATIO = 0.05
PASS_ACCURACY = 0.95
MAX_STEPS = 300
MIN_STEPS = 100  # fewer steps without success prove nothing


@dataclass
class OverfitResult:
    passed: bool = False
    loss_ratio: float | None = None
    accuracy: float | None = None
    optimizer: str = "user"
    losses: list[float] = field(default_factory=list)
    error: BaseException | None = None
    conclusive: bool = True


def overfit_test(ctx: ProbeContext, batch: Any, seconds: float,
                 fallback_lr: float | None = None, max_steps: int = MAX_STEPS) -> OverfitResult:
    n = leading_size(batch)
    small = slice_batch(batch, SAMPLES) if n and n > SAMPLES else batch
    small = ctx.on_device(small)
    deadline = time.perf_counter() + seconds
    result = _attempt(ctx, small, ctx.recipe, max_steps, deadline, "user")
    if result.passed or result.error is not None or time.perf_counter() > deadline:
        return result
    user_lr = ctx.obs.get("optim.lr")
    if fallback_lr is None and ctx.obs.get("optim.kind") in ("adam", "adamw") and user_lr:
        fallback_lr = 1e-3 if not 1 / 3 < user_lr / 1e-3 < 3 else None
        if fallback_lr is None:
            return result  # Adam near 1e-3 already: nothing better to try
    if fallback_lr is not None and user_lr and 1 / 3 < user_lr / fallback_lr < 3:
        return result  # the user's rate is already about the suggested one
    if fallback_lr is not None:
        recipe, label, lr = ctx.recipe, f"suggested_lr_{fallback_lr:.2g}", fallback_lr
    else:
        recipe, label, lr = OptimizerRecipe("default", torch.optim.Adam, [], None, {}), \
            "adam_1e-3", 1e-3
    second = _attempt(ctx, small, recipe, max_steps, deadline, label, lr=lr)
    if second.passed or (second.loss_ratio or math.inf) < (result.loss_ratio or math.inf):
        second.losses = result.losses + second.losses
        second.conclusive = second.conclusive or result.conclusive
        return second
    return result


def _attempt(ctx: ProbeContext, batch: Any, recipe: OptimizerRecipe, max_steps: int,
             deadline: float, label: str, lr: float | None = None) -> OverfitResult:
    res = OverfitResult(optimizer=label)
    model = ctx.fresh_model()
    for m in model.modules():
        if isinstance(m, DROPOUTS):
            m.eval()
    opt = recipe.build(model, lr=lr, with_state=False)
    first = None
    try:
        for step in range(max_steps):
            opt.zero_grad(set_to_none=True)
            loss, outputs, targets = ctx.loss(model, batch)
            value = loss_value(loss)
            res.losses.append(value)
            if not math.isfinite(value):
                break
            first = value if first is None else first
            if step % 10 == 9 or step == max_steps - 1:
                res.accuracy = accuracy(outputs, targets, ctx.task, ctx.structure.final_activation)
                res.loss_ratio = _ratio(res.losses, first)
                done = res.loss_ratio is not None and res.loss_ratio <= PASS_RATIO
                if done or _stalled(res.losses) or time.perf_counter() > deadline:
                    break
            loss.backward()
            opt.step()
    except Exception as exc:  # reported by the training run already, or a new observation
        res.error = exc
        return res
    res.loss_ratio = _ratio(res.losses, first)
    res.passed = _passed(res)
    stopped_nonfinite = bool(res.losses) and not math.isfinite(res.losses[-1])
    res.conclusive = res.passed or stopped_nonfinite or len(res.losses) >= MIN_STEPS
    return res


def _stalled(losses: list[float], window: int = 50) -> bool:
    """After MIN_STEPS steps: the best loss of the last `window` steps is within 1 % of the
    best before them, so more steps will not change the verdict."""
    if len(losses) < max(MIN_STEPS, 2 * window):
        return False
    before = min(losses[:-window])
    recent = min(losses[-window:])
    return recent > before - 0.01 * abs(before)


def _ratio(losses: list[float], first: float | None) -> float | None:
    finite = [v for v in losses if math.isfinite(v)]
    if first is None or first <= 0 or not finite:
        return None
    return min(finite[-10:]) / first


def _passed(res: OverfitResult) -> bool:
    if res.accuracy is not None and res.accuracy >= PASS_ACCURACY:
        return True
    return res.loss_ratio is not None and res.loss_ratio <= PASS_RATIO


@torch.no_grad()
def accuracy(outputs: Any, targets: Any, task: TaskInfo | None, final: str) -> float | None:
    """Share of the batch predicted right (classification only)."""
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


def observe_overfit(ctx: ProbeContext, res: OverfitResult) -> None:
    if res.error is not None or not res.losses:
        return
    ctx.obs.details["overfit"] = {"optimizer": res.optimizer, "accuracy": res.accuracy,
                                  "steps": len(res.losses), "conclusive": res.conclusive,
                                  "loss_ratio": res.loss_ratio}
    if not res.conclusive:
        ctx.obs.note("The small-batch overfit test ran out of time before a verdict.")
        return
    ctx.obs.set("overfit.passed", res.passed)
    if res.loss_ratio is not None:
        ctx.obs.set("overfit.loss_ratio", res.loss_ratio)
    ctx.obs.series["overfit_loss"] = [v if math.isfinite(v) else None for v in res.losses]


