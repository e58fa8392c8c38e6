"""Verified remedies in the TUI (issue 11): each remedy's verdict in the results, the Verified
tab, and the "Verify remedies" button that probes the setup again with `verify=True` and comes
back with the verdicts."""

from __future__ import annotations

import json
import textwrap
import threading
import time

import pytest
from advisor.tui.app import AdvisorApp, Start
from advisor.tui.probing import ProbeEvent, ProbeOutcome
from textual.widgets import TabbedContent
from tui_helpers import DATA, ready, text_of, wait_for_screen

from advisor.report.diagnosis import Diagnosis

LR_ACTION = "Divide the learning rate by 10 and re-run."  # the mini knowledge base's remedy
CLIP_ACTION = "Clip the gradient norm to 1.0."
SCALE_LR = {"transform": "scale_lr", "args": {"factor": 0.1}, "label": "scale_lr(factor=0.1)"}
CLIP = {"transform": "clip_grad_norm", "args": {"max_norm": 1.0},
        "label": "clip_grad_norm(max_norm=1.0)"}


def _trials() -> list[dict]:
    """The report's top-level trials, in the shape of TRIALS_SPEC section 4."""
    return [
        {**SCALE_LR, "diagnoses": ["lr_too_high"], "verdict": "helps", "p_value": 0.03125,
         "effect": -0.42, "effect_interval": [-0.55, -0.3], "seeds": 5, "steps": 100,
         "metric": "train_loss", "control": [0.7, 0.71, 0.69, 0.72, 0.7],
         "treated": [0.41, 0.4, 0.42, 0.39, 0.4], "verdict_half": "helps",
         "p_value_half": 0.03125, "effect_half": -0.3, "nonfinite": {"control": 0, "treated": 0},
         "curves": {"control": [[0, 2.3], [50, 1.0], [100, 0.7]],
                    "treated": [[0, 2.3], [50, 0.7], [100, 0.4]]}, "reason": None},
        {**CLIP, "diagnoses": ["exploding_gradients"], "verdict": "not_run", "p_value": None,
         "effect": None, "effect_interval": None, "seeds": 0, "steps": 0,
         "metric": "train_loss", "control": [], "treated": [], "verdict_half": None,
         "p_value_half": None, "effect_half": None, "nonfinite": {"control": 0, "treated": 0},
         "curves": {}, "reason": "the setup trains with its own train_step"},
    ]


VERIFICATION = {"seeds": 5, "steps": 100, "top": 3, "metric": "train_loss",
                "noise": {"verdict": "no_effect", "p_value": 0.5, "effect": 0.01,
                          "median_abs_change": 0.02},
                "runs": 10, "seconds": 12.5, "capped": False, "interrupted": False,
                "separated": [], "rank_before": ["nonfinite_loss", "lr_too_high"],
                "rank_after": ["lr_too_high", "nonfinite_loss"]}


def _remedy_trial(entry: dict) -> dict:
    keys = ("transform", "args", "label", "verdict", "p_value", "effect", "seeds", "control",
            "treated", "reason")
    return {k: entry[k] for k in keys}


def verified_report(facts: dict | None = None) -> dict:
    """A verified probe report, as `advisor probe --verify --json` writes it."""
    trials = _trials()
    return {
        "schema": "advisor-probe-report/1",
        "facts": facts if facts is not None else {"loss.trend": "nonfinite", "optim.lr": 0.5},
        "diagnoses": [
            {"id": "lr_too_high", "title": "Learning rate too high", "kind": "cause",
             "severity": "error", "certainty": 0.85, "evidence": [], "explained_by": [],
             "explanation": "Steps that are too large overshoot.", "contested": None,
             "sources": [], "remedies": [{"action": LR_ACTION, "detail": "", "sources": [],
                                          "trial": _remedy_trial(trials[0])}]},
            {"id": "exploding_gradients", "title": "Exploding gradients", "kind": "cause",
             "severity": "error", "certainty": 0.6, "evidence": [], "explained_by": [],
             "explanation": "One large gradient.", "contested": None, "sources": [],
             "remedies": [{"action": CLIP_ACTION, "detail": "", "sources": [],
                           "trial": _remedy_trial(trials[1])},
                          {"action": "Lower the learning rate.", "detail": "", "sources": []}]},
        ],
        "trials": trials, "verification": dict(VERIFICATION), "series": {"loss": [2.0, 1.0]},
    }


async def _verified_results(pilot, old=None) -> None:
    """Wait for the results screen that shows a verification, composed."""
    start = time.monotonic()
    while (pilot.app.screen is old or not pilot.app.screen.query("#trials-text")) \
            and time.monotonic() - start < 30:
        await pilot.pause(0.05)
    await pilot.pause()


async def _select(pilot, screen, finding_id: str) -> None:
    ids = [f.id for f in screen.diagnoses]
    await pilot.press("home", *["down"] * ids.index(finding_id))
    await pilot.pause()
    assert screen.selected.id == finding_id


