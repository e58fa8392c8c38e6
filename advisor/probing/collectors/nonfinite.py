"""Where a NaN or Inf first appears: the module and the operation.

Only after the run has seen a non-finite loss or gradient (the checks are expensive): the failing
batch is forwarded again with a hook on every module and the op tracer on, and the first module
and op whose output is non-finite while its inputs were finite are reported (HF's
DebugUnderflowOverflow idea). A gradient that turns non-finite with a finite loss is localized
with `torch.autograd.detect_anomaly`, whose error names the backward op.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from advisor.probing.batches import forward, split_pair
from advisor.probing.collectors.training import TrainRecord
from advisor.probing.context import ProbeContext
from advisor.probing.trace import op_name


def _nonfinite(obj: Any) -> bool:
    if isinstance(obj, torch.Tensor):
        return obj.is_floating_point() and not bool(torch.isfinite(obj).all())
    if isinstance(obj, (list, tuple)):
        return any(_nonfinite(x) for x in obj)
    if isinstance(obj, dict):
        return any(_nonfinite(x) for x in obj.values())
    return False


class FirstNonfiniteOp(TorchFunctionMode):
    """The first op that turned finite inputs into a non-finite output."""

    def __init__(self) -> None:
        super().__init__()
        self.op: str | None = None

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if self.op is None and _nonfinite(out) and not _nonfinite(args) \
                and not _nonfinite(kwargs):
            self.op = op_name(func)
        return out


def localize(ctx: ProbeContext, rec: TrainRecord) -> None:
    """Fill act.nonfinite_module (and details of the op) after a non-finite loss/gradient."""
    if rec.nonfinite_batch is None or rec.model is None:
        return
    obs = ctx.obs
    model = rec.model
    if rec.first_nonfinite_step is None and rec.pre_step_state is not None:
        model.load_state_dict(rec.pre_step_state)
    batch = rec.nonfinite_batch
    if _inputs_nonfinite(batch):
        obs.set("act.nonfinite_module", "input")
        obs.details["nonfinite_origin"] = "the input batch holds NaN/Inf"
        return
    bad_params = [n for n, p in model.named_parameters() if _nonfinite(p.detach())]
    if bad_params:
        obs.details["nonfinite_parameters"] = bad_params[:20]
    module, op = _forward_origin(ctx, model, batch)
    if module is not None:
        obs.set("act.nonfinite_module", module)
        obs.details["nonfinite_op"] = op
        return
    origin = _backward_origin(ctx, model, batch)
    if origin:
        obs.set("act.nonfinite_module", "loss_fn" if origin.get("in_loss") else "backward")
        obs.details["nonfinite_op"] = origin.get("op")
    elif not _nonfinite(ctx.loss(model, batch)[0].detach()):
        return
    else:
        obs.set("act.nonfinite_module", "loss_fn")


def _inputs_nonfinite(batch: Any) -> bool:
    try:
        inputs, _ = split_pair(batch)
    except Exception:
        return False
    return _nonfinite(inputs)


def _forward_origin(ctx: ProbeContext, model: nn.Module, batch: Any) -> tuple[str | None,
                                                                              str | None]:
    """The deepest module that turned finite inputs into a non-finite output (hooks complete
    inner modules first), and the first such torch op. The root counts too, for functional
    code in its own forward; it is named by its class."""
    origins: list[str] = []
    handles = []
    for name, module in model.named_modules():
        def hook(mod: nn.Module, args: Any, out: Any, name: str = name) -> None:
            if not origins and _nonfinite(out) and not _nonfinite(args):
                origins.append(name or type(mod).__name__)
        handles.append(module.register_forward_hook(hook))
    tracer = FirstNonfiniteOp()
    try:
        with torch.no_grad(), tracer:
            forward(model, batch, ctx.setup.step)
    except Exception:
        pass
    finally:
        for h in handles:
            h.remove()
    return (origins[0] if origins else None), tracer.op


def _backward_origin(ctx: ProbeContext, model: nn.Module, batch: Any) -> dict[str, Any] | None:
    model.zero_grad(set_to_none=True)
    try:
        with warnings.catch_warnings():  # anomaly mode's own warnings are not the user's
            warnings.simplefilter("ignore")
            return _anomaly_backward(ctx, model, batch)
    finally:
        model.zero_grad(set_to_none=True)


def _anomaly_backward(ctx: ProbeContext, model: nn.Module, batch: Any) -> dict[str, Any] | None:
    try:
        with torch.autograd.detect_anomaly(check_nan=True):
            loss, _, _ = ctx.loss(model, batch)
            if _nonfinite(loss.detach()):
                return {"op": None, "in_loss": True}
            loss.backward()
    except RuntimeError as exc:
        m = re.search(r"Function '(\w+)' returned nan", str(exc))
        if m:
            return {"op": m.group(1), "in_loss": False}
        return None
    return None
