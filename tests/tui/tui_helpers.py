"""Helpers the TUI tests share: wait for the app, read what a screen shows, answer questions
with real key presses."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from advisor.tui.probing import ProbeEvent, ProbeOutcome
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import Static

DATA = Path(__file__).parent / "data"


async def ready(pilot: Pilot, timeout: float = 20.0) -> None:
    """Wait until the app has its knowledge base (loaded in a worker after the first paint)."""
    app = pilot.app
    start = time.monotonic()
    while not app.kb_loaded:  # type: ignore[attr-defined]
        if time.monotonic() - start > timeout:
            raise TimeoutError("the knowledge base did not load")
        await pilot.pause(0.02)
    await pilot.pause()


async def wait_for_screen(pilot: Pilot, name: str, timeout: float = 30.0) -> None:
    start = time.monotonic()
    while type(pilot.app.screen).__name__ != name:
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"still on {type(pilot.app.screen).__name__}, not {name}")
        await pilot.pause(0.05)
    await pilot.pause()


def text_of(pilot: Pilot, selector: str) -> str:
    """The plain text a Static shows on the active screen."""
    widget = pilot.app.screen.query_one(selector, Static)
    content = widget.visual
    if isinstance(content, Text):
        return content.plain
    return str(getattr(content, "plain", content))


async def pick(pilot: Pilot, index: int) -> None:
    """Choose option `index` of the focused list the way a person does: arrows, then enter."""
    await pilot.press("home", *["down"] * index, "enter")
    await pilot.pause()


async def choose(pilot: Pilot, index: int) -> None:
    """Choose option `index` on the guided screen: its digit key, or arrows past the ninth."""
    if index < 9:
        await pilot.press(str(index + 1))
        await pilot.pause()
    else:
        await pick(pilot, index)


async def answer(pilot: Pilot, value: Any) -> None:
    """Answer the question on the guided screen with `value` (None: don't know) by keys."""
    screen = pilot.app.screen
    question = screen.question  # type: ignore[attr-defined]
    if value is None:
        await pilot.press("d")
    elif question.choices:
        values = [v for v, _ in question.choices]
        await choose(pilot, values.index(value))
    else:
        await pilot.press(*str(value), "enter")
    await pilot.pause()


def fake_probe(facts: dict[str, Any], *, steps: int = 40, block: bool = False,
               delay: float = 0.0):
    """A probe runner with the real one's signature: reports phases and losses, then returns
    `facts`; with `block=True` it waits until cancelled (for cancel tests and snapshots)."""

    def run(spec: str, progress, cancel: threading.Event, options: dict[str, Any]):
        from advisor.tui.probing import ProbeCancelled

        progress(ProbeEvent("model"))
        for step in range(1, steps + 1):
            if cancel.is_set():
                raise ProbeCancelled()
            progress(ProbeEvent("training", step, steps * 2, 2.3 / (1 + 0.1 * step)
                                + 0.2 * (step % 3)))
            if delay:
                time.sleep(delay)
        if block:
            cancel.wait(30)
            raise ProbeCancelled()
        return ProbeOutcome(dict(facts), {"loss": [2.3, 1.5, 1.0, 0.8]})

    return run


def rendered(pilot: Pilot, selector: str) -> list[str]:
    """The lines a widget on the active screen draws at its current size, as plain text."""
    from textual.geometry import Region

    widget = pilot.app.screen.query_one(selector)
    width, height = widget.outer_size  # render_lines draws the border and padding too
    return [strip.text for strip in widget.render_lines(Region(0, 0, width, height))]


def notifications(pilot: Pilot) -> list[str]:
    """The messages of the toasts the app is showing."""
    return [n.message for n in pilot.app._notifications]  # noqa: SLF001 (no public reader)


async def wait_until(pilot: Pilot, condition, what: str, timeout: float = 30.0) -> None:
    """Let the app run until `condition()` holds: waits on the app's state, not on a clock
    (the timeout only turns a hang into a failure)."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"never happened: {what}")
        await pilot.pause(0.02)
    await pilot.pause()
