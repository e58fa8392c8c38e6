"""How much of each step is weight decay: on sampled steps, in the optimizer's step pre-hook,
the decay term weight_decay * |w| of every weight matrix against the loss gradient |g| the
optimizer is about to use.

Coupled weight decay (SGD, Adam, RMSprop, Adagrad... with `weight_decay`) adds
weight_decay * w to the gradient inside `step`. When that term is several times the loss's own
gradient, every step mostly shrinks the weights towards zero and the data barely moves them:
the model underfits whatever the learning rate. The ratio says so directly, where the
hyperparameter alone depends on the weights' and the gradients' scale.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from advisor.instruments.base import Instrument, StepClock, step_closure


class DecayShare(Instrument):
    """Median over weight matrices of weight_decay * |w| / |grad|, per sampled step."""

    def __init__(self, clock: StepClock) -> None:
        super().__init__()
        self.clock = clock
        self.ratios: list[float] = []
        self._optimizer: torch.optim.Optimizer | None = None

    def _attach(self, model: torch.nn.Module,
                optimizer: torch.optim.Optimizer | None) -> None:
        if optimizer is None:
            return
        self._optimizer = optimizer
        self.keep(optimizer.register_step_pre_hook(self._pre))

    def _pre(self, opt: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if not self.clock.sampled or step_closure(args, kwargs) is not None:
            return
        weights, grads, decays = [], [], []
        for group in opt.param_groups:
            wd = group.get("weight_decay", 0.0)
            if isinstance(wd, torch.Tensor):
                wd = float(wd)
            if not isinstance(wd, (int, float)) or wd <= 0:
                continue
            for p in group["params"]:
                if p.dim() >= 2 and p.grad is not None and not p.grad.is_sparse:
                    weights.append(p.detach())
                    grads.append(p.grad.detach())
                    decays.append(float(wd))
        if not weights:
            return
        with torch.no_grad():
            w = torch.stack(torch._foreach_norm(weights)).double()
            g = torch.stack(torch._foreach_norm(grads)).double()
            ratio = torch.tensor(decays, dtype=torch.float64, device=w.device) * w / g
            ratio = torch.where(torch.isfinite(ratio), ratio, torch.nan)
            value = float(ratio.nanmedian())  # the one read of this step
        if math.isfinite(value):
            self.ratios.append(value)
