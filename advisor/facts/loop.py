"""Facts about the user's own training loop, as `advisor watch` saw it: the loop bugs a probe of
a `setup()` can never see because the probe runs its own loop (a missing `zero_grad`, a second
`backward`, a model left in eval mode, a scheduler stepped at the wrong rate, ...).

The watcher (`advisor.watching`) counts events through public hooks and fills a
`LoopMeasurements` of plain numbers; `judge_loop` turns it into the `loop.*` facts of the
catalogue. Pure functions, no torch: every threshold is a named constant whose reason is given
next to it, and each can be tested on hand-made records.

A fact that the record cannot decide (too few steps, no optimizer, no epoch length) is left out,
never guessed: the rules then stay silent instead of firing on thin evidence.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from advisor.facts import Judgement

# A healthy loop zeroes the gradient before every step's first backward, so its stale fraction
# is exactly 0 and there is no noise to average out; 3 checked steps are enough to see a
# pattern rather than a one-off (a step right after a checkpoint reload, say).
MIN_CHECKED_STEPS = 3
# Fractions of backward passes (repeated, eval mode) need a few passes to mean anything.
MIN_BACKWARDS = 3
# `optimizer_step_missing`: a script that has not stepped after 5 backward passes is not
# merely doing a long accumulation warm-up (accumulation windows of 4 are the common case;
# the spec of the watch fixes 5).
MIN_BACKWARDS_WITHOUT_STEP = 5
# Two learning rates are the same when they agree to 1e-9 relative: schedulers compute the
# rate in float64, and a "change" smaller than that is rounding, not a schedule.
LR_RTOL = 1e-9
# "A minimum well below the start": at most a quarter of the first learning rate. A cosine
# schedule run past its end goes down to eta_min (0 by default) before it rises again, far
# below a quarter; CyclicLR and OneCycleLR start at their lowest rate (base_lr, max_lr / 25)
# and never go a quarter below it before rising, so they stay silent.
DEEP_MIN_OF_START = 0.25
# A smooth rise is at least 2 consecutive increases of the rate (counted over the distinct
# values, so a per-epoch schedule counts as well as a per-batch one). A warm restart
# (CosineAnnealingWarmRestarts) jumps back up in ONE step and falls again: 1 increase.
SMOOTH_RISE_INCREASES = 2
# "Schedule exhausted": the rate fell to 1e-3 of its earlier peak (three decades) within the
# first 90 % of the first epoch. A healthy per-batch schedule over E >= 1 epochs is at most at
# 0.9 / E of its run there: a cosine to 0 still holds 2.4 % of its peak (at 0.9 of a one-epoch
# run), a linear decay 10 %, OneCycleLR about 5 %; only the last steps of a one-epoch decay to
# zero fall below 1e-3, hence 90 % rather than the whole epoch. An epoch-sized schedule
# stepped every batch (StepLR(step_size=30) decays by 10x every 30 batches; a cosine over
# `epochs` reaches 0 after `epochs` batches) falls that far within tens of steps.
EPOCH_WINDOW = 0.9
COLLAPSE_FRACTION = 1e-3
# a step schedule stepped per batch: at least STEP_DROPS drops from a plateau (a rate held for
# 2 steps or more) within the first epoch, taking the rate to STEP_DROP_FALL of its peak. A
# per-epoch StepLR drops once per epoch; per-batch cosine, exponential and linear schedules
# change every step (no plateau); MultiStepLR milestones in iterations drop rarely.
STEP_DROPS = 3
STEP_DROP_FALL = 0.1
# the rate fell below this share of its peak (not to 0: that is `lr_reaches_zero`) while the
# script was still training when the watch stopped it: a healthy schedule reaches such rates
# only in its last steps, and those were not reached (the script had more to do)
STOPPED_COLLAPSE = 1e-4
# "The LR reaches zero while training continues": the rate is <= 0 for 3 consecutive steps
# after it was positive. One zero step is what a cosine to eta_min=0 gives at its end (and
# the first step of a linear warm-up from 0, which comes before any positive rate); 3 steps at
# a zero rate are steps that cannot change the weights.
ZERO_RUN_STEPS = 3
# Accumulation: most of the backward passes inside accumulation windows must have been
# unscaled. A loop divides every micro-batch loss or none, so the majority decides; a loop
# whose backward passes share one forward (several losses of one forward pass, summed by
# separate backward calls) is not accumulating micro-batches, so at least 90 % of the
# backward passes must each have had their own grad-enabled forward.
UNSCALED_MAJORITY = 0.5
FORWARDS_PER_BACKWARD = 0.9
MIN_ACCUMULATION_BACKWARDS = 4

NO_GRAD_FN = re.compile(r"does not require grad and does not have a grad_fn", re.I)
BACKWARD_TWICE = re.compile(r"backward through the graph a second time", re.I)


@dataclass
class LoopMeasurements:
    """What the watcher saw of the user's loop. A "root forward" is a call of a module made
    outside any other module's forward (the model as the script calls it); "watched
    parameters" are the trainable tensors of root models whose forward led to a backward."""

    optimizer_steps: int = 0            # optimizer.step() calls that ran (all optimizers)
    optimizers: int = 0                 # torch.optim optimizers seen (stepping, or alive at end)
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
    # the watch stopped the script after its steps: training would have gone on
    stopped_by_watch: bool = False


