"""How a trained arm is judged: its loss (and, for classification, its error rate) at fixed
weights on the batches the probe cached, the same batches for every arm and seed.

Why the setup's own loss_fn: the outcome must be what the user cares about and the same
function for control and treated. An arm whose change alters what the loss means (another loss,
another output activation) cannot be compared by loss, so classification tasks also get the
error rate, which any monotone output activation leaves unchanged (argmax, or the threshold
that matches what the outputs are).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from advisor.probing.batches import first_tensor, forward, split_pair
from advisor.trials.arm import ArmSpec


@dataclass(frozen=True)
class Outcome:
    """One evaluation of one model: mean loss and error rate (None when not measurable)."""

    loss: float | None
    error: float | None

    def value(self, metric: str) -> float | None:
        """The outcome on `metric` ("loss" or "error"); None or non-finite is the worst."""
        return self.loss if metric == "loss" else self.error


@torch.no_grad()
def evaluate(ctx: Any, spec: ArmSpec, model: torch.nn.Module, batches: list[Any],
             outputs_are: str | None) -> Outcome:
    """Mean loss and error over `batches`, in eval mode, as the arm sees its data. The error is
    the error rate of a classification task, the normalised MSE of a regression."""
    if not batches:
        return Outcome(None, None)
    was = model.training
    model.eval()
    losses: list[float] = []
    errors: list[float] = []
    try:
        for raw in batches:
            batch = ctx.on_device(raw)
            if spec.batch_fn is not None:
                batch = spec.batch_fn(batch)
            with spec.forward_context():
                outputs, targets = forward(model, batch, ctx.setup.step)
            if spec.output_fn is not None:
                outputs, targets = spec.output_fn(outputs), _original_targets(ctx, raw, targets)
            losses.append(_loss(ctx, outputs, targets))
            err = error_rate(ctx.task.kind if ctx.task else None, outputs, targets, outputs_are)
            if err is not None:
                errors.append(err)
    finally:
        model.train(was)
    loss = sum(losses) / len(losses) if losses else None
    error = sum(errors) / len(errors) if errors and len(errors) == len(batches) else None
    return Outcome(loss if loss is None or math.isfinite(loss) else None, error)


def _original_targets(ctx: Any, raw: Any, fallback: Any) -> Any:
    """The batch's targets as the setup has them (scaled targets are judged in the user's units
    once the outputs are mapped back)."""
    try:
        return split_pair(ctx.on_device(raw))[1]
    except Exception:
        return fallback


def _loss(ctx: Any, outputs: Any, targets: Any) -> float:
    try:
        loss = ctx.setup.loss_fn(outputs, targets)
    except Exception:
        return math.inf  # the arm broke the loss: the worst outcome
    value = loss.detach().float().mean() if isinstance(loss, torch.Tensor) else loss
    return float(value)


def error_rate(task: str | None, outputs: Any, targets: Any,
               outputs_are: str | None) -> float | None:
    """The share of wrong predictions of a classification task, or a regression's mean squared
    error over the targets' variance (scale-free: targets in other units are judged alike);
    None when the outputs and targets do not say which prediction is which."""
    out = first_tensor(outputs)
    if task not in ("binary", "multiclass", "multilabel", "regression") or out is None \
            or not isinstance(targets, torch.Tensor):
        return None
    out, tgt = out.detach().float(), targets.detach()
    try:
        if task == "regression":
            return _normalised_mse(out, tgt.float())
        if not torch.isfinite(out).all():
            return 1.0
        if task == "multiclass":
            pred = out.argmax(dim=1)
            truth = tgt.argmax(dim=1) if tgt.dim() == out.dim() and tgt.is_floating_point() \
                else tgt.long()
            return float((pred.reshape(-1) != truth.reshape(-1)).float().mean())
        threshold = 0.5 if outputs_are == "probabilities" else 0.0
        pred = (out > threshold).float()
        truth = (tgt.float() > 0.5).float()
        if pred.numel() != truth.numel():
            return None
        return float((pred.reshape(-1) != truth.reshape(-1)).float().mean())
    except (RuntimeError, IndexError, ValueError):
        return None


def _normalised_mse(out: torch.Tensor, tgt: torch.Tensor) -> float | None:
    if out.numel() != tgt.numel() or tgt.numel() < 2:
        return None
    value = float(((out.reshape(-1) - tgt.reshape(-1)) ** 2).mean()) / \
        max(float(tgt.reshape(-1).var()), 1e-12)
    return value if math.isfinite(value) else None
