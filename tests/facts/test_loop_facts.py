"""The loop facts of `advisor watch` (issue 10, point 4): `judge_loop` on hand-made
`LoopMeasurements`, and the loop rules on what it concludes.

The learning-rate series come from real torch schedulers stepped on a one-tensor optimizer, in
the order a training loop uses them (the rate read before each optimizer step, the scheduler
stepped after it), so the schedule shapes judged here are exactly PyTorch's. Healthy schedules
must stay silent; the epoch-sized schedules stepped every batch must not.
"""

from __future__ import annotations

import functools
import math
import warnings

import pytest
import torch
from torch.optim import SGD
from torch.optim import lr_scheduler as sched

from advisor.engine import Engine
from advisor.facts.loop import (
    COLLAPSE_FRACTION,
    LoopMeasurements,
    classify_error,
    epoch_steps,
    judge_loop,
    lr_changes,
)
from advisor.kb import load_kb
from advisor.kb.model import AllOf, AnyOf, FactTest

LOOP_IDS = {"missing_zero_grad", "double_backward", "model_left_in_eval_mode",
            "scheduler_stepped_per_batch", "scheduler_misuse",
            "accumulation_without_loss_scaling", "optimizer_step_missing", "no_gradient_flow",
            "validation_gradients_leak", "untrained_parameters"}
SCHEDULE_IDS = {"scheduler_stepped_per_batch", "scheduler_misuse"}
L = 50          # batches per epoch of the synthetic loops
EPOCHS = 10


@functools.cache
def engine() -> Engine:
    return Engine(load_kb([], use_env=False, check_examples=False))


def diagnosed(m: LoopMeasurements, **extra) -> list[str]:
    """Diagnosis ids, best first, for the judged record plus passive facts."""
    facts = {**judge_loop(m).facts, **extra}
    return [c.id for c in engine().diagnose(facts).diagnoses]


def lr_series(make, steps: int, step_every: int = 1, lr: float = 0.1,
              metric=None) -> list[float]:
    """The rate before each optimizer step, the scheduler stepped after every `step_every`
    optimizer steps (1: per batch; L: per epoch), as a training loop does."""
    p = torch.nn.Parameter(torch.zeros(1))
    opt = SGD([p], lr=lr)
    scheduler = make(opt)
    out = []
    for i in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        if (i + 1) % step_every == 0:
            scheduler.step(*(() if metric is None else (metric(i),)))
    return out


def loop_with_lrs(lrs: list[float], loader: int | None = L) -> LoopMeasurements:
    n = len(lrs)
    return LoopMeasurements(optimizer_steps=n, optimizers=1, backward_passes=n, grad_forwards=n,
                            backwards_per_step=[1] * n, lrs=lrs,
                            loader_lengths=[loader] if loader else [],
                            train_mode_backwards=n, stale_checked_steps=n - 1,
                            optimizer_tensors=4, optimizer_tensors_with_grad=4,
                            params_changed=True)


def _warmup_then_linear(total: int, warmup: int):
    """transformers' get_linear_schedule_with_warmup: from 0 up to the peak, then down to 0."""
    def factor(step: int) -> float:
        if step < warmup:
            return step / warmup
        return max(0.0, (total - step) / max(1, total - warmup))
    return factor


