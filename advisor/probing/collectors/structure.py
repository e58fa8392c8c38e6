"""One traced forward pass and loss call on the first batch, before any training.

It reveals what the module tree cannot: the op that produces the output (the final activation,
functional calls included), what feeds each dropout, the order in which weight layers run, the
loss function reached by the loss callable, the task the targets imply, output and target shapes,
the loss's reduction, and the initial loss against chance.

Measuring only: the judgements (task, dropout, initial loss against chance, reduction, shapes
that broadcast) are the pure functions of advisor.facts.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import torch
from torch import nn

from advisor.facts import task as task_facts
from advisor.facts.dropout import judge_traced_dropout
from advisor.facts.initial_loss import judge_initial_loss, reduction_from_doubling
from advisor.facts.shapes import shapes_broadcast_silently as broadcast_silently
from advisor.facts.task import judge_task
from advisor.probing.batches import first_tensor, forward, split_pair
from advisor.probing.collectors.loss import (
    LossTrace,
    TaskInfo,
    ignore_index,
    loss_kind,
    loss_value,
)
from advisor.probing.collectors.model import WEIGHT_LAYERS, architecture, module_dropout_after_relu
from advisor.probing.context import ProbeContext, Structure
from advisor.probing.data_scan import to_numpy
from advisor.probing.trace import ForwardTrace

HOOKED = (*WEIGHT_LAYERS, nn.RNNBase, nn.Embedding, nn.MultiheadAttention)


def trace_forward(ctx: ProbeContext, batch: Any) -> tuple[Any, Any, ForwardTrace]:
    """Forward the batch through a scratch copy with the tracer and module hooks on."""
    model = ctx.fresh_model()
    order: list[str] = []
    handles = []
    for name, module in model.named_modules():
        if isinstance(module, HOOKED):
            def hook(mod: nn.Module, args: Any, out: Any, name: str = name) -> None:
                if name not in order:
                    order.append(name)
            handles.append(module.register_forward_hook(hook))
    norm_values: list[int] = []
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            handles.append(module.register_forward_pre_hook(
                lambda mod, args: norm_values.append(values_per_channel(args))))
    tracer = ForwardTrace()
    try:
        with tracer:
            outputs, targets = forward(model, batch, ctx.setup.step)
    finally:
        for h in handles:
            h.remove()
    ctx.structure = _structure(model, tracer, outputs, order)
    if norm_values:
        ctx.obs.set("model.batchnorm_min_values", min(norm_values))
    return outputs, targets, tracer


def values_per_channel(args: Any) -> int:
    """Values one BatchNorm channel normalises over in training mode: every sample and every
    position of it (N*H*W for an image), so a batch of one image still has H*W values."""
    x = first_tensor(args)
    if x is None or x.dim() < 2 or x.shape[1] == 0:
        return 0
    return int(x.numel() // x.shape[1])


def _structure(model: nn.Module, tracer: ForwardTrace, outputs: Any,
               order: list[str]) -> Structure:
    out = first_tensor(outputs)
    final, final_idx = final_activation(tracer, out)
    sites = tracer.activation_sites()
    final_site = next((k for k, (idx, _, _) in enumerate(sites) if idx == final_idx), None)
    modules = dict(model.named_modules())
    weight_order = [n for n in order if isinstance(modules.get(n), WEIGHT_LAYERS)]
    first = modules.get(weight_order[0]) if weight_order else None
    layout = "channel" if isinstance(first, (nn.Conv1d, nn.ConvTranspose1d)) else "last"
    return Structure(exec_order=weight_order, activation_sites=sites, final_activation=final,
                     final_site=final_site,
                     output_module=weight_order[-1] if weight_order else None,
                     input_layout=layout)


JOINS = {"cat", "concat", "concatenate", "stack", "hstack", "vstack", "dstack", "column_stack"}
"""Ops that put several tensors side by side: the output's activation is that of its parts."""


def final_activation(tracer: ForwardTrace, out: torch.Tensor | None) -> tuple[str, int | None]:
    """(model.final_activation, call index of it) for the model's output, following the op that
    produced it: through reshapes and copies (the tracer), and through a join (`torch.cat`,
    `torch.stack`) to the parts it joined. Parts that all end in the same activation give it;
    parts that disagree, or one without an activation, give 'other' or 'none' as they would
    alone."""
    found = tracer.final_activation(out)
    if out is None or found[0] != "none":
        return found
    idx, name = tracer.source_op(out)
    if idx is None or name not in JOINS:
        return found
    parts = []
    for tensor_id in tracer.calls[idx].inputs:
        src = tracer.producer(tensor_id, idx)
        if src is None:
            return found
        parts.append(_activation_of(tracer, src))
    kinds = {kind for kind, _ in parts}
    if len(kinds) == 1 and "none" not in kinds:
        return parts[0]
    if "none" not in kinds:
        return "other", parts[0][1]
    return found


def _activation_of(tracer: ForwardTrace, call_idx: int) -> tuple[str, int | None]:
    """The activation a call's output ends in, looking through reshapes like the tracer."""
    outputs = tracer.calls[call_idx].outputs
    if not outputs:
        return "none", None
    kept = next((t for t in tracer.keep if id(t) == outputs[0]), None)
    return tracer.final_activation(kept) if kept is not None else ("none", None)


