"""Wiring: parameters that cannot learn (frozen, missing from the optimizer, never reached by a
gradient, in a group with learning rate 0), and layers whose units stay identical."""

from __future__ import annotations

from typing import Any

import torch

from advisor.experiments.training import TrainRecord
from advisor.facts.initialisation import outputs_ignore_inputs
from advisor.probing.batches import first_tensor, forward
from advisor.probing.collectors.model import identical_rows
from advisor.probing.context import ProbeContext
from advisor.probing.data_scan import to_numpy

MIN_BACKWARDS = 3


def observe_wiring(ctx: ProbeContext, rec: TrainRecord | None) -> None:
    """Parameters that never get a gradient or cannot change. (Parameters missing from the
    user's optimizer need no training: the runner measures them in the model phase.)"""
    obs = ctx.obs
    if rec is None or rec.model is None or rec.backward_steps < MIN_BACKWARDS:
        return  # too few completed backward passes to say a tensor never gets a gradient
    model, opt = rec.model, rec.optimizer
    named = list(model.named_parameters())
    tracked = {n for n in rec.names}
    no_grad = [rec.names[i] for i in range(len(rec.names)) if i not in rec.ever_grad]
    obs.set("wiring.params_without_grad", len(no_grad))
    held = {id(p) for g in opt.param_groups for p in g["params"]}
    zero_lr = _zero_rate_params(ctx)
    untrained = []
    for name, p in named:
        if (not p.requires_grad or id(p) not in held or name in zero_lr
                or (name in tracked and name in no_grad)):
            untrained.append(name)
    obs.set("wiring.untrained_params", len(untrained))
    obs.details["untrained_params"] = untrained[:50]
    obs.details["params_without_grad"] = no_grad[:50]
    obs.details["frozen_params"] = [n for n, p in named if not p.requires_grad][:50]


def _zero_rate_params(ctx: ProbeContext) -> set[str]:
    """Names of the parameters in an optimizer group whose rate is 0 as configured.

    Read from a fresh copy built without the scheduler: a schedule that ends at 0 (cosine to
    zero at the end of the run) trained the parameters before, and a warmup starts at a small
    rate that is not the configured one."""
    fresh = ctx.build(scheduler=False)
    names = {id(p): n for n, p in fresh.model.named_parameters()}
    return {names[id(p)] for g in fresh.optimizer.param_groups for p in g["params"]
            if _lr(g) == 0.0 and id(p) in names}


def _lr(group: dict[str, Any]) -> float:
    lr = group.get("lr", 1.0)
    return float(lr.item() if isinstance(lr, torch.Tensor) else lr)


def observe_symmetry(ctx: ProbeContext, rec: TrainRecord | None) -> None:
    """model.symmetric_init: a hidden layer whose rows are identical at initialisation and are
    still identical after the training run (nothing downstream broke the symmetry).

    The output layer is exempt: each output unit receives its own error signal, so identical
    (e.g. zero-initialised) output rows separate at the first step. Without a training run the
    initial check alone decides."""
    candidates = [n for n in ctx.obs.details.get("identical_row_layers", [])
                  if n != ctx.structure.output_module]
    weight_only = [n for n in ctx.obs.details.get("identical_weight_layers", [])
                   if n != ctx.structure.output_module]
    if not candidates:
        blind = bool(weight_only) and outputs_blind_to_inputs(ctx) is True
        ctx.obs.set("model.symmetric_init", blind)
        if blind:
            ctx.obs.details["symmetric_layers"] = weight_only
            ctx.obs.details["symmetric_evidence"] = ("constant weights at initialisation; the "
                                                     "model's outputs do not depend on its inputs")
        return
    if rec is None or rec.model is None or rec.steps < 2 or rec.error is not None:
        ctx.obs.set("model.symmetric_init", True)
        ctx.obs.details["symmetric_layers"] = candidates
        return
    modules = dict(rec.model.named_modules())
    still = [n for n in candidates if n in modules and identical_rows(modules[n], rtol=1e-4)]
    ctx.obs.set("model.symmetric_init", bool(still))
    ctx.obs.details["symmetric_layers"] = still


@torch.no_grad()
def outputs_blind_to_inputs(ctx: ProbeContext) -> bool | None:
    """The freshly initialised model (eval mode: no dropout noise) gives every sample of the
    first batch the same output (advisor.facts.initialisation.outputs_ignore_inputs).

    Constant weights in a hidden layer are harmless on a residual branch (zero-initialised
    LoRA or last-in-branch layers: the input passes around them) and fatal on the only path
    (nothing about the input reaches the output); this tells the two apart at initialisation,
    where identical rows after training cannot: random biases make the rows drift apart."""
    batches = ctx.train_eval_batches
    if not batches:
        return None
    batch = ctx.on_device(batches[0])
    model = ctx.fresh_model()
    model.eval()
    outputs, _ = forward(model, batch, ctx.setup.step)
    out, x = first_tensor(outputs), first_tensor(batch)
    if out is None or x is None or x.layout != torch.strided:
        return None
    return outputs_ignore_inputs(to_numpy(out.float()), to_numpy(x.float()))
