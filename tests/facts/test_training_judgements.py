"""The training, LR range and overfit judgements on hand-made numbers (no torch)."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np

from advisor.facts.lr_range import Sweep, suggest
from advisor.facts.overfit import OverfitResult, conclude, fallback_rate
from advisor.facts.training import (
    TrainingMeasurements,
    first_last,
    gap_ratio,
    judge_gradients,
    judge_training,
)


def falling(n: int = 100, seed: int = 0) -> list[float]:
    rng = np.random.default_rng(seed)
    return list(2.3 * np.exp(-np.arange(n) / 30) + 0.05 * rng.standard_normal(n) + 0.1)


def test_a_complete_run_gets_its_trend():
    j = judge_training(TrainingMeasurements(losses=falling(), planned=100, initial_loss=2.4))
    assert j.facts["loss.trend"] == "decreasing"
    assert j.facts["loss.relative_decrease"] > 0.5
    assert j.facts["loss.nonfinite"] is False


def test_a_capped_flat_looking_run_has_no_trend_and_says_why():
    flat = [1.0 + 0.01 * ((-1) ** i) for i in range(40)]
    j = judge_training(TrainingMeasurements(losses=flat, planned=200, capped=True))
    assert "loss.trend" not in j.facts and "loss.relative_decrease" not in j.facts
    assert j.details["loss_trend_if_complete"] == "flat"
    assert any("40 of 200 steps" in n for n in j.notes)


def test_a_capped_run_still_reports_a_nan():
    j = judge_training(TrainingMeasurements(losses=[1.0, 2.0, math.nan], planned=200,
                                            capped=True, first_nonfinite_step=2))
    assert j.facts["loss.trend"] == "nonfinite" and j.facts["loss.first_nonfinite_step"] == 2


def test_gradient_growth_needs_a_complete_run():
    norms = [1.0] * 10 + [50.0] * 10
    whole = judge_gradients(TrainingMeasurements(losses=[1.0] * 20, planned=20,
                                                 global_norms=norms))
    cut = judge_gradients(TrainingMeasurements(losses=[1.0] * 20, planned=200, capped=True,
                                               global_norms=norms))
    assert whole.facts["grad.norm_growth"] == 50.0
    assert "grad.norm_growth" not in cut.facts and cut.facts["grad.max_norm"] == 50.0


def test_first_and_last_layer_follow_execution_order():
    assert first_last(["b", "a"], ["a.weight", "b.weight"]) == ("b.weight", "a.weight")
    assert first_last([], ["x.weight"]) == (None, None)


def test_gap_ratio_floors_a_nearly_zero_training_loss():
    assert gap_ratio(0.09, 0.03, 2.3) == (0.09 - 0.03) / (0.25 * 2.3)
    assert gap_ratio(1.5, 1.0, 2.3) == 0.5


def test_lr_sweep_cut_short_suggests_nothing():
    lrs = list(np.geomspace(1e-7, 1e-3, 40))
    losses = [2.3 - 0.02 * i for i in range(40)]
    assert suggest(Sweep(lrs=lrs, losses=losses, stopped="capped")).suggested is None
    full = suggest(Sweep(lrs=lrs, losses=losses, stopped=""))
    assert full.minimum is not None


def test_overfit_attempt_cut_short_is_inconclusive():
    losses = [1.0] * 120
    assert conclude(OverfitResult(losses=list(losses)), capped=True).conclusive is False
    assert conclude(OverfitResult(losses=list(losses)), capped=False).conclusive is True
    assert conclude(OverfitResult(losses=[1.0] * 10 + [0.01]), capped=True).passed


def test_overfit_fallback_plan():
    assert fallback_rate("adam", 1e-3, None) == ("none", None)
    assert fallback_rate("adam", 1e-5, None) == ("suggested", 1e-3)
    assert fallback_rate("sgd", 0.1, 0.09) == ("none", None)
    assert fallback_rate("sgd", 1e-6, None) == ("adam", 1e-3)


def test_the_judgements_import_no_torch():
    code = ("import sys, advisor.facts.training, advisor.facts.lr_range, advisor.facts.overfit, "
            "advisor.facts.curves\nprint('torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.stdout.strip() == "False", done.stderr


def test_an_overfit_test_that_could_not_run_says_so():
    """It was silent (no fact, no note) when slicing a sequence-major batch broke the step."""
    from advisor.facts.overfit import judge_overfit

    j = judge_overfit(OverfitResult(failed=True, error="RuntimeError: shape mismatch"))
    assert not j.facts
    assert any("could not run" in n and "shape mismatch" in n for n in j.notes)