HEALTHY_SCHEDULES = {
    "constant": lambda: lr_series(lambda o: sched.LambdaLR(o, lambda s: 1.0), 200),
    "OneCycleLR per batch, whole run": lambda: lr_series(
        lambda o: sched.OneCycleLR(o, 0.1, total_steps=4 * L), 4 * L),
    "OneCycleLR per batch, first 200 of 500 steps": lambda: lr_series(
        lambda o: sched.OneCycleLR(o, 0.1, total_steps=EPOCHS * L), 200),
    "CosineAnnealingLR(T_max=epochs) per epoch": lambda: lr_series(
        lambda o: sched.CosineAnnealingLR(o, T_max=EPOCHS), EPOCHS * L, step_every=L),
    "CosineAnnealingLR sized in batches, per batch": lambda: lr_series(
        lambda o: sched.CosineAnnealingLR(o, T_max=4 * L), 4 * L),
    "one-epoch cosine to 0, per batch": lambda: lr_series(
        lambda o: sched.CosineAnnealingLR(o, T_max=L), L),
    "CosineAnnealingWarmRestarts(T_0=epoch)": lambda: lr_series(
        lambda o: sched.CosineAnnealingWarmRestarts(o, T_0=L), 200),
    "CosineAnnealingWarmRestarts(T_0=10, T_mult=2)": lambda: lr_series(
        lambda o: sched.CosineAnnealingWarmRestarts(o, T_0=10, T_mult=2), 200),
    "StepLR(step_size=3) per epoch": lambda: lr_series(
        lambda o: sched.StepLR(o, step_size=3, gamma=0.1), EPOCHS * L, step_every=L),
    "MultiStepLR per epoch": lambda: lr_series(
        lambda o: sched.MultiStepLR(o, [3, 6, 8], gamma=0.1), EPOCHS * L, step_every=L),
    "ExponentialLR(0.9) per epoch": lambda: lr_series(
        lambda o: sched.ExponentialLR(o, 0.9), EPOCHS * L, step_every=L),
    "ReduceLROnPlateau on a flat validation loss": lambda: lr_series(
        lambda o: sched.ReduceLROnPlateau(o, patience=1, factor=0.5), EPOCHS * L,
        step_every=L, metric=lambda i: 1.0),
    "linear warm-up from 0, then linear decay to 0 (transformers)": lambda: lr_series(
        lambda o: sched.LambdaLR(o, _warmup_then_linear(4 * L, 20)), 4 * L),
    "LinearLR warm-up then cosine (SequentialLR), per batch": lambda: lr_series(
        lambda o: sched.SequentialLR(o, [sched.LinearLR(o, 0.01, total_iters=20),
                                         sched.CosineAnnealingLR(o, T_max=4 * L - 20)],
                                     milestones=[20]), 4 * L),
    "CyclicLR per batch": lambda: lr_series(
        lambda o: sched.CyclicLR(o, 0.001, 0.1, step_size_up=20), 200),
}


@pytest.mark.parametrize("name", list(HEALTHY_SCHEDULES))
def test_healthy_schedules_stay_silent(name):
    lrs = HEALTHY_SCHEDULES[name]()
    facts = judge_loop(loop_with_lrs(lrs)).facts
    assert facts["loop.lr_rises_after_min"] is False
    assert facts.get("loop.lr_schedule_exhausted") is not True
    assert facts["loop.lr_reaches_zero"] is False
    assert not SCHEDULE_IDS & set(diagnosed(loop_with_lrs(lrs)))


def test_per_epoch_and_per_batch_schedules_differ_in_changes():
    per_epoch = HEALTHY_SCHEDULES["CosineAnnealingLR(T_max=epochs) per epoch"]()
    one_cycle = HEALTHY_SCHEDULES["OneCycleLR per batch, whole run"]()
    assert lr_changes(per_epoch) == EPOCHS - 1
    assert lr_changes(one_cycle) == len(one_cycle) - 1
    assert judge_loop(loop_with_lrs([0.1] * 50)).facts["loop.lr_changes"] == 0


def test_cosine_over_epochs_stepped_per_batch_rises_after_its_minimum():
    lrs = lr_series(lambda o: sched.CosineAnnealingLR(o, T_max=EPOCHS), 200)
    facts = judge_loop(loop_with_lrs(lrs)).facts
    assert facts["loop.lr_rises_after_min"] is True
    assert facts["loop.lr_schedule_exhausted"] is True
    assert facts["loop.lr_changes"] >= 190
    assert facts["loop.lr_reaches_zero"] is False  # one step at 0 is not a stalled schedule
    assert diagnosed(loop_with_lrs(lrs))[0] == "scheduler_stepped_per_batch"


