"""TEMPORARY (lead): replaced by the loopfacts branch."""
from __future__ import annotations

from dataclasses import dataclass, field

from advisor.facts import Judgement


@dataclass
class LoopMeasurements:
    """What the watcher saw of the user's loop. A "root forward" is a call of a module made
    outside any other module's forward (the model as the script calls it); "watched
    parameters" are the trainable tensors of root models whose forward led to a backward."""

    optimizer_steps: int = 0            # optimizer.step() calls that ran (all optimizers)
    optimizers: int = 0                 # torch.optim optimizers seen (stepping, or alive at the end)
    backward_passes: int = 0            # backward calls (loss.backward(), torch.autograd.backward)
    grad_forwards: int = 0              # root forwards with grad enabled
    # per optimizer step: backward passes since the previous step (the first counts from the start)
    backwards_per_step: list[int] = field(default_factory=list)
    # backward calls on a tensor that already had a backward since its forward (backward twice)
    repeated_backwards: int = 0
    # grad-enabled root forwards that were followed by a backward, by the model's mode then
    train_mode_backwards: int = 0
    eval_mode_backwards: int = 0
    # class names of the watched model's layers that behave differently in eval mode
    # (Dropout*, BatchNorm*, ...), deduplicated, sorted
    mode_dependent_layers: list[str] = field(default_factory=list)
    # optimizer step index at which each train->eval switch of a root model happened (validation)
    eval_switch_steps: list[int] = field(default_factory=list)
    # optimizer steps (after the first) whose first backward found the gradient left exactly as it
    # was at the end of the previous optimizer step (same tensor, same version): zero_grad missing
    stale_grad_steps: int = 0
    stale_checked_steps: int = 0        # steps at which that check could be made
    # no optimizer: backward passes that followed a change of the parameters (a manual update),
    # and of those, the ones whose gradient had not been zeroed since the previous backward
    manual_updates: int = 0
    manual_stale_updates: int = 0
    # learning rate of the first optimizer's first param group, read before each optimizer step
    lrs: list[float] = field(default_factory=list)
    # PyTorch's own warning "Detected call of `lr_scheduler.step()` before `optimizer.step()`"
    scheduler_before_optimizer_warned: bool = False
    # len() of each DataLoader alive at the end (batches per epoch), deduplicated
    loader_lengths: list[int] = field(default_factory=list)
    # backward passes inside accumulation windows (a step with >1 backward): the loss passed to
    # backward was divided/multiplied by a constant (DivBackward0/MulBackward0 by a number, or a
    # value about 1/k of the loss module's output) -> scaled; else unscaled
    accumulation_scaled_backwards: int = 0
    accumulation_unscaled_backwards: int = 0
    # parameters of watched models changed value at some point during the run (None: not known)
    params_changed: bool | None = None
    # trainable tensors held by optimizers, and how many of them ever received a gradient
    optimizer_tensors: int = 0
    optimizer_tensors_with_grad: int = 0
    # trainable tensors of root models that received gradients but no optimizer holds them
    # (only counted when at least one optimizer exists)
    model_tensors_not_in_optimizer: int = 0
    # tensors held by an optimizer that belong to no root model that ran forward
    optimizer_tensors_outside_models: int = 0
    # backward passes whose forward ran in eval mode, and the optimizer steps whose gradient
    # still held such a backward's contribution (not zeroed before the step)
    eval_backwards: int = 0
    eval_backward_leaks: int = 0
    # AMP: GradScaler.step calls that skipped the optimizer step (inf/NaN gradients)
    amp_skipped_steps: int = 0
    # the first optimizer step (index) whose loss was not finite, and the first module
    # (qualified name inside the root model) whose output was not finite at that point
    nonfinite_step: int | None = None
    nonfinite_module: str | None = None
    # the error that ended the script, if any: its type and message (e.g. "element 0 of tensors
    # does not require grad and does not have a grad_fn" -> no gradient flow)
    error_type: str | None = None
    error_message: str | None = None


def judge_loop(m: LoopMeasurements) -> Judgement:
    j = Judgement()
    j.facts["loop.watched"] = True
    j.facts["loop.optimizer_steps"] = m.optimizer_steps
    j.facts["loop.backward_passes"] = m.backward_passes
    return j
