"""Wiring: parameters that cannot learn (frozen, missing from the optimizer, never reached by a
gradient, in a group with learning rate 0), and layers whose units stay identical."""

from __future__ import annotations

import copy
from typing import Any

import torch

from advisor.experiments.training import TrainRecord
from advisor.facts.frozen import trained_values
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
    chosen = frozen_by_choice(model, held)
    untrained = []
    for name, p in named:
        if name in chosen:
            continue
        if (not p.requires_grad or id(p) not in held or name in zero_lr
                or (name in tracked and name in no_grad)):
            untrained.append(name)
    obs.set("wiring.untrained_params", len(untrained))
    obs.details["untrained_params"] = untrained[:50]
    if chosen:
        obs.details["frozen_pretrained_params"] = sorted(chosen)[:50]
    obs.details["params_without_grad"] = no_grad[:50]
    obs.details["frozen_params"] = [n for n, p in named if not p.requires_grad][:50]


def frozen_by_choice(model: torch.nn.Module, held: set[int]) -> set[str]:
    """Names of parameters frozen on purpose: requires_grad=False, left out of an optimizer that
    does train something, in a frozen part of which some layer holds trained values (not what
    the layer's own initialisation draws: `advisor.facts.frozen`), i.e. a pretrained part kept
    fixed. Frozen parameters the optimizer holds, a whole model frozen, and frozen layers that
    all sit at their random initialisation stay untrained."""
    if not any(p.requires_grad and id(p) in held for p in model.parameters()):
        return set()
    frozen: set[str] = set()
    pretrained = False
    for prefix, module in model.named_modules():
        own = [(n, p) for n, p in module.named_parameters(recurse=False)
               if not p.requires_grad and id(p) not in held]
        frozen.update(f"{prefix}.{n}" if prefix else n for n, _ in own)
        if own and not pretrained:
            pretrained = bool(_holds_trained_values(module, own))
    return frozen if pretrained else set()


def _holds_trained_values(module: torch.nn.Module,
                          own: list[tuple[str, torch.nn.Parameter]]) -> bool | None:
    """Whether the module's frozen parameters differ from a fresh reset of the module (None:
    the module has no reset_parameters, or its reset needs more than itself)."""
    if not callable(getattr(module, "reset_parameters", None)):
        return None
    try:
        fresh = copy.deepcopy(module)
        with torch.no_grad():
            fresh.reset_parameters()
        again = dict(fresh.named_parameters(recurse=False))
        values = torch.cat([p.detach().float().flatten().cpu() for _, p in own])
        drawn = torch.cat([again[n].detach().float().flatten().cpu() for n, _ in own])
    except Exception:
        return None
    return trained_values(values.numpy(), drawn.numpy())


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
        constant = nonzero_constant_layers(ctx, weight_only)
        if constant:  # equal non-zero weights are never a deliberate initialisation
            ctx.obs.set("model.symmetric_init", True)
            ctx.obs.details["symmetric_layers"] = constant
            ctx.obs.details["symmetric_evidence"] = ("identical non-zero weights in every unit "
                                                     "of a hidden layer at initialisation")
            return
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
def nonzero_constant_layers(ctx: ProbeContext, names: list[str]) -> list[str]:
    """The layers among `names` whose identical weight rows are not all zero.

    All-zero weights are a known deliberate choice on a residual branch (a zero-initialised
    LoRA or last-in-branch layer), so they need the outputs check; the same non-zero value in
    every unit (a constant fill) only makes the units move together and is never chosen."""
    if not names:
        return []
    modules = dict(ctx.fresh_model().named_modules())
    return [n for n in names if n in modules
            and isinstance(getattr(modules[n], "weight", None), torch.Tensor)
            and bool(modules[n].weight.detach().abs().amax() > 0)]


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
