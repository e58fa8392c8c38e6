"""Gradient clipping, seen from outside the user's step: on sampled steps the gradient norm right
after backward (each parameter's post-accumulate-grad hook) is compared with the norm the
optimizer sees in its step pre-hook. A clear drop between the two means the step clipped
(`clip_grad_norm_`, `clip_grad_value_`, or an optimizer that clips inside `step` after its
pre-hook is not seen). Gradients scaled by a GradScaler are compared at the scaler's scale.

Only observed clipping counts: a max_norm that never triggers cannot be told from no clipping,
so the absence of a drop proves nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from advisor.instruments.base import Instrument, StepClock, step_closure, tensor_norms

DROP = 0.99  # the optimizer's norm below 99 % of the backward's: clipped


class ClippingDetector(Instrument):
    """Counts sampled steps whose gradients were shrunk between backward and the update."""

    def __init__(self, clock: StepClock, scale: Callable[[], float] | None = None) -> None:
        super().__init__()
        self.clock = clock
        self.scale = scale
        self.checked = 0
        self.clipped = 0
        self._after_backward: dict[int, torch.Tensor] = {}  # norms, kept on the device
        self._params: list[torch.nn.Parameter] = []

    def _attach(self, model: torch.nn.Module,
                optimizer: torch.optim.Optimizer | None) -> None:
        if optimizer is None:
            return
        self._params = [p for p in model.parameters() if p.requires_grad]
        for p in self._params:
            self.keep(p.register_post_accumulate_grad_hook(self._accumulated))
        self.keep(optimizer.register_step_pre_hook(self._pre))

    def _accumulated(self, param: torch.nn.Parameter) -> None:
        if self.clock.sampled and param.grad is not None:
            # a tensor, not a float: no device sync per parameter on an accelerator
            self._after_backward[id(param)] = tensor_norms([param.grad.detach()])[0].float()

    def _pre(self, opt: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        seen, self._after_backward = self._after_backward, {}
        if not seen or step_closure(args, kwargs) is not None:
            return  # not sampled, or a closure step (its gradients come later)
        grads = [p.grad for p in self._params if id(p) in seen and p.grad is not None]
        if len(grads) != len(seen):
            return
        before = float(torch.stack(list(seen.values())).norm())
        now = float(torch.stack(tensor_norms(grads)).float().norm())
        scale = self.scale() if self.scale is not None else 1.0
        if not (math.isfinite(before) and math.isfinite(now)) or before == 0 or scale <= 0:
            return
        self.checked += 1
        if now < DROP * before / scale:
            self.clipped += 1
