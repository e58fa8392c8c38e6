"""Where a NaN or Inf first appears: the module and the operation, by replaying the failing step.

Only after the training run has seen a non-finite loss or gradient (the checks are costly): the
failing batch is replayed through the step loop as one step on the training copy (restored to
the weights before the bad update when the gradients were the first to turn non-finite). The
replay's forward runs with a hook on every module (`NonfiniteOrigin`) and the op tracer on, and
the first module and op whose output is non-finite while its inputs were finite are reported. A
gradient that turns non-finite with a finite loss is localised with
`torch.autograd.detect_anomaly`, whose error names the backward op.
"""

from __future__ import annotations

import math
import re
import warnings
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

from advisor.experiments.loop import StepOutput, run_steps
from advisor.experiments.recipe import Trainee
from advisor.experiments.steps import loss_value
from advisor.experiments.training import TrainRecord
from advisor.facts import Judgement
from advisor.instruments.nonfinite import NonfiniteOrigin, holds_nonfinite
from advisor.probing.batches import forward, split_pair
from advisor.probing.context import ProbeContext
from advisor.probing.trace import op_name


class FirstNonfiniteOp(TorchFunctionMode):
    """The first op that turned finite inputs into a non-finite output."""

    def __init__(self) -> None:
        super().__init__()
        self.op: str | None = None

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if self.op is None and holds_nonfinite(out) and not holds_nonfinite(args) \
                and not holds_nonfinite(kwargs):
            self.op = op_name(func)
        return out


def localize(ctx: ProbeContext, rec: TrainRecord) -> Judgement:
    """act.nonfinite_module (and details of the op) after a non-finite loss or gradient."""
    j = Judgement()
    if rec.nonfinite_batch is None or rec.model is None:
        return j
    model = rec.model
    if rec.first_nonfinite_step is None and rec.pre_step_state is not None:
        model.load_state_dict(rec.pre_step_state)
    batch = rec.nonfinite_batch
    if _inputs_nonfinite(batch):
        j.facts["act.nonfinite_module"] = "input"
        j.details["nonfinite_origin"] = "the input batch holds NaN/Inf"
        return j
    bad_params = [n for n, p in model.named_parameters() if holds_nonfinite(p.detach())]
    if bad_params:
        j.details["nonfinite_parameters"] = bad_params[:20]
    found: dict[str, Any] = {}
    trainee = Trainee(model, rec.optimizer)  # replayed, never stepped

    def replay(t: Trainee, b: Any) -> StepOutput:
        found["module"], found["op"] = _forward_origin(ctx, t.model, b)
        if found["module"] is None:
            found["backward"] = _backward_origin(ctx, t.model, b)
            if found["backward"] is None:
                found["loss"] = loss_value(ctx.loss(t.model, b)[0])
        return StepOutput(0.0)

    run_steps(trainee, iter([batch]), 1, replay)
    if found.get("module") is not None:
        j.facts["act.nonfinite_module"] = found["module"]
        j.details["nonfinite_op"] = found["op"]
        return j
    origin = found.get("backward")
    if origin:
        j.facts["act.nonfinite_module"] = "loss_fn" if origin.get("in_loss") else "backward"
        j.details["nonfinite_op"] = origin.get("op")
    elif "loss" in found and not math.isfinite(found["loss"]):
        j.facts["act.nonfinite_module"] = "loss_fn"
    return j


def _inputs_nonfinite(batch: Any) -> bool:
    try:
        inputs, _ = split_pair(batch)
    except Exception:
        return False
    return holds_nonfinite(inputs)


def _forward_origin(ctx: ProbeContext, model: torch.nn.Module,
                    batch: Any) -> tuple[str | None, str | None]:
    origin, tracer = NonfiniteOrigin(), FirstNonfiniteOp()
    origin.attach(model)
    try:
        with torch.no_grad(), tracer:
            forward(model, batch, ctx.setup.step)
    except Exception:
        pass
    finally:
        origin.detach()
    return origin.module, tracer.op


def _backward_origin(ctx: ProbeContext, model: torch.nn.Module,
                     batch: Any) -> dict[str, Any] | None:
    model.zero_grad(set_to_none=True)
    try:
        with warnings.catch_warnings():  # anomaly mode's own warnings are not the user's
            warnings.simplefilter("ignore")
            return _anomaly_backward(ctx, model, batch)
    finally:
        model.zero_grad(set_to_none=True)


def _anomaly_backward(ctx: ProbeContext, model: torch.nn.Module,
                      batch: Any) -> dict[str, Any] | None:
    try:
        with torch.autograd.detect_anomaly(check_nan=True):
            loss, _, _ = ctx.loss(model, batch)
            if holds_nonfinite(loss.detach()):
                return {"op": None, "in_loss": True}
            loss.backward()
    except RuntimeError as exc:
        m = re.search(r"Function '(\w+)' returned nan", str(exc))
        if m:
            return {"op": m.group(1), "in_loss": False}
        return None
    return None
