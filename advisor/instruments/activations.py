"""Activation statistics on sampled steps: dead ReLU units and saturated sigmoid/tanh units.

Module hooks alone miss the functional calls people write in `forward` (`F.relu(x)`,
`torch.sigmoid(self.fc(x))`), so the instrument uses the model's root forward pre-hook to start a
`TorchFunctionMode` recorder and the forward hook (`always_call=True`, so it also runs when the
forward raises) to stop it: attached through public hooks, it sees every activation call of the
forward, and nothing of the loss or the optimizer. Only the first forward of a sampled step is
recorded (a closure optimizer may run several).
"""

from __future__ import annotations

from typing import Any

import torch
from torch.overrides import TorchFunctionMode

from advisor.instruments.base import Instrument, StepClock
from advisor.probing.trace import ACTIVATIONS, WATCHED, op_name, saturated_fraction, unit_activity


class ActivationRecorder(TorchFunctionMode):
    """Active on one forward: per ReLU call site, which units fired; per sigmoid/tanh call
    site, the saturated share. Call sites are counted in execution order."""

    def __init__(self, layouts: dict[int, str], skip: set[int]):
        super().__init__()
        self.layouts = layouts        # ordinal of a watched call -> unit layout
        self.skip = skip              # ordinals to ignore (the model's final activation)
        self.ordinal = 0
        self.active: dict[int, torch.Tensor] = {}
        self.saturation: dict[int, float] = {}

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        name = op_name(func)
        if name in WATCHED and isinstance(out, torch.Tensor):
            k = self.ordinal
            self.ordinal += 1
            if k not in self.skip and torch.is_floating_point(out):
                family = ACTIVATIONS[name]
                if family == "relu":
                    self.active[k] = unit_activity(out, self.layouts.get(k, "last"))
                else:
                    self.saturation[k] = saturated_fraction(out, family)
        return out


class ActivationStats(Instrument):
    """Per sampled step: unit activity per ReLU site and saturation per sigmoid/tanh site.

    `layouts` maps the ordinal of each watched activation call to its unit layout ('channel' or
    'last', from the structure trace); `skip` holds the ordinals to ignore (the output's own
    activation, which is meant to saturate)."""

    def __init__(self, clock: StepClock, layouts: dict[int, str] | None = None,
                 skip: set[int] | None = None) -> None:
        super().__init__()
        self.clock = clock
        self.layouts = layouts or {}
        self.skip = skip or set()
        self.activity: list[tuple[int, dict[int, torch.Tensor]]] = []
        self.saturation: list[tuple[int, dict[int, float]]] = []
        self._recorder: ActivationRecorder | None = None
        self._done_step: int | None = None

    def _attach(self, model: torch.nn.Module,
                optimizer: torch.optim.Optimizer | None) -> None:
        self.keep(model.register_forward_pre_hook(self._start))
        self.keep(model.register_forward_hook(self._stop, always_call=True))

    def _start(self, module: torch.nn.Module, args: Any) -> None:
        step = self.clock.step
        if (self._recorder is not None or not self.clock.sampled or self._done_step == step
                or not module.training or not torch.is_grad_enabled()):
            return
        self._recorder = ActivationRecorder(self.layouts, self.skip)
        self._recorder.__enter__()

    def _stop(self, module: torch.nn.Module, args: Any, output: Any) -> None:
        recorder, self._recorder = self._recorder, None
        if recorder is None:
            return
        recorder.__exit__(None, None, None)
        self._done_step = self.clock.step
        self.activity.append((self.clock.step, recorder.active))
        self.saturation.append((self.clock.step, recorder.saturation))

    def detach(self) -> None:
        if self._recorder is not None:  # detached in the middle of a forward
            self._recorder.__exit__(None, None, None)
            self._recorder = None
        super().detach()
