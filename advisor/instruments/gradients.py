"""Gradient norms per parameter tensor, at every optimizer step.

The norms are read where the optimizer reads the gradients: in its step pre-hook (after the
user's clipping and the GradScaler's unscaling, before the update), or, for a step that takes a
closure (LBFGS), in its post-hook, because the closure computes the gradients inside `step`.
One fused `torch._foreach_norm` per step keeps the cost low; the values stay on the device until
the run ends.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from advisor.instruments.base import Instrument, StepClock, step_closure, tensor_norms


@dataclass
class GradientRecord:
    """Per recorded step: which tracked tensors had a gradient, and their norms."""

    names: list[str] = field(default_factory=list)          # tracked tensor names
    weight_idx: list[int] = field(default_factory=list)     # matrices among them
    steps: list[int] = field(default_factory=list)
    present: list[list[int]] = field(default_factory=list)
    norms: list[torch.Tensor] = field(default_factory=list)
    ever: set[int] = field(default_factory=set)
    first_nonfinite_step: int | None = None

    def series(self) -> tuple[dict[str, list[float]], list[float]]:
        """(per-tensor norm series, global norm series) as floats; NaN where absent."""
        per: dict[str, list[float]] = {n: [math.nan] * len(self.norms) for n in self.names}
        global_: list[float] = []
        for s, (present, norms) in enumerate(zip(self.present, self.norms, strict=True)):
            values = norms.cpu().tolist()
            for i, v in zip(present, values, strict=True):
                per[self.names[i]][s] = v
            finite = all(math.isfinite(v) for v in values)
            global_.append(math.sqrt(sum(v * v for v in values)) if finite else math.inf)
        return per, global_


class GradientNorms(Instrument):
    """Records the gradient norm of every trainable parameter tensor at each optimizer step.

    `on_nonfinite(step)` is called once, before the update of the first step whose gradients
    hold NaN/Inf (not for closure steps, whose gradients are only seen after the update), so
    that a caller can keep the weights that produced them."""

    def __init__(self, clock: StepClock,
                 on_nonfinite: Callable[[int], None] | None = None) -> None:
        super().__init__()
        self.clock = clock
        self.on_nonfinite = on_nonfinite
        self.record = GradientRecord()
        self._params: list[torch.nn.Parameter] = []

    def _attach(self, model: torch.nn.Module,
                optimizer: torch.optim.Optimizer | None) -> None:
        tracked = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        self._params = [p for _, p in tracked]
        self.record.names = [n for n, _ in tracked]
        self.record.weight_idx = [i for i, (_, p) in enumerate(tracked) if p.dim() >= 2]
        if optimizer is None:
            return
        self.keep(optimizer.register_step_pre_hook(self._pre))
        self.keep(optimizer.register_step_post_hook(self._post))

    def _pre(self, opt: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if step_closure(args, kwargs) is None:
            self._measure(before_update=True)

    def _post(self, opt: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if step_closure(args, kwargs) is not None:
            self._measure(before_update=False)

    def _measure(self, before_update: bool) -> None:
        rec = self.record
        present = [i for i, p in enumerate(self._params) if p.grad is not None]
        if not present:
            return
        rec.ever.update(present)
        grads = [self._params[i].grad for i in present]
        norms = torch.stack(tensor_norms(grads)).detach().float()
        rec.steps.append(self.clock.step)
        rec.present.append(present)
        rec.norms.append(norms)
        if rec.first_nonfinite_step is None and not bool(torch.isfinite(norms).all()):
            rec.first_nonfinite_step = self.clock.step
            if before_update and self.on_nonfinite is not None:
                self.on_nonfinite(self.clock.step)
