"""Trains the arms of remedy trials: each arm for the same seeds and the same number of steps on
the probe's one step loop, each run on fresh copies of the user's objects.

Matching: seed i of every arm draws its data order, then any re-drawn weights, then its dropout
masks from three fixed seeds derived from i, each set just before it is used, so that a change
that consumes random numbers in one place (a re-initialisation) does not shift the draws of the
others. The runs are bounded by steps; the verification budget only caps them, and an arm cut
by it is dropped whole (a verdict from fewer seeds than planned would not be the test it says).
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch

from advisor.errors import AdvisorError
from advisor.experiments.loop import StepFn, StepOutput, run_steps
from advisor.experiments.recipe import Trainee
from advisor.experiments.steps import probe_step, user_step
from advisor.probing.batches import BatchStream, forward
from advisor.probing.device import autocast
from advisor.probing.errors import error_message
from advisor.probing.state import loader_generators, seed_everything
from advisor.trials.arm import ArmSpec
from advisor.trials.outcome import Outcome, evaluate

DATA_OFFSET, INIT_OFFSET, STEP_OFFSET = 0, 7919, 15485


class TrialsCapped(Exception):
    """The verification budget ran out during a run: the arm is dropped."""


@dataclass
class RunResult:
    """One seed's run of one arm."""

    seed: int
    end: Outcome
    half: Outcome
    losses: list[float] = field(default_factory=list)
    nonfinite: bool = False
    error: str | None = None     # the arm's code raised: message (where) at step k


@dataclass
class ArmRun:
    """Everything a runner needs to train one arm."""

    spec: ArmSpec
    outputs_are: str | None


class ArmRunner:
    """Runs arms for one verification: the probe's context, the batches judged on, the steps,
    the time cap and the callbacks that keep the watchdog and the progress display informed."""

    def __init__(self, ctx: Any, steps: int, eval_batches: list[Any], deadline: float | None,
                 activity: Callable[[str, int], None] | None = None):
        self.ctx = ctx
        self.steps = steps
        self.eval_batches = eval_batches
        self.deadline = deadline
        self.activity = activity

    def run_arm(self, arm: ArmRun, seeds: list[int],
                on_run: Callable[[RunResult], None] | None = None) -> list[RunResult]:
        """Every seed's run of the arm; stops at the first run whose code raised (the arm's
        verdict is then not_run). Raises TrialsCapped when the time cap cut a run."""
        results = []
        for seed in seeds:
            result = self.run_seed(arm, seed)
            results.append(result)
            if on_run is not None:
                on_run(result)
            if result.error is not None:
                break
        return results

    def run_seed(self, arm: ArmRun, seed: int) -> RunResult:
        spec, ctx = arm.spec, self.ctx
        seed_everything(seed + DATA_OFFSET)
        batches = self._batches(spec, seed)
        seed_everything(seed + INIT_OFFSET)
        try:
            trainee = self._trainee(spec)
        except Exception as exc:  # a transform's edit could not apply to this model
            return RunResult(seed, Outcome(None, None), Outcome(None, None),
                             error=f"preparing the arm: {error_message(exc)}")
        seed_everything(seed + STEP_OFFSET)
        half_at = max(1, self.steps // 2)
        half: dict[str, Outcome] = {}

        def after_step(step: int, out: StepOutput, batch: Any) -> bool | None:
            if step + 1 == half_at:
                half["value"] = evaluate(ctx, spec, trainee.model, self.eval_batches,
                                         arm.outputs_are)
            return None

        try:
            rec = run_steps(trainee, batches, self.steps, self._step(spec),
                            deadline=self.deadline, after_step=after_step,
                            activity=self.activity)
        except AdvisorError as exc:  # a changed loss or edit that fails on this setup's data
            return RunResult(seed, Outcome(None, None), Outcome(None, None), error=str(exc))
        if rec.capped:
            raise TrialsCapped
        if rec.stopped == "error":
            where = f" at step {rec.error_step}" if rec.error_step is not None else ""
            return RunResult(seed, Outcome(None, None), Outcome(None, None), rec.losses,
                             error=f"{error_message(rec.error)}{where}")
        if rec.stopped == "nonfinite":  # the worst outcome, at both budgets past the NaN
            worst = Outcome(None, None)
            return RunResult(seed, worst, half.get("value", worst), rec.losses, nonfinite=True)
        end = evaluate(ctx, spec, trainee.model, self.eval_batches, arm.outputs_are)
        return RunResult(seed, end, half.get("value", end), rec.losses)

    # ------------------------------------------------------------------ one run's parts
    def _batches(self, spec: ArmSpec, seed: int) -> Iterator[Any]:
        """The arm's training batches for this seed, on the device, with its batch_fn; the
        first one is read now, so the data order is drawn from the data seed alone."""
        ctx = self.ctx
        # a DataLoader with its own generator draws its order from it, not from the global
        # seed: reseeded here, so seed i of every arm reads the same order (the probe puts the
        # user's generator state back when the run ends)
        for gen in loader_generators(ctx.setup.train_data):
            gen.manual_seed(seed + DATA_OFFSET)
        source = BatchStream(spec.data(seed)).forever() if spec.data is not None \
            else ctx.train.forever()
        mapped = (ctx.on_device(b) for b in source)
        if spec.batch_fn is not None:
            mapped = (spec.batch_fn(b) for b in mapped)
        try:
            first = next(mapped)
        except StopIteration:
            return iter(())
        return itertools.chain([first], mapped)

    def _trainee(self, spec: ArmSpec) -> Trainee:
        """Fresh copies with the arm's edits. Each module keeps the train/eval mode it was
        handed over in (the control is the setup unchanged; `train_mode` is a trial of its
        own), and the scheduler is built last, on the optimizer the edits return, so that it
        schedules the rate the arm set."""
        ctx = self.ctx
        trainee = ctx.build(scheduler=False)
        for copied, handed in zip(trainee.model.modules(), ctx.pristine.modules(), strict=True):
            copied.training = handed.training
        for edit in spec.model_edits:
            edit(trainee.model)
        for opt_edit in spec.optimizer_edits:
            trainee.optimizer = opt_edit(trainee.model, trainee.optimizer)
        trainee.scheduler = ctx.recipe.scheduler_for(trainee.optimizer)
        return trainee

    def _step(self, spec: ArmSpec) -> StepFn:
        ctx = self.ctx
        if ctx.setup.train_step is not None:
            inner = user_step(ctx.setup.train_step)
            mode = spec.forward_context  # the user's step runs the forward: around all of it
        else:
            loss_fn = spec.loss_fn or ctx.setup.loss_fn

            def compute(model: torch.nn.Module, batch: Any) -> tuple[Any, Any, Any]:
                with autocast(ctx.device, ctx.options.amp):
                    with spec.forward_context():
                        outputs, targets = forward(model, batch, ctx.setup.step)
                    loss = loss_fn(outputs, targets)
                if not isinstance(loss, torch.Tensor):
                    loss = torch.as_tensor(loss, dtype=torch.float32)
                return loss, outputs, targets

            inner = probe_step(compute, clip_grad_norm=spec.clip_grad_norm)
            mode = contextlib.nullcontext

        def step(trainee: Trainee, batch: Any) -> StepOutput:
            if spec.force_train_mode:
                trainee.model.train()
            with mode():
                return inner(trainee, batch)

        return step
