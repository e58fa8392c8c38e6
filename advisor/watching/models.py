"""What the watcher knows about the modules and optimizers a script creates: which modules are
models (called from outside any other module, holding parameters) and which are losses, and
which of a model's layers behave differently in eval mode."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

MAX_REPRESENTATIVES = 4


@dataclass
class RootModule:
    """A module the script calls directly. `kind` is "model" (it has parameters) or "loss"
    (no parameters: nn.CrossEntropyLoss and friends, whose output is the loss)."""

    module: nn.Module
    name: str
    kind: str
    params: list[nn.Parameter] = field(default_factory=list)   # trainable tensors
    training: bool = True
    backward_seen: bool = False


def describe_root(module: nn.Module, taken: set[str]) -> RootModule:
    """A new root: its parameters and a name unique among the roots (its class name)."""
    params = [p for p in module.parameters() if p.requires_grad]
    base = type(module).__name__
    name, n = base, 2
    while name in taken:
        name, n = f"{base}#{n}", n + 1
    return RootModule(module=module, name=name, kind="model" if params else "loss",
                      params=params, training=module.training)


def mode_dependent_layers(module: nn.Module) -> list[str]:
    """Class names of the layers that compute differently in eval mode: dropout with p > 0,
    batch norm (running statistics), instance norm that tracks running statistics, recurrent
    layers and attention with dropout. A model without any is harmless in eval mode."""
    found = set()
    for m in module.modules():
        if _behaves_differently_in_eval(m):
            found.add(type(m).__name__)
    return sorted(found)


def _behaves_differently_in_eval(m: nn.Module) -> bool:
    if isinstance(m, nn.modules.dropout._DropoutNd):
        return m.p > 0
    if isinstance(m, nn.modules.batchnorm._BatchNorm):
        return True
    if isinstance(m, nn.modules.instancenorm._InstanceNorm):
        return bool(m.track_running_stats)
    return isinstance(m, (nn.RNNBase, nn.MultiheadAttention)) and bool(getattr(m, "dropout", 0))


def optimizer_params(opt: torch.optim.Optimizer) -> list[torch.Tensor]:
    """The trainable tensors an optimizer updates, in param-group order."""
    return [p for g in opt.param_groups for p in g["params"] if getattr(p, "requires_grad", False)]


def first_lr(opt: torch.optim.Optimizer) -> float | None:
    """The learning rate of the first param group (a tensor LR read as a number)."""
    if not opt.param_groups:
        return None
    lr = opt.param_groups[0].get("lr")
    if isinstance(lr, torch.Tensor):
        return float(lr.detach().cpu())
    return float(lr) if isinstance(lr, (int, float)) else None


def loss_value(output: Any) -> torch.Tensor | None:
    """The scalar loss in a module's output: a one-element tensor, or the `loss` of a Hugging
    Face style output (attribute or key)."""
    if isinstance(output, torch.Tensor):
        return output if output.numel() == 1 else None
    candidate = output.get("loss") if isinstance(output, dict) else getattr(output, "loss", None)
    if isinstance(candidate, torch.Tensor) and candidate.numel() == 1:
        return candidate
    return None


def representatives(params: list[torch.Tensor]) -> list[tuple[torch.Tensor, int, int]]:
    """A few tensors that hold a gradient now, with the identity and version of that gradient:
    `grad_state_changed` later tells whether the gradient was reset or replaced in between."""
    reps = []
    for p in params:
        g = p.grad
        if g is not None:
            reps.append((p, id(g), g._version))
            if len(reps) == MAX_REPRESENTATIVES:
                break
    return reps


def grad_state_changed(reps: list[tuple[torch.Tensor, int, int]]) -> bool:
    """Whether any representative's gradient was set to None, replaced or modified in place
    (zero_grad(set_to_none=False) bumps the version) since it was recorded."""
    for p, gid, version in reps:
        g = p.grad
        if g is None or id(g) != gid or g._version != version:
            return True
    return False
