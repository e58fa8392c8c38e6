"""The probe screen once the probe has ended, and leaving it while it runs: driven by scripted
probe feeds that wait on events the test sets, so nothing depends on how fast the machine is."""

from __future__ import annotations

import threading

from advisor.tui.app import AdvisorApp
from advisor.tui.probing import ProbeEvent, ProbeFailed
from tui_helpers import fake_probe, notifications, ready, text_of, wait_for_screen, wait_until


def _offered(screen, action: str) -> bool:
    """Whether the footer offers `action` (Textual lists a binding whose check_action is not
    False in active_bindings, and the footer shows exactly those)."""
    return any(b.binding.action == action for b in screen.active_bindings.values())


def failing_probe(gate: threading.Event):
    """Reports a phase with no known length (an indeterminate, animated bar), waits for the
    test, then fails as a broken setup does."""

    def run(spec, progress, cancel, options):
        progress(ProbeEvent("loading the setup (and torch)"))
        gate.wait(30)
        raise ProbeFailed("setup.py:3: setup() returned no 'model'")

    return run


async def test_a_failed_probe_stops_its_bar_and_no_longer_offers_cancel(mini_kb):
    gate = threading.Event()
    app = AdvisorApp(kb=mini_kb, probe_runner=failing_probe(gate))
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        app.start_probe("setup.py")
        await wait_for_screen(pilot, "ProbeScreen")
        screen = app.screen
        await wait_until(pilot, lambda: screen.phase.startswith("loading"), "the first phase")
        bar = screen.query_one("#probe-progress")
        assert bar.total is None  # indeterminate while it runs
        assert _offered(screen, "cancel")
        gate.set()
        await wait_until(pilot, lambda: screen.state == "failed", "the failure")
        assert bar.total is not None  # no longer the pulsing indeterminate bar
        assert bar.has_class("failed")
        assert text_of(pilot, "#probe-phase") == "Failed"
        assert "setup() returned no 'model'" in text_of(pilot, "#probe-status")
        assert not _offered(screen, "cancel")
        await pilot.press("c")  # nothing to cancel: the state stays
        assert screen.state == "failed"
        await pilot.press("escape")
        await wait_for_screen(pilot, "HomeScreen")
        assert not any("cancelled" in n for n in notifications(pilot))


async def test_escape_during_a_probe_cancels_it_and_says_so(mini_kb):
    app = AdvisorApp(kb=mini_kb, probe_runner=fake_probe({}, steps=5, block=True))
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        app.start_probe("setup.py")
        await wait_for_screen(pilot, "ProbeScreen")
        screen = app.screen
        await wait_until(pilot, lambda: len(screen.losses) == 5, "five training steps")
        assert screen.state == "running" and _offered(screen, "cancel")
        await pilot.press("escape")
        await wait_for_screen(pilot, "HomeScreen")
        assert screen.cancel_event.is_set()
        assert "Probe cancelled: nothing was measured." in notifications(pilot)


async def test_cancel_leaves_the_footer_once_asked(mini_kb):
    app = AdvisorApp(kb=mini_kb, probe_runner=fake_probe({}, steps=5, block=True))
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        app.start_probe("setup.py")
        await wait_for_screen(pilot, "ProbeScreen")
        screen = app.screen
        await wait_until(pilot, lambda: len(screen.losses) == 5, "five training steps")
        await pilot.press("c")
        await wait_until(pilot, lambda: screen.state == "cancelled", "the cancellation")
        assert not _offered(screen, "cancel")
        assert screen.query_one("#probe-progress").has_class("cancelled")
        assert text_of(pilot, "#probe-phase") == "Cancelled"