# ------------------------------------------------------------------ showing verdicts
async def test_results_show_each_remedys_verdict_and_the_verified_tab(mini_kb):
    from advisor.tui.screens.results import ResultsScreen

    app = AdvisorApp(kb=mini_kb)
    async with app.run_test(size=(110, 32)) as pilot:
        await ready(pilot)
        app.push_screen(ResultsScreen(Diagnosis.from_dict(verified_report())))
        await wait_for_screen(pilot, "ResultsScreen")
        screen = app.screen
        assert "2 remedy trial(s), 1 helped" in text_of(pilot, "#results-summary")
        await _select(pilot, screen, "lr_too_high")
        remedies = text_of(pilot, "#remedies-text")
        assert f"1. {LR_ACTION}\n   verified: helps (training loss -42 %, p = 0.031, " \
               "5 seeds)\n" in remedies
        await _select(pilot, screen, "exploding_gradients")
        remedies = text_of(pilot, "#remedies-text")
        assert "not run: the setup trains with its own train_step" in remedies
        assert "Lower the learning rate.\n" in remedies  # a remedy without a trial: no line
        await pilot.press("4")
        await pilot.pause()
        assert screen.query_one("#detail", TabbedContent).active == "trials"
        verified = text_of(pilot, "#trials-text")
        for expected in ("scale_lr(factor=0.1) for lr_too_high: helps",
                         "training loss -42 % (95 % interval -55 % to -30 %), p = 0.031; "
                         "5 seeds x 100 steps",
                         "clip_grad_norm(max_norm=1.0) for exploding_gradients: not run",
                         "Noise check, reseeding alone: no effect, median change 2.0 %",
                         "Re-ranked by the trials: lr_too_high 2 -> 1, nonfinite_loss 1 -> 2",
                         "Cost: 10 runs, 12.5 s"):
            assert expected in verified, expected
        # no setup to try them on (a report, not a probe): no button, v does nothing
        assert not screen.query("#verify-remedies")
        await pilot.press("v")
        await pilot.pause()
        assert app.screen is screen


async def test_unverified_results_have_no_verified_tab(mini_kb):
    from advisor.engine import Engine

    app = AdvisorApp(kb=mini_kb)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        app.show_result(Engine(mini_kb).diagnose({"loss.trend": "nonfinite", "optim.lr": 0.5}))
        await wait_for_screen(pilot, "ResultsScreen")
        screen = app.screen
        assert not screen.query("#trials-text") and not screen.query("#verify-remedies")
        assert "trial" not in text_of(pilot, "#results-summary")
        await pilot.press("4")
        await pilot.pause()
        assert screen.query_one("#detail", TabbedContent).active == "remedies"
        assert "verified" not in text_of(pilot, "#remedies-text")


async def test_a_verified_report_reopens_with_its_verdicts(mini_kb, tmp_path):
    path = tmp_path / "verified.json"
    path.write_text(json.dumps(verified_report(), indent=2))
    app = AdvisorApp(kb=mini_kb, start=Start("report", str(path)))
    async with app.run_test(size=(110, 32)) as pilot:
        await ready(pilot)
        await wait_for_screen(pilot, "GuidedScreen")
        await pilot.press("r")
        await wait_for_screen(pilot, "ResultsScreen")
        screen = app.screen
        # the UI diagnoses the facts with its own knowledge base; the verdicts are attached
        await _select(pilot, screen, "lr_too_high")
        assert "verified: helps (training loss -42 %" in text_of(pilot, "#remedies-text")
        assert "Cost: 10 runs, 12.5 s" in text_of(pilot, "#trials-text")


# ------------------------------------------------------------------ the button
def verifying_probe(seen: list[dict], gate: threading.Event):
    """A probe runner with the real one's signature: a plain probe measures facts; asked to
    verify, it reports its trials' progress, waits for `gate` (so the test sees the progress)
    and returns a verified report."""

    def run(spec: str, progress, cancel: threading.Event, options: dict) -> ProbeOutcome:
        seen.append(dict(options))
        facts = {"loss.trend": "diverging", "optim.lr": 0.3}
        if not options.get("verify"):
            progress(ProbeEvent("training", 1, 2, 2.0))
            return ProbeOutcome(facts, {"loss": [2.3, 1.5, 1.0]}, {}, sorted(facts))
        for i in range(1, 11):
            if cancel.is_set():
                from advisor.tui.probing import ProbeCancelled

                raise ProbeCancelled()
            progress(ProbeEvent("trial scale_lr(factor=0.1)", i, 10, 1.0 / i))
            time.sleep(0.005)
        gate.wait(20)
        report = verified_report({**facts, "trial.lr_too_high.helped": True})
        return ProbeOutcome(report["facts"], {"loss": [2.3, 1.5]}, report, sorted(facts))

    return run


@pytest.fixture(scope="module")
def trial_kb():
    """The small TUI base with the evidence rule a trial of lr_too_high feeds."""
    from advisor.kb import load_kb

    return load_kb([DATA / "kb", DATA / "trial_kb"], builtin=False, use_env=False)


