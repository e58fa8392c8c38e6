"""What a watch saw -> plain-number records -> facts -> diagnoses -> the probe's report type.

The judgements are the pure functions of `advisor.facts` (`judge_loop` for the loop's wiring,
`judge_training` and `judge_gradient_growth` for the passive symptoms the probe also measures),
and the diagnoses come from the same engine and knowledge base, so a watch report renders,
stores and re-diagnoses (`advisor diagnose REPORT.json`) exactly like a probe report.
"""

from __future__ import annotations

import gc
import math
import warnings
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from advisor.facts.gradients_growth import judge_gradient_growth
from advisor.facts.loop import LoopMeasurements, judge_loop
from advisor.facts.training import TrainingMeasurements, judge_training
from advisor.probing.api import diagnose, sanitize
from advisor.probing.collectors.model import observe_optimizer
from advisor.probing.device import describe
from advisor.probing.facts import Observations
from advisor.report.probe import ProbeReport
from advisor.watching.models import mode_dependent_layers
from advisor.watching.observer import LoopObserver

EARLY_STEPS = 3  # the loss before training is estimated from the first steps' losses


@dataclass
class Ending:
    """How the watched code ended: "finished", "stopped" (the watch had seen enough),
    "exited" (sys.exit with a non-zero code), "crashed", "interrupted" (Ctrl-C), "capped"
    (the budget ran out), with the error's type, message and FILE:LINE in the user's code."""

    how: str = "finished"
    exit_code: int | None = None
    error_type: str | None = None
    error_message: str | None = None
    where: str | None = None
    notes: list[str] = field(default_factory=list)


def loop_measurements(obs: LoopObserver, ending: Ending) -> LoopMeasurements:
    """The observer's counts in the terms of `advisor.facts.loop`."""
    c = obs.counts
    optimizers = _live_optimizers(obs)
    opt_tensors = {id(p): p for s in optimizers for p in s.refresh()}
    with_grad = set(obs.grad_seen).union(*(s.grad_seen for s in optimizers))
    models = [r for r in obs.roots.values() if r.kind == "model"]
    model_tensors = {id(p) for r in models for p in r.params}
    trained = {pid for pid in model_tensors if pid in with_grad} | _grads_now(models)
    return replace(
        obs.counts,  # what the hooks counted; below, what is known only at the end
        optimizer_steps=obs.primary.steps if obs.primary else 0,
        optimizers=len(optimizers),
        backwards_per_step=list(c.backwards_per_step), eval_switch_steps=list(c.eval_switch_steps),
        lrs=list(c.lrs),
        mode_dependent_layers=sorted({n for r in models for n in mode_dependent_layers(r.module)}),
        scheduler_before_optimizer_warned=obs.scheduler_warned,
        loader_lengths=_loader_lengths(),
        optimizer_tensors=len(opt_tensors),
        optimizer_tensors_with_grad=sum(1 for pid in opt_tensors if pid in with_grad),
        model_tensors_not_in_optimizer=(
            sum(1 for pid in trained if pid not in opt_tensors) if optimizers else 0),
        optimizer_tensors_outside_models=(
            sum(1 for pid in opt_tensors if pid not in model_tensors) if models else 0),
        error_type=ending.error_type, error_message=ending.error_message,
        stopped_by_watch=ending.how == "stopped")


