"""The one step loop: iterate batches, call a step function, record the loss, stop at a
non-finite loss, at the user's first error, at the planned number of steps, or (only as a cap)
at a deadline.

The loop never measures anything itself beyond the loss the step returns: instruments attached
to the model and optimizer through hooks do that, and they see the same calls whichever step
function runs (the probe's own, or the user's `train_step`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from advisor.errors import AdvisorError
from advisor.experiments.recipe import Trainee
from advisor.instruments.base import StepClock


@dataclass
class StepOutput:
    """What one step returned: the loss value, and the outputs and targets when the probe's
    own step computed them (a user's train_step returns only the loss)."""

    loss: float
    outputs: Any = None
    targets: Any = None
    skipped_update: bool = False  # the GradScaler skipped the optimizer step (inf/NaN grads)


StepFn = Callable[[Trainee, Any], StepOutput]
# activity(what): called before the loop runs the user's code (reading data, the step), so a
# watchdog can say what did not return
Activity = Callable[[str, int], None]


@dataclass
class LoopRecord:
    """What the loop saw. `stopped` says why it ended: 'steps' (all planned steps ran),
    'nonfinite' (a NaN/Inf loss), 'error' (the user's code raised), 'data' (the data ran out),
    'callback' (an experiment ended it: converged or stalled) or 'capped' (the time cap)."""

    planned: int
    losses: list[float] = field(default_factory=list)
    stopped: str = "steps"
    error: BaseException | None = None
    error_step: int | None = None
    error_activity: str | None = None
    last_batch: Any = None
    skipped_updates: list[int] = field(default_factory=list)

    @property
    def steps(self) -> int:
        return len(self.losses)

    @property
    def capped(self) -> bool:
        return self.stopped == "capped"


def run_steps(trainee: Trainee, batches: Iterator[Any], steps: int, step_fn: StepFn,
              clock: StepClock | None = None, *, deadline: float | None = None,
              before_step: Callable[[int], None] | None = None,
              after_step: Callable[[int, StepOutput, Any], bool | None] | None = None,
              activity: Activity | None = None) -> LoopRecord:
    """Run up to `steps` steps. `after_step` returning False ends the run ('callback')."""
    rec = LoopRecord(planned=steps)
    clock = clock or StepClock.for_steps(steps)
    clock.planned = steps
    note = activity or (lambda what, step: None)
    for step in range(steps):
        clock.begin(step)
        if before_step is not None:
            before_step(step)
        note("reading data", step)
        try:
            batch = next(batches)
        except StopIteration:
            rec.stopped = "data"
            break
        except AdvisorError:  # a setup that breaks the contract: not an observation
            raise
        except (Exception, SystemExit) as exc:  # the user's dataset raised
            _failed(rec, exc, step, "reading data")
            break
        note("step", step)
        try:
            out = step_fn(trainee, batch)
        except AdvisorError:
            raise
        except (Exception, SystemExit) as exc:  # the user's model, loss or step raised
            _failed(rec, exc, step, "step")
            break
        rec.losses.append(out.loss)
        if out.skipped_update:
            rec.skipped_updates.append(step)
        if not math.isfinite(out.loss):
            rec.stopped, rec.last_batch = "nonfinite", batch
            break
        if after_step is not None and after_step(step, out, batch) is False:
            rec.stopped = "callback"
            break
        if deadline is not None and step + 1 < steps and time.perf_counter() > deadline:
            rec.stopped = "capped"
            break
    return rec


def _failed(rec: LoopRecord, exc: BaseException, step: int, activity: str) -> None:
    rec.stopped, rec.error, rec.error_step, rec.error_activity = "error", exc, step, activity
