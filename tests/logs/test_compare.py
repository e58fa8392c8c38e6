"""Two runs compared (advisor.logs.compare, advisor.report.compare) on generated, seeded runs:
identical runs and runs that differ only by noise show no departure; a learning rate raised
tenfold, a divergence to NaN, earlier overfitting and an earlier stop are found at their step
and explained; different logging cadences, no shared series and disjoint steps still give
clear findings."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from advisor.logs.compare import compare_runs, ratio_text
from advisor.logs.run import LoggedRun, Series
from advisor.report.compare import (
    comparison_plot,
    render_comparison_markdown,
    render_comparison_text,
)

N = 20_000
LR_STEP = 1200


def make_run(name: str, **series: tuple[np.ndarray, np.ndarray]) -> LoggedRun:
    """A run whose tags are the role names themselves."""
    made = {role: Series(role, np.asarray(s, dtype=np.int64), np.asarray(v, dtype=np.float64))
            for role, (s, v) in series.items()}
    return LoggedRun(name, "csv", f"{name}.csv", made, {r: r for r in made})


def schedule(steps: np.ndarray, peak: float = 3e-4, warm: int = 500) -> np.ndarray:
    """Linear warmup, then a cosine decay to zero at step N."""
    t = np.clip((steps - warm) / (N - warm), 0, 1)
    return np.where(steps < warm, peak * (steps + 1) / warm, peak * 0.5 * (1 + np.cos(np.pi * t)))


def level(steps: np.ndarray) -> np.ndarray:
    return 1.0 + 2.0 * np.exp(-steps / 3000)


def generated(seed: int, name: str = "run", every: int = 1, lr_boost_from: int | None = None,
              overfit_from: int | None = None, tails: bool = False) -> LoggedRun:
    """A healthy noisy run (loss with 5 % per-batch noise, a warmup-cosine rate, lognormal
    gradient norms, a validation loss every 500 steps). `lr_boost_from`: the rate is 10x from
    that step, the loss climbs towards 1.8x and the gradient norm triples. `overfit_from`: the
    validation loss turns upward near that step while the training loss is unchanged."""
    rng = np.random.default_rng(seed)
    s = np.arange(0, N, every)
    lr, lv = schedule(s), level(s)
    grad = 0.5 * np.exp(0.2 * rng.standard_normal(len(s)))
    if lr_boost_from is not None:
        after = s >= lr_boost_from
        lr = np.where(after, 10 * lr, lr)
        lv = np.where(after, lv * (1 + 0.8 * (1 - np.exp(-(s - lr_boost_from) / 800))), lv)
        grad = np.where(after, 3 * grad, grad)
    draw = rng.standard_t(4, len(s)) / np.sqrt(2) if tails else rng.standard_normal(len(s))
    vs = np.arange(500, N + 1, 500)
    val = 1.1 + 2.0 * np.exp(-vs / 3000) + 0.005 * rng.standard_normal(len(vs))
    if overfit_from is not None:
        val = val + 6e-5 * np.maximum(vs - overfit_from, 0)
    return make_run(name, loss=(s, lv * (1 + 0.05 * draw)), lr=(s, lr), grad_norm=(s, grad),
                    val_loss=(vs, val))


@pytest.fixture(scope="module")
def run_a() -> LoggedRun:
    return generated(0, "a")


def departures(c) -> dict[str, int]:
    return {k: r.departure_step for k, r in c.roles.items() if r.departure_step is not None}


# ------------------------------------------------------------------ no departure
def test_identical_runs_show_no_departure(run_a):
    c = compare_runs(run_a, run_a)
    assert c.shared_roles == ["loss", "val_loss", "lr", "grad_norm"]
    assert departures(c) == {}
    assert all(r.compared for r in c.roles.values())
    assert c.findings[0].startswith("No departure: B follows A within noise on every series")
    assert all(r.ratio_at_end == pytest.approx(1.0) for r in c.roles.values())
    assert c.first_departure is None


@pytest.mark.parametrize("seed,tails", [(1, False), (2, False), (3, True)],
                         ids=["seed1", "seed2", "seed3-heavy-tailed"])
def test_noise_only_differences_claim_no_departure(run_a, seed, tails):
    c = compare_runs(run_a, generated(seed, "b", tails=tails))
    assert departures(c) == {}, c.findings
    assert c.findings[0].startswith("No departure")


def test_a_short_burst_in_b_is_no_departure(run_a):
    """100 logged points at 3x the loss (two bins of the grid, half a percent of the run) are
    a spike, not a sustained departure."""
    b = generated(1, "b")
    loss = b.series["loss"]
    loss.values[7000:7100] *= 3
    assert compare_runs(run_a, b).roles["loss"].bins == 400
    c = compare_runs(run_a, b)
    assert "loss" not in departures(c), c.findings


def test_coarser_logging_of_the_same_run_is_no_departure(run_a):
    """A logs every step, B every 10th (and its validation loss as often): nothing departs."""
    c = compare_runs(run_a, generated(1, "b", every=10))
    assert departures(c) == {}, c.findings
    assert c.roles["loss"].points_b == N // 10
    assert c.roles["loss"].bins >= 100


# ------------------------------------------------------------------ departures
@pytest.mark.parametrize("at", [LR_STEP, 1234])
def test_lr_ten_times_higher_from_step_1200(run_a, at):
    c = compare_runs(run_a, generated(1, "b", lr_boost_from=at))
    lr, loss = c.roles["lr"], c.roles["loss"]
    assert lr.departure_step == at and lr.direction == "higher"
    assert lr.ratio_at_departure == pytest.approx(10, rel=0.02)
    # to the end of the cosine, where the rate is 1e-8 of its peak: a ratio, not a difference
    assert lr.departed_at_end and lr.rejoined_step is None
    assert lr.ratio_at_end == pytest.approx(10, rel=0.1)
    assert at <= loss.departure_step <= at + 600
    assert loss.direction == "higher" and loss.departed_at_end
    assert loss.ratio_at_end == pytest.approx(1.8, rel=0.05)
    assert loss.lr_ratio_at_departure == pytest.approx(10, rel=0.02)
    assert loss.grad_norm_ratio_at_departure == pytest.approx(3, rel=0.15)
    assert c.roles["grad_norm"].departure_step == pytest.approx(at, abs=50)
    assert "val_loss" not in departures(c)    # the validation loss here is not generated from it
    first = c.findings[0]
    assert first.startswith(f"B's loss departs from A's at step {loss.departure_step:,} "
                            "(higher, 1.8x A's by the end), where its learning rate is 10x "
                            f"higher (from step {at:,})")
    assert "The runs agree on validation loss within noise up to step 20,000." in c.findings
    assert any(f.startswith("B ends with a 1.8x higher loss than A") for f in c.findings)
    assert c.first_departure.role == "lr"


def test_lr_departure_found_with_b_logged_every_10_steps(run_a):
    c = compare_runs(run_a, generated(1, "b", every=10, lr_boost_from=LR_STEP))
    assert abs(c.roles["lr"].departure_step - LR_STEP) <= 10
    assert LR_STEP <= c.roles["loss"].departure_step <= LR_STEP + 800
    assert "learning rate is 10x higher" in c.findings[0]


def test_divergence_to_nan(run_a):
    """B's loss climbs from step 6,000 (its gradient norm first) and is NaN from 9,000."""
    rng = np.random.default_rng(5)
    s = np.arange(N)
    loss = level(s) * np.where(s > 6000, np.exp((s - 6000) / 1500), 1.0)
    loss = loss * (1 + 0.05 * rng.standard_normal(N))
    loss[s >= 9000] = np.nan
    grad = 0.5 * np.exp(0.2 * rng.standard_normal(N)) * np.exp(np.maximum(s - 5800, 0) / 1000)
    grad[s >= 9000] = np.nan
    b = make_run("b", loss=(s, loss), lr=(s, schedule(s)), grad_norm=(s, grad))
    c = compare_runs(run_a, b)
    loss_rc = c.roles["loss"]
    assert 6000 < loss_rc.departure_step < 7000 and loss_rc.direction == "higher"
    assert loss_rc.nonfinite_b == 9000 and loss_rc.nonfinite_a is None
    assert 5800 < c.roles["grad_norm"].departure_step < loss_rc.departure_step
    assert "lr" not in departures(c)
    first = c.findings[0]
    assert "where its gradient norm is" in first and "higher (from step" in first
    assert first.endswith("it turns NaN/inf at step 9,000.")
    assert c.only_a == ["val_loss"] and "Only A logs validation loss (not compared)." in c.findings
    # the last finite values before a NaN compare nothing: no "ends within noise" sentence
    assert not any(f.startswith(("B ends with", "B has at step")) for f in c.findings)


