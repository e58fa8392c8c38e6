"""The knowledge base on whole-run log facts (knowledge/rules/logs.yaml): generated runs, one
per failure kind and several healthy ones, go through the real facts layer
(`advisor.facts.logs.judge_logs`) and the real engine (`advisor.probing.api.diagnose`) with the
built-in base, and each kind must come out as its diagnosis with its severity, while healthy
logs stay clean (no error, at most one warning).

The runs are drawn here with seeds 0..4 and the shapes below. The rules' thresholds were chosen
on runs of other lengths, noise levels and seeds (100 and up), so these tests are not the data
the thresholds were fitted on.
"""

from __future__ import annotations

import numpy as np
import pytest

from advisor.facts.logs import judge_logs
from advisor.kb import load_kb
from advisor.logs.run import LoggedRun, Series
from advisor.probing.api import diagnose

SEEDS = range(5)


# ------------------------------------------------------------------ building runs
def make_run(hidden: tuple[int, ...] = (), **series: tuple[np.ndarray, np.ndarray]) -> LoggedRun:
    """A run whose tags are the role names themselves (loss, val_loss, lr, grad_norm, epoch)."""
    made = {role: Series(role, np.asarray(s, dtype=np.int64), np.asarray(v, dtype=np.float64))
            for role, (s, v) in series.items()}
    run = LoggedRun("gen", "csv", "gen.csv", made, {r: r for r in made})
    run.hidden_nan_steps = [int(x) for x in hidden]
    return run


def falling(s: np.ndarray, n: int, floor: float = 1.0, scale: float = 2.0) -> np.ndarray:
    """A loss level that falls fast, then slowly towards `floor`."""
    return floor + scale * np.exp(-s / (n / 6))


def power_law(s: np.ndarray, n: int, floor: float = 1.8, scale: float = 8.0) -> np.ndarray:
    """A language-model-like level: a + b (1 + s/s0)^-0.5, still creeping down at the end."""
    return floor + scale * (1 + s / (n / 50)) ** -0.5


def noisy(rng: np.random.Generator, level: np.ndarray, noise: float,
          tails: bool = False) -> np.ndarray:
    """Per-batch multiplicative noise of `noise` of the level; `tails`: Student-t(4) draws of
    the same spread (hard batches now and then)."""
    draw = rng.standard_t(4, len(level)) / np.sqrt(2) if tails else \
        rng.standard_normal(len(level))
    return level * (1 + noise * draw)


def warmup_cosine(s: np.ndarray, n: int, peak: float = 3e-4, warm: float = 0.04,
                  floor: float = 0.0) -> np.ndarray:
    """Linear warmup over `warm` of the run, then a cosine down to `floor` of the peak."""
    w = max(int(warm * n), 1)
    t = np.clip((s - w) / max(n - w, 1), 0, 1)
    down = peak * (floor + (1 - floor) * 0.5 * (1 + np.cos(np.pi * t)))
    return np.where(s < w, peak * (s + 1) / w, down)


def warmup_linear(s: np.ndarray, n: int, peak: float = 5e-5, warm: float = 0.06) -> np.ndarray:
    """Hugging Face's default: linear warmup, then linear decay to 0 at the last step."""
    w = max(int(warm * n), 1)
    return np.where(s < w, peak * (s + 1) / w, peak * np.clip((n - s) / max(n - w, 1), 0, 1))


def post_clip_norm(rng: np.random.Generator, s: np.ndarray, n: int,
                   cap: float = 1.0) -> np.ndarray:
    """A gradient norm logged after clipping: above the cap early (pinned there), then under."""
    raw = 0.4 * (1 + 3 * np.exp(-s / (n / 15))) * np.exp(0.25 * rng.standard_normal(len(s)))
    return np.minimum(raw, cap)


def pre_clip_norm(rng: np.random.Generator, s: np.ndarray, n: int) -> np.ndarray:
    """A gradient norm logged before clipping (Hugging Face, Lightning): log-normal noise."""
    return 0.6 * (1 + 2 * np.exp(-s / (n / 10))) * np.exp(0.3 * rng.standard_normal(len(s)))


