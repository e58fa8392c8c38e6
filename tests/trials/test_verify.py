"""`advisor.probe(..., verify=True)`: remedy trials on real setups, end to end (real torch, the
real knowledge base and engine): verdicts, facts fed back to the engine, the report's shape,
nothing of the user's lost, Ctrl-C and the budget cap."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

import advisor
from advisor.probing.setup import load_setup
from tests.probe.helpers import small_setup
from tests.probe.test_nothing_lost import _seed_globals, assert_same, snapshot

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
QUICK = {"steps": 60, "budget": 120.0, "trial_steps": 40}


@pytest.fixture(scope="module")
def lr_report():
    sys.path.insert(0, str(EXAMPLES))
    try:
        setup = load_setup(str(EXAMPLES / "lr_too_high_sgd.py"))
        return advisor.probe(setup=setup, verify=True, **QUICK)
    finally:
        sys.path.remove(str(EXAMPLES))


def _trial_of(report, diagnosis_id, transform):
    diag = next(d for d in report.diagnoses if d["id"] == diagnosis_id)
    return next(r["trial"] for r in diag["remedies"]
                if r.get("trial") and r["trial"]["transform"] == transform)


def test_lowering_a_too_high_rate_is_verified_to_help(lr_report):
    trial = _trial_of(lr_report, "lr_too_high", "scale_lr")
    assert trial["verdict"] == "helps"
    assert trial["p_value"] == pytest.approx(1 / 32)
    assert trial["effect"] < -0.3
    assert trial["seeds"] == 5
    assert len(trial["control"]) == len(trial["treated"]) == 5
    assert lr_report.fact("trial.lr_too_high.helped") is True


def test_report_has_trials_and_a_verification_summary(lr_report):
    data = lr_report.to_dict()
    assert data["trials"], "the top-level trials list is empty"
    entry = next(t for t in data["trials"] if t["transform"] == "scale_lr")
    assert "lr_too_high" in entry["diagnoses"]
    assert entry["metric"] == "val_loss"
    assert entry["steps"] == 40
    assert entry["curves"]["control"] and entry["curves"]["treated"]
    summary = data["verification"]
    assert summary["seeds"] == 5 and summary["steps"] == 40
    assert summary["noise"]["verdict"] in ("no_effect", "helps", "hurts")
    assert summary["runs"] >= 15  # control, reseed and at least one trial, five seeds each
    assert summary["rank_after"] == [d["id"] for d in data["diagnoses"]]
    assert data["options"]["verify"] is True


def test_a_helping_trial_raises_the_certainty_of_its_cause(lr_report):
    diag = next(d for d in lr_report.diagnoses if d["id"] == "lr_too_high")
    assert diag["certainty"] > diag.get("certainty_before_trials", 1.0) or \
        diag["certainty"] >= 0.99


def _bad_rate_setup():
    """The little classifier with SGD at lr 2.0: lr_too_high and exploding_gradients."""
    setup = small_setup()
    setup["optimizer"] = torch.optim.SGD(setup["model"].parameters(), lr=2.0, momentum=0.9)
    return setup


def test_without_verify_remedies_say_they_were_not_verified():
    report = advisor.probe(**_bad_rate_setup(), steps=30)
    assert report.to_dict()["trials"] == []
    assert report.to_dict()["verification"] is None
    with_trials = [r["trial"] for d in report.diagnoses for r in d["remedies"] if "trial" in r]
    assert with_trials, "no diagnosis of a rate of 2.0 has a remedy with a trial"
    for trial in with_trials:
        assert trial["verdict"] == "not_run"
        assert "--verify" in trial["reason"]


def test_verify_leaves_the_users_objects_and_rng_as_they_were():
    setup = _bad_rate_setup()
    _seed_globals()
    before = snapshot(setup)
    report = advisor.probe(**setup, verify=True, seeds=3, steps=30, trial_steps=20)
    assert report.to_dict()["verification"]["runs"] > 0
    assert_same(before, snapshot(setup))


def test_the_same_seed_gives_the_same_trials():
    runs = [advisor.probe(**_bad_rate_setup(), verify=True, seeds=3, steps=30,
                          trial_steps=20).to_dict() for _ in range(2)]
    strip = [[{k: v for k, v in t.items()} for t in r["trials"]] for r in runs]
    assert strip[0] == strip[1]


def test_ctrl_c_during_the_trials_gives_a_partial_report_with_what_was_done():
    def interrupt(phase, done, total, loss=None):
        if phase == "remedy trials" and done == 7:
            raise KeyboardInterrupt

    setup = _bad_rate_setup()
    before = snapshot(setup)
    report = advisor.probe(**setup, verify=True, seeds=3, steps=30, trial_steps=20,
                           progress=interrupt)
    assert report.partial
    summary = report.to_dict()["verification"]
    assert summary["interrupted"] is True
    assert summary["runs"] == 7
    assert all(t["verdict"] == "not_run" for t in report.to_dict()["trials"])
    assert_same(before, snapshot(setup))


def test_the_budget_caps_the_trials_and_says_so():
    report = advisor.probe(**_bad_rate_setup(), verify=True, seeds=3, steps=30,
                           trial_steps=20, verify_budget=1e-6)
    data = report.to_dict()
    assert data["verification"]["capped"] is True
    assert data["trials"]
    for trial in data["trials"]:
        assert trial["verdict"] == "not_run"
        assert "--verify-budget" in trial["reason"]


@pytest.mark.slow
def test_trials_separate_competing_causes_and_re_rank():
    """A deep regression net whose gradients explode: clipping helps, dividing the rate by ten
    does not. The clipping trial supports exploding_gradients; lr_too_high, whose only trial did
    nothing, loses certainty (here, enough to leave the report), and the report says so."""
    sys.path.insert(0, str(EXAMPLES))
    try:
        setup = load_setup(str(EXAMPLES / "exploding_deep_regression.py"))
        report = advisor.probe(setup=setup, verify=True)
    finally:
        sys.path.remove(str(EXAMPLES))
    data = report.to_dict()
    verdicts = {t["label"]: t["verdict"] for t in data["trials"]}
    assert verdicts["clip_grad_norm(max_norm=1.0)"] == "helps", verdicts
    assert verdicts["scale_lr(factor=0.1)"] != "helps", verdicts
    summary = data["verification"]
    assert "lr_too_high" in summary["rank_before"]
    assert report.fact("trial.lr_too_high.helped") is False
    assert report.fact("trial.exploding_gradients.helped") is True
    after = {d["id"]: d for d in data["diagnoses"]}
    assert "lr_too_high" not in after or \
        after["lr_too_high"]["certainty"] < after["lr_too_high"]["certainty_before_trials"]
    exploding = after["exploding_gradients"]
    assert exploding["certainty"] > exploding["certainty_before_trials"]
    assert summary["rank_after"].index("exploding_gradients") <= \
        summary["rank_before"].index("exploding_gradients")
    text = report.text()
    assert "The trials separated the competing causes" in text


def test_seed_i_reads_the_same_data_order_in_every_arm_with_the_loaders_own_generator():
    """small_setup's DataLoader shuffles with its own torch.Generator, which the global seed
    does not touch: the runner reseeds it per seed, so running the same arm twice gives the
    same outcomes, and the user's generator is back where it was afterwards."""
    from advisor.probing.options import ProbeOptions
    from advisor.probing.runner import run
    from advisor.probing.setup import coerce_setup
    from advisor.trials.arm import ArmSpec
    from advisor.trials.runner import ArmRun, ArmRunner

    setup = small_setup()
    loader_state = setup["train_data"].generator.get_state()
    outcomes = []

    def twice(state, ctx):
        runner = ArmRunner(ctx, 15, ctx.train_eval_batches, None)
        for _ in range(2):
            runs = runner.run_arm(ArmRun(ArmSpec(), "logits"), [11, 12])
            outcomes.append([(r.end.loss, r.losses) for r in runs])

    run(coerce_setup(setup), ProbeOptions(steps=10, quiet=True), after=twice)
    assert len(outcomes) == 2
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][0] != outcomes[0][1]  # and the two seeds do differ
    assert torch.equal(setup["train_data"].generator.get_state(), loader_state)
