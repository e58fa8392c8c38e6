"""Finding the model's final activation again, on a scratch copy, precisely enough to skip or
replace it in every forward pass of a trial arm.

The probe's structure (advisor.probing.collectors.structure) names the activation that produced
the output; a trial needs to know *which call* it was. Two ways to change it:

- a module (`nn.Softmax` at the end of a Sequential, `self.act = nn.Sigmoid()` called once): the
  copy's module is swapped for another (`nn.Identity`, `nn.LogSoftmax`...), a plain model edit
  with no cost at run time;
- a functional call in `forward` (`torch.softmax(self.fc(x), 1)`, `x.sigmoid()`), or a module
  called more than once: a TorchFunctionMode, entered around each forward pass, that changes the
  k-th call of that op (counted as the tracer counts top-level torch calls). The count must be
  the same on every batch and in both modes, which is checked on the cached batches.

Not applicable: no activation at the output, an output that joins several activations
(`torch.cat` of two heads), an activation whose call count varies between batches or modes (a
Python loop over a sequence of varying length), and an op that changes the shape (`glu`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from advisor.probing.batches import first_tensor, forward
from advisor.probing.collectors.structure import JOINS, final_activation
from advisor.probing.trace import ForwardTrace, op_name
from advisor.trials.arm import TrialNotApplicable

REPLACEMENTS = ("sigmoid", "softmax", "log_softmax", "identity")
SHAPE_CHANGING = {"glu"}
SOFTMAX_LIKE = {"softmax", "_softmax", "log_softmax", "_log_softmax", "softmin"}
ACTIVATION_MODULES = "torch.nn.modules.activation"


@dataclass(frozen=True)
class FinalActivation:
    """Where the output's activation is: `modules` (attribute paths of the module, every path
    that reaches it) when an activation module called once produced it, else the op `name` and
    its `ordinal` among the top-level calls of that name in one forward pass."""

    kind: str                   # sigmoid | softmax | log_softmax | relu | tanh | other
    name: str                   # the torch op (softmax, sigmoid, relu_...)
    ordinal: int
    dim: int | None             # the softmax dimension, when it is one
    out_dim: int                # dimensions of the output tensor
    out_width: int | None       # size of dimension 1 of the output (classes), when it has one
    modules: tuple[str, ...] = ()

    @property
    def described(self) -> str:
        where = f"module {self.modules[0]}" if self.modules else f"call of {self.name} in forward"
        return f"the final {self.kind} ({where})"


def locate(ctx: Any, batches: list[Any]) -> FinalActivation:
    """The final activation of the model, traced on up to two batches in training mode and one
    in eval mode (a fresh copy each time); TrialNotApplicable with the reason when a trial
    cannot change it."""
    if ctx.structure.final_activation == "none":
        raise TrialNotApplicable("the model's output does not come from an activation function "
                                 "(the probe traced none), so there is none to remove or replace")
    if not batches:
        raise TrialNotApplicable("no training batch was read, so the final activation could not "
                                 "be traced")
    runs = [_trace(ctx, b, train=True) for b in batches[:2]] + [_trace(ctx, batches[0], False)]
    found = runs[0]
    if any((r.name, r.ordinal, r.total) != (found.name, found.ordinal, found.total)
           for r in runs[1:]):
        raise TrialNotApplicable(
            f"the number of {found.name} calls in a forward pass changes between batches or "
            "between training and evaluation, so the final one cannot be told apart from the "
            "others on every batch")
    return found.final


@dataclass
class _Run:
    final: FinalActivation
    name: str
    ordinal: int
    total: int


@torch.no_grad()
def _trace(ctx: Any, batch: Any, train: bool) -> _Run:
    model = ctx.fresh_model()
    model.train(train)
    calls: dict[int, list[int]] = {}   # id(module) -> ids of its outputs, call by call
    handles = []
    for module in model.modules():
        if _is_activation_module(module):
            def hook(mod: nn.Module, args: Any, out: Any) -> None:
                calls.setdefault(id(mod), []).append(id(out))
            handles.append(module.register_forward_hook(hook))
    tracer = _DimTrace()
    try:
        with tracer:
            outputs, _ = forward(model, ctx.on_device(batch), ctx.setup.step)
    except Exception as exc:  # the user's forward fails on a scratch copy
        raise TrialNotApplicable(f"tracing the model's forward pass raised "
                                 f"{type(exc).__name__}: {exc}") from None
    finally:
        for h in handles:
            h.remove()
    out = first_tensor(outputs)
    kind, idx = final_activation(tracer, out)
    if idx is None or kind == "none":
        raise TrialNotApplicable("the model's output does not come from an activation function "
                                 "in this forward pass, so there is none to remove or replace")
    _, source = tracer.source_op(out) if out is not None else (None, "")
    if source in JOINS:
        raise TrialNotApplicable(f"the output joins several activations ({source}), so no "
                                 "single final activation can be removed or replaced")
    call = tracer.calls[idx]
    if call.name in SHAPE_CHANGING:
        raise TrialNotApplicable(f"the final activation ({call.name}) changes the output's "
                                 "shape, so it cannot be skipped")
    same = [i for i, c in enumerate(tracer.calls) if c.name == call.name]
    ordinal = same.index(idx)
    target = call.outputs[0] if call.outputs else None
    paths = _module_paths(model, calls, target)
    dim = _softmax_dim(model, paths, tracer.dims.get(idx))
    assert out is not None  # final_activation found a call, so there is an output tensor
    final = FinalActivation(kind, call.name, ordinal, dim, out.dim(),
                            int(out.shape[1]) if out.dim() >= 2 else None, paths)
    return _Run(final, call.name, ordinal, len(same))


def _is_activation_module(module: nn.Module) -> bool:
    return (type(module).__module__ == ACTIVATION_MODULES
            and next(module.parameters(recurse=False), None) is None
            and not list(module.children()))


def _module_paths(model: nn.Module, calls: dict[int, list[int]],
                  target: int | None) -> tuple[str, ...]:
    """Every attribute path of the activation module that produced the output in its only call
    this forward pass; () when a functional call did, or the module also ran elsewhere."""
    owner = next((mid for mid, outs in calls.items() if target in outs), None)
    if owner is None or len(calls[owner]) != 1:
        return ()
    return tuple(name for name, m in model.named_modules(remove_duplicate=False)
                 if id(m) == owner and name)


def _softmax_dim(model: nn.Module, paths: tuple[str, ...], traced: int | None) -> int | None:
    """The dimension a softmax or log_softmax ran over (its module's `dim`, or the call's)."""
    if paths:
        dim = getattr(model.get_submodule(paths[0]), "dim", None)
        if isinstance(dim, int):
            return dim
    return traced


class _DimTrace(ForwardTrace):
    """The tracer, also keeping the `dim` argument of each softmax-like call (by call index)."""

    def __init__(self) -> None:
        super().__init__()
        self.dims: dict[int, int] = {}

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = super().__torch_function__(func, types, args, kwargs)
        if op_name(func) in SOFTMAX_LIKE and self.calls and self.calls[-1].name in SOFTMAX_LIKE:
            dim = (kwargs or {}).get("dim", args[1] if len(args) > 1 else None)
            if isinstance(dim, int):
                self.dims[len(self.calls) - 1] = dim
        return out


# ------------------------------------------------------------------------------ the change
def replacement_module(kind: str, dim: int) -> nn.Module:
    """The module put in place of an activation module: `identity` also stands for removal."""
    if kind == "sigmoid":
        return nn.Sigmoid()
    if kind == "softmax":
        return nn.Softmax(dim=dim)
    if kind == "log_softmax":
        return nn.LogSoftmax(dim=dim)
    return nn.Identity()


def replacement_call(kind: str, dim: int) -> Callable[[torch.Tensor], torch.Tensor]:
    if kind == "sigmoid":
        return torch.sigmoid
    if kind == "softmax":
        return lambda x: torch.softmax(x, dim)
    if kind == "log_softmax":
        return lambda x: torch.log_softmax(x, dim)
    return lambda x: x


def module_edit(final: FinalActivation, kind: str, dim: int) -> Callable[[nn.Module], None]:
    """A model edit putting the replacement at every path of the final activation module."""
    def edit(model: nn.Module) -> None:
        new = replacement_module(kind, dim)
        for path in final.modules:
            parent_name, _, leaf = path.rpartition(".")
            parent = model.get_submodule(parent_name) if parent_name else model
            setattr(parent, leaf, new)
    return edit


class SwapCall(TorchFunctionMode):
    """Changes the `ordinal`-th top-level call of `name` in the forward pass it is entered
    around: its first tensor argument goes through `fn` instead (identity: skipped). One mode
    per forward pass: the count starts at its entry."""

    def __init__(self, name: str, ordinal: int, fn: Callable[[torch.Tensor], torch.Tensor]):
        super().__init__()
        self.name, self.ordinal, self.fn = name, ordinal, fn
        self.seen = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if op_name(func) == self.name:
            k, self.seen = self.seen, self.seen + 1
            if k == self.ordinal:
                x = args[0] if args else kwargs.get("input", kwargs.get("self"))
                if isinstance(x, torch.Tensor):
                    return self.fn(x)
        return func(*args, **kwargs)


def call_mode(final: FinalActivation, kind: str, dim: int) -> Callable[[], Any]:
    """A forward_mode factory: a fresh SwapCall for each forward pass."""
    fn = replacement_call(kind, dim)

    @contextlib.contextmanager
    def mode() -> Iterator[None]:
        with SwapCall(final.name, final.ordinal, fn):
            yield

    return mode
