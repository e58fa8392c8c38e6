"""Whole-run facts from logged series (advisor.facts.logs) on generated, seeded series: a
healthy noisy run stays clean, and each failure kind yields its fact at the right step."""

from __future__ import annotations

import time

import numpy as np
import pytest

from advisor.facts.logs import judge_logs
from advisor.logs.run import LoggedRun, Series

N = 50_000
ALARMS = ("logs.loss_nonfinite", "logs.unrecovered_spike", "logs.diverged",
          "logs.divergence_step", "logs.oscillating", "logs.overfitting",
          "logs.overfit_onset_step", "logs.lr_restart",
          "logs.grad_spikes_lead_loss_spikes")


def make_run(**series: tuple[np.ndarray, np.ndarray]) -> LoggedRun:
    """A run whose tags are the role names themselves."""
    made = {role: Series(role, np.asarray(s, dtype=np.int64), np.asarray(v, dtype=np.float64))
            for role, (s, v) in series.items()}
    return LoggedRun("gen", "csv", "gen.csv", made, {r: r for r in made})


def warmup_cosine(steps: np.ndarray, peak: float = 3e-4, warm: int = 2000,
                  total: int = N) -> np.ndarray:
    up = peak * (steps + 1) / warm
    t = np.clip((steps - warm) / (total - warm), 0, 1)
    return np.where(steps < warm, up, peak * 0.5 * (1 + np.cos(np.pi * t)))


def healthy_loss(rng: np.random.Generator, steps: np.ndarray, noise: float = 0.05,
                 floor: float = 1.0, tails: bool = False) -> np.ndarray:
    """A falling loss with multiplicative per-batch noise (5 % of the level); `tails`:
    Student-t(4) noise of the same spread (hard batches now and then)."""
    level = floor + 2.0 * np.exp(-steps / 8000)
    draw = rng.standard_t(4, len(steps)) / np.sqrt(2) if tails else \
        rng.standard_normal(len(steps))
    return level * (1 + noise * draw)


def clipped_norms(rng: np.random.Generator, steps: np.ndarray, cap: float = 1.0) -> np.ndarray:
    """Norms logged after clipping: large early (pinned at the cap), then under it."""
    raw = 0.4 * (1 + 3 * np.exp(-steps / 3000)) * np.exp(0.2 * rng.standard_normal(len(steps)))
    return np.minimum(raw, cap)


def healthy_run(seed: int = 0, tails: bool = False) -> LoggedRun:
    rng = np.random.default_rng(seed)
    s = np.arange(N)
    vs = np.arange(1000, N + 1, 1000)
    val = 1.1 + 2.0 * np.exp(-vs / 8000) + 0.005 * rng.standard_normal(len(vs))
    return make_run(loss=(s, healthy_loss(rng, s, tails=tails)), lr=(s, warmup_cosine(s)),
                    grad_norm=(s, clipped_norms(rng, s)), val_loss=(vs, val))


@pytest.mark.parametrize("tails", [False, True], ids=["gaussian", "heavy-tailed"])
def test_healthy_run_raises_no_alarm(tails: bool):
    j = judge_logs(healthy_run(tails=tails))
    f = j.facts
    assert f["logs.loss_nonfinite"] is False
    assert f["logs.spike_count"] == 0
    assert f["logs.diverged"] is False and "logs.divergence_step" not in f
    assert f["logs.oscillating"] is False
    assert f["logs.overfitting"] is False and "logs.overfit_onset_step" not in f
    assert f["logs.plateau_fraction"] < 0.35
    assert f["logs.lr_warmup"] is True and f["logs.lr_decayed"] is True
    assert f["logs.lr_restart"] is False
    assert f["logs.lr_zero_fraction"] < 0.05     # a cosine to 0 touches 0 only at its end
    assert f["logs.grad_norm_clipped"] is True   # clipping at work: visible, not an alarm
    assert f["logs.grad_spike_count"] == 0
    assert "logs.grad_spikes_lead_loss_spikes" not in f   # no loss spike to lead
    assert 0 < f["logs.train_val_gap"] < 0.2
    trends = j.details["loss_trend_segments"]
    assert trends[:2] == ["decreasing", "decreasing"]
    assert "increasing" not in trends
    assert not any(f.get(k) for k in ALARMS)


def test_nan_at_step_30000_of_50000():
    rng = np.random.default_rng(1)
    s = np.arange(N)
    loss = healthy_loss(rng, s)
    loss[30_000:] = np.nan
    loss[30_500] = np.inf
    f = judge_logs(make_run(loss=(s, loss), lr=(s, warmup_cosine(s)))).facts
    assert f["logs.loss_nonfinite"] is True
    assert f["logs.first_nonfinite_step"] == 30_000
    assert f["logs.diverged"] is False   # the finite part was healthy


