"""Write an SVG screenshot of every screen to docs/screenshots/ (for the README).

    python docs/screenshots/capture.py [OUTDIR] [--size 100x30]

Each screen is reached the way a person would, with key presses through Textual's Pilot, on the
built-in knowledge base. The probe screen is shown mid-run with a scripted progress feed (a real
probe would make the picture depend on this machine's speed); everything else is real.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from advisor.tui.app import AdvisorApp, Start
from advisor.tui.probing import ProbeCancelled, ProbeEvent, ProbeOutcome
from textual.pilot import Pilot

OUT = Path(__file__).resolve().parent


def scripted_probe(spec: str, progress: Callable[[ProbeEvent], None], cancel: threading.Event,
                   options: dict[str, Any]) -> ProbeOutcome:
    """Reports a noisy, slowly falling loss for 120 of 200 steps, then waits to be cancelled."""
    progress(ProbeEvent("model"))
    for step in range(1, 121):
        loss = 2.3 * math.exp(-step / 60) + 0.25 * abs(math.sin(step * 1.7))
        progress(ProbeEvent("training", step, 200, loss))
    cancel.wait(60)
    raise ProbeCancelled()


async def _settle(pilot: Pilot) -> None:
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


async def _wait(pilot: Pilot, screen: str) -> None:
    start = time.monotonic()
    while type(pilot.app.screen).__name__ != screen:
        if time.monotonic() - start > 30:
            raise TimeoutError(f"{screen} did not open")
        await pilot.pause(0.05)
    await _settle(pilot)


async def _ready(pilot: Pilot) -> None:
    while not pilot.app.kb_loaded:  # type: ignore[attr-defined]
        await pilot.pause(0.05)
    await _settle(pilot)


async def _answer_until(pilot: Pilot, answers: dict[str, Any], limit: int = 12) -> None:
    """Answer the guided screen's questions from `answers` (don't know for the rest)."""
    screen: Any = pilot.app.screen
    for _ in range(limit):
        if screen.mode != "question":
            return
        value = answers.get(screen.question.fact.name)
        if value is None:
            await pilot.press("d")
        elif screen.question.choices:
            index = [v for v, _ in screen.question.choices].index(value)
            await pilot.press(str(index + 1))
        else:
            await pilot.press(*str(value), "enter")
        await pilot.pause()


NAN_ANSWERS = {"runtime.error": "none", "task.kind": "multiclass",
               "loss_fn.kind": "cross_entropy", "symptom.loss_explodes": True,
               "optim.kind": "adam", "loss.trend": "nonfinite"}


async def _symptom(pilot: Pilot, name: str) -> None:
    from advisor.tui.session import symptom_facts

    await pilot.press("s")
    await _wait(pilot, "GuidedScreen")
    names = [f.name for f in symptom_facts(pilot.app.kb)]  # type: ignore[attr-defined]
    await pilot.press(str(names.index(name) + 1))
    await _settle(pilot)


async def shot_home(pilot: Pilot) -> None:
    await _ready(pilot)


async def shot_guided(pilot: Pilot) -> None:
    await _ready(pilot)
    await _symptom(pilot, "symptom.loss_nan")
    await _answer_until(pilot, NAN_ANSWERS, limit=9)


async def shot_why(pilot: Pilot) -> None:
    await shot_guided(pilot)
    await pilot.press("w")
    await _wait(pilot, "MessageScreen")


async def shot_results(pilot: Pilot) -> None:
    await shot_guided(pilot)
    await _answer_until(pilot, NAN_ANSWERS, limit=4)
    await pilot.press("r")
    await _wait(pilot, "ResultsScreen")


async def shot_results_how(pilot: Pilot) -> None:
    await shot_results(pilot)
    await pilot.press("3")
    await _settle(pilot)


async def shot_kb_browser(pilot: Pilot) -> None:
    await _ready(pilot)
    await pilot.press("k")
    await _wait(pilot, "KBBrowserScreen")
    await pilot.press("slash", *"learning rate", "enter")
    await _settle(pilot)


async def shot_probe(pilot: Pilot) -> None:
    await _ready(pilot)
    pilot.app.start_probe("examples/healthy_digits_mlp.py")  # type: ignore[attr-defined]
    await _wait(pilot, "ProbeScreen")
    while len(pilot.app.screen.losses) < 120:  # type: ignore[attr-defined]
        await pilot.pause(0.05)
    await _settle(pilot)


SHOTS: dict[str, tuple[Callable[[Pilot], Awaitable[None]], dict[str, Any]]] = {
    "home": (shot_home, {}),
    "probe": (shot_probe, {"probe_runner": scripted_probe}),
    "guided": (shot_guided, {}),
    "why": (shot_why, {}),
    "results": (shot_results, {}),
    "results-how": (shot_results_how, {}),
    "kb-browser": (shot_kb_browser, {}),
}


async def _take(name: str, out: Path, size: tuple[int, int], kb: Any) -> Path:
    action, kwargs = SHOTS[name]
    app = AdvisorApp(kb=kb, **kwargs)
    async with app.run_test(size=size) as pilot:
        await action(pilot)
        path = app.save_screenshot(f"{name}.svg", str(out))
    return Path(path)


async def _take_errors(out: Path, size: tuple[int, int], kb: Any) -> list[Path]:
    """The two error screens: a broken report, and a user rule file with a mistake. They run in
    a temporary working directory so the pictures show short relative paths."""
    written = []
    here = Path.cwd()
    out = out.resolve()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        try:
            Path("report.json").write_text(json.dumps({"facts": {"optim.lr": 0.5}})[:-3])
            app = AdvisorApp(kb=kb, start=Start("report", "report.json"))
            async with app.run_test(size=size) as pilot:
                await _ready(pilot)
                await _wait(pilot, "MessageScreen")
                written.append(Path(app.save_screenshot("report-error.svg", str(out))))
            Path("my_rules").mkdir()
            Path("my_rules/lr.yaml").write_text(
                "rules:\n  - id: my_lr_rule\n    title: My rule\n    kind: cause\n"
                "    cf: 0.5\n    when: {fact: optim.lr, gt: 0.1}\n"
                "    explanation: Too high.\n    sources: [{ref: 'https://example.org'}]\n")
            app = AdvisorApp(kb=kb)
            async with app.run_test(size=size) as pilot:
                await _ready(pilot)
                await pilot.press("k")
                await _wait(pilot, "KBBrowserScreen")
                app.screen.load_directory("my_rules")  # type: ignore[attr-defined]
                await app.workers.wait_for_complete()
                await _settle(pilot)
                written.append(Path(app.save_screenshot("kb-problems.svg", str(out))))
        finally:
            os.chdir(here)
    return written


async def main_async(out: Path, size: tuple[int, int]) -> list[Path]:
    from advisor.kb import load_kb

    kb = load_kb(use_env=False, check_examples=False)
    out.mkdir(parents=True, exist_ok=True)
    written = [await _take(name, out, size, kb) for name in SHOTS]
    return written + await _take_errors(out, size, kb)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, default=OUT)
    parser.add_argument("--size", default="100x30", help="terminal size, WIDTHxHEIGHT")
    args = parser.parse_args(argv)
    width, height = (int(x) for x in args.size.lower().split("x"))
    for path in asyncio.run(main_async(args.out, (width, height))):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
