"""The loss function measured: which loss a loss callable computes (traced through lambdas and
wrappers), its ignore_index, and its value. The task and chance loss are judged from these by
the pure functions of advisor.facts.task; TaskInfo and those functions are re-exported here."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from advisor.facts import task as task_facts
from advisor.facts.task import (
    BINARY_LOSSES,
    CLASS_INDEX_LOSSES,
    ELEMENTWISE_LOSSES,
    TaskInfo,
    chance_loss,
)
from advisor.probing.data_scan import to_numpy
from advisor.probing.trace import op_name

__all__ = ["BINARY_LOSSES", "CLASS_INDEX_LOSSES", "ELEMENTWISE_LOSSES", "LOSS_FUNCTIONS",
           "LOSS_MODULES", "LossTrace", "TaskInfo", "chance_loss", "ignore_index", "infer_task",
           "loss_kind", "loss_value", "output_size"]

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


FLOOR_LOSSES = {"binary_cross_entropy", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"}
"""Element-wise losses whose lowest value is reached by predicting the target itself."""


class LossFloor(TorchFunctionMode):
    """The lowest value the element-wise loss terms a loss callable reaches can take: each
    term evaluated with its prediction replaced by its own target. A binary cross-entropy
    against soft targets (pixel intensities) never falls below the targets' entropy, however
    well a model memorises them; a squared or absolute error falls to 0. Terms of other kinds
    (a KL penalty, a class-index cross-entropy) count 0. `terms` is how many were seen."""

    def __init__(self) -> None:
        super().__init__()
        self.floor = 0.0
        self.terms = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        result = func(*args, **kwargs)
        if op_name(func) in FLOOR_LOSSES and len(args) >= 2 and isinstance(args[1], torch.Tensor):
            target = args[1].detach()
            with torch.no_grad():
                self.floor += loss_value(func(target.to(args[0].dtype), target, *args[2:],
                                              **kwargs))
            self.terms += 1
        return result


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


def output_size(outputs: torch.Tensor | None, loss: str) -> int | None:
    """Size of the output dimension that holds classes or regression outputs."""
    return task_facts.output_size(None if outputs is None else tuple(outputs.shape), loss)


def infer_task(given: str | None, loss: str, outputs: torch.Tensor | None,
               targets: torch.Tensor, ignore: int = -100) -> TaskInfo:
    """The task from the setup, else from the loss kind and the targets (judged by
    advisor.facts.task.infer_task on the targets' values and the outputs' shape)."""
    return task_facts.infer_task(given, loss, None if outputs is None else tuple(outputs.shape),
                                 to_numpy(targets), ignore)


def loss_value(loss: Any) -> float:
    """The scalar a loss callable returned (a tensor, or a number)."""
    if isinstance(loss, torch.Tensor):
        if loss.numel() != 1:
            return float(loss.detach().float().mean())
        return float(loss.detach().float())
    return float(loss)