def observe_structure(ctx: ProbeContext, tracer: ForwardTrace, model: nn.Module) -> None:
    """Facts from the traced forward: final activation, dropout, architecture."""
    obs = ctx.obs
    s = ctx.structure
    obs.set("model.final_activation", s.final_activation)
    obs.apply(judge_traced_dropout(tracer.dropouts(), obs.get("model.dropout_max"),
                                              module_dropout_after_relu(model)))
    obs.set("model.architecture",
            architecture(model, tracer.uses("scaled_dot_product_attention",
                                            "multi_head_attention")))
    hidden = tracer.hidden_activation(
        next((idx for idx, _, _ in [s.activation_sites[s.final_site]]), None)
        if s.final_site is not None else None)
    if hidden:
        obs.set("model.hidden_activation", hidden)
    obs.details["forward_ops"] = _op_summary(tracer)


def _op_summary(tracer: ForwardTrace, limit: int = 60) -> list[str]:
    names = [c.name for c in tracer.calls if not c.name.startswith("__")]
    out: list[str] = []
    for n in names:
        if out and out[-1].split(" x")[0] == n:
            head, _, count = out[-1].partition(" x")
            out[-1] = f"{head} x{int(count or 1) + 1}"
        else:
            out.append(n)
    return out[:limit]


def observe_loss(ctx: ProbeContext, outputs: Any, targets: Any,
                 all_targets: torch.Tensor | None) -> TaskInfo:
    """The loss kind (from the loss callable's calls), the task, and shape agreement."""
    obs = ctx.obs
    tracer = LossTrace()
    with tracer:
        loss = ctx.setup.loss_fn(outputs, targets)
    kind = loss_kind(ctx.setup.loss_fn, tracer)
    obs.set("loss_fn.kind", kind)
    out = first_tensor(outputs)
    t = targets if isinstance(targets, torch.Tensor) else first_tensor(targets)
    reference = all_targets if all_targets is not None else t
    if reference is None:
        reference = torch.zeros(0)
    task = task_facts.infer_task(
        ctx.setup.task, kind, None if out is None else tuple(out.shape), to_numpy(reference),
        ignore_index(ctx.setup.loss_fn, tracer), None if t is None else tuple(t.shape))
    obs.apply(judge_task(task))
    if out is not None and t is not None:
        obs.details["output_shape"] = list(out.shape)
        obs.details["target_shape"] = list(t.shape)
        mismatch = shapes_broadcast_silently(out, t, kind)
        if mismatch and loss_handles_shapes(ctx.setup.loss_fn, outputs, targets, loss):
            mismatch = False
            obs.details["target_shape_handled_by_loss"] = True
        obs.set("wiring.target_shape_mismatch", mismatch)
    obs.details["first_loss"] = loss_value(loss)
    return task


@torch.no_grad()
def loss_handles_shapes(loss_fn: Any, outputs: Any, targets: Any, loss: Any) -> bool:
    """The loss callable gives the same value with output and target in one shape (the
    targets in the output's, or the output in the targets'): it aligns the shapes itself
    (squeezes the channel of a one-channel mask) or nothing broadcasts at this batch size, so
    the shapes that differ at its door do no harm. Only for a single output and target tensor
    of the same number of values."""
    if not (isinstance(outputs, torch.Tensor) and isinstance(targets, torch.Tensor)) \
            or outputs.numel() != targets.numel() or outputs.shape == targets.shape:
        return False
    before = loss_value(loss)
    if not math.isfinite(before):
        return False
    for out, target in ((outputs, targets.reshape(outputs.shape)),
                        (outputs.reshape(targets.shape), targets)):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                after = loss_value(loss_fn(out, target))
        except Exception:  # the loss refuses this shape: try the other alignment
            continue
        if math.isclose(before, after, rel_tol=1e-5, abs_tol=1e-8):
            return True
    return False


def shapes_broadcast_silently(out: torch.Tensor, target: torch.Tensor, kind: str) -> bool:
    """Output and target shapes differ yet broadcast (judged by
    advisor.facts.shapes.shapes_broadcast_silently on the shapes)."""
    return broadcast_silently(tuple(out.shape), tuple(target.shape), kind,
                              torch.is_floating_point(target))


@torch.no_grad()
def initial_loss(ctx: ProbeContext, batches: list[Any]) -> float | None:
    """Mean loss over the first batches before any update, in training mode."""
    model = ctx.fresh_model()
    values = []
    for b in batches:
        loss, _, _ = ctx.loss(model, ctx.on_device(b))
        values.append(loss_value(loss))
    finite = [v for v in values if math.isfinite(v)]
    if not values:
        return None
    return sum(finite) / len(finite) if len(finite) == len(values) else math.nan


def observe_initial_loss(ctx: ProbeContext, value: float | None, task: TaskInfo) -> None:
    """loss.initial and the initial loss against chance (advisor.facts.initial_loss)."""
    ctx.obs.apply(judge_initial_loss(value, task))


@torch.no_grad()
def loss_reduction(ctx: ProbeContext, batch: Any) -> str | None:
    """'mean' or 'sum': the loss of a batch stacked twice is the same (mean) or double (sum).

    Eval mode makes the outputs for the repeated samples identical, so the ratio is exact."""
    if ctx.setup.step is not None:
        return None
    try:
        inputs, targets = split_pair(batch)
    except Exception:
        return None
    if not (isinstance(inputs, torch.Tensor) and isinstance(targets, torch.Tensor)):
        return None
    model = ctx.fresh_model()
    model.eval()
    x, y = ctx.on_device(inputs), ctx.on_device(targets)
    one = loss_value(ctx.setup.loss_fn(model(x), y))
    two = loss_value(ctx.setup.loss_fn(model(torch.cat([x, x])), torch.cat([y, y])))
    return reduction_from_doubling(one, two)
