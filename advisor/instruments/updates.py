"""Update-to-weight ratios (cs231n's "about 1e-3" rule): on sampled steps, the weights are
copied in the optimizer's step pre-hook and compared with the updated ones in its post-hook."""

from __future__ import annotations

from typing import Any

import torch

from advisor.instruments.base import Instrument, StepClock


class UpdateRatios(Instrument):
    """Median over weight matrices of |w_after - w_before| / |w_before|, per sampled step."""

    def __init__(self, clock: StepClock) -> None:
        super().__init__()
        self.clock = clock
        self.ratios: list[float] = []
        self._weights: list[torch.Tensor] = []
        self._before: list[torch.Tensor] | None = None

    def _attach(self, model: torch.nn.Module,
                optimizer: torch.optim.Optimizer | None) -> None:
        self._weights = [p for p in model.parameters() if p.requires_grad and p.dim() >= 2]
        if optimizer is None or not self._weights:
            return
        self.keep(optimizer.register_step_pre_hook(self._pre))
        self.keep(optimizer.register_step_post_hook(self._post))

    def _pre(self, *_: Any) -> None:
        self._before = [w.detach().clone() for w in self._weights] if self.clock.sampled \
            else None

    def _post(self, *_: Any) -> None:
        if self._before is None:
            return
        before, self._before = self._before, None
        with torch.no_grad():
            diffs = torch._foreach_sub([w.detach() for w in self._weights], before)
            num = torch.stack(torch._foreach_norm(diffs)).double()
            den = torch.stack(torch._foreach_norm(before)).double()
        ok = (den > 0) & torch.isfinite(num) & torch.isfinite(den)
        if bool(ok.any()):
            self.ratios.append(float((num[ok] / den[ok]).median()))