def test_nan_without_a_rise_departs_at_the_nan(run_a):
    b = generated(1, "b")
    b.series["loss"].values = np.where(np.arange(N) >= 8000, np.nan, b.series["loss"].values)
    c = compare_runs(run_a, b)
    loss = c.roles["loss"]
    assert (loss.departure_step, loss.direction) == (8000, "nonfinite")
    assert c.findings[0].startswith("B's loss turns NaN/inf at step 8,000, where A's is still "
                                    "finite, while the runs still agree on learning rate and "
                                    "gradient norm there")
    # the reverse: A is the one that turns NaN
    r = compare_runs(b, run_a).roles["loss"]
    assert (r.departure_step, r.direction) == (8000, "finite")


def test_hidden_nan_losses_count_as_nan(run_a):
    """HF logs loss 0.0 with a NaN gradient norm where the loss was NaN."""
    b = generated(1, "b")
    hidden = np.arange(8000, N, 1)
    b.series["loss"].values[hidden] = 0.0
    b.hidden_nan_steps = hidden.tolist()
    c = compare_runs(run_a, b)
    assert (c.roles["loss"].departure_step, c.roles["loss"].direction) == (8000, "nonfinite")


def test_earlier_overfitting_in_b(run_a):
    a = generated(0, "a", overfit_from=15_000)
    b = generated(1, "b", overfit_from=6_000)
    c = compare_runs(a, b)
    val = c.roles["val_loss"]
    assert val.direction == "higher" and 6_000 < val.departure_step <= 11_000
    assert "loss" not in departures(c)
    assert val.loss_ratio_at_departure == pytest.approx(1.0, abs=0.03)
    assert val.lowest_step_b < val.lowest_step_a
    sentence = next(f for f in c.findings if f.startswith("B's validation loss departs"))
    assert "where its training loss is the same as A's" in sentence
    assert sentence.endswith("(B overfits earlier).")
    assert "The runs agree on loss within noise up to step 19,999." in c.findings