def test_hidden_nan_from_huggingface_counts_as_nonfinite():
    rng = np.random.default_rng(2)
    s = np.arange(0, N, 10)
    loss = healthy_loss(rng, s)
    loss[s >= 40_000] = 0.0
    run = make_run(loss=(s, loss))
    run.hidden_nan_steps = [int(x) for x in s[s >= 40_000]]
    j = judge_logs(run)
    assert j.facts["logs.loss_nonfinite"] is True
    assert j.facts["logs.first_nonfinite_step"] == 40_000
    assert j.details["loss_points"]["used"] == 4_000   # the 0.0 stand-ins are left out
    assert j.facts["logs.spike_count"] == 0


def spiked_loss(rng: np.random.Generator, s: np.ndarray, at: int, height: float,
                decay: float | None) -> np.ndarray:
    """A healthy loss plus a jump of `height` at step `at` that decays with time constant
    `decay` steps (None: it stays)."""
    loss = healthy_loss(rng, s)
    after = s >= at
    bump = np.full(after.sum(), height) if decay is None else \
        height * np.exp(-(s[after] - at) / decay)
    loss[after] += bump
    return loss


def test_unrecovered_spike():
    rng = np.random.default_rng(3)
    s = np.arange(N)
    f = judge_logs(make_run(loss=(s, spiked_loss(rng, s, 25_000, 0.6, None)))).facts
    assert f["logs.spike_count"] == 1
    assert f["logs.unrecovered_spike"] is True
    assert f["logs.spike_max_size"] > 8
    assert f["logs.diverged"] is False   # a jump that stayed, not a run-away


def test_recovered_spike():
    rng = np.random.default_rng(4)
    s = np.arange(N)
    run = make_run(loss=(s, spiked_loss(rng, s, 25_000, 1.5, 150.0)))
    j = judge_logs(run)
    assert j.facts["logs.spike_count"] == 1
    assert j.facts["logs.unrecovered_spike"] is False
    spike = j.details["loss_spikes"][0]
    assert 25_000 <= spike["start_step"] <= 25_010
    assert 25_000 < spike["recovery_step"] < 26_500


def test_divergence_onset():
    rng = np.random.default_rng(5)
    s = np.arange(N)
    level = 1.0 + 2.0 * np.exp(-s / 4000)
    level = level + np.where(s > 30_000, np.expm1((s - 30_000) / 6000), 0.0)
    loss = level * (1 + 0.05 * rng.standard_normal(N))
    j = judge_logs(make_run(loss=(s, loss)))
    f = j.facts
    assert f["logs.diverged"] is True
    assert 29_500 <= f["logs.divergence_step"] <= 31_500   # left its lowest for good
    assert j.details["loss_trend_segments"][-1] == "increasing"
    assert f["logs.loss_trend_last"] == "increasing"


def test_plateau():
    rng = np.random.default_rng(6)
    s = np.arange(N)
    level = 1.0 + 2.0 * np.exp(-s / 800)
    loss = level * (1 + 0.05 * rng.standard_normal(N))
    j = judge_logs(make_run(loss=(s, loss)))
    f = j.facts
    assert f["logs.plateau_fraction"] > 0.8
    assert j.details["loss_trend_segments"][1:] == ["flat", "flat", "flat"]
    assert f["logs.diverged"] is False


def test_overfitting_onset():
    rng = np.random.default_rng(7)
    s = np.arange(N)
    vs = np.arange(1000, N + 1, 1000)
    val = 1.2 + 2.0 * np.exp(-vs / 5000) + np.where(vs > 20_000, (vs - 20_000) / 40_000, 0)
    val += 0.005 * rng.standard_normal(len(vs))
    j = judge_logs(make_run(loss=(s, healthy_loss(rng, s, floor=0.5)), val_loss=(vs, val)))
    assert j.facts["logs.overfitting"] is True
    assert 18_000 <= j.facts["logs.overfit_onset_step"] <= 23_000
    assert j.facts["logs.train_val_gap"] > 0.5
    assert j.details["overfit"]["train_still_falling"] is True


