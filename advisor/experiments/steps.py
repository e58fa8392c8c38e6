"""Step functions for the loop: the probe's own step (forward, loss, backward, update, with
autocast and a GradScaler when asked) and an adapter for the user's own `train_step`, which
does all of that itself (clipping, closures, schedulers, scalers, carried state).

Both return a `StepOutput`; instruments see what happens through hooks.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch

from advisor.experiments.loop import StepFn, StepOutput
from advisor.experiments.recipe import Trainee
from advisor.probing.context import ProbeContext
from advisor.probing.setup import ProbeSetupError


class NoScheduler:
    """Handed to a train_step that takes `scheduler=` in the tests that set the rate themselves
    (the LR range test, the overfit test): stepping it changes nothing."""

    def step(self, *args: Any, **kwargs: Any) -> None:
        return None


def loss_value(loss: Any) -> float:
    """The mean of a loss as a Python float (a loss with reduction='none' is averaged)."""
    if isinstance(loss, torch.Tensor):
        t = loss.detach().float()
        return float(t) if t.numel() == 1 else float(t.mean())
    return float(loss)


def probe_step(compute_loss: Callable[[torch.nn.Module, Any], tuple[Any, Any, Any]],
               step_scheduler: bool = True, clip_grad_norm: float | None = None) -> StepFn:
    """The step a plain training loop takes. `compute_loss(model, batch)` returns
    (loss, outputs, targets). A non-finite loss ends the step before backward, so the weights
    that produced it are kept for the NaN localisation. `clip_grad_norm` clips the global
    gradient norm before the update (after unscaling under a GradScaler), as a loop with
    `clip_grad_norm_` does (a remedy trial's arm)."""

    def step(trainee: Trainee, batch: Any) -> StepOutput:
        model, opt, scaler = trainee.model, trainee.optimizer, trainee.scaler
        model.zero_grad(set_to_none=True)
        opt.zero_grad(set_to_none=True)
        loss, outputs, targets = compute_loss(model, batch)
        value = loss_value(loss)
        out = StepOutput(value, outputs, targets)
        if value != value or value in (float("inf"), float("-inf")):
            return out
        if loss.numel() != 1:
            loss = loss.mean()
        if scaler is not None:
            scaler.scale(loss).backward()
            scale = scaler.get_scale()
            if clip_grad_norm is not None:
                scaler.unscale_(opt)
                _clip(model, clip_grad_norm)
            scaler.step(opt)
            scaler.update()
            out.skipped_update = scaler.get_scale() < scale
        else:
            loss.backward()
            if clip_grad_norm is not None:
                _clip(model, clip_grad_norm)
            opt.step()
        if step_scheduler and trainee.scheduler is not None:
            trainee.scheduler.step()
        return out

    return step


def _clip(model: torch.nn.Module, max_norm: float) -> None:
    params = [p for p in model.parameters() if p.grad is not None]
    if params:
        torch.nn.utils.clip_grad_norm_(params, max_norm)


def user_step(train_step: Callable[..., Any], name: str = "train_step",
              step_scheduler: bool = True) -> StepFn:
    """Adapter for the setup's `train_step(model, batch, optimizer) -> loss`.

    The user's step owns forward, loss, backward, clipping and `optimizer.step()` (with or
    without a closure). A `scheduler` and a `scaler` built for this run are passed as keyword
    arguments when the function accepts them; a scheduler it does not accept is stepped after
    each call (once per training step)."""
    accepts = _keywords(train_step)

    def step(trainee: Trainee, batch: Any) -> StepOutput:
        kwargs: dict[str, Any] = {}
        if "scheduler" in accepts:
            kwargs["scheduler"] = trainee.scheduler
        if "scaler" in accepts:
            kwargs["scaler"] = trainee.scaler
        result = train_step(trainee.model, batch, trainee.optimizer, **kwargs)
        if result is None or not isinstance(result, (torch.Tensor, float, int)):
            raise ProbeSetupError(
                f"{name}(model, batch, optimizer) returned {type(result).__name__}; it must "
                "return the loss of the step (a tensor or a float), e.g. `return loss`")
        if (step_scheduler and trainee.scheduler is not None and "scheduler" not in accepts):
            trainee.scheduler.step()
        return StepOutput(loss_value(result))

    return step


def _keywords(func: Callable[..., Any]) -> set[str]:
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return set()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return {"scheduler", "scaler"}
    return {p.name for p in params if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}


def setup_step(ctx: ProbeContext) -> StepFn:
    """The training run's step: the user's `train_step` when the setup has one, else the
    probe's own step (with autocast and a GradScaler under --amp, the scheduler stepped)."""
    if ctx.setup.train_step is not None:
        return user_step(ctx.setup.train_step)
    return probe_step(lambda model, batch: ctx.loss(model, batch, ctx.options.amp))


def fixed_rate_run(ctx: ProbeContext, lr: float | None,
                   adam: bool = False) -> tuple[Trainee, StepFn]:
    """A fresh copy and its step for a test that sets the rate itself (the LR range test, the
    overfit test): optimizer state reset, no schedule (a scheduler rewrites the rate as it is
    built), and the probe's own step in full precision. A user's `train_step` that takes
    `scheduler=` receives one that does nothing."""
    trainee = ctx.build(lr=lr, with_state=False, adam=adam, scheduler=False)
    if ctx.setup.train_step is not None:
        trainee.scheduler = NoScheduler()
        return trainee, user_step(ctx.setup.train_step, step_scheduler=False)
    trainee.scaler = None
    return trainee, probe_step(lambda model, batch: ctx.loss(model, batch), step_scheduler=False)