def test_lower_final_loss_and_earlier_stop(run_a):
    """B is 12 % lower from step 5,000 on, and stops logging at step 12,000."""
    rng = np.random.default_rng(9)
    s = np.arange(12_000)
    lv = level(s) * np.where(s >= 5000, 0.88, 1.0)
    b = make_run("b", loss=(s, lv * (1 + 0.05 * rng.standard_normal(len(s)))),
                 lr=(s, schedule(s)))
    c = compare_runs(run_a, b)
    loss = c.roles["loss"]
    assert loss.direction == "lower" and abs(loss.departure_step - 5000) <= 100
    assert loss.ratio_at_end == pytest.approx(0.88, abs=0.02)
    assert "while the runs still agree on learning rate there" in c.findings[0]
    assert "B stops logging loss at step 11,999, 8,000 steps before the other (19,999)." \
        in c.findings
    assert any(re.match(r"B has at step 11,999, the last step both log, a 1[1-3] % lower "
                        r"loss than A \(0\.9\d+ vs 1\.0\d+\)\.$", f) for f in c.findings)


def test_resumed_run_starts_later(run_a):
    s = np.arange(5000, N)
    b = make_run("b", loss=(s, level(s)), lr=(s, schedule(s)))
    c = compare_runs(run_a, b)
    assert c.roles["loss"].overlap == (5000, N - 1)
    assert any(f.startswith("B starts logging loss at step 5,000, the other at step 0")
               for f in c.findings)


# ------------------------------------------------------------------ nothing to compare
def test_no_shared_roles_is_a_finding():
    s = np.arange(100)
    a = make_run("a", loss=(s, np.ones(100)))
    b = make_run("b", val_metric=(s, np.ones(100)))
    b.series["accuracy_top5"] = Series("accuracy_top5", s, np.ones(100))
    c = compare_runs(a, b)
    assert c.shared_roles == [] and c.roles == {}
    assert c.findings == ["Nothing to compare: the runs share no series among loss, validation "
                          "loss, learning rate, gradient norm and validation metric (A logs "
                          "loss; B logs validation metric). Map the tags with --map role=tag."]
    json.dumps(c.to_dict())
    assert "Nothing to compare" in render_comparison_text(c)