@pytest.mark.parametrize("schedule", ["linear", "step"])
def test_epoch_schedule_exhausted_in_first_epoch(schedule: str):
    """Schedules sized in epochs (20) stepped every batch (1,000 per epoch): a linear decay
    is 0 after 20 of 20,000 steps; StepLR(step_size=30, gamma=0.1) is never 0 but three
    decades down after 90 steps."""
    rng = np.random.default_rng(8)
    s = np.arange(20_000)
    if schedule == "linear":
        lr, at = np.maximum(1e-3 * (1 - s / 20), 0.0), (20,)
    else:
        lr, at = 1e-3 * 0.1 ** (s // 30), (90, 120)
    epoch = s / 1000
    f = judge_logs(make_run(loss=(s, healthy_loss(rng, s)), lr=(s, lr),
                            epoch=(s, epoch))).facts
    assert f["logs.lr_zero_step"] in at
    assert f["logs.lr_zero_fraction"] > 0.99
    assert f["logs.lr_zero_epoch"] < 1
    assert f["logs.lr_warmup"] is False


def test_cosine_warm_restarts_and_the_loss_rises_they_cause():
    """SGDR: the loss jumps up at each restart and takes the cycle to come back. That is
    the schedule at work, not a spike that cost the run."""
    rng = np.random.default_rng(16)
    s = np.arange(30_000)
    lr = 1e-3 * 0.5 * (1 + np.cos(np.pi * (s % 10_000) / 10_000))
    loss = healthy_loss(rng, s) + 0.6 * np.where(s >= 10_000, np.exp(-(s % 10_000) / 4000), 0)
    j = judge_logs(make_run(loss=(s, loss), lr=(s, lr)))
    assert j.facts["logs.lr_restart"] is True
    assert j.details["lr_restart_steps"] == [10_000, 20_000]
    assert j.facts["logs.spike_count"] == 0
    assert len(j.details["loss_rises_at_lr_restarts"]) == 2
    assert "logs.unrecovered_spike" not in j.facts


def test_grad_spikes_precede_loss_spikes():
    rng = np.random.default_rng(9)
    s = np.arange(N)
    loss = healthy_loss(rng, s)
    grad = 0.5 * np.exp(0.1 * rng.standard_normal(N))
    for at in (12_000, 24_000, 36_000):
        grad[at - 3: at] *= 20
        loss[at: at + 50] += 1.5 * np.exp(-np.arange(50) / 10)
    f = judge_logs(make_run(loss=(s, loss), grad_norm=(s, grad))).facts
    assert f["logs.spike_count"] == 3
    assert f["logs.grad_spike_count"] == 3
    assert f["logs.grad_spikes_lead_loss_spikes"] is True
    assert f["logs.unrecovered_spike"] is False
    assert f["logs.grad_norm_clipped"] is False


def test_loss_spikes_without_grad_spikes_are_not_led():
    rng = np.random.default_rng(10)
    s = np.arange(N)
    loss = healthy_loss(rng, s)
    for at in (12_000, 36_000):
        loss[at: at + 50] += 1.5 * np.exp(-np.arange(50) / 10)
    grad = 0.5 * np.exp(0.1 * rng.standard_normal(N))
    f = judge_logs(make_run(loss=(s, loss), grad_norm=(s, grad))).facts
    assert f["logs.spike_count"] == 2
    assert f["logs.grad_spikes_lead_loss_spikes"] is False


def test_irregular_logging_with_repeats_and_disorder():
    """Gaps of 1 to 200 steps, a resumed stretch logged again (the later rows win), and two
    blocks of rows out of order: the NaN step and the spike are still found at their
    steps."""
    rng = np.random.default_rng(11)
    s = np.cumsum(rng.integers(1, 200, 2_000))
    loss = spiked_loss(rng, s, int(s[1200]), 0.6, None)
    loss[s >= s[1800]] = np.nan
    first_pass = loss[:601] * np.where(np.arange(601) > 500, 5.0, 1.0)  # crashed, resumed
    rows_s, rows_v = np.r_[s[:601], s[501:]], np.r_[first_pass, loss[501:]]
    a, b = slice(1100, 1200), slice(1400, 1500)          # two blocks swapped
    rows_s[a], rows_s[b] = rows_s[b].copy(), rows_s[a].copy()
    rows_v[a], rows_v[b] = rows_v[b].copy(), rows_v[a].copy()
    j = judge_logs(make_run(loss=(rows_s, rows_v)))
    f = j.facts
    assert f["logs.first_nonfinite_step"] == int(s[1800])
    assert f["logs.spike_count"] == 1
    assert j.details["loss_spikes"][0]["start_step"] == int(s[1200])
    assert f["logs.unrecovered_spike"] is True
    assert any("100 steps more than once" in n for n in j.notes)


def test_sparse_series_decide_nothing_about_shape():
    s = np.arange(0, 100, 10)
    f = judge_logs(make_run(loss=(s, np.linspace(2, 1, 10)))).facts
    assert f == {"logs.loss_nonfinite": False}


@pytest.mark.slow
def test_million_points():
    rng = np.random.default_rng(12)
    n = 1_000_000
    s = np.arange(n)
    level = 1.0 + 2.0 * np.exp(-s / 150_000)
    loss = level * (1 + 0.05 * rng.standard_normal(n))
    loss[600_000: 600_000 + 2000] += 1.5 * np.exp(-np.arange(2000) / 300)
    loss[900_000:] = np.nan
    lr = warmup_cosine(s, warm=20_000, total=n)
    grad = np.minimum(0.5 * np.exp(0.2 * rng.standard_normal(n)), 1.0)
    run = make_run(loss=(s, loss), lr=(s, lr), grad_norm=(s, grad))
    t = time.perf_counter()
    f = judge_logs(run).facts
    print(f"\njudge_logs on 3 tags x 1M points: {time.perf_counter() - t:.2f} s")
    assert f["logs.first_nonfinite_step"] == 900_000
    assert f["logs.spike_count"] == 1
    assert f["logs.unrecovered_spike"] is False
    assert f["logs.lr_warmup"] is True
    assert f["logs.diverged"] is False


def test_lone_outlier_batches_are_not_spikes():
    """Fifty single batches at 3x the loss (heavy-tailed data): no spike, no alarm."""
    rng = np.random.default_rng(13)
    s = np.arange(N)
    loss = healthy_loss(rng, s)
    lone = rng.choice(np.arange(100, N, 500), 50, replace=False)
    loss[lone] *= 3
    f = judge_logs(make_run(loss=(s, loss))).facts
    assert f["logs.spike_count"] == 0
    assert f["logs.oscillating"] is False


@pytest.mark.parametrize("kind", ["slow", "batch"])
def test_oscillating_loss(kind: str):
    """A level that swings by 30 % every 2,000 steps, or a loss that jumps between two
    levels from one logged step to the next."""
    rng = np.random.default_rng(14)
    s = np.arange(0, N, 5)
    level = 1.0 + 2.0 * np.exp(-s / 8000)
    if kind == "slow":
        loss = level * (1 + 0.3 * np.sin(2 * np.pi * s / 2000))
    else:
        loss = level * np.where(np.arange(len(s)) % 2, 0.4, 1.6)
    loss = loss * (1 + 0.02 * rng.standard_normal(len(s)))
    f = judge_logs(make_run(loss=(s, loss))).facts
    assert f["logs.oscillating"] is True


def test_sparse_logging_leaves_oscillation_undecided():
    rng = np.random.default_rng(15)
    s = np.arange(0, N, 500)
    f = judge_logs(make_run(loss=(s, healthy_loss(rng, s)))).facts
    assert "logs.oscillating" not in f
    assert "logs.plateau_fraction" in f


def test_overfitting_on_a_log_of_one_line_per_epoch():
    """Keras' CSVLogger writes one row per epoch: 10 training losses are too few for a shape,
    not for the validation judgement beside them."""
    epochs = np.arange(10)
    train = np.array([0.9, 0.7, 0.55, 0.45, 0.38, 0.3, 0.24, 0.2, 0.17, 0.15])
    rising = np.array([1.3, 1.2, 1.15, 1.12, 1.2, 1.3, 1.4, 1.55, 1.7, 1.9])
    j = judge_logs(make_run(loss=(epochs, train), val_loss=(epochs, rising)))
    assert j.facts["logs.overfitting"] is True and j.facts["logs.overfit_onset_step"] == 3
    assert "logs.loss_trend_last" not in j.facts   # still no shape from 10 points
    falling = np.array([1.3, 1.2, 1.1, 1.0, 0.95, 0.9, 0.86, 0.83, 0.8, 0.78])
    j = judge_logs(make_run(loss=(epochs, train), val_loss=(epochs, falling)))
    assert j.facts["logs.overfitting"] is False


def test_nonfinite_validation_loss_while_training_is_finite():
    """An evaluation that overflows (fp16 eval) leaves the training loss finite."""
    steps = np.arange(300)
    train = 2 * np.exp(-steps / 100) + 0.1
    vsteps = np.arange(9, 300, 10)
    val = np.where(vsteps >= 150, np.nan, 2 * np.exp(-vsteps / 100) + 0.2)
    j = judge_logs(make_run(loss=(steps, train), val_loss=(vsteps, val)))
    assert j.facts["logs.val_first_nonfinite_step"] == 159
    assert j.facts["logs.loss_nonfinite"] is False
    j = judge_logs(make_run(loss=(steps, train), val_loss=(vsteps, np.ones(len(vsteps)))))
    assert "logs.val_first_nonfinite_step" not in j.facts