def val_points(s_val: np.ndarray, n: int, rng: np.random.Generator, floor: float = 1.1,
               scale: float = 2.0, rise_from: float | None = None,
               rise: float = 0.0) -> np.ndarray:
    """A validation loss: falls like the training loss (a little above it); with `rise_from`
    (a share of the run) it turns up by `rise` of its floor per run-length after that."""
    v = floor + scale * np.exp(-s_val / (n / 6))
    if rise_from is not None:
        v = v + rise * floor * np.clip((s_val - rise_from * n) / n, 0, None)
    return v * (1 + 0.004 * rng.standard_normal(len(s_val)))


# ------------------------------------------------------------------ healthy runs
def healthy_cosine(seed: int, n: int = 40_000, every: int = 1, tails: bool = False) -> LoggedRun:
    """Per-step loss with 5 % noise, warmup + cosine to 0, the norm logged after clipping
    (pinned at the cap early on), validation every 2.5 % of the run."""
    rng = np.random.default_rng(seed)
    s = np.arange(0, n, every)
    vs = np.arange(n // 40, n + 1, n // 40)
    return make_run(loss=(s, noisy(rng, falling(s, n), 0.05, tails)),
                    lr=(s, warmup_cosine(s, n)), grad_norm=(s, post_clip_norm(rng, s, n)),
                    val_loss=(vs, val_points(vs, n, rng)))


def healthy_hf(seed: int, n: int = 12_000, every: int = 10, epochs: int = 3) -> LoggedRun:
    """A Hugging Face fine-tune: logged every 10 steps, heavy-tailed noise, linear warmup and
    decay to 0, the pre-clip gradient norm, a fractional epoch, evaluation every 500 steps."""
    rng = np.random.default_rng(seed)
    s = np.arange(every, n + 1, every)
    vs = np.arange(500, n + 1, 500)
    loss = noisy(rng, falling(s, n, floor=0.4, scale=1.5), 0.08, tails=True)
    return make_run(loss=(s, loss), lr=(s, warmup_linear(s, n)),
                    grad_norm=(s, pre_clip_norm(rng, s, n)), epoch=(s, s * epochs / n),
                    val_loss=(vs, val_points(vs, n, rng, floor=0.5, scale=1.4)))


def healthy_pretrain(seed: int, n: int = 100_000, every: int = 5) -> LoggedRun:
    """A language-model pretraining run: power-law loss with 2 % noise, warmup + cosine to 10 %
    of the peak, clipped norms; no validation."""
    rng = np.random.default_rng(seed)
    s = np.arange(0, n, every)
    return make_run(loss=(s, noisy(rng, power_law(s, n), 0.02)),
                    lr=(s, warmup_cosine(s, n, peak=6e-4, warm=0.02, floor=0.1)),
                    grad_norm=(s, post_clip_norm(rng, s, n)))


def healthy_step_epochs(seed: int, epochs: int = 90, batches: int = 400) -> LoggedRun:
    """ImageNet-style: StepLR stepped per epoch (x0.1 at epochs 30 and 60), the loss dropping at
    each decay, no warmup, validation and epoch per epoch, the norm not logged."""
    rng = np.random.default_rng(seed)
    n = epochs * batches
    s = np.arange(n)
    ep = s // batches
    lr = 0.1 * 0.1 ** (ep // 30)
    level = falling(s, n // 3, floor=1.2) - 0.35 * (ep >= 30) - 0.15 * (ep >= 60)
    vs = np.arange(batches, n + 1, batches)
    val = (falling(vs, n // 3, floor=1.35) - 0.35 * (vs >= 30 * batches)
           - 0.15 * (vs >= 60 * batches)) * (1 + 0.004 * rng.standard_normal(len(vs)))
    return make_run(loss=(s, noisy(rng, level, 0.06)), lr=(s, lr), epoch=(s, ep),
                    val_loss=(vs, val))


def healthy_restarts(seed: int, n: int = 30_000, cycles: int = 3) -> LoggedRun:
    """SGDR: cosine with warm restarts; the loss jumps at each restart and comes back."""
    rng = np.random.default_rng(seed)
    s = np.arange(n)
    period = n // cycles
    lr = 1e-3 * 0.5 * (1 + np.cos(np.pi * (s % period) / period))
    bump = 0.5 * np.where(s >= period, np.exp(-(s % period) / (period / 3)), 0)
    return make_run(loss=(s, noisy(rng, falling(s, n) + bump, 0.05)), lr=(s, lr))


def healthy_outliers(seed: int, n: int = 40_000) -> LoggedRun:
    """Per-step loss with single bad batches at 3x the loss (no spike: the next batch is
    fine), constant learning rate, no warmup."""
    rng = np.random.default_rng(seed)
    s = np.arange(n)
    loss = noisy(rng, falling(s, n), 0.05)
    lone = rng.choice(np.arange(100, n, 400), 40, replace=False)
    loss[lone] *= 3
    return make_run(loss=(s, loss), lr=(s, np.full(n, 1e-3)),
                    grad_norm=(s, pre_clip_norm(rng, s, n)))


def healthy_plateau_scheduler(seed: int, epochs: int = 100, batches: int = 200) -> LoggedRun:
    """ReduceLROnPlateau cutting the rate by 10 three times (at 25, 50 and 75 % of the run):
    the last quarter runs at 1e-3 of the peak, which is the plateau scheduler at work."""
    rng = np.random.default_rng(seed)
    n = epochs * batches
    s = np.arange(n)
    ep = s // batches
    lr = 1e-3 * 0.1 ** np.minimum(ep // (epochs // 4), 3)
    level = falling(s, n // 2, floor=0.8) - 0.1 * np.minimum(ep // (epochs // 4), 3) / 3
    vs = np.arange(batches, n + 1, batches)
    return make_run(loss=(s, noisy(rng, level, 0.06)), lr=(s, lr), epoch=(s, ep),
                    val_loss=(vs, val_points(vs, n // 2, rng, floor=0.9)))


def healthy_per_epoch(seed: int, epochs: int = 60) -> LoggedRun:
    """Lightning logging once per epoch (train_loss_epoch, val_loss, lr-SGD): 60 points, a
    cosine over the epochs without warmup."""
    rng = np.random.default_rng(seed)
    e = np.arange(epochs)
    steps = (e + 1) * 390 - 1
    lr = 0.1 * 0.5 * (1 + np.cos(np.pi * e / epochs))
    loss = falling(e, epochs, floor=0.3) * (1 + 0.01 * rng.standard_normal(epochs))
    val = falling(e, epochs, floor=0.4) * (1 + 0.01 * rng.standard_normal(epochs))
    return make_run(loss=(steps, loss), val_loss=(steps, val), lr=(steps, lr),
                    epoch=(steps, e))


def healthy_fp16(seed: int, n: int = 12_000) -> LoggedRun:
    """A Hugging Face fp16 run: the GradScaler's first steps and a few later ones overflow, so
    the logged gradient norm is inf there while the loss stays finite (those steps were
    skipped, as loss scaling intends)."""
    run = healthy_hf(seed, n)
    g = run.series["grad_norm"]
    rng = np.random.default_rng(seed)
    g.values[:3] = np.inf
    g.values[rng.choice(np.arange(10, len(g.values)), 5, replace=False)] = np.inf
    return run


HEALTHY = {
    "cosine_clipped": healthy_cosine,
    "cosine_sparse_tails": lambda seed: healthy_cosine(seed, n=60_000, every=20, tails=True),
    "huggingface": healthy_hf,
    "pretraining": healthy_pretrain,
    "step_per_epoch": healthy_step_epochs,
    "warm_restarts": healthy_restarts,
    "outlier_batches": healthy_outliers,
    "plateau_scheduler": healthy_plateau_scheduler,
    "per_epoch": healthy_per_epoch,
    "fp16_skipped_steps": healthy_fp16,
}


# ------------------------------------------------------------------ one run per failure kind
def nan_run(seed: int, n: int = 40_000, at: float = 0.6) -> LoggedRun:
    """The loss (and the gradient norm) turn NaN at 60 % of an otherwise healthy run."""
    run = healthy_cosine(seed, n)
    k = int(at * n)
    run.series["loss"].values[k:] = np.nan
    run.series["grad_norm"].values[k - 1:] = np.nan
    return run


def hidden_nan_run(seed: int, n: int = 12_000, at: float = 0.7) -> LoggedRun:
    """Hugging Face's hidden NaN: from 70 % of the run the loss reads 0.0 and the gradient
    norm NaN (the reader lists those steps in hidden_nan_steps)."""
    run = healthy_hf(seed, n)
    s = run.series["loss"].steps
    bad = s >= at * n
    run.series["loss"].values[bad] = 0.0
    run.series["grad_norm"].values[bad] = np.nan
    run.hidden_nan_steps = [int(x) for x in s[bad]]
    return run


def unrecovered_spike_run(seed: int, n: int = 40_000, at: float = 0.55, jump: float = 1.2,
                          stays: float = 0.5) -> LoggedRun:
    """A healthy cosine run whose loss jumps by `jump` at 55 % of the run and falls back only
    part of the way: `stays` (absolute, about 45 % of the level) remains for good, in the
    validation loss too."""
    run = healthy_cosine(seed, n)
    rng = np.random.default_rng(seed + 1000)
    s, loss = run.series["loss"].steps, run.series["loss"].values
    after = s >= at * n
    t = s[after] - s[after][0]
    bump = stays + (jump - stays) * np.exp(-t / (n / 200))
    loss[after] += bump * (1 + 0.05 * rng.standard_normal(len(t)))
    val = run.series["val_loss"]
    val.values[val.steps >= at * n] += stays
    return run


def diverging_run(seed: int, n: int = 40_000, at: float = 0.5) -> LoggedRun:
    """The loss falls, then from the middle of the run climbs away for good (no warmup, a
    constant rate, the pre-clip norm growing with it)."""
    rng = np.random.default_rng(seed)
    s = np.arange(n)
    grow = np.where(s > at * n, np.expm1((s - at * n) / (n / 8)), 0.0)
    loss = noisy(rng, falling(s, n) + grow, 0.05)
    grad = pre_clip_norm(rng, s, n) * (1 + 3 * grow)
    return make_run(loss=(s, loss), lr=(s, np.full(n, 3e-3)), grad_norm=(s, grad))


def overfitting_run(seed: int, n: int = 40_000, rise_from: float = 0.4) -> LoggedRun:
    """Training keeps falling; validation turns up from 40 % of the run."""
    rng = np.random.default_rng(seed)
    s = np.arange(n)
    vs = np.arange(n // 40, n + 1, n // 40)
    loss = noisy(rng, falling(s, n, floor=0.5) - 0.15 * s / n, 0.05)
    val = val_points(vs, n, rng, floor=0.6, scale=1.8, rise_from=rise_from, rise=0.8)
    return make_run(loss=(s, loss), val_loss=(vs, val), lr=(s, warmup_cosine(s, n)),
                    grad_norm=(s, post_clip_norm(rng, s, n)))


def val_nan_run(seed: int) -> LoggedRun:
    """A healthy run whose evaluation overflows from 60 % of the run (fp16 eval): the
    training loss stays finite."""
    run = healthy_cosine(seed)
    val = run.get("val_loss")
    val.values[val.steps >= 0.6 * val.steps[-1]] = np.nan
    return run


def schedule_per_batch_run(seed: int, kind: str = "linear", epochs: int = 20,
                           batches: int = 500) -> LoggedRun:
    """An epoch-sized schedule stepped every batch: linear decay over `epochs` steps, StepLR
    (step_size=5 epochs, gamma 0.1) or CosineAnnealingLR(T_max=epochs) that keeps cycling.
    The rate is used up after a few dozen batches, and the loss stops falling there."""
    rng = np.random.default_rng(seed)
    n = epochs * batches
    s = np.arange(n)
    if kind == "linear":
        lr = np.maximum(1e-3 * (1 - s / epochs), 0.0)
    elif kind == "step":
        lr = 1e-3 * 0.1 ** (s // 5)
    else:   # cosine past its end: down to 0 and back up every 2 * epochs batches
        lr = 1e-3 * 0.5 * (1 + np.cos(np.pi * s / epochs))
    learned = np.cumsum(lr) / 1e-3        # progress only where the rate is not zero
    loss = noisy(rng, 1.0 + 1.3 * np.exp(-learned / 40), 0.05)
    vs = np.arange(batches, n + 1, batches)
    val = 1.1 + 1.3 * np.exp(-np.interp(vs, s, learned) / 40)
    return make_run(loss=(s, loss), lr=(s, lr), epoch=(s, s / batches),
                    val_loss=(vs, val * (1 + 0.004 * rng.standard_normal(len(vs)))))


def grad_led_spikes_run(seed: int, n: int = 40_000, spikes: int = 4) -> LoggedRun:
    """The pre-clip gradient norm jumps 20x a few steps before each of four loss spikes; the
    loss recovers from each, with a warmup and cosine schedule."""
    rng = np.random.default_rng(seed)
    s = np.arange(n)
    loss = noisy(rng, falling(s, n), 0.05)
    grad = pre_clip_norm(rng, s, n)
    for k in range(spikes):
        at = int((k + 1) * n / (spikes + 1)) + int(rng.integers(-200, 200))
        grad[at - 4: at + 2] *= 20
        loss[at: at + 60] += 1.2 * np.exp(-np.arange(60) / 15)
    return make_run(loss=(s, loss), lr=(s, warmup_cosine(s, n, peak=1e-3)),
                    grad_norm=(s, grad))


def oscillating_run(seed: int, n: int = 40_000) -> LoggedRun:
    """The smoothed loss swings by 30 % every 2,000 steps and makes little progress."""
    rng = np.random.default_rng(seed)
    s = np.arange(n)
    level = falling(s, n // 8) * (1 + 0.3 * np.sin(2 * np.pi * s / 2000))
    return make_run(loss=(s, noisy(rng, level, 0.03)), lr=(s, np.full(n, 0.5)))


# ------------------------------------------------------------------ the engine
@pytest.fixture(scope="module")
def kb():
    return load_kb([], use_env=False)


def found(run: LoggedRun, kb) -> dict[str, tuple[str, float]]:
    """id -> (severity, certainty) of every diagnosis the built-in base draws from the run's
    log facts."""
    facts = judge_logs(run).facts
    diagnoses, _unknown, _result, problem = diagnose(facts, kb=kb)
    assert problem is None
    return {d["id"]: (d["severity"], d["certainty"]) for d in diagnoses}


def severities(found_: dict[str, tuple[str, float]], severity: str) -> list[str]:
    return sorted(d for d, (sev, _cf) in found_.items() if sev == severity)


# ------------------------------------------------------------------ healthy logs stay clean
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", sorted(HEALTHY))
def test_healthy_logs_stay_clean(shape: str, seed: int, kb):
    """Noisy per-step losses, warmups, decays to zero, clipping at work, warm restarts, a
    plateau scheduler, per-epoch logs: no error, at most one warning."""
    got = found(HEALTHY[shape](seed), kb)
    assert severities(got, "error") == [], got
    assert len(severities(got, "warning")) <= 1, got


# ------------------------------------------------------------------ one diagnosis per kind
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("make", [nan_run, hidden_nan_run], ids=["nan", "hf_hidden_nan"])
def test_nan_loss_is_nonfinite_values(make, seed: int, kb):
    got = found(make(seed), kb)
    assert got["nonfinite_values"][0] == "error" and got["nonfinite_values"][1] >= 0.9
    assert severities(got, "error") == ["nonfinite_values"], got


@pytest.mark.parametrize("seed", SEEDS)
def test_spike_that_never_recovers_is_loss_spikes(seed: int, kb):
    """Warmup, cosine, clipping: nothing points at the learning rate or the gradients, so the
    spike is reported as what the log shows (a warning), not guessed at as a cause."""
    got = found(unrecovered_spike_run(seed), kb)
    assert got["loss_spikes"][0] == "warning" and got["loss_spikes"][1] >= 0.75
    assert severities(got, "error") == [], got
    assert "overfitting" not in got    # validation rose with training: not memorisation


@pytest.mark.parametrize("seed", SEEDS)
def test_diverging_run_is_loss_diverging_and_lr_too_high(seed: int, kb):
    got = found(diverging_run(seed), kb)
    assert got["loss_diverging"] == ("error", pytest.approx(0.9))
    # the divergence (lr_too_high_diverging, chained) and no warmup both point at the rate
    assert got["lr_too_high"][0] == "error" and got["lr_too_high"][1] > 0.45
    assert severities(got, "error") == ["loss_diverging", "lr_too_high"], got


@pytest.mark.parametrize("seed", SEEDS)
def test_gradient_norm_overflowing_while_the_loss_diverges(seed: int, kb):
    """The pre-clip norm grows with the diverging loss until it overflows to inf (the loss
    still finite): exploding gradients, besides the divergence."""
    run = diverging_run(seed)
    g = run.series["grad_norm"]
    g.values[g.steps >= 0.9 * len(g.steps)] = np.inf
    got = found(run, kb)
    assert got["exploding_gradients"][0] == "error"
    assert got["loss_diverging"][0] == "error"
    assert "nonfinite_values" not in got      # the loss itself never was NaN


@pytest.mark.parametrize("seed", SEEDS)
def test_overfitting_run_is_overfitting(seed: int, kb):
    got = found(overfitting_run(seed), kb)
    assert got["overfitting"][0] == "warning" and got["overfitting"][1] >= 0.75
    assert severities(got, "error") == [], got


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("kind", ["linear", "step", "cosine"])
def test_schedule_used_up_in_the_first_epoch_is_stepped_per_batch(kind: str, seed: int, kb):
    """An epoch-sized schedule stepped every batch, the epoch logged: reported once, as the
    per-batch stepping, not a second time as a schedule that sets the rate to zero."""
    got = found(schedule_per_batch_run(seed, kind), kb)
    assert got["scheduler_stepped_per_batch"][0] == "error"
    assert got["scheduler_stepped_per_batch"][1] >= 0.7
    assert severities(got, "error") == ["scheduler_stepped_per_batch"], got


def test_schedule_used_up_later_is_scheduler_misuse(kb):
    """The same linear decay sized for 4 of 20 epochs: zero from epoch 4 on, no per-batch
    stepping; without the epoch logged the stepping cannot be told either."""
    rng = np.random.default_rng(3)
    n, batches = 20 * 500, 500
    s = np.arange(n)
    lr = np.maximum(1e-3 * (1 - s / (4 * batches)), 0.0)
    loss = noisy(rng, 1.0 + 1.3 * np.exp(-np.cumsum(lr) / 1e-3 / 800), 0.05)
    for run in (make_run(loss=(s, loss), lr=(s, lr), epoch=(s, s / batches)),
                make_run(loss=(s, loss), lr=(s, lr))):
        got = found(run, kb)
        assert got["scheduler_misuse"][0] == "error", got
        assert "scheduler_stepped_per_batch" not in got


@pytest.mark.parametrize("seed", SEEDS)
def test_gradient_spikes_before_loss_spikes(seed: int, kb):
    """Four spikes, each after a 20x burst of the pre-clip gradient norm: the spikes cost
    the run (loss_spikes), and the bursts point at exploding gradients and the rate."""
    got = found(grad_led_spikes_run(seed), kb)
    assert got["loss_spikes"][0] == "warning"
    assert got["exploding_gradients"][0] == "error"
    assert got["lr_too_high"][0] == "error"
    assert got["exploding_gradients"][1] > got["lr_too_high"][1]


@pytest.mark.parametrize("seed", SEEDS)
def test_loss_spikes_without_gradient_bursts_are_not_exploding_gradients(seed: int, kb):
    run = grad_led_spikes_run(seed)
    g = run.series["grad_norm"]
    g.values[:] = pre_clip_norm(np.random.default_rng(seed), g.steps, len(g.steps))
    got = found(run, kb)
    assert got["loss_spikes"][0] == "warning"
    assert "exploding_gradients" not in got and "lr_too_high" not in got


def test_clipping_at_work_weakens_exploding_gradients(kb):
    """The same bursts in a norm logged after clipping at 1.0 (pinned there early in training
    and at each burst): the update was bounded, so exploding gradients lose certainty."""
    run = grad_led_spikes_run(7)
    rng = np.random.default_rng(7)
    g = run.series["grad_norm"]
    n = len(g.steps)
    raw = 0.3 * (1 + 5 * np.exp(-g.steps / (n / 20))) * np.exp(0.1 * rng.standard_normal(n))
    raw[g.values > 5] *= 20                     # the bursts of grad_led_spikes_run
    g.values[:] = raw
    unclipped = found(run, kb)
    g.values[:] = np.minimum(raw, 1.0)
    facts = judge_logs(run).facts
    assert facts["logs.grad_norm_clipped"] is True
    assert facts["logs.grad_spikes_lead_loss_spikes"] is True
    clipped = found(run, kb)
    assert unclipped["exploding_gradients"][0] == "error"
    assert "exploding_gradients" not in clipped   # 0.36 from the spikes, -0.4 from clipping
    assert clipped["lr_too_high"] == unclipped["lr_too_high"]   # the step size still counts


@pytest.mark.parametrize("seed", SEEDS)
def test_oscillating_loss_is_loss_oscillating(seed: int, kb):
    got = found(oscillating_run(seed), kb)
    assert got["loss_oscillating"][0] == "warning"
    assert severities(got, "error") == [], got


@pytest.mark.parametrize("seed", SEEDS)
def test_nan_validation_loss_is_nonfinite_values(seed: int, kb):
    got = found(val_nan_run(seed), kb)
    assert got["nonfinite_values"][0] == "error"


# ------------------------------------------------------------------ the catalogue
def test_every_log_fact_is_declared_with_its_type(kb):
    """Every fact judge_logs gives on the runs above is in knowledge/facts.yaml and its value
    is one the catalogue accepts, so a report of `advisor logs` reads back through
    `advisor diagnose`."""
    seen: dict[str, object] = {}
    runs = [make(0) for make in HEALTHY.values()] + [
        nan_run(0), hidden_nan_run(0), unrecovered_spike_run(0), diverging_run(0),
        overfitting_run(0), schedule_per_batch_run(0, "cosine"), grad_led_spikes_run(0),
        val_nan_run(0)]
    for run in runs:
        seen.update(judge_logs(run).facts)
    for name, value in seen.items():
        assert name in kb.facts, name
        assert kb.facts[name].accepts(value), (name, value)
    declared = {n for n in kb.facts if n.startswith("logs.")}
    assert declared == set(seen), declared ^ set(seen)   # the runs above show every fact


# ------------------------------------------------------------------ through real log files
TB_TAGS = {"loss": "train/loss", "val_loss": "val/loss", "lr": "train/lr",
           "grad_norm": "train/grad_norm", "epoch": "epoch"}


def write_tensorboard(run: LoggedRun, folder) -> None:
    """The run's series as torch's SummaryWriter writes them (NaN kept)."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as exc:
        pytest.skip(f"torch.utils.tensorboard needs the tensorboard package: {exc}")
    writer = SummaryWriter(str(folder))
    for role, series in run.series.items():
        for step, value in zip(series.steps.tolist(), series.values.tolist(), strict=True):
            writer.add_scalar(TB_TAGS[role], value, step)
    writer.close()


@pytest.mark.parametrize(("make", "expect"), [
    (lambda: diverging_run(11, n=6_000), "loss_diverging"),
    (lambda: schedule_per_batch_run(11, "step", epochs=10, batches=600),
     "scheduler_stepped_per_batch"),
    (lambda: healthy_cosine(11, n=6_000), None),
], ids=["diverging", "stepped_per_batch", "healthy"])
def test_tensorboard_event_files_end_to_end(make, expect, tmp_path, kb):
    """Written by SummaryWriter, read back by advisor's TensorBoard reader, judged, diagnosed."""
    from advisor.logs import read_logs

    write_tensorboard(make(), tmp_path / "run")
    (run,) = read_logs(tmp_path / "run")
    got = found(run, kb)
    if expect is None:
        assert severities(got, "error") == [] and len(severities(got, "warning")) <= 1, got
    else:
        assert got[expect][0] == "error", got


@pytest.mark.parametrize("hidden", [False, True], ids=["healthy", "hidden_nan"])
def test_huggingface_trainer_state_end_to_end(hidden: bool, tmp_path, kb):
    """A trainer_state.json as the Trainer writes it, with NaN losses hidden as 0.0 (grad norm
    NaN) from 70 % of the run: nonfinite_values; without them, a clean fine-tune."""
    from advisor.logs import read_logs
    from tests.logs.test_readers import write_trainer_state

    run = hidden_nan_run(12, n=6_000) if hidden else healthy_hf(12, n=6_000)
    by_step: dict[int, dict] = {}
    for role, key in (("loss", "loss"), ("lr", "learning_rate"), ("grad_norm", "grad_norm"),
                      ("epoch", "epoch")):
        series = run.series[role]
        for step, value in zip(series.steps.tolist(), series.values.tolist(), strict=True):
            by_step.setdefault(step, {"step": step})[key] = value
    history = [by_step[s] for s in sorted(by_step)]
    val = run.series["val_loss"]
    for step, value in zip(val.steps.tolist(), val.values.tolist(), strict=True):
        history.append({"epoch": by_step[step]["epoch"], "eval_loss": value, "step": step})
    history.sort(key=lambda row: row["step"])
    path = write_trainer_state(tmp_path / "out" / "trainer_state.json", history, 6_000)
    (read,) = read_logs(path)
    assert bool(read.hidden_nan_steps) is hidden
    got = found(read, kb)
    if hidden:
        assert got["nonfinite_values"][0] == "error"
    else:
        assert severities(got, "error") == [] and len(severities(got, "warning")) <= 1, got
