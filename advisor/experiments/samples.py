"""Which dimension of a batch holds the samples, measured on the model, and how to cut or
double a batch along it.

The first dimension is the samples in most programs, but not in sequence-major ones: a word
language model in the style of pytorch/examples hands over `(seq, batch)` token tensors and
targets flattened to `seq * batch`. Cutting the first dimension there cuts time steps, and the
step fails (or memorises a few time steps instead of a few sequences).

The samples are the dimension along which the model keeps samples apart: change the first
slice of the main input along it and only that sample's outputs change (a small share of
them). Along a time or feature dimension the change spreads to every output (a recurrent state,
attention, a dense layer). Measured at fixed weights in eval mode, with the random number
generator reset before each forward (a VAE samples noise), on fresh copies (a model that
carries its hidden state between calls starts the same each time).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from advisor.probing.batches import first_tensor, forward, map_tensors, split_pair
from advisor.probing.context import ProbeContext

SEPARATE_SHARE = 0.5
"""Changing one slice along the sample dimension changes at most this share of the outputs."""
CLEARLY_FEWER = 2.0
"""Another dimension replaces the first only when its slice changes at most half as many
outputs (a recurrent net's memory of its first time step fades, so that step can look almost
separate; a convolution's receptive field keeps a border row's influence local)."""
RELATIVE_CHANGE = 1e-6
"""An output changed when it moved by more than this share of its size: above float rounding,
far below any real influence."""


def main_input(batch: Any, has_step: bool) -> torch.Tensor | None:
    """The first tensor of the inputs (of the whole batch when a `step` unpacks it)."""
    if not has_step:
        try:
            inputs, _ = split_pair(batch)
        except Exception:
            return None
        return first_tensor(inputs)
    return first_tensor(batch)


@torch.no_grad()
def sample_axis(ctx: ProbeContext, batch: Any) -> int | None:
    """The dimension of the main input that holds the samples, or None when no dimension keeps
    the samples apart (a whole graph, a batch of one) or the model cannot be run on the batch.

    Dimension 0 is kept when it separates the samples and no other dimension separates them
    clearly better; the share of outputs a slice changes is 1/batch along the samples."""
    x = main_input(batch, ctx.setup.step is not None)
    if x is None or x.dim() == 0 or x.is_sparse:
        return None
    base = _outputs(ctx, batch)
    if base is None:
        return None
    shares: dict[int, float] = {}
    for dim in range(x.dim()):
        if x.shape[dim] < 2:
            continue
        share = _changed_share(ctx, batch, x, dim, base)
        if share is not None and share <= SEPARATE_SHARE:
            shares[dim] = share
    if not shares:
        return None
    best = min(shares, key=lambda d: (shares[d], d))
    if 0 in shares and shares[best] * CLEARLY_FEWER >= shares[0]:
        return 0
    return best


def _outputs(ctx: ProbeContext, batch: Any) -> torch.Tensor | None:
    model = ctx.fresh_model()
    model.eval()
    try:
        with torch.random.fork_rng(devices=_rng_devices(ctx)):
            torch.manual_seed(0)
            out, _ = forward(model, ctx.on_device(batch), ctx.setup.step)
    except Exception:
        return None
    t = first_tensor(out)
    return None if t is None or t.is_sparse else t.detach().float()


def _rng_devices(ctx: ProbeContext) -> list[Any]:
    return [ctx.device] if ctx.device.type == "cuda" else []


def _changed_share(ctx: ProbeContext, batch: Any, x: torch.Tensor, dim: int,
                   base: torch.Tensor) -> float | None:
    """Share of the output elements that change when the first slice of `x` along `dim`
    changes."""
    changed = x.clone()
    first = changed.narrow(dim, 0, 1)
    if x.is_floating_point():
        first.add_(1.0 + first.abs())
    elif x.dtype == torch.bool:
        first.logical_not_()
    else:
        top = int(x.max()) + 1 if x.numel() else 1
        first.copy_((first + 1) % max(top, 2))
    out = _outputs(ctx, replace_tensor(batch, x, changed))
    if out is None or out.shape != base.shape or base.numel() == 0:
        return None
    differ = (out - base).abs() > RELATIVE_CHANGE * base.abs() + 1e-12
    return float(differ.float().mean())


def replace_tensor(obj: Any, old: torch.Tensor, new: torch.Tensor) -> Any:
    """`obj` with the tensor `old` (by identity) replaced by `new`, containers rebuilt."""
    return map_tensors(obj, lambda t: new if t is old else t)


class SampleLayout:
    """Where the samples are in every tensor of a batch: along `axis` of tensors that have the
    batch size there, or along the first dimension of tensors flattened from the main input's
    leading dimensions (targets `(seq * batch,)` of `(seq, batch)` inputs)."""

    def __init__(self, x: torch.Tensor, axis: int):
        self.axis = axis
        self.size = int(x.shape[axis])
        self.lead = tuple(int(s) for s in x.shape[:axis + 1])
        self.flat = math.prod(self.lead)

    def _apply(self, t: torch.Tensor, cut: Callable[[torch.Tensor, int], torch.Tensor]) -> Any:
        if t.is_sparse or t.dim() == 0:
            return t
        if t.dim() > self.axis and t.shape[self.axis] == self.size:
            return cut(t, self.axis)
        if self.axis > 0 and t.shape[0] == self.flat:
            rest = tuple(t.shape[1:])
            shaped = cut(t.reshape(*self.lead, *rest), self.axis)
            return shaped.reshape(-1, *rest)
        return t

    def take(self, batch: Any, n: int) -> Any:
        """The first n samples of every tensor that holds samples."""
        return map_tensors(batch, lambda t: self._apply(t, lambda u, d: u.narrow(d, 0, n)))

    def doubled(self, batch: Any) -> Any:
        """Every sample twice (the batch stacked on itself along the samples)."""
        return map_tensors(batch, lambda t: self._apply(t, lambda u, d: torch.cat([u, u], d)))


def layout(ctx: ProbeContext, batch: Any) -> SampleLayout | None:
    """The batch's sample layout, or None when no dimension holds the samples."""
    axis = sample_axis(ctx, batch)
    x = main_input(batch, ctx.setup.step is not None)
    if axis is None or x is None:
        return None
    return SampleLayout(x, axis)
