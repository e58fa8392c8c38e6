"""The margin of numerically unsafe operations: on sampled steps, the smallest |input| that the
forward and the loss hand to log, log2, log10, sqrt, rsqrt, reciprocal, a division's
denominator or a fractional/negative power.

These operations turn an input that reaches zero into -inf, inf or an infinite gradient: a
hand-written `torch.log(torch.softmax(x))` is finite until one probability underflows, which
may happen only after thousands of steps when the logits have grown. Waiting for the NaN is too
late for a short probe, so the instrument measures how close the inputs come to zero, step by
step, and `advisor.facts.numerics` judges the margin and its trend.

The recorder is a `TorchFunctionMode` entered at the model's first forward of a sampled step
(a forward pre-hook registered first, so the activation recorder's mode nests inside it) and
left at the optimizer's step (pre-hook, or post-hook for a closure step): it sees the user's
forward and loss, never the optimizer's arithmetic nor the probe's own. Each watched call adds
one reduction kept on the device; the values are read once per sampled step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

from advisor.instruments.base import Instrument, StepClock, step_closure

# op name -> the position of the argument whose zero is the danger
FIRST_ARGUMENT = {"log", "log_", "log2", "log2_", "log10", "log10_", "sqrt", "sqrt_", "rsqrt",
                  "rsqrt_", "reciprocal", "reciprocal_"}
DENOMINATOR_SECOND = {"div", "div_", "true_divide", "true_divide_", "divide", "__truediv__",
                      "__itruediv__"}
DENOMINATOR_FIRST = {"__rdiv__", "__rtruediv__"}   # scalar / tensor: the tensor is self
POWERS = {"pow", "pow_", "__pow__", "__ipow__"}
FAMILY = {**{n: n.rstrip("_") for n in FIRST_ARGUMENT},
          **{n: "div" for n in DENOMINATOR_SECOND | DENOMINATOR_FIRST},
          **{n: "pow" for n in POWERS}}


def _name(func: Any) -> str:
    return getattr(func, "__name__", None) or str(func)


def guarded_input(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The tensor whose values must stay away from zero for this call, or None."""
    if name in FIRST_ARGUMENT:
        return args[0] if args else kwargs.get("input")
    if name in DENOMINATOR_SECOND:
        return args[1] if len(args) > 1 else kwargs.get("other")
    if name in DENOMINATOR_FIRST:
        return args[0] if args else None
    if name in POWERS:
        exponent = args[1] if len(args) > 1 else kwargs.get("exponent")
        # x ** e with e < 1 (negative: a reciprocal; fractional: an infinite slope at 0)
        if isinstance(exponent, (int, float)) and not isinstance(exponent, bool) \
                and exponent < 1 and exponent != 0:
            return args[0] if args else kwargs.get("input")
    return None


class MarginRecorder(TorchFunctionMode):
    """Active on one step's forward and loss: per op family, the smallest |input| of each
    call (a 0-d tensor on the device) and the smallest normal number of its dtype."""

    def __init__(self) -> None:
        super().__init__()
        self.smallest: dict[str, list[torch.Tensor]] = {}
        self.tiny: dict[str, float] = {}

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = _name(func)
        family = FAMILY.get(name)
        if family is not None:
            x = guarded_input(name, args, kwargs)
            if isinstance(x, torch.Tensor) and x.is_floating_point() and x.numel() > 0 \
                    and not x.is_sparse:
                with torch.no_grad():
                    self.smallest.setdefault(family, []).append(x.detach().abs().amin().float())
                tiny = float(torch.finfo(x.dtype).tiny)
                self.tiny[family] = max(self.tiny.get(family, 0.0), tiny)
        return func(*args, **kwargs)


@dataclass
class MarginRecord:
    """Per sampled step: {op family: (smallest |input|, smallest normal of its dtype)}."""

    steps: list[int] = field(default_factory=list)
    smallest: list[dict[str, tuple[float, float]]] = field(default_factory=list)


class NumericMargins(Instrument):
    """Smallest |input| of the numerically unsafe operations, per sampled step."""

    def __init__(self, clock: StepClock) -> None:
        super().__init__()
        self.clock = clock
        self.record = MarginRecord()
        self._recorder: MarginRecorder | None = None
        self._done_step: int | None = None

    def _attach(self, model: torch.nn.Module,
                optimizer: torch.optim.Optimizer | None) -> None:
        self.keep(model.register_forward_pre_hook(self._start, prepend=True))
        if optimizer is not None:
            self.keep(optimizer.register_step_pre_hook(self._pre_step))
            self.keep(optimizer.register_step_post_hook(self._post_step))

    def _start(self, module: torch.nn.Module, args: Any) -> None:
        step = self.clock.step
        if self._recorder is not None and self._done_step != step:
            self._stop()        # the last sampled step never reached the optimizer
        if (self._recorder is not None or not self.clock.sampled or self._done_step == step
                or not module.training or not torch.is_grad_enabled()):
            return
        self._done_step = step
        self._recorder = MarginRecorder()
        self._recorder.__enter__()

    def _pre_step(self, opt: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if step_closure(args, kwargs) is None:
            self._stop()

    def _post_step(self, opt: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self._stop()

    def _stop(self) -> None:
        recorder, self._recorder = self._recorder, None
        if recorder is None:
            return
        if _top_mode() is not recorder:  # a mode entered above ours is still active: later
            self._recorder = recorder
            return
        recorder.__exit__(None, None, None)
        if not recorder.smallest:
            return
        families = sorted(recorder.smallest)
        mins = torch.stack([torch.stack(recorder.smallest[f]).amin() for f in families])
        values = mins.cpu().tolist()   # the one read of this step
        self.record.steps.append(self._done_step if self._done_step is not None else -1)
        self.record.smallest.append({f: (v, recorder.tiny[f])
                                     for f, v in zip(families, values, strict=True)})

    def detach(self) -> None:
        self._stop()
        super().detach()


def _top_mode() -> Any:
    """The innermost active TorchFunctionMode, or None."""
    stack = torch.overrides._get_current_function_mode_stack()
    return stack[-1] if stack else None
