"""Snapshots of the main screens (pytest-textual-snapshot), on the small knowledge base in
data/kb so they change only when the UI does. Regenerate after a deliberate UI change with
`pytest tests/tui/test_tui_snapshots.py --snapshot-update`, after looking at the report."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from advisor.tui.app import AdvisorApp, Start
from advisor.tui.screens.probe import ProbeScreen
from tui_helpers import fake_probe, ready, wait_for_screen

NAN = {"symptom.loss_nan": True, "training.gradient_clipping": False, "optim.lr": 0.5,
       "symptom.val_rises": True, "training.early_stopping": False}


@pytest.fixture
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ProbeScreen, "clock", staticmethod(lambda: 0.0))


def _app(kb, **kwargs) -> AdvisorApp:
    return AdvisorApp(kb=kb, export_dir="/tmp/advisor-exports", **kwargs)


@pytest.mark.parametrize("size", [(80, 24), (100, 30)])
def test_home(snap_compare, mini_kb, size):
    async def run_before(pilot):
        await ready(pilot)

    assert snap_compare(_app(mini_kb), terminal_size=size, run_before=run_before)


def test_guided_question(snap_compare, mini_kb):
    async def run_before(pilot):
        await ready(pilot)
        await pilot.press("s")
        await wait_for_screen(pilot, "GuidedScreen")
        await pilot.press("1")  # the loss becomes NaN
        while pilot.app.screen.question.fact.name != "training.gradient_clipping":
            await pilot.press("d")

    assert snap_compare(_app(mini_kb), run_before=run_before)


def test_guided_symptoms(snap_compare, mini_kb):
    async def run_before(pilot):
        await ready(pilot)
        await pilot.press("s")
        await wait_for_screen(pilot, "GuidedScreen")

    assert snap_compare(_app(mini_kb), run_before=run_before)


def test_why(snap_compare, mini_kb):
    async def run_before(pilot):
        await ready(pilot)
        await pilot.press("s")
        await wait_for_screen(pilot, "GuidedScreen")
        await pilot.press("1")
        await pilot.press("w")
        await wait_for_screen(pilot, "MessageScreen")

    assert snap_compare(_app(mini_kb), run_before=run_before)


@pytest.mark.parametrize(("size", "tab"), [((80, 24), "1"), ((100, 30), "3")])
def test_results(snap_compare, mini_kb, size, tab):
    async def run_before(pilot):
        from advisor.engine import Engine

        await ready(pilot)
        pilot.app.show_result(Engine(mini_kb).diagnose(NAN))
        await wait_for_screen(pilot, "ResultsScreen")
        await pilot.press("down", tab)

    assert snap_compare(_app(mini_kb), terminal_size=size, run_before=run_before)


def test_kb_browser(snap_compare, mini_kb):
    async def run_before(pilot):
        await ready(pilot)
        await pilot.press("k")
        await wait_for_screen(pilot, "KBBrowserScreen")
        await pilot.press("slash", *"learning", "enter")

    assert snap_compare(_app(mini_kb), run_before=run_before)


def test_kb_browser_problems(snap_compare, mini_kb, monkeypatch):
    from tui_helpers import DATA

    monkeypatch.chdir(DATA.parents[2])  # the repository: paths below are shown relative to it

    async def run_before(pilot):
        await ready(pilot)
        await pilot.press("k")
        await wait_for_screen(pilot, "KBBrowserScreen")
        # relative, as a person would type it: the picture must not hold this machine's path
        pilot.app.screen.load_directory(os.path.relpath(DATA / "broken_kb"))
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    app = _app(mini_kb, builtin=False)
    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)


def test_probe(snap_compare, mini_kb, fixed_clock):
    async def run_before(pilot):
        await ready(pilot)
        pilot.app.start_probe("examples/my_setup.py")
        await wait_for_screen(pilot, "ProbeScreen")
        while len(pilot.app.screen.losses) < 40:
            await pilot.pause(0.02)

    app = _app(mini_kb, probe_runner=fake_probe({}, steps=40, block=True))
    assert snap_compare(app, run_before=run_before)


def test_broken_report(snap_compare, mini_kb, tmp_path: Path):
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"facts": {"optim.lr": 0.5}})[:-3])

    async def run_before(pilot):
        await ready(pilot)
        await wait_for_screen(pilot, "MessageScreen")
        screen = pilot.app.screen
        # the path is tmp_path's, which changes per run: keep only its name in the picture
        screen.query_one("#message-text").update(screen.message_text.replace(
            str(tmp_path) + "/", ""))

    app = _app(mini_kb, start=Start("report", str(report)))
    assert snap_compare(app, run_before=run_before)
