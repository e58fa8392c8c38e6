"""The overfit test's verdict relative to what the model can reach, and "not finished" for a
loss still falling when the steps run out (issue 9, generality fixes)."""

from __future__ import annotations

import numpy as np

from advisor.facts.overfit import OverfitResult, conclude, judge_overfit


def _noisy(values, seed=0, scale=0.01):
    rng = np.random.default_rng(seed)
    return [float(v * (1 + scale * rng.standard_normal())) for v in values]


def test_a_loss_still_falling_in_a_straight_line_is_not_finished():
    """It was 'cannot overfit' (passed False, ratio 0.3): an error for slow progress."""
    res = conclude(OverfitResult(losses=_noisy(np.linspace(1.0, 0.3, 300))), capped=False)
    assert res.unfinished and not res.conclusive
    j = judge_overfit(res)
    assert "overfit.passed" not in j.facts
    assert any("did not finish" in n for n in j.notes)


def test_a_stuck_loss_still_cannot_overfit():
    losses = _noisy(list(np.linspace(1.0, 0.8, 60)) + [0.8] * 240)
    res = conclude(OverfitResult(losses=losses), capped=False)
    assert not res.unfinished and res.conclusive and not res.passed
    assert judge_overfit(res).facts["overfit.passed"] is False


def test_a_slow_drift_of_a_stuck_loss_is_not_unfinished():
    """A wiring fault's loss may creep down; far slower than halving it in another run."""
    losses = _noisy(list(np.linspace(2.3, 1.6, 50)) + list(np.linspace(1.6, 1.55, 250)),
                    scale=0.002)
    res = conclude(OverfitResult(losses=losses), capped=False)
    assert not res.unfinished and res.passed is False


def test_memorising_far_below_the_whole_data_level_passes():
    """A narrow-bottleneck autoencoder or a batch of hundreds of targets levels off above 5 %
    of its start, but far below what the model reaches on the whole data."""
    losses = _noisy(list(np.linspace(1.0, 0.2, 100)) + [0.2] * 200)
    assert conclude(OverfitResult(losses=list(losses)), capped=False).passed is False
    assert conclude(OverfitResult(losses=list(losses), reference=0.6, reference_start=1.0),
                    capped=False).passed


def test_the_whole_data_bar_needs_a_training_run_that_learned():
    """A fault that keeps the whole data near its start (2.29 of 2.37) makes half its level
    no bar at all: the absolute one stands."""
    losses = _noisy(list(np.linspace(2.37, 1.07, 100)) + [1.07] * 200)
    res = conclude(OverfitResult(losses=losses, reference=2.29, reference_start=2.37),
                   capped=False)
    assert res.conclusive and not res.passed


def test_a_small_batch_stuck_at_the_whole_data_level_fails():
    losses = _noisy(list(np.linspace(1.0, 0.55, 100)) + [0.55] * 200)
    res = conclude(OverfitResult(losses=losses, reference=0.6, reference_start=1.0),
                   capped=False)
    assert res.conclusive and not res.passed


def test_the_verdict_is_measured_above_the_loss_floor():
    """A binary cross-entropy against soft targets (a VAE on grey pixels) cannot fall below
    the targets' entropy: memorised down to it is memorised."""
    losses = _noisy(list(np.linspace(1.0, 0.61, 100)) + [0.61] * 200, scale=0.001)
    assert conclude(OverfitResult(losses=list(losses)), capped=False).passed is False
    assert conclude(OverfitResult(losses=list(losses), floor=0.6), capped=False).passed


def test_the_floor_of_element_wise_loss_terms():
    import torch
    import torch.nn.functional as F

    from advisor.probing.collectors.loss import LossFloor

    t = torch.tensor([[0.2, 0.5, 1.0, 0.0]])
    p = torch.full_like(t, 0.5)
    floor = LossFloor()
    with floor:
        F.binary_cross_entropy(p, t, reduction="sum") + F.mse_loss(p, t) + (p ** 2).sum()
    entropy = float(F.binary_cross_entropy(t, t, reduction="sum"))
    assert floor.terms == 2 and abs(floor.floor - entropy) < 1e-6 and entropy > 0.5