def test_cosine_rise_is_seen_without_an_epoch_length():
    lrs = lr_series(lambda o: sched.CosineAnnealingLR(o, T_max=100), 200)  # T_max > epoch
    m = loop_with_lrs(lrs, loader=None)
    assert "loop.lr_schedule_exhausted" not in judge_loop(m).facts
    assert judge_loop(m).facts["loop.lr_rises_after_min"] is True
    assert diagnosed(m)[0] == "scheduler_stepped_per_batch"


@pytest.mark.parametrize("step_size,loader", [(10, L), (30, 391)])
def test_step_lr_in_epochs_stepped_per_batch_is_exhausted_within_the_epoch(step_size, loader):
    lrs = lr_series(lambda o: sched.StepLR(o, step_size=step_size, gamma=0.1), 200)
    assert min(lrs) <= 1.01e-6 * lrs[0]  # about 1e-6 of the start within 200 batches
    facts = judge_loop(loop_with_lrs(lrs, loader=loader)).facts
    assert facts["loop.lr_schedule_exhausted"] is True
    assert facts["loop.lr_rises_after_min"] is False
    assert diagnosed(loop_with_lrs(lrs, loader=loader))[0] == "scheduler_stepped_per_batch"


def test_exhaustion_is_unknown_until_the_watch_covers_the_window():
    lrs = lr_series(lambda o: sched.StepLR(o, step_size=100, gamma=0.1), 150)
    assert "loop.lr_schedule_exhausted" not in judge_loop(loop_with_lrs(lrs, loader=391)).facts


@pytest.mark.parametrize("factor", [lambda s: max(0.0, 1 - s / EPOCHS), lambda s: 1 - s / EPOCHS],
                         ids=["clamped at 0", "negative"])
def test_lambda_lr_that_reaches_zero_is_scheduler_misuse(factor):
    lrs = lr_series(lambda o: sched.LambdaLR(o, factor), 200)
    facts = judge_loop(loop_with_lrs(lrs)).facts
    assert facts["loop.lr_reaches_zero"] is True
    assert "scheduler_misuse" in diagnosed(loop_with_lrs(lrs))[:2]


def test_a_warm_up_from_zero_is_not_a_zero_rate():
    lrs = lr_series(lambda o: sched.LambdaLR(o, _warmup_then_linear(400, 50)), 200)
    assert lrs[0] == 0.0
    assert judge_loop(loop_with_lrs(lrs)).facts["loop.lr_reaches_zero"] is False


def test_schedule_facts_on_short_or_empty_series():
    assert "loop.lr_changes" not in judge_loop(LoopMeasurements()).facts
    facts = judge_loop(LoopMeasurements(lrs=[0.1, float("nan")])).facts
    assert "loop.lr_changes" not in facts  # one finite rate says nothing
    facts = judge_loop(LoopMeasurements(lrs=[0.1, 0.05])).facts
    assert facts["loop.lr_changes"] == 1
    assert "loop.lr_rises_after_min" not in facts and "loop.lr_reaches_zero" not in facts


