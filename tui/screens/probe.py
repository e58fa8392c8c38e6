"""Probe: run the short instrumented training in a worker thread and watch it live.

The probe takes seconds to minutes and imports torch, so it runs in a thread worker; the UI keeps
drawing, shows the phase, a progress bar and the training loss as a sparkline, and `c` cancels
it (the probe checks a threading.Event between steps). The probe thread keeps only the latest
progress and has at most one message in flight, so a fast probe cannot flood the screen. When
the probe finishes, the guided diagnosis opens with the measured facts, asking only what could
not be measured.
"""

from __future__ import annotations

import math
import threading
import time
from typing import TYPE_CHECKING, Any

from advisor.tui.probing import ProbeCancelled, ProbeEvent, ProbeFailed, ProbeOutcome
from advisor.tui.widgets.plain import Plain
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header, ProgressBar, RichLog, Sparkline

from advisor.report import format as fmt

if TYPE_CHECKING:
    from advisor.tui.app import AdvisorApp

MAX_POINTS = 400  # the sparkline summarises anyway; keep the message small


class ProbeScreen(Screen):
    """Keys: c cancel (while the probe runs), escape back (cancelling a running probe first,
    and saying so)."""

    BINDINGS = [
        Binding("c", "cancel", "Cancel"),
        Binding("escape", "back", "Back"),
    ]

    clock = staticmethod(time.monotonic)  # the log's elapsed times (snapshots fix it)

    class Progress(Message):
        """New progress is waiting in `ProbeScreen._latest`."""

    class Finished(Message):
        def __init__(self, outcome: ProbeOutcome | None, error: str = "",
                     cancelled: bool = False) -> None:
            super().__init__()
            self.outcome = outcome
            self.error = error
            self.cancelled = cancelled

    def __init__(self, spec: str, options: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.spec = spec
        self.options = dict(options or {})
        self.cancel_event = threading.Event()
        self.state = "running"  # running | cancelling | done | failed | cancelled
        self.phase = ""
        self.losses: list[float] = []
        self.outcome: ProbeOutcome | None = None
        self._started = self.clock()
        self._lock = threading.Lock()
        self._latest: tuple[ProbeEvent, list[float]] | None = None
        self._in_flight = False

    @property
    def advisor(self) -> AdvisorApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="probe-body"):
            yield Plain(Text.assemble(("Probing ", "bold"), self.spec), id="probe-title")
            yield Plain("Starting…", id="probe-phase")
            yield ProgressBar(total=None, show_eta=False, id="probe-progress")
            yield Plain("Training loss", classes="pane-title")
            yield Sparkline([], id="probe-loss")
            yield Plain(Text("The curve appears when training starts.", style="dim"),
                        id="probe-loss-label")
            yield RichLog(id="probe-log", wrap=True, markup=False)
            yield Plain("", id="probe-status")
        yield Footer()

    def on_mount(self) -> None:
        self._log(f"probe of {self.spec} started")
        self.run_probe()

    def on_unmount(self) -> None:
        # Leaving the screen, or quitting, stops the probe: the app cannot exit while a worker
        # thread is still training.
        self.cancel_event.set()

    # ------------------------------------------------------------------ the worker
    @work(thread=True, exclusive=True, group="probe", exit_on_error=False)
    def run_probe(self) -> None:
        losses: list[float] = []

        def progress(event: ProbeEvent) -> None:
            # Called on the probe's thread, possibly every few milliseconds. Keep only the
            # latest state and have at most one message in flight: the screen redraws as fast
            # as it can, never falls behind, and always ends on the final state.
            if event.loss is not None and math.isfinite(event.loss):
                losses.append(event.loss)
            with self._lock:
                self._latest = (event, losses[-MAX_POINTS:])
                if self._in_flight:
                    return
                self._in_flight = True
            self.post_message(self.Progress())

        try:
            # the UI diagnoses the measured facts with its own engine: the probe only measures
            options = {"diagnose": False, **self.options}
            outcome = self.advisor.probe_runner(self.spec, progress, self.cancel_event,
                                                options)
        except ProbeCancelled:
            self.post_message(self.Finished(None, cancelled=True))
        except ProbeFailed as exc:
            self.post_message(self.Finished(None, error=str(exc)))
        except Exception as exc:  # a bug must not take the UI down with it
            self.post_message(self.Finished(None, error=f"{type(exc).__name__}: {exc}"))
        else:
            self.post_message(self.Finished(outcome))

    # ------------------------------------------------------------------ progress
    def on_probe_screen_progress(self, message: Progress) -> None:
        with self._lock:
            latest, self._in_flight = self._latest, False
        if latest is None:
            return
        event, losses = latest
        if event.phase != self.phase:
            self.phase = event.phase
            self._log(event.phase)
        if self.state == "running":
            self.query_one("#probe-phase", Plain).update(Text(event.phase, style="bold"))
        bar = self.query_one("#probe-progress", ProgressBar)
        if event.total:
            bar.update(total=event.total, progress=min(event.step, event.total))
        else:
            bar.update(total=None)
        if not losses and event.phase == "training":
            self.query_one("#probe-loss-label", Plain).update(Text(
                "This probe reports no live loss; the curve comes with its report.",
                style="dim"))
        if losses:
            self.losses = losses
            self.query_one("#probe-loss", Sparkline).data = losses
            first, last = losses[0], losses[-1]
            steps = f" (step {event.step}/{event.total})" if event.total else ""
            self.query_one("#probe-loss-label", Plain).update(
                Text(f"loss {fmt.number(first)} → {fmt.number(last)}{steps}", style="dim"))

    def on_probe_screen_finished(self, message: Finished) -> None:
        status = self.query_one("#probe-status", Plain)
        elapsed = self.clock() - self._started
        if message.cancelled:
            self._end("cancelled")
            self.query_one("#probe-phase", Plain).update(Text("Cancelled", style="bold yellow"))
            status.update(Text("The probe was cancelled. escape: back", style="yellow"))
            self._log(f"cancelled after {elapsed:.1f} s")
            return
        if message.outcome is None:
            self._end("failed")
            self.query_one("#probe-phase", Plain).update(Text("Failed", style="bold red"))
            status.update(Text(message.error + "\nescape: back", style="red"))
            self._log("failed: " + message.error)
            return
        self.outcome = message.outcome
        self._end("done")
        self._log(f"done in {elapsed:.1f} s: {len(message.outcome.facts)} facts measured")
        self.query_one("#probe-phase", Plain).update(Text("Done", style="bold green"))
        bar = self.query_one("#probe-progress", ProgressBar)
        bar.update(total=bar.total or 1, progress=bar.total or 1)
        facts = {k: v for k, v in message.outcome.facts.items() if v is not None}
        series = message.outcome.series or ({"loss": self.losses} if self.losses else {})
        self.app.pop_screen()
        self.advisor.start_guided(facts, source="probe", series=series,
                                  measured=[*message.outcome.measured, *facts])

    def _end(self, state: str) -> None:
        """The probe is over: the bar stops where it was (an indeterminate bar would keep
        pulsing as if work went on), shows how it ended, and Cancel leaves the footer."""
        self.state = state
        bar = self.query_one("#probe-progress", ProgressBar)
        if bar.total is None:
            bar.update(total=1, progress=1 if state == "done" else 0)
        bar.add_class(state)
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Cancel is offered only while the probe runs."""
        if action == "cancel":
            return self.state == "running"
        return True

    def _log(self, text: str) -> None:
        elapsed = self.clock() - self._started
        self.query_one("#probe-log", RichLog).write(f"{elapsed:6.1f}s  {text}")

    # ------------------------------------------------------------------ actions
    def action_cancel(self) -> None:
        if self.state != "running":
            return
        self.state = "cancelling"
        self.cancel_event.set()
        self.refresh_bindings()
        self.query_one("#probe-phase", Plain).update(Text("Cancelling…", style="bold yellow"))
        self._log("cancel requested")

    def action_back(self) -> None:
        """Leave the screen; a probe still running is cancelled, and the person is told so
        (leaving silently made a cancelled probe look like one still going on elsewhere)."""
        if self.state in ("running", "cancelling"):
            self.action_cancel()
            self.app.notify("Probe cancelled: nothing was measured.", title="Probe",
                            severity="warning", timeout=4, markup=False)
        self.app.pop_screen()
