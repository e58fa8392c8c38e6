"""Where a NaN or Inf first appears in a forward pass: the deepest module whose output is
non-finite while its inputs were finite (Hugging Face's DebugUnderflowOverflow idea), through a
forward hook on every module. Module hooks complete inner modules first, so the first hit is the
innermost culprit. The root counts too (functional code in its own forward) and is named by its
class. Costly (a check on every module's output), so only the NaN localisation replays use it.
"""

from __future__ import annotations

from typing import Any

import torch

from advisor.instruments.base import Instrument


def holds_nonfinite(obj: Any) -> bool:
    """A floating tensor with NaN/Inf anywhere inside nested containers."""
    if isinstance(obj, torch.Tensor):
        return obj.is_floating_point() and not bool(torch.isfinite(obj).all())
    if isinstance(obj, (list, tuple)):
        return any(holds_nonfinite(x) for x in obj)
    if isinstance(obj, dict):
        return any(holds_nonfinite(x) for x in obj.values())
    return False


class NonfiniteOrigin(Instrument):
    """Records the first module that turned finite inputs into a non-finite output."""

    def __init__(self) -> None:
        super().__init__()
        self.module: str | None = None

    def _attach(self, model: torch.nn.Module,
                optimizer: torch.optim.Optimizer | None) -> None:
        for name, module in model.named_modules():
            self.keep(module.register_forward_hook(self._hook(name or type(module).__name__)))

    def _hook(self, name: str) -> Any:
        def hook(module: torch.nn.Module, args: Any, out: Any) -> None:
            if self.module is None and holds_nonfinite(out) and not holds_nonfinite(args):
                self.module = name
        return hook
