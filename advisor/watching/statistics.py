"""The sampled statistics of a watched loop: gradient norms and update ratios at optimizer steps,
and the loss of every step.

Nothing here moves, copies or casts the user's tensors, and nothing forces a device sync on an
unsampled step: norms come from one fused `torch._foreach_norm` into a small tensor on the
device, losses are kept as detached references (a view of the user's value, never a copy) and
read in batches. The update ratio compares a fixed strided sample of each weight matrix (at most
SAMPLE elements, gathered into a new small tensor) before and after the step, so even a large
model never has a full copy of its weights made.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch

from advisor.instruments.base import tensor_norms

SAMPLE = 1024  # elements per weight matrix compared for the update ratio


@dataclass
class LossLog:
    """The loss of each training step, as detached scalar tensors until read."""

    pending: list[tuple[int, torch.Tensor]] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    steps: list[int] = field(default_factory=list)

    def add(self, step: int, loss: torch.Tensor) -> None:
        self.pending.append((step, loss))

    def flush(self) -> int | None:
        """Read the pending losses (one sync); the step of the first non-finite one, if any."""
        if not self.pending:
            return None
        steps = [s for s, _ in self.pending]
        with torch.no_grad():
            vals = torch.stack([t.reshape(()).float() for _, t in self.pending]).cpu().tolist()
        self.pending.clear()
        self.values.extend(vals)
        self.steps.extend(steps)
        return next((s for s, v in zip(steps, vals, strict=True) if not math.isfinite(v)), None)


@dataclass
class StepStatistics:
    """Gradient norms (per tensor, global) and update ratios at sampled optimizer steps."""

    names: dict[int, str] = field(default_factory=dict)        # id(param) -> qualified name
    norm_steps: list[int] = field(default_factory=list)
    norms: list[tuple[list[int], torch.Tensor]] = field(default_factory=list)
    update_ratios: list[float] = field(default_factory=list)
    _before: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] | None = None
    _index: dict[int, torch.Tensor] = field(default_factory=dict)   # id(param) -> sample

    def before_step(self, step: int, params: list[torch.nn.Parameter]) -> None:
        """In the optimizer's pre-hook: the gradients the update will use, and the weights'
        sample for the update ratio."""
        with torch.no_grad():
            present = [p for p in params if p.grad is not None]
            if present:
                norms = torch.stack(tensor_norms([p.grad for p in present])).detach().float()
                self.norm_steps.append(step)
                self.norms.append(([id(p) for p in present], norms))
            self._before = [(p, idx, p.detach().reshape(-1)[idx].float())
                            for p in params if p.dim() >= 2 and not p.is_sparse
                            for idx in [self._sample_index(p)]]

    def _sample_index(self, p: torch.Tensor) -> torch.Tensor:
        """The strided sample of a weight, made once per tensor (and again if it changed)."""
        idx = self._index.get(id(p))
        if idx is None or idx.device != p.device or int(idx[-1]) >= p.numel():
            idx = self._index[id(p)] = _strided(p)
        return idx

    def after_step(self) -> None:
        """In the optimizer's post-hook: |w_after - w_before| / |w_before| per weight matrix
        on the sample; the median over matrices, as the probe's UpdateRatios."""
        before, self._before = self._before, None
        if not before:
            return
        with torch.no_grad():  # fused: one read back to the host, not two per matrix
            olds = [old for _, _, old in before]
            news = [p.detach().reshape(-1)[idx].float() for p, idx, _ in before]
            num = torch.stack(torch._foreach_norm(torch._foreach_sub(news, olds)))
            den = torch.stack(torch._foreach_norm(olds))
            pairs = torch.stack([num, den]).double().cpu().tolist()
        ratios = [n / d for n, d in zip(*pairs, strict=True) if d > 0]
        finite = sorted(r for r in ratios if math.isfinite(r))
        if finite:
            self.update_ratios.append(finite[len(finite) // 2])

    def series(self) -> tuple[dict[str, list[float]], list[float]]:
        """(per-tensor norm series by name, global norm series), NaN where a tensor had none."""
        per: dict[str, list[float]] = {}
        global_: list[float] = []
        for k, (ids, norms) in enumerate(self.norms):
            values = norms.cpu().tolist()
            for pid, v in zip(ids, values, strict=True):
                name = self.names.get(pid, f"param{pid}")
                per.setdefault(name, [math.nan] * len(self.norms))[k] = v
            finite = all(math.isfinite(v) for v in values)
            global_.append(math.sqrt(sum(v * v for v in values)) if finite else math.inf)
        return per, global_


def _strided(p: torch.Tensor) -> Any:
    """A fixed strided index into the flattened tensor: SAMPLE elements spread over it (no
    random numbers: the user's RNG streams stay untouched)."""
    n = p.numel()
    stride = max(1, n // SAMPLE)
    return torch.arange(0, n, stride, device=p.device)[:SAMPLE]
