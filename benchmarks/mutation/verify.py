"""Does a fault really hurt? A plain training loop, independent of the advisor, and one metric.

The loop is what a user's script does: for a fixed number of steps take the next batch (cycling
through the data), call the program's `train_step` if it has one (with `scheduler=`/`scaler=`
when it accepts them), otherwise forward, loss, zero_grad, backward, optimizer step, scheduler
step. Healthy program and mutant start from the same seed.

The metric is read on the validation data (the training data when there is none) and is the
same for the healthy program and its mutants whatever the mutant did to the loss:
- classification (multiclass, binary): the error rate (argmax over the class dimension; for one
  output, the threshold 0.5 after BCELoss, 0 otherwise);
- regression: the mean squared error divided by the targets' variance (scale-free, so targets
  multiplied by 2000 are judged fairly);
- anything else (VAE, contrastive, multi-task): the healthy program's own loss function.

A mutant is kept ("hurts") when its training crashes, its loss turns non-finite, or its metric
is worse than the healthy one by the margin: error rate +0.05 (five points), or a loss-type
metric 25 % higher and at least 0.02 above.
"""

from __future__ import annotations

import copy
import inspect
import math
import time
import traceback
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from programs import Program, forward

ERROR_RATE_MARGIN = 0.05
LOSS_RATIO_MARGIN = 1.25
LOSS_ABS_MARGIN = 0.02
EVAL_BATCHES = 20


@dataclass
class Outcome:
    metric: float | None  # None when the run crashed or diverged
    metric_kind: str
    final_loss: float | None
    crashed: str | None = None
    nonfinite_at: int | None = None
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        out = {"metric": _round(self.metric), "metric_kind": self.metric_kind,
               "final_loss": _round(self.final_loss), "seconds": round(self.seconds, 1)}
        if self.crashed:
            out["crashed"] = self.crashed
        if self.nonfinite_at is not None:
            out["nonfinite_at"] = self.nonfinite_at
        return out


def _round(x: float | None) -> float | None:
    return None if x is None else float(f"{x:.4g}")


def train_and_measure(program: Program, metric_loss: Any, steps: int, seed: int = 0) -> Outcome:
    """Train the program's own model for `steps` steps and measure it; never raises."""
    torch.manual_seed(seed)
    setup = program.setup
    kind = metric_kind(setup)
    start = time.perf_counter()
    loss_value = None
    try:
        step_fn, batches = _stepper(setup), _cycle(setup["train_data"])
        for i in range(steps):
            loss = step_fn(next(batches))
            loss_value = float(loss.detach()) if isinstance(loss, torch.Tensor) else float(loss)
            if not math.isfinite(loss_value):
                return Outcome(None, kind, loss_value, nonfinite_at=i,
                               seconds=time.perf_counter() - start)
        metric = evaluate(setup, metric_loss, kind)
    except Exception as exc:  # the fault may crash the program: that is a finding
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        return Outcome(None, kind, loss_value,
                       crashed=f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]} "
                               f"({frame.name}:{frame.lineno})",
                       seconds=time.perf_counter() - start)
    finite = metric is not None and math.isfinite(metric)
    return Outcome(metric if finite else None, kind, loss_value,
                   nonfinite_at=None if finite else steps, seconds=time.perf_counter() - start)


def hurts(healthy: Outcome, mutant: Outcome) -> tuple[bool, str]:
    """Whether the mutant is measurably worse, and the figures that say so."""
    if healthy.crashed or healthy.metric is None:
        return False, "the healthy program has no metric, so no mutant can be judged"
    if mutant.crashed:
        return True, f"crashed: {mutant.crashed}"
    if mutant.nonfinite_at is not None:
        return True, f"loss non-finite at step {mutant.nonfinite_at}"
    h, m = healthy.metric, mutant.metric
    if healthy.metric_kind == "error_rate":
        worse = m >= h + ERROR_RATE_MARGIN
        return worse, f"error rate {h:.3f} -> {m:.3f} (margin +{ERROR_RATE_MARGIN})"
    worse = m >= h * LOSS_RATIO_MARGIN and m >= h + LOSS_ABS_MARGIN
    return worse, (f"{healthy.metric_kind} {h:.4g} -> {m:.4g} (margin x{LOSS_RATIO_MARGIN} "
                   f"and +{LOSS_ABS_MARGIN})")