async def test_verify_remedies_probes_again_and_shows_the_verdicts(trial_kb):
    seen: list[dict] = []
    gate = threading.Event()
    app = AdvisorApp(kb=trial_kb, probe_runner=verifying_probe(seen, gate),
                     probe_options={"steps": 30, "seeds": 3})
    async with app.run_test(size=(110, 32)) as pilot:
        await ready(pilot)
        app.start_probe("setup.py")
        await wait_for_screen(pilot, "ResultsScreen")  # nothing left to ask: straight there
        screen = app.screen
        assert screen.probe_spec == "setup.py"
        assert "Verify remedies" in str(screen.query_one("#verify-remedies").label)
        assert "verified" not in text_of(pilot, "#remedies-text")
        await pilot.click("#verify-remedies")
        await wait_for_screen(pilot, "ProbeScreen")
        probe_screen = app.screen
        assert "Verifying the remedies of setup.py" in text_of(pilot, "#probe-title")
        start = time.monotonic()
        while probe_screen.phase != "trial scale_lr(factor=0.1)" \
                and time.monotonic() - start < 20:
            await pilot.pause(0.05)
        assert "trial scale_lr(factor=0.1)" in text_of(pilot, "#probe-phase")
        gate.set()
        await wait_for_screen(pilot, "ResultsScreen")
        await _verified_results(pilot, screen)
        # the probe was asked to verify, diagnosing itself, with the app's probe options
        assert seen[-1]["verify"] is True and seen[-1]["diagnose"] is True
        assert seen[-1]["steps"] == 30 and seen[-1]["seeds"] == 3
        verified = app.screen
        assert verified is not screen and verified.result.verification == VERIFICATION
        # the results screen was replaced, not stacked: escape goes back to the interview
        assert [type(s).__name__ for s in app.screen_stack].count("ResultsScreen") == 1
        await _select(pilot, verified, "lr_too_high")
        remedies = text_of(pilot, "#remedies-text")
        assert LR_ACTION in remedies
        assert remedies.index(LR_ACTION) < remedies.index(
            "   verified: helps (training loss -42 %, p = 0.031, 5 seeds)\n")
        assert "scale_lr(factor=0.1) for lr_too_high: helps" in text_of(pilot, "#trials-text")
        assert "Verify again" in str(verified.query_one("#verify-remedies").label)
        # the trial's fact reached the engine: the helped remedy raised its cause's certainty
        assert verified.result.facts["trial.lr_too_high.helped"] is True
        finding = verified.result.get("lr_too_high")
        assert finding.certainty_before_trials == pytest.approx(0.6)
        assert finding.certainty == pytest.approx(0.84)
        assert "error · certainty 0.84 (was 0.60 before the trials) · lr_too_high" in remedies


TINY_SETUP = textwrap.dedent("""
    import torch
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset


    def setup():
        torch.manual_seed(0)
        x = torch.randn(256, 8)
        y = (x[:, 0] > 0).long()
        model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
        return {"model": model, "loss_fn": nn.CrossEntropyLoss(),
                "train_data": DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True),
                "optimizer": torch.optim.SGD(model.parameters(), lr=5.0)}
""")


def _probe_can_verify() -> bool:
    from advisor.tui.probing import can_verify

    from advisor.probing.api import probe

    return can_verify(probe)


async def _results_for(app, pilot, tiny) -> None:
    from advisor.tui.screens.results import ResultsScreen

    from advisor.engine import Engine

    facts = {"loss.trend": "diverging", "optim.lr": 5.0}
    app.push_screen(ResultsScreen(Engine(app.kb).diagnose(facts), probe_spec=str(tiny)))
    await wait_for_screen(pilot, "ResultsScreen")


async def test_real_verification_of_a_tiny_setup(mini_kb, tmp_path):
    assert _probe_can_verify()
    from advisor.report.trials import VERDICTS

    tiny = tmp_path / "tiny_setup.py"
    tiny.write_text(TINY_SETUP)
    app = AdvisorApp(kb=mini_kb, probe_options={"steps": 30, "budget": 120, "seeds": 2,
                                                "verify_top": 1, "verify_budget": 120})
    async with app.run_test(size=(110, 32)) as pilot:
        await ready(pilot)
        await _results_for(app, pilot, tiny)
        unverified = app.screen
        await pilot.click("#verify-remedies")
        # the probe screen may come and go between two polls on a fast machine: wait for the
        # new results (or the probe screen's failure), whatever was seen in between
        start = time.monotonic()
        while time.monotonic() - start < 300:
            screen = app.screen
            if type(screen).__name__ == "ResultsScreen" and screen is not unverified:
                break
            if type(screen).__name__ == "ProbeScreen" and screen.state == "failed":
                pytest.fail(f"the verification failed: {screen.error}")
            await pilot.pause(0.2)
        await wait_for_screen(pilot, "ResultsScreen")
        assert app.screen is not unverified
        await _verified_results(pilot)
        screen = app.screen
        verification = screen.result.verification
        assert verification is not None and verification["seeds"] == 2
        assert all(t["verdict"] in VERDICTS for t in screen.result.trials)
        assert "Cost: " in text_of(pilot, "#trials-text")
