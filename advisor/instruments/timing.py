"""Time per training step: the interval between two optimizer steps (data loading, forward,
backward and update together, as the user's loop experiences it). On an accelerator the device
is synchronised on sampled steps only, so the clock does not serialise every step."""

from __future__ import annotations

import time
from typing import Any

import torch

from advisor.instruments.base import Instrument, StepClock


class StepTimer(Instrument):
    """Seconds between consecutive optimizer step post-hooks."""

    def __init__(self, clock: StepClock, device: torch.device | None = None) -> None:
        super().__init__()
        self.clock = clock
        self.device = device
        self.seconds: list[float] = []
        self._last: float | None = None

    def _attach(self, model: torch.nn.Module,
                optimizer: torch.optim.Optimizer | None) -> None:
        self._last = time.perf_counter()
        if optimizer is not None:
            self.keep(optimizer.register_step_post_hook(self._post))

    def _post(self, *_: Any) -> None:
        if self.clock.sampled and self.device is not None and self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        now = time.perf_counter()
        if self._last is not None:
            self.seconds.append(now - self._last)
        self._last = now
