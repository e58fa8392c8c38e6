"""The TUI's watch of a user's own script (issue 10, point 8): `advisor tui --watch SCRIPT.py`
and w on the home screen run `advisor watch` in a subprocess, show its loss live, then the
report's diagnoses. Real torch, real subprocess, real Textual (Pilot); every wait is on the
app's state (a timeout only turns a hang into a failure), and the runs are bounded by steps.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from advisor.tui.app import AdvisorApp, Start
from tui_helpers import ready, text_of, wait_for_screen, wait_until

from advisor.cli import main

# A plain healthy script, as people write them: argparse, a DataLoader, an explicit loop, prints.
HEALTHY = '''\
import argparse
import time

import torch
from torch import nn

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=100)
parser.add_argument("--hold-after", type=int, default=0, help="steps; then wait until stopped")
parser.add_argument("--fail-after", type=int, default=0, help="steps; then raise an error")
args = parser.parse_args()
for shard in range(300):  # a burst of output before training: every line reaches the log
    print(f"shard {shard} ready")
torch.manual_seed(0)
x = torch.randn(256, 8)
y = x @ torch.randn(8, 1) + 0.1 * torch.randn(256, 1)
loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=32,
                                     shuffle=True)
model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 1))
opt = torch.optim.Adam(model.parameters(), lr=1e-2)
loss_fn = nn.MSELoss()
step = 0
for epoch in range(args.epochs):
    for xb, yb in loader:
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        step += 1
        if args.fail_after and step >= args.fail_after:
            raise RuntimeError("the data shard is corrupt")
        while args.hold_after and step >= args.hold_after:
            time.sleep(0.05)  # a script stuck after some steps: only a stop ends it
    print(f"epoch {epoch} loss {loss.item():.4f}")
'''
STEPS = 40


@pytest.fixture
def script_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with train.py, made the current folder (the script runs from there)."""
    (tmp_path / "train.py").write_text(HEALTHY, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    return tmp_path


@pytest.mark.slow
async def test_a_watch_shows_the_live_loss_then_the_diagnoses(mini_kb, script_dir):
    app = AdvisorApp(kb=mini_kb, start=Start("watch", "train.py --epochs 100"),
                     watch_options={"steps": STEPS})
    async with app.run_test(size=(100, 32)) as pilot:
        await ready(pilot)
        await wait_for_screen(pilot, "WatchScreen", timeout=10)
        watch = app.screen
        assert "train.py --epochs 100" in text_of(pilot, "#watch-title")
        await wait_for_screen(pilot, "ResultsScreen", timeout=120)
        # the curve was fed by the progress lines while the watch ran, every loss of it
        assert watch.live_points == STEPS
        assert (watch.step, watch.total) == (STEPS, STEPS)
        assert watch.outcome is not None and watch.outcome.ending == "stopped"
        assert watch.outcome.exit_code == 0
        shards = [line for line in watch.output if line.startswith("shard ")]
        assert shards == [f"shard {i} ready" for i in range(300)]  # every line, in order
        epochs = [int(line.split()[1]) for line in watch.output if line.startswith("epoch ")]
        assert epochs == list(range(STEPS // 8))  # 8 batches an epoch: the last one completes
        results = app.screen
        assert results.result.facts["loop.watched"] is True
        assert results.result.facts["loss.trend"] == "decreasing"
        assert len(results.series["loss"]) == STEPS
        assert "0 error" in text_of(pilot, "#results-summary") or results.result.diagnoses
        await pilot.press("escape")  # back to the output, which offers the results again
        await wait_for_screen(pilot, "WatchScreen")
        assert watch.state == "done"
        assert "40 training steps watched" in text_of(pilot, "#watch-status")
        assert f"step {STEPS}/{STEPS}" in text_of(pilot, "#watch-loss-label")
        bar = watch.query_one("#watch-progress")
        assert (bar.progress, bar.total) == (STEPS, STEPS)
        await pilot.press("r")
        await wait_for_screen(pilot, "ResultsScreen")


@pytest.mark.slow
async def test_stopping_a_watch_keeps_the_report_of_what_was_seen(mini_kb, script_dir):
    # 1000 steps planned (losses read every 40th), the script holds after 48: it never ends
    # on its own, so the stop is the only way out, whatever the machine's speed
    app = AdvisorApp(kb=mini_kb, start=Start("watch", "train.py --hold-after 48"),
                     watch_options={"steps": 1000})
    async with app.run_test(size=(100, 32)) as pilot:
        await ready(pilot)
        await wait_for_screen(pilot, "WatchScreen", timeout=10)
        watch = app.screen
        await wait_until(pilot, lambda: watch.live_points >= 40, "the first losses read",
                         timeout=120)
        assert watch.state == "running" and watch.total == 1000
        await pilot.press("c")
        await wait_for_screen(pilot, "ResultsScreen", timeout=120)
        assert watch.outcome is not None and watch.outcome.cancelled
        assert watch.outcome.ending == "interrupted" and watch.outcome.report["partial"]
        assert watch.outcome.steps == 48
        assert len(app.screen.series["loss"]) == 48
        await pilot.press("escape")
        await wait_for_screen(pilot, "WatchScreen")
        assert text_of(pilot, "#watch-phase") == "Stopped by you (partial report)"


@pytest.mark.slow
async def test_a_script_that_fails_shows_its_error_and_what_was_seen(mini_kb, script_dir):
    app = AdvisorApp(kb=mini_kb, start=Start("watch", "train.py --fail-after 12"),
                     watch_options={"steps": STEPS})
    async with app.run_test(size=(100, 32)) as pilot:
        await ready(pilot)
        await wait_for_screen(pilot, "WatchScreen", timeout=10)
        watch = app.screen
        await wait_for_screen(pilot, "ResultsScreen", timeout=120)
        assert watch.outcome is not None and watch.outcome.ending == "crashed"
        assert watch.outcome.exit_code == 4 and watch.outcome.steps == 12
        await pilot.press("escape")
        await wait_for_screen(pilot, "WatchScreen")
        assert text_of(pilot, "#watch-phase") == "The script stopped with an error"
        status = text_of(pilot, "#watch-status")
        assert "RuntimeError: the data shard is corrupt" in status
        assert "train.py:" in status  # where, in the script


async def test_a_missing_script_typed_on_the_home_screen_is_refused_in_the_dialog(
        mini_kb, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = AdvisorApp(kb=mini_kb)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        await pilot.press("w")
        await wait_for_screen(pilot, "PromptScreen")
        await pilot.press(*"missing.py --epochs 3", "enter")
        error = text_of(pilot, "#prompt-error")
        assert "missing.py: no such file" in error
        assert "give the path of your training script" in error
        assert type(app.screen).__name__ == "PromptScreen"  # stays open to fix the path


async def test_a_watch_of_a_missing_script_fails_on_its_screen(mini_kb, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = AdvisorApp(kb=mini_kb, start=Start("watch", "missing.py"))
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        await wait_for_screen(pilot, "WatchScreen")
        screen = app.screen
        await wait_until(pilot, lambda: screen.state == "failed", "the failure")
        assert text_of(pilot, "#watch-phase") == "Failed"
        assert "missing.py: no such file" in text_of(pilot, "#watch-status")
        assert screen.outcome is None
        await pilot.press("escape")
        await wait_for_screen(pilot, "HomeScreen")


def test_advisor_tui_watch_refuses_a_missing_script_before_the_ui(tmp_path, monkeypatch,
                                                                   capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["tui", "--watch", "missing.py", "--epochs", "3"]) == 2
    err = capsys.readouterr().err
    assert "--watch missing.py: no such file" in err


def test_the_words_after_watch_belong_to_the_script():
    from advisor.tui.watching import parse_request

    from advisor.commands.tui import split_argv

    own, _ = split_argv(["--steps", "40", "--watch", "train.py", "--lr", "0.1", "a b"])
    assert own[:3] == ["--steps", "40", "--watch"]
    assert parse_request(own[3]).words == ("train.py", "--lr", "0.1", "a b")
    own, _ = split_argv(["--watch", "-m", "pkg.train", "--kb", "x"])
    request = parse_request(own[1])
    assert (request.module, request.words) == ("pkg.train", ("-m", "pkg.train", "--kb", "x"))


@pytest.mark.slow
def test_advisor_watch_writes_progress_lines_when_asked(script_dir, monkeypatch, capsys):
    from advisor.tui.watching import PROGRESS_ENV

    from advisor.watching.progress import ENV

    assert PROGRESS_ENV == ENV  # the TUI names it without importing torch
    progress = script_dir / "progress.jsonl"
    monkeypatch.setenv(ENV, str(progress))
    code = main(["watch", "--quiet", "--steps", str(STEPS), "--json",
                 str(script_dir / "report.json"), "train.py", "--epochs", "100"])
    assert code == 0
    lines = [json.loads(line) for line in progress.read_text().splitlines()]
    steps = [line["step"] for line in lines]
    assert steps == sorted(steps) and len(lines) > 2  # a stream while it ran, not one line
    assert all(line["total"] == STEPS for line in lines)
    assert lines[-1]["done"] is True and lines[-1]["step"] == STEPS
    assert not any(line.get("done") for line in lines[:-1])
    sent = [v for line in lines for v in line["losses"]]
    report = json.loads((script_dir / "report.json").read_text())
    assert sent == pytest.approx(report["series"]["loss"])  # every loss, once, in order