def metric_kind(setup: dict[str, Any]) -> str:
    task = setup.get("task")
    if task in ("multiclass", "binary"):
        return "error_rate"
    if task == "regression":
        return "normalised_mse"
    return "loss"


def healthy_metric_loss(setup: dict[str, Any]) -> Any:
    """A copy of the healthy loss, taken before any operator can change it."""
    return copy.deepcopy(setup["loss_fn"])


# ---------------------------------------------------------------- the loop


def _cycle(data: Any):
    while True:
        empty = True
        for batch in data:
            empty = False
            yield batch
        if empty:
            raise RuntimeError("the training data yields no batch")


def _stepper(setup: dict[str, Any]):
    model, loss_fn = setup["model"], setup["loss_fn"]
    opt = setup["optimizer"]
    if opt is None:
        opt = torch.optim.Adam(model.parameters(), lr=3e-4)
    elif not isinstance(opt, torch.optim.Optimizer):
        opt = opt(model.parameters())
    scheduler = setup["scheduler"](opt) if setup["scheduler"] else None
    scaler = setup["scaler"]() if setup["scaler"] else None
    model.train()
    if setup["train_step"] is not None:
        accepts = inspect.signature(setup["train_step"]).parameters
        extra = {k: v for k, v in (("scheduler", scheduler), ("scaler", scaler))
                 if k in accepts and v is not None}
        steps_itself = "scheduler" in extra

        def user_step(batch):
            loss = setup["train_step"](model, batch, opt, **extra)
            if scheduler is not None and not steps_itself:
                scheduler.step()
            return loss
        return user_step

    def plain_step(batch):
        outputs, targets = forward(setup, model, batch)
        loss = loss_fn(outputs, targets)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if scheduler is not None:
            scheduler.step()
        return loss
    return plain_step


# ---------------------------------------------------------------- the metric


def evaluate(setup: dict[str, Any], metric_loss: Any, kind: str) -> float:
    model = setup["model"]
    data = setup["val_data"] if setup["val_data"] is not None else setup["train_data"]
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for i, batch in enumerate(data):
            if i >= EVAL_BATCHES:
                break
            outputs, targets = forward(setup, model, batch)
            value, n = _batch_metric(kind, outputs, targets, metric_loss)
            total, count = total + value * n, count + n
    model.train()
    return total / max(count, 1)


def _batch_metric(kind: str, outputs: Any, targets: Any, metric_loss: Any) -> tuple[float, int]:
    if kind == "error_rate":
        return _error_rate(outputs, targets, metric_loss)
    if kind == "normalised_mse":
        out, tgt = outputs.reshape(-1).float(), targets.reshape(-1).float()
        if out.numel() != tgt.numel():  # a shape fault: compare what the loss would compare
            out = outputs.float().expand_as(targets.float()).reshape(-1) \
                if outputs.dim() <= targets.dim() else out[:tgt.numel()]
        var = float(tgt.var()) if tgt.numel() > 1 else 1.0
        return float(F.mse_loss(out, tgt)) / max(var, 1e-12), 1
    return float(metric_loss(outputs, targets)), 1


def _error_rate(outputs: torch.Tensor, targets: torch.Tensor, metric_loss: Any,
                ) -> tuple[float, int]:
    if outputs.dim() >= 2 and outputs.shape[1] > 1 and targets.dim() == outputs.dim() - 1:
        predicted = outputs.argmax(dim=1)
        wrong = (predicted != targets.long()).float()
    else:
        threshold = 0.5 if isinstance(metric_loss, torch.nn.BCELoss) else 0.0
        out = outputs.reshape(-1)
        tgt = targets.reshape(-1)
        if out.numel() != tgt.numel():
            raise RuntimeError(f"outputs {tuple(outputs.shape)} do not match targets "
                               f"{tuple(targets.shape)}")
        wrong = ((out > threshold).float() != (tgt > 0.5).float()).float()
    return float(wrong.mean()), wrong.numel()
