"""What every instrument shares: the handles it must remove, and the clock that says which step
is running and whether it is a sampled one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch


@dataclass
class StepClock:
    """The current training step, as the loop driving the model counts it.

    `sampled` marks the steps on which costly statistics are taken: about `samples` of them
    per run, and at most every 4th step (Cockpit and AUTOTRAINER sample similarly; the probe's
    overhead goal is 1.3x a plain loop)."""

    planned: int = 0
    step: int = 0
    cadence: int = 4

    @classmethod
    def for_steps(cls, planned: int, samples: int = 25) -> StepClock:
        return cls(planned=planned, cadence=max(4, round(planned / samples)))

    @property
    def sampled(self) -> bool:
        return self.step % self.cadence == 0 or self.step == self.planned - 1

    def begin(self, step: int) -> None:
        self.step = step


class Instrument:
    """Base of the instruments: hook handles are kept and removed together.

    Subclasses register their hooks in `_attach`; `attach` may be called once per instrument.
    """

    def __init__(self) -> None:
        self._handles: list[Any] = []
        self.attached = False

    def attach(self, model: torch.nn.Module,
               optimizer: torch.optim.Optimizer | None = None) -> Instrument:
        if self.attached:
            raise RuntimeError(f"{type(self).__name__} is already attached")
        self._attach(model, optimizer)
        self.attached = True
        return self

    def _attach(self, model: torch.nn.Module,
                optimizer: torch.optim.Optimizer | None) -> None:  # pragma: no cover
        raise NotImplementedError

    def keep(self, handle: Any) -> None:
        self._handles.append(handle)

    def detach(self) -> None:
        """Remove every hook; the model and optimizer are as they were before `attach`."""
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        self.attached = False

    def __enter__(self) -> Instrument:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.detach()


def step_closure(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The closure passed to `optimizer.step(closure)` (LBFGS and friends), if any.

    A step hook receives the step's own arguments with the optimizer first (`args[0]` is
    `self`), so the closure is the second positional argument or the `closure` keyword."""
    if len(args) > 1:
        return args[1]
    return kwargs.get("closure")


def tensor_norms(tensors: list[torch.Tensor]) -> list[torch.Tensor]:
    """The L2 norm of each tensor, as tensors on their device: one fused `_foreach_norm` for
    the dense ones; a sparse gradient (nn.Embedding(sparse=True)) has no dense norm kernel, so
    its stored values are measured instead (the same norm)."""
    if not any(t.is_sparse for t in tensors):
        return list(torch._foreach_norm(tensors))
    dense = [i for i, t in enumerate(tensors) if not t.is_sparse]
    out: list[torch.Tensor] = [None] * len(tensors)  # type: ignore[list-item]
    for i, norm in zip(dense, torch._foreach_norm([tensors[i] for i in dense]) if dense else [],
                       strict=True):
        out[i] = norm
    for i, t in enumerate(tensors):
        if t.is_sparse:
            out[i] = t.coalesce().values().float().norm()
    return out