def test_scheduler_warning_is_misuse_unless_a_grad_scaler_skipped_the_first_step():
    p = torch.nn.Parameter(torch.zeros(1))
    opt = SGD([p], lr=0.1)
    scheduler = sched.StepLR(opt, 1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scheduler.step()  # before any optimizer.step(): PyTorch's own warning
    assert any("before `optimizer.step()`" in str(w.message) for w in caught)
    warned = LoopMeasurements(scheduler_before_optimizer_warned=True, optimizers=1)
    assert judge_loop(warned).facts["loop.scheduler_before_optimizer"] is True
    assert "scheduler_misuse" in diagnosed(warned)
    warned.amp_skipped_steps = 2
    assert "scheduler_misuse" not in diagnosed(warned)
    assert judge_loop(LoopMeasurements()).facts["loop.scheduler_before_optimizer"] is False


def test_epoch_length_in_optimizer_steps():
    accumulating = LoopMeasurements(loader_lengths=[400], backwards_per_step=[4] * 10)
    assert epoch_steps(accumulating) == 100
    several = LoopMeasurements(loader_lengths=[391, 79, 10000], eval_switch_steps=[390, 781])
    assert epoch_steps(several) == 391
    assert epoch_steps(LoopMeasurements(loader_lengths=[391, 10000])) == 391  # the shortest
    assert epoch_steps(LoopMeasurements(eval_switch_steps=[0, 64, 128])) == 64
    assert epoch_steps(LoopMeasurements()) is None


# ------------------------------------------------------------------ zero_grad
@pytest.mark.parametrize("every,expected", [(0, 1.0), (2, 0.5), (4, 0.75)])
def test_zero_grad_missing_or_every_n_steps(every, expected):
    checked = 199
    stale = checked if every == 0 else round(checked * (every - 1) / every)
    m = LoopMeasurements(optimizers=1, optimizer_steps=200, backward_passes=200,
                         stale_grad_steps=stale, stale_checked_steps=checked)
    fraction = judge_loop(m).facts["loop.stale_grad_fraction"]
    assert fraction == pytest.approx(expected, abs=0.01)
    assert diagnosed(m)[0] == "missing_zero_grad"


@pytest.mark.parametrize("name", ["zero_grad()", "zero_grad(set_to_none=True)",
                                  "accumulation over 4, zero_grad after the step"])
def test_healthy_zeroing_is_silent(name):
    k = 4 if "accumulation" in name else 1
    m = LoopMeasurements(optimizers=1, optimizer_steps=50, backward_passes=50 * k,
                         grad_forwards=50 * k, backwards_per_step=[k] * 50,
                         stale_grad_steps=0, stale_checked_steps=49,
                         accumulation_scaled_backwards=50 * k if k > 1 else 0,
                         train_mode_backwards=50 * k, optimizer_tensors=4,
                         optimizer_tensors_with_grad=4, params_changed=True)
    facts = judge_loop(m).facts
    assert facts["loop.stale_grad_fraction"] == 0.0
    assert facts["loop.accumulation_steps"] == k
    assert not LOOP_IDS & set(diagnosed(m))


def test_missing_zero_grad_outranks_the_high_learning_rate_it_imitates():
    m = LoopMeasurements(optimizers=1, optimizer_steps=200, backward_passes=200,
                         stale_grad_steps=199, stale_checked_steps=199)
    passive = {"loss.trend": "diverging", "loss.relative_decrease": -3.0,
               "update.ratio_median": 0.3, "grad.norm_growth": 40.0, "grad.max_norm": 5e3,
               "loss.nonfinite": False, "grad.nonfinite": False,
               "optim.kind": "sgd", "optim.lr": 0.05}
    result = engine().diagnose({**judge_loop(m).facts, **passive})
    ranked = [c.id for c in result.diagnoses]
    assert ranked[0] == "missing_zero_grad"
    assert result.get("lr_too_high").certainty < 0.5 * result.get("missing_zero_grad").certainty
    assert "missing_zero_grad" in result.get("exploding_gradients").explained_by


def test_manual_updates_that_never_zero():
    m = LoopMeasurements(backward_passes=100, manual_updates=99, manual_stale_updates=99,
                         params_changed=True)
    facts = judge_loop(m).facts
    assert facts["loop.stale_grad_fraction"] == 1.0
    assert facts["loop.optimizer_step_missing"] is False  # the manual update is a step
    assert diagnosed(m)[0] == "missing_zero_grad"
    zeroed = LoopMeasurements(backward_passes=100, manual_updates=99, params_changed=True)
    assert judge_loop(zeroed).facts["loop.stale_grad_fraction"] == 0.0


def test_too_few_checked_steps_leave_the_fraction_unknown():
    m = LoopMeasurements(optimizers=1, optimizer_steps=3, stale_grad_steps=2,
                         stale_checked_steps=2)
    assert "loop.stale_grad_fraction" not in judge_loop(m).facts


# ------------------------------------------------------------------ backward twice
def test_backward_twice_every_step():
    m = LoopMeasurements(optimizers=1, optimizer_steps=100, backward_passes=200,
                         grad_forwards=100, repeated_backwards=100,
                         backwards_per_step=[2] * 100, accumulation_unscaled_backwards=200)
    facts = judge_loop(m).facts
    assert facts["loop.repeated_backward_fraction"] == 0.5
    ids = diagnosed(m)
    assert ids[0] == "double_backward"
    assert "accumulation_without_loss_scaling" not in ids  # a repeat is not a micro-batch


def test_repeated_backward_needs_a_few_passes():
    assert "loop.repeated_backward_fraction" not in judge_loop(
        LoopMeasurements(backward_passes=2, repeated_backwards=1)).facts


def test_error_messages_of_real_autograd_failures_are_classified():
    with pytest.raises(RuntimeError) as no_graph:
        with torch.no_grad():
            loss = (torch.nn.Parameter(torch.ones(2)) * 2).sum()
        loss.backward()
    p = torch.nn.Parameter(torch.ones(2))
    loss = (p * p).sum()
    loss.backward()
    with pytest.raises(RuntimeError) as twice:
        loss.backward()
    assert classify_error("RuntimeError", str(no_graph.value)) == "no_grad_fn"
    assert classify_error("RuntimeError", str(twice.value)) == "backward_twice"
    assert classify_error("ValueError", "bad shape") == "other"
    assert classify_error(None, None) == "none"
    m = LoopMeasurements(error_type="RuntimeError", error_message=str(no_graph.value))
    assert diagnosed(m)[0] == "no_gradient_flow"
    m = LoopMeasurements(error_type="RuntimeError", error_message=str(twice.value))
    assert diagnosed(m)[0] == "double_backward"


# ------------------------------------------------------------------ eval mode, validation
def _epochs_with_validation(left_in_eval: bool, val_backward: bool) -> LoopMeasurements:
    """200 steps of 64-batch epochs, a validation pass of 8 batches after each epoch."""
    switches = [64] if left_in_eval else [64, 128, 192]
    m = LoopMeasurements(optimizers=1, optimizer_steps=200, backward_passes=200,
                         grad_forwards=200, backwards_per_step=[1] * 200,
                         mode_dependent_layers=["BatchNorm1d", "Dropout"],
                         eval_switch_steps=switches, stale_checked_steps=199,
                         optimizer_tensors=6, optimizer_tensors_with_grad=6,
                         params_changed=True)
    if left_in_eval:
        m.train_mode_backwards, m.eval_mode_backwards = 64, 136
        m.eval_backwards = m.eval_backward_leaks = 136
    else:
        m.train_mode_backwards = 200
    if val_backward:
        m.eval_mode_backwards += 24
        m.eval_backwards += 24
        m.backward_passes += 24
        m.eval_backward_leaks += 3  # the first step after each validation pass
    return m


def test_model_left_in_eval_mode_after_validation():
    m = _epochs_with_validation(left_in_eval=True, val_backward=False)
    facts = judge_loop(m).facts
    assert facts["loop.eval_mode_train_fraction"] == pytest.approx(0.68)
    assert facts["loop.eval_mode_steps"] == 135
    ids = diagnosed(m)
    assert ids[0] == "model_left_in_eval_mode"
    assert "validation_gradients_leak" not in ids


def test_validation_backward_that_leaks_into_the_next_step():
    m = _epochs_with_validation(left_in_eval=False, val_backward=True)
    facts = judge_loop(m).facts
    assert facts["loop.eval_mode_steps"] == 0
    assert facts["loop.eval_backward_leaks"] == 3
    ids = diagnosed(m)
    assert ids[0] == "validation_gradients_leak"
    assert "model_left_in_eval_mode" not in ids


def test_validation_in_eval_mode_under_no_grad_is_silent():
    m = _epochs_with_validation(left_in_eval=False, val_backward=False)
    facts = judge_loop(m).facts
    assert facts["loop.eval_mode_train_fraction"] == 0.0
    assert not LOOP_IDS & set(diagnosed(m))


def test_eval_mode_without_mode_dependent_layers_is_a_weak_finding():
    m = _epochs_with_validation(left_in_eval=True, val_backward=False)
    m.mode_dependent_layers = []
    result = engine().diagnose(judge_loop(m).facts)
    found = result.get("model_left_in_eval_mode")
    assert found is not None and found.certainty < 0.5


def test_eval_mode_without_an_optimizer_counts_eval_backwards():
    m = LoopMeasurements(backward_passes=100, manual_updates=99, params_changed=True,
                         train_mode_backwards=30, eval_mode_backwards=70,
                         mode_dependent_layers=["Dropout"])
    facts = judge_loop(m).facts
    assert facts["loop.eval_mode_steps"] == 70
    assert "loop.eval_backward_leaks" not in facts
    assert diagnosed(m)[0] == "model_left_in_eval_mode"


# ------------------------------------------------------------------ accumulation
def _accumulating(scaled: bool, forwards_per_backward: float = 1.0) -> LoopMeasurements:
    backwards = 200
    return LoopMeasurements(optimizers=1, optimizer_steps=50, backward_passes=backwards,
                            grad_forwards=int(backwards * forwards_per_backward),
                            backwards_per_step=[4] * 50, stale_checked_steps=49,
                            accumulation_scaled_backwards=backwards if scaled else 0,
                            accumulation_unscaled_backwards=0 if scaled else backwards,
                            train_mode_backwards=backwards, optimizer_tensors=4,
                            optimizer_tensors_with_grad=4, params_changed=True)


def test_accumulation_without_dividing_the_loss():
    m = _accumulating(scaled=False)
    facts = judge_loop(m).facts
    assert facts["loop.accumulation_steps"] == 4
    assert facts["loop.accumulation_unscaled"] is True
    assert diagnosed(m)[0] == "accumulation_without_loss_scaling"


def test_accumulation_with_the_loss_divided_is_silent():
    m = _accumulating(scaled=True)
    assert judge_loop(m).facts["loop.accumulation_unscaled"] is False
    assert not LOOP_IDS & set(diagnosed(m))


def test_several_losses_of_one_forward_are_not_accumulation():
    m = _accumulating(scaled=False, forwards_per_backward=0.25)
    assert judge_loop(m).facts["loop.accumulation_unscaled"] is False


def test_unscaled_accumulation_explains_sgd_instability():
    passive = {"loss.trend": "diverging", "update.ratio_median": 0.1, "optim.kind": "sgd",
               "optim.lr": 0.05}
    result = engine().diagnose({**judge_loop(_accumulating(scaled=False)).facts, **passive})
    assert result.diagnoses[0].id == "accumulation_without_loss_scaling"
    assert "accumulation_without_loss_scaling" in result.get("loss_diverging").explained_by


# ------------------------------------------------------------------ steps and gradients
def test_optimizer_step_missing():
    m = LoopMeasurements(optimizers=1, backward_passes=40, grad_forwards=40,
                         train_mode_backwards=40, params_changed=False, optimizer_tensors=4,
                         optimizer_tensors_with_grad=4)
    assert judge_loop(m).facts["loop.optimizer_step_missing"] is True
    assert diagnosed(m, **{"loss.trend": "flat", "loss.relative_decrease": 0.0})[0] == \
        "optimizer_step_missing"


@pytest.mark.parametrize("change", [{"optimizer_steps": 40}, {"amp_skipped_steps": 40},
                                    {"manual_updates": 39}, {"params_changed": True},
                                    {"backward_passes": 4}])
def test_a_step_is_not_missing_when(change):
    m = LoopMeasurements(optimizers=1, backward_passes=40, params_changed=False)
    for name, value in change.items():
        setattr(m, name, value)
    assert judge_loop(m).facts.get("loop.optimizer_step_missing") is not True


def test_no_gradient_reaches_the_optimizer():
    m = LoopMeasurements(optimizers=1, optimizer_steps=20, backward_passes=20,
                         optimizer_tensors=4, optimizer_tensors_with_grad=0,
                         params_changed=False)
    assert judge_loop(m).facts["loop.grad_reach_fraction"] == 0.0
    assert diagnosed(m)[0] == "no_gradient_flow"


def test_optimizer_over_another_model():
    m = LoopMeasurements(optimizers=1, optimizer_steps=20, backward_passes=20,
                         optimizer_tensors=4, optimizer_tensors_with_grad=0,
                         model_tensors_not_in_optimizer=4, optimizer_tensors_outside_models=4,
                         params_changed=False)
    ids = diagnosed(m)
    assert ids[0] == "untrained_parameters"
    assert "no_gradient_flow" not in ids


def test_part_of_the_model_missing_from_the_optimizer_or_without_gradient():
    base = dict(optimizers=1, optimizer_steps=20, backward_passes=20, optimizer_tensors=4,
                params_changed=True)
    missing = LoopMeasurements(**base, optimizer_tensors_with_grad=4,
                               model_tensors_not_in_optimizer=2)
    assert diagnosed(missing)[0] == "untrained_parameters"
    partial = LoopMeasurements(**base, optimizer_tensors_with_grad=3)
    assert judge_loop(partial).facts["loop.grad_reach_fraction"] == 0.75
    assert "untrained_parameters" in diagnosed(partial)
    free_temperature = LoopMeasurements(**base, optimizer_tensors_with_grad=4,
                                        optimizer_tensors_outside_models=1)
    assert not LOOP_IDS & set(diagnosed(free_temperature))


def test_no_optimizer_leaves_the_optimizer_facts_unknown():
    facts = judge_loop(LoopMeasurements(backward_passes=10, manual_updates=9)).facts
    for name in ("loop.grad_reach_fraction", "loop.model_tensors_not_in_optimizer",
                 "loop.optimizer_tensors_outside_models"):
        assert name not in facts


# ------------------------------------------------------------------ AMP, NaN, empty record
def test_amp_with_a_grad_scaler_is_silent_and_persistent_skips_are_overflow():
    calibrating = LoopMeasurements(optimizers=1, optimizer_steps=195, backward_passes=200,
                                   amp_skipped_steps=5, stale_checked_steps=194,
                                   params_changed=True)
    facts = judge_loop(calibrating).facts
    assert facts["loop.amp_skipped_fraction"] == pytest.approx(5 / 200)
    assert not diagnosed(calibrating, **{"loss.trend": "decreasing",
                                         "loss.relative_decrease": 0.5})
    overflowing = LoopMeasurements(optimizers=1, optimizer_steps=140, backward_passes=200,
                                   amp_skipped_steps=60, stale_checked_steps=139,
                                   params_changed=True)
    assert "amp_overflow" in diagnosed(overflowing, **{"loss.trend": "flat",
                                                       "loss.relative_decrease": 0.0})


def test_nonfinite_step_and_module():
    j = judge_loop(LoopMeasurements(nonfinite_step=37, nonfinite_module="encoder.attn"))
    assert j.facts["loop.nonfinite_step"] == 37
    assert j.details["loop_nonfinite_module"] == "encoder.attn"


def test_an_empty_record_is_watched_and_diagnoses_nothing():
    facts = judge_loop(LoopMeasurements()).facts
    assert facts == {"loop.watched": True, "loop.optimizer_steps": 0,
                     "loop.backward_passes": 0, "loop.optimizers": 0,
                     "loop.scheduler_before_optimizer": False, "loop.amp_skipped_steps": 0,
                     "loop.error": "none"}
    assert diagnosed(LoopMeasurements()) == []


def test_every_loop_fact_is_declared_in_the_catalogue():
    kb = engine().kb
    records = [loop_with_lrs(lr_series(lambda o: sched.CosineAnnealingLR(o, T_max=10), 60)),
               _epochs_with_validation(left_in_eval=True, val_backward=True),
               _accumulating(scaled=False),
               LoopMeasurements(optimizers=1, backward_passes=9, amp_skipped_steps=3,
                                nonfinite_step=2, error_type="RuntimeError",
                                error_message="x")]
    names = set().union(*(judge_loop(m).facts for m in records))
    assert names == {n for n in kb.facts if n.startswith("loop.")}
    for m in records:
        for name, value in judge_loop(m).facts.items():
            assert kb.facts[name].accepts(value), (name, value)
            assert not (isinstance(value, float) and math.isnan(value))


def test_loop_rules_never_fire_on_a_probe_report():
    loop_rules = [r for r in engine().kb.rules.values() if r.location.file.endswith("loop.yaml")]
    assert LOOP_IDS - {"untrained_parameters"} <= {r.id for r in loop_rules}
    for rule in loop_rules:
        # trial evidence (advisor.kb.trials) is measured only for a diagnosis that already
        # fired: --verify tries the remedies of the probe's diagnoses, never of a loop one
        if "trial-evidence" in rule.tags:
            assert rule.concludes in LOOP_IDS | {r.id for r in loop_rules}, rule.id
            continue
        assert _needs_loop_fact(rule.when), rule.id


def _needs_loop_fact(cond) -> bool:
    """Whether the condition can only hold when some loop.* fact is known."""
    if isinstance(cond, FactTest):
        return cond.fact.startswith("loop.")
    if isinstance(cond, AllOf):
        return any(_needs_loop_fact(p) for p in cond.parts)
    if isinstance(cond, AnyOf):
        return all(_needs_loop_fact(p) for p in cond.parts)
    return False


def test_a_mild_step_schedule_stepped_per_batch_is_seen_by_its_plateau_drops():
    """StepLR(step_size=10, gamma=0.5) meant in epochs, stepped per batch: four halvings in the
    first 45 batches (1/16 of the start), too mild for the three-decade collapse."""
    lrs = lr_series(lambda o: sched.StepLR(o, step_size=10, gamma=0.5), 200)
    assert lrs[44] > COLLAPSE_FRACTION * lrs[0]
    facts = judge_loop(loop_with_lrs(lrs)).facts
    assert facts["loop.lr_schedule_exhausted"] is True
    assert diagnosed(loop_with_lrs(lrs))[0] == "scheduler_stepped_per_batch"


@pytest.mark.parametrize("name,make", [
    ("StepLR(step_size=100 iterations, gamma=0.1)",
     lambda o: sched.StepLR(o, step_size=100, gamma=0.1)),
    ("StepLR(step_size=5 iterations, gamma=0.98)",
     lambda o: sched.StepLR(o, step_size=5, gamma=0.98)),
    ("MultiStepLR milestones in iterations", lambda o: sched.MultiStepLR(o, [120, 180], 0.1)),
    ("ExponentialLR(0.999) per batch", lambda o: sched.ExponentialLR(o, 0.999)),
])
def test_per_iteration_step_schedules_stay_silent(name, make):
    lrs = lr_series(make, 200)
    m = loop_with_lrs(lrs)
    m.stopped_by_watch = True
    assert judge_loop(m).facts.get("loop.lr_schedule_exhausted") is not True, name
    assert not SCHEDULE_IDS & set(diagnosed(m)), name


def test_an_epoch_decay_stepped_per_batch_collapses_while_training_goes_on():
    """ExponentialLR(gamma=0.93) meant per epoch, stepped per batch: 4 % of the rate left at
    the end of the first epoch (no three-decade collapse there, no plateau), 2e-6 by step 180,
    and the script was still training when the watch stopped it. Had the script ended by
    itself, its schedule might rightly have ended near 0: no verdict."""
    lrs = lr_series(lambda o: sched.ExponentialLR(o, 0.93), 200)
    m = loop_with_lrs(lrs)
    assert judge_loop(m).facts.get("loop.lr_schedule_exhausted") is not True
    m.stopped_by_watch = True
    assert judge_loop(m).facts["loop.lr_schedule_exhausted"] is True
    assert diagnosed(m)[0] == "scheduler_stepped_per_batch"


@pytest.mark.parametrize("name", list(HEALTHY_SCHEDULES))
def test_healthy_schedules_stay_silent_when_the_watch_stops_the_script(name):
    m = loop_with_lrs(HEALTHY_SCHEDULES[name]())
    m.stopped_by_watch = True
    assert judge_loop(m).facts.get("loop.lr_schedule_exhausted") is not True