def test_disjoint_steps_are_a_finding():
    s = np.arange(1000)
    a = make_run("a", loss=(s, level(s)))
    b = make_run("b", loss=(s + 5000, level(s)))
    c = compare_runs(a, b)
    loss = c.roles["loss"]
    assert not loss.compared and loss.overlap is None and loss.departure_step is None
    assert c.findings[0] == ("Loss cannot be compared: the runs log loss over steps that do not "
                             "overlap (A: 0\u2013999, B: 5,000\u20135,999).")


def test_too_few_points_are_a_finding():
    a = make_run("a", loss=(np.arange(100), np.ones(100)))
    b = make_run("b", loss=(np.array([10, 20]), np.ones(2)))
    c = compare_runs(a, b)
    assert "too few loss points" in c.findings[0]


# ------------------------------------------------------------------ real log files
def write_tb_run(folder, lr_boost_from: int | None, seed: int, steps: int = 3000) -> None:
    """A run as torch's SummaryWriter writes it: noisy loss, constant rate, validation."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as exc:
        pytest.skip(f"torch.utils.tensorboard needs the tensorboard package: {exc}")
    rng = np.random.default_rng(seed)
    writer = SummaryWriter(str(folder))
    for step in range(steps):
        boosted = lr_boost_from is not None and step >= lr_boost_from
        loss = 1.0 + 2.0 * np.exp(-step / 500)
        if boosted:
            loss *= 1 + 0.8 * (1 - np.exp(-(step - lr_boost_from) / 200))
        writer.add_scalar("train/loss", loss * (1 + 0.05 * rng.standard_normal()), step)
        writer.add_scalar("train/lr", 1e-2 if boosted else 1e-3, step)
        if step % 100 == 99:
            writer.add_scalar("val/loss", loss + 0.1, step)
    writer.close()


def test_tensorboard_runs_read_from_disk(tmp_path):
    """Two runs written by SummaryWriter, read by read_logs: B's rate is 10x from step 1,200."""
    from advisor.logs import read_logs

    write_tb_run(tmp_path / "runs" / "base", None, seed=0)
    write_tb_run(tmp_path / "runs" / "hot", LR_STEP, seed=1)
    runs = {r.name: r for r in read_logs(tmp_path / "runs")}
    c = compare_runs(runs["base"], runs["hot"])
    assert c.roles["lr"].departure_step == LR_STEP
    assert c.roles["loss"].tag_a == "train/loss"
    assert LR_STEP <= c.roles["loss"].departure_step <= LR_STEP + 300
    assert LR_STEP <= c.roles["val_loss"].departure_step <= LR_STEP + 400
    assert c.findings[0].startswith("B's loss departs from A's at step")
    assert "where its learning rate is 10x higher (from step 1,200)" in c.findings[0]


# ------------------------------------------------------------------ the report
def test_renderers_and_plot(run_a):
    b = generated(1, "b", lr_boost_from=LR_STEP)
    c = compare_runs(run_a, b)
    d = json.loads(json.dumps(c.to_dict()))
    assert d["first_departure"] == {"role": "lr", "step": LR_STEP, "direction": "higher"}
    assert d["roles"]["loss"]["lr_ratio_at_departure"] == pytest.approx(10, rel=0.02)
    text = render_comparison_text(c)
    assert text.startswith("advisor logs: b (B) compared with a (A)\n  A: a (csv, a.csv)")
    assert "  - B's loss departs from A's at step" in text
    row = next(line for line in text.splitlines() if line.strip().startswith("learning rate"))
    assert row.split()[2:5] == ["1,200", "higher", "10x"]
    assert all(len(line) <= 80 for line in text.splitlines()[:12])
    md = render_comparison_markdown(c)
    assert "## Findings" in md and "| series | departs at |" in md
    assert "| learning rate | 1,200 | higher | 10x |" in md
    svg = comparison_plot(c, run_a, b)
    assert svg.startswith("<svg") and svg.count("<polyline") == 2
    assert f"B departs ({c.roles['loss'].departure_step:,})" in svg
    assert "A: a" in svg and "B: b" in svg


def test_ratio_words():
    assert ratio_text(10.0) == "10x higher"
    assert ratio_text(0.1) == "10x lower"
    assert ratio_text(0.88) == "12 % lower"
    assert ratio_text(1.8) == "1.8x higher"
    assert ratio_text(1.001) == "the same"