def judge_loop(m: LoopMeasurements) -> Judgement:
    """Every loop fact the record supports (`loop.watched` always: the loop rules apply only
    to a watch report, never to a probe's)."""
    j = Judgement()
    j.facts["loop.watched"] = True
    j.facts["loop.optimizer_steps"] = m.optimizer_steps
    j.facts["loop.backward_passes"] = m.backward_passes
    j.facts["loop.optimizers"] = m.optimizers
    for part in (judge_zero_grad, judge_repeated_backward, judge_modes, judge_schedule,
                 judge_accumulation, judge_step_missing, judge_gradient_reach, judge_amp,
                 judge_error):
        j.merge(part(m))
    if m.nonfinite_step is not None:
        j.facts["loop.nonfinite_step"] = m.nonfinite_step
        if m.nonfinite_module:
            j.details["loop_nonfinite_module"] = m.nonfinite_module
    return j


# ------------------------------------------------------------------ gradients and backward
def judge_zero_grad(m: LoopMeasurements) -> Judgement:
    """`loop.stale_grad_fraction`: the share of checked steps whose first backward added onto
    the gradient the previous step had used, untouched.

    With an optimizer it is stale_grad_steps / stale_checked_steps; without one (manual
    `p.data -= lr * p.grad`), manual_stale_updates / manual_updates. Healthy loops give 0
    (`zero_grad()`, `zero_grad(set_to_none=True)`, and correct accumulation, whose zeroing
    comes right after each step); `zero_grad` every N steps gives (N-1)/N, never >= 1/2 for
    anything but a bug; no `zero_grad` at all gives 1."""
    j = Judgement()
    if m.stale_checked_steps >= MIN_CHECKED_STEPS:
        j.facts["loop.stale_grad_fraction"] = m.stale_grad_steps / m.stale_checked_steps
        j.details["stale_grad_steps"] = f"{m.stale_grad_steps} of {m.stale_checked_steps}"
    elif m.optimizer_steps == 0 and m.manual_updates >= MIN_CHECKED_STEPS:
        j.facts["loop.stale_grad_fraction"] = m.manual_stale_updates / m.manual_updates
        j.details["stale_manual_updates"] = f"{m.manual_stale_updates} of {m.manual_updates}"
    return j


def judge_repeated_backward(m: LoopMeasurements) -> Judgement:
    """`loop.repeated_backward_fraction`: backward calls on a loss that already had one since
    its forward, over all backward calls. `backward()` twice every step gives 1/2; a healthy
    loop 0 (several different losses of one forward are different tensors, not repeats)."""
    j = Judgement()
    if m.backward_passes >= MIN_BACKWARDS:
        j.facts["loop.repeated_backward_fraction"] = m.repeated_backwards / m.backward_passes
    return j


