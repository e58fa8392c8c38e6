"""What the model computes, seen through `TorchFunctionMode`.

Module hooks miss the functional calls people write in `forward` (`F.relu(x)`,
`torch.sigmoid(self.fc(x))`, `x.softmax(1)`), so the probe watches torch functions instead: one
traced forward gives the data flow (which op produced the output, what feeds a dropout), and a
cheap recorder active on a few steps only (`advisor.instruments.activations`) gathers activation
statistics (dead ReLU units, saturated sigmoid/tanh units).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

RELU = {"relu", "relu_"}
SIGMOID = {"sigmoid", "sigmoid_"}
TANH = {"tanh", "tanh_"}
WATCHED = RELU | SIGMOID | TANH
ACTIVATIONS = {
    **{n: "relu" for n in RELU},
    **{n: "sigmoid" for n in SIGMOID},
    **{n: "tanh" for n in TANH},
    "softmax": "softmax", "_softmax": "softmax",
    "log_softmax": "log_softmax", "_log_softmax": "log_softmax",
}
OTHER_ACTIVATIONS = {
    "relu6", "elu", "elu_", "selu", "selu_", "celu", "gelu", "silu", "mish", "leaky_relu",
    "leaky_relu_", "prelu", "rrelu", "softplus", "softsign", "hardtanh", "hardtanh_",
    "hardsigmoid", "hardswish", "logsigmoid", "tanhshrink", "softmin", "glu", "exp", "clamp",
    "clip", "threshold", "normalize", "abs",
}
HIDDEN_FAMILY = {
    "relu": "relu", "relu_": "relu",
    "leaky_relu": "leaky_relu", "leaky_relu_": "leaky_relu", "prelu": "leaky_relu",
    "rrelu": "leaky_relu", "elu": "leaky_relu", "elu_": "leaky_relu", "selu": "leaky_relu",
    "celu": "leaky_relu", "gelu": "gelu", "silu": "gelu", "mish": "gelu",
    "sigmoid": "sigmoid", "sigmoid_": "sigmoid", "tanh": "tanh", "tanh_": "tanh",
    "relu6": "other", "softplus": "other", "hardtanh": "other", "hardswish": "other",
    "hardsigmoid": "other", "softsign": "other",
}
PASS_THROUGH = {
    "view", "reshape", "squeeze", "squeeze_", "unsqueeze", "flatten", "contiguous", "__getitem__",
    "permute", "transpose", "t", "float", "double", "half", "bfloat16", "to", "type", "clone",
    "view_as", "reshape_as", "narrow", "select", "expand", "expand_as", "dropout", "dropout_",
    "alpha_dropout", "feature_alpha_dropout", "dropout1d", "dropout2d", "dropout3d", "detach",
    "unflatten", "movedim", "swapaxes", "ravel", "chunk", "split", "unbind", "cpu", "cuda",
}
DROPOUT = {"dropout", "dropout_", "alpha_dropout", "feature_alpha_dropout", "dropout1d",
           "dropout2d", "dropout3d"}
CHANNEL_FIRST = ("conv", "batch_norm", "instance_norm", "group_norm", "max_pool", "avg_pool",
                 "adaptive_", "lp_pool")


def op_name(func: Any) -> str:
    name = getattr(func, "__name__", None) or str(func)
    return name


def _tensors(obj: Any) -> list[torch.Tensor]:
    if isinstance(obj, torch.Tensor):
        return [obj]
    if isinstance(obj, (list, tuple)):
        out: list[torch.Tensor] = []
        for x in obj:
            out += _tensors(x)
        return out
    if isinstance(obj, dict):
        return _tensors(list(obj.values()))
    return []


@dataclass
class Call:
    name: str
    inputs: list[int]
    outputs: list[int]
    p: float | None = None
    ndim: int = 0


class ForwardTrace(TorchFunctionMode):
    """Records every top-level torch call of one forward pass (nested calls are not seen)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[Call] = []
        self.keep: list[torch.Tensor] = []  # holding the outputs keeps their ids unique

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        name = op_name(func)
        if name == "__get__":
            return out
        ins = _tensors(args) + _tensors(kwargs)
        outs = _tensors(out)
        self.keep += outs
        p = None
        if name in DROPOUT:
            p = kwargs.get("p", args[1] if len(args) > 1 and isinstance(args[1], float) else 0.5)
        ndim = outs[0].dim() if outs else 0
        self.calls.append(Call(name, [id(t) for t in ins], [id(t) for t in outs], p, ndim))
        return out

    # ---------------------------------------------------------------------- data-flow queries
    def producer(self, tensor_id: int, before: int | None = None) -> int | None:
        """Index of the last call before `before` that produced the tensor."""
        end = len(self.calls) if before is None else before
        for i in range(end - 1, -1, -1):
            if tensor_id in self.calls[i].outputs:
                return i
        return None

    def source_op(self, tensor: torch.Tensor) -> tuple[int | None, str]:
        """The call that gave the tensor its values, looking through reshapes and copies."""
        idx = self.producer(id(tensor))
        while idx is not None:
            call = self.calls[idx]
            if call.name not in PASS_THROUGH or not call.inputs:
                return idx, call.name
            idx = self.producer(call.inputs[0], idx)
        return None, ""

    def final_activation(self, output: torch.Tensor | None) -> tuple[str, int | None]:
        """(model.final_activation value, index of that call) for the model's output."""
        if output is None:
            return "none", None
        idx, name = self.source_op(output)
        if name in ACTIVATIONS:
            return ACTIVATIONS[name], idx
        if name in OTHER_ACTIVATIONS:
            return "other", idx
        return "none", None

    def dropouts(self) -> list[tuple[float, str]]:
        """(p, name of the op feeding it) for every dropout applied in training mode."""
        found = []
        for i, call in enumerate(self.calls):
            if call.name in DROPOUT and call.p is not None:
                src = self.producer(call.inputs[0], i) if call.inputs else None
                found.append((float(call.p), self.calls[src].name if src is not None else ""))
        return found

    def activation_sites(self) -> list[tuple[int, str, str]]:
        """(call index, family, unit layout) of each ReLU/sigmoid/tanh call in order.

        The layout says what a unit is: 'channel' (a neuron of a convolution, after
        convolutions, norms and pooling) or 'last' (a feature, after linear layers)."""
        sites = []
        for i, call in enumerate(self.calls):
            if call.name in WATCHED:
                src = self.producer(call.inputs[0], i) if call.inputs else None
                src_name = self.calls[src].name if src is not None else ""
                layout = "channel" if src_name.startswith(CHANNEL_FIRST) else "last"
                sites.append((i, ACTIVATIONS[call.name], layout))
        return sites

    def hidden_activation(self, final_idx: int | None) -> str | None:
        counts: dict[str, int] = {}
        for i, call in enumerate(self.calls):
            if i == final_idx or call.name not in HIDDEN_FAMILY:
                continue
            fam = HIDDEN_FAMILY[call.name]
            counts[fam] = counts.get(fam, 0) + 1
        if not counts:
            return None
        return max(sorted(counts), key=lambda k: counts[k])

    def uses(self, *prefixes: str) -> bool:
        return any(c.name.startswith(prefixes) for c in self.calls)


def unit_activity(out: torch.Tensor, layout: str) -> torch.Tensor:
    """Per unit: was it active (> 0) anywhere in the batch? (a flat bool vector)

    A unit of a convolution is one neuron, a channel at one position ('channel' layout: every
    non-batch element); a unit after a linear layer is a feature of the last dimension, shared
    by all positions of a sequence ('last' layout)."""
    if out.dim() <= 1:
        return (out > 0).any().reshape(1)
    if layout == "channel":
        return (out.detach() > 0).any(0).reshape(-1)
    moved = out.detach().reshape(-1, out.shape[-1])
    return (moved > 0).any(0)


def saturated_fraction(out: torch.Tensor, family: str) -> float:
    """Share of outputs within 1e-2 of the function's bounds."""
    o = out.detach().float()
    if o.numel() == 0:
        return 0.0
    sat = (o < 0.01) | (o > 0.99) if family == "sigmoid" else o.abs() > 0.99
    return float(sat.float().mean())