def training_measurements(obs: LoopObserver) -> TrainingMeasurements:
    """The passive record, as the probe's training run gives it to `judge_training`."""
    obs.losses.flush()
    losses = list(obs.losses.values)
    per, global_ = obs.stats.series()
    weights = {n for r in obs.roots.values() for n, p in r.module.named_parameters()
               if p.dim() >= 2}
    medians = {}
    for name, vals in per.items():
        finite = sorted(v for v in vals if math.isfinite(v))
        if finite and name in weights:
            medians[name] = finite[len(finite) // 2]
    early = [v for v in losses[:EARLY_STEPS] if math.isfinite(v)]
    first_bad = next((s for s, v in zip(obs.losses.steps, losses, strict=True)
                      if not math.isfinite(v)), None)
    grad_bad = next((s for s, g in zip(obs.stats.norm_steps, global_, strict=True)
                     if not math.isfinite(g)), None)
    return TrainingMeasurements(
        losses=losses, planned=max(len(losses), obs.options.steps) if obs.capped else len(losses),
        capped=obs.capped,
        initial_loss=sum(early) / len(early) if early else None,
        first_nonfinite_step=first_bad, val_points=list(obs.val_points),
        global_norms=global_, grad_nonfinite_step=grad_bad, layer_grad_medians=medians,
        update_ratios=list(obs.stats.update_ratios))


def build_report(obs: LoopObserver, ending: Ending, name: str,
                 kb_dirs: tuple[str, ...] = (), with_diagnosis: bool = True) -> ProbeReport:
    """The report of a watch: same document, renderers and exit-code rules as the probe's."""
    obs.finish_manual()
    observations = Observations()
    loop = loop_measurements(obs, ending)
    observations.apply(judge_loop(loop))
    rec = training_measurements(obs)
    observations.apply(judge_training(rec), series={"loss_smoothed": "loss_smoothed"})
    if rec.global_norms:
        observations.apply(judge_gradient_growth(rec.global_norms, obs.capped))
    _drop_adversarial_trends(obs, observations)
    if obs.primary is not None:
        observe_optimizer(obs.primary.optimizer, False, observations)
        if loop.lrs:  # the highest rate the watched steps used (a schedule's peak)
            observations.set("optim.lr", max(loop.lrs))
    _record_ending(observations, ending)
    diagnoses, unknown, _, problem = (
        diagnose(observations.facts, kb_dirs) if with_diagnosis else ([], [], None, None))
    models = [r for r in obs.roots.values() if r.kind == "model"]
    losses_ = [r for r in obs.roots.values() if r.kind == "loss"]
    return ProbeReport(
        setup={"name": name, "mode": "watch",
               "model": ", ".join(_qualname(r.module) for r in models) or None,
               "optimizer": ", ".join(s.name for s in obs.optimizers.values()) or None,
               "optimizer_defaulted": False,
               "loss_fn": ", ".join(_qualname(r.module) for r in losses_) or None,
               "task": None, "task_source": None, "has_val_data": bool(obs.val_points),
               "custom_step": True},
        device=_device(models),
        options={"steps": obs.options.steps, "budget": obs.options.budget,
                 "follow": obs.options.follow, "every_step": obs.options.every_step},
        timings={"total": round(obs.elapsed(), 3)},
        facts=dict(observations.facts),
        series=sanitize({"loss": rec.losses, "val_loss": [list(p) for p in rec.val_points],
                         "grad_norm_global": rec.global_norms, "lr": loop.lrs,
                         "update_ratio": rec.update_ratios}),
        details=sanitize({**observations.details, **_watch_details(obs, loop, ending)}),
        notes=list(observations.notes) + ending.notes,
        warnings=obs.warnings.entries(),
        diagnoses=diagnoses,
        partial=ending.how in ("interrupted", "capped"),
        unknown_facts=unknown, kb_problem=problem)


# trends that mean progress only for one loss minimised by one optimizer
TREND_FACTS = ("loss.trend", "loss.relative_decrease", "loss.oscillation", "grad.norm_growth",
               "grad.norm_log_slope")


def _drop_adversarial_trends(obs: LoopObserver, observations: Observations) -> None:
    """Several optimizers stepping in turn (a GAN's generator and discriminator, actor and
    critic) minimise losses that fight each other: their losses need not fall and their
    gradients may grow while training goes well, so those trends are left unknown."""
    stepping = [s for s in obs.optimizers.values() if s.steps]
    if len(stepping) < 2:
        return
    for name in TREND_FACTS:
        observations.facts.pop(name, None)
    observations.notes.append(
        f"{len(stepping)} optimizers step in turn ({', '.join(s.name for s in stepping)}): "
        "their losses may fight each other (GAN, actor-critic), so the loss and gradient "
        "trends are not judged; the loss series shows the first optimizer's steps.")


def _record_ending(observations: Observations, ending: Ending) -> None:
    if ending.error_message:
        observations.set("runtime.error_message", ending.error_message)
        observations.details["runtime_error_where"] = ending.where
        observations.details["runtime_error_phase"] = "script"


def _watch_details(obs: LoopObserver, loop: LoopMeasurements, ending: Ending) -> dict[str, Any]:
    return {
        "watch": {"ending": ending.how, "exit_code": ending.exit_code,
                  "stop_reason": obs.stop_reason,
                  "steps_watched": obs.step or (0 if obs.primary else loop.backward_passes),
                  "cadence": obs.options.cadence,
                  "models": [r.name for r in obs.roots.values() if r.kind == "model"],
                  "optimizers": [{"class": s.name, "steps": s.steps}
                                 for s in obs.optimizers.values()],
                  "nonfinite_module": loop.nonfinite_module,
                  "nonfinite_step": loop.nonfinite_step},
        "loop": {k: v for k, v in loop.__dict__.items() if k != "lrs"},
    }


def _live_optimizers(obs: LoopObserver) -> list[Any]:
    """The optimizers seen stepping, plus those alive but never stepped (found once, at the
    end, among live objects: a script that forgot `optimizer.step()` has one)."""
    from advisor.watching.observer import OptimizerState

    states = list(obs.optimizers.values())
    if obs.only_optimizers:
        known = set(obs.optimizers)
        states += [OptimizerState(optimizer=o, name=type(o).__name__)
                   for o in obs.explicit_optimizers if id(o) not in known]
        return states
    if not states:  # only those over a watched model: a notebook holds older optimizers too
        watched = {id(p) for r in obs.roots.values() for p in r.params}
        for o in _live(torch.optim.Optimizer):
            if isinstance(o, torch.optim.Optimizer) and any(
                    id(p) in watched for g in o.param_groups for p in g["params"]):
                states.append(OptimizerState(optimizer=o, name=type(o).__name__))
    return states


def _live(kind: type) -> list[Any]:
    """Live objects of a kind, found once at the end. `type(o)`, not isinstance: isinstance
    on a dead weakref.proxy (torch.compile leaves some) raises ReferenceError, and on some of
    torch's lazy module attributes warns about deprecations that are not the user's."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [o for o in gc.get_objects() if issubclass(type(o), kind)]


def _grads_now(models: list[Any]) -> set[int]:
    return {id(p) for r in models for p in r.params if p.grad is not None}


def _loader_lengths() -> list[int]:
    """len() of every DataLoader alive (batches per epoch), for the epoch length."""
    lengths = set()
    for o in _live(torch.utils.data.DataLoader):
        try:
            lengths.add(len(o))
        except TypeError:  # an IterableDataset without __len__
            continue
    return sorted(lengths)


def _device(models: list[Any]) -> dict[str, Any] | None:
    for r in models:
        for p in r.module.parameters():
            return describe(p.device)
    return None


def _qualname(obj: Any) -> str:
    kind = type(obj)
    return f"{kind.__module__}.{kind.__qualname__}"
