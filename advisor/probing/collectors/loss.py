"""The loss and the task: what the loss function computes, what the targets say the task is, and
how the first losses compare with chance (ln C), the task-relative yardstick for "too high"."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from advisor.probing.trace import op_name

LOSS_FUNCTIONS = {
    "cross_entropy": "cross_entropy", "nll_loss": "nll", "binary_cross_entropy": "bce",
    "binary_cross_entropy_with_logits": "bce_with_logits", "mse_loss": "mse",
    "l1_loss": "l1", "smooth_l1_loss": "smooth_l1", "huber_loss": "huber",
}
LOSS_MODULES = (
    (nn.CrossEntropyLoss, "cross_entropy"), (nn.NLLLoss, "nll"), (nn.BCEWithLogitsLoss,
    "bce_with_logits"), (nn.BCELoss, "bce"), (nn.MSELoss, "mse"), (nn.L1Loss, "l1"),
    (nn.SmoothL1Loss, "smooth_l1"), (nn.HuberLoss, "huber"),
)
CLASS_INDEX_LOSSES = ("cross_entropy", "nll")
BINARY_LOSSES = ("bce", "bce_with_logits")
ELEMENTWISE_LOSSES = ("mse", "l1", "smooth_l1", "huber", "bce", "bce_with_logits")


class LossTrace(TorchFunctionMode):
    """The loss functions a loss callable reaches (lambdas and wrappers included)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, Any]]] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = op_name(func)
        if name in LOSS_FUNCTIONS:
            self.found.append((LOSS_FUNCTIONS[name], dict(kwargs)))
        return func(*args, **kwargs)


def loss_kind(loss_fn: Any, traced: LossTrace | None) -> str:
    for cls, kind in LOSS_MODULES:
        if isinstance(loss_fn, cls):
            return kind
    if traced is not None and traced.found:
        return traced.found[0][0]
    return "other"


def ignore_index(loss_fn: Any, traced: LossTrace | None) -> int:
    if isinstance(loss_fn, (nn.CrossEntropyLoss, nn.NLLLoss)):
        return int(loss_fn.ignore_index)
    if traced is not None and traced.found:
        return int(traced.found[0][1].get("ignore_index", -100))
    return -100


@dataclass
class TaskInfo:
    """The task as the probe understands it; every data fact is judged against it."""

    kind: str                     # regression | binary | multiclass | multilabel
    source: str                   # given | inferred from ...
    loss: str                     # loss_fn.kind
    output_size: int | None
    class_indices: bool           # targets are class indices (not one-hot / probabilities)
    num_classes: int | None = None
    max_label: int | None = None
    min_label: int | None = None
    ignore_index: int = -100

    @property
    def classification(self) -> bool:
        return self.kind != "regression"

    def chance_classes(self) -> int | None:
        """C in the chance loss ln C: what a uniform prediction over the outputs scores."""
        if self.loss in CLASS_INDEX_LOSSES and self.output_size and self.output_size > 1:
            return self.output_size
        if self.loss in BINARY_LOSSES:
            return 2
        return None


def output_size(outputs: torch.Tensor | None, loss: str) -> int | None:
    """Size of the output dimension that holds classes or regression outputs."""
    if outputs is None:
        return None
    if outputs.dim() <= 1:
        return 1
    if loss in CLASS_INDEX_LOSSES:
        return int(outputs.shape[1])
    return int(outputs.shape[-1])


def _per_sample_width(targets: torch.Tensor) -> int:
    if targets.dim() <= 1:
        return 1
    return int(targets[0].numel())


def infer_task(given: str | None, loss: str, outputs: torch.Tensor | None,
               targets: torch.Tensor, ignore: int = -100) -> TaskInfo:
    """The task from the setup, else from the loss class and the targets' dtype, shape, values.

    Class-index losses (cross entropy, NLL) mean multiclass; binary losses mean binary, or
    multilabel with several targets per sample; any other loss is judged by its targets alone
    (integers or 0/1 values are classification, anything else regression)."""
    out_size = output_size(outputs, loss)
    t = targets.detach()
    integer = not torch.is_floating_point(t) and not torch.is_complex(t)
    width = _per_sample_width(t)
    same_shape = outputs is not None and tuple(outputs.shape[1:]) == tuple(t.shape[1:]) \
        and t.dim() >= 2
    info = TaskInfo("regression", "inferred", loss, out_size, False, ignore_index=ignore)
    values = t.float()
    binary_values = bool(((values == 0) | (values == 1)).all()) if values.numel() else False
    if loss in CLASS_INDEX_LOSSES:
        if not integer and same_shape:
            rows = values.reshape(len(values), -1) if values.dim() == 2 else values
            sums = rows.sum(1) if rows.dim() == 2 else rows
            one = bool(torch.allclose(sums, torch.ones_like(sums), atol=1e-3))
            info.kind = "multiclass" if one else "multilabel"
            info.num_classes = out_size
        else:
            info.kind, info.class_indices = "multiclass", True
    elif loss in BINARY_LOSSES:
        info.kind = "binary" if width == 1 else "multilabel"
        info.num_classes = 2 if width == 1 else width
    elif integer or binary_values:
        if width == 1 or (integer and t.dim() >= 2 and not same_shape):
            info.class_indices = True
            distinct = torch.unique(t[t != ignore]) if t.numel() else t
            info.kind = "binary" if binary_values and distinct.numel() <= 2 else "multiclass"
        else:
            per_row = values.reshape(len(values), -1).sum(1)
            info.kind = "multiclass" if bool((per_row == 1).all()) else "multilabel"
            info.num_classes = width
    if given:
        info.kind, info.source = given, "given"
    if info.class_indices:
        _class_range(info, t, ignore)
    elif info.kind == "binary":
        info.num_classes = 2
    return info


def _class_range(info: TaskInfo, t: torch.Tensor, ignore: int) -> None:
    labels = t.reshape(-1)
    labels = labels[labels != ignore]
    if labels.numel() == 0:
        return
    if torch.is_floating_point(labels):
        labels = labels.round()
    labels = labels.long()
    info.num_classes = int(torch.unique(labels).numel())
    info.max_label, info.min_label = int(labels.max()), int(labels.min())


def chance_loss(info: TaskInfo) -> float | None:
    c = info.chance_classes()
    return math.log(c) if c else None


def loss_value(loss: Any) -> float:
    """The scalar a loss callable returned (a tensor, or a number)."""
    if isinstance(loss, torch.Tensor):
        if loss.numel() != 1:
            return float(loss.detach().float().mean())
        return float(loss.detach().float())
    return float(loss)
