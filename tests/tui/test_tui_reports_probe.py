"""Opening saved reports (good and broken), and the probe screen: progress, cancel, failure,
and a real probe of a tiny setup written to tmp_path."""

from __future__ import annotations

import json
import textwrap
import time

import pytest
from advisor.tui.app import AdvisorApp, Start
from advisor.tui.launch import classify
from tui_helpers import fake_probe, ready, text_of, wait_for_screen


def test_targets_are_classified():
    assert classify(None) is None
    assert classify("run/report.JSON") == Start("report", "run/report.JSON")
    assert classify("examples/setup.py:make") == Start("probe", "examples/setup.py:make")
    assert classify("pkg.module:setup") == Start("probe", "pkg.module:setup")


# ------------------------------------------------------------------ reports
async def test_start_from_a_report_asks_only_the_rest(mini_kb, tmp_path):
    report = tmp_path / "probe.json"
    report.write_text(json.dumps({"schema": "advisor-probe-report/1",
                                  "facts": {"loss.trend": "nonfinite", "optim.lr": 0.5,
                                            "perf.step_ms": 3.0},
                                  "diagnoses": [], "series": {"loss": [2.0, 5.0, 40.0]}}))
    app = AdvisorApp(kb=mini_kb, start=Start("report", str(report)))
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await wait_for_screen(pilot, "GuidedScreen")
        screen = app.screen
        assert screen.session.given == {"loss.trend": "nonfinite", "optim.lr": 0.5}
        assert screen.series == {"loss": [2.0, 5.0, 40.0]}
        assert "2 facts from the report probe.json" in text_of(pilot, "#guided-step")
        assert screen.mode == "question"
        assert screen.question.fact.name not in screen.session.given
        await pilot.press("r")
        await wait_for_screen(pilot, "ResultsScreen")
        assert "lr_too_high" in [c.id for c in app.screen.result.diagnoses]
        assert app.screen.query("#results-loss")  # the loss curve from the report


@pytest.mark.parametrize(("content", "expected"), [
    ('{"facts": {"optim.lr": 0.5,,}}', "broken.json:1:28: not valid JSON"),
    ('["not", "a", "report"]', "expected a JSON object with a 'facts' mapping"),
])
async def test_a_broken_report_shows_a_message(mini_kb, tmp_path, content, expected):
    report = tmp_path / "broken.json"
    report.write_text(content)
    app = AdvisorApp(kb=mini_kb, start=Start("report", str(report)))
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await wait_for_screen(pilot, "MessageScreen")
        assert expected in app.screen.message_text
        await pilot.press("escape")
        await wait_for_screen(pilot, "HomeScreen")


async def test_open_a_report_from_home(mini_kb, tmp_path):
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"facts": {"symptom.val_rises": True}}))
    app = AdvisorApp(kb=mini_kb)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("o")
        await wait_for_screen(pilot, "PromptScreen")
        app.screen.query_one("#prompt-input").value = str(tmp_path / "missing.json")
        await pilot.press("enter")
        await wait_for_screen(pilot, "MessageScreen")
        assert "missing.json: no such file" in app.screen.message_text
        await pilot.press("enter")
        await pilot.press("o")
        await wait_for_screen(pilot, "PromptScreen")
        app.screen.query_one("#prompt-input").value = str(good)
        await pilot.press("enter")
        await wait_for_screen(pilot, "GuidedScreen")
        assert app.screen.session.given == {"symptom.val_rises": True}


# ------------------------------------------------------------------ the probe screen
async def test_probe_progress_then_diagnosis(mini_kb):
    facts = {"loss.trend": "diverging", "optim.lr": 0.3, "no.such.fact": 1}
    seen_options = []
    runner = fake_probe(facts, delay=0.005)

    def recording(spec, progress, cancel, options):
        seen_options.append(options)
        return runner(spec, progress, cancel, options)

    app = AdvisorApp(kb=mini_kb, probe_runner=recording)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        app.start_probe("setup.py")
        # nothing left to ask can change the top diagnoses: the results open over the interview
        await wait_for_screen(pilot, "ResultsScreen")
        # the probe only measures; the UI diagnoses with its own engine and knowledge folders
        assert seen_options and seen_options[0]["diagnose"] is False
        screen = next(s for s in app.screen_stack if type(s).__name__ == "GuidedScreen")
        assert screen.session.given["optim.lr"] == 0.3
        assert screen.series == {"loss": [2.3, 1.5, 1.0, 0.8]}
        assert "lr_too_high" in [h.id for h in screen.session.hypotheses()]


async def test_probe_shows_phase_progress_and_loss_and_cancels(mini_kb):
    app = AdvisorApp(kb=mini_kb, probe_runner=fake_probe({}, steps=30, block=True))
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        app.start_probe("setup.py")
        await wait_for_screen(pilot, "ProbeScreen")
        screen = app.screen
        start = time.monotonic()
        while len(screen.losses) < 30 and time.monotonic() - start < 10:
            await pilot.pause(0.05)
        assert screen.phase == "training"
        assert screen.query_one("#probe-progress").progress == 30
        assert screen.query_one("#probe-progress").total == 60
        assert len(screen.query_one("#probe-loss").data) == 30
        assert "(step 30/60)" in text_of(pilot, "#probe-loss-label")
        await pilot.press("c")
        while screen.state != "cancelled" and time.monotonic() - start < 10:
            await pilot.pause(0.05)
        assert screen.state == "cancelled"
        assert "cancelled" in text_of(pilot, "#probe-status")
        await pilot.press("escape")
        await wait_for_screen(pilot, "HomeScreen")


async def test_probe_failure_is_shown(mini_kb, tmp_path):
    bad = tmp_path / "bad_setup.py"
    bad.write_text("def setup():\n    return {'model': 1}\n")
    app = AdvisorApp(kb=mini_kb)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        app.start_probe(f"{bad}:nothing_here")
        await wait_for_screen(pilot, "ProbeScreen")
        screen = app.screen
        start = time.monotonic()
        while screen.state == "running" and time.monotonic() - start < 60:
            await pilot.pause(0.1)
        assert screen.state == "failed"
        assert "no function 'nothing_here'" in text_of(pilot, "#probe-status")


TINY_SETUP = textwrap.dedent("""
    import torch
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset


    def setup():
        torch.manual_seed(0)
        x = torch.randn(512, 8)
        y = (x[:, 0] > 0).long()
        model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
        return {"model": model, "loss_fn": nn.CrossEntropyLoss(),
                "train_data": DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True),
                "optimizer": torch.optim.SGD(model.parameters(), lr=5.0)}
""")


async def test_real_probe_can_be_cancelled(mini_kb, tmp_path):
    setup = tmp_path / "tiny_setup.py"
    setup.write_text(TINY_SETUP)
    app = AdvisorApp(kb=mini_kb, probe_options={"steps": 400, "budget": 60})
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        app.start_probe(str(setup))
        await wait_for_screen(pilot, "ProbeScreen")
        screen = app.screen
        start = time.monotonic()
        while screen.phase != "training" and screen.state == "running" \
                and time.monotonic() - start < 90:
            await pilot.pause(0.1)
        assert screen.phase == "training", text_of(pilot, "#probe-status")
        await pilot.press("c")
        assert text_of(pilot, "#probe-phase").startswith("Cancel")
        while screen.state == "cancelling" and time.monotonic() - start < 90:
            await pilot.pause(0.1)
        assert screen.state == "cancelled"
        assert type(app.screen).__name__ == "ProbeScreen"  # no diagnosis from a cancelled run