def judge_modes(m: LoopMeasurements) -> Judgement:
    """Training in eval mode and backward passes on validation batches.

    `loop.eval_mode_train_fraction` is the share of grad-enabled forwards followed by a
    backward that ran in eval mode. It alone cannot tell a model left in eval mode (training
    steps in eval mode) from a validation loop that calls backward (eval-mode backward passes
    that only leak into the next step), so `loop.eval_mode_steps` counts the optimizer steps
    that trained in eval mode: every step whose gradient held an eval-mode contribution
    (eval_backward_leaks), less one per validation pass (the step right after a validation
    pass is where a validation gradient leaks). Without an optimizer there are no steps to
    count, and every eval-mode backward is taken as a training one."""
    j = Judgement()
    paired = m.train_mode_backwards + m.eval_mode_backwards
    if paired >= MIN_BACKWARDS:
        j.facts["loop.eval_mode_train_fraction"] = m.eval_mode_backwards / paired
    if paired:
        j.facts["loop.mode_dependent_layers"] = bool(m.mode_dependent_layers)
        if m.mode_dependent_layers:
            j.details["mode_dependent_layers"] = list(m.mode_dependent_layers)
    if m.optimizer_steps:
        passes = len(m.eval_switch_steps)
        j.facts["loop.eval_mode_steps"] = max(0, m.eval_backward_leaks - passes)
        j.facts["loop.eval_backward_leaks"] = m.eval_backward_leaks
        j.details["validation_passes"] = passes
    elif m.backward_passes:
        j.facts["loop.eval_mode_steps"] = m.eval_mode_backwards
    return j


# ------------------------------------------------------------------ learning-rate schedule
def judge_schedule(m: LoopMeasurements) -> Judgement:
    """The learning-rate facts, from the rate read before each optimizer step."""
    j = Judgement()
    j.facts["loop.scheduler_before_optimizer"] = bool(m.scheduler_before_optimizer_warned)
    lrs = [float(x) for x in m.lrs if math.isfinite(x)]
    if len(lrs) < 2:
        return j
    j.facts["loop.lr_changes"] = lr_changes(lrs)
    j.details["lr_first_min_max_last"] = [lrs[0], min(lrs), max(lrs), lrs[-1]]
    if len(lrs) >= SMOOTH_RISE_INCREASES + 2:
        j.facts["loop.lr_rises_after_min"] = rises_after_min(lrs)
    zero = reaches_zero(lrs)
    if zero is not None:
        j.facts["loop.lr_reaches_zero"] = zero
    verdicts = [collapsed_while_training(lrs, m.stopped_by_watch)]
    epoch = epoch_steps(m)
    if epoch is not None:
        j.details["epoch_steps"] = epoch
        verdicts += [schedule_exhausted(lrs, epoch), step_drops_within_epoch(lrs, epoch)]
    if True in verdicts:
        j.facts["loop.lr_schedule_exhausted"] = True
    elif False in verdicts:
        j.facts["loop.lr_schedule_exhausted"] = False
    return j


def same_lr(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=LR_RTOL, abs_tol=0.0)


def distinct_values(lrs: Sequence[float]) -> list[float]:
    """The series with runs of equal rates collapsed: a per-epoch schedule and a per-batch one
    then have the same shape, whatever the epoch length."""
    out: list[float] = []
    for x in lrs:
        if not out or not same_lr(out[-1], x):
            out.append(x)
    return out


def lr_changes(lrs: Sequence[float]) -> int:
    """Steps whose rate differs from the previous step's: 0 for a constant rate, about one
    per epoch for a per-epoch schedule, about one per step for a per-batch one."""
    return len(distinct_values(lrs)) - 1 if lrs else 0


def rises_after_min(lrs: Sequence[float]) -> bool:
    """The rate rises smoothly again after falling to a minimum well below where it started:
    a cosine (or another decaying) schedule run past its end, as CosineAnnealingLR(T_max =
    epochs) stepped every batch does (down to eta_min after T_max steps, then back up over the
    next T_max).

    Not this: CosineAnnealingWarmRestarts (a one-step jump up at each restart), OneCycleLR and
    linear warm-up (a rise from the start, before any deep minimum), CyclicLR (its minimum is
    its start, base_lr), StepLR, ExponentialLR and ReduceLROnPlateau (they never rise)."""
    values = distinct_values(lrs)
    start = values[0]
    if not start > 0:
        return False  # a warm-up from 0: "well below the start" has no meaning
    deep = DEEP_MIN_OF_START * start
    increases = 0
    reached = False
    for prev, x in zip(values[:-1], values[1:], strict=True):
        if reached and x > prev:
            increases += 1
            if increases >= SMOOTH_RISE_INCREASES:
                return True
        else:
            increases = 0
        reached = reached or x <= deep
    return False


