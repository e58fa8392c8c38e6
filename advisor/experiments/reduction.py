"""The loss's reduction measured on the user's own loss path: the loss of a batch and of the
same batch with every sample twice, at fixed weights.

The same (mean) or double (sum): measured through whatever the setup computes the loss with (a
`step`, tuple inputs, a two-term loss such as a VAE's reconstruction + KL), because the batch
is doubled along the dimension that holds the samples (`advisor.experiments.samples`), not
assumed to be an (inputs, targets) pair of tensors. Eval mode and a reset random generator make
the outputs of the repeated samples the same as the originals'.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from advisor.experiments.samples import layout
from advisor.facts.initial_loss import reduction_from_doubling
from advisor.probing.batches import first_tensor
from advisor.probing.collectors.loss import loss_value
from advisor.probing.context import ProbeContext


@dataclass
class Reduction:
    """'mean' or 'sum' (None: not measurable), the samples in the batch and the number of
    target elements its loss sums over (for a per-element loss of a summed one)."""

    kind: str | None
    samples: int | None = None
    elements: int | None = None


@torch.no_grad()
def measure_reduction(ctx: ProbeContext, batch: Any) -> Reduction:
    found = layout(ctx, batch)
    if found is None:
        return Reduction(None)
    try:
        one, targets = _loss(ctx, batch)
        two, _ = _loss(ctx, found.doubled(batch))
    except Exception:  # the user's code raised: the initial-loss phase reports it
        return Reduction(None)
    return Reduction(reduction_from_doubling(one, two), found.size, _elements(ctx, targets))


def _loss(ctx: ProbeContext, batch: Any) -> tuple[float, Any]:
    model = ctx.fresh_model()
    model.eval()
    devices = [ctx.device] if ctx.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(0)
        loss, _, targets = ctx.loss(model, ctx.on_device(batch))
    return loss_value(loss), targets


def _elements(ctx: ProbeContext, targets: Any) -> int | None:
    """Target elements a summed loss adds up: class indices equal to ignore_index add
    nothing."""
    t = first_tensor(targets)
    if t is None or t.numel() == 0:
        return None
    task = ctx.task
    if task is not None and task.class_indices and not t.is_floating_point():
        return int((t != task.ignore_index).sum()) or None
    return int(t.numel())