def reaches_zero(lrs: Sequence[float]) -> bool | None:
    """The rate is negative at some step, or <= 0 for ZERO_RUN_STEPS consecutive steps after
    it was positive: a LambdaLR whose factor reaches 0 (a linear decay over the wrong number
    of steps) or goes negative. None when too short to tell."""
    if any(x < 0 for x in lrs):
        return True
    run = 0
    positive_seen = False
    for x in lrs:
        if x > 0:
            positive_seen = True
            run = 0
        elif positive_seen:
            run += 1
            if run >= ZERO_RUN_STEPS:
                return True
    return False if len(lrs) >= ZERO_RUN_STEPS else None


def epoch_steps(m: LoopMeasurements) -> int | None:
    """Optimizer steps per epoch, when the record tells: a DataLoader's length divided by the
    accumulation (backward passes per step); with several loaders the one closest to the
    first validation pass, else the shortest (a longer test loader must not stretch the
    "first epoch" over a whole healthy schedule: a shorter window can only miss a collapse,
    never invent one); the first validation pass's step when there is no loader."""
    k = max(1, round(_median(m.backwards_per_step) or 1))
    per_loader = sorted({max(1, n // k) for n in m.loader_lengths if n > 0})
    first_val = next((s for s in m.eval_switch_steps if s > 0), None)
    if per_loader and first_val:
        return min(per_loader, key=lambda n: abs(n - first_val))
    if per_loader:
        return per_loader[0]
    return first_val


def schedule_exhausted(lrs: Sequence[float], epoch: int) -> bool | None:
    """The rate fell to COLLAPSE_FRACTION of its earlier peak within the first EPOCH_WINDOW
    of the first epoch: an epoch-sized schedule (StepLR(step_size=30), a cosine over
    `epochs`) stepped every batch. None when the watch ended before that without such a fall."""
    window = max(2, int(EPOCH_WINDOW * epoch))
    peak = 0.0
    for x in lrs[:window]:
        if peak > 0 and x <= COLLAPSE_FRACTION * peak:
            return True
        peak = max(peak, x)
    return False if len(lrs) >= window else None


def step_drops_within_epoch(lrs: Sequence[float], epoch: int) -> bool | None:
    """A step schedule sized in epochs and stepped every batch: STEP_DROPS or more drops from
    a plateau within the first EPOCH_WINDOW of the first epoch, down to STEP_DROP_FALL of the
    peak (StepLR(step_size=10, gamma=0.5) per batch: 4 halvings in 45 batches). None when the
    watch ended before that window without it."""
    window = max(2, int(EPOCH_WINDOW * epoch))
    head = list(lrs[:window])
    drops, run = 0, 1
    for prev, x in zip(head[:-1], head[1:], strict=True):
        if same_lr(prev, x):
            run += 1
            continue
        if x < prev and run >= 2:
            drops += 1
        run = 1
    if drops >= STEP_DROPS and head and min(head) <= STEP_DROP_FALL * max(head):
        return True
    return False if len(lrs) >= window else None


def collapsed_while_training(lrs: Sequence[float], stopped_by_watch: bool) -> bool | None:
    """After its peak the rate fell to STOPPED_COLLAPSE of it (but not to 0) while the script
    still had training to do (the watch stopped it): a schedule used up far too early, such as
    ExponentialLR(gamma=0.9) meant per epoch and stepped every batch. None when the script
    ended by itself (its schedule may rightly end near 0)."""
    if not stopped_by_watch or len(lrs) < 10:
        return None
    # the last tenth is left out: a schedule sized to end right where the watch stopped
    # (its final evaluation ran into the stop) reaches tiny rates only there
    head = lrs[:int(EPOCH_WINDOW * len(lrs))]
    peak_at = max(range(len(head)), key=lambda i: head[i])
    peak, low = head[peak_at], min(head[peak_at:])
    return bool(peak > 0 and 0 < low <= STOPPED_COLLAPSE * peak)


# ------------------------------------------------------------------ accumulation and steps
def judge_accumulation(m: LoopMeasurements) -> Judgement:
    """`loop.accumulation_steps`: the median backward passes per optimizer step (1 without
    accumulation). `loop.accumulation_unscaled`: most micro-batch losses of the accumulation
    windows reached backward without being divided, and each backward had its own forward
    (micro-batches, not several losses of one forward)."""
    j = Judgement()
    k = _median(m.backwards_per_step)
    if k is None or m.optimizer_steps < MIN_CHECKED_STEPS:
        return j  # backward passes with (almost) no optimizer step are no accumulation
    j.facts["loop.accumulation_steps"] = k
    counted = m.accumulation_scaled_backwards + m.accumulation_unscaled_backwards
    if k < 2 or counted < MIN_ACCUMULATION_BACKWARDS:
        return j
    own_forwards = m.grad_forwards >= FORWARDS_PER_BACKWARD * m.backward_passes
    share = m.accumulation_unscaled_backwards / counted
    j.facts["loop.accumulation_unscaled"] = own_forwards and share >= UNSCALED_MAJORITY
    j.details["accumulation_unscaled_backwards"] = (
        f"{m.accumulation_unscaled_backwards} of {counted}")
    return j


def judge_step_missing(m: LoopMeasurements) -> Judgement:
    """`loop.optimizer_step_missing`: backward passes but the weights never move: at least 5
    backward passes, no optimizer step, no manual update, no step skipped by a GradScaler
    (those are inf/NaN steps, another problem), and no change of the parameters seen."""
    j = Judgement()
    if m.backward_passes < MIN_BACKWARDS_WITHOUT_STEP:
        return j
    missing = (m.optimizer_steps == 0 and m.manual_updates == 0 and m.amp_skipped_steps == 0
               and m.params_changed is not True)
    j.facts["loop.optimizer_step_missing"] = missing
    return j


def judge_gradient_reach(m: LoopMeasurements) -> Judgement:
    """Which optimized tensors the gradient reaches, and tensors the optimizer misses.

    `loop.grad_reach_fraction` = optimizer tensors that ever received a gradient / optimizer
    tensors, after at least 3 backward passes (a tensor may miss a gradient in one step, on a
    branch not taken). 0 means the loss has no path to anything the optimizer updates."""
    j = Judgement()
    if m.optimizers == 0:
        return j
    j.facts["loop.model_tensors_not_in_optimizer"] = m.model_tensors_not_in_optimizer
    j.facts["loop.optimizer_tensors_outside_models"] = m.optimizer_tensors_outside_models
    if m.optimizer_tensors and m.backward_passes >= MIN_BACKWARDS:
        j.facts["loop.grad_reach_fraction"] = m.optimizer_tensors_with_grad / m.optimizer_tensors
    return j


def judge_amp(m: LoopMeasurements) -> Judgement:
    """`loop.amp_skipped_steps`, and the skipped share of all step attempts."""
    j = Judgement()
    j.facts["loop.amp_skipped_steps"] = m.amp_skipped_steps
    attempts = m.amp_skipped_steps + m.optimizer_steps
    if m.amp_skipped_steps and attempts:
        j.facts["loop.amp_skipped_fraction"] = m.amp_skipped_steps / attempts
    return j


def judge_error(m: LoopMeasurements) -> Judgement:
    """`loop.error`: the error that ended the script, classified by its message."""
    j = Judgement()
    j.facts["loop.error"] = classify_error(m.error_type, m.error_message)
    if m.error_type:
        j.details["loop_error"] = f"{m.error_type}: {m.error_message or ''}".strip()
    return j


def classify_error(error_type: str | None, message: str | None) -> str:
    """none, no_grad_fn (the loss has no graph: computed under no_grad, from detached outputs,
    or every parameter frozen), backward_twice (a second backward through a freed graph:
    backward called twice, or a tensor such as an RNN hidden state carried over from the
    previous batch without detach), or other."""
    if not error_type:
        return "none"
    text = message or ""
    if NO_GRAD_FN.search(text):
        return "no_grad_fn"
    if BACKWARD_TWICE.search(text):
        return "backward_twice"
    return "other"


def _median(values: Sequence[int]) -> float | None:
    return float(np.median(values)) if len(values) else None
